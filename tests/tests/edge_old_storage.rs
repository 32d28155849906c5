//! A deploy over Durable Object storage that an earlier Worker wrote, end to
//! end under the real `wrangler dev`: Workers before the JSON text values
//! (edge-worker/src/stored.rs) stored JavaScript values made by
//! serde-wasm-bindgen. `tests/fixtures/old-worker/` is such a Worker, as
//! built then. It runs first, into a workflow with a change still to send
//! and a completed batch in its history, two changes waiting in the inbox, a
//! path memory entry, and a sweep's position and report, and is stopped
//! mid-alarm as a deploy would stop it; this Worker then starts on the same
//! storage and must carry all of that through to CloudFront.

use invalidator_tests::sandbox::{Config, Fixture, FixtureEntry, Sandbox};
use invalidator_tests::toolkit::{self, repo_root};
use invalidator_tests::wrangler::{require_tools, WranglerDev};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
const STATUS_TOKEN: &str = "status-token-for-tests";
const DIST: &str = "EDEMO123";
/// The page whose slug the inbox change renames: its old path is only known from path memory.
const RENAMED: &str = "old-sale";
/// A page published only by an inbox change.
const NEW_PAGE: &str = "old-news";
/// The change the stored workflow holds and has not sent yet (a shared graph's entry).
const IN_WORKFLOW: &str = "cta-button";

fn vars(sb: &Sandbox) -> Vec<(&'static str, String)> {
    sb.settings(DIST, SECRET)
        .into_iter()
        .chain([
            ("STATUS_TOKEN", STATUS_TOKEN.into()),
            ("PATH_RULES", r#"{"page":["/{slug}"],"post":["/blog/{category}/{slug}"]}"#.into()),
            ("COLLECT_WINDOW_SECONDS", "0".into()),
            ("FRESHNESS_MAX_WAIT_SECONDS", "5".into()),
            ("POLL_FIRST_SECONDS", "0.5".into()),
            ("POLL_MAX_SECONDS", "1".into()),
            // Sweeps only when a test fires the cron trigger (`--test-scheduled`).
            ("SWEEP_INTERVAL_MINUTES", "1".into()),
        ])
        .collect()
}

fn page(id: &str, slug: &str, revision: u64) -> FixtureEntry {
    serde_json::from_value(json!({"id": id, "contentType": "page", "revision": revision,
        "fields": {"slug": {"en-US": slug}}, "links": []}))
    .unwrap()
}

/// The shared content graph with [`RENAMED`] at `renamed` and, when given, [`NEW_PAGE`].
fn graph(renamed: FixtureEntry, new_page: Option<FixtureEntry>) -> Fixture {
    let mut graph = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    graph.entries.push(renamed);
    graph.entries.extend(new_page);
    graph
}

/// Sends one signed publish of `entry`; returns its tracking id.
async fn publish(w: &WranglerDev, entry: &FixtureEntry) -> String {
    let body = toolkit::publish_body(&entry.id, &entry.content_type, entry.revision, json!(entry.fields));
    let answer = w.send_signed(toolkit::publish(SECRET, "/webhooks/contentful", body)).await;
    assert_eq!(answer.status(), 202, "{}", answer.text().await.unwrap());
    let answer: Value = answer.json().await.unwrap();
    answer["tracking_id"].as_str().expect("a tracking id").to_string()
}

async fn status(w: &WranglerDev, path: &str) -> Value {
    let r = invalidator_tests::loopback::client().get(w.url(path)).bearer_auth(STATUS_TOKEN).send().await.unwrap();
    let code = r.status();
    let text = r.text().await.unwrap();
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{path} answered {code}, not JSON ({e}): {text}\nwrangler log:\n{}", w.log_text()))
}

/// Fires the cron trigger and returns the sweep's report once the status page shows a new one.
async fn sweep(w: &WranglerDev) -> Value {
    let before = status(w, "/invalidations").await[DIST]["last_sweep"]["at"].clone();
    let r = invalidator_tests::loopback::client().get(w.url("/cdn-cgi/handler/scheduled?cron=*+*+*+*+*")).send().await;
    assert!(r.unwrap().status().is_success(), "the cron trigger fired");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let last = status(w, "/invalidations").await[DIST]["last_sweep"].clone();
        if !last.is_null() && last["at"] != before {
            return last;
        }
        assert!(Instant::now() < deadline, "no sweep reported in 30 s\nwrangler log:\n{}", w.log_text());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until every batch on the status page is completed and nothing waits.
async fn wait_completed(w: &WranglerDev, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let page = status(w, "/invalidations").await;
        let batches = page[DIST]["batches"].as_array().cloned().unwrap_or_default();
        let idle = page[DIST]["waiting_changes"] == 0;
        if idle && !batches.is_empty() && batches.iter().all(|b| b["state"] == "completed") {
            return page;
        }
        assert!(Instant::now() < deadline, "not completed in {timeout:?}: {page:#}\nwrangler log:\n{}", w.log_text());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_worker_carries_on_what_the_old_worker_stored() {
    require_tools();
    let dir = tempfile::tempdir().unwrap();
    let expected = old_worker_state(dir.path()).await;
    let sb = Sandbox::start(Config::local(
        graph(page(RENAMED, "sale-2026", 2), Some(page(NEW_PAGE, "news", 1))),
        Duration::from_millis(500),
        vec![],
    ))
    .await
    .unwrap();
    let (path, vars) = (dir.path().to_path_buf(), vars(&sb));
    let w = tokio::task::spawn_blocking(move || WranglerDev::start(&path, &vars)).await.unwrap();

    // The old alarm is due: it runs on its own, with no new webhook.
    let done = wait_completed(&w, Duration::from_secs(60)).await;
    let sent: BTreeSet<String> = sb.invalidations().iter().flat_map(|i| i.paths.clone()).collect();
    let want: BTreeSet<String> = [
        // The stored workflow's change (cta-button, linked from three pages).
        "/home",
        "/startseite",
        "/winter-sale",
        "/blog/news/snow%20%C3%A9%20report",
        // The inbox's: the renamed page at its new slug and, from path memory, its old one.
        "/sale-2026",
        "/sale-2025",
        "/news",
    ]
    .map(String::from)
    .into();
    assert_eq!(sent, want, "every stored change reached CloudFront: {done:#}\nwrangler log:\n{}", w.log_text());

    // The old workflow's history: the batch the old Worker completed is still listed.
    let old_id = expected["completed_invalidation_id"].as_str().unwrap();
    let batches = done[DIST]["batches"].as_array().unwrap();
    assert!(batches.iter().any(|b| b["invalidation_id"] == old_id), "old batch {old_id} listed: {done:#}");
    for tracking in expected["tracking_ids"].as_object().unwrap().values() {
        let one = status(&w, &format!("/invalidations/{}", tracking.as_str().unwrap())).await;
        assert_eq!(one[DIST]["state"], "completed", "{tracking}: {one:#}");
    }

    // The old sweep's report, and its position: the next sweep goes on from
    // there instead of starting a first (initial) sync again.
    assert_eq!(done[DIST]["last_sweep"]["at"], expected["last_sweep_at"], "{done:#}");
    let next = sweep(&w).await;
    assert_eq!((&next["first"], &next["error"]), (&json!(false), &Value::Null), "{next:#}");
}

/// Runs the old Worker (`tests/fixtures/old-worker/`) with its storage
/// under `dir/state` into the state this test carries over, and stops it
/// mid-alarm; returns what it saw (the completed batch's invalidation id,
/// the sweep report's time, the changes' tracking ids).
async fn old_worker_state(dir: &Path) -> Value {
    let old_toml = repo_root().join("tests/fixtures/old-worker/wrangler.toml");
    let sb =
        Sandbox::start(Config::local(graph(page(RENAMED, "sale-2025", 1), None), Duration::from_millis(500), vec![]))
            .await
            .unwrap();
    let start = |vars: Vec<(&'static str, String)>| {
        let (path, toml) = (dir.to_path_buf(), old_toml.clone());
        tokio::task::spawn_blocking(move || WranglerDev::start_config(&path, &toml, &vars))
    };

    // 1. A completed batch, which leaves the renamed page's path in memory.
    let w = start(vars(&sb)).await.unwrap();
    let first = publish(&w, &page(RENAMED, "sale-2025", 1)).await;
    let done = wait_completed(&w, Duration::from_secs(60)).await;
    let completed = done[DIST]["batches"][0]["invalidation_id"].clone();
    // A first sweep, which stores its report and where the next one reads from.
    let swept = sweep(&w).await;
    assert_eq!((&swept["first"], &swept["complete"]), (&json!(true), &json!(true)), "{swept:#}");
    drop(w);

    // 2. CloudFront that takes the connection and never answers: the alarm
    // stores the workflow with the next change in it, then waits on
    // CreateInvalidation while two more changes land in the inbox.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", black_hole.local_addr().unwrap());
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in black_hole.incoming() {
            let _ = held_tx.send(stream);
        }
    });
    let mut hanging = vars(&sb);
    hanging.retain(|(k, _)| *k != "CLOUDFRONT_ENDPOINT");
    hanging.push(("CLOUDFRONT_ENDPOINT", endpoint));
    let mut w = start(hanging).await.unwrap();
    let in_workflow = graph(page(RENAMED, "sale-2025", 1), None).entries.into_iter().find(|e| e.id == IN_WORKFLOW);
    let in_workflow = publish(&w, &in_workflow.expect("the shared graph has it")).await;
    let held = tokio::task::spawn_blocking(move || held_rx.recv_timeout(Duration::from_secs(30))).await.unwrap();
    let _held = held.expect("the alarm reached CreateInvalidation");
    let renamed = publish(&w, &page(RENAMED, "sale-2026", 2)).await;
    let new_page = publish(&w, &page(NEW_PAGE, "news", 1)).await;
    let now = status(&w, "/invalidations").await;
    assert_eq!(now[DIST]["phase"], "resolving", "the workflow holds {IN_WORKFLOW}: {now:#}");
    assert_eq!(now[DIST]["waiting_changes"], 2, "two changes in the inbox: {now:#}");
    // Killed as a deploy would replace it, mid-alarm.
    w.kill();

    json!({
        "completed_invalidation_id": completed,
        "last_sweep_at": swept["at"],
        "tracking_ids": {"completed": first, "in_workflow": in_workflow, "renamed": renamed, "new_page": new_page},
    })
}
