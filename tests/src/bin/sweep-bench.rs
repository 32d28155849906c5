//! The catch-up sweep's cost: the core's sweep ([`invalidator_core::sweep::run`])
//! over real HTTP against the Delivery API stand-in's Sync endpoint on
//! 127.0.0.1. Prints Markdown; asserts nothing.
//!
//! 1. Delivery API requests per sweep for 0, 10 and 1,000 changes since the
//!    last sweep (and for the first sweep of a 5,000-entry space).
//! 2. Time from a missed publish to its Completed invalidation at the default
//!    interval, computed from its parts: the wait for the next tick, the
//!    sweep (measured here), the collection window, and the walk and
//!    CloudFront's own time with the core's poll schedule (model-bench).

use invalidator_core::settings::Settings;
use invalidator_core::sweep::{self, SweepOutcome, Taken};
use invalidator_core::sync::{Position, SYNC_PAGE_LIMIT};
use invalidator_core::testing::TestSettings;
use invalidator_core::Timestamp;
use invalidator_lambda::http_client::ReqwestClient;
use invalidator_tests::big_graph;
use invalidator_tests::sandbox::{now_millis, Config, Fixture, Sandbox};
use serde_json::json;
use std::time::{Duration, Instant};

/// The default `SWEEP_INTERVAL_MINUTES` and `COLLECT_WINDOW_SECONDS`.
const INTERVAL_S: f64 = 300.0;
const COLLECT_WINDOW_S: f64 = 2.0;
/// model-bench: the Worker saw Completed 40.6 s after submitting when
/// CloudFront took 30 s (the core's poll schedule); see BENCHMARKS.md.
const CLOUDFRONT_30S_SEEN_S: f64 = 40.6;

async fn sandbox(fixture: Fixture) -> (Sandbox, Settings) {
    let sb = Sandbox::start(Config::local(fixture, Duration::from_secs(1), vec![])).await.expect("stand-ins start");
    let map: Vec<(String, String)> =
        sb.settings("EDEMO123", &"s".repeat(64)).into_iter().map(|(k, v)| (k.into(), v)).collect();
    let pairs: Vec<(&str, &str)> = map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    (sb, TestSettings::new().with_all(&pairs).settings())
}

async fn sweep_once(settings: &Settings, position: Position) -> (SweepOutcome, Duration) {
    let http = ReqwestClient::new(Duration::from_secs(30));
    let started = Instant::now();
    let now = Timestamp(now_millis());
    let outcome = sweep::run(&http, &settings.contentful, &settings.policy, position, &Taken::default(), now).await;
    (outcome, started.elapsed())
}

async fn publish_silently(sb: &Sandbox, n: usize) {
    let client = invalidator_tests::loopback::client();
    for i in 0..n {
        let entry = json!({"id": format!("new-{i}"), "contentType": "page", "revision": 1,
            "fields": {"slug": {"en-US": format!("new-{i}")}}});
        client.post(format!("{}/__sandbox/entries", sb.contentful_url())).json(&entry).send().await.unwrap();
    }
}

#[tokio::main]
async fn main() {
    println!("### Delivery API requests per sweep (Sync API, {SYNC_PAGE_LIMIT} items a page)\n");
    println!("| changes since the last sweep | Sync API requests | items read | missed changes fed | sweep time |");
    println!("| --- | --- | --- | --- | --- |");
    let mut ten_changes_took = Duration::ZERO;
    for changes in [0usize, 10, 1000] {
        let mut fixture = Fixture::from_json(include_str!("../../fixtures/content-graph.json")).unwrap();
        fixture.page_size = 1000;
        let (sb, settings) = sandbox(fixture).await;
        let (first, _) = sweep_once(&settings, Position::Start).await;
        publish_silently(&sb, changes).await;
        let (outcome, took) = sweep_once(&settings, first.position).await;
        let r = &outcome.report;
        assert!(r.error.is_none(), "the sweep failed: {:?}", r.error);
        if changes == 10 {
            ten_changes_took = took;
        }
        println!("| {changes} | {} | {} | {} | {:.1} ms |", r.requests, r.items, r.missed, took.as_secs_f64() * 1000.0);
    }
    let (_sb, settings) = sandbox(big_graph::graph(5000)).await;
    let (first, took) = sweep_once(&settings, Position::Start).await;
    println!(
        "\nThe first sweep of a 5,001-entry space (records the position, invalidates nothing): {} requests, {} items, \
         {:.0} ms{}.",
        first.report.requests,
        first.report.items,
        took.as_secs_f64() * 1000.0,
        if first.report.complete { "" } else { "; it stopped at its page cap and the next interval reads on" }
    );

    let sweep_s = ten_changes_took.as_secs_f64();
    let rest = sweep_s + COLLECT_WINDOW_S + CLOUDFRONT_30S_SEEN_S;
    println!("\n### Missed publish to Completed at the default interval (5 min)\n");
    println!(
        "Computed: wait for the next sweep tick (0 to {INTERVAL_S:.0} s, {:.0} s on average) + the sweep \
         ({:.1} ms measured above for 10 changes) + the collection window ({COLLECT_WINDOW_S:.0} s) + the walk (milliseconds here) and the submit, \
         then CloudFront's own time, seen {CLOUDFRONT_30S_SEEN_S} s after submitting when CloudFront \
         takes 30 s (model-bench). Total: {:.0} s on average, {:.0} s at worst (the seed, and a webhook-only \
         deployment: never; the page stays stale until its TTL).",
        INTERVAL_S / 2.0,
        sweep_s * 1000.0,
        INTERVAL_S / 2.0 + rest,
        INTERVAL_S + rest
    );
}
