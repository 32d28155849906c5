//! The last catch-up sweep, for `invalidator status`: read from the sweep's
//! record in `PATH_MEMORY_TABLE` ([`crate::sweep_store`]); nothing is printed
//! when the table is not set (no sweep on this deployment).

use super::{failed, usage, CliError};
use crate::dynamodb::DynamoDbSettings;
use crate::http_client::{ReqwestClient, SystemClock};
use crate::sweep::SweepStore;
use crate::sweep_store::{partition, DynamoSweepStore};
use invalidator_core::io::Clock;
use invalidator_core::settings::SettingsMap;

pub(super) async fn print_last_sweep(map: &SettingsMap, distribution_ids: &[String]) -> Result<(), CliError> {
    let Some(settings) = DynamoDbSettings::from_map(map).map_err(usage)? else {
        return Ok(());
    };
    let http = ReqwestClient::default();
    let store = DynamoSweepStore {
        http: &http,
        clock: &SystemClock,
        settings: &settings,
        partition: partition(distribution_ids),
    };
    let record = store.load().await.map_err(|e| failed(format!("cannot read the sweep's record: {e}")))?;
    let Some(last) = record.last else {
        println!("last sweep: none yet");
        return Ok(());
    };
    let ago = last.at.until(SystemClock.now()).as_secs();
    let outcome = match (&last.error, last.first) {
        (Some(reason), _) => format!("failed ({reason}); the next sweep reads from the same position"),
        (None, true) => "the first: recorded where the space stands, invalidated nothing".to_string(),
        (None, false) => format!("{} missed change(s)", last.missed),
    };
    println!(
        "last sweep: {ago} s ago (at {} ms since the epoch), {} item(s) read in {} request(s), {outcome}",
        last.at.as_millis(),
        last.items,
        last.requests
    );
    if last.missed > 0 {
        println!("  missed (no webhook brought them): {}", last.missed_changes.join(", "));
        if let Some(execution) = &record.execution {
            println!("  their invalidations: Step Functions execution {execution}");
        }
    }
    if last.unreadable > 0 {
        println!(
            "  gone past, unreadable, not invalidated ({}): {}",
            last.unreadable,
            last.unreadable_items.join("; ")
        );
    }
    Ok(())
}
