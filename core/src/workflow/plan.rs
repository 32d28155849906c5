//! From a finished resolution to batches: the paths of every change, the
//! walked entries and the `always` rule (or `/*` after a walk cut short),
//! merged with batches still queued, normalised, collapsed to the budget and
//! split per distribution and batch size.

use super::machine::Machine;
use super::types::{Batch, BatchState, Resolution};
use crate::cloudfront::caller_reference;
use crate::paths::{self, Budget};
use std::collections::BTreeSet;

/// Tracking ids kept on a batch (the count is kept in full).
const CHANGES_KEPT: usize = 20;

pub(super) fn finish_resolution(m: &mut Machine, r: Resolution) {
    let mut raw: BTreeSet<String> = r.paths;
    let mut notes = r.notes;
    let mut tracking: Vec<String> = Vec::new();
    let mut any_change = false;
    for c in &r.changes {
        raw.extend(c.own_paths.iter().cloned());
        notes.extend(c.notes.iter().cloned());
        tracking.push(c.tracking_id.clone());
        any_change |= c.change.is_some();
    }
    if any_change {
        raw.extend(m.policy.rules.always().iter().cloned());
    }
    if let Some(why) = &r.cut_short {
        notes.push(format!("{why}: invalidating /* instead"));
        raw.insert("/*".to_string());
    }
    let mut normalized = BTreeSet::new();
    for p in raw {
        match paths::normalize(&p) {
            Ok(n) => {
                normalized.insert(n);
            }
            Err(e) => notes.push(format!("path {p:?} left out: {e}")),
        }
    }
    if normalized.is_empty() {
        let line =
            format!("{} change(s) map to no path (no rule matches them or anything linking to them)", tracking.len());
        m.log(line);
        for n in notes {
            m.log(n);
        }
        m.next_work(false);
        return;
    }
    for n in &notes {
        m.log(n.clone());
    }
    plan_batches(m, normalized, tracking, notes);
    m.next_work(false);
}

/// Merges `paths` with every queued batch and re-plans them per distribution.
fn plan_batches(m: &mut Machine, new_paths: BTreeSet<String>, tracking: Vec<String>, notes: Vec<String>) {
    let mut all = new_paths;
    let mut changes = tracking;
    let mut change_count = changes.len();
    let mut all_notes = notes;
    let queued: Vec<Batch> = m.wf.batches.iter().filter(|b| b.state == BatchState::Queued).cloned().collect();
    m.wf.batches.retain(|b| b.state != BatchState::Queued);
    for b in queued {
        all.extend(b.paths);
        change_count += b.change_count;
        changes.extend(b.changes);
        all_notes.extend(b.notes);
    }
    changes.dedup();
    let before = all.len();
    let budget = Budget { max_paths: m.policy.path_budget, max_wildcards: m.policy.wildcard_budget };
    let planned = paths::collapse(all, budget);
    if planned.len() < before {
        let line = format!(
            "{before} paths collapsed to {} within PATH_BUDGET ({}) and WILDCARD_BUDGET ({})",
            planned.len(),
            budget.max_paths,
            budget.max_wildcards
        );
        all_notes.push(line.clone());
        m.log(line);
    }
    all_notes.dedup();
    changes.truncate(CHANGES_KEPT);
    let chunks = paths::split(&planned, m.policy.batch_max_paths);
    let mut batches = Vec::new();
    for distribution_id in m.wf.distributions.clone() {
        for chunk in &chunks {
            let sequence = m.wf.next_sequence;
            m.wf.next_sequence += 1;
            batches.push(Batch {
                sequence,
                caller_reference: caller_reference(&distribution_id, chunk, sequence),
                distribution_id: distribution_id.clone(),
                paths: chunk.clone(),
                changes: changes.clone(),
                change_count,
                notes: all_notes.clone(),
                state: BatchState::Queued,
                invalidation_id: None,
                create_time: None,
                attempts: 0,
                errors: 0,
                polls: 0,
                queued_at: m.now,
                submitted_at: None,
                finished_at: None,
                deadline: None,
                sent: false,
                due: None,
                poll_interval_ms: 0,
            });
        }
    }
    m.queue(batches);
}
