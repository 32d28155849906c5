//! Folding accepted changes into [`Pending`]: what the walk and the plan need
//! of them, bounded whatever arrives (a bulk publish of thousands of entries
//! while a batch is in flight must not grow the stored workflow without end).

use super::types::{AwaitedRecall, ChangedTarget, Pending};
use crate::contentful::LinkTarget;
use crate::entropy::mix;
use crate::paths;
use crate::retry::Failure;
use crate::settings::Policy;

/// The largest integer a JavaScript number holds exactly (2^53 - 1): the
/// Worker stores the workflow as a JavaScript value, so the nonce stays below.
const JS_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Tracking ids kept for status lookups; the count is kept in full, and a
/// change past this is still found as "seen" by its id.
pub(super) const TRACKING_KEPT: usize = 100;
/// Notes kept per set of changes or batch, each cut to `NOTE_MAX_CHARS`.
const NOTES_KEPT: usize = 20;
const NOTE_MAX_CHARS: usize = 300;
/// Recalls one set of changes waits for: what keeps the stored workflow small
/// (a Durable Object value is at most 128 KiB) when a bulk publish of
/// thousands arrives; past it, changes use their rules' paths as without memory.
pub(super) const RECALLS_KEPT: usize = 100;
/// Times a recall is sent before its fallback stands in.
const RECALL_ATTEMPTS: u32 = 3;

impl Pending {
    /// True when no change is waiting.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether the change `tracking_id` is among those kept here.
    pub fn holds(&self, tracking_id: &str) -> bool {
        self.tracking.iter().any(|t| t == tracking_id)
    }

    /// Folds one change in: its tracking id, its own paths and notes, and
    /// (for a webhook's change) the target to confirm and walk from. A later
    /// change of the same target replaces what it waits for.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add(
        &mut self,
        tracking_id: String,
        target: Option<ChangedTarget>,
        own_paths: Vec<String>,
        notes: Vec<String>,
        policy: &Policy,
        distributions: usize,
        entropy: u64,
    ) {
        self.count += 1;
        self.nonce = mix(self.nonce ^ entropy) & JS_SAFE_INTEGER;
        if self.tracking.len() < TRACKING_KEPT {
            self.tracking.push(tracking_id);
        }
        for n in notes {
            push_note(&mut self.notes, n);
        }
        if let Some(t) = target {
            self.from_webhook = true;
            self.add_target(t, policy);
        }
        self.paths.extend(own_paths);
        self.fit(policy, distributions);
    }

    /// Collapses the paths when they are over the plan's budget.
    fn fit(&mut self, policy: &Policy, distributions: usize) {
        let budget = policy.budget(distributions);
        if !budget.fits(&self.paths) {
            // The plan would collapse them as well; doing it now keeps the value small.
            let before = self.paths.len();
            self.paths = paths::collapse(std::mem::take(&mut self.paths), budget);
            let line = format!(
                "{before} waiting paths collapsed to {} to stay within PATH_BUDGET, WILDCARD_BUDGET and PLAN_MAX_BYTES",
                self.paths.len()
            );
            push_note(&mut self.notes, line);
        }
    }

    /// Waits for the answer to a [`super::Command::Recall`] of `recall`'s
    /// entry, sent when the walk starts. Bounded: past [`RECALLS_KEPT`]
    /// recalls the fallback is used at once, and past a quarter of
    /// `PLAN_MAX_BYTES` of items to keep a publish is recalled without
    /// keeping its items.
    pub(super) fn await_recall(&mut self, mut recall: AwaitedRecall, policy: &Policy, distributions: usize) {
        if let Some(i) = self.recalls.iter().position(|r| r.entry_id == recall.entry_id && r.attempts == 0) {
            // A later change of the same entry, not asked about yet: one question will do.
            let earlier = self.recalls.remove(i);
            recall.fallback.extend(earlier.fallback);
            recall.fallback_notes.extend(earlier.fallback_notes);
            if recall.remember.is_none() {
                recall.remember = earlier.remember;
            }
        }
        if self.recalls.len() >= RECALLS_KEPT {
            let why = format!("more than {RECALLS_KEPT} changed entries waited for the path memory at once");
            self.use_fallback(recall, &why, policy, distributions);
            push_note(&mut self.notes, format!("{why}: the rest use their rules' paths and are not remembered"));
            return;
        }
        let kept: usize = self.recalls.iter().filter_map(|r| r.remember.as_ref()).map(|r| paths::bytes(&r.items)).sum();
        if kept > policy.plan_max_bytes / 4 {
            recall.remember = None;
        }
        self.recalls.push(recall);
    }

    /// The recalls not sent yet (or whose answer was lost), as commands;
    /// each is marked sent.
    pub(super) fn send_recalls(&mut self) -> Vec<super::Command> {
        self.recalls
            .iter_mut()
            .filter(|r| !r.in_flight)
            .map(|r| {
                r.in_flight = true;
                r.attempts += 1;
                super::Command::Recall { entry_id: r.entry_id.clone(), remember: r.remember.clone() }
            })
            .collect()
    }

    /// Whether a recall was sent and not answered.
    pub fn recall_in_flight(&self) -> bool {
        self.recalls.iter().any(|r| r.in_flight)
    }

    /// Whether a recall is still to be answered.
    pub fn awaits_recall(&self) -> bool {
        !self.recalls.is_empty()
    }

    /// Takes the answer to a recall of `entry_id` in: the items remembered,
    /// else the fallback. `false` when no such recall waited.
    pub(super) fn on_recalled(
        &mut self,
        entry_id: &str,
        result: Result<Vec<String>, Failure>,
        policy: &Policy,
        distributions: usize,
    ) -> bool {
        // Only a recall that was sent can be answered.
        let Some(i) = self.recalls.iter().position(|r| r.entry_id == entry_id && r.in_flight) else {
            return false;
        };
        let recall = self.recalls.remove(i);
        match result {
            Ok(items) if !items.is_empty() => {
                if !recall.fallback.is_empty() {
                    let note = format!(
                        "entry {entry_id}: its {} remembered path(s) and tag(s) instead of {}",
                        items.len(),
                        recall.fallback.join(", ")
                    );
                    push_note(&mut self.notes, note);
                }
                self.paths.extend(items);
                self.fit(policy, distributions);
            }
            Ok(_) => self.use_fallback(recall, "nothing remembered", policy, distributions),
            Err(failure) => {
                self.use_fallback(recall, &format!("the path memory failed: {}", failure.reason), policy, distributions)
            }
        }
        true
    }

    /// A body restarted: recalls sent and never answered are sent again, up
    /// to `RECALL_ATTEMPTS` times; then their fallback stands.
    pub(super) fn recover_recalls(&mut self, policy: &Policy, distributions: usize) {
        for recall in std::mem::take(&mut self.recalls) {
            if !recall.in_flight {
                self.recalls.push(recall);
            } else if recall.attempts < RECALL_ATTEMPTS {
                self.recalls.push(AwaitedRecall { in_flight: false, ..recall });
            } else {
                self.use_fallback(recall, "the path memory did not answer", policy, distributions);
            }
        }
    }

    fn use_fallback(&mut self, recall: AwaitedRecall, why: &str, policy: &Policy, distributions: usize) {
        if recall.fallback.is_empty() {
            return;
        }
        for n in recall.fallback_notes {
            push_note(&mut self.notes, format!("{n} ({why})"));
        }
        self.paths.extend(recall.fallback);
        self.fit(policy, distributions);
    }

    fn add_target(&mut self, t: ChangedTarget, policy: &Policy) {
        if let Some(known) = self.targets.iter_mut().find(|k| k.target == t.target) {
            known.wants_revision = t.wants_revision;
            return;
        }
        if self.targets.len() >= policy.walk_max_entries as usize {
            // A walk from more entries than it may visit is cut short anyway.
            self.overflow.get_or_insert_with(|| {
                format!("more than WALK_MAX_ENTRIES ({}) changed entries waited at once", policy.walk_max_entries)
            });
            return;
        }
        self.targets.push(t);
    }

    /// Takes `other` in as well (both already bounded, so the sum is too).
    pub(super) fn absorb(&mut self, other: Pending) {
        self.count += other.count;
        self.nonce = mix(self.nonce ^ other.nonce) & JS_SAFE_INTEGER;
        for t in other.tracking {
            if self.tracking.len() < TRACKING_KEPT && !self.tracking.contains(&t) {
                self.tracking.push(t);
            }
        }
        super::label::merge(&mut self.labels, other.labels);
        for t in other.targets {
            match self.targets.iter_mut().find(|k| k.target == t.target) {
                Some(known) => known.wants_revision = t.wants_revision,
                None => self.targets.push(t),
            }
        }
        self.paths.extend(other.paths);
        self.recalls.extend(other.recalls);
        for n in other.notes {
            push_note(&mut self.notes, n);
        }
        if self.overflow.is_none() {
            self.overflow = other.overflow;
        }
        self.from_webhook |= other.from_webhook;
    }

    /// The targets, for the walk.
    pub fn walk_targets(&self) -> impl Iterator<Item = &LinkTarget> {
        self.targets.iter().map(|t| &t.target)
    }
}

/// Adds `note` unless it is already there, keeping at most `NOTES_KEPT`,
/// each at most `NOTE_MAX_CHARS` long.
pub(super) fn push_note(notes: &mut Vec<String>, note: String) {
    let note = shorten(note);
    if notes.len() < NOTES_KEPT && !notes.contains(&note) {
        notes.push(note);
    }
}

/// `line` cut to `NOTE_MAX_CHARS` characters, marked when cut.
pub(super) fn shorten(mut line: String) -> String {
    if line.chars().count() > NOTE_MAX_CHARS {
        let end = line.char_indices().nth(NOTE_MAX_CHARS).map_or(line.len(), |(i, _)| i);
        line.truncate(end);
        line.push('…');
    }
    line
}
