//! One notification: its cause, a line a person reads, and the few facts
//! behind it (reason, paths, changes), bounded whatever the cause's size.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Paths (and changes) a notice lists; the rest are counted. A chat message
/// stays readable, and a notice waiting in the workflow value stays small.
pub const PATHS_SHOWN: usize = 20;
/// The longest reason or summary kept, in bytes.
const TEXT_MAX: usize = 500;

/// Why a notice is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A batch ended without being invalidated.
    BatchFailed,
    /// Paths given up after their retries (`RETRY_FAILED_FOR_SECONDS`).
    GivenUp,
    /// The catch-up sweep found changes no webhook brought.
    SweepMissed,
    /// Pages still stale after every verification round.
    NotVerified,
    /// The month's billed items crossed `BILLING_ALERT_ITEMS`.
    BillingAlert,
    /// A change was sent to the dead-letter queue (AWS).
    DeadLettered,
    /// A batch's changes were verified live (`NOTIFY_ON=completed`).
    Live,
}

/// A notification, as the JSON event carries it (the Slack body is written
/// from the same fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The cause, once: a second notice with the same key is not sent.
    pub key: String,
    /// Why it is sent.
    pub kind: Kind,
    /// One line a person reads.
    pub summary: String,
    /// The distribution it concerns, when one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_id: Option<String>,
    /// What went wrong, when something did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The first [`PATHS_SHOWN`] paths concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// How many paths are concerned, all of them.
    #[serde(default)]
    pub path_count: usize,
    /// Tracking ids (or entry ids) of the changes concerned, the first few.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    /// When the cause happened.
    pub at: Timestamp,
}

impl Notice {
    /// A notice of `kind` for the cause `key`, with `summary`; the facts are
    /// added with the `with_*` methods.
    pub fn new(kind: Kind, key: String, summary: String, at: Timestamp) -> Self {
        Notice {
            key,
            kind,
            summary: clip(summary),
            distribution_id: None,
            reason: None,
            paths: Vec::new(),
            path_count: 0,
            changes: Vec::new(),
            at,
        }
    }

    /// The distribution it concerns.
    pub fn with_distribution(mut self, id: &str) -> Self {
        self.distribution_id = Some(id.to_string());
        self
    }

    /// What went wrong.
    pub fn with_reason(mut self, reason: &str) -> Self {
        self.reason = Some(clip(reason.to_string()));
        self
    }

    /// The paths concerned: `count` in all, the first [`PATHS_SHOWN`] of `paths` kept.
    pub fn with_paths<'a>(mut self, paths: impl IntoIterator<Item = &'a String>, count: usize) -> Self {
        self.paths = paths.into_iter().take(PATHS_SHOWN).map(|p| clip(p.clone())).collect();
        self.path_count = count.max(self.paths.len());
        self
    }

    /// The changes concerned, the first [`PATHS_SHOWN`].
    pub fn with_changes<'a>(mut self, changes: impl IntoIterator<Item = &'a String>) -> Self {
        self.changes = changes.into_iter().take(PATHS_SHOWN).map(|c| clip(c.clone())).collect();
        self
    }

    /// The paths not listed.
    pub fn paths_not_shown(&self) -> usize {
        self.path_count.saturating_sub(self.paths.len())
    }
}

/// The notice of a catch-up sweep that took in `entries` (`count` in all)
/// that no webhook brought: Contentful's deliveries to this deployment are
/// failing or were dropped. `None` when it found none. `position` names the
/// sweep run (its sync position), so a run retried is notified once.
pub fn sweep_missed(entries: &[String], count: usize, position: &str, now: Timestamp) -> Option<Notice> {
    if count == 0 {
        return None;
    }
    let summary = format!(
        "The catch-up sweep found {count} change(s) no webhook brought: Contentful's webhook deliveries are failing"
    );
    let key = format!("sweep:{position}");
    Some(Notice::new(Kind::SweepMissed, key, summary, now).with_changes(entries))
}

/// The notice of a queued change that failed its last receive
/// (`receives` of `maxReceiveCount`): SQS moves it to the dead-letter queue
/// next. `entry` names the change when its message could be read.
pub fn dead_lettered(message_id: &str, entry: Option<&str>, reason: &str, receives: u32, now: Timestamp) -> Notice {
    let what = entry.map_or_else(|| format!("message {message_id}"), |e| format!("the change of {e}"));
    let summary = format!(
        "{what} could not be started after {receives} receives and goes to the dead-letter queue: see `invalidator dead-letters`"
    );
    let changes: Vec<String> = entry.into_iter().map(String::from).collect();
    Notice::new(Kind::DeadLettered, format!("dead-letter:{message_id}"), summary, now)
        .with_reason(reason)
        .with_changes(&changes)
}

/// Cuts `text` to [`TEXT_MAX`] bytes at a character boundary.
fn clip(mut text: String) -> String {
    if text.len() > TEXT_MAX {
        let mut end = TEXT_MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}
