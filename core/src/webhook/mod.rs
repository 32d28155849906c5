//! Contentful webhooks in: size cap, signature, topic and body, with the same
//! answer in every body (202 change stored, 200 ignored, 401, 400, 413, 503
//! not stored).

mod answer;
mod change;
mod request;
mod verify;

pub use answer::{answer, not_stored};
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
/// than the configured one is ignored, not acted on.
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
