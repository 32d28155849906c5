//! A Step Functions stand-in for `StartExecution` (AWS JSON 1.0 protocol),
//! with the real service's semantics: an independent SigV4 check (service
//! `states`); only configured state machines exist; executions are
//! remembered by name, so the same name with the same input answers the
//! same execution (idempotent) and with another input `ExecutionAlreadyExists`;
//! an input that is not JSON or is over 256 KiB is `InvalidExecutionInput`;
//! errors are `{"__type": ..., "message": ...}`. Executions are recorded,
//! not run: the tests run the state machine themselves.

use super::sigv4_check::{self, Expected};
use super::{now_millis, RequestLog};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// The largest execution input, in UTF-8 bytes.
pub const MAX_INPUT_BYTES: usize = 256 * 1024;
const TARGET: &str = "AWSStepFunctions.StartExecution";

/// One started execution.
#[derive(Debug, Clone, Serialize)]
pub struct Execution {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub input: String,
    pub start_ms: u64,
}

pub struct StepFunctionsState {
    pub expected: Expected,
    pub state_machines: Vec<String>,
    pub executions: Mutex<Vec<Execution>>,
    pub log: RequestLog,
}

type Shared = Arc<StepFunctionsState>;

/// An AWS JSON 1.0 error: status, `__type` and message.
struct Refusal(StatusCode, &'static str, String);

fn error(kind: &'static str, message: impl Into<String>) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, kind, message.into())
}

fn json_10(status: StatusCode, body: Value) -> Response {
    (status, [("content-type", "application/x-amz-json-1.0")], body.to_string()).into_response()
}

/// A name AWS accepts: 1 to 80 characters, none of whitespace, brackets,
/// wildcards, `"#%\^|~`$&,;:/` or control characters.
fn valid_name(name: &str) -> bool {
    (1..=80).contains(&name.chars().count())
        && !name.chars().any(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c))
}

async fn start(State(s): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (answer, detail) = match start_inner(&s, &method, &uri, &headers, &body) {
        Ok(e) => {
            let body = json!({"executionArn": e.execution_arn, "startDate": e.start_ms as f64 / 1000.0});
            (json_10(StatusCode::OK, body), e.name)
        }
        Err(Refusal(status, kind, message)) => {
            (json_10(status, json!({"__type": kind, "message": message})), kind.into())
        }
    };
    s.log.record("stepfunctions", &method, &uri, answer.status().as_u16(), detail);
    answer
}

fn start_inner(
    s: &StepFunctionsState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Execution, Refusal> {
    sigv4_check::verify_received(method, uri, headers, body, &s.expected)
        .map_err(|r| Refusal(StatusCode::FORBIDDEN, r.code, r.message))?;
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if target != TARGET {
        return Err(error("UnknownOperationException", format!("the stand-in answers {TARGET} only, not {target:?}")));
    }
    let request: Value = serde_json::from_slice(body).map_err(|e| error("SerializationException", e.to_string()))?;
    let text = |field: &str| request.get(field).and_then(Value::as_str).map(str::to_string);
    let arn = text("stateMachineArn").ok_or_else(|| error("ValidationException", "stateMachineArn is required"))?;
    if !s.state_machines.contains(&arn) {
        return Err(error("StateMachineDoesNotExist", format!("State Machine Does Not Exist: '{arn}'")));
    }
    let name = text("name").unwrap_or_else(|| format!("generated-{}", now_millis()));
    if !valid_name(&name) {
        return Err(error("InvalidName", format!("Invalid Name: '{name}'")));
    }
    let input = text("input").unwrap_or_else(|| "{}".into());
    if input.len() > MAX_INPUT_BYTES {
        let why = format!("the input has {} bytes, more than {MAX_INPUT_BYTES}", input.len());
        return Err(error("InvalidExecutionInput", why));
    }
    if serde_json::from_str::<Value>(&input).is_err() {
        return Err(error("InvalidExecutionInput", "Invalid State Machine Execution Input: the input is not JSON"));
    }
    let mut all = s.executions.lock().unwrap();
    match all.iter().find(|e| e.state_machine_arn == arn && e.name == name) {
        Some(same) if same.input == input => Ok(same.clone()),
        Some(_) => Err(error("ExecutionAlreadyExists", format!("Execution Already Exists: '{name}'"))),
        None => {
            let (prefix, machine) = arn.split_once(":stateMachine:").unwrap_or((&arn, ""));
            let e = Execution {
                execution_arn: format!("{prefix}:execution:{machine}:{name}"),
                state_machine_arn: arn.clone(),
                name,
                input,
                start_ms: now_millis(),
            };
            all.push(e.clone());
            Ok(e)
        }
    }
}

/// The stand-in's state for the test credentials (`AKIDEXAMPLE`) and the
/// demo's state machine.
pub fn local_state() -> Arc<StepFunctionsState> {
    Arc::new(StepFunctionsState {
        expected: super::expected_in(super::DEFAULT_REGION, "states"),
        state_machines: vec![super::DEMO_STATE_MACHINE.into()],
        executions: Mutex::new(Vec::new()),
        log: RequestLog::default(),
    })
}

/// Serves the stand-in alone on a free 127.0.0.1 port, on the current runtime.
pub async fn serve(state: Arc<StepFunctionsState>) -> std::io::Result<(std::net::SocketAddr, Arc<StepFunctionsState>)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let app = router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((addr, state))
}

/// The stand-in's routes; `/__sandbox/*` is for tests.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/", post(start))
        .route(
            "/__sandbox/executions",
            get(|State(s): State<Shared>| async move { Json(s.executions.lock().unwrap().clone()) }),
        )
        .route("/__sandbox/requests", get(|State(s): State<Shared>| async move { Json(s.log.all()) }))
        .with_state(state)
}
