//! `make demo` / `make demo-lambda`: the whole job on local stand-ins.
//!
//! Starts the CloudFront and Delivery API stand-ins, then either the Worker
//! under `wrangler dev` (default) or the AWS body (`--lambda`: the webhook,
//! starter and workflow functions under a Lambda Runtime API, the changes
//! queue at the SQS stand-in feeding the starter through an emulated event
//! source mapping, the state machine in aws-local-stepfunctions); sends a publish, signed by Contentful's own
//! toolkit, for an entry two levels below two pages; and shows the workflow
//! until CloudFront reports Completed and the pages are verified through the
//! CDN stand-in. It prints the page as a visitor sees it before the publish
//! and after, next to the change's receipt. Everything it starts is stopped
//! at the end, and on Ctrl-C.

use invalidator_tests::runtime_api::RuntimeApi;
use invalidator_tests::sandbox::{Config, Fixture, Sandbox};
use invalidator_tests::toolkit::{self, repo_root};
use invalidator_tests::wrangler::WranglerDev;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "demo5ecret-demo5ecret-demo5ecret-demo5ecret-demo5ecret-demo5ecre";
const DIST: &str = "EDEMO123";
/// The site's own rules: every planned path is a page the CDN stand-in serves.
const RULES: &str = invalidator_tests::site_visit::SITE_RULES;

fn say(line: impl AsRef<str>) {
    println!("\x1b[1m{}\x1b[0m", line.as_ref());
}

fn settings(sb: &Sandbox) -> Vec<(&'static str, String)> {
    sb.settings(DIST, SECRET)
        .into_iter()
        .chain(sb.site_settings())
        .chain([
            ("STATUS_TOKEN", "demo-status-token".into()),
            ("PATH_RULES", RULES.into()),
            ("COLLECT_WINDOW_SECONDS", "1".into()),
            ("FRESHNESS_MAX_WAIT_SECONDS", "5".into()),
        ])
        .collect()
}

/// Publishes the button's new label at the Delivery API stand-in, and signs
/// the webhook Contentful sends for it.
fn signed_publish(sb: &Sandbox, path: &str) -> (Vec<(String, String)>, String) {
    let body = invalidator_tests::site_visit::publish_button(sb, 4);
    let headers = toolkit::sign_all(&[toolkit::publish(SECRET, path, body.clone())]).remove(0);
    (headers, body)
}

async fn sandbox() -> Sandbox {
    let fixture =
        Fixture::from_json(&std::fs::read_to_string(repo_root().join("tests/fixtures/content-graph.json")).unwrap())
            .unwrap();
    let sb =
        Sandbox::start(Config::local(fixture, Duration::from_secs(12), vec![])).await.expect("the stand-ins start");
    say(format!("CloudFront stand-in on {}, Delivery API stand-in on {}", sb.cloudfront_url(), sb.contentful_url()));
    say(format!("The site, as visitors reach it through the CDN stand-in: {}/home", sb.site_url()));
    sb
}

fn story() {
    say("The content graph: cta-button (a button) sits in hero-banner (a section), which both pages");
    say("'home' (slugs home, startseite) and 'winter-sale' show; a blog post links the button directly.");
}

async fn worker_demo() -> Result<(), String> {
    let sb = sandbox().await;
    say("Starting wrangler dev (local mode, no account)...");
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let vars = settings(&sb);
    let started = Instant::now();
    let w = {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || WranglerDev::start(&dir, &vars)).await.map_err(|e| e.to_string())?
    };
    say(format!("Worker ready on {} after {:.1} s", w.url(""), started.elapsed().as_secs_f64()));
    story();
    let before = show_page(&sb, "before the publish").await;
    let (headers, body) = signed_publish(&sb, "/webhooks/contentful");
    let client = invalidator_tests::loopback::client();
    let mut req = client.post(w.url("/webhooks/contentful")).body(body);
    for (k, v) in &headers {
        req = req.header(k, v);
    }
    let answer = req.send().await.map_err(|e| e.to_string())?;
    let status = answer.status().as_u16();
    let answer: Value = answer.json().await.map_err(|e| e.to_string())?;
    say(format!("POST /webhooks/contentful (signed by @contentful/node-apps-toolkit) -> {status} {answer}"));
    let t0 = Instant::now();
    let mut last = String::new();
    loop {
        let page: Value = client
            .get(w.url("/invalidations"))
            .bearer_auth("demo-status-token")
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let d = &page[DIST];
        let batch = &d["batches"][0];
        let line = if batch.is_null() {
            format!(
                "workflow {}: collecting and resolving ({} change(s) waiting)",
                d["phase"].as_str().unwrap_or("starting"),
                d["waiting_changes"]
            )
        } else {
            format!(
                "workflow {} | batch {} {} | {} paths | invalidation {} | polls {} | retries {}",
                d["phase"].as_str().unwrap_or("?"),
                batch["sequence"],
                batch["state"].as_str().unwrap_or("?"),
                batch["path_count"],
                batch["invalidation_id"].as_str().unwrap_or("-"),
                batch["polls"],
                batch["attempts"]
            )
        };
        if line != last {
            println!("[{:5.1}s] {line}", t0.elapsed().as_secs_f64());
            last = line;
        }
        let tracking = answer["tracking_id"].as_str().unwrap_or_default();
        let tracked = client
            .get(w.url(&format!("/invalidations/{tracking}")))
            .bearer_auth("demo-status-token")
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json::<Value>()
            .await
            .map_err(|e| e.to_string())?[DIST]
            .clone();
        if invalidator_tests::site_visit::settled(&tracked) {
            say(format!("Verified after {:.1} s. Paths invalidated:", t0.elapsed().as_secs_f64()));
            for p in batch["paths"].as_array().cloned().unwrap_or_default() {
                println!("  {}", p.as_str().unwrap_or_default());
            }
            let receipt: Vec<invalidator_core::workflow::ReceiptStep> =
                serde_json::from_value(tracked["receipt"].clone()).map_err(|e| e.to_string())?;
            side_by_side(&before, &show_page(&sb, "after, as the receipt says").await, &receipt);
            return Ok(());
        }
        if batch["state"] == "failed" || t0.elapsed() > Duration::from_secs(120) {
            return Err(format!("the demo did not complete: {page:#}\nwrangler log: {}", w.log.display()));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The demo's page as a visitor reads it through the CDN stand-in, printed.
async fn show_page(sb: &Sandbox, when: &str) -> Vec<String> {
    let page = invalidator_tests::site_visit::visit(sb, "/home").await;
    let mut lines = vec![format!("GET /home {when}: {} ({})", page.status, page.x_cache)];
    lines.extend(page.text.iter().map(|l| format!("  {l}")));
    lines
}

/// The page before, the page after, and the receipt beside them.
fn side_by_side(before: &[String], after: &[String], receipt: &[invalidator_core::workflow::ReceiptStep]) {
    let receipt: Vec<String> = std::iter::once("receipt:".to_string())
        .chain(receipt.iter().map(|s| {
            let name = serde_json::to_value(s.step).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
            format!("  {name:<14} +{:>6} ms  {}", s.since_previous_ms, s.detail.as_deref().unwrap_or(""))
        }))
        .collect();
    let gap = String::new();
    let pages: Vec<&String> = before.iter().chain(std::iter::once(&gap)).chain(after).collect();
    let width = pages.iter().map(|l| l.chars().count()).max().unwrap_or(0) + 4;
    for i in 0..pages.len().max(receipt.len()) {
        let left = pages.get(i).map_or("", |l| l.as_str());
        let right = receipt.get(i).map_or("", |l| l.as_str());
        println!("{left:<width$}{right}");
    }
}

/// A child process that is killed when dropped.
struct Owned(Child);
impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn function(name: &str, api: &RuntimeApi, env: &[(&'static str, String)]) -> Owned {
    let exe = invalidator_tests::binaries::binary("invalidator-lambda", name);
    Owned(
        invalidator_tests::loopback::loopback_only(Command::new(exe).env_clear())
            .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
            .envs(api.env())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the function starts"),
    )
}

/// Longer than the demo's execution ever takes: past it the interpreter is stopped.
const RUN_BOUND: Duration = Duration::from_secs(300);

/// Prints one state machine event, `at` seconds into the run.
fn show_event(e: &Value, at: f64) {
    match e["event"].as_str() {
        Some("StateEntered") => println!("[{at:5.1}s] -> {}", e["state"].as_str().unwrap_or("?")),
        Some("StateExited")
            if e["route"].is_string()
                && e["state"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("Linked") || s.starts_with("Check-Invalidation-Status")) =>
        {
            println!(
                "[{at:5.1}s]    {} done: phase {}, route {}, wait {} s",
                e["state"].as_str().unwrap_or("?"),
                e["phase"].as_str().unwrap_or("?"),
                e["route"].as_str().unwrap_or("?"),
                e["wait_seconds"]
            )
        }
        Some("ExecutionFailed") | Some("StateFailed") => println!("[{at:5.1}s] failed: {e}"),
        _ => {}
    }
}

/// The event source mapping's batching window in the demo.
const DEMO_WINDOW: Duration = Duration::from_secs(2);

async fn lambda_demo() -> Result<(), String> {
    use invalidator_tests::event_source::{EventSource, Mapping};
    use invalidator_tests::sandbox::sqs;
    let sb = sandbox().await;
    let mut env = settings(&sb);
    env.push(("POLL_FIRST_SECONDS", "3".into()));
    env.push(("STATE_MACHINE_ARN", invalidator_tests::sandbox::DEMO_STATE_MACHINE.into()));
    env.push(("STEPFUNCTIONS_ENDPOINT", sb.stepfunctions_url()));
    let expected = invalidator_tests::sandbox::sigv4_check::Expected {
        service: "sqs".into(),
        ..sb.cloudfront_state.expected.clone()
    };
    let queues = sqs::SqsState::new(expected, sqs::changes_queues(Duration::from_secs(30), 5));
    let sqs_endpoint = format!("http://{}", sqs::serve(queues.clone()).await.map_err(|e| e.to_string())?);
    let queue_url = sqs::queue_url(&sqs_endpoint, sqs::CHANGES_QUEUE);
    say(format!(
        "SQS stand-in on {sqs_endpoint}: queue {} (dead letters to {})",
        sqs::CHANGES_QUEUE,
        sqs::DEAD_LETTER_QUEUE
    ));
    let mut webhook_env = env.clone();
    webhook_env.push(("CHANGES_QUEUE_URL", queue_url.clone()));
    webhook_env.push(("SQS_ENDPOINT", sqs_endpoint.clone()));
    let webhook_api = RuntimeApi::start("webhook").await;
    let starter_api = RuntimeApi::start("starter").await;
    let workflow_api = RuntimeApi::start("workflow").await;
    say("Building and starting the webhook, starter and workflow functions under a local Lambda Runtime API...");
    let mut owned = Vec::new();
    for (name, api, env) in
        [("webhook", &webhook_api, &webhook_env), ("starter", &starter_api, &env), ("workflow", &workflow_api, &env)]
    {
        let (api, env) = (api.clone(), env.clone());
        owned.push(tokio::task::spawn_blocking(move || function(name, &api, &env)).await.map_err(|e| e.to_string())?);
    }
    let map = env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let events = EventSource::start(Mapping {
        sqs_endpoint,
        queue_url,
        queue_arn: format!("arn:aws:sqs:us-east-1:{}:{}", sqs::ACCOUNT, sqs::CHANGES_QUEUE),
        batch_size: 1000,
        window: DEMO_WINDOW,
        credentials: invalidator_core::settings::AwsCredentials::from_map(&map).map_err(|e| e.to_string())?,
        function: starter_api.clone(),
        timeout: Duration::from_secs(30),
    });
    story();
    let before = show_page(&sb, "before the publish").await;
    let (headers, body) = signed_publish(&sb, "/");
    let headers: serde_json::Map<String, Value> = headers.into_iter().map(|(k, v)| (k, json!(v))).collect();
    let event = json!({"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": headers,
        "requestContext": {"http": {"method": "POST"}, "timeEpoch": 1_800_000_000_000_i64}, "body": body, "isBase64Encoded": false});
    let answer = webhook_api
        .invoke(event.to_string().as_bytes(), Duration::from_secs(30))
        .await
        .map_err(|e| String::from_utf8_lossy(&e).into_owned())?;
    let answer: Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
    say(format!("webhook function -> {} {}", answer["statusCode"], answer["body"].as_str().unwrap_or_default()));
    for m in queues.messages(sqs::CHANGES_QUEUE) {
        say(format!("  queued: SendMessage -> message {} ({} bytes)", m.message_id, m.body.len()));
    }
    say(format!(
        "The event source mapping collects the queue for {} s (COLLECT_WINDOW_SECONDS), then invokes the starter...",
        DEMO_WINDOW.as_secs()
    ));
    let until = Instant::now() + Duration::from_secs(30);
    while events.invocations().is_empty() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let batch = events.invocations().into_iter().next().ok_or("the starter was never invoked")?;
    say(format!(
        "starter function: a batch of {} change(s), {} reported failed; the rest deleted from the queue",
        batch.message_ids.len(),
        batch.failed.len()
    ));
    let started = sb.executions();
    let start = started.first().ok_or("the starter function started no execution")?;
    say(format!(
        "StartExecution name {} (from the batch's message ids) -> running the state machine (aws-local-stepfunctions):",
        start.name
    ));
    let (url, input) = (workflow_api.invoke_url(), start.input.clone());
    let t0 = Instant::now();
    let run = tokio::task::spawn_blocking(move || {
        invalidator_tests::state_machine::run(&url, &input, RUN_BOUND, |e| show_event(e, t0.elapsed().as_secs_f64()))
    })
    .await
    .map_err(|e| e.to_string())??;
    if !run.succeeded {
        return Err("the execution failed".into());
    }
    let end = run.events.last().map(|e| e["workflow"].clone()).unwrap_or_default();
    let workflow: invalidator_core::workflow::Workflow = serde_json::from_value(end).map_err(|e| e.to_string())?;
    let tracked = workflow.history().iter().flat_map(|b| &b.changes).next().and_then(|id| workflow.track(id));
    let invalidations = sb.invalidations();
    say(format!(
        "EndInvalidation after {:.1} s. CloudFront stand-in holds {} invalidation(s):",
        t0.elapsed().as_secs_f64(),
        invalidations.len()
    ));
    for inv in invalidations {
        println!("  {} on {}: {}", inv.id, inv.distribution_id, inv.paths.join(" "));
    }
    let receipt = tracked.map(|t| t.receipt).unwrap_or_default();
    side_by_side(&before, &show_page(&sb, "after, as the receipt says").await, &receipt);
    Ok(())
}

#[tokio::main]
async fn main() {
    let lambda = std::env::args().any(|a| a == "--lambda");
    let demo = async {
        if lambda {
            lambda_demo().await
        } else {
            worker_demo().await
        }
    };
    // Everything started is owned by the demo future: dropping it stops it all.
    let outcome = tokio::select! {
        r = demo => r,
        _ = tokio::signal::ctrl_c() => Err("interrupted: stopped everything that was started".into()),
    };
    invalidator_tests::wrangler::kill_all();
    if let Err(e) = outcome {
        eprintln!("demo: {e}");
        std::process::exit(1);
    }
}
