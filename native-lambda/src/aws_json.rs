//! AWS JSON protocol calls (1.0 for SQS, 1.1 for Secrets Manager and SSM): a
//! request signed with SigV4 for a service, and an answer read as its JSON or
//! as the service's error (`__type`, `message`).

use invalidator_core::io::{HttpRequest, HttpResponse};
use invalidator_core::settings::{AwsCredentials, SettingsError, SettingsMap};
use invalidator_core::sigv4::{sign_request, SignError};
use invalidator_core::Timestamp;
use serde_json::Value;

/// SQS's protocol.
pub const JSON_1_0: &str = "application/x-amz-json-1.0";
/// Secrets Manager's and SSM's protocol.
pub const JSON_1_1: &str = "application/x-amz-json-1.1";

/// `POST {endpoint}/` with `X-Amz-Target: {target}` and `body` as
/// `content_type` (one of the two above), signed for `service`.
pub fn request(
    endpoint: &str,
    content_type: &str,
    target: &str,
    body: &Value,
    credentials: &AwsCredentials,
    service: &str,
    now: Timestamp,
) -> Result<HttpRequest, SignError> {
    let mut request = http::Request::post(format!("{endpoint}/"))
        .header("content-type", content_type)
        .header("x-amz-target", target)
        .body(serde_json::to_vec(body).expect("JSON"))
        .expect("a valid request");
    sign_request(&mut request, credentials, service, now)?;
    Ok(request)
}

/// An AWS JSON error: the HTTP status, the error's short name (the part of
/// `__type` after `#`) and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("HTTP {status} {kind}: {message}")]
pub struct AwsError {
    pub status: u16,
    pub kind: String,
    pub message: String,
}

/// The answer's JSON when it succeeded, else the service's error.
pub fn read(response: &HttpResponse) -> Result<Value, AwsError> {
    let body: Value = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    if response.status().is_success() {
        return Ok(body);
    }
    let kind = body.get("__type").and_then(Value::as_str).unwrap_or_default();
    let kind = kind.rsplit('#').next().unwrap_or(kind).to_string();
    let message = body.get("message").or_else(|| body.get("Message")).and_then(Value::as_str).unwrap_or_default();
    Err(AwsError { status: response.status().as_u16(), kind, message: message.to_string() })
}

/// The endpoint setting `name`, or `https://{service}.{region}.amazonaws.com`.
pub fn endpoint(map: &SettingsMap, name: &'static str, service: &str, region: &str) -> Result<String, SettingsError> {
    let default = format!("https://{service}.{region}.amazonaws.com");
    let value = map.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()).unwrap_or(&default);
    if !(value.starts_with("https://") || value.starts_with("http://")) {
        return Err(SettingsError { name, problem: format!("must be an http(s) URL, got {value:?}") });
    }
    Ok(value.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_the_short_type_and_message() {
        let answer = http::Response::builder()
            .status(400)
            .body(br#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"no such queue"}"#.to_vec())
            .unwrap();
        let e = read(&answer).unwrap_err();
        assert_eq!((e.status, e.kind.as_str(), e.message.as_str()), (400, "QueueDoesNotExist", "no such queue"));
    }
}
