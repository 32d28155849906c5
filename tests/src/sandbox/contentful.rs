//! A Contentful Delivery API stand-in serving a content graph from a JSON
//! fixture: `links_to_entry` / `links_to_asset` with `skip`/`limit` paging
//! (the fixture's `page_size` caps a page, to exercise paging), the
//! `sys.id` revision probe, `locale`, `select` and `order` as Contentful
//! reads them and `limit` over 1000 refused (see [`delivery_query`]), Bearer
//! token checks, and injected faults (429 with `X-Contentful-RateLimit-Reset`, 5xx).
//! The Sync API is [`super::sync`].
//!
//! Fixture: `{"space": "...", "environment": "master", "page_size": 100,
//! "default_locale": "en-US", "entries": [{"id", "contentType", "revision",
//! "fields": {field: {locale: value}}, "links": [ids], "createdAt"?,
//! "updatedAt"?}], "assets": [{"id", "revision"}]}`. `links` are the ids an
//! entry links to; missing timestamps follow the fixture's order.
//!
//! [`delivery_query`]: super::delivery_query

use super::clock::SandboxClock;
use super::cloudfront::Fault;
use super::delivery_query::{self, Shape};
use super::RequestLog;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixtureEntry {
    pub id: String,
    #[serde(rename = "contentType")]
    pub content_type: String,
    #[serde(default = "one")]
    pub revision: u64,
    #[serde(default)]
    pub fields: Map<String, Value>,
    #[serde(default)]
    pub links: Vec<String>,
    #[serde(rename = "createdAt", default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(rename = "updatedAt", default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixtureAsset {
    pub id: String,
    #[serde(default = "one")]
    pub revision: u64,
}

fn one() -> u64 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fixture {
    pub space: String,
    #[serde(default = "master")]
    pub environment: String,
    #[serde(default = "hundred")]
    pub page_size: usize,
    #[serde(default = "en_us")]
    pub default_locale: String,
    pub entries: Vec<FixtureEntry>,
    #[serde(default)]
    pub assets: Vec<FixtureAsset>,
    /// Entries and assets taken off the Delivery API, for the Sync API's deltas.
    #[serde(default)]
    pub deleted: Vec<super::sync::FixtureDeletion>,
}

fn master() -> String {
    "master".into()
}
fn hundred() -> usize {
    100
}
fn en_us() -> String {
    "en-US".into()
}

impl Fixture {
    pub fn from_json(text: &str) -> Result<Fixture, String> {
        serde_json::from_str(text).map_err(|e| format!("content graph fixture: {e}"))
    }

    /// Every locale code the fixture's fields use, and the default.
    pub fn locales(&self) -> Vec<String> {
        let mut all: Vec<String> = vec![self.default_locale.clone()];
        for e in &self.entries {
            for by_locale in e.fields.values().filter_map(Value::as_object) {
                all.extend(by_locale.keys().cloned());
            }
        }
        all.sort();
        all.dedup();
        all
    }
}

pub struct ContentfulState {
    pub token: String,
    pub graph: Mutex<Fixture>,
    pub faults: Mutex<VecDeque<Fault>>,
    pub log: RequestLog,
    /// Each entry's last change through [`ContentfulState::publish`] or
    /// [`ContentfulState::unpublish`]: one per entry id ever published, so bounded by the graph.
    pub history: Mutex<BTreeMap<String, Superseded>>,
    /// When a change happens (the origin stand-in lags on the same time line).
    pub clock: SandboxClock,
}

/// What an entry was before its last publish or unpublish, and when that
/// change happened: what an origin that lags the Delivery API still renders.
#[derive(Debug, Clone)]
pub struct Superseded {
    /// The revision served before the change (`None`: it was not published).
    pub previous: Option<FixtureEntry>,
    /// When the change happened, on the sandbox clock (Unix milliseconds).
    pub changed_ms: u64,
}

type Shared = Arc<ContentfulState>;

pub(super) fn error(status: StatusCode, id: &str, message: &str) -> Response {
    (status, Json(json!({"sys": {"type": "Error", "id": id}, "message": message}))).into_response()
}

/// The entry as the Delivery API stores it (every locale); `index` is its
/// place in the fixture, for timestamps the fixture leaves out.
pub(super) fn entry_json(e: &FixtureEntry, index: usize, space: &str, env: &str) -> Value {
    let created =
        e.created_at.clone().unwrap_or_else(|| format!("2026-01-01T00:{:02}:{:02}.000Z", index / 60 % 60, index % 60));
    let updated = e.updated_at.clone().unwrap_or_else(|| created.replacen("2026-01-01", "2026-01-02", 1));
    json!({
        "sys": {"type": "Entry", "id": e.id, "revision": e.revision, "createdAt": created, "updatedAt": updated,
            "space": {"sys": {"type": "Link", "linkType": "Space", "id": space}},
            "environment": {"sys": {"type": "Link", "linkType": "Environment", "id": env}},
            "contentType": {"sys": {"type": "Link", "linkType": "ContentType", "id": e.content_type}}},
        "fields": e.fields,
    })
}

/// A page of `items` shaped by the query: localized, ordered, paged (at most
/// `page_size`), selected.
fn page(mut items: Vec<Value>, shape: &Shape, graph: &Fixture) -> Value {
    for item in &mut items {
        delivery_query::localize(item, shape.locale.as_deref(), &graph.default_locale);
    }
    delivery_query::sort(&mut items, &shape.order);
    let limit = shape.limit.min(graph.page_size);
    let total = items.len();
    let page: Vec<Value> = items
        .into_iter()
        .skip(shape.skip)
        .take(limit)
        .map(|i| match &shape.select {
            Some(paths) => delivery_query::select(&i, paths),
            None => i,
        })
        .collect();
    json!({"sys": {"type": "Array"}, "total": total, "skip": shape.skip, "limit": limit, "items": page})
}

pub(super) fn take_fault(s: &ContentfulState, on: &str) -> Option<Response> {
    let mut faults = s.faults.lock().unwrap();
    let i = faults.iter().position(|f| f.on == on)?;
    let fault = faults.remove(i)?;
    // "429" waits a second; "429:5" says to wait five.
    let (code, reset) = fault.answer.split_once(':').unwrap_or((fault.answer.as_str(), "1"));
    let code = code.parse::<u16>().unwrap_or(503);
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut r = error(status, "InjectedFault", "injected fault");
    if code == 429 {
        r.headers_mut().insert("x-contentful-ratelimit-reset", reset.parse().unwrap());
    }
    Some(r)
}

async fn collection(
    State(s): State<Shared>,
    Path((space, env, kind)): Path<(String, String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let answer = collection_inner(&s, &space, &env, &kind, &q, &headers);
    s.log.record("contentful", &method, &uri, answer.status().as_u16(), String::new());
    answer
}

/// The Delivery API's answer to a request it serves no content to: 401
/// without the space's token, 404 for another space or environment.
pub(super) fn refuse_access(s: &ContentfulState, space: &str, env: &str, headers: &HeaderMap) -> Option<Response> {
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {}", s.token));
    if !authorized {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "AccessTokenInvalid",
            "The access token you sent could not be found or is invalid.",
        ));
    }
    let graph = s.graph.lock().unwrap();
    (space != graph.space || env != graph.environment)
        .then(|| error(StatusCode::NOT_FOUND, "NotFound", "The resource could not be found."))
}

fn collection_inner(
    s: &ContentfulState,
    space: &str,
    env: &str,
    kind: &str,
    q: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Response {
    if let Some(refused) = refuse_access(s, space, env, headers) {
        return refused;
    }
    let graph = s.graph.lock().unwrap();
    let shape = match delivery_query::parse(q, &graph.default_locale, &graph.locales()) {
        Ok(shape) => shape,
        Err((id, message)) => return error(StatusCode::BAD_REQUEST, id, &message),
    };
    let entries = graph.entries.iter().enumerate();
    if let Some(id) = q.get("sys.id") {
        if let Some(f) = take_fault(s, "entry") {
            return f;
        }
        let items: Vec<Value> = match kind {
            "entries" => entries.filter(|(_, e)| &e.id == id).map(|(i, e)| entry_json(e, i, space, env)).collect(),
            _ => graph
                .assets
                .iter()
                .filter(|a| &a.id == id)
                .map(|a| json!({"sys": {"type": "Asset", "id": a.id, "revision": a.revision}}))
                .collect(),
        };
        return Json(page(items, &shape, &graph)).into_response();
    }
    let target = q.get("links_to_entry").or_else(|| q.get("links_to_asset"));
    let (Some(target), "entries") = (target, kind) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidQuery",
            "the stand-in answers links_to_entry, links_to_asset and sys.id",
        );
    };
    if let Some(f) = take_fault(s, "links") {
        return f;
    }
    let linking: Vec<Value> = entries
        .filter(|(_, e)| e.links.iter().any(|l| l == target))
        .map(|(i, e)| entry_json(e, i, space, env))
        .collect();
    Json(page(linking, &shape, &graph)).into_response()
}

impl ContentfulState {
    /// Publishes `entry`: adds it, or replaces the revision served (a new slug
    /// from the next revision on, as a real publish does).
    /// An entry without `updatedAt` is stamped now, so the Sync API reports it as changed.
    pub fn publish(&self, mut entry: FixtureEntry) {
        entry.updated_at.get_or_insert_with(super::sync::stamp);
        let mut graph = self.graph.lock().unwrap();
        graph.deleted.retain(|d| d.id != entry.id);
        let previous = graph.entries.iter().position(|e| e.id == entry.id).map(|at| graph.entries.remove(at));
        self.remember(&entry.id, previous);
        graph.entries.push(entry);
    }

    fn remember(&self, id: &str, previous: Option<FixtureEntry>) {
        let change = Superseded { previous, changed_ms: self.clock.now_ms() };
        self.history.lock().unwrap().insert(id.to_string(), change);
    }

    /// Every entry as the Delivery API served it `lag` ago (for entries
    /// changed less than `lag` ago, the revision before, if any): what an
    /// origin inside Contentful's stale-while-revalidate window renders.
    /// Links an unpublish removed stay removed.
    pub fn entries_as_of(&self, lag: Duration) -> Vec<FixtureEntry> {
        let now = self.clock.now_ms();
        let graph = self.graph.lock().unwrap();
        let history = self.history.lock().unwrap();
        let recent = |id: &str| history.get(id).filter(|h| now < h.changed_ms.saturating_add(lag.as_millis() as u64));
        let mut out: Vec<FixtureEntry> = Vec::with_capacity(graph.entries.len());
        for e in &graph.entries {
            match recent(&e.id) {
                Some(change) => out.extend(change.previous.clone()),
                None => out.push(e.clone()),
            }
        }
        let unpublished = history.keys().filter(|id| !graph.entries.iter().any(|e| &e.id == *id));
        out.extend(unpublished.filter_map(|id| recent(id)).filter_map(|h| h.previous.clone()));
        out
    }

    /// Unpublishes (or deletes) entry `id`: the Delivery API serves it no
    /// more, nothing links to it, and the next delta sync reports it as a
    /// `DeletedEntry`. `false` when it was not served.
    pub fn unpublish(&self, id: &str) -> bool {
        let mut graph = self.graph.lock().unwrap();
        let Some(at) = graph.entries.iter().position(|e| e.id == id) else {
            return false;
        };
        let entry = graph.entries.remove(at);
        self.remember(id, Some(entry.clone()));
        // A parent's link stops resolving: what it served changes too, so a
        // lagging origin still shows the child on the parent's page.
        for e in &mut graph.entries {
            if e.links.iter().any(|l| l == id) {
                self.remember(&e.id, Some(e.clone()));
                e.links.retain(|l| l != id);
            }
        }
        graph.deleted.retain(|d| d.id != id);
        graph.deleted.push(super::sync::FixtureDeletion {
            id: id.to_string(),
            kind: super::sync::entry_kind(),
            revision: entry.revision,
            deleted_at: super::sync::stamp(),
        });
        true
    }
}

/// Adds or replaces an entry (the demo "publishes" with it before it sends the webhook).
async fn upsert(State(s): State<Shared>, Json(entry): Json<FixtureEntry>) -> StatusCode {
    s.publish(entry);
    StatusCode::NO_CONTENT
}

/// Unpublishes an entry (the demo does before it sends the unpublish webhook).
async fn remove(State(s): State<Shared>, axum::extract::Path(id): axum::extract::Path<String>) -> Response {
    if s.unpublish(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "NotFound", "no such entry is published")
    }
}

async fn admin_faults(State(s): State<Shared>, Json(faults): Json<Vec<Fault>>) -> StatusCode {
    s.faults.lock().unwrap().extend(faults);
    StatusCode::NO_CONTENT
}

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/spaces/{space}/environments/{env}/{kind}", get(collection))
        .route("/spaces/{space}/environments/{env}/sync", get(super::sync::sync))
        .route("/__sandbox/entries", post(upsert))
        .route("/__sandbox/entries/{id}", delete(remove))
        .route("/__sandbox/faults", post(admin_faults))
        .route("/__sandbox/requests", get(|State(s): State<Shared>| async move { Json(s.log.all()) }))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "NotFound", "no such route in the Delivery API stand-in") })
        .with_state(state)
}
