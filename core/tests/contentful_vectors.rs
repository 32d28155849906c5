//! Our webhook verifier agrees with the official `@contentful/node-apps-toolkit`
//! (vectors/contentful/vectors.json, made by vectors/contentful/generate.mjs
//! with the toolkit's signRequest and verifyRequest): it accepts every vector,
//! rejects every one-field mutation the toolkit rejects, and expires at the
//! same millisecond.

use invalidator_core::webhook::{verify, VerifyError, WebhookRequest};
use invalidator_core::Timestamp;
use serde_json::Value;
use std::time::Duration;

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/contentful/vectors.json")).unwrap()
}

fn request(case: &Value) -> WebhookRequest {
    let mut r = WebhookRequest::new(
        case["method"].as_str().unwrap(),
        case["path"].as_str().unwrap(),
        case["body"].as_str().unwrap().as_bytes().to_vec(),
    );
    for (k, v) in case["headers"].as_object().unwrap() {
        r.push_header(k, v.as_str().unwrap());
    }
    r
}

#[test]
fn accepts_what_the_toolkit_signed_and_rejects_what_it_rejects() {
    let v = vectors();
    let secret = v["secret"].as_str().unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 6);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let ts = case["timestamp_ms"].as_u64().unwrap();
        let now = Timestamp::from_millis(ts + 1000);
        let ttl = Duration::from_secs(30);
        let original = request(case);
        assert_eq!(verify(&original, secret, ttl, now), Ok(()), "{name}");
        for m in case["mutations"].as_array().unwrap() {
            let mut r = original.clone();
            let value = m["value"].as_str().unwrap();
            match m["field"].as_str().unwrap() {
                "method" => r.method = value.into(),
                "path" => r.target = value.into(),
                "body" => r.body = value.as_bytes().to_vec(),
                "header" => r.set_header(m["name"].as_str().unwrap(), value),
                "timestamp" => r.set_header("x-contentful-timestamp", value),
                "signature" => r.set_header("x-contentful-signature", value),
                other => panic!("unknown mutation {other}"),
            }
            let ours = verify(&r, secret, ttl, now).is_ok();
            assert_eq!(ours, m["valid"].as_bool().unwrap(), "{name}: mutated {m}");
        }
    }
}

#[test]
fn expires_at_the_same_millisecond_as_the_toolkit() {
    let v = vectors();
    let secret = v["secret"].as_str().unwrap();
    let boundary = &v["ttl_boundary"];
    assert_eq!(boundary["at_29999_ms"], Value::Bool(true));
    assert_eq!(boundary["at_30000_ms"], "expired");
    let case = &v["cases"][0];
    let ts = case["timestamp_ms"].as_u64().unwrap();
    let r = request(case);
    let ttl = Duration::from_secs(30);
    assert_eq!(verify(&r, secret, ttl, Timestamp::from_millis(ts + 29_999)), Ok(()));
    assert!(matches!(verify(&r, secret, ttl, Timestamp::from_millis(ts + 30_000)), Err(VerifyError::Expired { .. })));
}
