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
//!
//! A delivery already taken (the same tracking id, which the core derives
//! from a signed `X-Contentful-Idempotency-Key`) is answered `200` taken and
//! stored no second time: without a queue, its execution exists already;
//! with one, the sweep's record (`PATH_MEMORY_TABLE`) lists it among the
//! last deliveries the starter took in. A delivery still in the queue when
//! its duplicate comes is queued again, and the starter drops it.

use crate::dynamodb::DynamoDbSettings;
use crate::execution_input::execution_input;
use crate::function_url::{event_of, request_of, response};
use crate::http_client::entropy;
use crate::sqs::{enqueue, QueueSettings, StoreError};
use crate::stepfunctions::{read_start, start_execution, Started, StepFunctionsSettings};
use crate::sweep::SweepStore;
use crate::sweep_store::{partition, DynamoSweepStore};
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlResponse;
use invalidator_core::io::{Clock, HttpClient};
use invalidator_core::settings::{Settings, SettingsError, SettingsMap};
use invalidator_core::webhook::{self, Change, Parsed};
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
    /// The table of the sweep's record (`PATH_MEMORY_TABLE`), which knows
    /// the last deliveries taken in; unset, only the queue's starter de-duplicates.
    pub taken_table: Option<DynamoDbSettings>,
}

/// What became of an accepted change.
enum Stored {
    /// Stored now.
    New,
    /// Its delivery was taken before: nothing was stored again.
    Taken,
}

impl WebhookFunction {
    pub fn from_map(map: &SettingsMap) -> Result<Self, SettingsError> {
        let destination = match QueueSettings::from_map(map)? {
            Some(queue) => Destination::Queue(queue),
            None => Destination::Execution(StepFunctionsSettings::from_map(map)?),
        };
        Ok(WebhookFunction {
            settings: Settings::from_map(map)?,
            destination,
            taken_table: DynamoDbSettings::from_map(map)?,
        })
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
            match self.store(change, http, clock).await {
                Ok(Stored::New) => {}
                Ok(Stored::Taken) => {
                    tracing::info!(tracking_id = %change.tracking_id, "delivery already taken: nothing stored again");
                    let (status, body) = webhook::taken(change);
                    return response(status, &body);
                }
                Err(e) => {
                    tracing::error!(tracking_id = %change.tracking_id, error = %e, "the change was not stored");
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

    /// True when the sweep's record lists `change`'s delivery as taken in.
    /// A record that cannot be read says no: a change stored twice is
    /// invalidated twice, a change not stored would be lost.
    async fn taken_before<H: HttpClient, C: Clock>(&self, change: &Change, http: &H, clock: &C) -> bool {
        let Some(settings) = &self.taken_table else {
            return false;
        };
        let partition = partition(&self.settings.cloudfront.distribution_ids);
        match (DynamoSweepStore { http, clock, settings, partition }).load().await {
            Ok(record) => record.taken.holds_delivery(&change.tracking_id),
            Err(e) => {
                tracing::warn!(tracking_id = %change.tracking_id, error = %e, "could not read the deliveries taken: the change is stored");
                false
            }
        }
    }

    /// Hands `change` on; `Err` says why it is not stored.
    async fn store<H: HttpClient, C: Clock>(&self, change: &Change, http: &H, clock: &C) -> Result<Stored, StoreError> {
        let now = clock.now();
        match &self.destination {
            Destination::Queue(queue) => {
                if self.taken_before(change, http, clock).await {
                    return Ok(Stored::Taken);
                }
                let message_id = enqueue(queue, change, &self.settings.policy, http, now).await?;
                tracing::info!(tracking_id = %change.tracking_id, %message_id, "change queued");
                Ok(Stored::New)
            }
            Destination::Execution(stepfunctions) => {
                let s = &self.settings;
                let state =
                    execution_input(&s.cloudfront.distribution_ids, &s.policy, [change.clone()], now, entropy());
                let request = start_execution(stepfunctions, &change.tracking_id, &json!(state), now)?;
                let answer = http.send(request).await.map_err(|e| StoreError::Execution(e.to_string()))?;
                match read_start(&answer).map_err(StoreError::Execution)? {
                    Started::New { execution_arn } => {
                        tracing::info!(tracking_id = %change.tracking_id, %execution_arn, "execution started");
                        Ok(Stored::New)
                    }
                    // Named by the tracking id: this delivery's execution exists.
                    Started::AlreadyExists => Ok(Stored::Taken),
                }
            }
        }
    }
}
