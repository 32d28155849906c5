//! What one catch-up sweep found, for the status pages and the log: when it
//! ran, how many items it read, which of them no webhook had brought, and
//! (through their tracking ids) the invalidations they caused.

use crate::time::Timestamp;
use crate::webhook::{Change, EntityKind};
use serde::{Deserialize, Serialize};

/// Missed changes named on the status page and in the warning; the count is whole.
pub const MISSED_SHOWN: usize = 20;

/// Unreadable items named on the status page and in the warning; the count is whole.
pub const UNREADABLE_SHOWN: usize = 20;

/// Characters of one unreadable item's note kept: a parser's message can
/// quote the item, and the report stays small.
const NOTE_MAX_CHARS: usize = 300;

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
    /// Items it could not read and went past (a field nested too deep, say):
    /// they are not invalidated, and the sweep is not stopped by them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unreadable: u64,
    /// The first [`UNREADABLE_SHOWN`] of them: the item's id when it can be
    /// read, else its place on its page, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable_items: Vec<String>,
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
            unreadable: 0,
            unreadable_items: Vec::new(),
            error: None,
        }
    }

    pub(super) fn unreadable(&mut self, notes: Vec<String>, page: u32) {
        for note in notes {
            self.unreadable += 1;
            if self.unreadable_items.len() < UNREADABLE_SHOWN {
                let note: String = note.chars().take(NOTE_MAX_CHARS).collect();
                self.unreadable_items.push(format!("page {page}: {note}"));
            }
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
        self.unreadable = 0;
        self.unreadable_items.clear();
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

    /// The warning to log when the sweep found changes no webhook brought
    /// (webhook deliveries are failing), or items it could not read.
    pub fn warning(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.missed > 0 {
            parts.push(format!(
                "catch-up sweep found {} change(s) no webhook brought ({}{}); they are being invalidated now. \
                 Webhook deliveries are failing: check the webhook's URL, secret and Contentful's webhook activity log",
                self.missed,
                self.missed_changes.join(", "),
                and_more(self.missed, self.missed_changes.len())
            ));
        }
        if self.unreadable > 0 {
            parts.push(format!(
                "catch-up sweep went past {} item(s) it could not read, which it does not invalidate ({}{})",
                self.unreadable,
                self.unreadable_items.join("; "),
                and_more(self.unreadable, self.unreadable_items.len())
            ));
        }
        (!parts.is_empty()).then(|| parts.join(". "))
    }
}

/// `" and N more"` when `shown` of `count` were named.
fn and_more(count: u64, shown: usize) -> String {
    match count.saturating_sub(shown as u64) {
        0 => String::new(),
        more => format!(" and {more} more"),
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
