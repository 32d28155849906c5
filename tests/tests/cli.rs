//! The operator CLI as a user runs it (assert_cmd), against the stand-ins.

use assert_cmd::Command;
use invalidator_core::webhook::{canonical_request, sign, WebhookRequest};
use invalidator_tests::binaries::binary;
use invalidator_tests::sandbox::{Config, Fixture, Sandbox};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";

async fn sandbox() -> Sandbox {
    Sandbox::start(Config::local(
        Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap(),
        Duration::from_millis(800),
        vec![],
    ))
    .await
    .unwrap()
}

fn cli(sb: &Sandbox) -> Command {
    let mut cmd = Command::new(binary("invalidator-lambda", "invalidator"));
    cmd.env_clear()
        .env("CLOUDFRONT_DISTRIBUTION_ID", "EDEMO123")
        .env("CLOUDFRONT_ENDPOINT", sb.cloudfront_url())
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        .env("CONTENTFUL_SPACE_ID", "demo-space")
        .env("CONTENTFUL_DELIVERY_TOKEN", "demo-delivery-token")
        .env("CONTENTFUL_CDA_ENDPOINT", sb.contentful_url())
        .env("CONTENTFUL_WEBHOOK_SECRET", SECRET)
        .env("PATH_RULES", r#"{"page":["/{slug}"],"post":["/blog/{category}/{slug}"],"always":["/"]}"#)
        .env("POLL_FIRST_SECONDS", "0.2");
    cmd
}

async fn output(mut cmd: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn resolve_prints_the_paths_and_sends_nothing_to_cloudfront() {
    let sb = sandbox().await;
    let mut cmd = cli(&sb);
    cmd.args(["resolve", "cta-button"]);
    let out = output(cmd).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for p in ["/", "/home", "/startseite", "/winter-sale", "/blog/news/snow%20%C3%A9%20report"] {
        assert!(stdout.lines().any(|l| l.trim() == p), "{p} missing in:\n{stdout}");
    }
    assert!(sb.cloudfront_requests().is_empty(), "a dry run sends nothing to CloudFront");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalidate_wait_follows_to_completed_and_status_reads_it() {
    let sb = sandbox().await;
    let mut cmd = cli(&sb);
    cmd.args(["invalidate", "/a b", "/c/*", "--wait"]);
    let out = output(cmd).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("in_progress"), "{stdout}");
    assert!(stdout.contains("completed"), "{stdout}");
    let created = sb.invalidations();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].paths, ["/a%20b", "/c/*"]);
    let mut cmd = cli(&sb);
    cmd.args(["status", &created[0].id]);
    let out = output(cmd).await;
    assert!(text(&out.stdout).contains("Completed"), "{}", text(&out.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_settings_and_failures_are_one_line_and_non_zero() {
    let sb = sandbox().await;
    let mut cmd = cli(&sb);
    cmd.env_remove("CLOUDFRONT_DISTRIBUTION_ID").args(["invalidate", "/x"]);
    let out = output(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.starts_with("invalidator: setting CLOUDFRONT_DISTRIBUTION_ID"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1);

    let mut cmd = cli(&sb);
    cmd.env("AWS_SECRET_ACCESS_KEY", "wrong-secret-key").args(["invalidate", "/x"]);
    let out = output(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("SignatureDoesNotMatch"), "{err}");
    assert!(!err.contains("wrong-secret-key") && !text(&out.stdout).contains("wrong-secret-key"), "secret leaked");
}

fn signed_request(age: Duration, secret: &str) -> WebhookRequest {
    let ts = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() - age;
    let body = br#"{"sys":{"type":"Entry","id":"cta-button","space":{"sys":{"id":"demo-space"}},"contentType":{"sys":{"id":"button"}},"revision":4}}"#;
    let mut r = WebhookRequest::new("POST", "/webhooks/contentful", body.to_vec());
    r.push_header("X-Contentful-Topic", "ContentManagement.Entry.publish");
    r.push_header(
        "X-Contentful-Signed-Headers",
        "x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic",
    );
    r.push_header("X-Contentful-Timestamp", &ts.as_millis().to_string());
    let sig = sign(secret, &canonical_request(&r).unwrap());
    r.push_header("X-Contentful-Signature", &sig);
    r
}

fn raw_http(r: &WebhookRequest) -> Vec<u8> {
    let mut out = format!("{} {} HTTP/1.1\r\n", r.method, r.target);
    for (k, v) in &r.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&r.body);
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_webhook_says_why() {
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let forged = SECRET.replace('0', "9");
    let cases = [
        ("fresh", Duration::ZERO, SECRET, 0, "signature: valid"),
        ("old", Duration::from_secs(120), SECRET, 1, "expired"),
        ("forged", Duration::ZERO, forged.as_str(), 1, "signature does not match"),
    ];
    for (name, age, secret, code, expected) in cases {
        // The command first (its binary may still need building, which can
        // take longer than the 30 s a signature lives), then the signature.
        let mut cmd = cli(&sb);
        let file = dir.path().join(name);
        std::fs::write(&file, raw_http(&signed_request(age, secret))).unwrap();
        cmd.arg("verify-webhook").arg(&file);
        let out = output(cmd).await;
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(code), "{name}: {all}");
        assert!(all.contains(expected), "{name}: {all}");
        assert!(!all.contains(SECRET), "the secret is never printed");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_in_the_environment_is_not_used_for_the_local_stand_ins() {
    let sb = sandbox().await;
    let mut cmd = cli(&sb);
    // A proxy that answers nothing: a request sent to it fails.
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
        cmd.env(name, "http://127.0.0.1:9");
    }
    cmd.args(["invalidate", "/proxied", "--wait"]);
    let out = output(cmd).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("completed"), "{stdout}");
    assert_eq!(sb.invalidations().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_paths_invalidated_twice_are_two_invalidations() {
    let sb = sandbox().await;
    for run in 1..=2 {
        let mut cmd = cli(&sb);
        cmd.args(["invalidate", "/home", "/about-us", "--wait"]);
        let out = output(cmd).await;
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "run {run}: {stdout}{}", text(&out.stderr));
        assert!(stdout.contains("completed"), "run {run}: {stdout}");
    }
    let created = sb.invalidations();
    assert_eq!(created.len(), 2, "each run is a new invalidation, not the first one again: {created:#?}");
    assert_ne!(created[0].id, created[1].id);
    assert!(
        created.iter().all(|i| i.paths == ["/about-us", "/home"] || i.paths == ["/home", "/about-us"]),
        "{created:#?}"
    );
}
