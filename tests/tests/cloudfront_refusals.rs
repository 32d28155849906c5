//! The CloudFront stand-in refuses what CloudFront refuses, in CloudFront's
//! XML error shape: unencoded or misplaced characters, over-long paths,
//! unknown distributions, and malformed batches.

use invalidator_core::cloudfront;
use invalidator_core::io::{Clock, HttpClient, HttpResponse};
use invalidator_core::settings::{AwsCredentials, CloudFrontSettings, SettingsMap};
use invalidator_core::sigv4::sign_request;
use invalidator_lambda::http_client::{ReqwestClient, SystemClock};
use invalidator_tests::sandbox::{Config, Fixture, Sandbox, DEMO_DISTRIBUTION};
use std::time::Duration;

async fn sandbox() -> Sandbox {
    let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    Sandbox::start(
        Config::local(fixture, Duration::from_millis(600), vec![]).with_distributions(&["EDEMO123", "EOTHER"]),
    )
    .await
    .unwrap()
}

fn cloudfront_settings(sb: &Sandbox) -> CloudFrontSettings {
    let map: SettingsMap =
        sb.settings(DEMO_DISTRIBUTION, "unused").into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    CloudFrontSettings::from_map(&map).unwrap()
}

/// CreateInvalidation of `paths` (sent as given, not encoded) on `dist`.
async fn create(sb: &Sandbox, dist: &str, paths: &[&str], reference: &str) -> HttpResponse {
    let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    let req = cloudfront::create_invalidation(&cloudfront_settings(sb), dist, &paths, reference, SystemClock.now());
    ReqwestClient::new(Duration::from_secs(5)).send(req.unwrap()).await.unwrap()
}

/// A signed POST of a raw `body` to the distribution's invalidation URL.
async fn create_raw(sb: &Sandbox, body: &str) -> HttpResponse {
    let s = cloudfront_settings(sb);
    let url = format!("{}/2020-05-31/distribution/{DEMO_DISTRIBUTION}/invalidation", s.endpoint);
    let mut req =
        http::Request::post(url).header("content-type", "application/xml").body(body.as_bytes().to_vec()).unwrap();
    let credentials: &AwsCredentials = &s.credentials;
    sign_request(&mut req, credentials, "cloudfront", SystemClock.now()).unwrap();
    ReqwestClient::new(Duration::from_secs(5)).send(req).await.unwrap()
}

/// Asserts CloudFront's error document with `status` and `code`.
fn assert_refused(r: &HttpResponse, status: u16, code: &str, what: &str) {
    let body = String::from_utf8_lossy(r.body());
    assert_eq!(r.status().as_u16(), status, "{what}: {body}");
    assert!(body.contains("<ErrorResponse") && body.contains(&format!("<Code>{code}</Code>")), "{what}: {body}");
}

#[tokio::test]
async fn every_unsafe_unencoded_character_is_invalid_argument() {
    let sb = sandbox().await;
    let unsafe_paths = [
        "/a b",
        "/a<b",
        "/a>b",
        "/a\"b",
        "/a#b",
        "/a%b",
        "/a%4",
        "/a%zz",
        "/a{b",
        "/a}b",
        "/a|b",
        "/a\\b",
        "/a^b",
        "/a~b",
        "/a[b",
        "/a]b",
        "/a`b",
        "/a\u{1}b",
        "/a\u{7f}b",
        "/caf\u{e9}",
    ];
    for (i, p) in unsafe_paths.iter().enumerate() {
        let r = create(&sb, DEMO_DISTRIBUTION, &[p], &format!("unsafe-{i}")).await;
        assert_refused(&r, 400, "InvalidArgument", &format!("{p:?}"));
    }
    assert!(sb.invalidations().is_empty(), "nothing was created");
    let encoded = create(&sb, DEMO_DISTRIBUTION, &["/caf%C3%A9%20au%7Elait", "/x/*"], "encoded").await;
    assert_eq!(encoded.status(), 201, "{}", String::from_utf8_lossy(encoded.body()));
}

#[tokio::test]
async fn a_misplaced_star_a_relative_path_and_a_too_long_path_are_refused() {
    let sb = sandbox().await;
    let longest = format!("/{}", "a".repeat(3999));
    let too_long = format!("/{}", "a".repeat(4000));
    for (i, p) in ["/a*b", "*", "a/b", "", too_long.as_str()].iter().enumerate() {
        let r = create(&sb, DEMO_DISTRIBUTION, &[p], &format!("bad-{i}")).await;
        assert_refused(&r, 400, "InvalidArgument", &format!("{:.40?}", p));
    }
    assert_eq!(
        create(&sb, DEMO_DISTRIBUTION, &[&longest], "longest").await.status(),
        201,
        "4,000 characters is allowed"
    );
}

#[tokio::test]
async fn an_unknown_distribution_is_no_such_distribution() {
    let sb = sandbox().await;
    let r = create(&sb, "ENOSUCH", &["/a"], "r1").await;
    assert_refused(&r, 404, "NoSuchDistribution", "create");
    let req = cloudfront::get_invalidation(&cloudfront_settings(&sb), "ENOSUCH", "I1", SystemClock.now()).unwrap();
    let r = ReqwestClient::new(Duration::from_secs(5)).send(req).await.unwrap();
    assert_refused(&r, 404, "NoSuchDistribution", "get");
    assert_eq!(create(&sb, "EOTHER", &["/a"], "r1").await.status(), 201, "a configured distribution exists");
}

#[tokio::test]
async fn malformed_batches_are_refused_as_cloudfront_does() {
    let sb = sandbox().await;
    let batch = |quantity: usize, items: &str, reference: &str| {
        format!(
            "<InvalidationBatch xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Paths><Quantity>{quantity}</Quantity><Items>{items}</Items></Paths><CallerReference>{reference}</CallerReference></InvalidationBatch>"
        )
    };
    let r = create_raw(&sb, &batch(3, "<Path>/a</Path><Path>/b</Path>", "q")).await;
    assert_refused(&r, 400, "InconsistentQuantities", "Quantity 3 with 2 paths");
    let r = create_raw(&sb, &batch(0, "", "empty")).await;
    assert_refused(&r, 400, "InvalidArgument", "no paths");
    let r = create_raw(&sb, &batch(1, "<Path>/a</Path>", "")).await;
    assert_refused(&r, 400, "InvalidArgument", "empty CallerReference");
    let r = create_raw(&sb, "").await;
    assert_refused(&r, 400, "MissingBody", "no body");
    let r = create_raw(&sb, "<InvalidationBatch><Paths>").await;
    assert_refused(&r, 400, "MalformedInput", "truncated XML");
    assert!(sb.invalidations().is_empty());
}
