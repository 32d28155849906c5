//! The HTTP answer to a webhook, the same from every body: `202` with a
//! tracking id once the change is stored, `200` with the reason for topics
//! that change nothing or whose delivery was already taken, `401`/`400`/`413`
//! with a JSON reason, `503` when the change could not be stored.

use super::{Change, Parsed, WebhookError};
use serde_json::{json, Value};

/// Status and JSON body for the outcome of [`super::accept`]. A body answers
/// `202` only after it has stored the change.
pub fn answer(outcome: &Result<Parsed, WebhookError>) -> (u16, Value) {
    match outcome {
        Ok(Parsed::Change(c)) => (
            202,
            json!({
                "status": "accepted",
                "tracking_id": c.tracking_id,
                "action": c.action,
                "entity": c.kind,
                "entry_id": c.id,
            }),
        ),
        Ok(Parsed::Ignored { reason }) => (200, json!({"status": "ignored", "reason": reason})),
        Err(e) => (e.status(), json!({"status": "rejected", "error": e.public_reason()})),
    }
}

/// Status and JSON body for a change whose delivery was already taken (the
/// same tracking id: the same signed idempotency key, or the same topic and
/// body): a `200`, so Contentful stops retrying, naming the change it is
/// part of; nothing is stored again.
pub fn taken(change: &Change) -> (u16, Value) {
    (
        200,
        json!({
            "status": "taken",
            "reason": "this delivery was already taken in; it makes no second change",
            "tracking_id": change.tracking_id,
            "action": change.action,
            "entity": change.kind,
            "entry_id": change.id,
        }),
    )
}

/// Status and JSON body when a body could not store an accepted change (its
/// Durable Object or Step Functions did not answer): a `503`, which
/// Contentful redelivers, so nothing is lost by not storing it now.
pub fn not_stored() -> (u16, Value) {
    (503, json!({"status": "unavailable", "error": "the change could not be stored; Contentful will retry"}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::{parse, ParseError, VerifyError};

    #[test]
    fn answers_are_json_with_a_reason() {
        let body = br#"{"sys":{"type":"Entry","id":"e1","space":{"sys":{"id":"s"}}}}"#;
        let parsed = parse(Some("ContentManagement.Entry.publish"), body).unwrap();
        let (status, json) = answer(&Ok(parsed));
        assert_eq!(status, 202);
        assert_eq!(json["entry_id"], "e1");
        assert_eq!(json["action"], "publish");
        assert_eq!(json["tracking_id"].as_str().unwrap().len(), 64);
        let (status, json) = answer(&Ok(Parsed::Ignored { reason: "drafts".into() }));
        assert_eq!((status, json["reason"].as_str()), (200, Some("drafts")));
        let (status, json) =
            answer(&Err(WebhookError::Unverified(VerifyError::Expired { age_ms: 31_000, ttl_ms: 30_000 })));
        assert_eq!(status, 401);
        assert!(!json.to_string().contains("31000"), "no detail that helps a forger");
        let (status, _) = answer(&Err(WebhookError::Malformed(ParseError::MissingTopic)));
        assert_eq!(status, 400);
    }

    #[test]
    fn a_delivery_already_taken_is_a_200_naming_its_change() {
        let body = br#"{"sys":{"type":"Entry","id":"e1","space":{"sys":{"id":"s"}}}}"#;
        let Parsed::Change(change) = parse(Some("ContentManagement.Entry.publish"), body).unwrap() else {
            panic!("a change");
        };
        let (status, json) = taken(&change);
        assert_eq!((status, json["status"].as_str()), (200, Some("taken")));
        assert_eq!(json["tracking_id"], change.tracking_id.as_str());
        assert_eq!(json["entry_id"], "e1");
    }

    #[test]
    fn a_change_not_stored_is_a_503_contentful_retries() {
        let (status, json) = not_stored();
        assert_eq!(status, 503);
        assert_eq!(json["status"], "unavailable");
        assert_eq!(json["error"], "the change could not be stored; Contentful will retry");
    }
}
