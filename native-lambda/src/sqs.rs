//! The changes queue: the webhook function's `SendMessage` of one change
//! (SQS's AWS JSON 1.0 protocol, SigV4 service `sqs`), and the bound SQS puts
//! on a message. A change too large for a message whole travels as the items
//! its fields render to instead ([`message_body`]): a valid publish is always
//! queued, never refused for its size.

use crate::aws_json::{self, AwsError};
use invalidator_core::io::{HttpClient, HttpRequest};
use invalidator_core::settings::{AwsCredentials, Policy, SettingsError, SettingsMap};
use invalidator_core::sigv4::SignError;
use invalidator_core::webhook::Change;
use invalidator_core::Timestamp;
use serde_json::{json, Value};

/// SQS's largest message (1 MiB since January 2026; 256 KiB before).
pub const MESSAGE_MAX_BYTES: usize = 1024 * 1024;

/// Where changes are queued.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// `CHANGES_QUEUE_URL`.
    pub queue_url: String,
    /// `SQS_ENDPOINT`, default `https://sqs.{AWS_REGION}.amazonaws.com`.
    pub endpoint: String,
    pub credentials: AwsCredentials,
}

impl QueueSettings {
    /// `None` when `CHANGES_QUEUE_URL` is not set.
    pub fn from_map(map: &SettingsMap) -> Result<Option<Self>, SettingsError> {
        const NAME: &str = "CHANGES_QUEUE_URL";
        let Some(url) = map.get(NAME).map(|s| s.trim()).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(SettingsError { name: NAME, problem: format!("must be the queue's URL, got {url:?}") });
        }
        let credentials = AwsCredentials::from_map(map)?;
        let endpoint = aws_json::endpoint(map, "SQS_ENDPOINT", "sqs", &credentials.region)?;
        Ok(Some(QueueSettings { queue_url: url.to_string(), endpoint, credentials }))
    }
}

/// Why a change was not stored (queued, or started as an execution).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot sign the request: {0}")]
    Sign(#[from] SignError),
    #[error("SendMessage: {0}")]
    Transport(String),
    #[error("SendMessage refused: {0}")]
    Refused(#[from] AwsError),
    #[error("{0}")]
    Execution(String),
}

/// How a change was fitted into its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fitted {
    /// The change as it came, fields and all.
    Whole,
    /// Its fields replaced by the items they render to under the policy.
    ItemsRendered,
    /// Without fields or rendered items: its rules' wildcards (its rendered
    /// items alone were over the cap).
    FieldsDropped,
}

/// The message a change travels in: the change as JSON, at most
/// [`MESSAGE_MAX_BYTES`]. A change over it travels with the items its fields
/// render to under `policy` instead of the fields (what the starter's
/// workflow would render from them), and, should those be over it too, with
/// its rules' wildcards alone; the form chosen.
pub fn message_body(change: &Change, policy: &Policy) -> (String, Fitted) {
    let json = |c: &Change| serde_json::to_string(c).expect("a change is JSON");
    let whole = json(change);
    if whole.len() <= MESSAGE_MAX_BYTES {
        return (whole, Fitted::Whole);
    }
    let rendered = json(&change.clone().with_items_rendered(policy));
    if rendered.len() <= MESSAGE_MAX_BYTES {
        return (rendered, Fitted::ItemsRendered);
    }
    (json(&change.clone().with_fields_dropped(policy)), Fitted::FieldsDropped)
}

/// `SendMessage` of `body` to the queue.
pub fn send_message(s: &QueueSettings, body: &str, now: Timestamp) -> Result<HttpRequest, SignError> {
    let call = json!({"QueueUrl": s.queue_url, "MessageBody": body});
    aws_json::request(&s.endpoint, aws_json::JSON_1_0, "AmazonSQS.SendMessage", &call, &s.credentials, "sqs", now)
}

/// Queues `change` (fitted by [`message_body`]); the message id SQS gave it.
pub async fn enqueue<H: HttpClient>(
    s: &QueueSettings,
    change: &Change,
    policy: &Policy,
    http: &H,
    now: Timestamp,
) -> Result<String, StoreError> {
    let (body, fitted) = message_body(change, policy);
    match fitted {
        Fitted::Whole => {}
        Fitted::ItemsRendered => tracing::info!(
            tracking_id = %change.tracking_id,
            "the change is over SQS's {MESSAGE_MAX_BYTES} bytes with its fields: queued with its rendered items instead"
        ),
        Fitted::FieldsDropped => tracing::warn!(
            tracking_id = %change.tracking_id,
            "the change's rendered items are over SQS's {MESSAGE_MAX_BYTES} bytes too: queued with its rules' wildcards"
        ),
    }
    let answer = http.send(send_message(s, &body, now)?).await.map_err(|e| StoreError::Transport(e.to_string()))?;
    let sent = aws_json::read(&answer)?;
    Ok(sent.get("MessageId").and_then(Value::as_str).unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use invalidator_core::testing::ChangeBuilder;

    use invalidator_core::testing::TestSettings;

    fn policy() -> Policy {
        TestSettings::new().with("PATH_RULES", r#"{"page":["/{slug}"]}"#).policy()
    }

    /// A page `slug` whose `body` field makes it about `bytes` bytes.
    fn page(slug: &str, bytes: usize) -> Change {
        let mut change = ChangeBuilder::publish("e1").content_type("page").slug(slug).build();
        change.fields.as_mut().unwrap().insert("body".into(), json!({"en-US": "x".repeat(bytes)}));
        change
    }

    #[test]
    fn a_change_up_to_sqs_s_1_mib_travels_whole() {
        for bytes in [10, 300_000, MESSAGE_MAX_BYTES - 1000] {
            let change = page("home", bytes);
            let (body, fitted) = message_body(&change, &policy());
            assert_eq!(fitted, Fitted::Whole);
            assert!(body.len() <= MESSAGE_MAX_BYTES);
            assert_eq!(serde_json::from_str::<Change>(&body).unwrap(), change, "the starter reads back what was sent");
        }
    }

    #[test]
    fn past_1_mib_the_change_travels_with_its_rendered_items_instead_of_its_fields() {
        let (body, fitted) = message_body(&page("home", MESSAGE_MAX_BYTES), &policy());
        assert_eq!(fitted, Fitted::ItemsRendered);
        assert!(body.len() < 1000, "{} bytes", body.len());
        let sent: Change = serde_json::from_str(&body).unwrap();
        assert_eq!(sent.fields, None);
        assert_eq!(sent.items.unwrap().exact, ["/home"]);
    }

    #[test]
    fn items_too_large_as_well_leave_the_rules_wildcards() {
        let (body, fitted) = message_body(&page(&"s".repeat(MESSAGE_MAX_BYTES), 10), &policy());
        assert_eq!(fitted, Fitted::FieldsDropped);
        let sent: Change = serde_json::from_str(&body).unwrap();
        let items = sent.items.unwrap();
        assert_eq!((items.exact.is_empty(), items.wildcards.clone()), (true, vec!["/*".to_string()]));
        assert!(items.wildcard_notes.iter().any(|n| n.contains("too large to carry")), "{items:?}");
    }
}
