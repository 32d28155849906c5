//! Reads a saved webhook request for `invalidator verify-webhook`: either raw
//! HTTP as captured on the wire (request line, headers, blank line, body) or
//! JSON `{"method", "path", "headers": {..} | [[k, v], ..], "body"}`.

use invalidator_core::webhook::WebhookRequest;
use serde_json::Value;

pub fn parse(bytes: &[u8]) -> Result<WebhookRequest, String> {
    let trimmed = bytes.iter().position(|b| !b.is_ascii_whitespace()).map(|i| &bytes[i..]).unwrap_or(&[]);
    if trimmed.first() == Some(&b'{') {
        from_json(trimmed)
    } else {
        from_http(bytes)
    }
}

fn from_json(bytes: &[u8]) -> Result<WebhookRequest, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let method = v.get("method").and_then(Value::as_str).unwrap_or("POST");
    let path =
        v.get("path").or_else(|| v.get("target")).and_then(Value::as_str).ok_or("JSON request has no \"path\"")?;
    let body = match v.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        Some(other) => other.to_string().into_bytes(),
    };
    let mut request = WebhookRequest::new(method, path, body);
    match v.get("headers") {
        Some(Value::Object(map)) => {
            for (k, val) in map {
                request.push_header(k, val.as_str().ok_or(format!("header {k} is not a string"))?);
            }
        }
        Some(Value::Array(pairs)) => {
            for pair in pairs {
                let (Some(k), Some(val)) = (pair.get(0).and_then(Value::as_str), pair.get(1).and_then(Value::as_str))
                else {
                    return Err("headers must be [name, value] pairs of strings".into());
                };
                request.push_header(k, val);
            }
        }
        _ => return Err("JSON request has no \"headers\"".into()),
    }
    Ok(request)
}

fn from_http(bytes: &[u8]) -> Result<WebhookRequest, String> {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| bytes.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)))
        .ok_or("raw HTTP request has no blank line between headers and body")?;
    let head = std::str::from_utf8(&bytes[..split.0]).map_err(|_| "request head is not UTF-8")?;
    let body = bytes[split.0 + split.1..].to_vec();
    let mut lines = head.lines();
    let request_line = lines.next().ok_or("empty request")?;
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(format!("bad request line {request_line:?}"));
    };
    let mut request = WebhookRequest::new(method, target, body);
    for line in lines {
        let (k, v) = line.split_once(':').ok_or(format!("bad header line {line:?}"))?;
        request.push_header(k.trim(), v.trim());
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_raw_http_and_json() {
        let raw = b"POST /hook?x=1 HTTP/1.1\r\nHost: a\r\nX-Contentful-Topic: ContentManagement.Entry.publish\r\n\r\n{\"a\":1}";
        let r = parse(raw).unwrap();
        assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/hook?x=1"));
        assert_eq!(r.header("x-contentful-topic"), Some("ContentManagement.Entry.publish"));
        assert_eq!(r.body, b"{\"a\":1}");
        let json = br#"{"method":"POST","path":"/hook","headers":{"X-A":"1"},"body":"{}"}"#;
        let r = parse(json).unwrap();
        assert_eq!((r.header("x-a"), r.body.as_slice()), (Some("1"), &b"{}"[..]));
        assert!(parse(b"garbage").is_err());
        assert!(parse(br#"{"headers":{}}"#).is_err());
    }
}
