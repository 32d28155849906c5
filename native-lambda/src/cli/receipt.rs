//! The receipt of a change as the CLI prints it: one line a step, with its
//! time and the time since the step before, read from the Worker's status
//! page (`status <tracking-id> --worker <url>`) or from the workflow the CLI
//! ran itself (`invalidate --wait`).

use super::{failed, usage, CliError};
use crate::http_client::ReqwestClient;
use invalidator_core::io::HttpClient;
use invalidator_core::settings::SettingsMap;
use invalidator_core::workflow::{ReceiptStep, Tracked};

/// Prints `steps` under a heading line.
pub(super) fn print(steps: &[ReceiptStep]) {
    println!("receipt:");
    for s in steps {
        let name = serde_json::to_value(s.step).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        let detail = s.detail.as_deref().map(|d| format!("  {d}")).unwrap_or_default();
        println!("  {name:<14} at {} ms (+{} ms){detail}", s.at.as_millis(), s.since_previous_ms);
    }
}

/// `status <tracking-id> --worker <url>`: the change's state and receipt from
/// the Worker's `GET /invalidations/{id}` (with `STATUS_TOKEN`, when set).
pub(super) async fn from_worker(map: &SettingsMap, worker: &str, id: &str) -> Result<(), CliError> {
    let base = worker.trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(usage(format!("--worker must be the Worker's URL (https://...), got {worker:?}")));
    }
    let mut request = http::Request::get(format!("{base}/invalidations/{id}"));
    if let Some(token) = map.get("STATUS_TOKEN").filter(|t| !t.is_empty()) {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(Vec::new()).map_err(|e| usage(format!("{id:?}: {e}")))?;
    let response = ReqwestClient::default().send(request).await.map_err(failed)?;
    let status = response.status();
    if !status.is_success() {
        let body = String::from_utf8_lossy(response.body());
        return Err(failed(format!(
            "the Worker answered {status} for {id}: {}",
            body.chars().take(300).collect::<String>()
        )));
    }
    // The Worker answers for each distribution it invalidates.
    let by_distribution: std::collections::BTreeMap<String, Tracked> = serde_json::from_slice(response.body())
        .map_err(|e| failed(format!("the Worker's answer for {id} is not a tracked change: {e}")))?;
    for (distribution, tracked) in by_distribution {
        println!("{} on {distribution}: {}", tracked.tracking_id, tracked.state);
        if let Some(reason) = &tracked.reason {
            println!("reason: {reason}");
        }
        print(&tracked.receipt);
    }
    Ok(())
}
