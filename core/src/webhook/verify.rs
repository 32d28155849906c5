//! Contentful request verification, byte for byte as `@contentful/node-apps-toolkit`
//! 3.x does it (`verifyRequest`, `signRequest`).
//!
//! Canonical request = `METHOD \n path \n headers \n body`, HMAC-SHA256 with the
//! secret's UTF-8 bytes, lowercase hex. `path` is the raw target with the query
//! run through Node's `querystring.escape` and the whole through `encodeURI`
//! (`/hook?a=b` → `/hook?a%253Db`). `headers` are the listed signed headers that
//! are present, lowercased and trimmed, as `name:value` sorted and joined by `;`,
//! with `x-contentful-signed-headers` recomputed from the names present (so a
//! listed header that is missing breaks the signature) and the timestamp
//! re-printed as an integer. Timestamps are milliseconds; a request is expired
//! when `now - ts >= ttl`.

use super::request::WebhookRequest;
use crate::time::Timestamp;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;
use std::time::Duration;
use subtle::ConstantTimeEq;

const SIGNATURE: &str = "x-contentful-signature";
const SIGNED_HEADERS: &str = "x-contentful-signed-headers";
const TIMESTAMP: &str = "x-contentful-timestamp";

/// Why a request is not accepted as signed by the configured secret. The
/// detail is for operators (`invalidator verify-webhook`); an HTTP caller
/// only learns that the signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// There is no signature to check.
    #[error("no x-contentful-signature header")]
    MissingSignature,
    /// The signature is not a hex SHA-256.
    #[error("x-contentful-signature is not 64 characters of hex")]
    MalformedSignature,
    /// The signed headers leave out the timestamp or themselves, so a replay could go unseen.
    #[error("x-contentful-signed-headers must list x-contentful-signed-headers and x-contentful-timestamp")]
    MissingSignedHeaders,
    /// The signing time is absent or not a plausible one.
    #[error("x-contentful-timestamp is missing or not a Unix time in milliseconds after 2020")]
    BadTimestamp,
    #[error("signed {age_ms} ms ago, {ttl_ms} ms is the most accepted")]
    /// Signed longer ago than `WEBHOOK_TTL_SECONDS` allows (a replay, or a clock far off).
    Expired {
        /// How long ago it was signed.
        age_ms: u64,
        /// The most accepted.
        ttl_ms: u64,
    },
    /// A header named as signed is not in the request.
    #[error("x-contentful-signed-headers lists {0}, which the request does not carry")]
    SignedHeaderAbsent(String),
    #[error(
        "signature does not match: the secret, method, path, a signed header or the body differ from what was signed"
    )]
    /// The signature is well formed but not the one the secret gives.
    Mismatch,
}

/// The toolkit's canonical form of the request target.
pub fn canonical_path(target: &str) -> String {
    let mut parts = target.split('?');
    let pathname = parts.next().unwrap_or("");
    let joined = match parts.next() {
        Some(search) if !search.is_empty() => format!("{pathname}?{}", querystring_escape(search)),
        _ => pathname.to_string(),
    };
    encode_uri(&joined)
}

/// Node's `querystring.escape` keeps `A-Z a-z 0-9 - . _ ~ ! ' ( ) *`.
const QUERYSTRING_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*');

/// JavaScript's `encodeURI` keeps the unreserved and reserved marks as well.
const ENCODE_URI: &AsciiSet = &QUERYSTRING_ESCAPE
    .remove(b';')
    .remove(b',')
    .remove(b'/')
    .remove(b'?')
    .remove(b':')
    .remove(b'@')
    .remove(b'&')
    .remove(b'=')
    .remove(b'+')
    .remove(b'$')
    .remove(b'#');

/// Node's `querystring.escape`.
fn querystring_escape(s: &str) -> String {
    utf8_percent_encode(s, QUERYSTRING_ESCAPE).to_string()
}

/// JavaScript's `encodeURI`.
fn encode_uri(s: &str) -> String {
    utf8_percent_encode(s, ENCODE_URI).to_string()
}

/// The string that is signed, for `request` as verified.
pub fn canonical_request(request: &WebhookRequest) -> Result<String, VerifyError> {
    let (listed, timestamp) = signed_header_names(request)?;
    let mut present: Vec<(String, String)> = Vec::new();
    for name in &listed {
        if name == SIGNED_HEADERS || name == TIMESTAMP {
            continue;
        }
        match request.header(name) {
            Some(v) => present.push((name.clone(), v.trim().to_string())),
            None => return Err(VerifyError::SignedHeaderAbsent(name.clone())),
        }
    }
    let mut names: Vec<&str> = present.iter().map(|(n, _)| n.as_str()).collect();
    names.extend([SIGNED_HEADERS, TIMESTAMP]);
    names.sort_unstable();
    names.dedup();
    let names_joined = names.join(",");
    present.push((SIGNED_HEADERS.to_string(), names_joined));
    present.push((TIMESTAMP.to_string(), timestamp.to_string()));
    present.sort_by(|a, b| a.0.cmp(&b.0));
    let headers: Vec<String> = present.iter().map(|(n, v)| format!("{n}:{v}")).collect();
    Ok(format!(
        "{}\n{}\n{}\n{}",
        request.method,
        canonical_path(&request.target),
        headers.join(";"),
        String::from_utf8_lossy(&request.body)
    ))
}

/// The listed header names (lowercased, trimmed, deduplicated) and the timestamp.
fn signed_header_names(request: &WebhookRequest) -> Result<(Vec<String>, u64), VerifyError> {
    let listed: Vec<String> = request
        .header(SIGNED_HEADERS)
        .unwrap_or("")
        .split(',')
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    if !listed.iter().any(|n| n == SIGNED_HEADERS) || !listed.iter().any(|n| n == TIMESTAMP) {
        return Err(VerifyError::MissingSignedHeaders);
    }
    let raw = request.header(TIMESTAMP).map(str::trim).unwrap_or("");
    let ts: u64 = match raw.parse() {
        Ok(ts) if raw.bytes().all(|b| b.is_ascii_digit()) && ts > 1_577_836_800_000 => ts,
        _ => return Err(VerifyError::BadTimestamp),
    };
    Ok((listed, ts))
}

/// HMAC-SHA256 of `message` under `secret`, lowercase hex.
pub fn sign(secret: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks `request` against `secret` at `now`. `ttl` zero turns the age check off,
/// as in the toolkit.
pub fn verify(request: &WebhookRequest, secret: &str, ttl: Duration, now: Timestamp) -> Result<(), VerifyError> {
    let given = request.header(SIGNATURE).map(str::trim).ok_or(VerifyError::MissingSignature)?;
    if given.len() != 64 || !given.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(VerifyError::MalformedSignature);
    }
    let (_, ts) = signed_header_names(request)?;
    let ttl_ms = ttl.as_millis() as u64;
    let age_ms = now.as_millis().saturating_sub(ts);
    if ttl_ms != 0 && now.as_millis() >= ts && age_ms >= ttl_ms {
        return Err(VerifyError::Expired { age_ms, ttl_ms });
    }
    let expected = sign(secret, &canonical_request(request)?);
    if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
    const TS: u64 = 1_764_000_000_000;

    fn signed(target: &str, body: &str) -> WebhookRequest {
        let mut r = WebhookRequest::new("POST", target, body.as_bytes().to_vec());
        r.push_header("X-Contentful-Topic", " ContentManagement.Entry.publish ");
        r.push_header(
            "x-contentful-signed-headers",
            "x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic",
        );
        r.push_header("x-contentful-timestamp", &TS.to_string());
        let sig = sign(SECRET, &canonical_request(&r).unwrap());
        r.push_header("x-contentful-signature", &sig);
        r
    }

    #[test]
    fn canonical_path_reproduces_the_toolkit_quirk() {
        assert_eq!(canonical_path("/hook"), "/hook");
        assert_eq!(canonical_path("/hook?a=b"), "/hook?a%253Db");
        assert_eq!(canonical_path("/hook?"), "/hook");
        assert_eq!(canonical_path("/hook?a=b?c"), "/hook?a%253Db");
        assert_eq!(canonical_path("/a b/é"), "/a%20b/%C3%A9");
        assert_eq!(canonical_path("/a%20b"), "/a%2520b");
    }

    #[test]
    fn accepts_its_own_signature_and_rejects_any_change() {
        let now = Timestamp(TS + 1000);
        let ttl = Duration::from_secs(30);
        let r = signed("/webhooks/contentful?x=1", r#"{"sys":{"id":"é"}}"#);
        assert_eq!(verify(&r, SECRET, ttl, now), Ok(()));

        let mut m = r.clone();
        m.method = "PUT".into();
        assert_eq!(verify(&m, SECRET, ttl, now), Err(VerifyError::Mismatch));
        let mut m = r.clone();
        m.body.push(b' ');
        assert_eq!(verify(&m, SECRET, ttl, now), Err(VerifyError::Mismatch));
        let mut m = r.clone();
        m.target = "/webhooks/contentful?x=2".into();
        assert_eq!(verify(&m, SECRET, ttl, now), Err(VerifyError::Mismatch));
        let mut m = r.clone();
        m.set_header("x-contentful-topic", "ContentManagement.Entry.delete");
        assert_eq!(verify(&m, SECRET, ttl, now), Err(VerifyError::Mismatch));
        // Unsigned headers do not matter.
        let mut m = r.clone();
        m.push_header("x-other", "anything");
        assert_eq!(verify(&m, SECRET, ttl, now), Ok(()));
        let other_secret = SECRET.replace('0', "1");
        assert_eq!(verify(&r, &other_secret, ttl, now), Err(VerifyError::Mismatch));
    }

    #[test]
    fn exactly_thirty_seconds_old_is_expired() {
        let r = signed("/h", "");
        let ttl = Duration::from_secs(30);
        assert_eq!(verify(&r, SECRET, ttl, Timestamp(TS + 29_999)), Ok(()));
        assert_eq!(
            verify(&r, SECRET, ttl, Timestamp(TS + 30_000)),
            Err(VerifyError::Expired { age_ms: 30_000, ttl_ms: 30_000 })
        );
        assert_eq!(verify(&r, SECRET, Duration::ZERO, Timestamp(TS + 90_000_000)), Ok(()));
    }

    #[test]
    fn missing_pieces_have_their_own_reasons() {
        let now = Timestamp(TS);
        let ttl = Duration::from_secs(30);
        let r = signed("/h", "{}");
        let mut m = r.clone();
        m.remove_header("x-contentful-signature");
        assert_eq!(verify(&m, SECRET, ttl, now), Err(VerifyError::MissingSignature));
        let mut m = r.clone();
        m.set_header("x-contentful-signature", "zz");
        assert_eq!(verify(&m, SECRET, ttl, now), Err(VerifyError::MalformedSignature));
        let mut m = r.clone();
        m.set_header("x-contentful-timestamp", "soon");
        assert_eq!(verify(&m, SECRET, ttl, now), Err(VerifyError::BadTimestamp));
        let mut m = r.clone();
        m.set_header("x-contentful-signed-headers", "x-contentful-timestamp");
        assert_eq!(verify(&m, SECRET, ttl, now), Err(VerifyError::MissingSignedHeaders));
        let mut m = r.clone();
        m.remove_header("x-contentful-topic");
        assert_eq!(verify(&m, SECRET, ttl, now), Err(VerifyError::SignedHeaderAbsent("x-contentful-topic".into())));
    }
}
