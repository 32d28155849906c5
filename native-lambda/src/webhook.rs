//! The webhook function: a Function URL event is verified and parsed by the
//! core, and the change is handed on before the answer: to the changes queue
//! (`CHANGES_QUEUE_URL`, as deployed: the starter function folds what the
//! queue collects into one execution), or, without a queue, to a Step
//! Functions execution of its own named by the delivery's tracking id (a
//! redelivered webhook starts nothing new). Answers 202 only once the change
//! is stored, 503 otherwise so that Contentful retries; same answers as the
//! Worker. A change over SQS's message cap is queued with the items its
//! fields render to instead of the fields ([`crate::sqs::message_body`]), so
//! its size never refuses a valid publish.

use crate::execution_input::execution_input;
use crate::function_url::{event_of, request_of, response};
use crate::http_client::entropy;
use crate::sqs::{enqueue, QueueSettings, StoreError};
use crate::stepfunctions::{read_start, start_execution, Started, StepFunctionsSettings};
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlResponse;
use invalidator_core::io::{Clock, HttpClient};
use invalidator_core::settings::{Settings, SettingsError, SettingsMap};
use invalidator_core::webhook::{self, Change, Parsed};
use invalidator_core::Timestamp;
use serde_json::{json, Value};

/// Where an accepted change goes.
pub enum Destination {
    /// The changes queue (the deployed shape).
    Queue(QueueSettings),
    /// One execution per change (no queue configured).
    Execution(StepFunctionsSettings),
}

/// Everything the webhook function needs, read once at start.
pub struct WebhookFunction {
    pub settings: Settings,
    pub destination: Destination,
}

impl WebhookFunction {
    pub fn from_map(map: &SettingsMap) -> Result<Self, SettingsError> {
        let destination = match QueueSettings::from_map(map)? {
            Some(queue) => Destination::Queue(queue),
            None => Destination::Execution(StepFunctionsSettings::from_map(map)?),
        };
        Ok(WebhookFunction { settings: Settings::from_map(map)?, destination })
    }

    /// Answers one Function URL event.
    pub async fn handle<H: HttpClient, C: Clock>(
        &self,
        event: Value,
        http: &H,
        clock: &C,
    ) -> LambdaFunctionUrlResponse {
        let request = match event_of(event).and_then(|e| request_of(&e)) {
            Ok(r) => r,
            Err(e) => return response(400, &json!({"status": "rejected", "error": e})),
        };
        let s = &self.settings;
        let now = clock.now();
        let outcome = webhook::accept(&request, &s.webhook, &s.contentful, now);
        if let Ok(Parsed::Change(change)) = &outcome {
            if let Err(e) = self.store(change, http, now).await {
                tracing::error!(tracking_id = %change.tracking_id, error = %e, "the change was not stored");
                let (status, body) = webhook::not_stored();
                return response(status, &body);
            }
        }
        let (status, body) = webhook::answer(&outcome);
        if let Err(e) = &outcome {
            tracing::warn!(status, error = %e.public_reason(), "webhook refused");
        }
        response(status, &body)
    }

    /// Hands `change` on; `Err` says why it is not stored.
    async fn store<H: HttpClient>(&self, change: &Change, http: &H, now: Timestamp) -> Result<(), StoreError> {
        match &self.destination {
            Destination::Queue(queue) => {
                let message_id = enqueue(queue, change, &self.settings.policy, http, now).await?;
                tracing::info!(tracking_id = %change.tracking_id, %message_id, "change queued");
                Ok(())
            }
            Destination::Execution(stepfunctions) => {
                let s = &self.settings;
                let state =
                    execution_input(&s.cloudfront.distribution_ids, &s.policy, [change.clone()], now, entropy());
                let request = start_execution(stepfunctions, &change.tracking_id, &json!(state), now)?;
                let answer = http.send(request).await.map_err(|e| StoreError::Execution(e.to_string()))?;
                match read_start(&answer).map_err(StoreError::Execution)? {
                    Started::New { execution_arn } => {
                        tracing::info!(tracking_id = %change.tracking_id, %execution_arn, "execution started")
                    }
                    Started::AlreadyExists => {
                        tracing::info!(tracking_id = %change.tracking_id, "redelivery: execution exists")
                    }
                }
                Ok(())
            }
        }
    }
}
