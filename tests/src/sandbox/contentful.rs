//! A Contentful Delivery API stand-in serving a content graph from a JSON
//! fixture: `links_to_entry` / `links_to_asset` with `skip`/`limit` paging
//! (the fixture's `page_size` caps a page, to exercise paging), the
//! `sys.id` revision probe, Bearer token checks, and injected faults (429
//! with `X-Contentful-RateLimit-Reset`, 5xx).
//!
//! Fixture: `{"space": "...", "environment": "master", "page_size": 100,
//! "entries": [{"id", "contentType", "revision", "fields", "links": [ids]}],
//! "assets": [{"id", "revision"}]}`. `links` are the ids an entry links to.

use super::cloudfront::Fault;
use super::RequestLog;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

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
    pub entries: Vec<FixtureEntry>,
    #[serde(default)]
    pub assets: Vec<FixtureAsset>,
}

fn master() -> String {
    "master".into()
}
fn hundred() -> usize {
    100
}

impl Fixture {
    pub fn from_json(text: &str) -> Result<Fixture, String> {
        serde_json::from_str(text).map_err(|e| format!("content graph fixture: {e}"))
    }
}

pub struct ContentfulState {
    pub token: String,
    pub graph: Mutex<Fixture>,
    pub faults: Mutex<VecDeque<Fault>>,
    pub log: RequestLog,
}

type Shared = Arc<ContentfulState>;

fn error(status: StatusCode, id: &str, message: &str) -> Response {
    (status, Json(json!({"sys": {"type": "Error", "id": id}, "message": message}))).into_response()
}

fn entry_json(e: &FixtureEntry, space: &str, env: &str) -> Value {
    json!({
        "sys": {"type": "Entry", "id": e.id, "revision": e.revision,
            "space": {"sys": {"type": "Link", "linkType": "Space", "id": space}},
            "environment": {"sys": {"type": "Link", "linkType": "Environment", "id": env}},
            "contentType": {"sys": {"type": "Link", "linkType": "ContentType", "id": e.content_type}}},
        "fields": e.fields,
    })
}

fn take_fault(s: &ContentfulState, on: &str) -> Option<Response> {
    let mut faults = s.faults.lock().unwrap();
    let i = faults.iter().position(|f| f.on == on)?;
    let fault = faults.remove(i)?;
    let code = fault.answer.parse::<u16>().unwrap_or(503);
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut r = error(status, "InjectedFault", "injected fault");
    if code == 429 {
        r.headers_mut().insert("x-contentful-ratelimit-reset", "1".parse().unwrap());
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

fn collection_inner(
    s: &ContentfulState,
    space: &str,
    env: &str,
    kind: &str,
    q: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Response {
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {}", s.token));
    if !authorized {
        return error(
            StatusCode::UNAUTHORIZED,
            "AccessTokenInvalid",
            "The access token you sent could not be found or is invalid.",
        );
    }
    let graph = s.graph.lock().unwrap();
    if space != graph.space || env != graph.environment {
        return error(StatusCode::NOT_FOUND, "NotFound", "The resource could not be found.");
    }
    if let Some(id) = q.get("sys.id") {
        if let Some(f) = take_fault(s, "entry") {
            return f;
        }
        let items: Vec<Value> = match kind {
            "entries" => graph.entries.iter().filter(|e| &e.id == id).map(|e| entry_json(e, space, env)).collect(),
            _ => graph
                .assets
                .iter()
                .filter(|a| &a.id == id)
                .map(|a| json!({"sys": {"type": "Asset", "id": a.id, "revision": a.revision}}))
                .collect(),
        };
        return Json(json!({"sys": {"type": "Array"}, "total": items.len(), "skip": 0, "limit": 1, "items": items}))
            .into_response();
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
    let skip: usize = q.get("skip").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: usize = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(100).min(graph.page_size).min(1000);
    let linking: Vec<&FixtureEntry> = graph.entries.iter().filter(|e| e.links.iter().any(|l| l == target)).collect();
    let items: Vec<Value> = linking.iter().skip(skip).take(limit).map(|e| entry_json(e, space, env)).collect();
    Json(json!({"sys": {"type": "Array"}, "total": linking.len(), "skip": skip, "limit": limit, "items": items}))
        .into_response()
}

/// Adds or replaces an entry (the demo "publishes" with it before it sends the webhook).
async fn upsert(State(s): State<Shared>, Json(entry): Json<FixtureEntry>) -> StatusCode {
    let mut graph = s.graph.lock().unwrap();
    graph.entries.retain(|e| e.id != entry.id);
    graph.entries.push(entry);
    StatusCode::NO_CONTENT
}

async fn admin_faults(State(s): State<Shared>, Json(faults): Json<Vec<Fault>>) -> StatusCode {
    s.faults.lock().unwrap().extend(faults);
    StatusCode::NO_CONTENT
}

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/spaces/{space}/environments/{env}/{kind}", get(collection))
        .route("/__sandbox/entries", post(upsert))
        .route("/__sandbox/faults", post(admin_faults))
        .route("/__sandbox/requests", get(|State(s): State<Shared>| async move { Json(s.log.all()) }))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "NotFound", "no such route in the Delivery API stand-in") })
        .with_state(state)
}
