//! The walk from a set of changes to the paths that show them: first the
//! freshness gate (the Delivery API serves each change, bounded in time),
//! then breadth-first up `links_to_entry` / `links_to_asset`, each entry
//! fetched once, cycles ended by the visited set, depth, size and links read
//! bounded by the policy. A walk cut short says why; the plan then falls back
//! to `/*`, so a path is never dropped silently.
//!
//! A sub-state machine in the manner of quinn-proto's path MTU discovery:
//! `on_*` methods take the answers, [`Walk::poll`] says what to send or that
//! the walk is done, [`Walk::next_timeout`] when it next has something to do.
//! It holds no reference to the workflow that owns it.

use super::outstanding::Outstanding;
use super::pending::push_note;
use super::types::{Command, Pending};
use crate::contentful::{LinkTarget, LinksPage};
use crate::entropy::Draws;
use crate::paths;
use crate::retry::{self, Class, Failure};
use crate::settings::Policy;
use crate::time::Timestamp;
use crate::webhook::EntityKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// Links a walk may read per entry it may visit (`WALK_MAX_ENTRIES`), repeats
/// included: a Delivery API that keeps answering with entries already
/// visited cuts the walk short (to `/*`) instead of paging forever.
pub(super) const LINKS_PER_ENTRY: u64 = 10;
/// The gate asks again at most this often: it only waits for a CDN cache.
const GATE_RETRY_MAX: Duration = Duration::from_secs(10);

/// Whether the Delivery API's answer confirms a change: it serves revision
/// `wants` or later, or (`None`, an unpublish) no longer serves it. Any
/// failure counts as "not yet": whoever asks is bounded in time anyway.
pub(super) fn serves(wants: Option<u64>, answer: &Result<Option<u64>, Failure>) -> bool {
    match (wants, answer) {
        (Some(want), Ok(Some(rev))) => *rev >= want,
        (None, Ok(None)) => true,
        _ => false,
    }
}

/// A walk in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Walk {
    changes: Pending,
    started_at: Timestamp,
    stage: Stage,
    visited: BTreeSet<String>,
    /// Links read so far, repeats included.
    links_seen: u64,
    paths: BTreeSet<String>,
    notes: Vec<String>,
    /// Why the walk stopped early, if it did.
    cut_short: Option<String>,
    /// Distributions the paths are for: they share the plan's byte budget.
    distributions: usize,
    /// When the gate passed, and whether it gave up on some change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gate_passed: Option<(Timestamp, bool)>,
    /// Failed requests of the walk put back before this one, taken up again
    /// as the walk reaches them (see [`Resume`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    carried: Vec<Carried>,
}

/// Failed link requests a walk put back keeps: at most this many (each a few
/// dozen bytes in a state Step Functions caps at 256 KiB). Past it, a request
/// starts its count again; the walk's deadline still ends it.
const CARRIED_KEPT: usize = 64;

/// What a walk put back ([`super::Workflow::restart_walk`]) hands to the
/// next walk of the same changes: when it started, and its failed requests
/// with their failures in a row and when they are due. So a Delivery API that
/// keeps failing ends the walk after `RETRY_MAX_ATTEMPTS` and by
/// `BATCH_TIMEOUT_SECONDS`, as one walk that was never put back would.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    failed: Vec<Carried>,
}

/// A link request that failed, as a walk put back left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Carried {
    target: LinkTarget,
    skip: u64,
    request: Outstanding,
}

/// A request for a page of links, carrying the failures of the same request
/// in a walk put back.
fn link_request(carried: &mut Vec<Carried>, target: LinkTarget, skip: u64, now: Timestamp) -> LinkRequest {
    let Some(i) = carried.iter().position(|c| c.target == target && c.skip == skip) else {
        return LinkRequest { target, skip, request: Outstanding::due(now) };
    };
    let mut request = carried.swap_remove(i).request;
    request.recover(now);
    LinkRequest { target, skip, request }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "stage")]
enum Stage {
    /// Confirming that the Delivery API serves each change, until `deadline`.
    Gate { checks: Vec<Check>, deadline: Timestamp },
    /// Reading links, one level of the graph at a time.
    Links { depth: u32, requests: Vec<LinkRequest>, next_level: BTreeSet<String> },
}

/// Confirming one change; `request` is `None` once confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Check {
    target: LinkTarget,
    /// `Some(r)`: served at revision `r` or later confirms it; `None`: no longer served does.
    wants_revision: Option<u64>,
    request: Option<Outstanding>,
}

/// One page of links to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LinkRequest {
    target: LinkTarget,
    skip: u64,
    request: Outstanding,
}

/// What a finished walk found: the input of [`super::plan::plan`].
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The changes walked from.
    pub changes: Pending,
    /// The paths of every entry visited (the changed entries' own are in `changes`).
    pub paths: BTreeSet<String>,
    /// What is worth an operator's eye (fallbacks, unconfirmed freshness).
    pub notes: Vec<String>,
    /// Why the walk stopped early: the plan falls back to `/*`.
    pub cut_short: Option<String>,
}

/// What [`Walk::poll`] asks of its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// Send these requests.
    Send(Vec<Command>),
    /// Nothing to send until an answer comes or [`Walk::next_timeout`] passes.
    Wait,
    /// The walk is over: take what it found with [`Walk::into_found`].
    Done,
}

impl Walk {
    /// Starts walking from every waiting change, going on from `resume`
    /// when a walk of them was put back.
    pub fn start(
        changes: Pending,
        policy: &Policy,
        distributions: usize,
        now: Timestamp,
        resume: Option<Resume>,
    ) -> Walk {
        let visited = changes.walk_targets().filter(|t| t.kind == EntityKind::Entry).map(|t| t.id.clone()).collect();
        let cut_short = changes.overflow.clone();
        let (started_at, mut carried) = resume.map_or((now, Vec::new()), |r| (r.started_at.min(now), r.failed));
        let stage = if policy.freshness_max_wait.is_zero() {
            Stage::Links {
                depth: 0,
                requests: Self::first_level(&changes, &cut_short, policy, now, &mut carried),
                next_level: BTreeSet::new(),
            }
        } else {
            let checks = changes
                .targets
                .iter()
                .map(|t| Check {
                    target: t.target.clone(),
                    wants_revision: t.wants_revision,
                    request: Some(Outstanding::due(now)),
                })
                .collect();
            Stage::Gate { checks, deadline: now.plus(policy.freshness_max_wait) }
        };
        Walk {
            changes,
            started_at,
            stage,
            visited,
            links_seen: 0,
            paths: BTreeSet::new(),
            notes: Vec::new(),
            cut_short,
            distributions,
            gate_passed: None,
            carried,
        }
    }

    fn first_level(
        changes: &Pending,
        cut_short: &Option<String>,
        policy: &Policy,
        now: Timestamp,
        carried: &mut Vec<Carried>,
    ) -> Vec<LinkRequest> {
        // WALK_MAX_DEPTH=0 (tags only, for an origin that tags each page with
        // every entry it renders): the changed entries' own tags are all.
        if cut_short.is_some() || policy.walk_max_depth == 0 {
            return Vec::new();
        }
        changes.walk_targets().map(|t| link_request(carried, t.clone(), 0, now)).collect()
    }

    /// What the next walk of these changes goes on from, once this one is put back.
    pub fn resume(&self) -> Resume {
        let failing = match &self.stage {
            Stage::Links { requests, .. } => requests.iter().filter(|q| q.request.failures > 0).collect(),
            Stage::Gate { .. } => Vec::new(),
        };
        let now_failing =
            failing.into_iter().map(|q| Carried { target: q.target.clone(), skip: q.skip, request: q.request });
        let failed = self.carried.iter().cloned().chain(now_failing).take(CARRIED_KEPT).collect();
        Resume { started_at: self.started_at, failed }
    }

    /// When the freshness gate passed, and whether it gave up waiting for
    /// some change; `None` before, or when there is no gate.
    pub fn gate_passed(&self) -> Option<(Timestamp, bool)> {
        self.gate_passed
    }

    /// The changes walked from.
    pub fn changes(&self) -> &Pending {
        &self.changes
    }

    /// Past the freshness gate, reading links: what it found travels with it.
    pub fn reading_links(&self) -> bool {
        matches!(self.stage, Stage::Links { .. })
    }

    /// Whether the change `tracking_id` is being walked.
    pub fn holds(&self, tracking_id: &str) -> bool {
        self.changes.holds(tracking_id)
    }

    /// The changes, for a walk that is given up to start again later.
    pub fn into_changes(self) -> Pending {
        self.changes
    }

    /// What the walk found; call once [`Walk::poll`] said [`Poll::Done`].
    pub fn into_found(self) -> Found {
        Found { changes: self.changes, paths: self.paths, notes: self.notes, cut_short: self.cut_short }
    }

    /// The Delivery API answered a freshness check.
    pub fn on_revision(
        &mut self,
        target: &LinkTarget,
        result: Result<Option<u64>, Failure>,
        now: Timestamp,
        policy: &Policy,
        draws: &mut Draws,
    ) {
        let Stage::Gate { checks, .. } = &mut self.stage else {
            return;
        };
        let Some(check) = checks.iter_mut().find(|c| c.target == *target && c.request.is_some_and(|r| r.is_sent()))
        else {
            return;
        };
        let confirmed = serves(check.wants_revision, &result);
        match &mut check.request {
            Some(_) if confirmed => check.request = None,
            Some(r) => {
                let base = (policy.retry_base / 2).max(Duration::from_millis(50));
                let cap = policy.retry_max.min(GATE_RETRY_MAX).max(base);
                let delay = retry::backoff(r.failures + 1, base, cap, draws.next_value());
                r.failed(now.plus(delay));
            }
            None => {}
        }
    }

    /// The Delivery API answered a page of links. Returns a line for the log
    /// when a request is retried.
    pub fn on_links(
        &mut self,
        target: &LinkTarget,
        skip: u64,
        result: Result<LinksPage, Failure>,
        now: Timestamp,
        policy: &Policy,
        draws: &mut Draws,
    ) -> Option<String> {
        let budget = policy.budget(self.distributions);
        let Stage::Links { requests, next_level, .. } = &mut self.stage else {
            return None;
        };
        let i = requests.iter().position(|q| q.target == *target && q.skip == skip && q.request.is_sent())?;
        if self.cut_short.is_some() {
            requests.remove(i);
            return None;
        }
        let page = match result {
            Ok(page) => page,
            Err(failure) => {
                let request = &mut requests[i].request;
                let give_up = match failure.class {
                    Class::Permanent | Class::Refused => Some(failure.reason.clone()),
                    Class::Backoff if request.failures + 1 >= policy.retry_max_attempts => {
                        Some(format!("gave up after {} attempts: {}", request.failures + 1, failure.reason))
                    }
                    _ => None,
                };
                if let Some(reason) = give_up {
                    request.failed(now);
                    self.cut_short = Some(format!("the walk could not read links to {}: {reason}", target.id));
                    return None;
                }
                let delay = retry::delay(
                    &failure,
                    request.failures + 1,
                    policy.retry_base,
                    policy.retry_max,
                    draws.next_value(),
                );
                request.failed(now.plus(delay));
                return Some(format!(
                    "links to {} failed ({}), retrying in {} ms",
                    target.id,
                    failure.reason,
                    delay.as_millis()
                ));
            }
        };
        requests.remove(i);
        self.links_seen += page.items.len() as u64;
        let links_max = LINKS_PER_ENTRY * u64::from(policy.walk_max_entries);
        if self.links_seen > links_max {
            self.cut_short = Some(format!(
                "the walk read more than {links_max} links ({LINKS_PER_ENTRY} x WALK_MAX_ENTRIES), most of them to entries already visited"
            ));
            return None;
        }
        if let Some(next) = page.next_skip(skip) {
            requests.push(link_request(&mut self.carried, target.clone(), next, now));
        }
        for entry in page.items {
            if !self.visited.insert(entry.id.clone()) {
                continue;
            }
            if let Some(ct) = &entry.content_type {
                let rendered = crate::items::for_entry(policy, Some(ct), &entry.id, &entry.fields);
                self.paths.extend(rendered.all());
                for note in rendered.wildcard_notes.into_iter().chain(rendered.notes) {
                    push_note(&mut self.notes, note);
                }
            }
            next_level.insert(entry.id);
            if self.visited.len() > policy.walk_max_entries as usize {
                self.cut_short =
                    Some(format!("the walk visited more than WALK_MAX_ENTRIES ({}) entries", policy.walk_max_entries));
                break;
            }
        }
        if !budget.fits(&self.paths) {
            // The plan would collapse them; collapsing now keeps the walk's state small.
            self.paths = paths::collapse(std::mem::take(&mut self.paths), budget);
        }
        None
    }

    /// Sends what is due, passes the gate when every change is confirmed or
    /// its time is up, and moves up the graph a level at a time.
    pub fn poll(&mut self, now: Timestamp, policy: &Policy) -> Poll {
        // Path memory is asked first, beside the gate and the walk.
        let recalls = self.changes.send_recalls();
        let polled = self.poll_walk(now, policy);
        if recalls.is_empty() {
            return polled;
        }
        match polled {
            Poll::Send(mut sends) => {
                sends.splice(0..0, recalls);
                Poll::Send(sends)
            }
            Poll::Wait | Poll::Done => Poll::Send(recalls),
        }
    }

    fn poll_walk(&mut self, now: Timestamp, policy: &Policy) -> Poll {
        if let Stage::Gate { checks, deadline } = &mut self.stage {
            if now >= *deadline {
                if checks.iter().any(|c| c.request.is_some()) {
                    self.gate_passed = Some((now, true));
                }
                for c in checks.iter_mut().filter(|c| c.request.is_some()) {
                    let note = format!(
                        "the Delivery API did not confirm {:?} {} within FRESHNESS_MAX_WAIT_SECONDS ({} s); submitted anyway",
                        c.target.kind,
                        c.target.id,
                        policy.freshness_max_wait.as_secs_f64()
                    );
                    push_note(&mut self.notes, note);
                    c.request = None;
                }
            }
            if checks.iter().any(|c| c.request.is_some()) {
                let sends: Vec<Command> = checks
                    .iter_mut()
                    .filter_map(|c| {
                        let sent = c.request.as_mut().is_some_and(|r| r.send_if_due(now));
                        sent.then(|| Command::FetchRevision { target: c.target.clone() })
                    })
                    .collect();
                return if sends.is_empty() { Poll::Wait } else { Poll::Send(sends) };
            }
            if !checks.is_empty() {
                self.gate_passed.get_or_insert((now, false));
            }
            let requests = Self::first_level(&self.changes, &self.cut_short, policy, now, &mut self.carried);
            self.stage = Stage::Links { depth: 0, requests, next_level: BTreeSet::new() };
        }
        let Stage::Links { depth, requests, next_level } = &mut self.stage else {
            return Poll::Wait;
        };
        loop {
            if self.cut_short.is_none() && now >= self.started_at.plus(policy.batch_timeout) {
                self.cut_short = Some(format!(
                    "the Delivery API did not answer the walk within BATCH_TIMEOUT_SECONDS ({} s)",
                    policy.batch_timeout.as_secs()
                ));
            }
            if self.cut_short.is_some() {
                requests.retain(|q| q.request.is_sent());
            }
            let sends: Vec<Command> = requests
                .iter_mut()
                .filter_map(|q| {
                    let sent = q.request.send_if_due(now);
                    sent.then(|| Command::FetchLinks { target: q.target.clone(), skip: q.skip })
                })
                .collect();
            if !sends.is_empty() {
                return Poll::Send(sends);
            }
            if !requests.is_empty() {
                return Poll::Wait;
            }
            // This level is done: on to the next, if there is one and it may be walked.
            *depth += 1;
            let next = std::mem::take(next_level);
            if self.cut_short.is_some() || next.is_empty() {
                // Plan only once every recalled item is in.
                return if self.changes.awaits_recall() { Poll::Wait } else { Poll::Done };
            }
            if *depth >= policy.walk_max_depth {
                self.cut_short = Some(format!(
                    "the walk reached WALK_MAX_DEPTH ({}) with {} entries still to walk",
                    policy.walk_max_depth,
                    next.len()
                ));
                return Poll::Done;
            }
            let carried = &mut self.carried;
            requests.extend(
                next.into_iter().map(|id| link_request(carried, LinkTarget { kind: EntityKind::Entry, id }, 0, now)),
            );
        }
    }

    /// The earliest time something in the walk is due.
    pub fn next_timeout(&self) -> Option<Timestamp> {
        match &self.stage {
            Stage::Gate { checks, deadline } => {
                let due = checks.iter().filter_map(|c| c.request.and_then(|r| r.due_at())).min();
                Some(due.map_or(*deadline, |d| d.min(*deadline)))
            }
            Stage::Links { requests, .. } => requests.iter().filter_map(|q| q.request.due_at()).min(),
        }
    }

    /// Whether a request of the walk is out and unanswered.
    pub fn in_flight(&self) -> bool {
        self.changes.recall_in_flight()
            || match &self.stage {
                Stage::Gate { checks, .. } => checks.iter().any(|c| c.request.is_some_and(|r| r.is_sent())),
                Stage::Links { requests, .. } => requests.iter().any(|q| q.request.is_sent()),
            }
    }

    /// The changes walked from, to take a recall's answer in.
    pub(super) fn changes_mut(&mut self) -> &mut Pending {
        &mut self.changes
    }

    /// Sends again whatever was lost (a request sent and never answered goes again).
    pub fn recover(&mut self, now: Timestamp) {
        match &mut self.stage {
            Stage::Gate { checks, .. } => {
                checks.iter_mut().filter_map(|c| c.request.as_mut()).for_each(|r| r.recover(now))
            }
            Stage::Links { requests, .. } => requests.iter_mut().for_each(|q| q.request.recover(now)),
        }
    }
}
