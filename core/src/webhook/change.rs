//! A Contentful webhook's topic and body, parsed into the change it announces.
//!
//! Publish, unpublish, archive and delete of entries and assets change what is
//! served and act; every other topic is accepted and ignored with a reason.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Entry,
    Asset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Publish,
    Unpublish,
    Archive,
    Delete,
}

impl Action {
    /// After this action, the Delivery API should serve the entity.
    pub fn is_publish(self) -> bool {
        matches!(self, Action::Publish)
    }
}

/// One change to invalidate for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Identifies the delivery: the same delivery retried has the same id.
    pub tracking_id: String,
    pub space: String,
    pub environment: String,
    pub kind: EntityKind,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub action: Action,
    /// `sys.revision` of the payload: the Delivery API must serve at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// The entry's fields as delivered (localized); dropped once its paths are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Map<String, Value>>,
}

/// What a well-formed webhook asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Change(Change),
    Ignored { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("missing X-Contentful-Topic header")]
    MissingTopic,
    #[error("X-Contentful-Topic {0:?} is not of the form ContentManagement.<Entity>.<action>")]
    BadTopic(String),
    #[error("body is not valid JSON: {0}")]
    Json(String),
    #[error("body has no {0}")]
    Missing(&'static str),
    #[error("body is a {body} but the topic names an {topic}")]
    KindMismatch { body: String, topic: String },
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, key| v.get(key))?.as_str()
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
    let value: Value = serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    let sys = value.get("sys").filter(|s| s.is_object()).ok_or(ParseError::Missing("sys object"))?;
    let body_type = sys.get("type").and_then(Value::as_str).ok_or(ParseError::Missing("sys.type"))?;
    let body_kind = match body_type {
        "Entry" | "DeletedEntry" => EntityKind::Entry,
        "Asset" | "DeletedAsset" => EntityKind::Asset,
        _ => return Err(ParseError::KindMismatch { body: body_type.into(), topic: entity.into() }),
    };
    if body_kind != kind {
        return Err(ParseError::KindMismatch { body: body_type.into(), topic: entity.into() });
    }
    let id = sys.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or(ParseError::Missing("sys.id"))?;
    let space = str_at(sys, &["space", "sys", "id"]).ok_or(ParseError::Missing("sys.space.sys.id"))?;
    let environment = str_at(sys, &["environment", "sys", "id"]).unwrap_or("master");
    let content_type = str_at(sys, &["contentType", "sys", "id"]).map(str::to_string);
    let revision = sys.get("revision").and_then(Value::as_u64);
    let fields = value.get("fields").and_then(Value::as_object).cloned();
    Ok(Parsed::Change(Change {
        tracking_id: tracking_id(topic, body),
        space: space.to_string(),
        environment: environment.to_string(),
        kind,
        id: id.to_string(),
        content_type,
        action,
        revision,
        fields,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_same_delivery_has_the_same_tracking_id() {
        let a = change("ContentManagement.Entry.publish", PUBLISH);
        let b = change("ContentManagement.Entry.publish", PUBLISH);
        let c = change("ContentManagement.Entry.unpublish", PUBLISH);
        assert_eq!(a.tracking_id, b.tracking_id);
        assert_ne!(a.tracking_id, c.tracking_id);
    }
}
