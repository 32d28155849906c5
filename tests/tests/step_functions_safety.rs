//! The AWS body never loses a change: under the real ASL interpreter
//! (aws-local-stepfunctions) with the real workflow function, the state passed
//! between states stays under Step Functions' 256 KiB for a 5,000-entry walk;
//! a Lambda timeout or a crashed runtime is retried without a second
//! invalidation; a Task that fails outright ends in `InvalidationFailed` with
//! the reason and what was not invalidated; and two publishes of one entry are
//! two invalidations.

use invalidator_tests::asl::{
    entered, function, require_node_tools, run_state_machine, state_sizes, webhook_execution_input, ASL, SECRET,
    STATE_LIMIT_BYTES,
};
use invalidator_tests::big_graph;
use invalidator_tests::sandbox::{Config, Fault, Fixture, Sandbox};
use invalidator_tests::toolkit::repo_root;
use serde_json::{json, Value};
use std::time::Duration;

async fn sandbox(fixture: Fixture) -> Sandbox {
    Sandbox::start(Config::local(fixture, Duration::from_millis(1500), vec![])).await.unwrap()
}

fn small_graph() -> Fixture {
    Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap()
}

/// The workflow and webhook functions' settings: the stand-ins, fast polls.
fn settings(sb: &Sandbox, rules: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> =
        sb.settings("EDEMO123", SECRET).into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    for (k, v) in [
        ("PATH_RULES", rules),
        ("COLLECT_WINDOW_SECONDS", "0"),
        ("FRESHNESS_MAX_WAIT_SECONDS", "2"),
        ("POLL_FIRST_SECONDS", "1"),
    ]
    .iter()
    .chain(extra)
    {
        all.push((k.to_string(), v.to_string()));
    }
    all
}

const SMALL_RULES: &str = r#"{"page":["/{slug}"],"post":["/blog/{category}/{slug}"],"always":["/"]}"#;

fn publish(id: &str, content_type: &str, revision: u64) -> String {
    json!({"sys": {"type": "Entry", "id": id, "revision": revision, "space": {"sys": {"id": "demo-space"}},
        "environment": {"sys": {"id": "master"}}, "contentType": {"sys": {"id": content_type}}}, "fields": {}})
    .to_string()
}

/// `path` as CloudFront wants it: every byte outside printable ASCII percent-encoded.
fn encoded(path: &str) -> String {
    path.bytes().map(|b| if b.is_ascii_graphic() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// `by` invalidates `path`: the same path, or a wildcard over its prefix.
fn covers(by: &str, path: &str) -> bool {
    by == path || by.strip_suffix('*').is_some_and(|prefix| path.starts_with(prefix))
}

fn failed_cause(events: &[Value]) -> String {
    let failed = events.iter().find(|e| e["event"] == "StateFailed" && e["state"] == "InvalidationFailed");
    let failed = failed.unwrap_or_else(|| panic!("InvalidationFailed never failed the execution: {events:#?}"));
    assert_eq!(failed["error"], "InvalidationFailed");
    failed["cause"].as_str().unwrap_or_default().to_string()
}

/// What Lambda reports for failures worth retrying.
const TRANSIENT: [&str; 7] = [
    "Sandbox.Timedout",
    "Lambda.Unknown",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "States.Timeout",
];

/// The workflow function's `Timeout` in the SAM template.
fn workflow_function_timeout() -> u64 {
    let template = std::fs::read_to_string(repo_root().join("native-lambda/template.yaml")).unwrap();
    let section = template.split("  WorkflowFunction:").nth(1).expect("WorkflowFunction in template.yaml");
    let line = section.lines().find(|l| l.trim_start().starts_with("Timeout:")).expect("its Timeout");
    line.trim_start().trim_start_matches("Timeout:").trim().parse().unwrap()
}

#[test]
fn every_task_retries_lambda_failures_and_nothing_ends_an_execution_uncaught() {
    let asl: Value = serde_json::from_str(&std::fs::read_to_string(repo_root().join(ASL)).unwrap()).unwrap();
    assert!(asl.get("TimeoutSeconds").is_none(), "an execution timeout cannot be caught: the core ends batches");
    let function_timeout = workflow_function_timeout();
    let tasks: Vec<(&String, &Value)> =
        asl["States"].as_object().unwrap().iter().filter(|(_, s)| s["Type"] == "Task").collect();
    assert_eq!(tasks.len(), 3, "{tasks:?}");
    for (name, task) in tasks {
        let retriers = task["Retry"].as_array().unwrap_or_else(|| panic!("{name} has no Retry"));
        for error in TRANSIENT {
            let retrier = retriers.iter().find(|r| r["ErrorEquals"].as_array().unwrap().iter().any(|e| e == error));
            let retrier = retrier.unwrap_or_else(|| panic!("{name} does not retry {error}"));
            assert!(retrier["MaxAttempts"].as_u64().unwrap() >= 3, "{name}: {retrier}");
            assert!(retrier["BackoffRate"].as_f64().unwrap() >= 1.5, "{name} backs off: {retrier}");
        }
        let timeout = task["TimeoutSeconds"].as_u64().unwrap_or_else(|| panic!("{name} has no TimeoutSeconds"));
        assert!(timeout > function_timeout, "{name}: {timeout} s ends before the function's {function_timeout} s");
        let catch = &task["Catch"][0];
        assert_eq!(catch["ErrorEquals"], json!(["States.ALL"]), "{name}");
        let next = if name == "Describe-Task-Error" { "Describe-Task-Error-Plainly" } else { "Describe-Task-Error" };
        assert_eq!(catch["Next"], next, "{name}");
    }
}

const PAGES: usize = 5000;

/// Publishes [`big_graph::ROOT`] of a 5,000-page graph through the ASL, with
/// `wait_budget` as `TASK_WAIT_BUDGET_SECONDS`. Near the walk's end (every
/// page visited, the last hundred pages' links still being read), the Delivery
/// API rate-limits one request for five seconds, longer than the rest of the
/// walk takes even on a loaded machine (were it shorter, the retry would be due
/// before the walk has to wait, and the task would never stop mid-walk): the walk must wait mid-way while it holds 5,000 visited entries and
/// their paths. Asserts that every state passed between
/// states is under 256 KiB, that the run reaches `EndInvalidation`, and that
/// every page's path is invalidated; returns the links requests the walk made.
async fn walk_5000_pages_through_the_asl(wait_budget: &str) -> usize {
    require_node_tools();
    let sb = sandbox(big_graph::graph(PAGES)).await;
    // Budgets as large as a user may set them: nothing but the design keeps the state small.
    let extra = [
        ("WALK_MAX_ENTRIES", "6000"),
        ("PATH_BUDGET", "6000"),
        ("BATCH_MAX_PATHS", "3000"),
        ("TASK_WAIT_BUDGET_SECONDS", wait_budget),
    ];
    let settings = settings(&sb, r#"{"page":["/{slug}"],"always":["/"]}"#, &extra);
    let input = webhook_execution_input(&settings, &publish(big_graph::ROOT, "button", 1)).await;
    let workflow = function("workflow", &settings).await;
    let links_requests =
        |log: &[invalidator_tests::sandbox::Logged]| log.iter().filter(|l| l.target.contains("links_to_entry")).count();
    let contentful = sb.contentful_state.clone();
    let injector = tokio::spawn(async move {
        loop {
            let answered = links_requests(&contentful.log.all());
            if answered >= PAGES - 100 {
                contentful.faults.lock().unwrap().push_back(Fault { on: "links".into(), answer: "429:5".into() });
                return answered;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let (ok, events) = run_state_machine(workflow.api.invoke_url(), input).await;
    let injected_after = injector.await.unwrap();
    let log = sb.contentful_state.log.all();
    let rate_limited = log.iter().filter(|l| l.status == 429).count();
    assert_eq!(rate_limited, 1, "the walk met the 429 (injected after {injected_after} link requests)");

    let sizes = state_sizes(&events);
    assert!(sizes.len() >= 10, "the runner reported state sizes: {sizes:?}");
    let largest = sizes.iter().max_by_key(|(_, _, n)| *n).unwrap();
    eprintln!("largest state passed between states: {largest:?}");
    let too_large: Vec<_> = sizes.iter().filter(|(_, _, n)| *n >= STATE_LIMIT_BYTES).collect();
    assert!(too_large.is_empty(), "states over 256 KiB: {too_large:?}");

    let path = entered(&events);
    if !ok {
        let cause: String = failed_cause(&events).chars().take(600).collect();
        panic!("the execution failed: {cause}");
    }
    assert_eq!(path.last().map(String::as_str), Some("EndInvalidation"), "{path:?}");
    let invalidated: Vec<String> = sb.invalidations().into_iter().flat_map(|i| i.paths).collect();
    for i in 0..PAGES {
        let page = encoded(&format!("/{}", big_graph::slug(i)));
        assert!(invalidated.iter().any(|by| covers(by, &page)), "{page} is not invalidated by {invalidated:?}");
    }
    links_requests(&log)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_5000_entry_walk_keeps_every_state_under_256_kib_and_invalidates_every_page() {
    // A budget as long as the invocation allows: a slow machine's walk must not use it up.
    let links = walk_5000_pages_through_the_asl("600").await;
    // One request for the root and each page, one more for the rate-limited one:
    // the task waited for it in-process and the walk went on.
    assert_eq!(links, PAGES + 2, "the walk was not finished in one go");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_walk_that_must_wait_past_the_task_budget_walks_again_in_the_next_task() {
    let links = walk_5000_pages_through_the_asl("0").await;
    // The first walk was dropped at the 429 instead of travelling in the state.
    assert!(links > PAGES + 2, "the walk was not started again: {links} links requests");
}

/// Publishes `cta-button` of the small graph through the ASL, with the
/// Runtime API answering the given invocations (1-based) with an error
/// instead of the function's answer: (sandbox, whether the run succeeded, its events).
async fn publish_losing_answers(lost: &[(u64, &str, &str)]) -> (Sandbox, bool, Vec<Value>) {
    require_node_tools();
    let sb = sandbox(small_graph()).await;
    let settings = settings(&sb, SMALL_RULES, &[]);
    let input = webhook_execution_input(&settings, &publish("cta-button", "button", 3)).await;
    let workflow = function("workflow", &settings).await;
    for (invocation, error_type, message) in lost {
        workflow.api.lose_answer(*invocation, error_type, message);
    }
    let (ok, events) = run_state_machine(workflow.api.invoke_url(), input).await;
    (sb, ok, events)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lambda_timeout_and_a_crashed_runtime_are_retried_and_invalidate_once() {
    // Invocation 1 (Linked-Resource-Cache-Invalidation) submits the invalidation,
    // then runs past its timeout; invocation 3 (the first Check-Invalidation-Status)
    // checks, then its runtime dies before answering.
    let (sb, ok, events) = publish_losing_answers(&[
        (1, "Sandbox.Timedout", "Task timed out after 120.00 seconds"),
        (3, "Lambda.Unknown", "The function's runtime exited before answering"),
    ])
    .await;
    assert!(ok, "{events:#?}");
    assert_eq!(entered(&events).last().map(String::as_str), Some("EndInvalidation"));
    for state in ["Linked-Resource-Cache-Invalidation", "Check-Invalidation-Status"] {
        let retried = events.iter().any(|e| e["event"] == "StateRetried" && e["state"] == state);
        assert!(retried, "{state} was not retried: {events:#?}");
    }
    let invalidations = sb.invalidations();
    assert_eq!(invalidations.len(), 1, "the retried submission made a second invalidation: {invalidations:?}");
    assert_eq!(
        invalidations[0].paths,
        ["/", "/blog/news/snow%20%C3%A9%20report", "/home", "/startseite", "/winter-sale"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_that_fails_outright_ends_in_invalidation_failed_with_the_reason_and_the_paths() {
    // The first Check-Invalidation-Status: the runtime exits (not retried: a crash
    // on a given state repeats).
    let (_sb, ok, events) =
        publish_losing_answers(&[(3, "Runtime.ExitError", "Runtime exited with error: signal: killed")]).await;
    assert!(!ok, "{events:#?}");
    let path = entered(&events);
    let tail: Vec<&str> = path.iter().rev().take(2).rev().map(String::as_str).collect();
    assert_eq!(tail, ["Describe-Task-Error", "InvalidationFailed"], "{path:?}");
    assert_eq!(events.last().unwrap()["event"], "ExecutionFailed");
    let cause = failed_cause(&events);
    assert!(cause.contains("Runtime.ExitError") && cause.contains("signal: killed"), "{cause}");
    for p in ["/winter-sale", "/home", "/blog/news/snow%20%C3%A9%20report"] {
        assert!(cause.contains(p), "{p} missing from the cause: {cause}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_whose_first_task_fails_is_named_in_the_cause() {
    let (_sb, ok, events) =
        publish_losing_answers(&[(1, "Runtime.ExitError", "Runtime exited with error: signal: killed")]).await;
    assert!(!ok, "{events:#?}");
    let cause = failed_cause(&events);
    // Nothing was planned yet: the cause names the change itself, so it can be published again.
    assert!(cause.contains("Runtime.ExitError") && cause.contains("cta-button"), "{cause}");
}

#[tokio::test(flavor = "multi_thread")]
async fn when_describing_a_failure_fails_too_both_errors_end_the_execution() {
    let (_sb, ok, events) = publish_losing_answers(&[
        (1, "Runtime.ExitError", "Runtime exited with error: signal: killed"),
        (2, "Runtime.ExitError", "Runtime exited with error: exit status 101"),
    ])
    .await;
    assert!(!ok, "{events:#?}");
    let path = entered(&events);
    let tail: Vec<&str> = path.iter().rev().take(3).rev().map(String::as_str).collect();
    assert_eq!(tail, ["Describe-Task-Error", "Describe-Task-Error-Plainly", "InvalidationFailed"], "{path:?}");
    let cause = failed_cause(&events);
    assert!(cause.contains("signal: killed") && cause.contains("exit status 101"), "{cause}");
}

/// The Delivery API serves `revision` of entry `id` from now on.
fn publish_in_the_graph(sb: &Sandbox, id: &str, revision: u64) {
    let mut graph = sb.contentful_state.graph.lock().unwrap();
    graph.entries.iter_mut().find(|e| e.id == id).unwrap().revision = revision;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_publishes_of_one_entry_are_two_invalidations() {
    require_node_tools();
    let sb = sandbox(small_graph()).await;
    let settings = settings(&sb, SMALL_RULES, &[]);
    let workflow = function("workflow", &settings).await;
    for revision in [3, 4] {
        publish_in_the_graph(&sb, "cta-button", revision);
        let input = webhook_execution_input(&settings, &publish("cta-button", "button", revision)).await;
        let (ok, events) = run_state_machine(workflow.api.invoke_url(), input).await;
        assert!(ok, "publish of revision {revision}: {events:#?}");
        assert_eq!(entered(&events).last().map(String::as_str), Some("EndInvalidation"));
    }
    let invalidations = sb.invalidations();
    assert_eq!(
        invalidations.len(),
        2,
        "the second publish got the first invalidation back instead of a new one: {invalidations:?}"
    );
    assert_eq!(invalidations[0].paths, invalidations[1].paths);
}

/// Longer than a walk whose default retries all fail takes (their backoffs
/// add up to at most about 127 s), far shorter than a walk that never ends.
const FAILING_WALK_BOUND: Duration = Duration::from_secs(400);
/// Faults queued for the links queries: more than any walk asks.
const LINKS_FAULTS: usize = 200;

/// The Delivery API answers every links query with a 503.
fn every_links_query_fails(sb: &Sandbox) {
    let fault = Fault { on: "links".into(), answer: "503".into() };
    sb.contentful_state.faults.lock().unwrap().extend(std::iter::repeat_n(fault, LINKS_FAULTS));
}

fn failed_links_queries(sb: &Sandbox) -> usize {
    sb.contentful_state.log.all().iter().filter(|l| l.target.contains("links_to_entry") && l.status == 503).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_walk_whose_every_links_query_fails_ends_within_a_bounded_number_of_tasks_invalidating_everything() {
    require_node_tools();
    let sb = sandbox(small_graph()).await;
    every_links_query_fails(&sb);
    // Default retry settings; a task budget short enough that the walk is put
    // back (restart_walk) between its retries, again and again.
    let settings = settings(&sb, SMALL_RULES, &[("TASK_WAIT_BUDGET_SECONDS", "5")]);
    let input = webhook_execution_input(&settings, &publish("cta-button", "button", 3)).await;
    let workflow = function("workflow", &settings).await;
    let url = workflow.api.invoke_url();
    let started = std::time::Instant::now();
    let run = tokio::task::spawn_blocking(move || {
        invalidator_tests::state_machine::run(&url, &input.to_string(), FAILING_WALK_BOUND, |e| {
            if e["event"] == "StateExited" {
                eprintln!(
                    "{:>6.1} s {} {} {}",
                    started.elapsed().as_secs_f64(),
                    e["state"],
                    e["route"],
                    e["wait_seconds"]
                );
            }
        })
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("the walk never ended: {}", &e[..e.len().min(3000)]));
    let path = entered(&run.events);
    assert!(run.succeeded, "{path:?}");
    assert_eq!(path.last().map(String::as_str), Some("EndInvalidation"), "{path:?}");
    let tasks = path.iter().filter(|s| *s == "Linked-Resource-Cache-Invalidation" || *s == "Check-Invalidation-Status");
    let tasks = tasks.count();
    let restarts = path.iter().filter(|s| *s == "Wait-For-1-Min").count();
    assert!(tasks <= 20, "{tasks} tasks: {path:?}");
    assert!(restarts >= 2, "the walk was put back between its retries: {path:?}");
    // RETRY_MAX_ATTEMPTS (8) failed reads, as on the Worker, then `/*`.
    assert_eq!(failed_links_queries(&sb), 8);
    let invalidations = sb.invalidations();
    assert_eq!(invalidations.len(), 1, "{invalidations:?}");
    assert!(invalidations[0].paths.contains(&"/*".to_string()), "{:?}", invalidations[0].paths);
}
