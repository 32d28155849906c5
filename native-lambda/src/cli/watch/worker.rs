//! Where a change stands, as the Worker reports it: `GET /entries/{id}` for
//! an entry (its newest change), else `GET /invalidations/{id}` for a
//! tracking id, each per distribution, with `STATUS_TOKEN` as the bearer
//! token (never printed).

use crate::cli::{usage, CliError};
use crate::http_client::ReqwestClient;
use invalidator_core::io::HttpClient;
use invalidator_core::settings::SettingsMap;
use invalidator_core::workflow::Tracked;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Characters of an error answer's body worth repeating.
const BODY_SHOWN: usize = 300;

/// The Worker to ask and the token to ask with: `WORKER_URL`, `STATUS_TOKEN`.
pub struct Worker {
    base: String,
    token: Option<String>,
    http: ReqwestClient,
}

/// One distribution's view of the change followed.
#[derive(Debug, Clone)]
pub struct Sighting {
    pub distribution: String,
    pub change: Tracked,
}

/// What one look found: the change on each distribution that knows it
/// (empty: no distribution knows it yet).
pub type Look = Vec<Sighting>;

/// A look that failed: `Refused` stops the watch (the settings are wrong),
/// `Unavailable` is tried again at the next poll.
pub enum LookError {
    Refused(CliError),
    Unavailable(String),
}

#[derive(Deserialize)]
struct EntryAnswer {
    #[serde(default)]
    distributions: BTreeMap<String, EntryChanges>,
}

#[derive(Deserialize)]
struct EntryChanges {
    #[serde(default)]
    changes: Vec<Tracked>,
}

impl Worker {
    /// Reads `WORKER_URL` (a scheme and host, as `https://invalidator.example.workers.dev`) and `STATUS_TOKEN`.
    pub fn from_map(map: &SettingsMap) -> Result<Option<Worker>, CliError> {
        let Some(url) = map.get("WORKER_URL").filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let base = url.trim().trim_end_matches('/');
        let host = base.strip_prefix("https://").or_else(|| base.strip_prefix("http://"));
        if host.is_none_or(|h| h.is_empty() || h.contains(['/', '?', '#', ' '])) {
            return Err(usage(format!("WORKER_URL must be the Worker's https://host[:port], got {url:?}")));
        }
        let token = map.get("STATUS_TOKEN").filter(|t| !t.is_empty()).cloned();
        Ok(Some(Worker { base: base.to_string(), token, http: ReqwestClient::default() }))
    }

    /// Where `id` (an entry id or a tracking id) stands now.
    pub async fn look(&self, id: &str) -> Result<Look, LookError> {
        if let Some(answer) = self.get(&format!("/entries/{id}"), &[400]).await? {
            let answer: EntryAnswer = serde_json::from_value(answer).map_err(|e| {
                LookError::Unavailable(format!("the Worker's /entries answer is not the expected JSON: {e}"))
            })?;
            if let Some(look) = newest_change(answer) {
                return Ok(look);
            }
        }
        let Some(answer) = self.get(&format!("/invalidations/{id}"), &[400, 404]).await? else {
            return Ok(Vec::new());
        };
        let per_distribution: BTreeMap<String, serde_json::Value> = serde_json::from_value(answer).unwrap_or_default();
        Ok(per_distribution
            .into_iter()
            .filter_map(|(distribution, v)| {
                serde_json::from_value::<Tracked>(v).ok().map(|change| Sighting { distribution, change })
            })
            .collect())
    }

    /// The JSON at `path`; `None` when the Worker answers one of `unknown`.
    async fn get(&self, path: &str, unknown: &[u16]) -> Result<Option<serde_json::Value>, LookError> {
        let mut request = http::Request::get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(Vec::new()).map_err(|e| LookError::Refused(usage(format!("{path}: {e}"))))?;
        let response = self.http.send(request).await.map_err(|e| LookError::Unavailable(e.to_string()))?;
        let status = response.status().as_u16();
        if unknown.contains(&status) {
            return Ok(None);
        }
        let body = String::from_utf8_lossy(response.body()).chars().take(BODY_SHOWN).collect::<String>();
        match status {
            200 => serde_json::from_slice(response.body())
                .map(Some)
                .map_err(|e| LookError::Unavailable(format!("the Worker's answer to {path} is not JSON: {e}"))),
            401 | 403 => Err(LookError::Refused(usage(format!(
                "the Worker refused the status token ({status}): set STATUS_TOKEN to the Worker's"
            )))),
            _ => Err(LookError::Unavailable(format!("the Worker answered {status} to {path}: {body}"))),
        }
    }
}

/// The entry's newest change (the latest received), on each distribution that has it.
fn newest_change(answer: EntryAnswer) -> Option<Look> {
    let received = |t: &Tracked| t.label.as_ref().map(|l| l.received_at);
    let newest = answer.distributions.values().flat_map(|d| d.changes.first()).max_by_key(|t| received(t))?;
    let tracking_id = newest.tracking_id.clone();
    let look = answer
        .distributions
        .into_iter()
        .filter_map(|(distribution, d)| {
            let change = d.changes.into_iter().find(|t| t.tracking_id == tracking_id)?;
            Some(Sighting { distribution, change })
        })
        .collect();
    Some(look)
}
