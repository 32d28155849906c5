//! The AWS body end to end, offline: the ASL checked by asl-validator and run
//! by a real interpreter (aws-local-stepfunctions), whose Task states invoke
//! the real workflow binary through the Lambda Runtime API; the webhook binary
//! under the same protocol, starting executions at a stand-in Step Functions.

use invalidator_lambda::task::Route;
use invalidator_lambda::task::TASKS;
use invalidator_tests::asl::{entered, function, function_url_event, run_state_machine, ASL, SECRET};
use invalidator_tests::sandbox::sigv4_check::{self, Expected, Incoming};
use invalidator_tests::sandbox::{Config, Fault, Fixture, Sandbox};
use invalidator_tests::toolkit::repo_root;
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn node_tools_present() -> bool {
    let ok = repo_root().join("node_modules/aws-local-stepfunctions").exists();
    if !ok {
        let reason = "node_modules missing: run `make node-deps`";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{reason}");
        eprintln!("skipped: {reason}");
    }
    ok
}

#[test]
fn the_asl_passes_asl_validator() {
    if !node_tools_present() {
        return;
    }
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

fn settings(sb: &Sandbox, stepfunctions: &str) -> Vec<(String, String)> {
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
        ("STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:invalidator".into()),
        ("STEPFUNCTIONS_ENDPOINT", stepfunctions.into()),
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

/// The webhook function turns a signed Function URL event into a StartExecution
/// at the stand-in; returns the execution input it carried.
async fn webhook_to_execution_input(sb: &Sandbox) -> (Value, MockServer) {
    let states = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .and(header("x-amz-target", "AWSStepFunctions.StartExecution"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"executionArn": "arn:aws:states:us-east-1:123456789012:execution:invalidator:x", "startDate": 1.0}),
        ))
        .mount(&states)
        .await;
    let webhook = function("webhook", &settings(sb, &states.uri())).await;
    let event = function_url_event(&publish("cta-button"), false);
    let answer = webhook.api.invoke(event.to_string().as_bytes(), Duration::from_secs(30)).await.unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let started = states.received_requests().await.unwrap();
    assert_eq!(started.len(), 1);
    let body: Value = serde_json::from_slice(&started[0].body).unwrap();
    (serde_json::from_str(body["input"].as_str().unwrap()).unwrap(), states)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_runs_through_the_seed_states_to_end_invalidation() {
    if !node_tools_present() {
        return;
    }
    let sb = sandbox(vec![]).await;
    let (input, _states) = webhook_to_execution_input(&sb).await;
    let workflow = function("workflow", &settings(&sb, "http://127.0.0.1:9")).await;
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
    if !node_tools_present() {
        return;
    }
    let sb = sandbox(Fault::parse_list("create:AccessDenied").unwrap()).await;
    let (input, _states) = webhook_to_execution_input(&sb).await;
    let workflow = function("workflow", &settings(&sb, "http://127.0.0.1:9")).await;
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
    if !node_tools_present() {
        return;
    }
    let sb = sandbox(vec![]).await;
    let (input, states) = webhook_to_execution_input(&sb).await;
    assert_eq!(input["route"], "wait");
    let started = &states.received_requests().await.unwrap()[0];
    // The StartExecution is correctly signed for service `states`, with the role's session token.
    let headers: Vec<(String, String)> =
        started.headers.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap().to_string())).collect();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let incoming =
        Incoming { method: "POST", path: "/", query: "", headers: &headers, body: &started.body, now_secs: now };
    let expected = Expected {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        region: "us-east-1".into(),
        service: "states".into(),
    };
    assert_eq!(sigv4_check::verify(&incoming, &expected), Ok(()));
    let body: Value = serde_json::from_slice(&started.body).unwrap();
    assert_eq!(body["name"].as_str().unwrap().len(), 64, "named by the delivery's tracking id");

    let webhook = function("webhook", &settings(&sb, &states.uri())).await;
    let tampered = function_url_event(&publish("cta-button"), true);
    let answer = webhook.api.invoke(tampered.to_string().as_bytes(), Duration::from_secs(30)).await.unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["statusCode"], 401);
    assert_eq!(states.received_requests().await.unwrap().len(), 1, "no StartExecution for a bad signature");
}
