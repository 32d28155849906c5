//! The AWS body run offline: a function binary (`webhook`, `workflow`) polling
//! its own Lambda Runtime API, and `native-lambda/state-machine.asl.json`
//! executed by the real ASL interpreter (aws-local-stepfunctions, through
//! `tests/js/run-state-machine.mjs`) whose Task states invoke that function.

use crate::binaries::binary;
use crate::loopback::loopback_only;
use crate::require::{require, ASL_VALIDATOR, LOCAL_STEPFUNCTIONS, TOOLKIT};
use crate::runtime_api::RuntimeApi;
use crate::sandbox::{stepfunctions, DEMO_STATE_MACHINE};
use crate::state_machine;
use crate::toolkit;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The state machine definition, relative to the repository root.
pub const ASL: &str = "native-lambda/state-machine.asl.json";

/// The webhook signing secret the tests' functions are given.
pub const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";

/// Step Functions' limit on the state passed between states (UTF-8 bytes).
pub const STATE_LIMIT_BYTES: u64 = 256 * 1024;

/// Fails the test, naming `make node-deps`, unless aws-local-stepfunctions,
/// asl-validator and the Contentful toolkit are installed: a test never
/// passes without running.
pub fn require_node_tools() {
    require(&[LOCAL_STEPFUNCTIONS, ASL_VALIDATOR, TOOLKIT]);
}

/// Longer than any execution the tests run; a hung interpreter is stopped and
/// the test fails at this bound.
pub const RUN_BOUND: Duration = Duration::from_secs(600);

/// A function binary polling its own Runtime API; killed on drop.
pub struct Function {
    pub api: RuntimeApi,
    child: Child,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `invalidator-lambda`'s binary `bin` with `settings` (and nothing
/// else from this process's environment) against a new Runtime API.
pub async fn function(bin: &str, settings: &[(String, String)]) -> Function {
    function_logging_to(bin, settings, Stdio::null()).await
}

/// [`function`], its log (stdout: one JSON line an event) going to `log`.
pub async fn function_logging_to(bin: &str, settings: &[(String, String)], log: impl Into<Stdio>) -> Function {
    let api = RuntimeApi::start(bin).await;
    let exe = tokio::task::spawn_blocking({
        let bin = bin.to_string();
        move || binary("invalidator-lambda", &bin)
    })
    .await
    .unwrap();
    let child = loopback_only(Command::new(exe).env_clear())
        .envs(settings.iter().cloned())
        .envs(api.env())
        .env("RUST_LOG", "info")
        .stdout(log)
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Function { api, child }
}

/// Runs the ASL with aws-local-stepfunctions, its Tasks invoking `invoke_url`:
/// (succeeded, one JSON value a line the runner printed). Bounded by [`RUN_BOUND`].
pub async fn run_state_machine(invoke_url: String, input: Value) -> (bool, Vec<Value>) {
    let run =
        tokio::task::spawn_blocking(move || state_machine::run(&invoke_url, &input.to_string(), RUN_BOUND, |_| {}))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{e}"));
    (run.succeeded, run.events)
}

/// The states entered, in order.
pub fn entered(events: &[Value]) -> Vec<String> {
    events.iter().filter(|e| e["event"] == "StateEntered").map(|e| e["state"].as_str().unwrap().to_string()).collect()
}

/// Every state passed between states, as `(event, state, bytes)`: what each
/// state received and what it handed on.
pub fn state_sizes(events: &[Value]) -> Vec<(String, String, u64)> {
    let mut sizes = Vec::new();
    for e in events {
        for field in ["input_bytes", "output_bytes"] {
            if let Some(n) = e[field].as_u64() {
                let event = format!("{} {field}", e["event"].as_str().unwrap_or("?"));
                sizes.push((event, e["state"].as_str().unwrap_or("?").to_string(), n));
            }
        }
    }
    sizes
}

/// A Function URL event for a webhook signed with [`SECRET`] by the official
/// toolkit; `tamper` changes the body after signing (`cta-button` → `hero-banner`).
pub fn function_url_event(body: &str, tamper: bool) -> Value {
    signed_function_url_event(toolkit::publish(SECRET, "/", body.into()), tamper)
}

/// A Function URL event for any webhook `request` (an unpublish, say), signed
/// by the official toolkit; `tamper` as in [`function_url_event`].
pub fn signed_function_url_event(request: toolkit::ToSign, tamper: bool) -> Value {
    let body = request.body.clone();
    let body = body.as_str();
    let all: serde_json::Map<String, Value> =
        toolkit::sign_all(&[request]).remove(0).into_iter().map(|(k, v)| (k, json!(v))).collect();
    let body = if tamper { body.replace("cta-button", "hero-banner") } else { body.to_string() };
    json!({"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": all,
        "requestContext": {"http": {"method": "POST"}, "timeEpoch": 1_800_000_000_000_i64}, "body": body, "isBase64Encoded": false})
}

/// The execution input the real webhook function starts for the signed
/// webhook `body`: the function runs with `settings` against a Step
/// Functions stand-in, and the input it started there is returned.
pub async fn webhook_execution_input(settings: &[(String, String)], body: &str) -> Value {
    webhook_request_execution_input(settings, toolkit::publish(SECRET, "/", body.into())).await
}

/// The same for any signed webhook `request`.
pub async fn webhook_request_execution_input(settings: &[(String, String)], request: toolkit::ToSign) -> Value {
    let (endpoint, states) = stepfunctions::serve(stepfunctions::local_state()).await.expect("the stand-in starts");
    let mut settings = settings.to_vec();
    settings.push(("STEPFUNCTIONS_ENDPOINT".into(), format!("http://{endpoint}")));
    settings.push(("STATE_MACHINE_ARN".into(), DEMO_STATE_MACHINE.into()));
    let webhook = function("webhook", &settings).await;
    let event = signed_function_url_event(request, false);
    let answer = webhook.api.invoke(event.to_string().as_bytes(), std::time::Duration::from_secs(30)).await.unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let started = states.executions.lock().unwrap().clone();
    assert_eq!(started.len(), 1, "one StartExecution: {:#?}", states.log.all());
    serde_json::from_str(&started[0].input).unwrap()
}
