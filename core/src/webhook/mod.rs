//! Contentful webhooks in: size cap, signature, topic and body, with the same
//! answer in every body (202 change stored, 200 ignored or already taken,
//! 401, 400, 413, 503 not stored).

mod answer;
mod change;
pub mod idempotency;
mod request;
mod verify;

pub use answer::{answer, not_stored, taken};
pub use change::{parse, tracking_id, Action, Change, EntityKind, ParseError, Parsed};
pub use request::WebhookRequest;
pub use verify::{canonical_path, canonical_request, sign, verify, VerifyError};

use crate::settings::{ContentfulSettings, WebhookSettings};
use crate::time::Timestamp;

/// Why a webhook is refused, with the HTTP status a body answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The body is over `WEBHOOK_MAX_BODY_BYTES` (`413`).
    #[error("body is {size} bytes, more than the {limit} accepted")]
    TooLarge {
        /// The body's size, or as much of it as was read before giving up.
        size: usize,
        /// The most accepted.
        limit: usize,
    },
    /// The signature is missing, stale or wrong (`401`).
    #[error("signature not accepted: {0}")]
    Unverified(VerifyError),
    /// The topic or body cannot be read (`400`).
    #[error("{0}")]
    Malformed(ParseError),
}

impl WebhookError {
    /// The HTTP status a body answers with.
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::TooLarge { .. } => 413,
            WebhookError::Unverified(_) => 401,
            WebhookError::Malformed(_) => 400,
        }
    }

    /// What an HTTP caller is told: everything but why a signature failed,
    /// which would only help someone forging one.
    pub fn public_reason(&self) -> String {
        match self {
            WebhookError::Unverified(_) => "request signature missing, expired or invalid".to_string(),
            other => other.to_string(),
        }
    }
}

/// Checks and parses one webhook. A change for another space or environment
/// than the configured one is ignored, not acted on. A change whose delivery
/// carries a signed `X-Contentful-Idempotency-Key` is tracked by that key
/// ([`idempotency`]): every delivery of one event is the same change.
pub fn accept(
    request: &WebhookRequest,
    webhook: &WebhookSettings,
    contentful: &ContentfulSettings,
    now: Timestamp,
) -> Result<Parsed, WebhookError> {
    if request.body.len() > webhook.max_body_bytes {
        return Err(WebhookError::TooLarge { size: request.body.len(), limit: webhook.max_body_bytes });
    }
    if let Some(secret) = &webhook.secret {
        verify(request, secret.expose(), webhook.ttl, now).map_err(WebhookError::Unverified)?;
    }
    let parsed = parse(request.header("x-contentful-topic"), &request.body).map_err(WebhookError::Malformed)?;
    Ok(match parsed {
        Parsed::Change(c) if c.space != contentful.space_id || c.environment != contentful.environment => {
            Parsed::Ignored {
                reason: format!(
                    "change is for space {} environment {}, this service watches space {} environment {}",
                    c.space, c.environment, contentful.space_id, contentful.environment
                ),
            }
        }
        Parsed::Change(mut c) => {
            if let Some(key) = idempotency::signed_key(request, webhook.secret.is_some()) {
                c.tracking_id = idempotency::tracking_id_of_key(&key);
            }
            Parsed::Change(c)
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use std::time::Duration;

    const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";

    fn settings() -> (WebhookSettings, ContentfulSettings) {
        (
            WebhookSettings { secret: Some(Secret::new(SECRET)), max_body_bytes: 200, ttl: Duration::from_secs(30) },
            ContentfulSettings {
                space_id: "s".into(),
                environment: "master".into(),
                delivery_token: Secret::new("t"),
                endpoint: "http://127.0.0.1:1".into(),
            },
        )
    }

    fn request(body: &str, ts: u64) -> WebhookRequest {
        let mut r = WebhookRequest::new("POST", "/webhooks/contentful", body.as_bytes().to_vec());
        r.push_header("x-contentful-topic", "ContentManagement.Entry.publish");
        r.push_header(
            "x-contentful-signed-headers",
            "x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic",
        );
        r.push_header("x-contentful-timestamp", &ts.to_string());
        let sig = sign(SECRET, &canonical_request(&r).unwrap());
        r.push_header("x-contentful-signature", &sig);
        r
    }

    const TS: u64 = 1_764_000_000_000;

    #[test]
    fn answers_map_to_statuses() {
        let (w, c) = settings();
        let ok = r#"{"sys":{"type":"Entry","id":"e","space":{"sys":{"id":"s"}}}}"#;
        assert!(matches!(accept(&request(ok, TS), &w, &c, Timestamp(TS)), Ok(Parsed::Change(_))));
        let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(300));
        assert_eq!(accept(&request(&big, TS), &w, &c, Timestamp(TS)).unwrap_err().status(), 413);
        let err = accept(&request(ok, TS), &w, &c, Timestamp(TS + 30_000)).unwrap_err();
        assert_eq!(err.status(), 401);
        assert!(!err.public_reason().contains("ms"));
        assert_eq!(accept(&request("{", TS), &w, &c, Timestamp(TS)).unwrap_err().status(), 400);
        let other_space = r#"{"sys":{"type":"Entry","id":"e","space":{"sys":{"id":"other"}}}}"#;
        assert!(matches!(accept(&request(other_space, TS), &w, &c, Timestamp(TS)), Ok(Parsed::Ignored { .. })));
    }

    const KEY: &str = "5f0c6a8d2b4e4f1a9c3d7e6b8a0f1c2d5f0c6a8d2b4e4f1a9c3d7e6b8a0f1c2d";

    /// A signed publish of entry `e` carrying `key`, listed among the signed headers when `signed`.
    fn with_key(body: &str, key: &str, attempt: u32, signed: bool) -> WebhookRequest {
        let mut r = WebhookRequest::new("POST", "/webhooks/contentful", body.as_bytes().to_vec());
        r.push_header("x-contentful-topic", "ContentManagement.Entry.publish");
        r.push_header("x-contentful-idempotency-key", key);
        r.push_header("x-contentful-webhook-request-attempt", &attempt.to_string());
        let listed = if signed { ",x-contentful-idempotency-key" } else { "" };
        r.push_header(
            "x-contentful-signed-headers",
            &format!("x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic{listed}"),
        );
        r.push_header("x-contentful-timestamp", &TS.to_string());
        let sig = sign(SECRET, &canonical_request(&r).unwrap());
        r.push_header("x-contentful-signature", &sig);
        r
    }

    fn tracking(outcome: Result<Parsed, WebhookError>) -> String {
        match outcome {
            Ok(Parsed::Change(c)) => c.tracking_id,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_signed_idempotency_key_makes_every_delivery_of_one_event_one_change() {
        let (w, c) = settings();
        let body = r#"{"sys":{"type":"Entry","id":"e","space":{"sys":{"id":"s"}},"revision":2}}"#;
        // The same event fired twice, its body written again (another updatedAt).
        let again = r#"{"sys":{"type":"Entry","id":"e","space":{"sys":{"id":"s"}},"revision":2},"x":1}"#;
        let first = tracking(accept(&with_key(body, KEY, 1, true), &w, &c, Timestamp(TS)));
        assert_eq!(first, idempotency::tracking_id_of_key(KEY));
        assert_eq!(first, tracking(accept(&with_key(again, KEY, 2, true), &w, &c, Timestamp(TS))));
        let other_key = KEY.replace('5', "6");
        assert_ne!(first, tracking(accept(&with_key(body, &other_key, 1, true), &w, &c, Timestamp(TS))));
    }

    #[test]
    fn an_unsigned_idempotency_key_is_not_trusted_and_the_body_stays_the_identity() {
        let (w, c) = settings();
        let body = r#"{"sys":{"type":"Entry","id":"e","space":{"sys":{"id":"s"}},"revision":2}}"#;
        let digest = tracking_id("ContentManagement.Entry.publish", body.as_bytes());
        // Retries (new attempt numbers) of one delivery are still one change.
        assert_eq!(tracking(accept(&with_key(body, KEY, 1, false), &w, &c, Timestamp(TS))), digest);
        assert_eq!(tracking(accept(&with_key(body, KEY, 3, false), &w, &c, Timestamp(TS))), digest);
        // A replay whose unsigned key was changed cannot choose its identity.
        let forged = KEY.replace('5', "6");
        assert_eq!(tracking(accept(&with_key(body, &forged, 1, false), &w, &c, Timestamp(TS))), digest);
        // With no secret nothing is signed, so no key counts either.
        let mut unverified = w.clone();
        unverified.secret = None;
        assert_eq!(tracking(accept(&with_key(body, KEY, 1, true), &unverified, &c, Timestamp(TS))), digest);
    }

    #[test]
    fn unverified_mode_skips_only_the_signature() {
        let (mut w, c) = settings();
        w.secret = None;
        let mut r = WebhookRequest::new(
            "POST",
            "/",
            br#"{"sys":{"type":"Entry","id":"e","space":{"sys":{"id":"s"}}}}"#.to_vec(),
        );
        r.push_header("X-Contentful-Topic", "ContentManagement.Entry.publish");
        assert!(matches!(accept(&r, &w, &c, Timestamp(TS)), Ok(Parsed::Change(_))));
    }
}
