//! The CDN a visitor reaches (`SITE_URL`): a real cache in front of the
//! origin stand-in ([`super::origin`]), purged by the CloudFront stand-in's
//! invalidations when they complete, answering as CloudFront does.
//!
//! - **Cache key**, as CloudFront's managed `CachingOptimized` policy with
//!   Gzip and Brotli on: the path as received (not decoded, not
//!   normalised: `/about` and `/about/` are two objects), no query string
//!   (unless [`CdnConfig::key_query`]: then the path and query as
//!   received), no cookies, no headers but the normalised `Accept-Encoding`:
//!   `br` when the viewer accepts br, else `gzip` when it accepts gzip,
//!   else none (`q=0` refuses). Each is a separate object: one request warms
//!   one variant. Bodies are sent uncompressed whatever the variant.
//! - **TTL** ([`ttl`]): `s-maxage`, else `max-age`, else
//!   [`CdnConfig::default_ttl`], held between [`CdnConfig::min_ttl`] and
//!   [`CdnConfig::max_ttl`] (`CachingOptimized`: 1 s, 1 day, 1 year; a
//!   `MinTTL` over 0 caches even `no-store`, as CloudFront does). An error
//!   CloudFront caches (404, 503, ...) is kept for at least
//!   [`CdnConfig::error_ttl`] (the error caching minimum TTL, 10 s by
//!   default). An expired page whose origin now fails with a 5xx is served
//!   as it was (`Hit`, its `Age` growing), as CloudFront does.
//! - **Answers**: `X-Cache: Miss from cloudfront` (fetched now), `Hit from
//!   cloudfront` with `Age` (whole seconds since fetched), `RefreshHit from
//!   cloudfront` (expired, revalidated by the origin with `If-None-Match`:
//!   `304`; its age starts again), `Error from cloudfront` for an error
//!   status (with `Age` when served from the cache) and for a method other
//!   than GET and HEAD (`403`, the default allowed methods); `Via`,
//!   `X-Amz-Cf-Pop` and `X-Amz-Cf-Id` as CloudFront sends them, and the
//!   origin's headers.
//! - **Purge**: an invalidation of [`CdnConfig::distribution`] at the
//!   CloudFront stand-in removes every object it matches that was fetched
//!   before the invalidation completed, from the moment it completes (its
//!   `completes_ms`, which `complete_now` moves; until then the object is
//!   still served). A path matches an object's path (with its query when
//!   the key has one), both as encoded (only the case of `%XX` escapes is
//!   ignored: an over-encoded `%2D` does not match `-`); a path ending in `*` every
//!   object whose path starts with what comes before; `#tag` every object
//!   whose origin answer carried that tag in the origin's tag header (case
//!   insensitive, at most CloudFront's 50 a object). Each variant of a path
//!   is purged alike.
//! - **Bounded**: at most [`MAX_OBJECTS`] objects, the oldest fetched dropped first.
//!
//! Everything reads the sandbox clock ([`super::clock`]), as the CloudFront
//! stand-in does, so a test can move time forward instead of waiting.
//!
//! # Using it from a test
//!
//! [`super::Sandbox::start`] starts it with the other stand-ins, as
//! [`super::Config::cdn`] ([`CdnConfig::caching_optimized`] in front of
//! [`super::DEMO_DISTRIBUTION`] by default) and [`super::Config::origin`] say:
//!
//! ```text
//! let config = Config::local(fixture, in_progress, vec![])
//!     .with_clock(SandboxClock::frozen())          // or keep real time
//!     .with_origin(OriginSettings { max_age: Some(60), lag: Duration::from_secs(30),
//!         revision_header: Some(REVISION_HEADER.into()), ..Default::default() });
//! let sb = Sandbox::start(config).await?;
//! visitor::visit(&sb.site_url(), "/home").await?     // X-Cache, Age, headers, the page's text
//! sb.origin().configure(|o| o.lag = Duration::ZERO); // change the origin at any time
//! sb.cdn_state.origin_requests_for("/home")         // how often the origin was asked
//! sb.clock.advance(Duration::from_secs(10))         // frozen clock only matters for tests
//! origin::page_text(&body)                          // the lines a visitor reads (Visit::text)
//! ```

use super::clock::SandboxClock;
use super::cloudfront::CloudFrontState;
use super::origin::{Origin, OriginResponse};
use super::{Logged, RequestLog};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use invalidator_core::tags::MAX_TAGS_PER_OBJECT;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Objects kept at most (a test site has a handful of pages).
pub const MAX_OBJECTS: usize = 10_000;

/// How the CDN caches; the origin's own settings are [`super::origin::OriginSettings`].
#[derive(Debug, Clone)]
pub struct CdnConfig {
    /// The port visitors reach (0: any free port).
    pub port: u16,
    /// The distribution whose invalidations purge this cache.
    pub distribution: String,
    /// Whether the query string is part of the cache key (`CachingOptimized`: no).
    pub key_query: bool,
    pub min_ttl: Duration,
    pub default_ttl: Duration,
    pub max_ttl: Duration,
    /// How long an error answer from the origin (404 included) is cached.
    pub error_ttl: Duration,
}

impl CdnConfig {
    /// `CachingOptimized` in front of `distribution`, on any free port.
    pub fn caching_optimized(distribution: &str) -> CdnConfig {
        CdnConfig {
            port: 0,
            distribution: distribution.to_string(),
            key_query: false,
            min_ttl: Duration::from_secs(1),
            default_ttl: Duration::from_secs(86_400),
            max_ttl: Duration::from_secs(31_536_000),
            error_ttl: Duration::from_secs(10),
        }
    }
}

/// Which compressed variant a viewer gets, by its `Accept-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variant {
    Brotli,
    Gzip,
    Identity,
}

impl Variant {
    /// The variant CloudFront serves for this `Accept-Encoding` header.
    pub fn for_accept_encoding(header: Option<&str>) -> Variant {
        let accepted = |name: &str| {
            header.unwrap_or_default().split(',').any(|coding| {
                let mut parts = coding.split(';').map(str::trim);
                let refused = parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.parse::<f32>() == Ok(0.0)));
                let first = coding.split(';').next().unwrap_or_default().trim();
                first.eq_ignore_ascii_case(name) && !refused
            })
        };
        if accepted("br") {
            Variant::Brotli
        } else if accepted("gzip") {
            Variant::Gzip
        } else {
            Variant::Identity
        }
    }
}

/// What `X-Cache` says about an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XCache {
    /// Served from the cache, unexpired.
    Hit,
    /// Fetched from the origin now.
    Miss,
    /// Expired, and the origin said it has not changed (`304`).
    RefreshHit,
    /// An error status, from the origin or the cache, or a refused method.
    Error,
}

impl XCache {
    /// The header's value, as CloudFront writes it.
    pub fn header_value(self) -> &'static str {
        match self {
            XCache::Hit => "Hit from cloudfront",
            XCache::Miss => "Miss from cloudfront",
            XCache::RefreshHit => "RefreshHit from cloudfront",
            XCache::Error => "Error from cloudfront",
        }
    }

    /// `Hit` or `Miss` as fetched, `Error` when the answer is one.
    fn of(status: u16, fetched: bool) -> XCache {
        match (status >= 400, fetched) {
            (true, _) => XCache::Error,
            (false, true) => XCache::Miss,
            (false, false) => XCache::Hit,
        }
    }
}

/// One cache key: see the module's doc.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    /// The path as received, with `?query` when the key has it.
    url: String,
    variant: Variant,
}

/// One cached object.
#[derive(Debug, Clone)]
struct Cached {
    answer: OriginResponse,
    fetched_ms: u64,
    ttl_ms: u64,
    /// Lower-cased, from the origin's tag header.
    tags: Vec<String>,
}

/// The running CDN: its cache, its origin, and the invalidations it obeys.
pub struct CdnState {
    pub config: CdnConfig,
    pub origin: Origin,
    cloudfront: Arc<CloudFrontState>,
    clock: SandboxClock,
    cache: Mutex<BTreeMap<Key, Cached>>,
    answered: AtomicU64,
    /// Every visitor request answered, `detail` its `X-Cache`.
    pub log: RequestLog,
}

impl CdnState {
    pub fn new(config: CdnConfig, origin: Origin, cloudfront: Arc<CloudFrontState>, clock: SandboxClock) -> CdnState {
        CdnState {
            config,
            origin,
            cloudfront,
            clock,
            cache: Mutex::new(BTreeMap::new()),
            answered: AtomicU64::new(0),
            log: RequestLog::default(),
        }
    }

    /// The requests the origin answered, oldest first.
    pub fn origin_requests(&self) -> Vec<Logged> {
        self.origin.requests()
    }

    /// How many times the origin was asked for `path` (its path, without the query).
    pub fn origin_requests_for(&self, path: &str) -> usize {
        self.origin.requests().iter().filter(|l| l.target.split('?').next() == Some(path)).count()
    }

    /// The visitor requests answered, oldest first.
    pub fn requests(&self) -> Vec<Logged> {
        self.log.all()
    }

    fn ttl_ms(&self, answer: &OriginResponse) -> u64 {
        ttl(&self.config, answer.status, answer.header("cache-control")).as_millis() as u64
    }

    /// Whether a completed invalidation of this distribution removed `object`.
    fn purged(&self, key: &Key, object: &Cached, now: u64) -> bool {
        let all = self.cloudfront.invalidations.lock().unwrap();
        let url = escapes_upper(&key.url);
        all.iter()
            .filter(|i| i.distribution_id == self.config.distribution)
            .filter(|i| i.completes_ms <= now && object.fetched_ms < i.completes_ms)
            .flat_map(|i| &i.paths)
            .any(|item| match item.strip_prefix('#') {
                Some(tag) => object.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)),
                None => match item.strip_suffix('*') {
                    Some(prefix) => url.starts_with(&escapes_upper(prefix)),
                    None => url == escapes_upper(item),
                },
            })
    }

    fn tags_of(&self, answer: &OriginResponse) -> Vec<String> {
        let Some(header) = self.origin.settings().tags.map(|t| t.header) else {
            return Vec::new();
        };
        let value = answer.header(&header).unwrap_or_default();
        let tags = value.split(',').map(|t| t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty());
        tags.take(MAX_TAGS_PER_OBJECT).collect()
    }

    /// Answers one visitor request: the cache's whole decision.
    fn visit(&self, key: Key, target: &str) -> (OriginResponse, XCache, Option<u64>) {
        let now = self.clock.now_ms();
        let mut cache = self.cache.lock().unwrap();
        if cache.get(&key).is_some_and(|object| self.purged(&key, object, now)) {
            cache.remove(&key);
        }
        let mut fetched = None;
        if let Some(object) = cache.get_mut(&key) {
            let age = now.saturating_sub(object.fetched_ms) / 1000;
            if now < object.fetched_ms + object.ttl_ms {
                return (object.answer.clone(), XCache::of(object.answer.status, false), Some(age));
            }
            let etag = object.answer.header("etag").map(str::to_string);
            if let (Some(etag), true) = (etag, object.answer.status < 400) {
                let revalidated = self.origin.respond(target, Some(&etag));
                if revalidated.status == 304 {
                    // A 304's headers replace the stored ones (RFC 9111, 4.3.4); the body stays.
                    object.fetched_ms = now;
                    object.ttl_ms = self.ttl_ms(&revalidated);
                    object.tags = self.tags_of(&revalidated);
                    object.answer.headers = revalidated.headers;
                    return (object.answer.clone(), XCache::RefreshHit, None);
                }
                if revalidated.status >= 500 {
                    // CloudFront keeps serving the expired object while the origin fails.
                    return (object.answer.clone(), XCache::Hit, Some(age));
                }
                fetched = Some(revalidated);
            }
        }
        let answer = fetched.unwrap_or_else(|| self.origin.respond(target, None));
        let ttl_ms = self.ttl_ms(&answer);
        if ttl_ms > 0 {
            if cache.len() >= MAX_OBJECTS && !cache.contains_key(&key) {
                let oldest = cache.iter().min_by_key(|(_, o)| o.fetched_ms).map(|(k, _)| k.clone());
                cache.remove(&oldest.expect("a full cache has an oldest object"));
            }
            let tags = self.tags_of(&answer);
            cache.insert(key, Cached { answer: answer.clone(), fetched_ms: now, ttl_ms, tags });
        }
        let x_cache = XCache::of(answer.status, true);
        (answer, x_cache, None)
    }
}

/// `path` with the hex digits of each `%XX` upper-cased, and nothing else
/// changed: CloudFront matches an invalidation path to a URL as encoded, so
/// `%c3%a9` is `%C3%A9` but `%2D` is not `-` (its guide: encode nothing
/// but unsafe and non-ASCII characters, "or CloudFront will not invalidate").
fn escapes_upper(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3).filter(|e| e[1..].bytes().all(|b| b.is_ascii_hexdigit()));
        let taken = escape.map_or("%".to_string(), str::to_ascii_uppercase);
        rest = &rest[at + taken.len()..];
        out.push_str(&taken);
    }
    out.push_str(rest);
    out
}

/// How long CloudFront keeps an origin's answer with `status` and
/// `cache_control` (zero: not at all). A success: `s-maxage`, else `max-age`,
/// else the default TTL, held between the minimum and maximum TTL;
/// `no-store`, `no-cache` or `private`: the minimum TTL (with 0, not
/// cached). An error CloudFront caches
/// ([`CACHED_ERRORS`]): the larger of the error caching minimum TTL and the
/// header's `s-maxage`/`max-age` (at most the maximum TTL); `no-store`,
/// `no-cache` and `private` keep only 404, 410, 414 and 501 out of the cache.
/// Any other status is not cached.
pub fn ttl(config: &CdnConfig, status: u16, cache_control: Option<&str>) -> Duration {
    let directives: Vec<String> =
        cache_control.unwrap_or_default().split(',').map(|d| d.trim().to_ascii_lowercase()).collect();
    let seconds =
        |name: &str| directives.iter().find_map(|d| d.strip_prefix(name)?.strip_prefix('=')?.parse::<u64>().ok());
    let asked = seconds("s-maxage").or_else(|| seconds("max-age")).map(Duration::from_secs);
    let forbidden = directives.iter().any(|d| matches!(d.as_str(), "no-store" | "no-cache" | "private"));
    match status {
        200..=399 if forbidden => config.min_ttl,
        200..=399 => asked.unwrap_or(config.default_ttl).clamp(config.min_ttl, config.max_ttl),
        404 | 410 | 414 | 501 if forbidden => Duration::ZERO,
        s if CACHED_ERRORS.contains(&s) => asked.unwrap_or_default().min(config.max_ttl).max(config.error_ttl),
        _ => Duration::ZERO,
    }
}

/// The 4xx and 5xx statuses CloudFront caches (its developer guide,
/// "HTTP 4xx and 5xx status codes that CloudFront caches"; 416 is not cached).
pub const CACHED_ERRORS: [u16; 12] = [400, 403, 404, 405, 410, 414, 500, 501, 502, 503, 504, 505];

type Shared = Arc<CdnState>;

async fn serve(
    axum::extract::State(s): axum::extract::State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let id = s.answered.fetch_add(1, Ordering::SeqCst) + 1;
    let (status, mut out_headers, body, x_cache, age) = if method == Method::GET || method == Method::HEAD {
        let path = uri.path();
        let target = match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        let url = if s.config.key_query { target.clone() } else { path.to_string() };
        let accept = headers.get("accept-encoding").and_then(|v| v.to_str().ok());
        let key = Key { url, variant: Variant::for_accept_encoding(accept) };
        let (answer, x_cache, age) = s.visit(key, &target);
        let body = if method == Method::HEAD { String::new() } else { answer.body };
        (answer.status, answer.headers, body, x_cache, age)
    } else {
        let body =
            "This distribution is not configured to allow the HTTP request method that was used for this request.";
        (403, vec![("Content-Type".into(), "text/plain".into())], body.to_string(), XCache::Error, None)
    };
    out_headers.push(("X-Cache".into(), x_cache.header_value().into()));
    if let Some(age) = age {
        out_headers.push(("Age".into(), age.to_string()));
    }
    out_headers.push(("Via".into(), "1.1 sandbox.cloudfront.net (CloudFront)".into()));
    out_headers.push(("X-Amz-Cf-Pop".into(), "SBX1-P1".into()));
    out_headers.push(("X-Amz-Cf-Id".into(), format!("sandbox-{id}")));
    s.log.record("cdn", &method, &uri, status, x_cache.header_value().into());
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in out_headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// Every path, every method: the CDN has no routes of its own.
pub fn router(state: Shared) -> Router {
    Router::new().fallback(serve).with_state(state)
}
