//! The webhook function: a Function URL event is verified and parsed by the
//! core, the change is accepted into a new workflow, and a Step Functions
//! execution named by the delivery's tracking id carries it on (so a
//! redelivered webhook starts nothing new). Same answers as the Worker.

use crate::function_url::{request_of, response};
use crate::http_client::entropy;
use crate::stepfunctions::{read_start, start_execution, Started, StepFunctionsSettings};
use crate::task::TaskState;
use invalidator_core::driver::Stop;
use invalidator_core::io::{Clock, HttpClient};
use invalidator_core::settings::{Settings, SettingsError, SettingsMap};
use invalidator_core::webhook::{self, Parsed};
use invalidator_core::workflow::{step, Event, Next, Workflow};
use serde_json::{json, Value};

/// Everything the webhook function needs, read once at start.
pub struct WebhookFunction {
    pub settings: Settings,
    pub stepfunctions: StepFunctionsSettings,
}

impl WebhookFunction {
    pub fn from_map(map: &SettingsMap) -> Result<Self, SettingsError> {
        Ok(WebhookFunction { settings: Settings::from_map(map)?, stepfunctions: StepFunctionsSettings::from_map(map)? })
    }

    /// Answers one Function URL event.
    pub async fn handle<H: HttpClient, C: Clock>(&self, event: &Value, http: &H, clock: &C) -> Value {
        let request = match request_of(event) {
            Ok(r) => r,
            Err(e) => return response(400, &json!({"status": "rejected", "error": e})),
        };
        let s = &self.settings;
        let now = clock.now();
        let outcome = webhook::accept(&request, &s.webhook, &s.contentful, now);
        if let Ok(Parsed::Change(change)) = &outcome {
            let mut workflow = Workflow::new(s.cloudfront.distribution_ids.clone());
            let accepted = Event::ChangeAccepted { change: change.clone() };
            // Taken in here, once: the change's nonce travels in the execution's
            // input, so a retried task plans the same CallerReference.
            let wake = match step(&mut workflow, &s.policy, accepted, now, entropy()).next {
                Next::WakeAt(at) => at,
                _ => now,
            };
            let state = TaskState::after(workflow, Stop::SleepUntil(wake), now);
            let started = match start_execution(&self.stepfunctions, &change.tracking_id, &json!(state), now) {
                Ok(request) => match http.send(request).await {
                    Ok(answer) => read_start(&answer),
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(e.to_string()),
            };
            match started {
                Ok(Started::New { execution_arn }) => {
                    tracing::info!(tracking_id = %change.tracking_id, %execution_arn, "execution started")
                }
                Ok(Started::AlreadyExists) => {
                    tracing::info!(tracking_id = %change.tracking_id, "redelivery: execution exists")
                }
                Err(e) => {
                    tracing::error!(tracking_id = %change.tracking_id, error = %e, "could not start the execution");
                    let (status, body) = webhook::not_stored();
                    return response(status, &body);
                }
            }
        }
        let (status, body) = webhook::answer(&outcome);
        if let Err(e) = &outcome {
            tracing::warn!(status, error = %e.public_reason(), "webhook refused");
        }
        response(status, &body)
    }
}
