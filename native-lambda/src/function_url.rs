//! Lambda Function URL events (payload format 2.0) in and out: the webhook as
//! the core sees it, and the HTTP answer as Function URLs expect it.

use base64::Engine;
use invalidator_core::webhook::WebhookRequest;
use serde_json::{json, Value};

/// The request a Function URL event describes.
pub fn request_of(event: &Value) -> Result<WebhookRequest, String> {
    let method = event
        .pointer("/requestContext/http/method")
        .and_then(Value::as_str)
        .ok_or("not a Function URL event: no requestContext.http.method")?;
    let path = event.get("rawPath").and_then(Value::as_str).unwrap_or("/");
    let query = event.get("rawQueryString").and_then(Value::as_str).unwrap_or("");
    let target = if query.is_empty() { path.to_string() } else { format!("{path}?{query}") };
    let body = match event.get("body").and_then(Value::as_str) {
        None => Vec::new(),
        Some(b) if event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) => {
            base64::engine::general_purpose::STANDARD.decode(b).map_err(|e| format!("body is not base64: {e}"))?
        }
        Some(b) => b.as_bytes().to_vec(),
    };
    let mut request = WebhookRequest::new(method, &target, body);
    if let Some(headers) = event.get("headers").and_then(Value::as_object) {
        for (name, value) in headers {
            if let Some(v) = value.as_str() {
                request.push_header(name, v);
            }
        }
    }
    Ok(request)
}

/// A Function URL response with a JSON body.
pub fn response(status: u16, body: &Value) -> Value {
    json!({
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": body.to_string(),
        "isBase64Encoded": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_function_url_event() {
        let event = json!({"version": "2.0", "rawPath": "/hook", "rawQueryString": "a=1",
            "headers": {"x-contentful-topic": "ContentManagement.Entry.publish"},
            "requestContext": {"http": {"method": "POST"}},
            "body": "eyJhIjoxfQ==", "isBase64Encoded": true});
        let r = request_of(&event).unwrap();
        assert_eq!((r.method.as_str(), r.target.as_str(), r.body.as_slice()), ("POST", "/hook?a=1", &b"{\"a\":1}"[..]));
        assert_eq!(r.header("X-Contentful-Topic"), Some("ContentManagement.Entry.publish"));
        assert!(request_of(&json!({"rawPath": "/"})).is_err());
        assert_eq!(response(202, &json!({"a": 1}))["statusCode"], 202);
    }
}
