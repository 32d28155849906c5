//! The catch-up sweep on the Worker. The cron trigger (wrangler.toml, every
//! minute) runs [`scheduled`], which asks each distribution's Durable Object
//! to sweep on the minutes divisible by `SWEEP_INTERVAL_MINUTES`. The object
//! runs the core's sweep ([`invalidator_core::sweep`]) from its stored
//! position, stores each missed change in its inbox exactly as a webhook's
//! change is stored, then stores the new position and the report. Position,
//! revisions taken and the last report live in their own keys, never inside
//! the workflow value.

use crate::clock::WorkerClock;
use crate::fetch_client::FetchClient;
use crate::stored;
use crate::{settings, COORDINATOR};
use invalidator_core::io::Clock;
use invalidator_core::settings::Settings;
use invalidator_core::sweep::{self, SweepOutcome, SweepReport, Taken};
use invalidator_core::sync::Position;
use invalidator_core::webhook::Change;
use invalidator_core::workflow::Workflow;
use serde_json::{json, Value};
use std::time::Duration;
use worker::{event, Env, Method, Request, RequestInit, ScheduleContext, ScheduledEvent, Storage};

/// Where the next sweep reads from.
const POSITION: &str = "sweep:position";
/// The revisions already taken in (webhooks' and the sweep's).
const TAKEN: &str = "sweep:taken";
/// The last sweep's report, for the status page.
const LAST: &str = "sweep:last";

/// True when a cron tick at `minute` (minutes since the Unix epoch) is a sweep's.
pub fn due(interval_minutes: u32, minute: u64) -> bool {
    interval_minutes != 0 && minute % u64::from(interval_minutes) == 0
}

#[event(scheduled)]
pub async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let settings = match Settings::from_map(&settings::from_env(&env)) {
        Ok(s) => s,
        Err(e) => return worker::console_error!("invalidator: no catch-up sweep: {e}"),
    };
    let minute = (event.schedule().max(0.0) / 60_000.0).round() as u64;
    if !due(settings.policy.sweep_interval_minutes, minute) {
        return;
    }
    for distribution in &settings.cloudfront.distribution_ids {
        if let Err(e) = ask_to_sweep(&env, distribution).await {
            worker::console_error!("invalidator: the catch-up sweep for {distribution} did not run: {e}");
        }
    }
}

async fn ask_to_sweep(env: &Env, distribution: &str) -> worker::Result<()> {
    let stub = env.durable_object(COORDINATOR)?.id_from_name(distribution)?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    let url = format!("https://coordinator/sweep?distribution={distribution}");
    let answer = stub.fetch_with_request(Request::new_with_init(&url, &init)?).await?;
    match answer.status_code() {
        200 => Ok(()),
        status => Err(worker::Error::RustError(format!("the Durable Object answered {status}"))),
    }
}

/// Runs one sweep inside the Durable Object: `waiting` is its inbox (changes
/// stored and not yet taken in, which count as taken). Returns the changes
/// to store in the inbox; [`finish`] stores the rest once they are.
pub async fn run(storage: &Storage, settings: &Settings, waiting: &[Change]) -> worker::Result<SweepOutcome> {
    let position: Position = stored::get(storage, POSITION).await?.unwrap_or(Position::Start);
    let mut taken: Taken = stored::get(storage, TAKEN).await?.unwrap_or_default();
    for change in waiting {
        taken.record(change);
    }
    let http = FetchClient { timeout: Duration::from_secs(20) };
    Ok(sweep::run(&http, &settings.contentful, position, &taken, WorkerClock.now()).await)
}

/// After the outcome's changes are in the inbox: stores the position and the
/// report, and tells the operator what it found.
pub async fn finish(storage: &Storage, outcome: &SweepOutcome) -> worker::Result<()> {
    let report = &outcome.report;
    match &report.error {
        // The position stays: the next sweep reads the same changes again.
        Some(reason) => {
            worker::console_error!("invalidator: catch-up sweep failed, will retry from the same position: {reason}")
        }
        None => stored::put(storage, POSITION, &outcome.position).await?,
    }
    if let Some(warning) = report.warning() {
        worker::console_warn!("invalidator: {warning}");
    }
    stored::put(storage, LAST, report).await
}

/// Records changes taken into the workflow (from webhooks or the sweep).
pub async fn record_taken(storage: &Storage, changes: &[Change]) -> worker::Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut taken: Taken = stored::get(storage, TAKEN).await?.unwrap_or_default();
    for change in changes {
        taken.record(change);
    }
    stored::put(storage, TAKEN, &taken).await
}

/// The last sweep for the status page: its report, and where each missed
/// change it fed stands (the batch and invalidation it joined).
pub async fn status(storage: &Storage, workflow: Option<&Workflow>) -> worker::Result<Value> {
    let Some(report) = last_report(storage).await? else {
        return Ok(Value::Null);
    };
    let invalidations: Vec<Value> = report
        .tracking_ids
        .iter()
        .map(|id| match workflow.and_then(|w| w.track(id)) {
            Some(tracked) => json!(tracked),
            None => json!({"tracking_id": id, "state": "accepted"}),
        })
        .collect();
    let mut value = json!(report);
    value["invalidations"] = Value::Array(invalidations);
    Ok(value)
}

/// The last sweep's report, if a sweep ran.
pub async fn last_report(storage: &Storage) -> worker::Result<Option<SweepReport>> {
    stored::get::<SweepReport>(storage, LAST).await
}

#[cfg(test)]
mod tests {
    use super::due;

    #[test]
    fn a_tick_sweeps_on_the_minutes_its_interval_divides_and_never_when_off() {
        assert!(due(5, 0) && due(5, 10) && !due(5, 11));
        assert!(due(1, 7));
        assert!(!due(0, 0) && !due(0, 5));
    }
}
