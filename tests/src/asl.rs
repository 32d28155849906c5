//! The AWS body run offline: a function binary (`webhook`, `workflow`) polling
//! its own Lambda Runtime API, and `native-lambda/state-machine.asl.json`
//! executed by the real ASL interpreter (aws-local-stepfunctions, through
//! `tests/js/run-state-machine.mjs`) whose Task states invoke that function.

use crate::binaries::binary;
use crate::runtime_api::RuntimeApi;
use crate::toolkit::{self, repo_root, ToSign};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};

/// The state machine definition, relative to the repository root.
pub const ASL: &str = "native-lambda/state-machine.asl.json";

/// The webhook signing secret the tests' functions are given.
pub const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";

/// Step Functions' limit on the state passed between states (UTF-8 bytes).
pub const STATE_LIMIT_BYTES: u64 = 256 * 1024;

/// Fails the test, naming `make node-deps`, unless aws-local-stepfunctions and
/// the Contentful toolkit are installed: a test never passes without running.
pub fn require_node_tools() {
    for tool in ["node_modules/aws-local-stepfunctions", "node_modules/@contentful/node-apps-toolkit"] {
        assert!(repo_root().join(tool).exists(), "{tool} missing: run `make node-deps`");
    }
}

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
    let api = RuntimeApi::start(bin).await;
    let exe = tokio::task::spawn_blocking({
        let bin = bin.to_string();
        move || binary("invalidator-lambda", &bin)
    })
    .await
    .unwrap();
    let child = Command::new(exe)
        .env_clear()
        .envs(settings.iter().cloned())
        .envs(api.env())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Function { api, child }
}

/// Runs the ASL with aws-local-stepfunctions, its Tasks invoking `invoke_url`:
/// (succeeded, one JSON value a line the runner printed).
pub async fn run_state_machine(invoke_url: String, input: Value) -> (bool, Vec<Value>) {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let root = repo_root();
        let mut child = Command::new("node")
            .arg("--require")
            .arg(root.join("tests/js/polyfill.cjs"))
            .arg(root.join("tests/js/run-state-machine.mjs"))
            .arg(root.join(ASL))
            .arg(&invoke_url)
            .current_dir(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| json!({"raw": l})))
            .collect();
        (out.status.success(), events)
    })
    .await
    .unwrap()
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
    let headers: serde_json::Map<String, Value> = [
        ("content-type".to_string(), json!("application/vnd.contentful.management.v1+json")),
        ("x-contentful-topic".to_string(), json!("ContentManagement.Entry.publish")),
    ]
    .into_iter()
    .collect();
    let request = ToSign {
        secret: SECRET.into(),
        method: "POST".into(),
        path: "/".into(),
        headers: headers.clone(),
        body: body.into(),
        timestamp: None,
    };
    let mut all = headers;
    for (k, v) in toolkit::sign(&[request]).remove(0) {
        all.insert(k, json!(v));
    }
    let body = if tamper { body.replace("cta-button", "hero-banner") } else { body.to_string() };
    json!({"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": all,
        "requestContext": {"http": {"method": "POST"}}, "body": body, "isBase64Encoded": false})
}

/// The execution input the real webhook function starts for the signed
/// webhook `body`: the function runs with `settings` and a StartExecution
/// stand-in, and the input it sent there is returned.
pub async fn webhook_execution_input(settings: &[(String, String)], body: &str) -> Value {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let states = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .and(header("x-amz-target", "AWSStepFunctions.StartExecution"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"executionArn": "arn:aws:states:us-east-1:123456789012:execution:invalidator:x", "startDate": 1.0}),
        ))
        .mount(&states)
        .await;
    let mut settings = settings.to_vec();
    settings.push(("STEPFUNCTIONS_ENDPOINT".into(), states.uri()));
    settings
        .push(("STATE_MACHINE_ARN".into(), "arn:aws:states:us-east-1:123456789012:stateMachine:invalidator".into()));
    let webhook = function("webhook", &settings).await;
    let event = function_url_event(body, false);
    let answer = webhook.api.invoke(event.to_string().as_bytes(), std::time::Duration::from_secs(30)).await.unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let started = states.received_requests().await.unwrap();
    assert_eq!(started.len(), 1, "one StartExecution");
    let request: Value = serde_json::from_slice(&started[0].body).unwrap();
    serde_json::from_str(request["input"].as_str().unwrap()).unwrap()
}
