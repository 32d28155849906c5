//! The catch-up sweep on AWS: the core's sweep ([`invalidator_core::sweep`])
//! from the stored position; the missed changes it finds are taken into one
//! workflow with the core's `ChangeAccepted`, as the webhook function takes a
//! change, and one Step Functions execution carries them on. The position,
//! the revisions taken and the last report live behind [`SweepStore`] (on
//! AWS, the DynamoDB table of the per-entry path memory:
//! [`crate::sweep_store`]).

use crate::dynamodb::{DynamoDbSettings, DynamoMemory};
use crate::execution_input::execution_input;
use crate::http_client::entropy;
use crate::stepfunctions::{read_start, start_execution, Started, StepFunctionsSettings};
use invalidator_core::io::{Clock, HttpClient};
use invalidator_core::memory::PathMemory;
use invalidator_core::observed::Observed;
use invalidator_core::settings::Settings;
use invalidator_core::sweep::{self, SweepReport, Taken};
use invalidator_core::sync::Position;
use invalidator_core::webhook::Change;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::cell::RefCell;

/// What the sweep keeps between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRecord {
    /// Where the next sweep reads from.
    pub position: Position,
    /// Revisions already taken in (webhooks' and the sweep's).
    pub taken: Taken,
    /// The last sweep, for `invalidator status`.
    pub last: Option<SweepReport>,
    /// The execution the last sweep with missed changes started: the invalidations they caused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
}

impl Default for SweepRecord {
    fn default() -> Self {
        SweepRecord { position: Position::Start, taken: Taken::default(), last: None, execution: None }
    }
}

/// Where the sweep's record is kept.
#[allow(async_fn_in_trait)]
pub trait SweepStore {
    /// The stored record, or the default (never swept) when there is none.
    async fn load(&self) -> Result<SweepRecord, String>;
    /// Applies `change` to the record as it is stored now and stores the
    /// result, as one step: a write another writer (a starter, another
    /// sweep) came between is not stored over theirs; `change` is applied
    /// again to what they stored. The record stored.
    async fn update(&self, change: &dyn Fn(&mut SweepRecord)) -> Result<SweepRecord, String>;
}

/// A store in memory: for tests, and for a process that sweeps more than once.
#[derive(Debug, Default)]
pub struct MemoryStore(pub RefCell<SweepRecord>);

impl SweepStore for MemoryStore {
    async fn load(&self) -> Result<SweepRecord, String> {
        Ok(self.0.borrow().clone())
    }
    async fn update(&self, change: &dyn Fn(&mut SweepRecord)) -> Result<SweepRecord, String> {
        let mut record = self.0.borrow_mut();
        change(&mut record);
        Ok(record.clone())
    }
}

/// The execution's name: the missed changes' tracking ids, hashed, so a
/// sweep run again after its record could not be saved starts nothing new.
pub fn execution_name(changes: &[Change]) -> String {
    let ids: Vec<&str> = changes.iter().map(|c| c.tracking_id.as_str()).collect();
    // Step Functions allows 80 characters.
    format!("sweep-{}", &crate::starter::execution_name(&ids)[..58])
}

/// Everything the sweep function needs, read once at start.
pub struct SweepFunction {
    pub settings: Settings,
    pub stepfunctions: StepFunctionsSettings,
    /// The path memory's table: the initial sync's entries are kept there
    /// (`None`: not kept).
    pub memory: Option<DynamoDbSettings>,
}

impl SweepFunction {
    /// Runs one sweep: the report it stored, or why its record could not be
    /// read (then nothing is done). The position moves only once the missed
    /// changes' execution has started.
    pub async fn handle<H: HttpClient, C: Clock, S: SweepStore>(
        &self,
        http: &H,
        clock: &C,
        store: &S,
    ) -> Result<SweepReport, String> {
        let s = &self.settings;
        let now = clock.now();
        let record = store.load().await.map_err(|e| format!("cannot read the sweep's record: {e}"))?;
        let outcome = sweep::run(http, &s.contentful, &s.policy, record.position.clone(), &record.taken, now).await;
        self.keep_observed(http, clock, &outcome.observed).await;
        let mut report = outcome.report.clone();
        let started = match outcome.changes.is_empty() {
            true => Ok(None),
            false => self.start(&outcome.changes, report.notice(), http, clock).await.map(Some),
        };
        let advanced = match (&report.error, started) {
            (Some(reason), _) => {
                tracing::error!(error = %reason, "catch-up sweep failed; the next one reads from the same position");
                None
            }
            (None, Err(e)) => {
                tracing::error!(error = %e, "catch-up sweep: could not start the execution; the next one reads again");
                report.error = Some(e);
                report.complete = false;
                None
            }
            (None, Ok(execution)) => Some(execution),
        };
        if let Some(warning) = report.warning().filter(|_| report.error.is_none()) {
            tracing::warn!("{warning}");
        }
        // Applied to the record as it is stored when written, not as it was
        // read: starters record webhooks' changes while the sweep reads.
        let save = |saved: &mut SweepRecord| {
            if let Some(execution) = &advanced {
                saved.execution = execution.clone().or(saved.execution.take());
                // Moved on only from where this sweep read: a sweep that
                // stored a position since is further on, and stays.
                if saved.position == record.position {
                    saved.position = outcome.position.clone();
                }
                for change in &outcome.changes {
                    saved.taken.record(change);
                }
            }
            saved.last = Some(report.clone());
        };
        if let Err(e) = store.update(&save).await {
            // Not saved: the next sweep reads the same changes, and starts the same execution name.
            tracing::error!(error = %e, "catch-up sweep: cannot save its record");
        }
        Ok(report)
    }

    /// Keeps the initial sync's entries in the path memory, so that their
    /// unpublish is exact from the first sweep on. Best effort: an entry not
    /// kept falls back to its rules' wildcard, as before.
    async fn keep_observed<H: HttpClient, C: Clock>(&self, http: &H, clock: &C, observed: &[Observed]) {
        let Some(table) = self.memory.as_ref().filter(|_| !observed.is_empty()) else {
            return;
        };
        let memory = DynamoMemory {
            http,
            clock,
            settings: table,
            partition: self.settings.cloudfront.distribution_ids.join(","),
            max_entries: self.settings.policy.path_memory_entries,
        };
        match memory.observe(observed.to_vec()).await {
            Ok(()) => tracing::info!(entries = observed.len(), "catch-up sweep: entries kept in the path memory"),
            Err(e) => tracing::error!(error = %e.reason, "catch-up sweep: the path memory could not keep its entries"),
        }
    }

    /// Takes `changes` into one workflow and starts one execution for it.
    /// Started here, not sent to the changes queue: they are one batch
    /// already (what the queue's window would collect), and the execution
    /// named from their tracking ids makes a sweep run again start nothing
    /// new; through the queue they would wait one window more.
    /// The execution carries the sweep's `notice` (deliveries are failing)
    /// in its workflow, whose first task sends it like any notification.
    async fn start<H: HttpClient, C: Clock>(
        &self,
        changes: &[Change],
        notice: Option<invalidator_core::notify::Notice>,
        http: &H,
        clock: &C,
    ) -> Result<String, String> {
        let s = &self.settings;
        let now = clock.now();
        let mut state =
            execution_input(&s.cloudfront.distribution_ids, &s.policy, changes.iter().cloned(), now, entropy());
        if let Some(notice) = notice {
            state.workflow.take_notice(notice, &s.policy, now);
        }
        let name = execution_name(changes);
        let request = start_execution(&self.stepfunctions, &name, &json!(state), now).map_err(|e| e.to_string())?;
        let answer = http.send(request).await.map_err(|e| e.to_string())?;
        match read_start(&answer)? {
            Started::New { execution_arn } => {
                tracing::info!(%execution_arn, changes = changes.len(), "sweep execution started")
            }
            Started::AlreadyExists => tracing::info!(%name, "sweep execution already started"),
        }
        Ok(name)
    }
}
