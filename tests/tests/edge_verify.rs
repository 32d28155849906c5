//! The Worker verifies what a visitor reads, under the real `wrangler dev`,
//! through the CDN stand-in (a cache purged by the CloudFront stand-in's
//! invalidations, in front of an origin that renders the Delivery API
//! stand-in's content): the old text before the publish, the new once the
//! receipt says verified; an origin that lags is invalidated again; an
//! unpublished page answers 404; a path the site does not serve is reported.

use invalidator_tests::sandbox::{Config, Fixture, OriginSettings, Sandbox, REVISION_HEADER};
use invalidator_tests::site_visit::{self, last_detail, publish_button, settled, steps, visit, NEW_LABEL, OLD_LABEL};
use invalidator_tests::toolkit::{self, ToSign};
use invalidator_tests::wrangler::{require_tools, WranglerDev};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());
const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
const STATUS_TOKEN: &str = "status-token-for-tests";
const DIST: &str = "EDEMO123";
const WAIT: Duration = Duration::from_secs(90);

async fn sandbox(origin: OriginSettings) -> Sandbox {
    let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    Sandbox::start(Config::local(fixture, Duration::from_secs(1), vec![]).with_origin(origin)).await.unwrap()
}

fn vars(sb: &Sandbox, path_rules: &str, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut vars: Vec<(&'static str, String)> = sb.settings(DIST, SECRET);
    vars.extend(sb.site_settings());
    vars.extend([
        ("STATUS_TOKEN", STATUS_TOKEN.into()),
        ("PATH_RULES", path_rules.into()),
        ("COLLECT_WINDOW_SECONDS", "0.5".into()),
        ("FRESHNESS_MAX_WAIT_SECONDS", "2".into()),
        ("POLL_FIRST_SECONDS", "0.5".into()),
        ("POLL_MAX_SECONDS", "2".into()),
        ("RETRY_BASE_SECONDS", "0.2".into()),
        ("RETRY_MAX_SECONDS", "1".into()),
        ("VERIFY_RETRY_WAIT_SECONDS", "1".into()),
    ]);
    vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    vars
}

async fn wrangler(dir: &std::path::Path, vars: Vec<(&'static str, String)>) -> WranglerDev {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || WranglerDev::start(&dir, &vars)).await.unwrap()
}

/// Sends one webhook signed by the toolkit; returns its tracking id.
async fn send(w: &WranglerDev, request: ToSign) -> String {
    let body = request.body.clone();
    let headers = toolkit::sign_all(&[request]).remove(0);
    let mut req = invalidator_tests::loopback::client().post(w.url("/webhooks/contentful")).body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 202);
    let answer: Value = r.json().await.unwrap();
    answer["tracking_id"].as_str().unwrap().to_string()
}

async fn tracked(w: &WranglerDev, id: &str) -> Value {
    let r = invalidator_tests::loopback::client()
        .get(w.url(&format!("/invalidations/{id}")))
        .bearer_auth(STATUS_TOKEN)
        .send()
        .await
        .unwrap();
    // One answer per distribution.
    r.json::<Value>().await.unwrap_or(Value::Null)[DIST].clone()
}

/// Waits until the change's receipt satisfies `done`.
async fn wait_for(w: &WranglerDev, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let t = tracked(w, id).await;
        if done(&t) {
            return t;
        }
        assert!(Instant::now() < deadline, "not there in {WAIT:?}: {t:#}\nwrangler log:\n{}", w.log_text());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_shows_the_new_text_once_the_receipt_says_verified() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let sb = sandbox(OriginSettings::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = wrangler(dir.path(), vars(&sb, site_visit::SITE_RULES, &[])).await;

    let before = visit(&sb, "/home").await;
    assert!(before.shows(OLD_LABEL), "{before:?}");
    let body = publish_button(&sb, 4);
    let cached = visit(&sb, "/home").await;
    assert!(cached.shows(OLD_LABEL) && cached.x_cache.starts_with("Hit"), "cached until invalidated: {cached:?}");

    let id = send(&w, toolkit::publish(SECRET, "/webhooks/contentful", body)).await;
    let t = wait_for(&w, &id, settled).await;
    assert_eq!(steps(&t), ["received", "fresh", "submitted", "completed", "verified"], "{t:#}");
    assert!(last_detail(&t).contains("4 page(s) fresh"), "{t:#}");
    for step in t["receipt"].as_array().unwrap() {
        assert!(step["at"].as_u64().is_some() && step["since_previous_ms"].as_u64().is_some(), "{step}");
    }
    let after = visit(&sb, "/home").await;
    assert!(after.shows(NEW_LABEL) && !after.shows(OLD_LABEL), "{after:?}");
    assert!(after.x_cache.starts_with("Hit"), "the verification warmed the cache: {after:?}");

    // The operator reads the same receipt from the Worker's status page.
    let mut cli = assert_cmd::Command::new(invalidator_tests::binaries::binary("invalidator-lambda", "invalidator"));
    cli.env_clear().env("STATUS_TOKEN", STATUS_TOKEN).args(["status", &id, "--worker", &w.url("")]);
    let out = tokio::task::spawn_blocking(move || cli.output().unwrap()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("receipt:") && stdout.contains("verified") && stdout.contains("4 page(s) fresh"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lagging_origin_is_seen_stale_invalidated_again_and_then_verified() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    // The origin renders what the Delivery API served an hour ago until the
    // test says otherwise, and names the revisions it rendered.
    let origin = OriginSettings {
        lag: Duration::from_secs(3600),
        revision_header: Some(REVISION_HEADER.into()),
        ..OriginSettings::default()
    };
    let sb = sandbox(origin).await;
    let dir = tempfile::tempdir().unwrap();
    let w = wrangler(dir.path(), vars(&sb, site_visit::SITE_RULES, &[("VERIFY_RETRY_WAIT_SECONDS", "3")])).await;

    let body = publish_button(&sb, 4);
    let id = send(&w, toolkit::publish(SECRET, "/webhooks/contentful", body)).await;
    let t = wait_for(&w, &id, |t| steps(t).iter().any(|s| s == "reinvalidated")).await;
    let stale = t["receipt"].as_array().unwrap().iter().find(|s| s["step"] == "reinvalidated").unwrap().clone();
    assert!(stale["detail"].as_str().unwrap().contains("cta-button at revision 3, published 4"), "{t:#}");
    assert!(visit(&sb, "/home").await.shows(OLD_LABEL), "the origin put the old page back");
    sb.origin().configure(|o| o.lag = Duration::ZERO);

    let t = wait_for(&w, &id, settled).await;
    let got = steps(&t);
    assert_eq!(got.last().map(String::as_str), Some("verified"), "{t:#}");
    let first = got.iter().position(|s| s == "reinvalidated").unwrap();
    assert_eq!(got[first + 1..first + 4], ["fresh", "submitted", "completed"], "{t:#}");
    assert!(sb.invalidations().len() >= 2, "invalidated again");
    assert!(visit(&sb, "/home").await.shows(NEW_LABEL));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unpublished_page_answers_404_once_verified() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let sb = sandbox(OriginSettings::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = wrangler(dir.path(), vars(&sb, site_visit::SITE_RULES, &[])).await;
    // A publish first, so that path memory knows the page's exact path.
    let body = toolkit::publish_body(
        "winter-sale",
        "page",
        2,
        serde_json::json!({"slug": {"en-US": "winter-sale"}, "title": {"en-US": "Winter sale"}}),
    );
    let id = send(&w, toolkit::publish(SECRET, "/webhooks/contentful", body)).await;
    wait_for(&w, &id, settled).await;
    assert_eq!(visit(&sb, "/winter-sale").await.status, 200);

    assert!(sb.contentful_state.unpublish("winter-sale"));
    let id = send(&w, toolkit::unpublish(SECRET, "/webhooks/contentful", "winter-sale", "page", 3)).await;
    let t = wait_for(&w, &id, settled).await;
    assert_eq!(steps(&t).last().map(String::as_str), Some("verified"), "{t:#}");
    assert_eq!(visit(&sb, "/winter-sale").await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_path_the_site_does_not_serve_is_reported_not_verified_with_why() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    // The site serves pages at /{slug}/; the rules say /{slug}.
    let origin = OriginSettings {
        path_rules: invalidator_core::rules::PathRules::parse(r#"{"page":["/{slug}/"]}"#).unwrap(),
        ..OriginSettings::default()
    };
    let sb = sandbox(origin).await;
    let dir = tempfile::tempdir().unwrap();
    let w = wrangler(dir.path(), vars(&sb, r#"{"page":["/{slug}"]}"#, &[])).await;
    assert!(visit(&sb, "/winter-sale/").await.shows("Winter sale"));

    let body = toolkit::publish_body("winter-sale", "page", 2, serde_json::json!({"slug": {"en-US": "winter-sale"}}));
    let id = send(&w, toolkit::publish(SECRET, "/webhooks/contentful", body)).await;
    let t = wait_for(&w, &id, settled).await;
    assert_eq!(steps(&t).last().map(String::as_str), Some("not_verified"), "{t:#}");
    let why = last_detail(&t);
    assert!(why.contains("/winter-sale: status 404") && why.contains("check PATH_RULES"), "{why}");
    assert!(!steps(&t).contains(&"reinvalidated".to_string()), "invalidating again would not help: {t:#}");
}
