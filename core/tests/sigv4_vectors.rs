//! Our SigV4 Authorization headers equal botocore's byte for byte
//! (vectors/sigv4/vectors.json, made by vectors/sigv4/generate.py), for the
//! real CloudFront request builders, with and without a session token.

use invalidator_core::cloudfront;
use invalidator_core::secret::Secret;
use invalidator_core::settings::{AwsCredentials, CloudFrontSettings};
use invalidator_core::Timestamp;
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let text = include_str!("vectors/sigv4/vectors.json");
    let v: Value = serde_json::from_str(text).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn settings(case: &Value) -> CloudFrontSettings {
    let url = case["url"].as_str().unwrap();
    let endpoint = url.split("/2020-05-31").next().unwrap().to_string();
    CloudFrontSettings {
        distribution_ids: vec!["E2EXAMPLE123".into()],
        endpoint,
        credentials: AwsCredentials {
            access_key_id: Secret::new(case["access_key_id"].as_str().unwrap()),
            secret_access_key: Secret::new(case["secret_access_key"].as_str().unwrap()),
            session_token: case["session_token"].as_str().map(Secret::new),
            region: case["region"].as_str().unwrap().into(),
        },
    }
}

fn header<'a>(r: &'a http::Request<Vec<u8>>, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().unwrap())
}

#[test]
fn authorization_headers_equal_botocores() {
    let cases = vectors();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let s = settings(&case);
        let at = Timestamp::from_secs(case["epoch_seconds"].as_u64().unwrap());
        let request = match case["method"].as_str().unwrap() {
            "POST" => {
                let paths = vec!["/blog/hello%20world".to_string(), "/blog/*".to_string()];
                let r =
                    cloudfront::create_invalidation(&s, "E2EXAMPLE123", &paths, "invalidator-1-0123456789abcdef", at)
                        .unwrap();
                assert_eq!(
                    String::from_utf8(r.body().clone()).unwrap(),
                    case["body"].as_str().unwrap(),
                    "{name}: body"
                );
                r
            }
            _ => cloudfront::get_invalidation(&s, "E2EXAMPLE123", "I2J0I21PCUYOIK", at).unwrap(),
        };
        assert_eq!(request.uri().to_string(), case["url"].as_str().unwrap(), "{name}: url");
        let expected = &case["expected"];
        assert_eq!(header(&request, "x-amz-date"), expected["x-amz-date"].as_str(), "{name}: x-amz-date");
        assert_eq!(
            header(&request, "x-amz-security-token"),
            expected["x-amz-security-token"].as_str(),
            "{name}: x-amz-security-token"
        );
        assert_eq!(
            header(&request, "authorization"),
            expected["authorization"].as_str(),
            "{name}: Authorization differs from botocore's; botocore's canonical request was:\n{}",
            case["canonical_request"].as_str().unwrap()
        );
    }
}
