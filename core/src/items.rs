//! What invalidates one entry: its `PATH_RULES` paths, its `TAG_RULES` tags
//! as `#tag` items, or both, as `INVALIDATE_BY` says. The one place the walk
//! and a webhook's own entry turn an entry into batch items.

use crate::rules::Rendered;
use crate::settings::Policy;
use crate::tags;
use serde_json::{Map, Value};

/// The items for an entry of `content_type` (`None`: the change did not say,
/// as unpublish and delete payloads may not), with notes on what fell back
/// to a wildcard or was skipped.
pub fn for_entry(policy: &Policy, content_type: Option<&str>, entry_id: &str, fields: &Map<String, Value>) -> Rendered {
    let mut out = Rendered::default();
    if policy.invalidate_by.paths() {
        match content_type {
            Some(ct) => out = policy.rules.render(ct, entry_id, fields),
            // Without a content type every rule's wildcard stands in for the
            // entry's own paths.
            None => {
                out.paths = policy.rules.fallback_wildcards();
                if !out.paths.is_empty() {
                    out.fallbacks.push(format!(
                        "entry {entry_id} came without a content type: used every rule's wildcard {}",
                        out.paths.join(", ")
                    ));
                }
            }
        }
    }
    if policy.invalidate_by.tags() {
        let rendered = policy.tags.render(content_type, entry_id, fields);
        out.paths.extend(rendered.tags.iter().map(|t| tags::item(t)));
        out.fallbacks.extend(rendered.skipped);
    }
    out
}
