//! A Contentful webhook's topic and body, parsed into the change it announces.
//!
//! Publish, unpublish, archive and delete of entries and assets change what is
//! served and act; every other topic is accepted and ignored with a reason.

use crate::items::EntryItems;
use crate::json::{lenient, link_id, Link};
use crate::settings::Policy;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// What kind of Contentful entity changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// An entry: content of some content type, which may link to others.
    Entry,
    /// An asset: a file, linked to by entries.
    Asset,
}

/// What happened to the entity: the four topics that change delivered content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Published, or republished: served from now on.
    Publish,
    /// No longer served.
    Unpublish,
    /// Archived, which unpublishes it.
    Archive,
    /// Deleted, which unpublishes it for good.
    Delete,
}

impl Action {
    /// After this action, the Delivery API should serve the entity.
    pub fn is_publish(self) -> bool {
        matches!(self, Action::Publish)
    }

    /// Whether this action alone can change what the Delivery API serves.
    /// Contentful deletes only what is not published, and an archived entity
    /// is not published (docs/contentful-actions.md): a published entry is
    /// unpublished first, with a webhook of its own. So archive and delete
    /// change nothing served, and invalidate only what path memory says may
    /// still be served (an unpublish whose webhook was lost).
    pub fn changes_delivery(self) -> bool {
        matches!(self, Action::Publish | Action::Unpublish)
    }
}

/// One change to invalidate for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Identifies the delivery: the same delivery retried has the same id.
    pub tracking_id: String,
    /// The space (`sys.space.sys.id`).
    pub space: String,
    /// The environment (`sys.environment.sys.id`; `master` when not said).
    pub environment: String,
    /// Entry or asset.
    pub kind: EntityKind,
    /// The entity's `sys.id`.
    pub id: String,
    /// An entry's content type (`sys.contentType.sys.id`), which picks its path rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// What happened to it.
    pub action: Action,
    /// `sys.revision` of the payload: the Delivery API must serve at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// The entry's fields as delivered (localized); dropped once its paths are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Map<String, Value>>,
    /// The entry's items already rendered from its fields, carried instead
    /// of them where the fields are too large to carry ([`Change::with_items_rendered`]):
    /// taken as they are, never rendered again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<EntryItems>>,
}

impl Change {
    /// The change with its fields replaced by the items they render to under
    /// `policy` (paths and tags, as [`crate::items::for_entry`] renders them
    /// when the change is accepted): the same invalidation, carried smaller
    /// (the AWS body's queue message is capped). An asset's fields render
    /// nothing, and are only dropped.
    pub fn with_items_rendered(mut self, policy: &Policy) -> Change {
        let fields = self.fields.take().unwrap_or_default();
        if self.kind == EntityKind::Entry {
            let items = crate::items::for_entry(policy, self.content_type.as_deref(), &self.id, &fields);
            self.items = Some(Box::new(items));
        }
        self
    }

    /// The change with neither fields nor the items they render to, only
    /// what its rules render without fields (their wildcards, with a note
    /// saying why): the last resort, for a change whose rendered items are
    /// too large to carry too.
    pub fn with_fields_dropped(self, policy: &Policy) -> Change {
        let mut change = Change { fields: None, items: None, ..self }.with_items_rendered(policy);
        if let Some(items) = &mut change.items {
            items.wildcard_notes.push(format!(
                "entry {}: its fields and its rendered items were too large to carry; used its rules without fields",
                change.id
            ));
        }
        change
    }
}

/// What a well-formed webhook asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A change to invalidate for.
    Change(Change),
    /// A topic that changes nothing delivered (a draft save, a content type).
    Ignored {
        /// Why, for the `200` answer and the log.
        reason: String,
    },
}

/// Why a webhook's topic or body cannot be read: the `400` a body answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// No topic header, or an empty one.
    #[error("missing X-Contentful-Topic header")]
    MissingTopic,
    /// A topic not of Contentful's three-part form.
    #[error("X-Contentful-Topic {0:?} is not of the form ContentManagement.<Entity>.<action>")]
    BadTopic(String),
    /// The body is not JSON.
    #[error("body is not valid JSON: {0}")]
    Json(String),
    /// The body lacks a part a change needs, by its path (`sys.id`).
    #[error("body has no {0}")]
    Missing(&'static str),
    /// The body's `sys.type` is not the entity the topic names.
    #[error("body is a {body} but the topic names an {topic}")]
    KindMismatch {
        /// The body's `sys.type`.
        body: String,
        /// The topic's entity.
        topic: String,
    },
}

/// A webhook body: `sys` says what changed, `fields` are the editor's own shape.
/// Every part is optional here, so that what is missing is named in the
/// [`ParseError`] rather than by serde.
#[derive(Default, Deserialize)]
struct Body {
    #[serde(default, deserialize_with = "lenient")]
    sys: Option<Sys>,
    #[serde(default, deserialize_with = "lenient")]
    fields: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct Sys {
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    body_type: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    space: Option<Link>,
    #[serde(default, deserialize_with = "lenient")]
    environment: Option<Link>,
    #[serde(rename = "contentType", default, deserialize_with = "lenient")]
    content_type: Option<Link>,
    #[serde(default, deserialize_with = "lenient")]
    revision: Option<u64>,
}

/// A stable id for a delivery: SHA-256 of the topic and the raw body, hex.
pub fn tracking_id(topic: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(topic.trim().as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

/// Parses `topic` and `body`. Never panics; malformed input is a [`ParseError`].
pub fn parse(topic: Option<&str>, body: &[u8]) -> Result<Parsed, ParseError> {
    let topic = topic.map(str::trim).filter(|t| !t.is_empty()).ok_or(ParseError::MissingTopic)?;
    let parts: Vec<&str> = topic.split('.').collect();
    let [domain, entity, action] = parts[..] else {
        return Err(ParseError::BadTopic(topic.into()));
    };
    if domain != "ContentManagement" || entity.is_empty() || action.is_empty() {
        return Err(ParseError::BadTopic(topic.into()));
    }
    let kind = match entity {
        "Entry" => EntityKind::Entry,
        "Asset" => EntityKind::Asset,
        other => return Ok(Parsed::Ignored { reason: format!("{other} changes do not change delivered content") }),
    };
    let action = match action {
        "publish" => Action::Publish,
        "unpublish" => Action::Unpublish,
        "archive" => Action::Archive,
        "delete" => Action::Delete,
        "create" | "save" | "auto_save" | "unarchive" => {
            return Ok(Parsed::Ignored {
                reason: format!("{entity}.{action} changes a draft only, and drafts are not delivered"),
            })
        }
        other => {
            return Ok(Parsed::Ignored {
                reason: format!("{entity}.{other} is not an action that changes delivered content"),
            })
        }
    };
    let mut json = serde_json::Deserializer::from_slice(body);
    let parsed: Option<Body> =
        lenient(&mut json).and_then(|b| json.end().map(|()| b)).map_err(|e| ParseError::Json(e.to_string()))?;
    // JSON but not an object (a string, a list) has no `sys` either.
    let Body { sys, fields } = parsed.unwrap_or_default();
    let sys = sys.ok_or(ParseError::Missing("sys object"))?;
    let body_type = sys.body_type.ok_or(ParseError::Missing("sys.type"))?;
    let body_kind = match body_type.as_str() {
        "Entry" | "DeletedEntry" => Some(EntityKind::Entry),
        "Asset" | "DeletedAsset" => Some(EntityKind::Asset),
        _ => None,
    };
    if body_kind != Some(kind) {
        return Err(ParseError::KindMismatch { body: body_type, topic: entity.into() });
    }
    let id = sys.id.filter(|s| !s.is_empty()).ok_or(ParseError::Missing("sys.id"))?;
    let space = link_id(sys.space).ok_or(ParseError::Missing("sys.space.sys.id"))?;
    Ok(Parsed::Change(Change {
        tracking_id: tracking_id(topic, body),
        space,
        environment: link_id(sys.environment).unwrap_or_else(|| "master".to_string()),
        kind,
        id,
        content_type: link_id(sys.content_type),
        action,
        revision: sys.revision,
        fields,
        items: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_carried_without_its_fields_carries_what_they_render_to() {
        let policy = crate::testing::TestSettings::new().policy();
        let change = crate::testing::ChangeBuilder::publish("e1").content_type("page").slug("home").build();
        let fields = change.fields.clone().unwrap();
        let carried = change.clone().with_items_rendered(&policy);
        assert_eq!(carried.fields, None);
        let items = carried.items.clone().unwrap();
        assert_eq!(*items, crate::items::for_entry(&policy, Some("page"), "e1", &fields));
        assert_eq!(items.exact, ["/home", "/home/*"]);
        let text = serde_json::to_string(&carried).unwrap();
        assert_eq!(serde_json::from_str::<Change>(&text).unwrap(), carried, "it travels as JSON");
        let old = serde_json::to_string(&change).unwrap();
        assert!(!old.contains("items"), "a change with fields is stored as before: {old}");
        let dropped = change.with_fields_dropped(&policy).items.unwrap();
        assert_eq!(dropped.wildcards, ["/*"], "the rule's wildcard for /{{slug}}");
        assert!(dropped.wildcard_notes.iter().any(|n| n.contains("too large to carry")), "{dropped:?}");
    }

    const PUBLISH: &str = r#"{"metadata":{"tags":[]},"fields":{"slug":{"en-US":"hello"}},"sys":{"type":"Entry","id":"child1","space":{"sys":{"type":"Link","linkType":"Space","id":"space1"}},"environment":{"sys":{"id":"master","type":"Link","linkType":"Environment"}},"contentType":{"sys":{"type":"Link","linkType":"ContentType","id":"card"}},"revision":7,"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-11-24T00:00:00Z"}}"#;

    fn change(topic: &str, body: &str) -> Change {
        match parse(Some(topic), body.as_bytes()).unwrap() {
            Parsed::Change(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_publish_becomes_a_change() {
        let c = change("ContentManagement.Entry.publish", PUBLISH);
        assert_eq!((c.kind, c.action, c.id.as_str()), (EntityKind::Entry, Action::Publish, "child1"));
        assert_eq!((c.space.as_str(), c.environment.as_str()), ("space1", "master"));
        assert_eq!(c.content_type.as_deref(), Some("card"));
        assert_eq!(c.revision, Some(7));
        assert!(c.fields.unwrap().contains_key("slug"));
        assert_eq!(c.tracking_id.len(), 64);
    }

    #[test]
    fn deleted_spellings_and_assets_are_accepted() {
        let body = r#"{"sys":{"type":"DeletedEntry","id":"e1","space":{"sys":{"id":"s"}},"revision":3}}"#;
        let c = change("ContentManagement.Entry.delete", body);
        assert_eq!((c.action, c.content_type, c.fields), (Action::Delete, None, None));
        let body = r#"{"sys":{"type":"Asset","id":"a1","space":{"sys":{"id":"s"}}}}"#;
        assert_eq!(change("ContentManagement.Asset.unpublish", body).kind, EntityKind::Asset);
        let body = r#"{"sys":{"type":"DeletedAsset","id":"a1","space":{"sys":{"id":"s"}}}}"#;
        assert_eq!(change("ContentManagement.Asset.archive", body).action, Action::Archive);
    }

    #[test]
    fn drafts_and_other_entities_are_ignored_with_a_reason() {
        for topic in [
            "ContentManagement.Entry.save",
            "ContentManagement.Entry.auto_save",
            "ContentManagement.Entry.create",
            "ContentManagement.Asset.unarchive",
            "ContentManagement.ContentType.publish",
            "ContentManagement.Entry.frobnicate",
        ] {
            match parse(Some(topic), b"not even json").unwrap() {
                Parsed::Ignored { reason } => assert!(!reason.is_empty()),
                other => panic!("{topic}: {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let cases: [(Option<&str>, &[u8]); 9] = [
            (None, b"{}"),
            (Some("Entry.publish"), b"{}"),
            (Some("Other.Entry.publish"), b"{}"),
            (Some("ContentManagement.Entry.publish"), b"{"),
            (Some("ContentManagement.Entry.publish"), b"[]"),
            (Some("ContentManagement.Entry.publish"), br#"{"sys":{"type":"Entry"}}"#),
            (
                Some("ContentManagement.Entry.publish"),
                br#"{"sys":{"type":"Asset","id":"a","space":{"sys":{"id":"s"}}}}"#,
            ),
            (Some("ContentManagement.Entry.publish"), br#"{"sys":{"type":"Entry","id":"a"}}"#),
            (Some("ContentManagement.Entry.publish"), b"\xff\xfe"),
        ];
        for (topic, body) in cases {
            assert!(parse(topic, body).is_err(), "{topic:?} {:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn a_malformed_body_names_what_is_wrong() {
        let missing = |what| Err(ParseError::Missing(what));
        let cases: [(&str, &str, Result<Parsed, ParseError>); 10] = [
            ("Entry", "[]", missing("sys object")),
            ("Entry", r#""sys""#, missing("sys object")),
            ("Entry", r#"{"sys":["Entry","e1"]}"#, missing("sys object")),
            ("Entry", r#"{"sys":{"id":"e1"}}"#, missing("sys.type")),
            ("Entry", r#"{"sys":{"type":"Entry","space":{"sys":{"id":"s"}}}}"#, missing("sys.id")),
            ("Entry", r#"{"sys":{"type":"Entry","id":"","space":{"sys":{"id":"s"}}}}"#, missing("sys.id")),
            ("Entry", r#"{"sys":{"type":"Entry","id":7,"space":{"sys":{"id":"s"}}}}"#, missing("sys.id")),
            ("Entry", r#"{"sys":{"type":"Entry","id":"e1","space":{"sys":{"id":1}}}}"#, missing("sys.space.sys.id")),
            (
                "Entry",
                r#"{"sys":{"type":"DeletedAsset","id":"e1"}}"#,
                Err(ParseError::KindMismatch { body: "DeletedAsset".into(), topic: "Entry".into() }),
            ),
            (
                "Asset",
                r#"{"sys":{"type":"ContentType","id":"e1"}}"#,
                Err(ParseError::KindMismatch { body: "ContentType".into(), topic: "Asset".into() }),
            ),
        ];
        for (entity, body, expected) in cases {
            let topic = format!("ContentManagement.{entity}.publish");
            assert_eq!(parse(Some(&topic), body.as_bytes()), expected, "{body}");
        }
        assert!(matches!(parse(Some("ContentManagement.Entry.publish"), b"{} x"), Err(ParseError::Json(_))));
    }

    #[test]
    fn odd_optional_parts_are_left_out_not_refused() {
        let body = r#"{"sys":{"type":"Entry","id":"e1","space":{"sys":{"id":"s"}},"environment":{"sys":null},
            "contentType":"page","revision":"7"},"fields":[1]}"#;
        let c = change("ContentManagement.Entry.publish", body);
        assert_eq!(c.environment, "master");
        assert_eq!((c.content_type, c.revision, c.fields), (None, None, None));
        let body = r#"{"sys":{"type":"Entry","id":"old","space":{"sys":{"id":"s"}}},
            "sys":{"type":"Entry","id":"new","space":{"sys":{"id":"s"}}}}"#;
        assert_eq!(change("ContentManagement.Entry.publish", body).id, "new", "the last of a repeated key counts");
    }

    #[test]
    fn the_same_delivery_has_the_same_tracking_id() {
        let a = change("ContentManagement.Entry.publish", PUBLISH);
        let b = change("ContentManagement.Entry.publish", PUBLISH);
        let c = change("ContentManagement.Entry.unpublish", PUBLISH);
        assert_eq!(a.tracking_id, b.tracking_id);
        assert_ne!(a.tracking_id, c.tracking_id);
    }
}
