//! Step Functions `StartExecution`, signed with SigV4 (service `states`), and
//! its answer: started, already started (a redelivered webhook), or failed.

use invalidator_core::io::{HttpRequest, HttpResponse};
use invalidator_core::settings::{AwsCredentials, SettingsError, SettingsMap};
use invalidator_core::sigv4::{sign_request, SignError};
use invalidator_core::Timestamp;
use serde_json::{json, Value};

/// Where executions are started.
#[derive(Debug, Clone)]
pub struct StepFunctionsSettings {
    pub state_machine_arn: String,
    pub endpoint: String,
    pub credentials: AwsCredentials,
}

impl StepFunctionsSettings {
    pub fn from_map(map: &SettingsMap) -> Result<Self, SettingsError> {
        let credentials = AwsCredentials::from_map(map)?;
        let arn = map.get("STATE_MACHINE_ARN").map(|s| s.trim()).filter(|s| !s.is_empty());
        let state_machine_arn = arn
            .filter(|a| a.starts_with("arn:"))
            .ok_or(SettingsError { name: "STATE_MACHINE_ARN", problem: "is required: the state machine's ARN".into() })?
            .to_string();
        let default = format!("https://states.{}.amazonaws.com", credentials.region);
        let endpoint =
            map.get("STEPFUNCTIONS_ENDPOINT").map(|s| s.trim()).filter(|s| !s.is_empty()).unwrap_or(&default);
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err(SettingsError {
                name: "STEPFUNCTIONS_ENDPOINT",
                problem: format!("must be an http(s) URL, got {endpoint:?}"),
            });
        }
        Ok(StepFunctionsSettings {
            state_machine_arn,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            credentials,
        })
    }
}

/// `StartExecution` named `name` (the delivery's tracking id: a redelivery
/// cannot start a second execution) with `input`.
pub fn start_execution(
    s: &StepFunctionsSettings,
    name: &str,
    input: &Value,
    now: Timestamp,
) -> Result<HttpRequest, SignError> {
    let body = json!({"stateMachineArn": s.state_machine_arn, "name": name, "input": input.to_string()});
    let mut request = http::Request::post(format!("{}/", s.endpoint))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "AWSStepFunctions.StartExecution")
        .body(serde_json::to_vec(&body).expect("JSON"))
        .expect("a valid request");
    sign_request(&mut request, &s.credentials, "states", now)?;
    Ok(request)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Started {
    New {
        execution_arn: String,
    },
    /// The same name ran before: this delivery was already taken.
    AlreadyExists,
}

pub fn read_start(response: &HttpResponse) -> Result<Started, String> {
    let body: Value = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    if response.status().is_success() {
        let arn = body.get("executionArn").and_then(Value::as_str).unwrap_or_default();
        return Ok(Started::New { execution_arn: arn.to_string() });
    }
    let kind = body.get("__type").and_then(Value::as_str).unwrap_or_default();
    if kind.ends_with("ExecutionAlreadyExists") {
        return Ok(Started::AlreadyExists);
    }
    let message = body.get("message").or_else(|| body.get("Message")).and_then(Value::as_str).unwrap_or_default();
    Err(format!("StartExecution answered HTTP {} {kind} {message}", response.status().as_u16()).trim_end().to_string())
}
