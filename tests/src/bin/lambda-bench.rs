//! Measures the Lambda binaries (release builds) and prints the numbers:
//! stripped size of each, and cold start — process start to the first
//! invocation answered under a local Lambda Runtime API — median of N runs.
//! Run with `make bench-lambda`.

use invalidator_core::workflow::Workflow;
use invalidator_tests::runtime_api::RuntimeApi;
use serde_json::json;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn release_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().join(name)
}

fn settings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("CLOUDFRONT_DISTRIBUTION_ID", "EBENCH1"),
        ("CLOUDFRONT_ENDPOINT", "http://127.0.0.1:9"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ("CONTENTFUL_SPACE_ID", "demo-space"),
        ("CONTENTFUL_DELIVERY_TOKEN", "t"),
        ("CONTENTFUL_CDA_ENDPOINT", "http://127.0.0.1:9"),
        ("CONTENTFUL_WEBHOOK_SECRET", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/"),
        ("PATH_RULES", r#"{"page":["/{slug}"]}"#),
        ("STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:bench"),
        ("RUST_LOG", "warn"),
    ]
}

async fn cold_start(name: &str, payload: &serde_json::Value) -> Duration {
    let api = RuntimeApi::start(name).await;
    let body = serde_json::to_vec(payload).unwrap();
    let invoking = {
        let api = api.clone();
        tokio::spawn(async move { api.invoke(&body, Duration::from_secs(30)).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    let mut child = Command::new(release_binary(name))
        .env_clear()
        .envs(settings())
        .envs(api.env())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let answer = invoking.await.unwrap();
    let elapsed = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.is_ok(), "{name} failed: {}", String::from_utf8_lossy(&answer.unwrap_err()));
    elapsed
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    for name in ["webhook", "workflow", "invalidator"] {
        let bytes = std::fs::metadata(release_binary(name)).map(|m| m.len()).unwrap_or(0);
        println!("{name}: {:.2} MiB stripped release binary", bytes as f64 / (1024.0 * 1024.0));
    }
    let finished = json!({"task": "check_status", "state": {
        "workflow": Workflow::new(vec!["EBENCH1".into()]), "route": "done", "wait_seconds": 0}});
    let unsigned = json!({"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": {"x-contentful-topic": "ContentManagement.Entry.publish"},
        "requestContext": {"http": {"method": "POST"}, "timeEpoch": 1_800_000_000_000_i64}, "body": "{}", "isBase64Encoded": false});
    for (name, payload) in [("workflow", &finished), ("webhook", &unsigned)] {
        let mut times = Vec::new();
        for _ in 0..runs {
            times.push(cold_start(name, payload).await);
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{name}: cold start to first answer, {runs} runs: median {:.1} ms (min {:.1}, max {:.1})",
            ms(times[runs / 2]),
            ms(times[0]),
            ms(times[runs - 1])
        );
    }
}
