//! Lambda Function URL events (payload format 2.0) in and out, as
//! `aws_lambda_events` types: the webhook as the core sees it, and the HTTP
//! answer as Function URLs expect it.

use aws_lambda_events::event::lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use base64::Engine;
use http::header::{HeaderValue, CONTENT_TYPE};
use invalidator_core::webhook::WebhookRequest;
use serde_json::Value;

/// The Function URL event in `event`, or why it is not one.
pub fn event_of(event: Value) -> Result<LambdaFunctionUrlRequest, String> {
    serde_json::from_value(event).map_err(|e| format!("not a Function URL event: {e}"))
}

/// The request a Function URL event describes.
pub fn request_of(event: &LambdaFunctionUrlRequest) -> Result<WebhookRequest, String> {
    let method = event
        .request_context
        .http
        .method
        .as_deref()
        .ok_or("not a Function URL event: no requestContext.http.method")?;
    let path = event.raw_path.as_deref().unwrap_or("/");
    let query = event.raw_query_string.as_deref().unwrap_or("");
    let target = if query.is_empty() { path.to_string() } else { format!("{path}?{query}") };
    let body = match &event.body {
        None => Vec::new(),
        Some(b) if event.is_base64_encoded => {
            base64::engine::general_purpose::STANDARD.decode(b).map_err(|e| format!("body is not base64: {e}"))?
        }
        Some(b) => b.as_bytes().to_vec(),
    };
    let mut request = WebhookRequest::new(method, &target, body);
    for (name, value) in &event.headers {
        if let Ok(v) = value.to_str() {
            request.push_header(name.as_str(), v);
        }
    }
    Ok(request)
}

/// A Function URL response with a JSON body.
pub fn response(status: u16, body: &Value) -> LambdaFunctionUrlResponse {
    let mut answer = LambdaFunctionUrlResponse::default();
    answer.status_code = i64::from(status);
    answer.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    answer.body = Some(body.to_string());
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_function_url_event() {
        let event = json!({"version": "2.0", "rawPath": "/hook", "rawQueryString": "a=1",
            "headers": {"x-contentful-topic": "ContentManagement.Entry.publish"},
            "requestContext": {"http": {"method": "POST"}, "timeEpoch": 1_800_000_000_000_i64},
            "body": "eyJhIjoxfQ==", "isBase64Encoded": true});
        let r = request_of(&event_of(event).unwrap()).unwrap();
        assert_eq!((r.method.as_str(), r.target.as_str(), r.body.as_slice()), ("POST", "/hook?a=1", &b"{\"a\":1}"[..]));
        assert_eq!(r.header("X-Contentful-Topic"), Some("ContentManagement.Entry.publish"));
        assert!(event_of(json!({"rawPath": "/"})).unwrap_err().starts_with("not a Function URL event"));
        let answer = serde_json::to_value(response(202, &json!({"a": 1}))).unwrap();
        assert_eq!((answer["statusCode"].clone(), answer["body"].clone()), (json!(202), json!("{\"a\":1}")));
        assert_eq!(answer["headers"]["content-type"], "application/json");
    }
}
