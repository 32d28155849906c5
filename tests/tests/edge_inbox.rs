//! The Durable Object's inbox under load, end to end under the real
//! `wrangler dev`: a backlog of 20,000 stored changes is drained page by page
//! and every path invalidated, and a backlog left with no alarm (the platform
//! gave up on a failing one) is picked up by the cron tick.
//!
//! The backlog is written by `tests/fixtures/backlog-writer/`, a test-only
//! Worker over the same Durable Object storage (the real Worker has no route
//! that writes its inbox): it stores the changes as the real Worker does and
//! sets no alarm. Then the real Worker starts on that storage.

use invalidator_core::paths::covers;
use invalidator_core::webhook::{tracking_id, Action, Change, EntityKind};
use invalidator_tests::loopback::client;
use invalidator_tests::sandbox::{Config, Fixture, Sandbox};
use invalidator_tests::toolkit::{self, repo_root};
use invalidator_tests::wrangler::{require_tools, WranglerDev};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());
const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
const STATUS_TOKEN: &str = "status-token-for-tests";
const DIST: &str = "EDEMO123";

fn vars(sb: &Sandbox) -> Vec<(&'static str, String)> {
    sb.settings(DIST, SECRET)
        .into_iter()
        .chain([
            ("STATUS_TOKEN", STATUS_TOKEN.into()),
            ("PATH_RULES", r#"{"page":["/{slug}"]}"#.into()),
            ("COLLECT_WINDOW_SECONDS", "0.5".into()),
            ("FRESHNESS_MAX_WAIT_SECONDS", "0".into()),
            ("POLL_FIRST_SECONDS", "0.5".into()),
            ("POLL_MAX_SECONDS", "1".into()),
            // The cron tick only arms: no sweep stores changes (and sets an alarm) instead.
            ("SWEEP_INTERVAL_MINUTES", "0".into()),
        ])
        .collect()
}

/// A space with no entries: every change's entry stands alone.
async fn sandbox() -> Sandbox {
    let empty = Fixture::from_json(r#"{"space": "demo-space", "entries": []}"#).unwrap();
    Sandbox::start(Config::local(empty, Duration::from_millis(500), vec![])).await.unwrap()
}

fn slug(i: usize) -> String {
    format!("bulk-{i:05}")
}

/// The change a signed publish of page `i` becomes, as the Worker stores it.
fn change(i: usize) -> Change {
    let body = toolkit::publish_body(&slug(i), "page", 1, json!({"slug": {"en-US": slug(i)}}));
    Change {
        tracking_id: tracking_id("ContentManagement.Entry.publish", body.as_bytes()),
        space: "demo-space".into(),
        environment: "master".into(),
        kind: EntityKind::Entry,
        id: slug(i),
        content_type: Some("page".into()),
        action: Action::Publish,
        revision: Some(1),
        fields: json!({"slug": {"en-US": slug(i)}}).as_object().cloned(),
        items: None,
    }
}

/// Writes changes `0..count` into the inbox of the distribution's object
/// under `dir/state`, with no alarm set, through the backlog writer.
async fn write_backlog(dir: &Path, count: usize) {
    let toml = repo_root().join("tests/fixtures/backlog-writer/wrangler.toml");
    let path = dir.to_path_buf();
    let mut writer = tokio::task::spawn_blocking(move || WranglerDev::start_config(&path, &toml, &[])).await.unwrap();
    let changes: Vec<Change> = (0..count).map(change).collect();
    let r = client()
        .post(writer.url("/backlog"))
        .json(&json!({"distribution": DIST, "changes": changes}))
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let answer: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!((status.as_u16(), &answer["stored"]), (200, &json!(count)), "{answer}\n{}", writer.log_text());
    assert_eq!(answer["alarm"], Value::Null, "no alarm is left set");
    tokio::task::spawn_blocking(move || writer.kill()).await.unwrap();
}

async fn start_worker(dir: &Path, sb: &Sandbox) -> WranglerDev {
    let (path, vars) = (dir.to_path_buf(), vars(sb));
    tokio::task::spawn_blocking(move || WranglerDev::start(&path, &vars)).await.unwrap()
}

async fn status_page(w: &WranglerDev) -> Value {
    let r = client().get(w.url("/invalidations")).bearer_auth(STATUS_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()[DIST].clone()
}

/// What the status page showed while a backlog drained.
#[derive(Default)]
struct Seen {
    /// The largest stored workflow.
    largest: u64,
    /// The drain part-way: the workflow held some changes while a full page
    /// still waited in the inbox (one alarm did not take them all).
    part_way: bool,
}

/// Waits until the workflow completed with nothing waiting.
async fn wait_drained(w: &WranglerDev, timeout: Duration) -> Seen {
    let deadline = Instant::now() + timeout;
    let mut seen = Seen::default();
    loop {
        let page = status_page(w).await;
        seen.largest = seen.largest.max(page["stored_bytes"].as_u64().unwrap_or(0));
        seen.part_way |= page["phase"] == "accepted" && page["waiting_changes_at_least"] == true;
        if page["phase"] == "completed" && page["waiting_changes"] == 0 {
            return seen;
        }
        assert!(Instant::now() < deadline, "not drained in {timeout:?}: {page:#}\nwrangler log:\n{}", w.log_text());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Asserts that every page `0..count` was invalidated by some path sent.
fn assert_all_invalidated(sb: &Sandbox, count: usize) {
    let sent: Vec<String> = sb.invalidations().into_iter().flat_map(|i| i.paths).collect();
    for i in 0..count {
        let path = format!("/{}", slug(i));
        assert!(sent.iter().any(|p| covers(p, &path)), "{path} was never invalidated; sent: {sent:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backlog_of_20000_stored_changes_is_drained_and_every_path_invalidated() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    const BACKLOG: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    write_backlog(dir.path(), BACKLOG).await;
    let sb = sandbox().await;
    let w = start_worker(dir.path(), &sb).await;
    let before = status_page(&w).await;
    assert_eq!(before["waiting_changes_at_least"], true, "a page is counted, not the backlog: {before:#}");

    // One more webhook: it finds no alarm set and sets one.
    let body = toolkit::publish_body(&slug(BACKLOG), "page", 1, json!({"slug": {"en-US": slug(BACKLOG)}}));
    let answer = w.send_signed(toolkit::publish(SECRET, "/webhooks/contentful", body)).await;
    assert_eq!(answer.status(), 202, "{}", answer.text().await.unwrap_or_default());
    let started = Instant::now();
    let seen = wait_drained(&w, Duration::from_secs(400)).await;
    let largest = seen.largest;
    eprintln!("{} changes drained in {:?}; largest stored workflow {largest} bytes", BACKLOG + 1, started.elapsed());
    assert!(seen.part_way, "the backlog was taken in pages, the status page answering between them");
    assert_all_invalidated(&sb, BACKLOG + 1);
    assert!(largest < 512 << 10, "the stored workflow reached {largest} bytes");
    assert!(sb.invalidations().len() <= 3, "the backlog was coalesced: {} invalidations", sb.invalidations().len());
    assert!(!w.log_text().contains("Exceeded"), "no platform limit was hit:\n{}", w.log_text());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cron_tick_sets_an_alarm_again_for_changes_left_without_one() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    const LEFT: usize = 3;
    let dir = tempfile::tempdir().unwrap();
    write_backlog(dir.path(), LEFT).await;
    let sb = sandbox().await;
    let w = start_worker(dir.path(), &sb).await;
    let before = status_page(&w).await;
    assert_eq!((&before["waiting_changes"], &before["phase"]), (&json!(LEFT), &Value::Null), "{before:#}");
    assert!(sb.invalidations().is_empty());

    let r = client().get(w.url("/cdn-cgi/handler/scheduled?cron=*+*+*+*+*")).send().await.unwrap();
    assert!(r.status().is_success(), "the cron trigger fired");
    wait_drained(&w, Duration::from_secs(60)).await;
    assert_all_invalidated(&sb, LEFT);
    assert!(w.log_text().contains("the alarm is set again"), "the operator is told:\n{}", w.log_text());

    // A tick with nothing stored sets nothing.
    let r = client().get(w.url("/cdn-cgi/handler/scheduled?cron=*+*+*+*+*")).send().await.unwrap();
    assert!(r.status().is_success());
    let after = status_page(&w).await;
    assert_eq!((&after["phase"], &after["waiting_changes"]), (&json!("completed"), &json!(0)), "{after:#}");
}
