//! The Worker's catch-up sweep end to end, under the real `wrangler dev
//! --test-scheduled`: the cron trigger is fired with
//! `GET /cdn-cgi/handler/scheduled`, the Delivery API stand-in serves the Sync
//! API, and "publishing without a webhook" is an upsert into the stand-in
//! that no webhook follows. The tests run one at a time: each starts its own
//! wrangler.

use invalidator_core::paths::covers;
use invalidator_tests::loopback::client;
use invalidator_tests::sandbox::{Config, Fault, Fixture, Sandbox};
use invalidator_tests::sweeps::{self, publish_silently};
use invalidator_tests::toolkit;
use invalidator_tests::wrangler::{require_tools, WranglerDev};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());
const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
const STATUS_TOKEN: &str = "status-token-for-tests";
const DIST: &str = "EDEMO123";

/// The content graph: 7 items, and pages of 2, so a sync takes several pages.
fn fixture() -> Fixture {
    Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap()
}

/// The stand-ins, and a wrangler that sweeps at every tick.
async fn start(dir: &std::path::Path) -> (Sandbox, WranglerDev) {
    start_with(dir, "1").await
}

async fn start_with(dir: &std::path::Path, interval_minutes: &str) -> (Sandbox, WranglerDev) {
    require_tools();
    let sb = Sandbox::start(Config::local(fixture(), Duration::from_secs(1), vec![])).await.unwrap();
    let vars: Vec<(&'static str, String)> = sb
        .settings(DIST, SECRET)
        .into_iter()
        .chain([
            ("STATUS_TOKEN", STATUS_TOKEN.into()),
            ("PATH_RULES", r#"{"page":["/{slug}","/{slug}/*"],"always":["/"]}"#.into()),
            ("SWEEP_INTERVAL_MINUTES", interval_minutes.into()),
            ("COLLECT_WINDOW_SECONDS", "0.5".into()),
            ("FRESHNESS_MAX_WAIT_SECONDS", "2".into()),
            ("POLL_FIRST_SECONDS", "0.5".into()),
            ("POLL_MAX_SECONDS", "1".into()),
        ])
        .collect();
    let dir = dir.to_path_buf();
    let w = tokio::task::spawn_blocking(move || WranglerDev::start(&dir, &vars)).await.unwrap();
    (sb, w)
}

async fn status_page(w: &WranglerDev) -> Value {
    let r = client().get(w.url("/invalidations")).bearer_auth(STATUS_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()[DIST].clone()
}

/// Fires the cron trigger and returns the sweep's report from the status page.
async fn sweep(w: &WranglerDev) -> Value {
    sweeps::sweep(w, STATUS_TOKEN, DIST).await
}

/// Waits until the status page holds `count` batches, all completed.
async fn wait_completed(w: &WranglerDev, count: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page = status_page(w).await;
        let batches = page["batches"].as_array().cloned().unwrap_or_default();
        if batches.len() >= count && batches.iter().all(|b| b["state"] == "completed") {
            assert_eq!(batches.len(), count, "{page:#}");
            return page;
        }
        assert!(Instant::now() < deadline, "not completed in 60 s: {page:#}\nwrangler log:\n{}", w.log_text());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The Sync API requests the stand-in answered, as `(query, status)`.
fn sync_requests(sb: &Sandbox) -> Vec<(String, u16)> {
    sb.contentful_state
        .log
        .all()
        .into_iter()
        .filter(|r| r.target.contains("/sync?"))
        .map(|r| (r.target.split_once('?').unwrap().1.to_string(), r.status))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_sweep_invalidates_nothing_and_the_next_invalidates_a_publish_no_webhook_brought() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (sb, w) = start(dir.path()).await;

    let first = sweep(&w).await;
    assert_eq!(first["first"], true, "{first}");
    assert_eq!(first["complete"], true, "{first}");
    assert_eq!(first["items"], 7, "the whole space was read: {first}");
    assert_eq!(first["missed"], 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sb.invalidations().is_empty(), "the first sweep only records where the space stands");

    publish_silently(&sb, "winter-sale", 3, "summer-sale").await;
    let second = sweep(&w).await;
    assert_eq!((second["first"].clone(), second["missed"].clone()), (json!(false), json!(1)), "{second}");
    assert_eq!(second["missed_changes"], json!(["entry winter-sale publish revision 3"]));
    let page = wait_completed(&w, 1).await;
    let invalidations = sb.invalidations();
    assert_eq!(invalidations.len(), 1);
    for path in ["/summer-sale", "/summer-sale/*", "/"] {
        assert!(invalidations[0].paths.iter().any(|p| p == path), "{path} in {:?}", invalidations[0].paths);
    }
    let caused = &page["last_sweep"]["invalidations"][0];
    assert_eq!(caused["state"], "completed", "{page:#}");
    assert_eq!(caused["invalidation_id"], invalidations[0].id.as_str(), "the status names what the sweep caused");
    let log = w.log_text();
    assert!(
        log.contains("catch-up sweep found 1 change(s) no webhook brought (entry winter-sale publish revision 3)"),
        "a warning names the missed change:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publish_whose_webhook_was_delivered_is_not_invalidated_again_by_the_sweep() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (sb, w) = start(dir.path()).await;
    sweep(&w).await;

    publish_silently(&sb, "winter-sale", 3, "winter-sale").await;
    let body = toolkit::publish_body("winter-sale", "page", 3, json!({"slug": {"en-US": "winter-sale"}}));
    assert_eq!(w.send_signed(toolkit::publish(SECRET, "/webhooks/contentful", body)).await.status(), 202);
    wait_completed(&w, 1).await;

    let report = sweep(&w).await;
    assert_eq!((report["items"].clone(), report["missed"].clone()), (json!(1), json!(0)), "{report}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sb.invalidations().len(), 1, "the webhook's invalidation only");
    assert!(!w.log_text().contains("no webhook brought"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_seen_only_by_the_sweep_invalidates_the_entrys_paths() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (sb, w) = start(dir.path()).await;
    sweep(&w).await;

    let r = client().delete(format!("{}/__sandbox/entries/winter-sale", sb.contentful_url())).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let report = sweep(&w).await;
    assert_eq!(report["missed_changes"], json!(["entry winter-sale delete revision 2"]), "{report}");
    wait_completed(&w, 1).await;
    let sent = &sb.invalidations()[0].paths;
    // Without a remembered path (the per-entry path memory), the delete stands
    // on every rule's wildcard, as a delete webhook without a content type does.
    for path in ["/winter-sale", "/winter-sale/*"] {
        assert!(sent.iter().any(|s| covers(s, path)), "{path} not covered by {sent:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_that_fails_mid_way_resumes_from_the_same_token_next_time() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (sb, w) = start(dir.path()).await;
    sweep(&w).await;
    let before_failure = sync_requests(&sb).len();

    for (id, slug) in [("home", "home-new"), ("winter-sale", "sale"), ("blog-post", "snow")] {
        publish_silently(&sb, id, 9, slug).await;
    }
    sb.contentful_state.faults.lock().unwrap().push_back(Fault { on: "sync-page".into(), answer: "503".into() });
    let failed = sweep(&w).await;
    assert!(failed["error"].as_str().is_some_and(|e| e.contains("503")), "{failed}");
    assert_eq!((failed["missed"].clone(), failed["complete"].clone()), (json!(0), json!(false)), "{failed}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sb.invalidations().is_empty(), "a failed sweep feeds nothing");

    let before_retry = sync_requests(&sb).len();
    let retried = sweep(&w).await;
    assert_eq!(retried["missed"], 3, "{retried}");
    let requests = sync_requests(&sb);
    assert_eq!(requests[before_retry - 1].1, 503, "the failed sweep's last request failed: {requests:#?}");
    assert!(before_retry - before_failure >= 2, "it failed on a page after the first: {requests:#?}");
    assert_eq!(
        requests[before_failure].0, requests[before_retry].0,
        "the failed sweep and the next both start at the stored token: {requests:#?}"
    );
    wait_completed(&w, 1).await;
    let sent = &sb.invalidations()[0].paths;
    for path in ["/home-new", "/sale", "/snow", "/"] {
        assert!(sent.iter().any(|s| s == path), "{path} in {sent:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interval_of_zero_turns_the_sweep_off() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (sb, w) = start_with(dir.path(), "0").await;
    let r = client().get(w.url("/cdn-cgi/handler/scheduled?cron=*+*+*+*+*")).send().await.unwrap();
    assert!(r.status().is_success());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sync_requests(&sb), [], "no Sync API request");
    assert_eq!(status_page(&w).await["last_sweep"], Value::Null);
}
