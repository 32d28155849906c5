//! The bounded record of revisions already taken in (entity → last revision
//! taken, and whether it was a removal), so that a change a webhook brought
//! is not invalidated a second time by the catch-up sweep; and of the last
//! deliveries' tracking ids, so that a delivery already taken (its retry, or
//! the rare second firing of one event) is answered as taken on AWS, where
//! no workflow is at hand to ask.

use crate::revision::Stamp;
use crate::sync::SyncItem;
use crate::webhook::{Change, EntityKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Entities remembered. The record only has to span the changes taken since
/// the sweep's position (one interval, 5 minutes by default); past that, the
/// cost of forgetting is one change invalidated twice. At about 60 bytes an
/// entity it stays near 120 KiB, far inside a Durable Object value (2 MB)
/// and a DynamoDB item (400 KB).
pub const TAKEN_LIMIT: usize = 2048;

/// Tracking ids of the last deliveries taken in, as the workflow's own
/// `seen` record keeps them: Contentful retries a delivery within about a
/// minute, and a second firing comes as soon; 512 ids of 64 hex are 34 KB.
pub const TAKEN_IDS_LIMIT: usize = 512;

/// What was last taken in for one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Mark {
    /// `sys.revision` of the change, when it said.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    revision: Option<u64>,
    /// An unpublish, archive or delete (the Sync API shows them all as a deletion).
    #[serde(rename = "x", default, skip_serializing_if = "std::ops::Not::not")]
    removed: bool,
    /// When it was taken, in the record's own order: the oldest go first.
    #[serde(rename = "s")]
    order: u64,
}

/// Revisions already taken in, newest kept, at most [`TAKEN_LIMIT`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taken {
    marks: BTreeMap<String, Mark>,
    next: u64,
    /// The last [`TAKEN_IDS_LIMIT`] tracking ids taken in, oldest first
    /// (absent from records written before it).
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    ids: VecDeque<String>,
}

fn key(kind: EntityKind, id: &str) -> String {
    match kind {
        EntityKind::Entry => format!("e:{id}"),
        EntityKind::Asset => format!("a:{id}"),
    }
}

impl Taken {
    /// Remembers that `change` was taken in (from a webhook or a sweep). A
    /// change older than the one marked (by revision: see
    /// [`crate::revision`]) leaves the mark as it is, only fresher.
    pub fn record(&mut self, change: &Change) {
        if !self.holds_delivery(&change.tracking_id) {
            self.ids.push_back(change.tracking_id.clone());
            while self.ids.len() > TAKEN_IDS_LIMIT {
                self.ids.pop_front();
            }
        }
        if !change.action.changes_delivery() {
            // An archive or delete changed nothing served: the sweep's
            // deletion of it is the unpublish, if that webhook never came.
            return;
        }
        let removed = !change.action.is_publish();
        let mut mark = Mark { revision: change.revision, removed, order: self.next };
        self.next += 1;
        let key = key(change.kind, &change.id);
        if let Some(known) = self.marks.get(&key) {
            let stamp = |m: &Mark| Stamp { revision: m.revision, removed: m.removed };
            if !stamp(&mark).supersedes(stamp(known)) {
                mark = Mark { order: mark.order, ..*known };
            }
        }
        self.marks.insert(key, mark);
        if self.marks.len() > TAKEN_LIMIT {
            let mut orders: Vec<u64> = self.marks.values().map(|m| m.order).collect();
            orders.sort_unstable();
            let keep_from = orders[self.marks.len() - TAKEN_LIMIT];
            self.marks.retain(|_, m| m.order >= keep_from);
        }
    }

    /// True when `item` was already taken in: a publish at this revision or
    /// later, or a removal for a deletion.
    pub fn covers(&self, item: &SyncItem) -> bool {
        let Some(mark) = self.marks.get(&key(item.kind, &item.id)) else {
            return false;
        };
        if item.deleted {
            return mark.removed;
        }
        !mark.removed && mark.revision.unwrap_or(0) >= item.revision.unwrap_or(0)
    }

    /// True when the delivery `tracking_id` is among the last taken in.
    pub fn holds_delivery(&self, tracking_id: &str) -> bool {
        self.ids.iter().any(|id| id == tracking_id)
    }

    /// Entities remembered.
    pub fn len(&self) -> usize {
        self.marks.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ChangeBuilder;
    use crate::webhook::Action;

    fn item(id: &str, revision: u64, deleted: bool) -> SyncItem {
        SyncItem {
            kind: EntityKind::Entry,
            id: id.into(),
            deleted,
            revision: Some(revision),
            content_type: None,
            space: None,
            environment: None,
            fields: None,
        }
    }

    #[test]
    fn a_publish_covers_its_revision_and_older_and_a_removal_covers_a_deletion() {
        let mut taken = Taken::default();
        taken.record(&ChangeBuilder::publish("e1").revision(4).build());
        assert!(taken.covers(&item("e1", 4, false)));
        assert!(taken.covers(&item("e1", 3, false)));
        assert!(!taken.covers(&item("e1", 5, false)), "a later revision is a new change");
        assert!(!taken.covers(&item("e1", 4, true)), "a deletion after a publish is new");
        assert!(!taken.covers(&item("e2", 1, false)));
        taken.record(&ChangeBuilder::new(Action::Delete, "e1").build());
        assert!(!taken.covers(&item("e1", 4, true)), "a delete changes nothing served: the unpublish may be missed");
        taken.record(&ChangeBuilder::new(Action::Unpublish, "e1").build());
        assert!(taken.covers(&item("e1", 4, true)));
        assert!(!taken.covers(&item("e1", 4, false)), "republished after the unpublish");
    }

    #[test]
    fn the_highest_revision_is_marked_whichever_arrives_first() {
        for order in [[5, 6], [6, 5]] {
            let mut taken = Taken::default();
            for r in order {
                taken.record(&ChangeBuilder::publish("e1").revision(r).build());
            }
            assert!(taken.covers(&item("e1", 6, false)), "{order:?}: revision 6 was taken in");
        }
    }

    #[test]
    fn the_last_deliveries_are_known_by_tracking_id_and_bounded() {
        let mut taken = Taken::default();
        let first = ChangeBuilder::publish("e1").revision(1).build();
        taken.record(&first);
        assert!(taken.holds_delivery(&first.tracking_id));
        assert!(!taken.holds_delivery("another"));
        for i in 0..TAKEN_IDS_LIMIT {
            taken.record(&ChangeBuilder::publish(&format!("n{i}")).revision(1).build());
        }
        assert!(!taken.holds_delivery(&first.tracking_id), "the oldest is forgotten");
        let old: Taken = serde_json::from_str(r#"{"marks":{},"next":0}"#).unwrap();
        assert!(!old.holds_delivery(&first.tracking_id), "a record written before still reads");
    }

    #[test]
    fn the_record_keeps_the_newest_and_stays_bounded() {
        let mut taken = Taken::default();
        for i in 0..TAKEN_LIMIT + 10 {
            taken.record(&ChangeBuilder::publish(&format!("e{i}")).revision(1).build());
        }
        assert_eq!(taken.len(), TAKEN_LIMIT);
        assert!(!taken.covers(&item("e0", 1, false)), "the oldest is forgotten");
        assert!(taken.covers(&item(&format!("e{}", TAKEN_LIMIT + 9), 1, false)));
        let bytes = serde_json::to_vec(&taken).unwrap().len();
        assert!(bytes < 150 << 10, "{bytes} bytes");
    }
}
