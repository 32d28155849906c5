//! What one catch-up sweep found, for the status pages and the log: when it
//! ran, how many items it read, which of them no webhook had brought, and
//! (through their tracking ids) the invalidations they caused.

use crate::time::Timestamp;
use crate::webhook::{Change, EntityKind};
use serde::{Deserialize, Serialize};

/// Missed changes named on the status page and in the warning; the count is whole.
pub const MISSED_SHOWN: usize = 20;

/// One sweep's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepReport {
    /// When it started.
    pub at: Timestamp,
    /// The initial sync: where the space stands was recorded, nothing invalidated.
    pub first: bool,
    /// Read to the end (`nextSyncUrl`); false when it failed or stopped at its page limit.
    pub complete: bool,
    /// Sync API requests it made.
    pub requests: u32,
    /// Items (entries, assets, deletions) it read.
    pub items: u64,
    /// Items no webhook had brought: changes it fed to the workflow.
    pub missed: u64,
    /// The first [`MISSED_SHOWN`] of them, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missed_changes: Vec<String>,
    /// Their tracking ids, to find the invalidations they caused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracking_ids: Vec<String>,
    /// Why it failed, when it did (its position was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SweepReport {
    pub(super) fn new(at: Timestamp, first: bool) -> Self {
        SweepReport {
            at,
            first,
            complete: false,
            requests: 0,
            items: 0,
            missed: 0,
            missed_changes: Vec::new(),
            tracking_ids: Vec::new(),
            error: None,
        }
    }

    pub(super) fn missed(&mut self, change: &Change) {
        self.missed += 1;
        if self.missed_changes.len() < MISSED_SHOWN {
            let kind = match change.kind {
                EntityKind::Entry => "entry",
                EntityKind::Asset => "asset",
            };
            let revision = change.revision.map(|r| format!(" revision {r}")).unwrap_or_default();
            self.missed_changes.push(format!("{kind} {} {:?}{revision}", change.id, change.action).to_lowercase());
            self.tracking_ids.push(change.tracking_id.clone());
        }
    }

    pub(super) fn fail(&mut self, reason: String) {
        self.complete = false;
        self.missed = 0;
        self.missed_changes.clear();
        self.tracking_ids.clear();
        self.error = Some(reason);
    }

    /// The notification of the changes it found that no webhook brought
    /// (see [`crate::notify::sweep_missed`]); `None` when it found none or failed.
    pub fn notice(&self) -> Option<crate::notify::Notice> {
        if self.error.is_some() || self.first {
            return None;
        }
        let position = self.at.as_millis().to_string();
        crate::notify::sweep_missed(&self.missed_changes, self.missed as usize, &position, self.at)
    }

    /// The warning to log when the sweep found changes no webhook brought:
    /// it means webhook deliveries are failing.
    pub fn warning(&self) -> Option<String> {
        if self.missed == 0 {
            return None;
        }
        let more = self.missed.saturating_sub(self.missed_changes.len() as u64);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        Some(format!(
            "catch-up sweep found {} change(s) no webhook brought ({}{more}); they are being invalidated now. \
             Webhook deliveries are failing: check the webhook's URL, secret and Contentful's webhook activity log",
            self.missed,
            self.missed_changes.join(", ")
        ))
    }
}
