//! The webhook verifier and parser on arbitrary requests: never a panic.
//! Input: method, target, header lines and body separated by newlines.
#![no_main]
use invalidator_core::webhook::{accept, canonical_path, parse, verify, WebhookRequest};
use invalidator_core::{secret::Secret, settings, Timestamp};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\n');
    let method = parts.next().unwrap_or("POST");
    let target = parts.next().unwrap_or("/");
    let headers = parts.next().unwrap_or("");
    let body = parts.next().unwrap_or("").as_bytes().to_vec();
    let mut request = WebhookRequest::new(method, target, body.clone());
    for h in headers.split('\t') {
        if let Some((k, v)) = h.split_once(':') {
            request.push_header(k, v);
        }
    }
    let _ = canonical_path(target);
    let secret = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
    let _ = verify(&request, secret, Duration::from_secs(30), Timestamp::from_millis(1_800_000_000_000));
    let _ = parse(request.header("x-contentful-topic"), &body);
    let _ = parse(Some("ContentManagement.Entry.publish"), data);
    let webhook = settings::WebhookSettings { secret: None, max_body_bytes: 1 << 20, ttl: Duration::from_secs(30) };
    let contentful = settings::ContentfulSettings {
        space_id: "s".into(),
        environment: "master".into(),
        delivery_token: Secret::new("t"),
        endpoint: "http://127.0.0.1:1".into(),
    };
    let _ = accept(&request, &webhook, &contentful, Timestamp::from_millis(0));
});
