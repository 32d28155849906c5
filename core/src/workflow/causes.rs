//! The notices the workflow's own moments cause: a batch failed, paths
//! given up, pages not verified live, the month's items past
//! `BILLING_ALERT_ITEMS`, and (with `NOTIFY_ON=completed`) a batch live.
//! Each key names its cause, so [`super::Notices`] sends it once.

use super::billing::Billing;
use super::retries::GivenUp;
use super::types::Batch;
use crate::notify::{Kind, Notice};
use crate::time::Timestamp;

/// A batch that ended failed, with `reason` and every path it held.
pub(super) fn batch_failed(batch: &Batch, reason: &str, now: Timestamp) -> Notice {
    let summary = format!(
        "Batch {} failed: {} path(s) on {} not invalidated",
        batch.sequence, batch.path_count, batch.distribution_id
    );
    let key = format!("failed:{}:{}:{}", batch.distribution_id, batch.sequence, batch.caller_reference);
    Notice::new(Kind::BatchFailed, key, summary, now)
        .with_distribution(&batch.distribution_id)
        .with_reason(reason)
        .with_paths(&batch.paths, batch.path_count)
        .with_changes(&batch.changes)
}

/// Paths given up after their retries.
pub(super) fn given_up(g: &GivenUp) -> Notice {
    let summary = format!("{} path(s) given up after their retries: invalidate them by hand", g.path_count);
    let key = format!("given-up:{}:{}", g.at.as_millis(), g.path_count);
    Notice::new(Kind::GivenUp, key, summary, g.at).with_reason(&g.reason).with_paths(&g.paths, g.path_count)
}

/// A verified batch some of whose pages were not verified live.
pub(super) fn not_verified(batch: &Batch, now: Timestamp) -> Notice {
    let summary = format!(
        "Batch {}: {} page(s) not verified live on {}",
        batch.sequence,
        batch.not_verified.len(),
        batch.distribution_id
    );
    let key = format!("not-verified:{}:{}:{}", batch.distribution_id, batch.sequence, batch.caller_reference);
    Notice::new(Kind::NotVerified, key, summary, now)
        .with_distribution(&batch.distribution_id)
        .with_paths(&batch.not_verified, batch.not_verified.len())
        .with_changes(&batch.changes)
}

/// A batch live: verified through the site, or Completed where nothing verifies.
pub(super) fn live(batch: &Batch, verified: bool, now: Timestamp) -> Notice {
    let how = if verified { "verified live" } else { "Completed (SITE_URL unset: not verified)" };
    let summary = format!("{} change(s) {how} on {}", batch.change_count.max(1), batch.distribution_id);
    let key = format!("live:{}:{}:{}", batch.distribution_id, batch.sequence, batch.caller_reference);
    Notice::new(Kind::Live, key, summary, now)
        .with_distribution(&batch.distribution_id)
        .with_paths(&batch.paths, batch.path_count)
        .with_changes(&batch.changes)
}

/// The month's billed items crossed `threshold` (notified once a month).
pub(super) fn billing_crossed(before: u64, after: Billing, threshold: u64, now: Timestamp) -> Option<Notice> {
    if before >= threshold || after.items < threshold {
        return None;
    }
    let summary = format!(
        "{} invalidation items billed in {}: past BILLING_ALERT_ITEMS ({threshold}); CloudFront charges each path past the 1,000 free ones",
        after.items,
        after.month_text()
    );
    Some(Notice::new(Kind::BillingAlert, format!("billing:{}:{threshold}", after.month), summary, now))
}
