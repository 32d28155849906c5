//! `invalidator watch` as a user runs it: piped, one plain line a step and
//! the outcome; on a terminal (a pseudo-terminal made by `script`, from
//! util-linux, which every Debian has) the progress line redrawn in place.
//! Against a local server answering `GET /entries/{id}` in the Worker's
//! shape, and against the Worker itself under `wrangler dev`: a publish that
//! reaches Completed exits 0, one CloudFront refuses for good exits 1 with
//! CloudFront's reason.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use invalidator_tests::binaries::binary;
use invalidator_tests::sandbox::{Config, Fault, Fixture, Sandbox};
use invalidator_tests::toolkit;
use invalidator_tests::wrangler::{require_tools, WranglerDev};
use serde_json::{json, Value};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
const STATUS_TOKEN: &str = "status-token-for-watch";
const DIST: &str = "EDEMO123";
/// 2026-12-04 18:45:03 UTC.
const T0: u64 = 1_796_409_903_000;

/// One change of entry `hero` as the Worker's `GET /entries/hero` reports it.
fn change(state: &str, steps: &[(&str, u64)], reason: Option<&str>) -> Value {
    let mut previous = None;
    let receipt: Vec<Value> = steps
        .iter()
        .map(|(step, at)| {
            let since = previous.map_or(0, |p| at - p);
            previous = Some(*at);
            json!({"step": step, "at": at, "since_previous_ms": since})
        })
        .collect();
    let mut c = json!({
        "tracking_id": "wh-1", "state": state, "batch": 1, "invalidation_id": "I1",
        "label": {"tracking_id": "wh-1", "kind": "entry", "entry_id": "hero", "content_type": "page",
                  "action": "publish", "received_at": T0},
        "receipt": receipt, "timeline": [], "distribution_id": DIST, "paths": ["/hero"], "path_count": 1, "tag_count": 0,
    });
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    json!({"entry_id": "hero", "distributions": {DIST: {"changes": [c]}}})
}

/// Serves `answers` to `GET /entries/hero` in turn, the last one from then on;
/// refuses a request without the bearer token as the Worker does. Its base URL.
async fn worker_stand_in(answers: Vec<Value>) -> String {
    let answers = Arc::new(Mutex::new(answers));
    async fn entries(
        State(a): State<Arc<Mutex<Vec<Value>>>>,
        headers: axum::http::HeaderMap,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {STATUS_TOKEN}")) {
            return (axum::http::StatusCode::UNAUTHORIZED, Json(json!({"error": "unauthorized"}))).into_response();
        }
        let mut a = a.lock().unwrap();
        let next = if a.len() > 1 { a.remove(0) } else { a[0].clone() };
        Json(next).into_response()
    }
    let app = Router::new().route("/entries/hero", get(entries)).with_state(answers);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn watch(worker: &str, token: &str, id: &str) -> Command {
    watch_for(worker, token, id, "60")
}

/// `watch id`, giving up after `timeout` seconds.
fn watch_for(worker: &str, token: &str, id: &str, timeout: &str) -> Command {
    let mut cmd = Command::new(binary("invalidator-lambda", "invalidator"));
    cmd.env_clear().env("WORKER_URL", worker).env("STATUS_TOKEN", token).args([
        "watch",
        id,
        "--interval",
        "0.1",
        "--timeout",
        timeout,
    ]);
    cmd
}

/// `cmd` under a pseudo-terminal: `script` runs it with its stdout a tty.
fn on_terminal(cmd: &Command) -> Command {
    let mut line = vec![cmd.get_program().to_string_lossy().into_owned()];
    line.extend(cmd.get_args().map(|a| format!("'{}'", a.to_string_lossy())));
    let mut script = Command::new("script");
    script.env_clear().args(["-q", "-e", "-c", &line.join(" "), "/dev/null"]);
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            script.env(k, v);
        }
    }
    script
}

async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn in_flight_then_completed() -> Vec<Value> {
    vec![
        change("in_progress", &[("received", T0), ("fresh", T0 + 1_200), ("submitted", T0 + 1_500)], None),
        change("in_progress", &[("received", T0), ("fresh", T0 + 1_200), ("submitted", T0 + 1_500)], None),
        change(
            "completed",
            &[("received", T0), ("fresh", T0 + 1_200), ("submitted", T0 + 1_500), ("completed", T0 + 65_500)],
            None,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn piped_it_prints_one_plain_line_a_step_and_exits_0_once_live() {
    let worker = worker_stand_in(in_flight_then_completed()).await;
    let out = run(watch(&worker, STATUS_TOKEN, "hero")).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("hero: following change wh-1 (entry hero, page, publish) on {DIST}"), "{stdout}");
    assert_eq!(
        lines[1..5],
        [
            "  received       18:45:03 UTC",
            "  fresh          18:45:04 UTC  +1.2 s",
            "  submitted      18:45:04 UTC  +300 ms",
            "  completed      18:46:08 UTC  +1 min 04 s",
        ],
        "{stdout}"
    );
    assert!(lines[5].starts_with("hero: live after "), "{stdout}");
    assert_eq!(lines.len(), 6, "each step once, no progress line in a pipe:\n{stdout}");
    assert!(!stdout.contains('\r') && !stdout.contains(STATUS_TOKEN), "{stdout:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_a_progress_line_is_redrawn_under_the_steps() {
    let worker = worker_stand_in(in_flight_then_completed()).await;
    let out = run(on_terminal(&watch(&worker, STATUS_TOKEN, "hero"))).await;
    let screen = text(&out.stdout);
    assert!(out.status.success(), "{screen:?}");
    // The line is erased and redrawn in place, saying where the change stands.
    assert!(screen.contains("\r\x1b[2K"), "{screen:?}");
    assert!(screen.contains("hero: in_progress, "), "{screen:?}");
    let received = screen.find("received       18:45:03 UTC").expect("the first step");
    let completed = screen.find("completed      18:46:08 UTC").expect("the last step");
    assert!(received < completed, "{screen:?}");
    assert!(screen.contains("hero: live after "), "{screen:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_failed_or_not_verified_exits_1_with_the_reason() {
    let failed = change("failed", &[("received", T0)], Some("AccessDenied: injected fault"));
    let worker = worker_stand_in(vec![failed]).await;
    let out = run(watch(&worker, STATUS_TOKEN, "hero")).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert_eq!(text(&out.stderr).trim(), "invalidator: hero: AccessDenied: injected fault");

    let steps = [("received", T0), ("completed", T0 + 60_000), ("not_verified", T0 + 70_000)];
    let mut stale = change("completed", &steps, None);
    stale["distributions"][DIST]["changes"][0]["receipt"][2]["detail"] = json!("/hero still stale after 2 retries");
    let worker = worker_stand_in(vec![stale]).await;
    let out = run(watch(&worker, STATUS_TOKEN, "hero")).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not verified: /hero still stale after 2 retries"), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_or_setting_exits_2_and_a_change_never_done_times_out_with_where_it_stands() {
    let worker = worker_stand_in(in_flight_then_completed()).await;
    let out = run(watch(&worker, "wrong-token", "hero")).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("STATUS_TOKEN") && !stderr.contains("wrong-token"), "{stderr}");

    let mut no_url = watch(&worker, STATUS_TOKEN, "hero");
    no_url.env_remove("WORKER_URL");
    assert_eq!(run(no_url).await.status.code(), Some(2));
    assert_eq!(run(watch(&worker, STATUS_TOKEN, "a b")).await.status.code(), Some(2));

    let stuck = change("in_progress", &[("received", T0), ("submitted", T0 + 1_500)], None);
    let worker = worker_stand_in(vec![stuck]).await;
    let out = run(watch_for(&worker, STATUS_TOKEN, "hero", "0.5")).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr).trim(), "invalidator: hero: still in_progress after 0.5 s (--timeout)");
}

async fn publish(w: &WranglerDev, id: &str, content_type: &str, revision: u64, fields: Value) {
    let body = toolkit::publish_body(id, content_type, revision, fields);
    let answer = w.send_signed(toolkit::publish(SECRET, "/webhooks/contentful", body)).await;
    assert_eq!(answer.status(), 202, "{}", answer.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn edge_watch_follows_a_publish_to_completed_and_a_refused_one_to_its_reason() {
    require_tools();
    let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    let faults = Fault::parse_list("create:AccessDenied").unwrap();
    let sb = Sandbox::start(Config::local(fixture, Duration::from_secs(1), faults)).await.unwrap();
    let vars: Vec<(&'static str, String)> = sb
        .settings(DIST, SECRET)
        .into_iter()
        .chain([
            ("STATUS_TOKEN", STATUS_TOKEN.into()),
            ("PATH_RULES", r#"{"page":["/{slug}"],"always":["/"]}"#.into()),
            ("COLLECT_WINDOW_SECONDS", "0.5".into()),
            ("FRESHNESS_MAX_WAIT_SECONDS", "2".into()),
            ("POLL_FIRST_SECONDS", "0.5".into()),
            ("POLL_MAX_SECONDS", "1".into()),
        ])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let w = tokio::task::spawn_blocking(move || WranglerDev::start(&path, &vars)).await.unwrap();

    // CloudFront refuses the first invalidation for good.
    publish(&w, "winter-sale", "page", 2, json!({"slug": {"en-US": "winter-sale"}})).await;
    let out = run(watch(&w.url(""), STATUS_TOKEN, "winter-sale")).await;
    assert_eq!(out.status.code(), Some(1), "{}\nwrangler log:\n{}", text(&out.stdout), w.log_text());
    assert!(text(&out.stderr).contains("AccessDenied"), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("received"), "{}", text(&out.stdout));

    publish(&w, "cta-button", "button", 3, json!({"label": {"en-US": "Shop now"}})).await;
    let out = run(watch(&w.url(""), STATUS_TOKEN, "cta-button")).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}\nwrangler log:\n{}", text(&out.stderr), w.log_text());
    let at = ["received", "submitted", "completed", "cta-button: live after"]
        .map(|s| stdout.find(s).unwrap_or_else(|| panic!("{s:?} missing from:\n{stdout}")));
    assert!(at.windows(2).all(|p| p[0] < p[1]), "steps in order:\n{stdout}");
}
