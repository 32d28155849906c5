//! The Step Functions stand-in answers `StartExecution` as AWS does: checked
//! signatures, idempotent for the same name and input, `ExecutionAlreadyExists`
//! for the same name with other input, `InvalidExecutionInput` over 256 KiB,
//! errors as AWS JSON 1.0 (`__type`, `message`).

use invalidator_core::io::{Clock, HttpClient, HttpResponse};
use invalidator_core::settings::SettingsMap;
use invalidator_lambda::http_client::{ReqwestClient, SystemClock};
use invalidator_lambda::stepfunctions::{read_start, start_execution, Started, StepFunctionsSettings};
use invalidator_tests::sandbox::stepfunctions::MAX_INPUT_BYTES;
use invalidator_tests::sandbox::{Config, Fixture, Sandbox, DEMO_STATE_MACHINE};
use serde_json::{json, Value};
use std::time::Duration;

async fn sandbox() -> Sandbox {
    let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    Sandbox::start(Config::local(fixture, Duration::from_millis(600), vec![])).await.unwrap()
}

fn settings(sb: &Sandbox, secret: &str, arn: &str) -> StepFunctionsSettings {
    let map: SettingsMap = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".to_string()),
        ("AWS_SECRET_ACCESS_KEY", secret.to_string()),
        ("STATE_MACHINE_ARN", arn.to_string()),
        ("STEPFUNCTIONS_ENDPOINT", sb.stepfunctions_url()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    StepFunctionsSettings::from_map(&map).unwrap()
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

async fn start(s: &StepFunctionsSettings, name: &str, input: &Value) -> HttpResponse {
    let request = start_execution(s, name, input, SystemClock.now()).unwrap();
    ReqwestClient::new(Duration::from_secs(5)).send(request).await.unwrap()
}

/// The AWS JSON 1.0 error's `__type`, asserting the shape and status.
fn error_type(r: &HttpResponse, status: u16) -> String {
    let body: Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(r.status().as_u16(), status, "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(r.headers()["content-type"], "application/x-amz-json-1.0");
    body["__type"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_same_name_and_input_is_the_same_execution_other_input_is_refused() {
    let sb = sandbox().await;
    let s = settings(&sb, SECRET, DEMO_STATE_MACHINE);
    let first = read_start(&start(&s, "delivery-1", &json!({"a": 1})).await).unwrap();
    let again = read_start(&start(&s, "delivery-1", &json!({"a": 1})).await).unwrap();
    assert!(
        matches!(&first, Started::New { execution_arn } if execution_arn.ends_with(":execution:invalidator:delivery-1"))
    );
    assert_eq!(first, again, "idempotent: the same execution");
    let other = start(&s, "delivery-1", &json!({"a": 2})).await;
    assert_eq!(error_type(&other, 400), "ExecutionAlreadyExists");
    assert_eq!(read_start(&other), Ok(Started::AlreadyExists));
    assert_eq!(sb.executions().len(), 1);
}

#[tokio::test]
async fn an_input_over_256_kib_is_invalid_execution_input() {
    let sb = sandbox().await;
    let s = settings(&sb, SECRET, DEMO_STATE_MACHINE);
    // {"p":"xx..."} as a string: 8 bytes of JSON around the padding.
    let fits = json!({"p": "x".repeat(MAX_INPUT_BYTES - 8)});
    assert_eq!(fits.to_string().len(), MAX_INPUT_BYTES);
    assert_eq!(start(&s, "fits", &fits).await.status(), 200);
    let over = json!({"p": "x".repeat(MAX_INPUT_BYTES - 7)});
    assert_eq!(error_type(&start(&s, "over", &over).await, 400), "InvalidExecutionInput");
    // Counted in UTF-8 bytes, not characters.
    let wide = json!({"p": "é".repeat(MAX_INPUT_BYTES / 2)});
    assert_eq!(error_type(&start(&s, "wide", &wide).await, 400), "InvalidExecutionInput");
    assert_eq!(sb.executions().len(), 1);
}

#[tokio::test]
async fn bad_signatures_unknown_machines_and_bad_names_are_refused() {
    let sb = sandbox().await;
    let wrong_key = settings(&sb, "not-the-secret", DEMO_STATE_MACHINE);
    assert_eq!(error_type(&start(&wrong_key, "n", &json!({})).await, 403), "SignatureDoesNotMatch");
    let other_machine = settings(&sb, SECRET, "arn:aws:states:us-east-1:123456789012:stateMachine:other");
    assert_eq!(error_type(&start(&other_machine, "n", &json!({})).await, 400), "StateMachineDoesNotExist");
    let s = settings(&sb, SECRET, DEMO_STATE_MACHINE);
    assert_eq!(error_type(&start(&s, "a b", &json!({})).await, 400), "InvalidName");
    assert_eq!(error_type(&start(&s, &"n".repeat(81), &json!({})).await, 400), "InvalidName");
    assert!(sb.executions().is_empty());
}
