//! From a finished resolution to batches: the paths of every change, the
//! walked entries and the `always` rule (or `/*` after a walk cut short),
//! merged with batches still queued, normalised, collapsed to the budget and
//! split per distribution and batch size.

use super::machine::Machine;
use super::pending::push_note;
use super::types::{Batch, BatchState, Resolution};
use crate::paths;
use std::collections::BTreeSet;

/// Tracking ids kept on a batch (the count is kept in full).
const CHANGES_KEPT: usize = 20;

pub(super) fn finish_resolution(m: &mut Machine, r: Resolution) {
    let mut raw: BTreeSet<String> = r.paths;
    let pending = r.changes;
    let mut notes = r.notes;
    for n in pending.notes {
        push_note(&mut notes, n);
    }
    raw.extend(pending.paths);
    if pending.from_webhook {
        raw.extend(m.policy.rules.always().iter().cloned());
    }
    if let Some(why) = &r.cut_short {
        push_note(&mut notes, format!("{why}: invalidating /* instead"));
        raw.insert("/*".to_string());
    }
    let mut normalized = BTreeSet::new();
    for p in raw {
        match paths::normalize(&p) {
            Ok(n) => {
                let (fitted, note) = paths::fit_length(n);
                if let Some(note) = note {
                    push_note(&mut notes, note);
                }
                normalized.insert(fitted);
            }
            Err(e) => push_note(&mut notes, format!("path {p:?} left out: {e}")),
        }
    }
    if normalized.is_empty() {
        let line =
            format!("{} change(s) map to no path (no rule matches them or anything linking to them)", pending.count);
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
    plan_batches(m, normalized, pending.tracking, pending.count, notes, pending.nonce);
    m.next_work(false);
}

/// Merges `paths` with every queued batch and re-plans them per distribution.
fn plan_batches(
    m: &mut Machine,
    new_paths: BTreeSet<String>,
    tracking: Vec<String>,
    count: usize,
    notes: Vec<String>,
    nonce: u64,
) {
    let mut all = new_paths;
    let mut changes = tracking;
    let mut change_count = count;
    let mut all_notes = notes;
    let queued: Vec<Batch> = m.wf.batches.iter().filter(|b| b.state == BatchState::Queued).cloned().collect();
    m.wf.batches.retain(|b| b.state != BatchState::Queued);
    for b in queued {
        // Every distribution is planned the same paths: a path queued for
        // one is re-planned for all, and costs nothing twice in the set.
        all.extend(b.paths);
        change_count = change_count.max(count + b.change_count);
        for c in b.changes {
            if !changes.contains(&c) {
                changes.push(c);
            }
        }
        for n in b.notes {
            push_note(&mut all_notes, n);
        }
    }
    let before = all.len();
    let budget = m.policy.budget(m.wf.distributions.len());
    let planned = paths::collapse(all, budget);
    if planned.len() < before {
        let line = format!(
            "{before} paths collapsed to {} within PATH_BUDGET ({}), WILDCARD_BUDGET ({}) and PLAN_MAX_BYTES ({})",
            planned.len(),
            budget.max_paths,
            budget.max_wildcards,
            m.policy.plan_max_bytes
        );
        push_note(&mut all_notes, line.clone());
        m.log(line);
    }
    changes.truncate(CHANGES_KEPT);
    let chunks = paths::split(&planned, m.policy.batch_max_paths);
    // What makes this submission differ from any earlier one of the same
    // paths, fixed when its changes were taken in (see `Pending::nonce`).
    let nonce = format!("{nonce:016x}-{}", changes.join(","));
    let mut batches = Vec::new();
    for distribution_id in m.wf.distributions.clone() {
        for chunk in &chunks {
            let sequence = m.wf.next_sequence;
            m.wf.next_sequence += 1;
            let mut b = Batch::queued(sequence, &distribution_id, chunk.clone(), &nonce, m.now);
            b.changes = changes.clone();
            b.change_count = change_count;
            b.notes = all_notes.clone();
            batches.push(b);
        }
    }
    m.queue(batches);
}
