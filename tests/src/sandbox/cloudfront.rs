//! A CloudFront stand-in that behaves like the real invalidation API where it
//! matters: every request's SigV4 signature is recomputed and checked; an
//! invalidation stays InProgress for a set time; only configured
//! distributions exist (others: 404 NoSuchDistribution); `#tag` items only
//! on a distribution with a cache tag configuration; a batch is refused
//! as CloudFront refuses it (MissingBody, MalformedInput,
//! InconsistentQuantities, InvalidArgument: see [`invalidation_batch`]);
//! CallerReference
//! semantics (same batch → the same invalidation, other paths → 409
//! InvalidationBatchAlreadyExists); the limits of 3,000 paths and 15 wildcards
//! in progress; and faults injected on request (503, Throttling,
//! TooManyInvalidationsInProgress, AccessDenied).
//!
//! [`invalidation_batch`]: super::invalidation_batch

// Handlers answer early with a ready `Response`: its size does not matter here.
#![allow(clippy::result_large_err)]

use super::clock::SandboxClock;
use super::invalidation_batch;
use super::sigv4_check::{self, Expected};
use super::{log_line, RequestLog};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A fault to answer instead of the real thing, for the next matching request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// `create` or `get` (CloudFront), `links`, `entry`, `sync` or `sync-page` (Delivery API).
    pub on: String,
    /// An HTTP status (`503`) or an error code (`Throttling`, `TooManyInvalidationsInProgress`, `AccessDenied`).
    pub answer: String,
}

impl Fault {
    /// Parses `create:503,get:Throttling,...`.
    pub fn parse_list(s: &str) -> Result<Vec<Fault>, String> {
        s.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| match f.split_once(':') {
                Some((on @ ("create" | "get" | "links" | "entry" | "sync" | "sync-page"), answer))
                    if !answer.is_empty() =>
                {
                    Ok(Fault { on: on.to_string(), answer: answer.to_string() })
                }
                _ => Err(format!("fault {f:?} is not create|get|links|entry|sync|sync-page:<answer>")),
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StoredInvalidation {
    pub id: String,
    pub distribution_id: String,
    pub caller_reference: String,
    pub paths: Vec<String>,
    pub created_ms: u64,
    pub completes_ms: u64,
}

impl StoredInvalidation {
    fn status(&self, now: u64) -> &'static str {
        if now >= self.completes_ms {
            "Completed"
        } else {
            "InProgress"
        }
    }
}

pub struct CloudFrontState {
    pub expected: Expected,
    /// How long a new invalidation stays InProgress (a test may change it).
    pub in_progress_for: Mutex<Duration>,
    pub distributions: Vec<String>,
    /// Distributions with a `CacheTagConfig`: only they take `#tag` items.
    pub cache_tag_distributions: Vec<String>,
    pub invalidations: Mutex<Vec<StoredInvalidation>>,
    pub faults: Mutex<VecDeque<Fault>>,
    pub log: RequestLog,
    /// When an invalidation is created and completes (the CDN stand-in purges on the same time line).
    pub clock: SandboxClock,
}

impl CloudFrontState {
    /// Completes every invalidation in progress now, and makes later ones
    /// stay in progress for `next`: a test holds a batch in flight for as long
    /// as it needs (not for a guessed time), then lets it go.
    pub fn complete_now(&self, next: Duration) {
        *self.in_progress_for.lock().unwrap() = next;
        let now = self.clock.now_ms();
        for inv in self.invalidations.lock().unwrap().iter_mut() {
            inv.completes_ms = inv.completes_ms.min(now);
        }
    }
}

type Shared = Arc<CloudFrontState>;

const MAX_PATHS_IN_PROGRESS: usize = 3000;
const MAX_WILDCARDS_IN_PROGRESS: usize = 15;

fn xml_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>sandbox</RequestId></ErrorResponse>",
        quick_xml::escape::escape(code),
        quick_xml::escape::escape(message)
    );
    (status, [("content-type", "text/xml")], body).into_response()
}

fn invalidation_xml(inv: &StoredInvalidation, now: u64) -> String {
    let mut paths = String::new();
    for p in &inv.paths {
        paths.push_str(&format!("<Path>{}</Path>", quick_xml::escape::escape(p)));
    }
    let secs = inv.created_ms / 1000;
    format!(
        "<?xml version=\"1.0\"?><Invalidation xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Id>{}</Id><Status>{}</Status><CreateTime>{}</CreateTime><InvalidationBatch><Paths><Quantity>{}</Quantity><Items>{paths}</Items></Paths><CallerReference>{}</CallerReference></InvalidationBatch></Invalidation>",
        inv.id,
        inv.status(now),
        rfc3339(secs),
        inv.paths.len(),
        quick_xml::escape::escape(&inv.caller_reference)
    )
}

fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = super::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, (rem % 3600) / 60, rem % 60)
}

fn check_signature(
    s: &CloudFrontState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Response> {
    sigv4_check::verify_received(method, uri, headers, body, &s.expected)
        .map_err(|r| xml_error(StatusCode::FORBIDDEN, r.code, &r.message))
}

fn check_distribution(s: &CloudFrontState, dist: &str) -> Result<(), Response> {
    if s.distributions.iter().any(|d| d == dist) {
        Ok(())
    } else {
        Err(xml_error(StatusCode::NOT_FOUND, "NoSuchDistribution", "The specified distribution does not exist."))
    }
}

/// A `#` item is a cache tag only where the distribution has a cache tag
/// configuration; elsewhere CloudFront refuses the batch.
fn check_tags_allowed(s: &CloudFrontState, dist: &str, paths: &[String]) -> Result<(), Response> {
    let tagged = s.cache_tag_distributions.iter().any(|d| d == dist);
    match paths.iter().find(|p| p.starts_with('#')) {
        Some(tag) if !tagged => Err(xml_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            &format!("{tag} is a cache tag, and distribution {dist} has no CacheTagConfig"),
        )),
        _ => Ok(()),
    }
}

fn take_fault(s: &CloudFrontState, on: &str) -> Option<Response> {
    let mut faults = s.faults.lock().unwrap();
    let i = faults.iter().position(|f| f.on == on)?;
    let fault = faults.remove(i)?;
    Some(match fault.answer.parse::<u16>() {
        Ok(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            xml_error(status, "ServiceUnavailable", "injected fault")
        }
        Err(_) => {
            let status = match fault.answer.as_str() {
                "AccessDenied" => StatusCode::FORBIDDEN,
                "Throttling" => StatusCode::BAD_REQUEST,
                "NoSuchDistribution" => StatusCode::NOT_FOUND,
                _ => StatusCode::BAD_REQUEST,
            };
            xml_error(status, &fault.answer, "injected fault")
        }
    })
}

async fn create(
    State(s): State<Shared>,
    Path(distribution_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = create_inner(&s, &distribution_id, &method, &uri, &headers, &body);
    let paths = invalidation_batch::parse(&body).map(|(p, _, _)| p.len()).unwrap_or(0);
    s.log.record("cloudfront", &method, &uri, answer.status().as_u16(), format!("{paths} paths"));
    answer
}

fn create_inner(
    s: &CloudFrontState,
    dist: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    if let Err(refused) = check_signature(s, method, uri, headers, body) {
        return refused;
    }
    if let Err(refused) = check_distribution(s, dist) {
        return refused;
    }
    if let Some(fault) = take_fault(s, "create") {
        return fault;
    }
    let (paths, caller) = match invalidation_batch::check(body) {
        Ok(batch) => batch,
        Err(refused) => return xml_error(StatusCode::BAD_REQUEST, refused.code, &refused.message),
    };
    if let Err(refused) = check_tags_allowed(s, dist, &paths) {
        return refused;
    }
    let now = s.clock.now_ms();
    let mut all = s.invalidations.lock().unwrap();
    if let Some(existing) = all.iter().find(|i| i.distribution_id == dist && i.caller_reference == caller) {
        let mut a = existing.paths.clone();
        let mut b = paths.clone();
        a.sort();
        b.sort();
        if a != b {
            return xml_error(
                StatusCode::CONFLICT,
                "InvalidationBatchAlreadyExists",
                "the CallerReference was used with other paths",
            );
        }
        return (StatusCode::CREATED, [("content-type", "text/xml")], invalidation_xml(existing, now)).into_response();
    }
    let in_progress: Vec<&StoredInvalidation> =
        all.iter().filter(|i| i.distribution_id == dist && i.status(now) == "InProgress").collect();
    let busy_paths: usize = in_progress.iter().map(|i| i.paths.len()).sum();
    let busy_wildcards: usize = in_progress.iter().flat_map(|i| &i.paths).filter(|p| p.ends_with('*')).count();
    let new_wildcards = paths.iter().filter(|p| p.ends_with('*')).count();
    if busy_paths + paths.len() > MAX_PATHS_IN_PROGRESS || busy_wildcards + new_wildcards > MAX_WILDCARDS_IN_PROGRESS {
        return xml_error(
            StatusCode::BAD_REQUEST,
            "TooManyInvalidationsInProgress",
            "more than 3000 paths or 15 wildcards would be in progress",
        );
    }
    let id = format!("I{:013}", all.len() + 1);
    let inv = StoredInvalidation {
        id: id.clone(),
        distribution_id: dist.to_string(),
        caller_reference: caller,
        paths,
        created_ms: now,
        completes_ms: now + s.in_progress_for.lock().unwrap().as_millis() as u64,
    };
    let xml = invalidation_xml(&inv, now);
    all.push(inv);
    let location = format!("/2020-05-31/distribution/{dist}/invalidation/{id}");
    (StatusCode::CREATED, [("content-type", "text/xml".to_string()), ("location", location)], xml).into_response()
}

/// ListInvalidations: newest first, `MaxItems` a page (default 100), `Marker`
/// where a page starts (the `NextMarker` of the page before).
async fn list(
    State(s): State<Shared>,
    Path(dist): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let answer = (|| {
        check_signature(&s, &method, &uri, &headers, b"")?;
        check_distribution(&s, &dist)?;
        let query: BTreeMap<String, String> = uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let max: usize = query.get("MaxItems").and_then(|m| m.parse().ok()).unwrap_or(100).clamp(1, 100);
        let all = s.invalidations.lock().unwrap();
        let newest_first: Vec<&StoredInvalidation> = all.iter().rev().filter(|i| i.distribution_id == dist).collect();
        let start = match query.get("Marker").filter(|m| !m.is_empty()) {
            Some(m) => newest_first.iter().position(|i| &i.id == m).ok_or_else(|| {
                xml_error(StatusCode::BAD_REQUEST, "InvalidArgument", "the Marker names no invalidation")
            })?,
            None => 0,
        };
        let page = &newest_first[start..(start + max).min(newest_first.len())];
        let next = newest_first.get(start + max).map(|i| i.id.clone());
        let now = s.clock.now_ms();
        let items: String = page
            .iter()
            .map(|i| {
                format!(
                    "<InvalidationSummary><Id>{}</Id><CreateTime>{}</CreateTime><Status>{}</Status></InvalidationSummary>",
                    i.id,
                    rfc3339(i.created_ms / 1000),
                    i.status(now)
                )
            })
            .collect();
        Ok((
            StatusCode::OK,
            [("content-type", "text/xml")],
            format!(
                "<?xml version=\"1.0\"?><InvalidationList xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><Marker>{}</Marker>{}<MaxItems>{max}</MaxItems><IsTruncated>{}</IsTruncated><Quantity>{}</Quantity><Items>{items}</Items></InvalidationList>",
                query.get("Marker").cloned().unwrap_or_default(),
                next.as_ref().map(|n| format!("<NextMarker>{n}</NextMarker>")).unwrap_or_default(),
                next.is_some(),
                page.len()
            ),
        )
            .into_response())
    })()
    .unwrap_or_else(|r: Response| r);
    s.log.record("cloudfront", &method, &uri, answer.status().as_u16(), String::new());
    answer
}

async fn status(
    State(s): State<Shared>,
    Path((dist, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let answer = (|| {
        check_signature(&s, &method, &uri, &headers, b"")?;
        check_distribution(&s, &dist)?;
        if let Some(fault) = take_fault(&s, "get") {
            return Err(fault);
        }
        let all = s.invalidations.lock().unwrap();
        match all.iter().find(|i| i.distribution_id == dist && i.id == id) {
            Some(inv) => Ok((StatusCode::OK, [("content-type", "text/xml")], invalidation_xml(inv, s.clock.now_ms()))
                .into_response()),
            None => Err(xml_error(StatusCode::NOT_FOUND, "NoSuchInvalidation", "no such invalidation")),
        }
    })()
    .unwrap_or_else(|r| r);
    s.log.record("cloudfront", &method, &uri, answer.status().as_u16(), String::new());
    answer
}

#[derive(Serialize)]
struct Listing<'a> {
    invalidations: &'a [StoredInvalidation],
    faults_left: Vec<Fault>,
}

async fn admin_list(State(s): State<Shared>) -> Response {
    let all = s.invalidations.lock().unwrap();
    let faults = s.faults.lock().unwrap().iter().cloned().collect();
    Json(Listing { invalidations: &all, faults_left: faults }).into_response()
}

async fn admin_faults(State(s): State<Shared>, Json(faults): Json<Vec<Fault>>) -> StatusCode {
    s.faults.lock().unwrap().extend(faults);
    StatusCode::NO_CONTENT
}

/// The stand-in's routes; `/__sandbox/*` is for tests and the demo.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/2020-05-31/distribution/{dist}/invalidation", post(create).get(list))
        .route("/2020-05-31/distribution/{dist}/invalidation/{id}", get(status))
        .route("/__sandbox/invalidations", get(admin_list))
        .route("/__sandbox/faults", post(admin_faults))
        .route("/__sandbox/requests", get(|State(s): State<Shared>| async move { Json(s.log.all()) }))
        .fallback(|method: Method, uri: Uri| async move {
            log_line("cloudfront", &method, &uri, 404, "no such route");
            xml_error(StatusCode::NOT_FOUND, "NotFound", "no such route in the CloudFront stand-in")
        })
        .with_state(state)
}

/// Paths per distribution, for assertions.
pub fn paths_by_distribution(all: &[StoredInvalidation]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for inv in all {
        out.entry(inv.distribution_id.clone()).or_default().extend(inv.paths.iter().cloned());
    }
    out
}
