//! What a person knows a change by: the entry (or asset) it changed, its
//! content type, what happened to it and when it came in. Kept beside the
//! tracking ids, bounded like them, so that status pages find a change by
//! entry id and show when it was received.

use crate::time::Timestamp;
use crate::webhook::{Action, Change, EntityKind};
use serde::{Deserialize, Serialize};

/// Contentful's ids (entries, assets, content types) are at most 64
/// characters; a longer one (no webhook Contentful sends) is cut, so a label
/// stays small whatever a body was given.
const ID_MAX_CHARS: usize = 64;

/// Labels kept per set of changes and per batch: the first few, as the
/// tracking ids a batch keeps (the count is always whole).
pub(super) const LABELS_KEPT: usize = 20;

/// One change as a person names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLabel {
    /// The change's tracking id.
    pub tracking_id: String,
    /// Entry or asset.
    pub kind: EntityKind,
    /// The entry's (or asset's) `sys.id`.
    pub entry_id: String,
    /// An entry's content type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// What happened to it.
    pub action: Action,
    /// When the workflow took it in.
    pub received_at: Timestamp,
}

impl ChangeLabel {
    /// The label of `change`, taken in at `received_at`.
    pub fn of(change: &Change, received_at: Timestamp) -> ChangeLabel {
        ChangeLabel {
            tracking_id: change.tracking_id.clone(),
            kind: change.kind,
            entry_id: cut(&change.id),
            content_type: change.content_type.as_deref().map(cut),
            action: change.action,
            received_at,
        }
    }

    /// Roughly what it takes when stored.
    pub(super) fn stored_bytes(&self) -> usize {
        const FIXED: usize = 80;
        FIXED + self.tracking_id.len() + self.entry_id.len() + self.content_type.as_ref().map_or(0, String::len)
    }
}

/// Adds `more` to `labels`, each change once, keeping at most [`LABELS_KEPT`].
pub(super) fn merge(labels: &mut Vec<ChangeLabel>, more: impl IntoIterator<Item = ChangeLabel>) {
    for label in more {
        if labels.len() >= LABELS_KEPT {
            return;
        }
        if !labels.iter().any(|l| l.tracking_id == label.tracking_id) {
            labels.push(label);
        }
    }
}

fn cut(id: &str) -> String {
    id.chars().take(ID_MAX_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::{parse, Parsed};

    fn change(id: &str) -> Change {
        let body = format!(
            r#"{{"sys":{{"type":"Entry","id":"{id}","space":{{"sys":{{"id":"s"}}}},"contentType":{{"sys":{{"id":"page"}}}},"revision":2}}}}"#
        );
        match parse(Some("ContentManagement.Entry.publish"), body.as_bytes()).unwrap() {
            Parsed::Change(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_label_names_the_entry_its_content_type_and_when_it_came() {
        let l = ChangeLabel::of(&change("hero"), Timestamp(5));
        assert_eq!((l.entry_id.as_str(), l.content_type.as_deref()), ("hero", Some("page")));
        assert_eq!((l.kind, l.action, l.received_at), (EntityKind::Entry, Action::Publish, Timestamp(5)));
    }

    #[test]
    fn labels_stay_bounded_in_count_and_length() {
        let long = ChangeLabel::of(&change(&"x".repeat(500)), Timestamp(0));
        assert_eq!(long.entry_id.chars().count(), ID_MAX_CHARS);
        let mut labels = Vec::new();
        let many = (0..100).map(|i| ChangeLabel { tracking_id: format!("t{i}"), ..long.clone() });
        merge(&mut labels, many);
        merge(&mut labels, [long.clone()]);
        assert_eq!(labels.len(), LABELS_KEPT);
        let mut once = Vec::new();
        merge(&mut once, [long.clone(), long.clone()]);
        assert_eq!(once.len(), 1, "a change is labelled once");
    }
}
