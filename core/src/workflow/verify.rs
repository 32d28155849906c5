//! Verifying a completed batch as a visitor gets it: its exact paths (never
//! wildcards or tags, at most `VERIFY_MAX_PATHS`) are requested through
//! `SITE_URL`, a few per wake, and each answer is judged ([`judge`]).
//! A stale page waits `VERIFY_RETRY_WAIT_SECONDS`, the Delivery API is asked
//! again whether it serves the changes (the freshness gate's criterion,
//! bounded by `FRESHNESS_MAX_WAIT_SECONDS`), and the stale paths are handed
//! back to be invalidated again, at most `VERIFY_RETRIES` times; then the
//! page is reported not verified with what it showed. A page the site fails
//! (5xx), redirects or does not serve is reported at once: invalidating it
//! again would not change what a visitor gets.
//!
//! A sub-state machine like the walk: `on_*` take the answers,
//! [`Verify::poll`] says what to send or that it is done, and
//! [`Verify::finish`] hands the batch back with its receipt marked.

use super::outstanding::Outstanding;
use super::receipt::StepName;
use super::types::{Batch, ChangedTarget, Command};
use crate::contentful::LinkTarget;
use crate::paths;
use crate::retry::Failure;
use crate::settings::Policy;
use crate::site::PageSeen;
use crate::tags;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Pages requested per wake. Each is a subrequest, and a Worker's alarm may
/// make 50 on the free plan: 10 leave room for the GetInvalidation that saw
/// Completed and the Delivery API checks beside them.
pub const PAGES_PER_WAKE: usize = 10;
/// Between one wake's pages and the next's: long enough that a Worker's
/// alarm returns and the next wake is an alarm of its own.
const WAKE_SPACING: Duration = Duration::from_secs(1);
/// Problems carried on a batch from one round to the next, for the report.
const PROBLEMS_KEPT: usize = 5;
/// Changed entries a batch keeps for the revision check and the gate.
pub(super) const TARGETS_KEPT: usize = 20;

/// A completed batch being verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verify {
    batch: Batch,
    completed_at: Timestamp,
    pages: Vec<Page>,
    /// Exact paths past `VERIFY_MAX_PATHS`, not requested.
    unchecked: usize,
    stage: Stage,
    /// Stale paths to invalidate again, once the Delivery API is asked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    again: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Page {
    path: String,
    request: Outstanding,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verdict: Option<Verdict>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "stage")]
enum Stage {
    /// Requesting the pages.
    Checking,
    /// Some page was stale: waiting before the Delivery API is asked again.
    Waiting { until: Timestamp },
    /// Asking the Delivery API whether it serves every change now.
    Gate { checks: Vec<GateCheck>, deadline: Timestamp },
    /// Decided: [`Verify::finish`] says what.
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct GateCheck {
    target: ChangedTarget,
    /// `None` once confirmed.
    request: Option<Outstanding>,
}

/// What a page's answer says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "why")]
pub enum Verdict {
    /// A visitor gets the new page.
    Fresh(String),
    /// A visitor gets a copy from before the change: invalidate again.
    Stale(String),
    /// Invalidating again would not help (5xx, a redirect, not served): reported.
    Broken(String),
}

/// What [`Verify::poll`] asks of its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// Send these requests.
    Send(Vec<Command>),
    /// Nothing to send until an answer comes or [`Verify::next_timeout`] passes.
    Wait,
    /// Decided: call [`Verify::finish`].
    Done,
}

/// What a finished verification hands back.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// The batch, its receipt marked.
    pub batch: Batch,
    /// Paths to invalidate again, in a batch that carries the receipt on.
    pub again: Vec<String>,
}

/// Whether a path is one a visitor can request: no wildcard, no tag.
pub fn is_exact(path: &str) -> bool {
    !tags::is_tag(path) && !paths::is_wildcard(path)
}

/// Judges one page's answer, `since_completed` after the invalidation
/// completed, for a batch of the changes `wants`. `revisions`: whether the
/// revision header is checked (`VERIFY_REVISION_HEADER` set).
pub fn judge(
    answer: &Result<PageSeen, Failure>,
    since_completed: Duration,
    wants: &[ChangedTarget],
    revisions: bool,
) -> Verdict {
    let seen = match answer {
        Ok(seen) => seen,
        Err(failure) => return Verdict::Broken(format!("no answer: {}", failure.reason)),
    };
    let unpublished = wants.iter().any(|t| t.wants_revision.is_none());
    match seen.status {
        200..=299 => {}
        404 | 410 if unpublished => return Verdict::Fresh(format!("{seen}: gone after the unpublish")),
        500..=599 => return Verdict::Broken(format!("{seen}: the site failed; reported, not retried")),
        300..=399 => {
            let to = seen.location.as_deref().map(|l| format!(" to {l}")).unwrap_or_default();
            return Verdict::Broken(format!(
                "{seen}: redirects{to}, so the invalidated path is not the URL served (check PATH_RULES)"
            ));
        }
        404 | 410 => {
            return Verdict::Broken(format!(
                "{seen}: not served, so the invalidated path is not a page (check PATH_RULES)"
            ))
        }
        _ => return Verdict::Broken(format!("{seen}: not a page a visitor gets")),
    }
    let x_cache = seen.x_cache.as_deref().unwrap_or("").to_ascii_lowercase();
    let fetched_after = x_cache.starts_with("miss") || x_cache.starts_with("refreshhit");
    let young = seen.age.is_some_and(|age| u128::from(age) * 1000 < since_completed.as_millis());
    if !fetched_after && !young {
        return Verdict::Stale(format!(
            "{seen}: cached before the invalidation completed {} ms earlier",
            since_completed.as_millis()
        ));
    }
    if revisions {
        for (id, shown) in seen.revisions() {
            let Some(t) = wants.iter().find(|t| t.target.id == id) else { continue };
            match t.wants_revision {
                Some(published) if shown < published => {
                    return Verdict::Stale(format!(
                        "{seen}: the origin rendered {id} at revision {shown}, published {published}"
                    ))
                }
                None => return Verdict::Stale(format!("{seen}: the origin still renders the unpublished {id}")),
                Some(_) => {}
            }
        }
    }
    Verdict::Fresh(format!("{seen}"))
}

impl Verify {
    /// Starts verifying `batch`, completed at `now`; the batch back when it
    /// holds no exact path to request (its receipt says so).
    pub fn start(mut batch: Batch, now: Timestamp, policy: &Policy) -> Result<Box<Verify>, Box<Batch>> {
        let exact: Vec<&String> = batch.paths.iter().filter(|p| is_exact(p)).collect();
        if exact.is_empty() {
            let detail = "no exact path to request: wildcards and tags are never checked";
            batch.receipt.mark(StepName::NotVerified, now, Some(detail.into()));
            return Err(Box::new(batch));
        }
        let max = policy.verify.max_paths;
        let pages = exact
            .iter()
            .take(max)
            .enumerate()
            .map(|(i, p)| Page { path: p.to_string(), request: Outstanding::due(wake(now, i)), verdict: None })
            .collect();
        let unchecked = exact.len().saturating_sub(max);
        Ok(Box::new(Verify { completed_at: now, pages, unchecked, stage: Stage::Checking, batch, again: Vec::new() }))
    }

    /// The batch being verified.
    pub fn batch(&self) -> &Batch {
        &self.batch
    }

    /// A page answered.
    pub fn on_page(
        &mut self,
        sequence: u64,
        path: &str,
        answer: Result<PageSeen, Failure>,
        now: Timestamp,
        policy: &Policy,
    ) {
        if sequence != self.batch.sequence || self.stage != Stage::Checking {
            return;
        }
        let Some(page) = self.pages.iter_mut().find(|p| p.path == path && p.request.is_sent()) else {
            return;
        };
        let since = self.completed_at.until(now);
        let revisions = policy.verify.revision_header.is_some();
        page.verdict = Some(judge(&answer, since, &self.batch.revisions, revisions));
        page.request.succeeded(now);
    }

    /// The Delivery API answered the check before invalidating again.
    pub fn on_revision(
        &mut self,
        target: &LinkTarget,
        result: Result<Option<u64>, Failure>,
        now: Timestamp,
        policy: &Policy,
    ) {
        let Stage::Gate { checks, .. } = &mut self.stage else { return };
        let Some(check) =
            checks.iter_mut().find(|c| c.target.target == *target && c.request.is_some_and(|r| r.is_sent()))
        else {
            return;
        };
        if super::walk::serves(check.target.wants_revision, &result) {
            check.request = None;
        } else if let Some(r) = &mut check.request {
            r.failed(now.plus(policy.poll_first));
        }
    }

    /// Sends what is due and moves on once every answer is in.
    pub fn poll(&mut self, now: Timestamp, policy: &Policy) -> Poll {
        loop {
            match &mut self.stage {
                Stage::Checking => {
                    if self.pages.iter().all(|p| p.verdict.is_some()) {
                        self.stage = Stage::Done;
                        if self.batch.verify_round < policy.verify.retries {
                            self.decide_again(now, policy);
                        }
                        continue;
                    }
                    let sequence = self.batch.sequence;
                    let sends: Vec<Command> = self
                        .pages
                        .iter_mut()
                        .filter_map(|p| {
                            let sent = p.verdict.is_none() && p.request.send_if_due(now);
                            sent.then(|| Command::CheckPage { sequence, path: p.path.clone() })
                        })
                        .collect();
                    return if sends.is_empty() { Poll::Wait } else { Poll::Send(sends) };
                }
                Stage::Waiting { until } if *until > now => return Poll::Wait,
                Stage::Waiting { .. } if policy.freshness_max_wait.is_zero() || self.batch.revisions.is_empty() => {
                    // No gate (FRESHNESS_MAX_WAIT_SECONDS=0), or nothing to ask about.
                    self.stage = Stage::Done;
                }
                Stage::Waiting { .. } => {
                    let checks: Vec<GateCheck> = self
                        .batch
                        .revisions
                        .iter()
                        .map(|t| GateCheck { target: t.clone(), request: Some(Outstanding::due(now)) })
                        .collect();
                    self.stage = Stage::Gate { checks, deadline: now.plus(policy.freshness_max_wait) };
                }
                Stage::Gate { checks, deadline } => {
                    let open = checks.iter().any(|c| c.request.is_some());
                    if !open || now >= *deadline {
                        let detail = open.then(|| {
                            format!(
                                "the Delivery API did not confirm every change within FRESHNESS_MAX_WAIT_SECONDS ({} s); invalidating again anyway",
                                policy.freshness_max_wait.as_secs_f64()
                            )
                        });
                        self.batch.receipt.mark(StepName::Fresh, now, detail);
                        self.stage = Stage::Done;
                        continue;
                    }
                    let target = |c: &GateCheck| Command::FetchRevision { target: c.target.target.clone() };
                    let sends: Vec<Command> = checks
                        .iter_mut()
                        .filter_map(|c| c.request.as_mut().is_some_and(|r| r.send_if_due(now)).then(|| target(c)))
                        .collect();
                    return if sends.is_empty() { Poll::Wait } else { Poll::Send(sends) };
                }
                Stage::Done => return Poll::Done,
            }
        }
    }

    /// Some pages were stale and retries are left: marks the receipt with
    /// what they showed and waits before asking the Delivery API. The pages
    /// the site failed or does not serve are kept for the report.
    fn decide_again(&mut self, now: Timestamp, policy: &Policy) {
        let stale = |p: &&Page| matches!(p.verdict, Some(Verdict::Stale(_)));
        if !self.pages.iter().any(|p| stale(&p)) {
            return;
        }
        let mut seen = Vec::new();
        for p in &self.pages {
            match &p.verdict {
                Some(Verdict::Stale(why)) => {
                    seen.push(format!("{}: {why}", p.path));
                    self.again.push(p.path.clone());
                }
                Some(Verdict::Broken(why)) => keep_problem(&mut self.batch.not_verified, format!("{}: {why}", p.path)),
                _ => {}
            }
        }
        let detail = format!("{} page(s) stale: {}", self.again.len(), seen.join("; "));
        self.batch.receipt.mark(StepName::Reinvalidated, now, Some(detail));
        self.stage = Stage::Waiting { until: now.plus(policy.verify.retry_wait) };
    }

    /// When it next has something to do.
    pub fn next_timeout(&self) -> Option<Timestamp> {
        match &self.stage {
            Stage::Checking => {
                self.pages.iter().filter(|p| p.verdict.is_none()).filter_map(|p| p.request.due_at()).min()
            }
            Stage::Waiting { until } => Some(*until),
            Stage::Gate { checks, deadline } => {
                let due = checks.iter().filter_map(|c| c.request.and_then(|r| r.due_at())).min();
                Some(due.map_or(*deadline, |d| d.min(*deadline)))
            }
            Stage::Done => None,
        }
    }

    /// Whether a request is out and unanswered.
    pub fn in_flight(&self) -> bool {
        match &self.stage {
            Stage::Checking => self.pages.iter().any(|p| p.verdict.is_none() && p.request.is_sent()),
            Stage::Gate { checks, .. } => checks.iter().any(|c| c.request.is_some_and(|r| r.is_sent())),
            _ => false,
        }
    }

    /// Sends again whatever was lost (a body restarted mid-request).
    pub fn recover(&mut self, now: Timestamp) {
        for p in self.pages.iter_mut().filter(|p| p.verdict.is_none()) {
            p.request.recover(now);
        }
        if let Stage::Gate { checks, .. } = &mut self.stage {
            for r in checks.iter_mut().filter_map(|c| c.request.as_mut()) {
                r.recover(now);
            }
        }
    }

    /// Once [`Poll::Done`]: marks the receipt (verified, re-invalidated or
    /// not verified) and hands the batch back with what to invalidate again.
    pub fn finish(self, now: Timestamp) -> Finished {
        let Verify { mut batch, pages, unchecked, again, .. } = self;
        if !again.is_empty() {
            return Finished { batch, again };
        }
        let mut fresh = 0;
        let mut stale = Vec::new();
        for page in pages {
            match page.verdict {
                Some(Verdict::Fresh(_)) => fresh += 1,
                Some(Verdict::Stale(why)) => stale.push(format!("{}: {why}", page.path)),
                Some(Verdict::Broken(why)) => keep_problem(&mut batch.not_verified, format!("{}: {why}", page.path)),
                None => keep_problem(&mut batch.not_verified, format!("{}: not checked", page.path)),
            }
        }
        let not_checked =
            (unchecked > 0).then(|| format!("; {unchecked} more exact path(s) past VERIFY_MAX_PATHS not checked"));
        let not_checked = not_checked.unwrap_or_default();
        for s in stale {
            keep_problem(&mut batch.not_verified, format!("{s} (still stale after VERIFY_RETRIES re-invalidations)"));
        }
        if batch.not_verified.is_empty() {
            let detail = format!("{fresh} page(s) fresh{not_checked}");
            batch.receipt.mark(StepName::Verified, now, Some(detail));
        } else {
            let detail = format!("{}{not_checked}", batch.not_verified.join("; "));
            batch.receipt.mark(StepName::NotVerified, now, Some(detail));
        }
        Finished { batch, again: Vec::new() }
    }
}

/// When the `i`-th page goes out: [`PAGES_PER_WAKE`] a wake.
fn wake(now: Timestamp, i: usize) -> Timestamp {
    now.plus(WAKE_SPACING * (i / PAGES_PER_WAKE) as u32)
}

fn keep_problem(problems: &mut Vec<String>, problem: String) {
    if problems.len() < PROBLEMS_KEPT {
        problems.push(super::pending::shorten(problem));
    }
}
