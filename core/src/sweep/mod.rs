//! The catch-up sweep: at each interval, ask the Contentful Sync API what
//! changed since the last position, and turn every item no webhook already
//! brought into a [`Change`] for the one workflow, exactly as a webhook's
//! (same walk, same rules, same batches). Changes whose webhook never came
//! (a broken URL, a wrong secret, an outage, a disabled webhook) are
//! invalidated anyway, and reported.
//!
//! # The no-I/O contract
//!
//! [`Sweep::start`] at the stored [`Position`]; send [`Sweep::request`];
//! hand the answer to [`Sweep::on_page`] until it returns the
//! [`SweepOutcome`]. Then store the outcome's position, feed its changes to
//! the workflow as webhooks' changes are fed, and [`Taken::record`] them.
//! [`run`] does exactly that over an [`HttpClient`].
//!
//! - The first sweep (the initial sync) only records where the space stands:
//!   it invalidates nothing. Its published entries are handed out
//!   ([`SweepOutcome::observed`]) for the path memory to start from.
//! - A sweep that fails keeps the position it started from and feeds
//!   nothing: the next interval reads the same changes again, none skipped.
//! - An item the page's parser cannot read is gone past, named in the
//!   report ([`SweepReport::unreadable_items`]): the position moves on, so one
//!   item cannot fail every later sweep at the same page.
//! - A sweep stops after [`MAX_PAGES`] pages with the page token as its
//!   position, feeding what it read; the next interval goes on from there.

mod report;
pub mod taken;

pub use report::{SweepReport, MISSED_SHOWN, UNREADABLE_SHOWN};
pub use taken::{Taken, TAKEN_LIMIT};

use crate::io::{HttpClient, HttpRequest};
use crate::observed::{self, Observed};
use crate::retry::Failure;
use crate::settings::{ContentfulSettings, Policy};
use crate::sync::{read_sync_page, sync_request, After, Position, SyncItem, SyncPage};
use crate::time::Timestamp;
use crate::webhook::{Action, Change, EntityKind};
use sha2::{Digest, Sha256};

/// Pages one sweep reads at most: a Worker invocation may make 50
/// subrequests on the free plan, and the sweep leaves room for the rest.
/// 40 pages of [`crate::sync::SYNC_PAGE_LIMIT`] is 4,000 changes an interval.
pub const MAX_PAGES: u32 = 40;

/// One sweep in progress.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// Where it started: kept if it fails.
    from: Position,
    /// The page asked for next.
    at: Position,
    report: SweepReport,
    changes: Vec<Change>,
    /// The policy to render the initial sync's entries for the path memory
    /// with ([`Sweep::observing`]); `None` keeps nothing.
    observe: Option<Policy>,
    observed: Vec<Observed>,
}

/// What a finished sweep hands the body.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepOutcome {
    /// Store this as the position for the next sweep.
    pub position: Position,
    /// Feed these to the workflow, as a webhook's change is fed.
    pub changes: Vec<Change>,
    /// What it found, for the status page and the log.
    pub report: SweepReport,
    /// The initial sync's published entries, for the path memory (see
    /// [`crate::observed`]): at most `PATH_MEMORY_ENTRIES`, one per entry.
    pub observed: Vec<Observed>,
}

impl Sweep {
    /// A sweep from `position` (what the last sweep stored), at `now`.
    pub fn start(position: Position, now: Timestamp) -> Sweep {
        let report = SweepReport::new(now, position.is_initial());
        Sweep { from: position.clone(), at: position, report, changes: Vec::new(), observe: None, observed: Vec::new() }
    }

    /// The same, keeping the initial sync's published entries for the path
    /// memory, rendered by `policy` (nothing when path memory is off).
    pub fn observing(mut self, policy: &Policy) -> Sweep {
        self.observe = (policy.path_memory_entries > 0).then(|| policy.clone());
        self
    }

    /// The request for the next page.
    pub fn request(&self, settings: &ContentfulSettings) -> HttpRequest {
        sync_request(settings, &self.at)
    }

    /// Takes the answer to [`Sweep::request`]: `None` to ask for the next
    /// page, or the outcome once the sweep is over. `taken` is the record of
    /// revisions already taken in, inbox included.
    pub fn on_page(&mut self, page: Result<SyncPage, Failure>, taken: &Taken) -> Option<SweepOutcome> {
        self.report.requests += 1;
        let page = match page {
            Ok(page) => page,
            Err(failure) => {
                // Nothing is fed and the position stays: the next sweep reads it all again.
                let mut report = std::mem::replace(&mut self.report, SweepReport::new(Timestamp(0), false));
                report.fail(failure.reason);
                let observed = std::mem::take(&mut self.observed);
                return Some(SweepOutcome { position: self.from.clone(), changes: Vec::new(), report, observed });
            }
        };
        let initial = self.at.is_initial();
        self.report.items += (page.items.len() + page.unreadable.len()) as u64;
        self.report.unreadable(page.unreadable, self.report.requests);
        if let Some(policy) = self.observe.as_ref().filter(|_| initial) {
            // The whole space as it stands: what the path memory may start from.
            let seen = page.items.iter().filter(|i| i.kind == EntityKind::Entry && !i.deleted).filter_map(|i| {
                let fields = i.fields.clone().unwrap_or_default();
                observed::observe(policy, &i.id, i.content_type.as_deref(), i.revision, &fields)
            });
            let all = std::mem::take(&mut self.observed).into_iter().chain(seen).collect();
            self.observed = observed::dedupe(all, policy.path_memory_entries);
        }
        if !initial {
            for item in page.items {
                if taken.covers(&item) || self.changes.iter().any(|c| same_entity(c, &item)) {
                    continue;
                }
                let change = change_of(item);
                self.report.missed(&change);
                self.changes.push(change);
            }
        }
        self.at = match page.after {
            After::NextSync(token) => return Some(self.finish(Position::Sync(token), true)),
            After::NextPage(token) => Position::Page { token, initial },
        };
        if self.report.requests >= MAX_PAGES {
            return Some(self.finish(self.at.clone(), false));
        }
        None
    }

    fn finish(&mut self, position: Position, complete: bool) -> SweepOutcome {
        self.report.complete = complete;
        let report = std::mem::replace(&mut self.report, SweepReport::new(Timestamp(0), false));
        let observed = std::mem::take(&mut self.observed);
        SweepOutcome { position, changes: std::mem::take(&mut self.changes), report, observed }
    }
}

fn same_entity(change: &Change, item: &SyncItem) -> bool {
    change.kind == item.kind && change.id == item.id
}

/// The change a sync item stands for: a publish, or an unpublish for a
/// deletion (the Sync API does not tell unpublish, archive and delete apart;
/// a deletion is an entity taken off the Delivery API, which is what an
/// unpublish does: archive and delete alone change nothing served).
pub fn change_of(item: SyncItem) -> Change {
    let action = if item.deleted { Action::Unpublish } else { Action::Publish };
    Change {
        tracking_id: tracking_id(item.kind, &item.id, action, item.revision),
        space: item.space.unwrap_or_default(),
        environment: item.environment.unwrap_or_else(|| "master".to_string()),
        kind: item.kind,
        id: item.id,
        content_type: if item.deleted { None } else { item.content_type },
        action,
        revision: item.revision,
        fields: item.fields,
        items: None,
    }
}

/// A stable id for a change the sweep found: the same item found twice (a
/// sweep whose outcome was fed but not stored) is the same change.
pub fn tracking_id(kind: EntityKind, id: &str, action: Action, revision: Option<u64>) -> String {
    let mut h = Sha256::new();
    h.update(format!("sweep\n{kind:?}\n{id}\n{action:?}\n{}", revision.unwrap_or(0)).as_bytes());
    hex::encode(h.finalize())
}

/// Runs one whole sweep from `position` over `http`, keeping the initial
/// sync's entries for the path memory as `policy` renders them.
pub async fn run<H: HttpClient>(
    http: &H,
    settings: &ContentfulSettings,
    policy: &Policy,
    position: Position,
    taken: &Taken,
    now: Timestamp,
) -> SweepOutcome {
    let mut sweep = Sweep::start(position, now).observing(policy);
    loop {
        let page = match http.send(sweep.request(settings)).await {
            Ok(response) => read_sync_page(&response),
            Err(e) => Err(Failure::from(e)),
        };
        if let Some(outcome) = sweep.on_page(page, taken) {
            return outcome;
        }
    }
}

#[cfg(test)]
mod tests;
