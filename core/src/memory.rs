//! Path memory: what each entry was last planned as (its own paths and tags),
//! per distribution, so that an unpublish, archive or delete invalidates the
//! exact previous paths, and a slug rename the old ones beside the new.
//!
//! The workflow asks with [`crate::workflow::Command::Recall`] and gets
//! [`crate::workflow::Event::Recalled`] back; a body answers through a
//! [`PathMemory`] (Durable Object storage on the edge, DynamoDB on AWS) and
//! keeps each entry's [`Memory`] under its own key, at most
//! `PATH_MEMORY_ENTRIES` of them, the least recently used dropped first.
//! What to store and what to answer is decided here, by [`Memory::update`],
//! so both bodies agree: a body reads the record, calls it, writes the result.

use crate::retry::Failure;
use crate::revision::Stamp;
use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

/// What an entry was planned as at one revision, with what it was before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// The entry's revision these items are for.
    pub revision: u64,
    /// Its own paths and tags, as planned at that revision.
    pub items: Vec<String>,
    /// Its items at the revision before: what a repeated publish recalls.
    #[serde(default)]
    pub previous: Vec<String>,
    /// When it was last read or written, in milliseconds since 1970: the
    /// least recently used are dropped first (below 2^53, a JavaScript number).
    #[serde(default)]
    pub used_at: u64,
    /// Unpublished at `revision`: nothing of it is served (`items` is empty).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

/// A change's items, to keep for its entry.
///
/// No items is a fact too: nothing about the entry at `revision` may be
/// trusted. A publish whose items could not be kept (its recall was over
/// the bounds of one set of changes, or its template missed fields) says so,
/// and the record of an older revision is no longer answered: the unpublish
/// that follows uses its rules' wildcards instead of paths it no longer has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remember {
    /// The revision published.
    pub revision: u64,
    /// The entry's own paths and tags at that revision (empty: not known).
    pub items: Vec<String>,
    /// An unpublish at `revision`: nothing is served any more.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

impl Remember {
    /// A publish at `revision` with these items (empty: not known).
    pub fn published(revision: u64, items: Vec<String>) -> Remember {
        Remember { revision, items, removed: false }
    }

    /// An unpublish at `revision`.
    pub fn removed(revision: u64) -> Remember {
        Remember { revision, items: Vec::new(), removed: true }
    }

    /// Where this change stands in its entry's history.
    pub fn stamp(&self) -> Stamp {
        Stamp { revision: Some(self.revision), removed: self.removed }
    }
}

impl Memory {
    /// What to store and what to answer, given the stored record (`None`:
    /// nothing remembered), what to remember (`None`: only recall, for an
    /// archive or delete) and the time. The change at the higher revision
    /// stands, whatever arrives last ([`crate::revision`]). Idempotent: the
    /// same change asked again (a retried request) answers the same items.
    pub fn update(stored: Option<Memory>, remember: Option<Remember>, now_ms: u64) -> (Option<Memory>, Vec<String>) {
        match (stored, remember) {
            (None, None) => (None, Vec::new()),
            // Nothing known, and nothing to trust: no record is needed.
            (None, Some(r)) if r.items.is_empty() => (None, Vec::new()),
            (None, Some(r)) => (
                Some(Memory {
                    revision: r.revision,
                    items: r.items,
                    previous: Vec::new(),
                    used_at: now_ms,
                    removed: false,
                }),
                Vec::new(),
            ),
            (Some(m), None) => {
                let recalled = m.items.clone();
                (Some(Memory { used_at: now_ms, ..m }), recalled)
            }
            // The same change again: what it recalled the first time.
            (Some(m), Some(r)) if r.stamp() == m.stamp() => {
                let recalled = m.previous.clone();
                (Some(Memory { used_at: now_ms, ..m }), recalled)
            }
            // A change older than the one kept, arriving late: keep the newer.
            (Some(m), Some(r)) if !r.stamp().supersedes(m.stamp()) => {
                (Some(Memory { used_at: now_ms, ..m }), Vec::new())
            }
            // A newer revision (with no items when they are not known, or an
            // unpublish): what was kept is recalled, as a rename's old paths.
            (Some(m), Some(r)) => {
                let recalled = m.items.clone();
                let kept = Memory {
                    revision: r.revision,
                    items: r.items,
                    previous: m.items,
                    used_at: now_ms,
                    removed: r.removed,
                };
                (Some(kept), recalled)
            }
        }
    }

    /// The record to store for an entry read at `seen`'s revision (from the
    /// initial sync or a walk: [`crate::observed`]), given the stored one;
    /// `None` leaves the stored record as it is. An observation is no
    /// change: it fills what is not known, and never overrides a record at a
    /// newer revision (or an unpublish of the same one).
    pub fn observe(stored: Option<&Memory>, seen: &Remember, now_ms: u64) -> Option<Memory> {
        let fresh = |previous: Vec<String>| Memory {
            revision: seen.revision,
            items: seen.items.clone(),
            previous,
            used_at: now_ms,
            removed: false,
        };
        match stored {
            _ if seen.items.is_empty() => None,
            None => Some(fresh(Vec::new())),
            // The same revision, kept as "items not known": now they are.
            Some(m) if m.stamp() == seen.stamp() && m.items.is_empty() => Some(fresh(m.previous.clone())),
            Some(m) if m.stamp() == seen.stamp() || !seen.stamp().supersedes(m.stamp()) => None,
            Some(m) => Some(fresh(m.items.clone())),
        }
    }

    fn stamp(&self) -> Stamp {
        Stamp { revision: Some(self.revision), removed: self.removed }
    }
}

/// Where a body keeps the memory of one distribution's entries. Answers the
/// items the entry was planned as before (empty: nothing remembered) after
/// storing `remember` by [`Memory::update`].
pub trait PathMemory {
    /// Recalls `entry_id`'s previous items, remembering `remember` if given.
    fn recall<'a>(
        &'a self,
        entry_id: &'a str,
        remember: Option<Remember>,
    ) -> LocalBoxFuture<'a, Result<Vec<String>, Failure>>;

    /// Keeps entries read elsewhere (at most one per entry, see
    /// [`crate::observed::dedupe`]), each by [`Memory::observe`], within the
    /// same bound as every record.
    fn observe<'a>(&'a self, seen: Vec<crate::observed::Observed>) -> LocalBoxFuture<'a, Result<(), Failure>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remember(revision: u64, items: &[&str]) -> Option<Remember> {
        Some(Remember::published(revision, items.iter().map(|s| s.to_string()).collect()))
    }

    #[test]
    fn a_rename_recalls_the_old_items_and_a_retry_recalls_them_again() {
        let (m, recalled) = Memory::update(None, remember(1, &["/winter-sale"]), 10);
        assert!(recalled.is_empty());
        let (m, recalled) = Memory::update(m, remember(2, &["/winter-deals"]), 20);
        assert_eq!(recalled, ["/winter-sale"]);
        let (m, again) = Memory::update(m, remember(2, &["/winter-deals"]), 30);
        assert_eq!(again, ["/winter-sale"], "a retried publish answers the same");
        let (m, late) = Memory::update(m, remember(1, &["/winter-sale"]), 40);
        assert!(late.is_empty());
        let m = m.unwrap();
        assert_eq!((m.revision, m.items.as_slice(), m.used_at), (2, &["/winter-deals".to_string()][..], 40));
    }

    #[test]
    fn a_publish_whose_items_are_not_known_leaves_nothing_to_trust() {
        let (m, _) = Memory::update(None, remember(1, &["/a"]), 1);
        let (m, recalled) = Memory::update(m, remember(2, &[]), 2);
        assert_eq!(recalled, ["/a"], "the old paths are still invalidated");
        let (m, again) = Memory::update(m, remember(2, &[]), 3);
        assert_eq!(again, ["/a"], "a retried request answers the same");
        let (_, unpublished) = Memory::update(m, None, 4);
        assert!(unpublished.is_empty(), "the unpublish finds nothing, so its wildcard stands in: {unpublished:?}");
        assert_eq!(Memory::update(None, remember(3, &[]), 5), (None, Vec::new()), "no record for nothing");
    }

    #[test]
    fn an_unpublish_is_kept_so_a_later_delete_finds_nothing_served() {
        let (m, _) = Memory::update(None, remember(4, &["/blog/news/a"]), 1);
        for unpublish_revision in [4, 5] {
            let (m, recalled) = Memory::update(m.clone(), Some(Remember::removed(unpublish_revision)), 2);
            assert_eq!(recalled, ["/blog/news/a"], "the unpublish of revision {unpublish_revision}");
            let (m, again) = Memory::update(m, Some(Remember::removed(unpublish_revision)), 3);
            assert_eq!(again, ["/blog/news/a"], "a retried unpublish answers the same");
            let (m, deleted) = Memory::update(m, None, 4);
            assert!(deleted.is_empty(), "nothing is served: {deleted:?}");
            let (_, late) = Memory::update(m, remember(4, &["/blog/news/a"]), 5);
            assert!(late.is_empty(), "the publish the unpublish took down, arriving late, changes nothing");
        }
    }

    #[test]
    fn an_observation_fills_what_is_not_known_and_never_overrides_a_newer_record() {
        let seen = |r: u64| Remember::published(r, vec![format!("/seen-{r}")]);
        let new = Memory::observe(None, &seen(3), 1).unwrap();
        assert_eq!((new.revision, new.items.as_slice()), (3, &["/seen-3".to_string()][..]));
        let (webhook, _) = Memory::update(None, remember(5, &["/hook-5"]), 2);
        let webhook = webhook.unwrap();
        assert_eq!(Memory::observe(Some(&webhook), &seen(4), 3), None, "an older read leaves the webhook's");
        assert_eq!(Memory::observe(Some(&webhook), &seen(5), 3), None, "the same revision: nothing to write");
        let newer = Memory::observe(Some(&webhook), &seen(6), 3).unwrap();
        assert_eq!((newer.items, newer.previous), (vec!["/seen-6".to_string()], vec!["/hook-5".to_string()]));
        let (unknown, _) = Memory::update(Some(webhook.clone()), remember(6, &[]), 4);
        assert_eq!(Memory::observe(unknown.as_ref(), &seen(6), 5).unwrap().items, ["/seen-6"], "filled in");
        let (removed, _) = Memory::update(Some(webhook), Some(Remember::removed(5)), 4);
        assert_eq!(Memory::observe(removed.as_ref(), &seen(5), 5), None, "unpublished at that revision");
    }

    #[test]
    fn an_unpublish_recalls_without_forgetting() {
        let (m, _) = Memory::update(None, remember(4, &["/blog/news/a", "#entry:a"]), 1);
        let (m, recalled) = Memory::update(m, None, 2);
        assert_eq!(recalled, ["/blog/news/a", "#entry:a"]);
        let (_, again) = Memory::update(m, None, 3);
        assert_eq!(again, ["/blog/news/a", "#entry:a"], "a delete after the unpublish still finds them");
        assert_eq!(Memory::update(None, None, 1), (None, Vec::new()));
    }
}
