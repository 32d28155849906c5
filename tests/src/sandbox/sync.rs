//! The Delivery API stand-in's Sync endpoint
//! (`GET /spaces/{space}/environments/{env}/sync`), as Contentful documents
//! it (docs/catch-up-sweep.md): `initial=true` pages through every published
//! entry and asset and no deletions; `sync_token` from a `nextPageUrl` or
//! `nextSyncUrl` goes on from there, deltas including `DeletedEntry` /
//! `DeletedAsset` stubs; `limit` (at most 100) on the initial request only,
//! carried in the token after (the fixture's `page_size` cuts pages shorter,
//! as Contentful's response size limit does); Contentful's error shapes for a bad token or
//! query. A token encodes its position (the `updatedAt` / `deletedAt` and id
//! of the last item read), so it stays valid across restarts of the stand-in.
//!
//! Faults: `sync` fails the next sync request, `sync-page` the next request
//! for a page after the first of a sync (a sweep failing mid-way).
//! `DELETE /__sandbox/entries/{id}` deletes an entry (a deletion the sweep sees).
//! An entry is served as it is stored, however deep its fields nest: one
//! published in process ([`super::contentful::ContentfulState::publish`])
//! with a field past serde_json's recursion limit is served whole, as
//! Contentful would serve it (the JSON upsert route, read by serde_json,
//! refuses such a body).

use super::contentful::{entry_json, error, refuse_access, take_fault, ContentfulState};
use super::RequestLog;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Contentful's documented largest (and default) sync page.
pub const MAX_SYNC_LIMIT: usize = 100;

/// An entry or asset taken off the Delivery API, as the Sync API reports it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixtureDeletion {
    pub id: String,
    /// `Entry` or `Asset`.
    #[serde(default = "entry_kind")]
    pub kind: String,
    #[serde(default)]
    pub revision: u64,
    #[serde(rename = "deletedAt")]
    pub deleted_at: String,
}

pub(super) fn entry_kind() -> String {
    "Entry".into()
}

/// Where a sync stands: after the item `(at_ms, id)`, in the order items changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Token {
    /// Milliseconds of the last item read (0 before any).
    a: u64,
    /// Its id, to order items of the same millisecond.
    i: String,
    /// Inside the initial sync: deletions are left out.
    #[serde(default)]
    init: bool,
    /// A page token (a sync goes on), not a `nextSyncUrl` one.
    #[serde(default)]
    page: bool,
    /// The page size, fixed by the initial request.
    n: usize,
}

impl Token {
    fn encode(&self) -> String {
        hex::encode(serde_json::to_vec(self).expect("a token serializes"))
    }

    fn decode(text: &str) -> Option<Token> {
        serde_json::from_slice(&hex::decode(text).ok()?).ok()
    }
}

/// The time of the stand-in's next change, in `YYYY-MM-DDTHH:MM:SS.mmmZ`:
/// strictly after every earlier one, so no two changes share a position.
pub fn stamp() -> String {
    static LAST: Mutex<u64> = Mutex::new(0);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    *last = (*last + 1).max(super::now_millis());
    iso(*last)
}

fn iso(ms: u64) -> String {
    let secs = ms / 1000;
    let (y, m, d) = super::civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, ms % 1000)
}

/// `YYYY-MM-DDTHH:MM:SS[.mmm]Z` to milliseconds.
fn millis(text: &str) -> Option<u64> {
    let t = text.strip_suffix('Z')?;
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, mo, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut h = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (h.next()??, h.next()??, h.next()??);
    let ms: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    let days = super::days_from_civil(y, u32::try_from(mo).ok()?, u32::try_from(day).ok()?);
    u64::try_from(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000) + ms).ok()
}

/// Every item the space holds for a sync, ordered by when it changed.
fn items(s: &ContentfulState, space: &str, env: &str, with_deletions: bool) -> Vec<((u64, String), Value)> {
    let graph = s.graph.lock().unwrap();
    let link = |kind: &str, id: &str| json!({"sys": {"type": "Link", "linkType": kind, "id": id}});
    let mut all = Vec::new();
    for (i, e) in graph.entries.iter().enumerate() {
        let item = entry_json(e, i, space, env);
        let at = item["sys"]["updatedAt"].as_str().and_then(millis).unwrap_or(0);
        all.push(((at, e.id.clone()), item));
    }
    for a in &graph.assets {
        let at = "2026-01-01T00:00:00.000Z";
        let item = json!({"sys": {"type": "Asset", "id": a.id, "revision": a.revision, "createdAt": at, "updatedAt": at,
            "space": link("Space", space), "environment": link("Environment", env)}, "fields": {}});
        all.push(((millis(at).unwrap_or(0), a.id.clone()), item));
    }
    if with_deletions {
        for d in &graph.deleted {
            let item = json!({"sys": {"type": format!("Deleted{}", d.kind), "id": d.id, "revision": d.revision,
                "createdAt": d.deleted_at, "updatedAt": d.deleted_at, "deletedAt": d.deleted_at,
                "space": link("Space", space), "environment": link("Environment", env)}});
            all.push(((millis(&d.deleted_at).unwrap_or(0), d.id.clone()), item));
        }
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "BadRequest", message)
}

pub async fn sync(
    State(s): State<Arc<ContentfulState>>,
    Path((space, env)): Path<(String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let answer = sync_inner(&s, &space, &env, &q, &headers);
    let log: &RequestLog = &s.log;
    log.record("contentful", &method, &uri, answer.status().as_u16(), String::new());
    answer
}

fn sync_inner(
    s: &ContentfulState,
    space: &str,
    env: &str,
    q: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Response {
    if let Some(refused) = refuse_access(s, space, env, headers) {
        return refused;
    }
    let token = match (q.get("initial").map(String::as_str), q.get("sync_token")) {
        (Some("true"), None) => {
            let n = match q.get("limit").map(|l| l.parse::<usize>()) {
                None => MAX_SYNC_LIMIT,
                Some(Ok(n)) if (1..=MAX_SYNC_LIMIT).contains(&n) => n,
                Some(_) => return bad_request(&format!("The limit parameter must be between 1 and {MAX_SYNC_LIMIT}.")),
            };
            if q.get("type").is_some_and(|t| t != "all") {
                return bad_request("The stand-in syncs type=all only.");
            }
            Token { a: 0, i: String::new(), init: true, page: false, n }
        }
        (None, Some(text)) => {
            if q.len() > 1 {
                return bad_request("A sync_token request takes no other parameter: the token carries them.");
            }
            match Token::decode(text) {
                Some(token) => token,
                None => return bad_request("The sync token is invalid."),
            }
        }
        _ => return bad_request("Send either initial=true or a sync_token."),
    };
    if let Some(fault) = take_fault(s, "sync") {
        return fault;
    }
    if token.page {
        if let Some(fault) = take_fault(s, "sync-page") {
            return fault;
        }
    }
    // A page may hold fewer items than asked (Contentful cuts pages at its
    // response size limit); the fixture's page_size does that here.
    let n = token.n.min(s.graph.lock().unwrap().page_size.max(1));
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let after = (token.a, token.i.clone());
    let pending: Vec<((u64, String), Value)> =
        items(s, space, env, !token.init).into_iter().filter(|(key, _)| *key > after).collect();
    let more = pending.len() > n;
    let page: Vec<((u64, String), Value)> = pending.into_iter().take(n).collect();
    let last = page.last().map(|(key, _)| key.clone()).unwrap_or(after);
    let next = Token { a: last.0, i: last.1, init: token.init && more, page: more, n: token.n };
    let url = format!("http://{host}/spaces/{space}/environments/{env}/sync?sync_token={}", next.encode());
    let key = if more { "nextPageUrl" } else { "nextSyncUrl" };
    let items: Vec<Value> = page.into_iter().map(|(_, item)| item).collect();
    Json(json!({"sys": {"type": "Array"}, "items": items, key: url})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_back_and_stamps_only_grow() {
        assert_eq!(millis("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(millis("2026-01-02T00:00:05.250Z"), millis("2026-01-02T00:00:05Z").map(|m| m + 250));
        assert_eq!(millis(&iso(1_795_000_000_123)), Some(1_795_000_000_123));
        assert_eq!(millis("yesterday"), None);
        let (a, b) = (stamp(), stamp());
        assert!(millis(&b) > millis(&a), "{a} {b}");
    }

    #[test]
    fn a_token_is_its_position() {
        let t = Token { a: 5, i: "e1".into(), init: false, page: true, n: 2 };
        assert_eq!(Token::decode(&t.encode()), Some(t));
        assert_eq!(Token::decode("zz"), None);
    }
}
