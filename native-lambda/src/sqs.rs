//! The changes queue: the webhook function's `SendMessage` of one change
//! (SQS's AWS JSON 1.0 protocol, SigV4 service `sqs`), and the bound SQS puts
//! on a message.

use crate::aws_json::{self, AwsError};
use invalidator_core::io::{HttpClient, HttpRequest};
use invalidator_core::settings::{AwsCredentials, SettingsError, SettingsMap};
use invalidator_core::sigv4::SignError;
use invalidator_core::webhook::Change;
use invalidator_core::Timestamp;
use serde_json::{json, Value};

/// SQS's largest message body (256 KiB).
pub const MESSAGE_MAX_BYTES: usize = 256 * 1024;

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
    #[error("the change is {bytes} bytes as a message, over SQS's {MESSAGE_MAX_BYTES}")]
    TooLarge { bytes: usize },
    #[error("cannot sign the request: {0}")]
    Sign(#[from] SignError),
    #[error("SendMessage: {0}")]
    Transport(String),
    #[error("SendMessage refused: {0}")]
    Refused(#[from] AwsError),
    #[error("{0}")]
    Execution(String),
}

/// The message a change travels in: the change as JSON.
pub fn message_body(change: &Change) -> Result<String, StoreError> {
    let body = serde_json::to_string(change).expect("a change is JSON");
    if body.len() > MESSAGE_MAX_BYTES {
        return Err(StoreError::TooLarge { bytes: body.len() });
    }
    Ok(body)
}

/// `SendMessage` of `body` to the queue.
pub fn send_message(s: &QueueSettings, body: &str, now: Timestamp) -> Result<HttpRequest, SignError> {
    let call = json!({"QueueUrl": s.queue_url, "MessageBody": body});
    aws_json::request(&s.endpoint, aws_json::JSON_1_0, "AmazonSQS.SendMessage", &call, &s.credentials, "sqs", now)
}

/// Queues `change`; the message id SQS gave it.
pub async fn enqueue<H: HttpClient>(
    s: &QueueSettings,
    change: &Change,
    http: &H,
    now: Timestamp,
) -> Result<String, StoreError> {
    let body = message_body(change)?;
    let answer = http.send(send_message(s, &body, now)?).await.map_err(|e| StoreError::Transport(e.to_string()))?;
    let sent = aws_json::read(&answer)?;
    Ok(sent.get("MessageId").and_then(Value::as_str).unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use invalidator_core::testing::ChangeBuilder;

    #[test]
    fn a_change_too_large_for_sqs_is_refused_with_its_size() {
        let small = ChangeBuilder::publish("e1").content_type("page").slug("home").build();
        let body = message_body(&small).unwrap();
        assert_eq!(serde_json::from_str::<Change>(&body).unwrap(), small, "the starter reads back what was sent");
        let large = ChangeBuilder::publish("e2").content_type("page").slug(&"x".repeat(MESSAGE_MAX_BYTES)).build();
        let e = message_body(&large).unwrap_err();
        assert!(matches!(e, StoreError::TooLarge { bytes } if bytes > MESSAGE_MAX_BYTES), "{e}");
        assert!(e.to_string().contains("262144"), "{e}");
    }
}
