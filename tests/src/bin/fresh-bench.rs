//! Time to fresh content, as an editor feels it: from a lone publish leaving
//! Contentful to the Worker seeing CloudFront report the invalidation
//! Completed, under the real `wrangler dev` with the stand-ins. The Delivery
//! API serves the new revision at once and CloudFront completes
//! `CLOUDFRONT_SECONDS` after the submit, so what is left above that is our
//! overhead: the collection window, the walk, the submit and the poll lag.
//! Prints numbers; asserts nothing about time.
//!
//! Run twice in one go: with the defaults, and with the schedule before issue
//! 14 (the whole 2 s collection window, polls from 5 s growing 1.5x) set
//! through the settings, so before and after come from the same build.
//!
//! "Seen" is when the CloudFront stand-in answered the first GetInvalidation
//! at or after the invalidation's completion: the moment the workflow learns
//! it, read from the stand-in's request log, so measuring adds no requests.
//!
//! A third run verifies (`SITE_URL` at the CDN stand-in): it measures the
//! time from the publish to the receipt's `verified`, what a visitor waits
//! for, against CloudFront's own completion time of the same invalidation.
//!
//! Run with `cargo run --release -p invalidator-tests --bin fresh-bench -- [N]`.

use invalidator_tests::sandbox::{Config, Fixture, Sandbox};
use invalidator_tests::toolkit;
use invalidator_tests::wrangler::WranglerDev;
use serde_json::json;
use std::time::{Duration, Instant};

const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
const DISTRIBUTION: &str = "EFRESH1";
/// How long the CloudFront stand-in keeps each invalidation in progress.
const CLOUDFRONT_SECONDS: u64 = 5;
/// The longest one publish may take to be seen Completed before the bench gives up.
const GIVE_UP: Duration = Duration::from_secs(120);

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let publishes = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20usize);
    let mut fixture = Fixture::from_json(include_str!("../../fixtures/content-graph.json")).unwrap();
    for i in 0..3 * publishes {
        let card = json!({"id": format!("fresh-card-{i}"), "contentType": "card", "revision": 1});
        let page = json!({"id": format!("fresh-page-{i}"), "contentType": "page",
            "fields": {"slug": {"en-US": format!("fresh-{i}")}}, "links": [format!("fresh-card-{i}")]});
        fixture.entries.push(serde_json::from_value(card).unwrap());
        fixture.entries.push(serde_json::from_value(page).unwrap());
    }
    let mut config = Config::local(fixture, Duration::from_secs(CLOUDFRONT_SECONDS), vec![]);
    config.cdn.distribution = DISTRIBUTION.into();
    let sb = Sandbox::start(config.with_distributions(&[DISTRIBUTION])).await.unwrap();
    let before_14 = [("COLLECT_QUIET_SECONDS", "2"), ("POLL_FIRST_SECONDS", "5"), ("POLL_FAST_SECONDS", "0")];
    for (label, extra, first) in [("defaults", &[][..], 0), ("before issue 14", &before_14[..], publishes)] {
        let overheads = measure(&sb, publishes, first, extra).await;
        report(label, &overheads);
    }
    let (completed, verified) = measure_verified(&sb, publishes, 2 * publishes).await;
    report_verified(&completed, &verified);
}

/// Sends `publishes` lone publishes (of entries `first..`) to a fresh Worker
/// that verifies through the CDN stand-in; returns, for each, CloudFront's
/// completion and the receipt's `verified`, in seconds after the publish.
async fn measure_verified(sb: &Sandbox, publishes: usize, first: usize) -> (Vec<f64>, Vec<f64>) {
    const STATUS_TOKEN: &str = "fresh-bench-status";
    let dir = tempfile::tempdir().unwrap();
    let vars: Vec<(&'static str, String)> = sb
        .settings(DISTRIBUTION, SECRET)
        .into_iter()
        .chain(sb.site_settings())
        .chain([("PATH_RULES", r#"{"page":["/{slug}"]}"#.into()), ("STATUS_TOKEN", STATUS_TOKEN.into())])
        .collect();
    let wrangler = {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || WranglerDev::start(&dir, &vars)).await.unwrap()
    };
    let client = invalidator_tests::loopback::client();
    let (mut completed, mut verified) = (Vec::new(), Vec::new());
    for i in first..first + publishes {
        let body = toolkit::publish_body(&format!("fresh-card-{i}"), "card", 1, json!({}));
        let request = toolkit::publish(SECRET, "/webhooks/contentful", body.clone());
        let headers = toolkit::sign_all(std::slice::from_ref(&request)).remove(0);
        let before = sb.invalidations().len();
        let sent_ms = invalidator_tests::sandbox::now_millis();
        let mut r = client.post(wrangler.url("/webhooks/contentful")).body(body);
        for (k, v) in &headers {
            r = r.header(k, v);
        }
        let answer: serde_json::Value = r.send().await.unwrap().json().await.unwrap();
        let id = answer["tracking_id"].as_str().expect("publish accepted").to_string();
        let started = Instant::now();
        let tracked = loop {
            assert!(started.elapsed() < GIVE_UP, "publish {i} not verified within {GIVE_UP:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
            let t = client
                .get(wrangler.url(&format!("/invalidations/{id}")))
                .bearer_auth(STATUS_TOKEN)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()[DISTRIBUTION]
                .clone();
            if invalidator_tests::site_visit::settled(&t) {
                break t;
            }
        };
        let last = tracked["receipt"].as_array().and_then(|r| r.last().cloned()).unwrap_or_default();
        assert_eq!(last["step"], "verified", "publish {i}: {tracked}");
        let inv = sb.invalidations().get(before).cloned().expect("an invalidation was made");
        completed.push((inv.completes_ms - sent_ms) as f64 / 1000.0);
        verified.push((last["at"].as_u64().unwrap() - sent_ms) as f64 / 1000.0);
        eprintln!(
            "publish {i}: Completed {:.2} s, verified live {:.2} s after the publish",
            completed.last().unwrap(),
            verified.last().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    (completed, verified)
}

fn report_verified(completed: &[f64], verified: &[f64]) {
    let sorted = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v
    };
    let (c, v) = (sorted(completed), sorted(verified));
    println!(
        "verified live: {} lone publishes, CloudFront completing {CLOUDFRONT_SECONDS} s after submit: \
         publish to CloudFront's Completed p50 {:.2} s, p95 {:.2} s; publish to verified live p50 {:.2} s, p95 {:.2} s",
        c.len(),
        percentile(&c, 0.5),
        percentile(&c, 0.95),
        percentile(&v, 0.5),
        percentile(&v, 0.95),
    );
}

/// Sends `publishes` lone publishes (of entries `first..`) one after
/// another to a fresh Worker with the defaults and `extra` settings, and
/// returns each one's time beyond CloudFront's, in seconds.
async fn measure(sb: &Sandbox, publishes: usize, first: usize, extra: &[(&'static str, &str)]) -> Vec<f64> {
    let dir = tempfile::tempdir().unwrap();
    // The defaults a user gets: only the rules and where the stand-ins are.
    let vars: Vec<(&'static str, String)> = sb
        .settings(DISTRIBUTION, SECRET)
        .into_iter()
        .chain([("PATH_RULES", r#"{"page":["/{slug}"],"always":["/"]}"#.into())])
        .chain(extra.iter().map(|(k, v)| (*k, v.to_string())))
        .collect();
    let wrangler = {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || WranglerDev::start(&dir, &vars)).await.unwrap()
    };
    let client = invalidator_tests::loopback::client();
    let mut overheads = Vec::with_capacity(publishes);
    for i in first..first + publishes {
        // Signed just before sending: the signature lives 30 s.
        let body = toolkit::publish_body(&format!("fresh-card-{i}"), "card", 1, json!({}));
        let request = toolkit::publish(SECRET, "/webhooks/contentful", body.clone());
        let headers = toolkit::sign_all(std::slice::from_ref(&request)).remove(0);
        let before = sb.invalidations().len();
        let sent_ms = invalidator_tests::sandbox::now_millis();
        let mut r = client.post(wrangler.url("/webhooks/contentful")).body(body);
        for (k, v) in &headers {
            r = r.header(k, v);
        }
        let status = r.send().await.unwrap().status().as_u16();
        assert_eq!(status, 202, "publish {i} was not accepted");
        let started = Instant::now();
        let seen_ms = loop {
            assert!(started.elapsed() < GIVE_UP, "publish {i} not seen Completed within {GIVE_UP:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
            let Some(inv) = sb.invalidations().get(before).cloned() else { continue };
            let seen = sb.cloudfront_requests().into_iter().find(|l| {
                l.method == "GET"
                    && l.target.ends_with(&format!("/invalidation/{}", inv.id))
                    && l.at_ms >= inv.completes_ms
            });
            if let Some(l) = seen {
                break l.at_ms;
            }
        };
        let total = (seen_ms - sent_ms) as f64 / 1000.0;
        overheads.push(total - CLOUDFRONT_SECONDS as f64);
        eprintln!("publish {i}: seen Completed {total:.2} s after the publish");
        // Nothing in flight before the next lone publish.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    overheads
}

fn report(label: &str, overheads: &[f64]) {
    let mut overheads = overheads.to_vec();
    let publishes = overheads.len();
    overheads.sort_by(f64::total_cmp);
    let (p50, p95) = (percentile(&overheads, 0.5), percentile(&overheads, 0.95));
    println!(
        "fresh ({label}): {publishes} lone publishes, CloudFront completing {CLOUDFRONT_SECONDS} s after submit: \
         publish to Completed seen p50 {:.2} s, p95 {:.2} s; overhead beyond CloudFront p50 {p50:.2} s, p95 {p95:.2} s",
        p50 + CLOUDFRONT_SECONDS as f64,
        p95 + CLOUDFRONT_SECONDS as f64,
    );
}
