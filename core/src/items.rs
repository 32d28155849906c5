//! What invalidates one entry: its `PATH_RULES` paths, its `TAG_RULES` tags
//! as `#tag` items, or both, as `INVALIDATE_BY` says. The one place the walk
//! and a webhook's own entry turn an entry into batch items.

use crate::settings::Policy;
use crate::tags::{self, InvalidateBy};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One entry's items, split by how sure they are. Serialized where a change
/// carries them instead of its fields ([`crate::webhook::Change::items`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryItems {
    /// Paths and tags rendered from the entry's fields: what it is served at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exact: Vec<String>,
    /// Wildcards standing in for templates whose fields are missing (an
    /// unpublish carries none): what path memory may replace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wildcards: Vec<String>,
    /// Why each wildcard was used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wildcard_notes: Vec<String>,
    /// Tags skipped, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl EntryItems {
    /// Every item: the exact ones and the wildcards.
    pub fn all(&self) -> Vec<String> {
        self.exact.iter().chain(&self.wildcards).cloned().collect()
    }
}

/// The items for an entry of `content_type` (`None`: the change did not say,
/// as unpublish and delete payloads may not).
pub fn for_entry(
    policy: &Policy,
    content_type: Option<&str>,
    entry_id: &str,
    fields: &Map<String, Value>,
) -> EntryItems {
    let mut out = EntryItems::default();
    if policy.invalidate_by.paths() {
        match content_type {
            Some(ct) => {
                let rendered = policy.rules.render(ct, entry_id, fields);
                out.exact = rendered.paths.into_iter().filter(|p| !rendered.wildcards.contains(p)).collect();
                out.wildcards = rendered.wildcards;
                out.wildcard_notes = rendered.fallbacks;
            }
            // Without a content type every rule's wildcard stands in for the
            // entry's own paths.
            None => {
                out.wildcards = policy.rules.fallback_wildcards();
                if !out.wildcards.is_empty() {
                    out.wildcard_notes.push(format!(
                        "entry {entry_id} came without a content type: used every rule's wildcard {}",
                        out.wildcards.join(", ")
                    ));
                }
            }
        }
    }
    if policy.invalidate_by.tags() {
        let rendered = policy.tags.render(content_type, entry_id, fields);
        let tag_items: Vec<String> = rendered.tags.iter().map(|t| tags::item(t)).collect();
        out.notes.extend(rendered.skipped);
        if policy.invalidate_by == InvalidateBy::Cheapest {
            return cheaper(out, tag_items);
        }
        out.exact.extend(tag_items);
    }
    out
}

/// `INVALIDATE_BY=cheapest`: the entry's tags instead of its paths when they
/// bill no more items (a tie goes to the tags, which never widen), else its
/// paths. Either invalidates the entry's pages: its paths are its pages'
/// URLs, and the origin tags each page with its entry (`*` has a tag of
/// `{sys.id}` alone, see the setting's check).
pub fn cheaper(paths: EntryItems, tag_items: Vec<String>) -> EntryItems {
    // As the plan will bill them: normalised, and less what a wildcard covers.
    let normalized = paths.all().iter().filter_map(|p| crate::paths::normalize(p).ok()).collect();
    let billed_by_paths = crate::paths::minimize(normalized).len();
    if tag_items.is_empty() || tag_items.len() > billed_by_paths {
        return paths;
    }
    EntryItems { exact: tag_items, wildcards: Vec::new(), wildcard_notes: Vec::new(), notes: paths.notes }
}
