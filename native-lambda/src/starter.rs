//! The starter function, fed by the changes queue through an event source
//! mapping: every change of a batch is folded into one workflow (the core's
//! `ChangeAccepted`) and one Step Functions execution is started for it.
//!
//! - The execution is named from the batch's message ids, so a redelivered
//!   batch (the starter's answer was lost, or the function timed out after
//!   starting) meets `ExecutionAlreadyExists` and starts nothing new.
//! - The event source mapping's batching window (`COLLECT_WINDOW_SECONDS`)
//!   already collected the burst: the execution does not wait again, so the
//!   policy's collect window is zero here.
//! - A batch whose input would pass Step Functions' 256 KiB is split into
//!   halves until each fits, each half its own execution.
//! - What could not be started is returned in `batchItemFailures`
//!   (`ReportBatchItemFailures`): only those messages come back, and after the
//!   queue's `maxReceiveCount` receives SQS moves them to the dead-letter
//!   queue. Each failure is logged with its message id, receive count and
//!   reason, which is how a message in the dead-letter queue is explained.
//! - A change that fails on its last receive (`ApproximateReceiveCount` at
//!   `MAX_RECEIVE_COUNT`, the queue's `maxReceiveCount`) is about to be moved
//!   to the dead-letter queue: with `NOTIFY_URL` set it is notified then, with
//!   the core's `notify::dead_lettered`, sent by `driver::send_notice`.
//! - With `PATH_MEMORY_TABLE` set, the changes whose execution started are
//!   recorded as taken in the catch-up sweep's record ([`crate::sweep_store`]),
//!   so the sweep does not invalidate a webhook's change again; and a change
//!   whose delivery the record lists as taken already (a duplicate delivery,
//!   queued while its first was still in the queue) is dropped with a log
//!   line, its message done: one event, one change.

use crate::dynamodb::DynamoDbSettings;
use crate::execution_input::execution_input;
use crate::http_client::entropy;
use crate::stepfunctions::{read_start, start_execution, Started, StepFunctionsSettings};
use crate::sweep::SweepStore;
use crate::sweep_store::{partition, record_taken, DynamoSweepStore};
use crate::task::{TaskState, STATE_MAX_BYTES};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use invalidator_core::driver::{send_notice, Sleep};
use invalidator_core::io::{Clock, HttpClient};
use invalidator_core::notify;
use invalidator_core::settings::{CloudFrontSettings, NotifySettings, Policy, SettingsError, SettingsMap};
use invalidator_core::webhook::Change;
use invalidator_core::Timestamp;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Everything the starter function needs, read once at start.
pub struct StarterFunction {
    pub policy: Policy,
    pub distributions: Vec<String>,
    pub stepfunctions: StepFunctionsSettings,
    /// The table the sweep's record is in (`PATH_MEMORY_TABLE`), if any.
    pub sweep_table: Option<DynamoDbSettings>,
    /// Where notifications go (`NOTIFY_URL`), if anywhere.
    pub notify: Option<NotifySettings>,
    /// `MAX_RECEIVE_COUNT`: the queue's `maxReceiveCount` (the SAM template's 5).
    pub max_receive_count: u32,
}

/// The SAM template's `maxReceiveCount` for the changes queue.
const DEFAULT_MAX_RECEIVE_COUNT: u32 = 5;

/// One change taken from the queue.
struct Queued {
    message_id: String,
    change: Change,
    /// Its `ApproximateReceiveCount`, this receive included.
    receives: u32,
}

impl StarterFunction {
    pub fn from_map(map: &SettingsMap) -> Result<Self, SettingsError> {
        let mut policy = Policy::from_map(map)?;
        policy.collect_window = Duration::ZERO;
        Ok(StarterFunction {
            policy,
            distributions: CloudFrontSettings::from_map(map)?.distribution_ids,
            stepfunctions: StepFunctionsSettings::from_map(map)?,
            sweep_table: DynamoDbSettings::from_map(map)?,
            notify: NotifySettings::from_map(map)?,
            max_receive_count: match map.get("MAX_RECEIVE_COUNT").map(|v| v.trim()).filter(|v| !v.is_empty()) {
                None => DEFAULT_MAX_RECEIVE_COUNT,
                Some(v) => v.parse().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| SettingsError {
                    name: "MAX_RECEIVE_COUNT",
                    problem: format!(
                        "must be a whole number between 1 and 1000 (the queue's maxReceiveCount), got {v:?}"
                    ),
                })?,
            },
        })
    }

    /// Starts the batch's execution(s); the messages that must come back.
    pub async fn handle<H: HttpClient, C: Clock + Sleep>(
        &self,
        event: SqsEvent,
        http: &H,
        clock: &C,
    ) -> SqsBatchResponse {
        let mut answer = SqsBatchResponse::default();
        let mut taken = Vec::new();
        for record in event.records {
            let Some(message_id) = record.message_id else {
                tracing::error!("a record without a messageId cannot be reported or retried: skipped");
                continue;
            };
            let receives_text = record.attributes.get("ApproximateReceiveCount").cloned().unwrap_or_default();
            let receives: u32 = receives_text.parse().unwrap_or(0);
            match serde_json::from_str::<Change>(record.body.as_deref().unwrap_or_default()) {
                Ok(change) => taken.push(Queued { message_id, change, receives }),
                Err(e) => {
                    let reason = format!("the message is not a change: {e}");
                    tracing::error!(%message_id, receives = receives_text.as_str(), %reason, "change not started");
                    self.dead_letter_notice(&message_id, None, &reason, receives, http, clock).await;
                    answer.add_failure(message_id);
                }
            }
        }
        let taken = self.drop_taken_before(taken, http, clock).await;
        let now = clock.now();
        let mut started_changes = Vec::new();
        for part in self.parts(taken, now) {
            let ids: Vec<&str> = part.iter().map(|q| q.message_id.as_str()).collect();
            let name = execution_name(&ids);
            match self.start(&name, part.iter().map(|q| q.change.clone()), http, now).await {
                Ok(started) => {
                    tracing::info!(execution = %name, changes = part.len(), started, "batch started");
                    started_changes.extend(part.iter().map(|q| q.change.clone()));
                }
                Err(reason) => {
                    for q in &part {
                        tracing::error!(message_id = %q.message_id, execution = %name, %reason, "change not started");
                        let entry = Some(q.change.id.as_str());
                        self.dead_letter_notice(&q.message_id, entry, &reason, q.receives, http, clock).await;
                    }
                    answer.set_failures(ids);
                }
            }
        }
        self.record_taken(&started_changes, http, clock).await;
        answer
    }

    /// `queued` without the changes whose delivery the sweep's record lists
    /// as taken in already. A record that cannot be read drops nothing: a
    /// change started twice is invalidated twice, one dropped would be lost.
    async fn drop_taken_before<H: HttpClient, C: Clock>(
        &self,
        queued: Vec<Queued>,
        http: &H,
        clock: &C,
    ) -> Vec<Queued> {
        let Some(settings) = self.sweep_table.as_ref().filter(|_| !queued.is_empty()) else {
            return queued;
        };
        let store = DynamoSweepStore { http, clock, settings, partition: partition(&self.distributions) };
        let record = match store.load().await {
            Ok(record) => record,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the deliveries taken: none is dropped as a duplicate");
                return queued;
            }
        };
        queued
            .into_iter()
            .filter(|q| {
                let before = record.taken.holds_delivery(&q.change.tracking_id);
                if before {
                    let (message_id, tracking_id) = (&q.message_id, &q.change.tracking_id);
                    tracing::info!(%message_id, %tracking_id, "delivery already taken in: dropped, no second change");
                }
                !before
            })
            .collect()
    }

    /// Notifies a change that failed its last receive (SQS moves it to the
    /// dead-letter queue next); nothing for an earlier receive.
    async fn dead_letter_notice<H: HttpClient, C: Clock + Sleep>(
        &self,
        message_id: &str,
        entry: Option<&str>,
        reason: &str,
        receives: u32,
        http: &H,
        clock: &C,
    ) {
        let Some(settings) = self.notify.as_ref().filter(|_| receives >= self.max_receive_count) else {
            return;
        };
        let notice = notify::dead_lettered(message_id, entry, reason, receives, clock.now());
        if let Err(e) = send_notice(http, clock, clock, settings, &self.policy, &notice, entropy()).await {
            tracing::warn!(%message_id, error = %e, "dead-letter notification not sent");
        }
    }

    /// Records the started changes in the sweep's record. Not a failure of
    /// the batch when it cannot: the sweep then takes them again, which
    /// invalidates them twice but loses nothing.
    async fn record_taken<H: HttpClient, C: Clock>(&self, changes: &[Change], http: &H, clock: &C) {
        let Some(settings) = self.sweep_table.as_ref().filter(|_| !changes.is_empty()) else {
            return;
        };
        let store = DynamoSweepStore { http, clock, settings, partition: partition(&self.distributions) };
        if let Err(e) = record_taken(&store, changes).await {
            tracing::warn!(error = %e, changes = changes.len(), "could not record the changes as taken: the next sweep takes them again");
        }
    }

    /// The execution input for `changes`.
    fn input(&self, changes: impl IntoIterator<Item = Change>, now: Timestamp) -> TaskState {
        execution_input(&self.distributions, &self.policy, changes, now, entropy())
    }

    /// `taken` split into parts whose execution input fits Step Functions.
    fn parts(&self, taken: Vec<Queued>, now: Timestamp) -> Vec<Vec<Queued>> {
        if taken.is_empty() {
            return Vec::new();
        }
        let bytes = serde_json::to_vec(&self.input(taken.iter().map(|q| q.change.clone()), now)).map_or(0, |v| v.len());
        if bytes <= STATE_MAX_BYTES || taken.len() == 1 {
            return vec![taken];
        }
        let mut first = taken;
        let second = first.split_off(first.len() / 2);
        let mut parts = self.parts(first, now);
        parts.extend(self.parts(second, now));
        parts
    }

    /// Starts one execution named `name` for `changes`: whether it is new.
    async fn start<H: HttpClient>(
        &self,
        name: &str,
        changes: impl IntoIterator<Item = Change>,
        http: &H,
        now: Timestamp,
    ) -> Result<&'static str, String> {
        let input = json!(self.input(changes, now));
        let request = start_execution(&self.stepfunctions, name, &input, now).map_err(|e| e.to_string())?;
        let answer = http.send(request).await.map_err(|e| format!("StartExecution: {e}"))?;
        match read_start(&answer)? {
            Started::New { .. } => Ok("new"),
            // The same messages started it before: a redelivered batch.
            Started::AlreadyExists => Ok("already, by an earlier delivery of this batch"),
        }
    }
}

/// The execution's name: the SHA-256 of the sorted message ids, in hex (64
/// characters; Step Functions allows 80).
pub fn execution_name(message_ids: &[&str]) -> String {
    let mut ids = message_ids.to_vec();
    ids.sort_unstable();
    let mut hash = Sha256::new();
    for id in ids {
        hash.update(id.as_bytes());
        hash.update(b"\n");
    }
    hex::encode(hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use invalidator_core::testing::{ChangeBuilder, TestSettings};

    fn starter(extra: &[(&str, &str)]) -> StarterFunction {
        let map = TestSettings::new()
            .with("PATH_RULES", r#"{"page":["/{slug}"]}"#)
            .with("STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:invalidator")
            .with_all(extra)
            .map();
        StarterFunction::from_map(&map).unwrap()
    }

    fn queued(n: usize, slug_bytes: usize) -> Vec<Queued> {
        (0..n)
            .map(|i| Queued {
                message_id: format!("m{i}"),
                receives: 1,
                change: ChangeBuilder::publish(&format!("entry-{i}"))
                    .content_type("page")
                    .slug(&format!("{}-{i}", "s".repeat(slug_bytes)))
                    .revision(1)
                    .build(),
            })
            .collect()
    }

    #[test]
    fn a_batch_too_large_for_one_execution_is_split_and_every_change_kept() {
        let f = starter(&[("PATH_BUDGET", "5000"), ("PLAN_MAX_BYTES", "1048576")]);
        let now = Timestamp::from_secs(1_800_000_000);
        let parts = f.parts(queued(3000, 120), now);
        assert!(parts.len() > 1, "3,000 changes of 120-byte paths do not fit one input");
        let mut ids: Vec<String> = parts.iter().flatten().map(|q| q.message_id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 3000, "every message is in exactly one part");
        for part in &parts {
            let bytes = serde_json::to_vec(&f.input(part.iter().map(|q| q.change.clone()), now)).unwrap().len();
            assert!(bytes <= STATE_MAX_BYTES, "a part of {} changes has an input of {bytes} bytes", part.len());
        }
    }

    #[test]
    fn the_queue_collected_the_batch_so_the_execution_does_not_wait_again() {
        let f = starter(&[("COLLECT_WINDOW_SECONDS", "30")]);
        let now = Timestamp::from_secs(1_800_000_000);
        let state = f.input(queued(2, 4).into_iter().map(|q| q.change), now);
        assert_eq!(state.wait_seconds, 0);
    }

    #[test]
    fn a_batch_is_named_by_its_messages_in_any_order() {
        let name = execution_name(&["b", "a"]);
        assert_eq!(name, execution_name(&["a", "b"]));
        assert_ne!(name, execution_name(&["a", "b", "c"]));
        assert_eq!(name.len(), 64);
    }

    /// Step Functions answers 500 to every StartExecution; the receiver 200.
    struct StartsFail {
        sent: std::cell::RefCell<Vec<invalidator_core::io::HttpRequest>>,
    }

    impl HttpClient for StartsFail {
        async fn send(
            &self,
            request: invalidator_core::io::HttpRequest,
        ) -> Result<invalidator_core::io::HttpResponse, invalidator_core::io::TransportError> {
            let status = if request.uri().path() == "/hook" { 200 } else { 500 };
            self.sent.borrow_mut().push(request);
            Ok(http::Response::builder().status(status).body(b"{}".to_vec()).unwrap())
        }
    }

    struct Still;
    impl Clock for Still {
        fn now(&self) -> Timestamp {
            Timestamp::from_secs(1_800_000_000)
        }
    }
    impl Sleep for Still {
        async fn sleep(&self, _: Duration) {}
    }

    fn one_change(receives: &str) -> SqsEvent {
        let change = ChangeBuilder::publish("hero").content_type("page").slug("hero").revision(2).build();
        let mut message = aws_lambda_events::event::sqs::SqsMessage::default();
        message.message_id = Some("msg-1".into());
        message.body = Some(serde_json::to_string(&change).unwrap());
        message.attributes.insert("ApproximateReceiveCount".into(), receives.into());
        let mut event = SqsEvent::default();
        event.records.push(message);
        event
    }

    #[tokio::test]
    async fn a_change_failing_its_last_receive_is_notified_as_dead_lettered_once() {
        let f = starter(&[("NOTIFY_URL", "http://127.0.0.1:9/hook"), ("NOTIFY_FORMAT", "json")]);
        let http = StartsFail { sent: Default::default() };
        for receives in ["1", "4"] {
            let answer = f.handle(one_change(receives), &http, &Still).await;
            assert_eq!(answer.batch_item_failures.len(), 1, "the change comes back");
        }
        let hooks = |http: &StartsFail| http.sent.borrow().iter().filter(|r| r.uri().path() == "/hook").count();
        assert_eq!(hooks(&http), 0, "not notified before its last receive");
        f.handle(one_change("5"), &http, &Still).await;
        assert_eq!(hooks(&http), 1);
        let sent = http.sent.borrow();
        let hook = sent.iter().find(|r| r.uri().path() == "/hook").unwrap();
        let body: serde_json::Value = serde_json::from_slice(hook.body()).unwrap();
        assert_eq!(body["event"]["kind"], "dead_lettered", "{body}");
        assert_eq!(body["event"]["changes"], json!(["hero"]));
        assert!(body["event"]["reason"].as_str().unwrap().contains("500"), "{body}");
    }
}
