//! Test fixtures, one builder each (feature `test-util`): a complete, valid
//! settings map that a test changes one name at a time, and changes as a
//! webhook would bring them.
//!
//! ```
//! use invalidator_core::testing::{ChangeBuilder, TestSettings};
//!
//! let settings = TestSettings::new().with("COLLECT_WINDOW_SECONDS", "0").settings();
//! assert_eq!(settings.cloudfront.distribution_ids, [invalidator_core::testing::DISTRIBUTION]);
//! let change = ChangeBuilder::publish("home").content_type("page").slug("home").revision(3).build();
//! assert_eq!(change.tracking_id, "t-home-Publish");
//! ```

use crate::settings::{Policy, Settings, SettingsMap};
use crate::webhook::{Action, Change, EntityKind};
use serde_json::{json, Map};

/// The distribution [`TestSettings`] invalidates.
pub const DISTRIBUTION: &str = "E2EXAMPLE";
/// The Contentful space of [`TestSettings`] and [`ChangeBuilder`].
pub const SPACE: &str = "space1";
/// A webhook secret of the shape Contentful generates: 64 characters.
pub const WEBHOOK_SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";

/// A settings map for tests: it starts complete and valid (a distribution,
/// AWS's documented example keys, a space and token, a webhook secret, path
/// rules for pages), and each test states only what it changes.
#[derive(Debug, Clone)]
pub struct TestSettings {
    map: SettingsMap,
}

impl Default for TestSettings {
    fn default() -> Self {
        Self::new()
    }
}

impl TestSettings {
    /// The complete, valid set; every other setting keeps its default.
    pub fn new() -> Self {
        TestSettings { map: SettingsMap::new() }.with_all(&[
            ("CLOUDFRONT_DISTRIBUTION_ID", DISTRIBUTION),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            ("CONTENTFUL_SPACE_ID", SPACE),
            ("CONTENTFUL_DELIVERY_TOKEN", "cda-token-value"),
            ("CONTENTFUL_WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("PATH_RULES", r#"{"page":["/{slug}","/{slug}/*"],"always":["/"]}"#),
        ])
    }

    /// Sets `name` to `value`, replacing what was there.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.map.insert(name.to_string(), value.into());
        self
    }

    /// Sets each `(name, value)` in order, so a later one wins.
    pub fn with_all(self, pairs: &[(&str, &str)]) -> Self {
        pairs.iter().fold(self, |s, (name, value)| s.with(name, *value))
    }

    /// Leaves `name` unset.
    pub fn without(mut self, name: &str) -> Self {
        self.map.remove(name);
        self
    }

    /// Webhooks accepted unsigned (`ALLOW_UNVERIFIED_WEBHOOKS=true`, no secret).
    pub fn unsigned(self) -> Self {
        self.without("CONTENTFUL_WEBHOOK_SECRET").with("ALLOW_UNVERIFIED_WEBHOOKS", "true")
    }

    /// The map, as a body would read it from its environment.
    pub fn map(self) -> SettingsMap {
        self.map
    }

    /// Every setting, parsed. Panics, naming the setting, if the test made one invalid.
    pub fn settings(self) -> Settings {
        Settings::from_map(&self.map).unwrap_or_else(|e| panic!("test settings are invalid: {e}"))
    }

    /// The policy alone. Panics, naming the setting, if the test made one invalid.
    pub fn policy(self) -> Policy {
        Policy::from_map(&self.map).unwrap_or_else(|e| panic!("test settings are invalid: {e}"))
    }
}

/// A [`Change`] as a webhook for an entry in [`SPACE`] would bring it. Its
/// tracking id is derived from the id and the action (`t-home-Publish`), so
/// the same change built twice is the same delivery.
#[derive(Debug, Clone)]
pub struct ChangeBuilder {
    change: Change,
}

impl ChangeBuilder {
    /// `action` on entry `id`: no content type, revision or fields until given.
    pub fn new(action: Action, id: &str) -> Self {
        ChangeBuilder {
            change: Change {
                tracking_id: format!("t-{id}-{action:?}"),
                space: SPACE.to_string(),
                environment: "master".to_string(),
                kind: EntityKind::Entry,
                id: id.to_string(),
                content_type: None,
                action,
                revision: None,
                fields: None,
                items: None,
            },
        }
    }

    /// A publish of entry `id`.
    pub fn publish(id: &str) -> Self {
        Self::new(Action::Publish, id)
    }

    /// The change is for another space.
    pub fn space(mut self, space: &str) -> Self {
        self.change.space = space.to_string();
        self
    }

    /// The entry's content type.
    pub fn content_type(mut self, content_type: &str) -> Self {
        self.change.content_type = Some(content_type.to_string());
        self
    }

    /// The entry's `slug` field, in `en-US`.
    pub fn slug(mut self, slug: &str) -> Self {
        let fields = self.change.fields.get_or_insert_with(Map::new);
        fields.insert("slug".to_string(), json!({"en-US": slug}));
        self
    }

    /// The payload's `sys.revision`.
    pub fn revision(mut self, revision: u64) -> Self {
        self.change.revision = Some(revision);
        self
    }

    /// The change.
    pub fn build(self) -> Change {
        self.change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_start_valid_and_change_by_name() {
        let s = TestSettings::new().settings();
        assert_eq!(s.cloudfront.distribution_ids, [DISTRIBUTION]);
        assert_eq!(s.contentful.space_id, SPACE);
        assert!(s.webhook.secret.is_some());
        assert_eq!(TestSettings::new().unsigned().settings().webhook.secret, None);
        let map = TestSettings::new().with("PATH_BUDGET", "7").without("AWS_REGION").map();
        assert_eq!(map["PATH_BUDGET"], "7");
        assert_eq!(TestSettings::new().with_all(&[("PATH_BUDGET", "7"), ("PATH_BUDGET", "8")]).policy().path_budget, 8);
    }

    #[test]
    fn a_change_is_a_delivery_of_its_id_and_action() {
        let c = ChangeBuilder::publish("home").content_type("page").slug("welcome").revision(3).build();
        assert_eq!((c.action, c.kind, c.space.as_str()), (Action::Publish, EntityKind::Entry, SPACE));
        assert_eq!(c.fields.unwrap()["slug"], json!({"en-US": "welcome"}));
        assert_eq!(c.revision, Some(3));
        assert_ne!(c.tracking_id, ChangeBuilder::new(Action::Unpublish, "home").build().tracking_id);
    }
}
