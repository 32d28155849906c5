//! What the deployment reads anyway, kept for the path memory: every
//! published entry of the catch-up sweep's initial sync, and every entry the
//! walk reads from the Delivery API, both with their fields. Rendered here
//! into the record a publish of them would keep, so that the unpublish of an
//! entry no webhook ever announced still invalidates its exact paths.
//!
//! An observation is not a change: it invalidates nothing, and never
//! overrides a newer revision the memory holds (from a webhook, say): see
//! [`crate::memory::Memory::observe`].

use crate::memory::Remember;
use crate::settings::Policy;
use serde_json::{Map, Value};

/// One entry as read, to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The entry.
    pub entry_id: String,
    /// Its revision and items, as a publish of it would keep them.
    pub remember: Remember,
}

/// The record of an entry read at `revision` with `fields`, or `None` when
/// there is nothing to keep: path memory is off, the entry's type or
/// revision is not known, or a template misses fields (its items would be
/// wildcards, which the memory never stands in with).
pub fn observe(
    policy: &Policy,
    entry_id: &str,
    content_type: Option<&str>,
    revision: Option<u64>,
    fields: &Map<String, Value>,
) -> Option<Observed> {
    if policy.path_memory_entries == 0 {
        return None;
    }
    let (content_type, revision) = (content_type?, revision?);
    let items = crate::items::for_entry(policy, Some(content_type), entry_id, fields);
    if !items.wildcards.is_empty() || items.exact.is_empty() {
        return None;
    }
    Some(Observed { entry_id: entry_id.to_string(), remember: Remember::published(revision, items.exact) })
}

/// Keeps one observation per entry, the highest revision's, at most `limit`
/// of them (more would be dropped by the memory's bound anyway): the order
/// of `seen` is kept, first seen first.
pub fn dedupe(seen: Vec<Observed>, limit: usize) -> Vec<Observed> {
    let mut out: Vec<Observed> = Vec::with_capacity(seen.len().min(limit));
    for o in seen {
        match out.iter().position(|k| k.entry_id == o.entry_id) {
            Some(i) if o.remember.stamp().supersedes(out[i].remember.stamp()) => out[i] = o,
            Some(_) => {}
            None if out.len() < limit => out.push(o),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestSettings;
    use serde_json::json;

    fn policy(memory: &str) -> Policy {
        TestSettings::new()
            .with_all(&[("PATH_RULES", r#"{"post":["/blog/{category}/{slug}"]}"#), ("PATH_MEMORY_ENTRIES", memory)])
            .policy()
    }

    #[test]
    fn an_entry_read_with_its_fields_is_kept_as_its_publish_would_be() {
        let fields = json!({"slug": {"en-US": "ski"}, "category": {"en-US": "news"}});
        let fields = fields.as_object().unwrap();
        let seen = observe(&policy("10"), "p1", Some("post"), Some(4), fields).unwrap();
        assert_eq!(seen.remember, Remember::published(4, vec!["/blog/news/ski".into()]));
        assert_eq!(observe(&policy("0"), "p1", Some("post"), Some(4), fields), None, "memory off");
        assert_eq!(observe(&policy("10"), "p1", Some("post"), None, fields), None, "no revision");
        let partial = json!({"slug": {"en-US": "ski"}});
        assert_eq!(observe(&policy("10"), "p1", Some("post"), Some(4), partial.as_object().unwrap()), None);
        assert_eq!(observe(&policy("10"), "p1", Some("page"), Some(4), fields), None, "no rule, no items");
    }

    #[test]
    fn one_observation_per_entry_the_highest_revision_and_bounded() {
        let o = |id: &str, r: u64| Observed {
            entry_id: id.into(),
            remember: Remember::published(r, vec![format!("/{r}")]),
        };
        let kept = dedupe(vec![o("a", 2), o("b", 1), o("a", 3), o("a", 1), o("c", 1)], 2);
        assert_eq!(kept, [o("a", 3), o("b", 1)]);
    }
}
