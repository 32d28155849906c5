//! Measures the Worker under the real `wrangler dev` (local mode) against the
//! stand-ins, and prints the numbers (no assertion: this is a benchmark).
//!
//! 1. webhook → 202 latency over N signed publishes from 1, 10 and 50
//!    concurrent senders (p50, p99), beside the floor Worker's
//!    (bench/floor-worker: one Durable Object, one storage put) in the same
//!    run, and ours as a multiple of it;
//! 2. a burst of B publishes of different entries spread over 2 s: how many
//!    CreateInvalidation requests reached the CloudFront stand-in.
//! 3. the cold start: the first request after `wrangler dev` starts (median
//!    of several starts).
//!
//! Run with `make bench-edge` (or `cargo run --release -p invalidator-tests
//! --bin edge-bench -- [N] [B]`).

use invalidator_tests::sandbox::{Config, Fixture, Sandbox};
use invalidator_tests::toolkit::{self, ToSign};
use invalidator_tests::wrangler::WranglerDev;
use serde_json::json;
use std::time::{Duration, Instant};

/// Requests sent to one Worker before the other takes its turn: small, so
/// that both see the same load from whatever else runs on the machine.
const CHUNK: usize = 50;
/// `wrangler dev` starts for the cold-start median.
const COLD_STARTS: usize = 5;
const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";

fn publish(id: &str, revision: usize) -> String {
    json!({"sys": {"type": "Entry", "id": id, "revision": revision, "space": {"sys": {"id": "demo-space"}},
        "environment": {"sys": {"id": "master"}}, "contentType": {"sys": {"id": "card"}}}, "fields": {}})
    .to_string()
}

fn sign_all(bodies: &[String]) -> Vec<(Vec<(String, String)>, String)> {
    let requests: Vec<ToSign> = bodies
        .iter()
        .map(|b| ToSign {
            secret: SECRET.into(),
            method: "POST".into(),
            path: "/webhooks/contentful".into(),
            headers: [("x-contentful-topic".to_string(), json!("ContentManagement.Entry.publish"))]
                .into_iter()
                .collect(),
            body: b.clone(),
            timestamp: None,
        })
        .collect();
    toolkit::sign(&requests)
        .into_iter()
        .zip(bodies)
        .map(|(mut h, b)| {
            h.push(("x-contentful-topic".into(), "ContentManagement.Entry.publish".into()));
            (h, b.clone())
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// p50, p99 and max of `latencies`, in milliseconds.
fn summary(mut latencies: Vec<Duration>) -> [f64; 3] {
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    [ms(percentile(&latencies, 0.50)), ms(percentile(&latencies, 0.99)), ms(*latencies.last().unwrap())]
}

/// What a load run saw: the latency of each request, and the answers that
/// were not 202 (status and body), which a benchmark reports, not hides.
#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    refused: Vec<(u16, String)>,
}

/// Sends every request to `url` from `senders` concurrent senders, each
/// taking the next request when its last was answered.
async fn load(
    client: &reqwest::Client,
    url: &str,
    senders: usize,
    requests: Vec<(Vec<(String, String)>, String)>,
) -> Seen {
    let queue = std::sync::Arc::new(std::sync::Mutex::new(requests));
    let mut tasks = Vec::new();
    for _ in 0..senders {
        let (queue, client, url) = (queue.clone(), client.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            let mut mine = Seen::default();
            loop {
                let Some((headers, body)) = queue.lock().unwrap().pop() else { break };
                let mut r = client.post(&url).body(body);
                for (k, v) in &headers {
                    r = r.header(k, v);
                }
                let started = Instant::now();
                let answer = r.send().await.unwrap();
                mine.latencies.push(started.elapsed());
                let status = answer.status().as_u16();
                if status != 202 {
                    mine.refused.push((status, answer.text().await.unwrap_or_default()));
                }
            }
            mine
        }));
    }
    let mut seen = Seen::default();
    for t in tasks {
        let mine = t.await.unwrap();
        seen.latencies.extend(mine.latencies);
        seen.refused.extend(mine.refused);
    }
    seen
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sequential = args.first().copied().unwrap_or(500);
    let burst = args.get(1).copied().unwrap_or(200);
    let mut fixture = Fixture::from_json(include_str!("../../fixtures/content-graph.json")).unwrap();
    for i in 0..burst.max(sequential) {
        let card = json!({"id": format!("card-{i}"), "contentType": "card", "revision": 1});
        let page = json!({"id": format!("page-{i}"), "contentType": "page", "fields": {"slug": {"en-US": format!("p{i}")}}, "links": [format!("card-{i}")]});
        fixture.entries.push(serde_json::from_value(card).unwrap());
        fixture.entries.push(serde_json::from_value(page).unwrap());
    }
    let sb = Sandbox::start(Config::local(fixture, Duration::from_secs(2), vec![]).with_distributions(&["EBENCH1"]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vars: Vec<(&'static str, String)> = sb
        .settings("EBENCH1", SECRET)
        .into_iter()
        .chain([
            ("STATUS_TOKEN", "bench".into()),
            ("PATH_RULES", r#"{"page":["/{slug}"],"always":["/"]}"#.into()),
            ("FRESHNESS_MAX_WAIT_SECONDS", "0".into()),
            ("POLL_FIRST_SECONDS", "1".into()),
            ("PATH_BUDGET", "3000".into()),
            ("BATCH_MAX_PATHS", "3000".into()),
            ("WALK_MAX_ENTRIES", "5000".into()),
        ])
        .collect();
    let wrangler = {
        let (dir, vars) = (dir.path().to_path_buf(), vars.clone());
        tokio::task::spawn_blocking(move || WranglerDev::start(&dir, &vars)).await.unwrap()
    };
    let client = invalidator_tests::loopback::client();
    let post = |headers: &[(String, String)], body: &str| {
        let mut r = client.post(wrangler.url("/webhooks/contentful")).body(body.to_string());
        for (k, v) in headers {
            r = r.header(k, v);
        }
        r.send()
    };

    // 1. Latency at 1, 10 and 50 concurrent senders; distinct revisions make
    // every request a new publish, signed just before sending (30 s TTL).
    // The floor Worker gets the same requests in the same run, chunk by chunk
    // in turn with ours, so both see the same machine.
    let floor_dir = tempfile::tempdir().unwrap();
    let floor = {
        let dir = floor_dir.path().to_path_buf();
        let config = invalidator_tests::toolkit::repo_root().join("bench/floor-worker/wrangler.toml");
        tokio::task::spawn_blocking(move || WranglerDev::start_config(&dir, &config, &[])).await.unwrap()
    };
    let mut revision = 1000;
    for senders in [1usize, 10, 50] {
        let count = if senders == 1 { sequential } else { sequential.max(senders) };
        let (mut ours, mut floors) = (Seen::default(), Seen::default());
        for chunk in (0..count).collect::<Vec<_>>().chunks(CHUNK) {
            for (url, seen) in
                [(floor.url("/webhooks/contentful"), &mut floors), (wrangler.url("/webhooks/contentful"), &mut ours)]
            {
                let bodies: Vec<String> = chunk
                    .iter()
                    .map(|i| {
                        revision += 1;
                        publish(&format!("card-{}", i % 5), revision)
                    })
                    .collect();
                let run = load(&client, &url, senders, sign_all(&bodies)).await;
                seen.latencies.extend(run.latencies);
                seen.refused.extend(run.refused);
            }
        }
        for (name, seen, log) in [("invalidator", &ours, wrangler.log_text()), ("floor", &floors, floor.log_text())] {
            if !seen.refused.is_empty() {
                println!(
                    "{name}: {} of {count} answers were not 202, first: {:?}",
                    seen.refused.len(),
                    seen.refused[0]
                );
                log.lines()
                    .filter(|l| l.contains("could not store") || l.contains("rror"))
                    .take(5)
                    .for_each(|l| println!("  log: {l}"));
            }
        }
        let (ours, floors) = (summary(ours.latencies), summary(floors.latencies));
        println!(
            "webhook -> 202, {} signed requests from {senders} concurrent sender(s): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            count, ours[0], ours[1], ours[2]
        );
        println!(
            "floor -> 202, {count} requests from {senders} concurrent sender(s) to the floor Worker: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            floors[0], floors[1], floors[2]
        );
        println!(
            "ratio to the floor, {senders} concurrent sender(s): p50 {:.2}x, p99 {:.2}x",
            ours[0] / floors[0],
            ours[1] / floors[1]
        );
    }
    drop(floor);

    // Let the latency run's own invalidations finish, then count only the burst's.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let before = sb.invalidations().len();
    let bodies: Vec<String> = (0..burst).map(|i| publish(&format!("card-{i}"), 1)).collect();
    let signed = sign_all(&bodies);
    let gap = Duration::from_secs(2) / burst.max(1) as u32;
    let started = Instant::now();
    for (i, (headers, body)) in signed.iter().enumerate() {
        tokio::time::sleep_until((started + gap * i as u32).into()).await;
        let r = post(headers, body).await.unwrap();
        assert_eq!(r.status().as_u16(), 202);
    }
    let spread = started.elapsed();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let created = &sb.invalidations()[before..];
    let paths: usize = created.iter().map(|i| i.paths.len()).sum();
    println!(
        "burst of {burst} publishes over {:.1} s: {} CreateInvalidation request(s), {paths} paths (the seed: {burst} requests)",
        spread.as_secs_f64(),
        created.len()
    );

    // 3. Cold start: the first request after `wrangler dev` starts, on a new
    // persist directory each time.
    drop(wrangler);
    let mut cold = Vec::new();
    for _ in 0..COLD_STARTS {
        let dir = tempfile::tempdir().unwrap();
        let vars = vars.clone();
        let w = tokio::task::spawn_blocking(move || WranglerDev::start(dir.path(), &vars)).await.unwrap();
        cold.push(w.first_answer);
    }
    cold.sort();
    println!(
        "cold start, first request after wrangler dev starts, {COLD_STARTS} starts: median {:.1} ms",
        percentile(&cold, 0.5).as_secs_f64() * 1000.0
    );
}
