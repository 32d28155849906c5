//! `invalidator watch <entry-id | tracking-id>`: follows a change through
//! its steps until visitors get it. Against the Worker (`WORKER_URL`, with
//! `STATUS_TOKEN`) it polls `GET /entries/{id}` (or `/invalidations/{id}`
//! for a tracking id). Exits 0 once the change is live, 1 with the reason
//! when it failed, was not verified, or `--timeout` passed first (saying
//! where it stands), 2 when the arguments or settings are wrong.

mod display;
mod standing;
mod worker;

use super::{failed, usage, CliError};
use display::Display;
use invalidator_core::settings::SettingsMap;
use invalidator_core::workflow::Standing;
use standing::{verdict, Verdict};
use std::io::IsTerminal;
use std::time::{Duration, Instant};
use worker::{LookError, Worker};

/// `--timeout` default: CloudFront usually completes within minutes, and
/// verification's retries add about a minute more.
pub const DEFAULT_TIMEOUT_SECONDS: f64 = 900.0;
/// `--interval` default: how often the Worker is asked.
pub const DEFAULT_INTERVAL_SECONDS: f64 = 2.0;
/// The shortest `--interval`, so a watch never hammers the Worker.
const MIN_INTERVAL_SECONDS: f64 = 0.1;

/// Follows `id` until it is live, ended or `timeout` passed.
pub async fn watch(map: &SettingsMap, id: String, timeout: f64, interval: f64) -> Result<(), CliError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(usage(format!("{id:?} is not an entry id or a tracking id (letters, digits, '-', '_', '.')")));
    }
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(usage(format!("--timeout must be a positive number of seconds, got {timeout}")));
    }
    if !(interval.is_finite() && interval >= MIN_INTERVAL_SECONDS) {
        return Err(usage(format!("--interval must be at least {MIN_INTERVAL_SECONDS} s, got {interval}")));
    }
    let Some(worker) = Worker::from_map(map)? else {
        return Err(usage(
            "WORKER_URL is not set: watch follows a change through the Worker's status (the AWS body is not followed yet)",
        ));
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(timeout);
    let mut display = Display::new(std::io::stdout().is_terminal());
    // Where it stood at the last answer, and the last poll's error.
    let mut standing: Option<Standing> = None;
    let mut error: Option<String>;
    loop {
        match worker.look(&id).await {
            Ok(look) => {
                let v = verdict(&look);
                display.show(&id, &look, &v, started.elapsed());
                match v {
                    Verdict::Live => {
                        display.finish();
                        println!(
                            "{id}: live after {}",
                            super::timeline::duration(started.elapsed().as_millis() as u64)
                        );
                        return Ok(());
                    }
                    Verdict::Ended(why) => {
                        display.finish();
                        return Err(failed(format!("{id}: {why}")));
                    }
                    Verdict::OnItsWay(s) => (standing, error) = (Some(s), None),
                    Verdict::NotSeen => error = None,
                }
            }
            Err(LookError::Refused(e)) => {
                display.finish();
                return Err(e);
            }
            Err(LookError::Unavailable(why)) => error = Some(why),
        }
        if Instant::now() + Duration::from_secs_f64(interval) > deadline {
            display.finish();
            return Err(failed(timed_out(&id, timeout, standing, error.as_deref())));
        }
        tokio::time::sleep(Duration::from_secs_f64(interval)).await;
    }
}

/// `hero: still in_progress after 900 s (--timeout)`, with the last error seen.
fn timed_out(id: &str, timeout: f64, standing: Option<Standing>, error: Option<&str>) -> String {
    let stands = standing.map_or_else(|| "not known to the Worker".to_string(), |s| format!("still {s}"));
    let error = error.map(|e| format!("; the last poll failed: {e}")).unwrap_or_default();
    format!("{id}: {stands} after {timeout} s (--timeout){error}")
}
