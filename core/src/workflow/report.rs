//! A change as a person asks after it ("is my change live?"): where it
//! stands, the entry it changed, its timeline, the first of its paths and
//! tags. What the status page, `GET /entries/{id}` and the CLI show per
//! change; they work none of it out themselves.

use super::status::{BatchSummary, Tracked};
use super::timeline::{timeline, TimelineStep};
use super::types::Batch;
use super::Workflow;
use serde::{Deserialize, Serialize};

/// Paths and tags a report lists; the counts are whole.
const PATHS_SHOWN: usize = 10;
/// Changes the status page lists: the latest.
pub const RECENT_CHANGES_SHOWN: usize = 20;

/// One change, reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeReport {
    /// Where it stands, and the entry it changed.
    #[serde(flatten)]
    pub change: Tracked,
    /// The distribution of the batch that serves it, once planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_id: Option<String>,
    /// The steps it has passed, in order.
    pub timeline: Vec<TimelineStep>,
    /// The first of its batch's paths and tags.
    #[serde(default)]
    pub paths: Vec<String>,
    /// How many items its batch holds.
    #[serde(default)]
    pub path_count: usize,
    /// How many of them are cache tags.
    #[serde(default)]
    pub tag_count: usize,
    /// What is worth an operator's eye about its batch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ChangeReport {
    /// The report of `change`, served by `batch` when it is planned.
    fn of(change: Tracked, batch: Option<&Batch>) -> ChangeReport {
        let summary = batch.map(BatchSummary::from);
        let steps = timeline(change.label.as_ref(), summary.as_ref());
        let mut report = ChangeReport {
            change,
            distribution_id: None,
            timeline: steps,
            paths: Vec::new(),
            path_count: 0,
            tag_count: 0,
            notes: Vec::new(),
        };
        if let Some(s) = summary {
            report.distribution_id = Some(s.distribution_id);
            report.paths = s.paths.into_iter().take(PATHS_SHOWN).collect();
            report.path_count = s.path_count;
            report.tag_count = s.tag_count;
            report.notes = s.notes;
        }
        report
    }
}

impl Workflow {
    /// The latest changes, newest first, each once (in the newest batch that
    /// serves it): those not planned yet, then those of every batch kept.
    pub fn recent_changes(&self, limit: usize) -> Vec<ChangeReport> {
        self.reports(limit, |_| true)
    }

    /// The latest changes of the entry (or asset) `entry_id`, newest first.
    pub fn entry_report(&self, entry_id: &str) -> Vec<ChangeReport> {
        let of_entry = |t: &Tracked| t.label.as_ref().is_some_and(|l| l.entry_id == entry_id);
        self.reports(super::ENTRY_CHANGES_SHOWN, of_entry)
    }

    fn reports(&self, limit: usize, keep: impl Fn(&Tracked) -> bool) -> Vec<ChangeReport> {
        let mut found: Vec<ChangeReport> =
            self.waiting().into_iter().rev().filter(|t| keep(t)).map(|t| ChangeReport::of(t, None)).collect();
        for b in self.batches().rev().chain(self.history().iter().rev()) {
            // A batch of changes no label names (an operator's paths, a
            // value stored before labels) still shows, by tracking id.
            let unlabelled = b.changes.iter().filter(|t| !b.labels.iter().any(|l| &l.tracking_id == *t));
            let changes = b.labels.iter().rev().map(|l| (l.tracking_id.as_str(), Some(l.clone())));
            for (id, label) in changes.chain(unlabelled.map(|t| (t.as_str(), None))) {
                if found.len() >= limit {
                    return found;
                }
                let tracked = Tracked::in_batch(b, id, label);
                if keep(&tracked) && !found.iter().any(|r| r.change.tracking_id == id) {
                    found.push(ChangeReport::of(tracked, Some(b)));
                }
            }
        }
        found.truncate(limit);
        found
    }
}
