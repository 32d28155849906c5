//! The Contentful Delivery API, I/O-free: `links_to_entry` / `links_to_asset`
//! page requests and the freshness probe, their parsers, and the
//! classification of failures (429 waits for `X-Contentful-RateLimit-Reset`).

use crate::io::{HttpRequest, HttpResponse};
use crate::json::{lenient, link_id, Link};
use crate::retry::Failure;
use crate::settings::ContentfulSettings;
use crate::webhook::EntityKind;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::error::Category;
use serde_json::{Map, Value};
use std::time::Duration;

/// The most entries one Delivery API page returns.
pub const PAGE_LIMIT: u64 = 1000;

const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// Something other entries can link to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LinkTarget {
    /// Entry or asset: which `links_to_*` query finds what links to it.
    pub kind: EntityKind,
    /// Its `sys.id`.
    pub id: String,
}

/// An entry that links to a target, with what the path rules need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkedEntry {
    /// Its `sys.id`.
    pub id: String,
    /// Its `sys.contentType.sys.id`, which picks its path rules.
    pub content_type: Option<String>,
    /// Its fields, every locale (`{"slug": {"en-US": "…"}}`).
    pub fields: Map<String, Value>,
    /// Its `sys.revision`, when the Delivery API sends it: what the path
    /// memory may keep it as, and what a page built from it names in the
    /// revision header (`VERIFY_REVISION_HEADER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
}

/// One page of a `links_to_*` query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinksPage {
    /// How many entries the query matches, over every page.
    pub total: u64,
    /// Where this page starts, as the server says (0 if it does not).
    pub skip: u64,
    /// This page's entries.
    pub items: Vec<LinkedEntry>,
}

impl LinksPage {
    /// Where the next page starts after this one, asked for at `requested`
    /// (not the `skip` the server echoes: one that ignores `skip` must not
    /// make the walk ask for the same page forever).
    pub fn next_skip(&self, requested: u64) -> Option<u64> {
        let next = requested + self.items.len() as u64;
        (next < self.total && !self.items.is_empty()).then_some(next)
    }
}

fn collection_url(settings: &ContentfulSettings, collection: &str) -> String {
    format!(
        "{}/spaces/{}/environments/{}/{collection}",
        settings.endpoint,
        utf8_percent_encode(&settings.space_id, QUERY_VALUE),
        utf8_percent_encode(&settings.environment, QUERY_VALUE)
    )
}

fn get(url: String, settings: &ContentfulSettings) -> HttpRequest {
    http::Request::get(url)
        .header("authorization", format!("Bearer {}", settings.delivery_token.expose()))
        .header("accept", "application/json")
        .body(Vec::new())
        .expect("a URL built from validated settings is valid")
}

/// The entries that link to `target`, all locales, one page from `skip`.
pub fn links_request(settings: &ContentfulSettings, target: &LinkTarget, skip: u64) -> HttpRequest {
    let param = match target.kind {
        EntityKind::Entry => "links_to_entry",
        EntityKind::Asset => "links_to_asset",
    };
    let url = format!(
        "{}?{param}={}&locale=*&include=0&skip={skip}&limit={PAGE_LIMIT}",
        collection_url(settings, "entries"),
        utf8_percent_encode(&target.id, QUERY_VALUE)
    );
    get(url, settings)
}

/// Asks whether the Delivery API serves `target`, and at which revision.
pub fn revision_request(settings: &ContentfulSettings, target: &LinkTarget) -> HttpRequest {
    let collection = match target.kind {
        EntityKind::Entry => "entries",
        EntityKind::Asset => "assets",
    };
    let url = format!(
        "{}?sys.id={}&select=sys.id,sys.revision&limit=1",
        collection_url(settings, collection),
        utf8_percent_encode(&target.id, QUERY_VALUE)
    );
    get(url, settings)
}

/// The entry itself, all locales (to render its own paths).
pub fn entry_request(settings: &ContentfulSettings, id: &str) -> HttpRequest {
    let url = format!(
        "{}?sys.id={}&locale=*&include=0&limit=1",
        collection_url(settings, "entries"),
        utf8_percent_encode(id, QUERY_VALUE)
    );
    get(url, settings)
}

/// A Delivery API error body: only its `message` is of use.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, deserialize_with = "lenient")]
    message: Option<String>,
}

/// A `links_to_*` (or `sys.id`) page: `total` and `items` must be there,
/// `skip` may not be (a missing one is 0).
#[derive(Deserialize)]
struct PageBody {
    total: u64,
    #[serde(default, deserialize_with = "lenient")]
    skip: Option<u64>,
    items: Vec<ItemBody>,
}

#[derive(Deserialize)]
struct ItemBody {
    sys: ItemSys,
    #[serde(default, deserialize_with = "lenient")]
    fields: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct ItemSys {
    id: String,
    #[serde(rename = "contentType", default, deserialize_with = "lenient")]
    content_type: Option<Link>,
    #[serde(default, deserialize_with = "lenient")]
    revision: Option<u64>,
}

/// The freshness probe's answer: only each item's `sys.revision` is read.
#[derive(Deserialize)]
struct RevisionBody {
    items: Vec<RevisionItem>,
}

#[derive(Deserialize)]
struct RevisionItem {
    #[serde(default, deserialize_with = "lenient")]
    sys: Option<RevisionSys>,
}

#[derive(Deserialize)]
struct RevisionSys {
    #[serde(default, deserialize_with = "lenient")]
    revision: Option<u64>,
}

/// Why a Delivery API answer is not a success, and what to do about it.
pub fn classify_error(response: &HttpResponse) -> Failure {
    let status = response.status().as_u16();
    let detail = serde_json::from_slice::<ErrorBody>(response.body()).ok().and_then(|b| b.message).unwrap_or_default();
    let reason = format!("Contentful Delivery API answered HTTP {status} {detail}").trim_end().to_string();
    match status {
        429 => {
            let reset = response
                .headers()
                .get("x-contentful-ratelimit-reset")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| Duration::from_millis((s * 1000.0) as u64));
            Failure::busy(reset, reason)
        }
        s if s >= 500 => Failure::transient(reason),
        _ => Failure::permanent(reason),
    }
}

fn read<T: DeserializeOwned>(response: &HttpResponse) -> Result<T, Failure> {
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(classify_error(response));
    }
    // A 2xx we cannot read is the server's (or a proxy's) fault: ask again.
    serde_json::from_slice(response.body()).map_err(|e| {
        let what = match e.classify() {
            Category::Data => "is not the expected shape",
            Category::Io | Category::Syntax | Category::Eof => "is not JSON",
        };
        Failure::transient(format!("Contentful Delivery API answer {what}: {e}"))
    })
}

/// Reads one `links_to_*` page.
pub fn read_links_page(response: &HttpResponse) -> Result<LinksPage, Failure> {
    let page: PageBody = read(response)?;
    let items = page
        .items
        .into_iter()
        .map(|item| LinkedEntry {
            id: item.sys.id,
            content_type: link_id(item.sys.content_type),
            fields: item.fields.unwrap_or_default(),
            revision: item.sys.revision,
        })
        .collect();
    Ok(LinksPage { total: page.total, skip: page.skip.unwrap_or(0), items })
}

/// Reads [`entry_request`]'s answer: the entry, or `None` when it is not served.
pub fn read_entry(response: &HttpResponse) -> Result<Option<LinkedEntry>, Failure> {
    let page = read_links_page(response)?;
    Ok(page.items.into_iter().next())
}

/// Reads the freshness probe: the served revision, or `None` when not served.
pub fn read_revision(response: &HttpResponse) -> Result<Option<u64>, Failure> {
    let body: RevisionBody = read(response)?;
    // Served without a revision (an old API) counts as revision 0.
    Ok(body.items.into_iter().next().map(|item| item.sys.and_then(|s| s.revision).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::Class;
    use crate::secret::Secret;

    fn settings() -> ContentfulSettings {
        ContentfulSettings {
            space_id: "sp1".into(),
            environment: "master".into(),
            delivery_token: Secret::new("tok"),
            endpoint: "http://127.0.0.1:9".into(),
        }
    }

    fn response(status: u16, body: &str) -> HttpResponse {
        http::Response::builder().status(status).body(body.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn builds_link_queries() {
        let r = links_request(&settings(), &LinkTarget { kind: EntityKind::Asset, id: "a b&c".into() }, 1000);
        assert_eq!(
            r.uri().to_string(),
            "http://127.0.0.1:9/spaces/sp1/environments/master/entries?links_to_asset=a%20b%26c&locale=*&include=0&skip=1000&limit=1000"
        );
        assert_eq!(r.headers()["authorization"], "Bearer tok");
        let r = revision_request(&settings(), &LinkTarget { kind: EntityKind::Entry, id: "e1".into() });
        assert!(r.uri().to_string().ends_with("/entries?sys.id=e1&select=sys.id,sys.revision&limit=1"));
    }

    #[test]
    fn reads_pages_and_knows_when_to_stop() {
        let body = r#"{"sys":{"type":"Array"},"total":3,"skip":0,"limit":2,"items":[
            {"sys":{"id":"p1","contentType":{"sys":{"id":"page"}}},"fields":{"slug":{"en-US":"a"}}},
            {"sys":{"id":"p2"}}]}"#;
        let page = read_links_page(&response(200, body)).unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[0].content_type.as_deref(), Some("page"));
        assert_eq!(page.next_skip(0), Some(2));
        let last = read_links_page(&response(200, r#"{"total":3,"skip":2,"items":[{"sys":{"id":"p3"}}]}"#)).unwrap();
        assert_eq!(last.next_skip(2), None);
        // A server that stops short, or ignores skip, must not make the walk loop forever.
        let empty = read_links_page(&response(200, r#"{"total":9,"skip":4,"items":[]}"#)).unwrap();
        assert_eq!(empty.next_skip(4), None);
        let ignores_skip = read_links_page(&response(
            200,
            r#"{"total":3,"skip":0,"items":[{"sys":{"id":"p1"}},{"sys":{"id":"p2"}}]}"#,
        ))
        .unwrap();
        assert_eq!(ignores_skip.next_skip(2), None);
    }

    #[test]
    fn failures_are_classified() {
        let limited = http::Response::builder()
            .status(429)
            .header("X-Contentful-RateLimit-Reset", "3")
            .body(br#"{"message":"slow down"}"#.to_vec())
            .unwrap();
        let f = read_links_page(&limited).unwrap_err();
        assert_eq!(f.class, Class::Busy { after_ms: Some(3000) });
        assert!(f.reason.contains("slow down"));
        assert_eq!(read_links_page(&response(503, "")).unwrap_err().class, Class::Backoff);
        assert_eq!(read_links_page(&response(401, "{}")).unwrap_err().class, Class::Permanent);
        assert_eq!(read_links_page(&response(200, "{nope")).unwrap_err().class, Class::Backoff);
        assert_eq!(read_links_page(&response(200, r#"{"items":[]}"#)).unwrap_err().class, Class::Backoff);
    }

    #[test]
    fn a_page_missing_a_required_part_is_asked_for_again() {
        for body in [
            r#"{"total":1}"#,
            r#"{"total":"1","items":[]}"#,
            r#"{"total":1,"items":[{"fields":{}}]}"#,
            r#"{"total":1,"items":[{"sys":{"id":7}}]}"#,
            r#"{"total":1,"items":["p1"]}"#,
        ] {
            let f = read_links_page(&response(200, body)).unwrap_err();
            assert_eq!(f.class, Class::Backoff, "{body}");
            assert!(f.reason.contains("not the expected shape"), "{body}: {}", f.reason);
        }
    }

    #[test]
    fn odd_optional_parts_of_a_page_are_left_out() {
        let body = r#"{"total":1,"skip":"0","items":[{"sys":{"id":"p1","contentType":"page"},"fields":null}]}"#;
        let page = read_links_page(&response(200, body)).unwrap();
        assert_eq!(page.skip, 0);
        assert_eq!(
            page.items,
            [LinkedEntry { id: "p1".into(), content_type: None, fields: Map::new(), revision: None }]
        );
        let f = read_links_page(&response(404, r#"{"message":7}"#)).unwrap_err();
        assert_eq!(f.reason, "Contentful Delivery API answered HTTP 404");
    }

    #[test]
    fn reads_the_served_revision() {
        assert_eq!(
            read_revision(&response(200, r#"{"total":1,"items":[{"sys":{"id":"e","revision":4}}]}"#)).unwrap(),
            Some(4)
        );
        assert_eq!(read_revision(&response(200, r#"{"total":0,"items":[]}"#)).unwrap(), None);
        // Served by an API that does not say its revision: revision 0.
        assert_eq!(read_revision(&response(200, r#"{"items":[{"sys":{"id":"e"}}]}"#)).unwrap(), Some(0));
        assert_eq!(read_revision(&response(200, r#"{"items":[{"sys":{"revision":null}}]}"#)).unwrap(), Some(0));
        assert_eq!(read_revision(&response(200, r#"{"total":0}"#)).unwrap_err().class, Class::Backoff);
    }
}
