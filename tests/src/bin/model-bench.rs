//! Benchmarks of the core's decisions, run through the real driver against a
//! counting fake of CloudFront and the Delivery API, with virtual time (so a
//! 90 s invalidation costs no real time). Prints numbers; asserts nothing.
//!
//! 1. Contentful cost: Delivery API requests per walk on generated 3-level
//!    graphs of 50 and 500 entries, beside one request per edge.
//! 2. Completion lag: CloudFront completes after 5, 10, 20, 30 and 90 s
//!    (its documented P95 is under 25 s); when the workflow saw Completed,
//!    how late that was, and how many polls it made (Worker: the core's
//!    schedule; Lambda: each wait rounded up to whole seconds), beside a fixed
//!    60 s wait.
//! 3. Coalescing: bursts of 10, 200 and 1,000 publishes arriving within the
//!    collection window: CloudFront requests and paths billed, beside the
//!    seed's one request per webhook.

use invalidator_core::driver::{run, run_to_end, Setup, Stop};
use invalidator_core::io::{Clock, HttpClient, HttpRequest, HttpResponse, TransportError};
use invalidator_core::settings::Settings;
use invalidator_core::testing::{ChangeBuilder, TestSettings};
use invalidator_core::webhook::Change;
use invalidator_core::workflow::{step, Event, Workflow};
use invalidator_core::Timestamp;
use invalidator_tests::virtual_time::VirtualClock;
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

const START: Timestamp = Timestamp::from_secs(1_800_000_000);

/// Who links to each entry, and how CloudFront behaves.
struct Fake<'a> {
    parents: BTreeMap<String, Vec<String>>,
    clock: &'a VirtualClock,
    completes_after: Duration,
    created_at: Cell<Option<Timestamp>>,
    cda_requests: Cell<u64>,
    creates: Cell<u64>,
    gets: Cell<u64>,
    paths_billed: Cell<u64>,
    seen_completed: RefCell<Option<Timestamp>>,
}

fn ok(status: u16, body: String) -> Result<HttpResponse, TransportError> {
    Ok(http::Response::builder().status(status).body(body.into_bytes()).unwrap())
}

impl HttpClient for Fake<'_> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let uri = request.uri().to_string();
        if let Some(rest) = uri.split("links_to_entry=").nth(1) {
            self.cda_requests.set(self.cda_requests.get() + 1);
            let id = rest.split('&').next().unwrap();
            let items: Vec<_> = self.parents.get(id).into_iter().flatten()
                .map(|p| json!({"sys": {"id": p, "contentType": {"sys": {"id": if p.starts_with("page") { "page" } else { "part" }}}}, "fields": {"slug": {"en-US": p}}}))
                .collect();
            return ok(200, json!({"total": items.len(), "skip": 0, "items": items}).to_string());
        }
        let now = self.clock.now();
        if request.method() == http::Method::POST {
            self.creates.set(self.creates.get() + 1);
            let body = String::from_utf8_lossy(request.body()).into_owned();
            self.paths_billed.set(self.paths_billed.get() + body.matches("<Path>").count() as u64);
            self.created_at.set(Some(now));
            return ok(201, "<Invalidation><Id>I1</Id><Status>InProgress</Status></Invalidation>".into());
        }
        self.gets.set(self.gets.get() + 1);
        let done = now >= self.created_at.get().unwrap().plus(self.completes_after);
        if done && self.seen_completed.borrow().is_none() {
            *self.seen_completed.borrow_mut() = Some(now);
        }
        ok(
            200,
            format!(
                "<Invalidation><Id>I1</Id><Status>{}</Status></Invalidation>",
                if done { "Completed" } else { "InProgress" }
            ),
        )
    }
}

const SETTINGS: [(&str, &str); 6] = [
    ("CLOUDFRONT_DISTRIBUTION_ID", "EMODEL"),
    ("PATH_RULES", r#"{"page":["/{slug}"],"card":["/cards/{sys.id}"]}"#),
    ("FRESHNESS_MAX_WAIT_SECONDS", "0"),
    ("PATH_BUDGET", "3000"),
    ("BATCH_MAX_PATHS", "3000"),
    ("BATCH_TIMEOUT_SECONDS", "3600"),
];

fn settings() -> Settings {
    TestSettings::new().unsigned().with_all(&SETTINGS).settings()
}

/// When the Worker's schedule under `s` sees an invalidation that completes
/// after `t` seconds (seconds after the submit), and the polls it took.
async fn seen_by_worker(s: &Settings, t: u64) -> (f64, u64) {
    let clock = VirtualClock::at(START);
    let http = fake(&clock, BTreeMap::new(), Duration::from_secs(t));
    let event = Event::ChangeAccepted { change: change("leaf") };
    finish(Workflow::new(vec!["EMODEL".into()]), event, s, &clock, &http).await;
    let seen = http.seen_completed.borrow().unwrap().as_millis() - http.created_at.get().unwrap().as_millis();
    (seen as f64 / 1000.0, http.gets.get())
}

fn change(id: &str) -> Change {
    ChangeBuilder::publish(id).content_type("card").build()
}

fn fake<'a>(clock: &'a VirtualClock, parents: BTreeMap<String, Vec<String>>, completes_after: Duration) -> Fake<'a> {
    Fake {
        parents,
        clock,
        completes_after,
        created_at: Cell::new(None),
        cda_requests: Cell::new(0),
        creates: Cell::new(0),
        gets: Cell::new(0),
        paths_billed: Cell::new(0),
        seen_completed: RefCell::new(None),
    }
}

/// A 3-level graph above `leaf`: level sizes in proportion 1:3:6, each entry
/// linked from two entries of the level above (a DAG with shared parents).
fn graph(total: usize) -> (BTreeMap<String, Vec<String>>, usize) {
    let l1 = (total / 10).max(1);
    let l2 = (total * 3 / 10).max(1);
    let l3 = total - l1 - l2 - 1;
    let levels: Vec<Vec<String>> = vec![
        vec!["leaf".into()],
        (0..l1).map(|i| format!("part-a{i}")).collect(),
        (0..l2).map(|i| format!("part-b{i}")).collect(),
        (0..l3).map(|i| format!("page-{i}")).collect(),
    ];
    let mut parents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut edges = 0;
    for w in levels.windows(2) {
        let (below, above) = (&w[0], &w[1]);
        for (i, upper) in above.iter().enumerate() {
            for k in [i, i * 7 + 3] {
                let lower = &below[k % below.len()];
                let list = parents.entry(lower.clone()).or_default();
                if !list.contains(upper) {
                    list.push(upper.clone());
                    edges += 1;
                }
            }
        }
    }
    (parents, edges)
}

async fn finish(wf: Workflow, event: Event, s: &Settings, clock: &VirtualClock, http: &Fake<'_>) -> Workflow {
    let services = Setup::new(http, clock, s, 6);
    run_to_end(wf, event, &services, clock, 1, |_, _| {}).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let s = settings();
    println!("### Contentful cost (requests per walk)\n");
    println!(
        "| graph | entries | edges | Delivery API requests | one request per edge |\n| --- | --- | --- | --- | --- |"
    );
    for total in [50, 500] {
        let clock = VirtualClock::at(START);
        let (parents, edges) = graph(total);
        let http = fake(&clock, parents, Duration::from_secs(1));
        finish(
            Workflow::new(vec!["EMODEL".into()]),
            Event::ChangeAccepted { change: change("leaf") },
            &s,
            &clock,
            &http,
        )
        .await;
        println!("| 3 levels | {total} | {edges} | {} | {edges} |", http.cda_requests.get());
    }

    println!("\n### Completion lag (CloudFront completes after T)\n");
    println!("| T | Worker: seen at, late by, polls | Lambda: seen at, late by, polls | before issue 14 (5 s, then 1.5x): seen at, late by, polls | fixed 60 s wait: seen at, polls |\n| --- | --- | --- | --- | --- |");
    // The schedule before issue 14: the first poll after 5 s, then 1.5x longer each time.
    let before_14 = TestSettings::new()
        .unsigned()
        .with_all(&SETTINGS)
        .with_all(&[("POLL_FIRST_SECONDS", "5"), ("POLL_FAST_SECONDS", "0")])
        .settings();
    for t in [5u64, 10, 20, 30, 90] {
        let (worker, worker_polls) = seen_by_worker(&s, t).await;
        let (before, before_polls) = seen_by_worker(&before_14, t).await;
        // Lambda: the same workflow, each wait rounded up to whole seconds (SecondsPath).
        let clock = VirtualClock::at(START);
        let http = fake(&clock, BTreeMap::new(), Duration::from_secs(t));
        let services = Setup::new(&http, &clock, &s, 6);
        let mut wf = Workflow::new(vec!["EMODEL".into()]);
        step(&mut wf, &s.policy, Event::ChangeAccepted { change: change("leaf") }, clock.now(), 0);
        let mut stop = Stop::SleepUntil(clock.now());
        loop {
            if let Stop::SleepUntil(at) = stop {
                let secs = clock.now().until(at).as_millis().div_ceil(1000) as u64;
                invalidator_core::driver::Sleep::sleep(&clock, Duration::from_secs(secs)).await;
            }
            if stop == Stop::Finished {
                break;
            }
            (wf, stop) = run(wf, Event::TimerFired, &services, 1).await;
        }
        let lambda = (http.seen_completed.borrow().unwrap().as_millis() - http.created_at.get().unwrap().as_millis())
            as f64
            / 1000.0;
        let fixed_polls = t.div_ceil(60);
        let late = |seen: f64| seen - t as f64;
        println!(
            "| {t} s | {worker:.1} s, {:.1} s, {worker_polls} | {lambda:.1} s, {:.1} s, {} | {before:.1} s, {:.1} s, {before_polls} | {} s, {fixed_polls} |",
            late(worker),
            late(lambda),
            http.gets.get(),
            late(before),
            fixed_polls * 60
        );
    }

    println!("\n### Coalescing (publishes arriving within the 2 s collection window)\n");
    println!("| burst | CloudFront requests | paths billed | the seed: requests, paths |\n| --- | --- | --- | --- |");
    for burst in [10usize, 200, 1000] {
        let clock = VirtualClock::at(START);
        let http = fake(&clock, BTreeMap::new(), Duration::from_secs(5));
        let mut wf = Workflow::new(vec!["EMODEL".into()]);
        for i in 0..burst {
            step(&mut wf, &s.policy, Event::ChangeAccepted { change: change(&format!("card-{i}")) }, clock.now(), 0);
        }
        finish(wf, Event::TimerFired, &s, &clock, &http).await;
        // The seed: one CreateInvalidation per webhook, each with that entry's path.
        println!("| {burst} | {} | {} | {burst}, {burst} |", http.creates.get(), http.paths_billed.get());
    }
}
