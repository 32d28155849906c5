//! Planning, a pure function: from what a walk found and the batches still
//! queued to the batches to submit. The paths of every change and every
//! walked entry, the `always` rule (or `/*` after a walk cut short),
//! normalised and fitted to CloudFront's length, merged with the queued
//! batches, collapsed to the budget and split per distribution and batch size.

use super::pending::push_note;
use super::types::Batch;
use super::walk::Found;
use crate::paths;
use crate::settings::Policy;
use crate::tags;
use crate::time::Timestamp;
use std::collections::BTreeSet;

/// Tracking ids kept on a batch (the count is kept in full).
const CHANGES_KEPT: usize = 20;

/// The batches a plan makes, and what is worth an operator's eye.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// To submit in this order; empty when the changes map to no path.
    pub batches: Vec<Batch>,
    /// Lines for the workflow's log.
    pub log: Vec<String>,
}

/// Where a plan's batches are numbered from, and what makes this
/// submission unlike any earlier one of the same paths (see [`Batch::queued`]).
#[derive(Debug, Clone, Copy)]
pub struct Numbering<'a> {
    /// The sequence number of the plan's first batch.
    pub first_sequence: u64,
    /// Fixed when the changes were taken in (see `Pending::nonce`).
    pub nonce: &'a str,
    /// When the plan is made.
    pub now: Timestamp,
}

/// Plans `found` together with the batches still `queued`, for `distributions`.
pub fn plan(found: Found, queued: Vec<Batch>, distributions: &[String], policy: &Policy, at: Numbering<'_>) -> Plan {
    let Found { changes, paths: walked, notes: walk_notes, cut_short } = found;
    let mut notes = walk_notes;
    for n in changes.notes {
        push_note(&mut notes, n);
    }
    let mut raw = walked;
    raw.extend(changes.paths);
    // `always` lists paths: with INVALIDATE_BY=tags no path is sent.
    if changes.from_webhook && policy.invalidate_by.paths() {
        raw.extend(policy.rules.always().iter().cloned());
    }
    if let Some(why) = &cut_short {
        push_note(&mut notes, format!("{why}: invalidating /* instead"));
        raw.insert("/*".to_string());
    }
    let mut planned = BTreeSet::new();
    for p in raw {
        if let Some(tag) = p.strip_prefix(tags::TAG_MARK) {
            match tags::check_tag(tag) {
                Ok(tag) => {
                    planned.insert(tags::item(&tag));
                }
                Err(e) => push_note(&mut notes, format!("tag {p:?} left out: {e}")),
            }
            continue;
        }
        match paths::normalize(&p) {
            Ok(n) => {
                let (fitted, note) = paths::fit_length(n);
                if let Some(note) = note {
                    push_note(&mut notes, note);
                }
                planned.insert(fitted);
            }
            Err(e) => push_note(&mut notes, format!("path {p:?} left out: {e}")),
        }
    }
    let mut log = notes.clone();
    if planned.is_empty() && queued.is_empty() {
        log.insert(
            0,
            format!("{} change(s) map to no path (no rule matches them or anything linking to them)", changes.count),
        );
        return Plan { batches: Vec::new(), log };
    }
    let mut tracking = changes.tracking;
    let mut labels = changes.labels;
    let mut change_count = changes.count;
    let mut queued_count = 0;
    for b in queued {
        // Every distribution is planned the same paths: a path queued for one
        // is planned again for all, and costs nothing twice in the set.
        planned.extend(b.paths);
        queued_count = queued_count.max(b.change_count);
        for t in b.changes {
            if !tracking.contains(&t) {
                tracking.push(t);
            }
        }
        super::label::merge(&mut labels, b.labels);
        for n in b.notes {
            push_note(&mut notes, n);
        }
    }
    change_count += queued_count;
    let before = planned.len();
    let budget = policy.budget(distributions.len());
    let planned = paths::collapse(planned, budget);
    if planned.len() < before {
        let line = format!(
            "{before} paths collapsed to {} within PATH_BUDGET ({}), WILDCARD_BUDGET ({}) and PLAN_MAX_BYTES ({})",
            planned.len(),
            budget.max_paths,
            budget.max_wildcards,
            policy.plan_max_bytes
        );
        push_note(&mut notes, line.clone());
        log.push(line);
    }
    let tags = planned.iter().filter(|p| tags::is_tag(p)).count();
    let wildcards = planned.iter().filter(|p| paths::is_wildcard(p)).count();
    log.push(format!(
        "plan bills {} item(s) on each of {} distribution(s): {} path(s), {wildcards} wildcard(s), {tags} tag(s)",
        planned.len(),
        distributions.len(),
        planned.len() - tags - wildcards
    ));
    tracking.truncate(CHANGES_KEPT);
    let chunks = paths::split(&planned, policy.batch_max_paths);
    let mut sequence = at.first_sequence;
    let mut batches = Vec::new();
    for distribution_id in distributions {
        for chunk in &chunks {
            let mut b = Batch::queued(sequence, distribution_id, chunk.clone(), at.nonce, at.now);
            sequence += 1;
            b.changes = tracking.clone();
            b.change_count = change_count;
            b.labels = labels.clone();
            b.notes = notes.clone();
            batches.push(b);
        }
    }
    Plan { batches, log }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::tests::policy;
    use crate::workflow::Pending;

    fn found(paths: &[&str]) -> Found {
        let changes = Pending { count: 1, tracking: vec!["t1".into()], from_webhook: true, ..Pending::default() };
        Found { changes, paths: paths.iter().map(|p| p.to_string()).collect(), notes: Vec::new(), cut_short: None }
    }

    fn at(nonce: &str) -> Numbering<'_> {
        Numbering { first_sequence: 7, nonce, now: Timestamp::from_secs(1) }
    }

    #[test]
    fn a_plan_is_numbered_split_and_given_the_always_rule() {
        let policy = policy(&[("BATCH_MAX_PATHS", "2")]);
        let plan = plan(found(&["/b", "/a"]), Vec::new(), &["E1".into(), "E2".into()], &policy, at("n"));
        let got: Vec<(u64, &str, Vec<String>)> =
            plan.batches.iter().map(|b| (b.sequence, b.distribution_id.as_str(), b.paths.clone())).collect();
        let two = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
        assert_eq!(
            got,
            [
                (7, "E1", two("/", "/a")),
                (8, "E1", vec!["/b".to_string()]),
                (9, "E2", two("/", "/a")),
                (10, "E2", vec!["/b".to_string()])
            ]
        );
    }

    #[test]
    fn queued_batches_are_merged_and_a_new_nonce_makes_new_references() {
        let policy = policy(&[]);
        let first = plan(found(&["/a"]), Vec::new(), &["E1".into()], &policy, at("n1"));
        let merged = plan(found(&["/b"]), first.batches.clone(), &["E1".into()], &policy, at("n2"));
        assert_eq!(merged.batches[0].paths, ["/", "/a", "/b"]);
        let again = plan(found(&["/a"]), Vec::new(), &["E1".into()], &policy, at("n2"));
        assert_ne!(first.batches[0].caller_reference, again.batches[0].caller_reference);
    }

    #[test]
    fn a_walk_cut_short_plans_everything_and_says_why() {
        let mut f = found(&["/a"]);
        f.cut_short = Some("the walk reached WALK_MAX_DEPTH".into());
        let plan = plan(f, Vec::new(), &["E1".into()], &policy(&[]), at("n"));
        assert_eq!(plan.batches[0].paths, ["/*"]);
        assert!(plan.batches[0].notes.iter().any(|n| n.contains("WALK_MAX_DEPTH")));
    }

    #[test]
    fn tags_are_planned_beside_paths_and_bad_ones_are_left_out_with_a_note() {
        let plan =
            plan(found(&["/a", "#Entry:X", "#entry:x", "#bad,tag"]), Vec::new(), &["E1".into()], &policy(&[]), at("n"));
        assert_eq!(plan.batches[0].paths, ["#entry:x", "/", "/a"]);
        assert_eq!(plan.batches[0].path_count, 3, "each tag is billed as a path");
        assert!(plan.batches[0].notes.iter().any(|n| n.contains("bad,tag")), "{:?}", plan.batches[0].notes);
    }

    #[test]
    fn no_path_plans_nothing_and_says_so() {
        let mut f = found(&[]);
        f.changes.from_webhook = false;
        let plan = plan(f, Vec::new(), &["E1".into()], &policy(&[]), at("n"));
        assert!(plan.batches.is_empty());
        assert!(plan.log[0].contains("map to no path"), "{:?}", plan.log);
    }
}
