//! The Contentful Sync API, I/O-free: the request for one sync page (initial,
//! or from a token) and the parser of its answer into items (entries, assets
//! and their deletions) and where to go next (`nextPageUrl` / `nextSyncUrl`).
//! Facts: docs/catch-up-sweep.md.

use crate::contentful::classify_error;
use crate::io::{HttpRequest, HttpResponse};
use crate::json::{lenient, link_id, Link};
use crate::retry::Failure;
use crate::settings::ContentfulSettings;
use crate::webhook::EntityKind;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Items a sync page holds: Contentful's documented maximum (and default)
/// for `limit`; the initial request sets it and the token carries it after.
pub const SYNC_PAGE_LIMIT: u64 = 100;

const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// Where a sync reads from next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "at", content = "token")]
pub enum Position {
    /// Nothing read yet: the initial sync (`initial=true`).
    Start,
    /// Inside a sync, at the page this token (from `nextPageUrl`) names.
    /// `initial` when that sync is the initial one.
    Page {
        /// The `sync_token` of `nextPageUrl`.
        token: String,
        /// True while the initial sync is still being read.
        initial: bool,
    },
    /// Past the end of a sync: the token (from `nextSyncUrl`) asks what changed since.
    Sync(String),
}

impl Position {
    /// True while this position is inside the initial sync, whose items are
    /// the whole space as it stands, not changes.
    pub fn is_initial(&self) -> bool {
        matches!(self, Position::Start | Position::Page { initial: true, .. })
    }
}

/// One item of a sync page: an entry or asset as published now, or the stub of a deleted one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncItem {
    /// Entry or asset.
    pub kind: EntityKind,
    /// Its `sys.id`.
    pub id: String,
    /// A `DeletedEntry` or `DeletedAsset` (unpublished, archived or deleted).
    pub deleted: bool,
    /// `sys.revision`: the Delivery API's revision of it.
    pub revision: Option<u64>,
    /// An entry's `sys.contentType.sys.id` (deletions do not say it).
    pub content_type: Option<String>,
    /// `sys.space.sys.id`.
    pub space: Option<String>,
    /// `sys.environment.sys.id`.
    pub environment: Option<String>,
    /// An entry's fields, every locale (`{"slug": {"en-US": "…"}}`).
    pub fields: Option<Map<String, Value>>,
}

/// Where to go after a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// More pages: ask for this `sync_token` now.
    NextPage(String),
    /// The sync is read to its end: this `sync_token` asks later what changed since.
    NextSync(String),
}

/// One sync page.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncPage {
    /// Its items, in Contentful's order.
    pub items: Vec<SyncItem>,
    /// Items that could not be read (one field nested past serde_json's
    /// recursion limit, say), each named for the report: left out, so that
    /// one item cannot stop every later sweep at the same page.
    pub unreadable: Vec<String>,
    /// Where to go next.
    pub after: After,
}

/// The request for the page at `position`.
pub fn sync_request(settings: &ContentfulSettings, position: &Position) -> HttpRequest {
    let base = format!(
        "{}/spaces/{}/environments/{}/sync",
        settings.endpoint,
        utf8_percent_encode(&settings.space_id, QUERY_VALUE),
        utf8_percent_encode(&settings.environment, QUERY_VALUE)
    );
    let url = match position {
        Position::Start => format!("{base}?initial=true&limit={SYNC_PAGE_LIMIT}"),
        Position::Page { token, .. } | Position::Sync(token) => {
            format!("{base}?sync_token={}", utf8_percent_encode(token, QUERY_VALUE))
        }
    };
    http::Request::get(url)
        .header("authorization", format!("Bearer {}", settings.delivery_token.expose()))
        .header("accept", "application/json")
        .body(Vec::new())
        .expect("a URL built from validated settings is valid")
}

#[derive(Deserialize)]
struct PageBody {
    /// Each item as its text, read apart: serde_json skips over a raw value
    /// without its recursion limit, so a page whose one item is too deep to
    /// read still gives every other item.
    items: Vec<Box<RawValue>>,
    #[serde(rename = "nextPageUrl", default, deserialize_with = "lenient")]
    next_page_url: Option<String>,
    #[serde(rename = "nextSyncUrl", default, deserialize_with = "lenient")]
    next_sync_url: Option<String>,
}

#[derive(Deserialize)]
struct ItemBody {
    sys: ItemSys,
    #[serde(default, deserialize_with = "lenient")]
    fields: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct ItemSys {
    #[serde(rename = "type")]
    item_type: String,
    id: String,
    #[serde(default, deserialize_with = "lenient")]
    revision: Option<u64>,
    #[serde(rename = "contentType", default, deserialize_with = "lenient")]
    content_type: Option<Link>,
    #[serde(default, deserialize_with = "lenient")]
    space: Option<Link>,
    #[serde(default, deserialize_with = "lenient")]
    environment: Option<Link>,
}

/// What can be read of an item that does not read as one: its `sys`, with
/// every other part skipped unread.
#[derive(Deserialize)]
struct ItemName {
    #[serde(default, deserialize_with = "lenient")]
    sys: Option<NameSys>,
}

#[derive(Deserialize)]
struct NameSys {
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    item_type: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
}

/// The note for an item at `index` (0-based) of the page that cannot be read:
/// its type and id when its `sys` reads, else its place on the page.
fn unreadable_note(raw: &RawValue, index: usize, error: &serde_json::Error) -> String {
    let name = serde_json::from_str::<ItemName>(raw.get()).ok().and_then(|n| n.sys);
    let what = match name {
        Some(NameSys { item_type, id: Some(id) }) => {
            format!("{} {id}", item_type.unwrap_or_else(|| "item".into()))
        }
        _ => format!("item {} of its page", index + 1),
    };
    format!("{what} skipped, it cannot be read: {error}")
}

/// The `sync_token` query parameter of a `nextPageUrl` / `nextSyncUrl`.
fn token_of(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let raw = query.split('&').find_map(|pair| pair.strip_prefix("sync_token="))?;
    let token = percent_decode_str(&raw.replace('+', " ")).decode_utf8().ok()?.into_owned();
    (!token.is_empty()).then_some(token)
}

/// Reads one sync page. An answer that is not a sync page (no items, no next
/// URL, or a next URL without a token) is a transient failure: asked again
/// from the same position, nothing is skipped. One item of a page that
/// cannot be read is left out and named in [`SyncPage::unreadable`]: asking
/// again would read the same item, and fail every sweep from then on.
pub fn read_sync_page(response: &HttpResponse) -> Result<SyncPage, Failure> {
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(classify_error(response));
    }
    let shape = |why: String| Failure::transient(format!("Contentful Sync API answer {why}"));
    let body: PageBody =
        serde_json::from_slice(response.body()).map_err(|e| shape(format!("is not a sync page: {e}")))?;
    let after = match (&body.next_page_url, &body.next_sync_url) {
        (Some(url), _) => {
            After::NextPage(token_of(url).ok_or_else(|| shape(format!("nextPageUrl {url:?} has no sync_token")))?)
        }
        (None, Some(url)) => {
            After::NextSync(token_of(url).ok_or_else(|| shape(format!("nextSyncUrl {url:?} has no sync_token")))?)
        }
        (None, None) => return Err(shape("has neither nextPageUrl nor nextSyncUrl".into())),
    };
    let mut items = Vec::with_capacity(body.items.len());
    let mut unreadable = Vec::new();
    for (index, raw) in body.items.iter().enumerate() {
        let item = match serde_json::from_str::<ItemBody>(raw.get()) {
            Ok(item) => item,
            Err(e) => {
                unreadable.push(unreadable_note(raw, index, &e));
                continue;
            }
        };
        let (kind, deleted) = match item.sys.item_type.as_str() {
            "Entry" => (EntityKind::Entry, false),
            "Asset" => (EntityKind::Asset, false),
            "DeletedEntry" => (EntityKind::Entry, true),
            "DeletedAsset" => (EntityKind::Asset, true),
            // Not content a page is built from (none is documented today).
            _ => continue,
        };
        items.push(SyncItem {
            kind,
            id: item.sys.id,
            deleted,
            revision: item.sys.revision,
            content_type: link_id(item.sys.content_type),
            space: link_id(item.sys.space),
            environment: link_id(item.sys.environment),
            fields: if deleted { None } else { item.fields },
        });
    }
    Ok(SyncPage { items, unreadable, after })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::Class;
    use crate::secret::Secret;

    fn settings() -> ContentfulSettings {
        ContentfulSettings {
            space_id: "sp1".into(),
            environment: "staging".into(),
            delivery_token: Secret::new("tok"),
            endpoint: "http://127.0.0.1:9".into(),
        }
    }

    fn response(status: u16, body: &str) -> HttpResponse {
        http::Response::builder().status(status).body(body.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn the_first_request_is_the_initial_sync_and_later_ones_carry_the_token() {
        let r = sync_request(&settings(), &Position::Start);
        assert_eq!(
            r.uri().to_string(),
            "http://127.0.0.1:9/spaces/sp1/environments/staging/sync?initial=true&limit=100"
        );
        assert_eq!(r.headers()["authorization"], "Bearer tok");
        let r = sync_request(&settings(), &Position::Sync("a b/c".into()));
        assert!(r.uri().to_string().ends_with("/sync?sync_token=a%20b%2Fc"), "{}", r.uri());
        let r = sync_request(&settings(), &Position::Page { token: "t1".into(), initial: true });
        assert!(r.uri().to_string().ends_with("/sync?sync_token=t1"));
    }

    #[test]
    fn reads_items_and_deletions_and_the_next_token() {
        let body = r#"{"sys":{"type":"Array"},"items":[
            {"sys":{"type":"Entry","id":"e1","revision":3,"space":{"sys":{"id":"sp1"}},
                "environment":{"sys":{"id":"staging"}},"contentType":{"sys":{"id":"page"}}},
             "fields":{"slug":{"en-US":"a"}}},
            {"sys":{"type":"DeletedEntry","id":"e2","revision":5,"deletedAt":"2026-11-27T00:00:00Z"}},
            {"sys":{"type":"Asset","id":"a1","revision":1},"fields":{"file":{}}},
            {"sys":{"type":"DeletedAsset","id":"a2"}},
            {"sys":{"type":"SomethingNew","id":"x"}}],
            "nextSyncUrl":"https://cdn.contentful.com/spaces/sp1/environments/staging/sync?sync_token=w5Z%2Bq"}"#;
        let page = read_sync_page(&response(200, body)).unwrap();
        assert_eq!(page.after, After::NextSync("w5Z+q".into()));
        let kinds: Vec<_> = page.items.iter().map(|i| (i.kind, i.id.as_str(), i.deleted)).collect();
        assert_eq!(
            kinds,
            [
                (EntityKind::Entry, "e1", false),
                (EntityKind::Entry, "e2", true),
                (EntityKind::Asset, "a1", false),
                (EntityKind::Asset, "a2", true)
            ]
        );
        assert_eq!(page.items[0].content_type.as_deref(), Some("page"));
        assert_eq!(page.items[0].revision, Some(3));
        assert_eq!(page.items[0].environment.as_deref(), Some("staging"));
        assert!(page.items[0].fields.as_ref().unwrap().contains_key("slug"));
        let more = read_sync_page(&response(200, r#"{"items":[],"nextPageUrl":"https://x/sync?sync_token=p2"}"#));
        assert_eq!(more.unwrap().after, After::NextPage("p2".into()));
    }

    #[test]
    fn an_answer_that_is_not_a_sync_page_is_asked_for_again() {
        for body in [
            r#"{"items":[]}"#,
            r#"{"items":[],"nextSyncUrl":"https://x/sync"}"#,
            r#"{"items":[],"nextSyncUrl":"https://x/sync?sync_token="}"#,
            r#"{"nextSyncUrl":"https://x/sync?sync_token=t"}"#,
            "not json",
        ] {
            let f = read_sync_page(&response(200, body)).unwrap_err();
            assert_eq!(f.class, Class::Backoff, "{body}");
            assert!(f.reason.contains("Sync API"), "{body}: {}", f.reason);
        }
        let bad_token = r#"{"sys":{"type":"Error","id":"BadRequest"},"message":"Invalid sync token"}"#;
        let f = read_sync_page(&response(400, bad_token)).unwrap_err();
        assert_eq!(f.class, Class::Permanent);
        assert!(f.reason.contains("Invalid sync token"));
        assert_eq!(read_sync_page(&response(503, "")).unwrap_err().class, Class::Backoff);
    }

    #[test]
    fn an_item_that_cannot_be_read_is_named_and_left_out() {
        let deep = format!("{}1{}", "[".repeat(130), "]".repeat(130));
        let body = format!(
            r#"{{"items":[{{"sys":{{"type":"Entry","id":"ok"}}}},{{"sys":{{"id":"e"}}}},
                {{"sys":{{"type":"Entry","id":"deep"}},"fields":{{"f":{{"en-US":{deep}}}}}}},
                {{"sys":{{"type":"Entry","id":{deep}}}}}],
                "nextSyncUrl":"https://x/sync?sync_token=t"}}"#
        );
        let page = read_sync_page(&response(200, &body)).unwrap();
        assert_eq!(page.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["ok"]);
        assert_eq!(page.after, After::NextSync("t".into()));
        assert_eq!(page.unreadable.len(), 3, "{:?}", page.unreadable);
        assert!(page.unreadable[0].starts_with("item e skipped, it cannot be read: missing field `type`"));
        assert!(page.unreadable[1].starts_with("Entry deep skipped, it cannot be read: recursion limit exceeded"));
        assert!(page.unreadable[2].starts_with("item 4 of its page skipped"), "{:?}", page.unreadable);
    }
}
