//! The AWS body end to end, offline: the ASL checked by asl-validator and run
//! by a real interpreter (aws-local-stepfunctions), whose Task states invoke
//! the real workflow binary through the Lambda Runtime API; the webhook binary
//! under the same protocol, starting executions at the sandbox's Step
//! Functions stand-in (SigV4-checked, executions remembered by name).

use invalidator_lambda::task::Route;
use invalidator_lambda::task::TASKS;
use invalidator_tests::asl::{
    entered, function, function_url_event, require_node_tools, run_state_machine, Function, ASL, SECRET,
};
use invalidator_tests::sandbox::{Config, Fault, Fixture, Sandbox, DEMO_STATE_MACHINE};
use invalidator_tests::toolkit::repo_root;
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;

#[test]
fn the_asl_passes_asl_validator() {
    require_node_tools();
    let out = Command::new(repo_root().join("node_modules/.bin/asl-validator"))
        .args(["--json-path", ASL])
        .current_dir(repo_root())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("is valid"), "{text}");
}

#[test]
fn the_asl_names_and_choices_match_the_core() {
    let asl: Value = serde_json::from_str(&std::fs::read_to_string(repo_root().join(ASL)).unwrap()).unwrap();
    let states = asl["States"].as_object().unwrap();
    for name in [
        "Linked-Resource-Cache-Invalidation",
        "Wait-For-1-Min",
        "Check-Invalidation-Status",
        "Check-Status-Choice",
        "Check-Invalidation-Completion",
        "EndInvalidation",
    ] {
        assert!(states.contains_key(name), "the seed's state {name} is missing");
    }
    assert_eq!(asl["StartAt"], "Linked-Resource-Cache-Invalidation");
    assert!(asl.get("TimeoutSeconds").is_none(), "an execution timeout would end a change with no cause");
    assert_eq!(states["Wait-For-1-Min"]["SecondsPath"], "$.wait_seconds");
    for (task, state) in TASKS {
        assert_eq!(states[state]["Parameters"]["task"], task, "{state} runs task {task}");
    }
    // Every Choice compares $.route with a route the core produces, and every route is handled.
    let routes: Vec<&str> = [Route::Wait, Route::NextBatch, Route::Done, Route::Failed].map(Route::as_str).to_vec();
    let mut handled = Vec::new();
    for choice in ["Check-Status-Choice", "Check-Invalidation-Completion"] {
        for rule in states[choice]["Choices"].as_array().unwrap() {
            assert_eq!(rule["Variable"], "$.route");
            let value = rule["StringEquals"].as_str().unwrap();
            assert!(routes.contains(&value), "{choice} compares with {value}, which the core never produces");
            handled.push(value);
        }
    }
    for r in routes {
        assert!(handled.contains(&r), "route {r} is not handled by the Choice states");
    }
    assert_eq!(states["Check-Status-Choice"]["Choices"][0]["Next"], "Wait-For-1-Min");
    assert_eq!(states["Check-Invalidation-Completion"]["Choices"][0]["Next"], "Linked-Resource-Cache-Invalidation");
}

async fn sandbox(faults: Vec<Fault>) -> Sandbox {
    Sandbox::start(Config::local(
        Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap(),
        Duration::from_millis(2500),
        faults,
    ))
    .await
    .unwrap()
}

fn settings(sb: &Sandbox) -> Vec<(String, String)> {
    [
        ("CLOUDFRONT_DISTRIBUTION_ID", "EDEMO123".to_string()),
        ("CLOUDFRONT_ENDPOINT", sb.cloudfront_url()),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".into()),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
        ("AWS_SESSION_TOKEN", "session-token-of-the-role".into()),
        ("CONTENTFUL_SPACE_ID", "demo-space".into()),
        ("CONTENTFUL_DELIVERY_TOKEN", "demo-delivery-token".into()),
        ("CONTENTFUL_CDA_ENDPOINT", sb.contentful_url()),
        ("CONTENTFUL_WEBHOOK_SECRET", SECRET.into()),
        ("PATH_RULES", r#"{"page":["/{slug}"],"post":["/blog/{category}/{slug}"],"always":["/"]}"#.into()),
        ("COLLECT_WINDOW_SECONDS", "0".into()),
        ("FRESHNESS_MAX_WAIT_SECONDS", "2".into()),
        ("POLL_FIRST_SECONDS", "1".into()),
        ("STATE_MACHINE_ARN", DEMO_STATE_MACHINE.into()),
        ("STEPFUNCTIONS_ENDPOINT", sb.stepfunctions_url()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn publish(id: &str) -> String {
    json!({"sys": {"type": "Entry", "id": id, "revision": 3, "space": {"sys": {"id": "demo-space"}},
        "environment": {"sys": {"id": "master"}}, "contentType": {"sys": {"id": "button"}}}, "fields": {}})
    .to_string()
}

/// Delivers a signed Function URL event to the webhook function; its answer.
async fn deliver(webhook: &Function, event: &Value) -> Value {
    let answer = webhook.api.invoke(event.to_string().as_bytes(), Duration::from_secs(30)).await.unwrap();
    serde_json::from_slice(&answer).unwrap()
}

/// The webhook function turns a signed Function URL event into a StartExecution
/// at the stand-in; returns the execution input it carried.
async fn webhook_to_execution_input(sb: &Sandbox) -> Value {
    let webhook = function("webhook", &settings(sb)).await;
    let answer = deliver(&webhook, &function_url_event(&publish("cta-button"), false)).await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let started = sb.executions();
    assert_eq!(started.len(), 1, "{:#?}", sb.stepfunctions_requests());
    serde_json::from_str(&started[0].input).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_runs_through_the_seed_states_to_end_invalidation() {
    require_node_tools();
    let sb = sandbox(vec![]).await;
    let input = webhook_to_execution_input(&sb).await;
    let workflow = function("workflow", &settings(&sb)).await;
    let (ok, events) = run_state_machine(workflow.api.invoke_url(), input).await;
    assert!(ok, "{events:#?}");
    let path = entered(&events);
    assert_eq!(path.first().map(String::as_str), Some("Linked-Resource-Cache-Invalidation"));
    assert_eq!(path.last().map(String::as_str), Some("EndInvalidation"), "{path:?}");
    for state in ["Wait-For-1-Min", "Check-Invalidation-Status", "Check-Status-Choice", "Check-Invalidation-Completion"]
    {
        assert!(path.iter().any(|s| s == state), "{state} never entered: {path:?}");
    }
    let saw_in_progress = events.iter().any(|e| {
        e["event"] == "StateExited" && e["state"] == "Check-Invalidation-Status" && e["phase"] == "in_progress"
    });
    assert!(saw_in_progress, "InProgress was never seen: {events:#?}");
    let invalidations = sb.invalidations();
    assert_eq!(invalidations.len(), 1);
    assert_eq!(
        invalidations[0].paths,
        ["/", "/blog/news/snow%20%C3%A9%20report", "/home", "/startseite", "/winter-sale"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_ends_in_the_fail_state_with_the_reason_and_paths() {
    require_node_tools();
    let sb = sandbox(Fault::parse_list("create:AccessDenied").unwrap()).await;
    let input = webhook_to_execution_input(&sb).await;
    let workflow = function("workflow", &settings(&sb)).await;
    let (ok, events) = run_state_machine(workflow.api.invoke_url(), input).await;
    assert!(!ok, "{events:#?}");
    let path = entered(&events);
    assert_eq!(path.last().map(String::as_str), Some("InvalidationFailed"), "{path:?}");
    assert_eq!(events.last().unwrap()["event"], "ExecutionFailed");
    let failed = events.iter().find(|e| e["event"] == "StateFailed" && e["state"] == "InvalidationFailed").unwrap();
    assert_eq!(failed["error"], "InvalidationFailed");
    let cause = failed["cause"].as_str().unwrap_or_default();
    assert!(cause.contains("AccessDenied") && cause.contains("/winter-sale"), "{failed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_webhook_function_signs_start_execution_and_refuses_bad_signatures() {
    require_node_tools();
    let sb = sandbox(vec![]).await;
    let input = webhook_to_execution_input(&sb).await;
    assert_eq!(input["route"], "wait");
    // The stand-in checked the signature (service `states`) itself before starting it.
    let started = sb.stepfunctions_requests();
    assert_eq!(started.iter().map(|r| r.status).collect::<Vec<_>>(), [200], "{started:#?}");
    let execution = &sb.executions()[0];
    assert_eq!(execution.name.len(), 64, "named by the delivery's tracking id");
    assert_eq!(execution.state_machine_arn, DEMO_STATE_MACHINE);

    let webhook = function("webhook", &settings(&sb)).await;
    let answer = deliver(&webhook, &function_url_event(&publish("cta-button"), true)).await;
    assert_eq!(answer["statusCode"], 401);
    assert_eq!(sb.stepfunctions_requests().len(), 1, "no StartExecution for a bad signature");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_webhook_starts_one_execution_and_is_answered_as_taken() {
    require_node_tools();
    let sb = sandbox(vec![]).await;
    let webhook = function("webhook", &settings(&sb)).await;
    let event = function_url_event(&publish("cta-button"), false);
    let first = deliver(&webhook, &event).await;
    // Contentful redelivers the same signed request; the execution input made
    // from it differs (it is made at a later time), as on AWS.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = deliver(&webhook, &event).await;
    assert_eq!(first["statusCode"], 202, "{first}");
    assert_eq!(second["statusCode"], 200, "a redelivery is answered as taken: {second}");
    let said: Value = serde_json::from_str(second["body"].as_str().unwrap_or("null")).unwrap();
    let first_said: Value = serde_json::from_str(first["body"].as_str().unwrap_or("null")).unwrap();
    assert_eq!((&said["status"], &said["tracking_id"]), (&json!("taken"), &first_said["tracking_id"]));
    assert_eq!(sb.executions().len(), 1, "one execution for both deliveries");
    let answers: Vec<(u16, String)> =
        sb.stepfunctions_requests().iter().map(|r| (r.status, r.detail.clone())).collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!(answers[1], (400, "ExecutionAlreadyExists".to_string()), "{answers:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_start_execution_signed_with_another_key_is_refused() {
    require_node_tools();
    let sb = sandbox(vec![]).await;
    let mut wrong = settings(&sb);
    for (k, v) in wrong.iter_mut() {
        if k == "AWS_SECRET_ACCESS_KEY" {
            *v = "not-the-secret-key-of-the-role".into();
        }
    }
    let webhook = function("webhook", &wrong).await;
    let answer = deliver(&webhook, &function_url_event(&publish("cta-button"), false)).await;
    assert_eq!(answer["statusCode"], 503, "not stored, so Contentful retries: {answer}");
    assert!(sb.executions().is_empty());
    let refused = sb.stepfunctions_requests();
    assert_eq!((refused[0].status, refused[0].detail.as_str()), (403, "SignatureDoesNotMatch"), "{refused:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_refused_for_good_sends_exactly_one_signed_notification_with_the_reason_and_paths() {
    use invalidator_tests::notify_receiver::Receiver;
    const NOTIFY_SECRET: &str = "notify-secret-for-the-test";
    require_node_tools();
    let receiver = Receiver::start().await;
    let sb = sandbox(Fault::parse_list("create:AccessDenied").unwrap()).await;
    let input = webhook_to_execution_input(&sb).await;
    let mut settings = settings(&sb);
    for (k, v) in
        [("NOTIFY_URL", receiver.url()), ("NOTIFY_FORMAT", "json".into()), ("NOTIFY_SECRET", NOTIFY_SECRET.into())]
    {
        settings.push((k.into(), v));
    }
    let workflow = function("workflow", &settings).await;
    let (ok, events) = run_state_machine(workflow.api.invoke_url(), input).await;
    assert!(!ok, "{events:#?}");
    assert_eq!(entered(&events).last().map(String::as_str), Some("InvalidationFailed"));
    let received = receiver.received().await;
    assert_eq!(received.len(), 1, "exactly one notification: {received:#?}");
    let n = &received[0];
    assert!(n.signed_with(NOTIFY_SECRET), "signature {:?} does not verify", n.signature);
    assert!(!n.signed_with("another-secret"));
    let event = &n.body["event"];
    assert_eq!(event["kind"], "batch_failed", "{event}");
    assert_eq!(event["distribution_id"], "EDEMO123");
    assert!(event["reason"].as_str().unwrap().contains("AccessDenied"), "{event}");
    let paths: Vec<&str> = event["paths"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(paths.contains(&"/winter-sale") && paths.contains(&"/home"), "{paths:?}");
    assert_eq!(event["path_count"].as_u64(), Some(paths.len() as u64));
    let raw = String::from_utf8_lossy(&n.raw);
    assert!(!raw.contains(NOTIFY_SECRET) && !raw.contains(&receiver.url()), "no secret in the body: {raw}");
}
