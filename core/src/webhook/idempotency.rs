//! `X-Contentful-Idempotency-Key`: Contentful's own name for one event
//! (64 hex), the same on every attempt of its delivery and on the rare second
//! firing of the same event. When it is signed, a change's tracking id is
//! derived from it, so every delivery of one event is one change in both
//! bodies: the Worker's inbox key and the workflow's `seen` record, the
//! Lambda's execution name.
//!
//! # Only when it is signed
//!
//! The key counts only when the signature was checked (a secret is set) and
//! the key is among the headers `x-contentful-signed-headers` lists. Otherwise
//! the tracking id stays the digest of the topic and the raw body, which the
//! signature does cover: every attempt of one delivery carries the same body,
//! so retries with new `X-Contentful-Webhook-Request-Attempt` numbers are
//! still one change, and still answered as taken.
//!
//! Trusting an unsigned key instead would let anyone who replays one signed
//! delivery within `WEBHOOK_TTL_SECONDS` choose its identity: a fresh key
//! makes a second change of it (today's body digest refuses that replay), and
//! the key of another delivery not yet arrived would make that delivery be
//! answered as taken and dropped (until the catch-up sweep found it). Ignoring
//! an unsigned key costs only this: a second firing whose body differs
//! (Contentful does not say it can) is a second change, which invalidates the
//! same paths once more and loses nothing.

use super::request::WebhookRequest;
use sha2::{Digest, Sha256};

/// The header's name, as Contentful sends it (compared without case).
pub const IDEMPOTENCY_KEY: &str = "x-contentful-idempotency-key";
const SIGNED_HEADERS: &str = "x-contentful-signed-headers";
/// The key's length: 64 hex digits, as Contentful sends it.
const KEY_HEX_DIGITS: usize = 64;

/// The idempotency key of `request`, lowercased, when it counts: well formed,
/// and signed (`verified` says the signature was checked).
pub fn signed_key(request: &WebhookRequest, verified: bool) -> Option<String> {
    let key = request.header(IDEMPOTENCY_KEY)?.trim();
    if key.len() != KEY_HEX_DIGITS || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let listed = request.header(SIGNED_HEADERS).unwrap_or("");
    let signed = listed.split(',').any(|name| name.trim().eq_ignore_ascii_case(IDEMPOTENCY_KEY));
    (verified && signed).then(|| key.to_ascii_lowercase())
}

/// The tracking id of every delivery carrying `key`: SHA-256, hex, under a
/// label of its own, so it never equals a body digest's or a sweep's id.
pub fn tracking_id_of_key(key: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"idempotency-key\n");
    h.update(key.as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

    fn request(key: &str, signed_list: &str) -> WebhookRequest {
        let mut r = WebhookRequest::new("POST", "/", Vec::new());
        r.push_header("X-Contentful-Idempotency-Key", key);
        r.push_header("X-Contentful-Signed-Headers", signed_list);
        r
    }

    #[test]
    fn a_signed_well_formed_key_counts_and_nothing_else_does() {
        let listed = "x-contentful-signed-headers,x-contentful-timestamp,X-Contentful-Idempotency-Key";
        assert_eq!(signed_key(&request(KEY, listed), true).as_deref(), Some(KEY));
        let upper = KEY.to_ascii_uppercase();
        assert_eq!(signed_key(&request(&upper, listed), true).as_deref(), Some(KEY), "one spelling");
        assert_eq!(signed_key(&request(KEY, listed), false), None, "no signature was checked");
        let unlisted = "x-contentful-signed-headers,x-contentful-timestamp";
        assert_eq!(signed_key(&request(KEY, unlisted), true), None, "not among the signed headers");
        for bad in ["", "abc", &KEY[..63], &format!("{}g", &KEY[..63]), &format!("{KEY}0")] {
            assert_eq!(signed_key(&request(bad, listed), true), None, "{bad:?}");
        }
        assert_eq!(signed_key(&WebhookRequest::new("POST", "/", Vec::new()), true), None);
    }

    #[test]
    fn the_tracking_id_is_the_key_s_alone() {
        let id = tracking_id_of_key(KEY);
        assert_eq!(id.len(), 64);
        assert_eq!(id, tracking_id_of_key(KEY));
        assert_ne!(id, tracking_id_of_key(&KEY.replace('0', "1")));
    }
}
