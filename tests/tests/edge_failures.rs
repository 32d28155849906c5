//! The Worker when a service keeps failing, under the real `wrangler dev`:
//! a Delivery API that answers every links query 503 ends the walk after
//! `RETRY_MAX_ATTEMPTS` with `/*` (as the Lambda body does, see
//! step_functions_safety.rs), and a batch CloudFront failed eight times is
//! listed on the status page and invalidated with the next webhook's batch.

use invalidator_tests::sandbox::{Config, Fault, Fixture, Sandbox};
use invalidator_tests::toolkit::{self, ToSign};
use invalidator_tests::wrangler::{require_tools, WranglerDev};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());
const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
const STATUS_TOKEN: &str = "status-token-for-tests";
const DIST: &str = "EDEMO123";
/// Longer than the default retries of a walk take (their backoffs add up to
/// at most about 127 s).
const WALK_BOUND: Duration = Duration::from_secs(300);

fn fixture() -> Fixture {
    Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap()
}

fn vars(sb: &Sandbox, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut v = sb.settings(DIST, SECRET);
    v.push(("STATUS_TOKEN", STATUS_TOKEN.into()));
    v.push(("PATH_RULES", r#"{"page":["/{slug}"],"post":["/blog/{category}/{slug}"],"always":["/"]}"#.into()));
    v.push(("COLLECT_WINDOW_SECONDS", "0".into()));
    v.push(("FRESHNESS_MAX_WAIT_SECONDS", "2".into()));
    v.push(("POLL_FIRST_SECONDS", "0.5".into()));
    v.extend(extra.iter().map(|(k, value)| (*k, value.to_string())));
    v
}

async fn wrangler(dir: &std::path::Path, vars: Vec<(&'static str, String)>) -> WranglerDev {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || WranglerDev::start(&dir, &vars)).await.unwrap()
}

/// Sends a publish of `id` signed by the official toolkit; expects 202.
async fn publish(w: &WranglerDev, id: &str, content_type: &str, revision: u64) {
    let body = toolkit::publish_body(id, content_type, revision, json!({}));
    let request: ToSign = toolkit::publish(SECRET, "/webhooks/contentful", body.clone());
    let [headers]: [_; 1] = toolkit::sign_all(&[request]).try_into().unwrap();
    let mut req = invalidator_tests::loopback::client().post(w.url("/webhooks/contentful")).body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    assert_eq!(req.send().await.unwrap().status(), 202);
}

async fn status_page(w: &WranglerDev) -> Value {
    let r = invalidator_tests::loopback::client()
        .get(w.url("/invalidations"))
        .bearer_auth(STATUS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Waits until the status page (this distribution's part) satisfies `done`.
async fn wait_for(w: &WranglerDev, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let page = status_page(w).await;
        if done(&page[DIST]) {
            return page[DIST].clone();
        }
        assert!(Instant::now() < deadline, "not reached in {timeout:?}: {page:#}\nwrangler log:\n{}", w.log_text());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(String::from)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_walk_whose_every_links_query_fails_gives_up_after_retry_max_attempts_and_invalidates_everything() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let faults = vec![Fault { on: "links".into(), answer: "503".into() }; 200];
    let sb = Sandbox::start(Config::local(fixture(), Duration::from_secs(1), faults)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Default retry settings, as in the Lambda body's test.
    let w = wrangler(dir.path(), vars(&sb, &[])).await;
    publish(&w, "cta-button", "button", 3).await;
    wait_for(&w, WALK_BOUND, |d| d["phase"] == "completed").await;
    let failed = sb.contentful_state.log.all();
    let failed = failed.iter().filter(|l| l.target.contains("links_to_entry") && l.status == 503).count();
    assert_eq!(failed, 8, "RETRY_MAX_ATTEMPTS failed reads, then the walk gives up");
    let invalidations = sb.invalidations();
    assert_eq!(invalidations.len(), 1, "{invalidations:?}");
    assert!(invalidations[0].paths.contains(&"/*".to_string()), "{:?}", invalidations[0].paths);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_cloudfront_failed_eight_times_is_listed_and_invalidated_with_the_next_webhook() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let faults = vec![Fault { on: "create".into(), answer: "503".into() }; 8];
    let sb = Sandbox::start(Config::local(fixture(), Duration::from_secs(1), faults)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Short retries; the long backoff (5 x RETRY_MAX_SECONDS, at least 10 s)
    // leaves the next webhook time to arrive first.
    let extra = [("RETRY_BASE_SECONDS", "0.2"), ("RETRY_MAX_SECONDS", "4")];
    let w = wrangler(dir.path(), vars(&sb, &extra)).await;
    publish(&w, "hero-banner", "section", 7).await;
    let failed = wait_for(&w, Duration::from_secs(120), |d| d["phase"] == "failed").await;
    let batch = &failed["batches"][0];
    assert_eq!(batch["state"], "failed", "{failed:#}");
    let failed_paths = strings(&batch["paths"]);
    assert!(failed_paths.len() >= 3, "{failed_paths:?}");
    assert_eq!(strings(&failed["retrying"]["paths"]), failed_paths, "every failed path waits: {failed:#}");
    assert!(failed["retrying"]["reason"].as_str().unwrap().contains("8 attempts"), "{failed:#}");
    assert!(failed["retrying"]["give_up_at"].is_u64(), "{failed:#}");

    publish(&w, "blog-post", "post", 1).await;
    let done = wait_for(&w, Duration::from_secs(60), |d| d["phase"] == "completed").await;
    let invalidations = sb.invalidations();
    assert_eq!(invalidations.len(), 1, "{invalidations:?}");
    for p in &failed_paths {
        assert!(invalidations[0].paths.contains(p), "{p} is not in the later batch {:?}", invalidations[0].paths);
    }
    // And the new webhook's own: a post published with no fields is its rule's wildcard.
    assert!(invalidations[0].paths.contains(&"/blog/*".to_string()), "{:?}", invalidations[0].paths);
    assert!(done["retrying"].is_null() && done["given_up"] == json!([]), "{done:#}");
}
