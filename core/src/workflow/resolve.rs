//! Resolving changes into paths: the freshness gate (the Delivery API serves
//! the change), then the breadth-first walk up `links_to_entry` /
//! `links_to_asset`, each entry fetched once, cycles ended by the visited
//! set, depth and size bounded by settings. A walk cut short falls back to
//! `/*`: a path is never dropped silently.

use super::machine::Machine;
use super::pending::push_note;
use super::plan;
use super::types::{FreshnessCheck, Phase, Request, Resolution};
use crate::contentful::{LinkTarget, LinksPage};
use crate::paths;
use crate::retry::{Class, Failure};
use crate::time::Timestamp;
use crate::webhook::EntityKind;
use std::collections::BTreeSet;
use std::time::Duration;

/// Links a walk may read per entry it may visit (`WALK_MAX_ENTRIES`), repeats
/// included: a Delivery API that keeps answering with entries already
/// visited cuts the walk short (to `/*`) instead of paging forever.
pub(super) const LINKS_PER_ENTRY: u64 = 10;

fn request(target: LinkTarget, skip: u64, now: Timestamp) -> Request {
    Request { target, skip, attempts: 0, sent: false, due: Some(now) }
}

/// Takes every pending change into a new resolution.
pub(super) fn start(m: &mut Machine) {
    let changes = std::mem::take(&mut m.wf.pending);
    let now = m.now;
    let mut gate = Vec::new();
    let mut visited = BTreeSet::new();
    for c in &changes.targets {
        if c.target.kind == EntityKind::Entry {
            visited.insert(c.target.id.clone());
        }
        if !m.policy.freshness_max_wait.is_zero() {
            let request = request(c.target.clone(), 0, now);
            gate.push(FreshnessCheck { request, wants_revision: c.wants_revision, confirmed: false });
        }
    }
    let cut_short = changes.overflow.clone();
    m.wf.resolution = Some(Resolution {
        changes,
        started_at: now,
        gate,
        gate_deadline: now.plus(m.policy.freshness_max_wait),
        walking: false,
        depth: 0,
        requests: Vec::new(),
        next_level: BTreeSet::new(),
        visited,
        links_seen: 0,
        paths: BTreeSet::new(),
        notes: Vec::new(),
        cut_short,
    });
    m.enter(Phase::Resolving);
}

/// Sends what is due; moves from gate to walk to plan when each is done.
pub(super) fn advance(m: &mut Machine) {
    let now = m.now;
    let policy = m.policy;
    let Some(r) = m.wf.resolution.as_mut() else {
        return;
    };
    if !r.walking {
        if now >= r.gate_deadline {
            for g in r.gate.iter_mut().filter(|g| !g.confirmed) {
                let note = format!(
                    "the Delivery API did not confirm {:?} {} within FRESHNESS_MAX_WAIT_SECONDS ({} s); submitted anyway",
                    g.request.target.kind,
                    g.request.target.id,
                    policy.freshness_max_wait.as_secs_f64()
                );
                push_note(&mut r.notes, note);
                g.confirmed = true;
            }
        }
        if r.gate.iter().all(|g| g.confirmed && !g.request.sent) {
            r.walking = true;
            if r.cut_short.is_none() {
                for target in r.changes.walk_targets() {
                    r.requests.push(request(target.clone(), 0, now));
                }
            }
        } else {
            for g in r.gate.iter_mut().filter(|g| !g.confirmed && !g.request.sent) {
                if g.request.due.is_some_and(|d| d <= now) {
                    g.request.sent = true;
                    g.request.due = None;
                    m.commands.push(crate::workflow::Command::FetchRevision { target: g.request.target.clone() });
                }
            }
            return;
        }
    }
    loop {
        let r = m.wf.resolution.as_mut().expect("resolving");
        if r.cut_short.is_none() && now >= r.started_at.plus(policy.batch_timeout) {
            r.cut_short = Some(format!(
                "the Delivery API did not answer the walk within BATCH_TIMEOUT_SECONDS ({} s)",
                policy.batch_timeout.as_secs()
            ));
        }
        if r.cut_short.is_some() {
            r.requests.retain(|q| q.sent);
        }
        for q in r.requests.iter_mut().filter(|q| !q.sent && q.due.is_some_and(|d| d <= now)) {
            q.sent = true;
            q.due = None;
            m.commands.push(crate::workflow::Command::FetchLinks { target: q.target.clone(), skip: q.skip });
        }
        if !r.requests.is_empty() {
            return;
        }
        // The level is done.
        r.depth += 1;
        let next: Vec<String> = std::mem::take(&mut r.next_level).into_iter().collect();
        if r.cut_short.is_none() && !next.is_empty() {
            if r.depth >= policy.walk_max_depth {
                r.cut_short = Some(format!(
                    "the walk reached WALK_MAX_DEPTH ({}) with {} entries still to walk",
                    policy.walk_max_depth,
                    next.len()
                ));
            } else {
                for id in next {
                    r.requests.push(request(LinkTarget { kind: EntityKind::Entry, id }, 0, now));
                }
                continue;
            }
        }
        let resolution = m.wf.resolution.take().expect("resolving");
        plan::finish_resolution(m, resolution);
        return;
    }
}

pub(super) fn on_revision(m: &mut Machine, target: LinkTarget, result: Result<Option<u64>, Failure>) {
    let e = m.draw();
    let policy = m.policy;
    let now = m.now;
    let Some(r) = m.wf.resolution.as_mut() else {
        return;
    };
    let Some(g) = r.gate.iter_mut().find(|g| g.request.target == target && g.request.sent) else {
        return;
    };
    g.request.sent = false;
    let served = match result {
        Ok(served) => served,
        Err(_) => {
            // Any failure counts as "not yet": the gate is bounded in time anyway.
            g.request.attempts += 1;
            g.request.due = Some(now.plus(gate_backoff(policy, g.request.attempts, e)));
            return;
        }
    };
    g.confirmed = match (g.wants_revision, served) {
        (Some(want), Some(rev)) => rev >= want,
        (None, None) => true,
        _ => false,
    };
    if !g.confirmed {
        g.request.attempts += 1;
        g.request.due = Some(now.plus(gate_backoff(policy, g.request.attempts, e)));
    }
}

fn gate_backoff(policy: &crate::settings::Policy, attempt: u32, entropy: u64) -> Duration {
    let base = (policy.retry_base / 2).max(Duration::from_millis(50));
    crate::retry::backoff(attempt, base, policy.retry_max.min(Duration::from_secs(10)).max(base), entropy)
}

pub(super) fn on_links(m: &mut Machine, target: LinkTarget, skip: u64, result: Result<LinksPage, Failure>) {
    let policy = m.policy;
    let now = m.now;
    let budget = policy.budget(m.wf.distributions.len());
    let delay_for = |m: &mut Machine, f: &Failure, attempt: u32| m.retry_delay(f, attempt);
    let Some(r) = m.wf.resolution.as_mut() else {
        return;
    };
    let Some(i) = r.requests.iter().position(|q| q.target == target && q.skip == skip && q.sent) else {
        return;
    };
    if r.cut_short.is_some() {
        r.requests.remove(i);
        return;
    }
    match result {
        Ok(page) => {
            r.requests.remove(i);
            r.links_seen += page.items.len() as u64;
            let links_max = LINKS_PER_ENTRY * u64::from(policy.walk_max_entries);
            if r.links_seen > links_max {
                r.cut_short = Some(format!(
                    "the walk read more than {links_max} links ({LINKS_PER_ENTRY} x WALK_MAX_ENTRIES), most of them to entries already visited"
                ));
                return;
            }
            if let Some(next) = page.next_skip(skip) {
                r.requests.push(request(target, next, now));
            }
            for entry in page.items {
                if !r.visited.insert(entry.id.clone()) {
                    continue;
                }
                if let Some(ct) = &entry.content_type {
                    let rendered = policy.rules.render(ct, &entry.id, &entry.fields);
                    r.paths.extend(rendered.paths);
                    for note in rendered.fallbacks {
                        push_note(&mut r.notes, note);
                    }
                }
                r.next_level.insert(entry.id);
                if r.visited.len() > policy.walk_max_entries as usize {
                    r.cut_short = Some(format!(
                        "the walk visited more than WALK_MAX_ENTRIES ({}) entries",
                        policy.walk_max_entries
                    ));
                    break;
                }
            }
            if !budget.fits(&r.paths) {
                // The plan would collapse them; collapsing now keeps the walk's state small.
                r.paths = paths::collapse(std::mem::take(&mut r.paths), budget);
            }
        }
        Err(failure) => {
            let attempts = r.requests[i].attempts + 1;
            r.requests[i].attempts = attempts;
            r.requests[i].sent = false;
            let give_up = match failure.class {
                Class::Permanent | Class::Refused => Some(failure.reason.clone()),
                Class::RetryNow if attempts >= policy.retry_max_attempts => {
                    Some(format!("gave up after {attempts} attempts: {}", failure.reason))
                }
                _ => None,
            };
            match give_up {
                Some(reason) => {
                    r.cut_short = Some(format!("the walk could not read links to {}: {reason}", target.id));
                }
                None => {
                    let delay = delay_for(m, &failure, attempts);
                    let r = m.wf.resolution.as_mut().expect("resolving");
                    r.requests[i].due = Some(now.plus(delay));
                    let line = format!(
                        "links to {} failed ({}), retrying in {} ms",
                        target.id,
                        failure.reason,
                        delay.as_millis()
                    );
                    m.log(line);
                }
            }
        }
    }
}

/// The earliest time something in the resolution is due.
pub(super) fn next_due(r: &Resolution) -> Option<Timestamp> {
    let requests = r.requests.iter().chain(r.gate.iter().filter(|g| !g.confirmed).map(|g| &g.request));
    let due = requests.filter_map(|q| q.due).min();
    if r.walking {
        due
    } else {
        due.map(|d| d.min(r.gate_deadline))
    }
}
