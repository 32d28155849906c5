//! The site's origin: renders each page from what the Delivery API stand-in
//! serves now (or `lag` ago), as the HTML a visitor reads. The CDN stand-in
//! ([`super::cdn`]) is the only caller; tests reach it through the CDN.
//!
//! - **Which page.** A path given by hand in [`OriginSettings::pages`]
//!   (path → entry id) renders that entry; otherwise the entry whose
//!   [`OriginSettings::path_rules`] (`PATH_RULES`, exact templates only, one
//!   path per locale) render the path, compared percent-decoded. Nothing
//!   else is a page: `404`.
//! - **What it shows.** The entry's text fields (strings, numbers, booleans,
//!   in the path's locale, falling back to the default locale), then each
//!   entry and asset it links to, nested, depth first, each once (links may
//!   form cycles). A page that shows a section that shows a button shows the
//!   button's label. Built with `maud`, which escapes every value.
//! - **Headers.** `Cache-Control: max-age=N` when [`OriginSettings::max_age`]
//!   is set; a strong `ETag` over the body (a conditional `If-None-Match`
//!   that matches is `304`, which the CDN turns into `RefreshHit`); the
//!   revision header ([`OriginSettings::revision_header`], values
//!   `<id>:<revision>` comma-separated for every entry and asset on the page,
//!   page first); the cache tag header ([`OriginSettings::tags`], by
//!   `TagRules::header_for_page`).
//! - **Lag.** [`OriginSettings::lag`]: for that long after a publish or
//!   unpublish the origin renders the revision before
//!   ([`ContentfulState::entries_as_of`]), as Contentful's
//!   stale-while-revalidate window makes a real origin do.
//! - **Failure.** [`OriginSettings::fail_with`]: every request answers that
//!   status (a broken origin; the CDN says `Error from cloudfront`).
//!
//! A test changes any of these while the sandbox runs:
//! `sb.origin().configure(|o| o.max_age = Some(5))`.

use super::contentful::{ContentfulState, FixtureEntry};
use super::delivery_query;
use super::{Logged, RequestLog};
use axum::http::{Method, Uri};
use invalidator_core::contentful::LinkedEntry;
use invalidator_core::rules::PathRules;
use invalidator_core::tags::TagRules;
use maud::{html, Markup, DOCTYPE};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The rules the sandbox's site is built with unless a test says otherwise:
/// pages at their slug, posts under their category (the exact templates of
/// the demo's `PATH_RULES`).
pub const SITE_PATH_RULES: &str = r#"{"page":["/{slug}"],"post":["/blog/{category}/{slug}"]}"#;

/// The entry the site's root (`/`) shows unless a test says otherwise: the
/// demo graph's home page (the demo's rules invalidate `/` on every change).
pub const ROOT_ENTRY: &str = "home";

/// How long a page may be cached unless a test says otherwise.
pub const DEFAULT_MAX_AGE_SECONDS: u64 = 300;

/// The revision header's name in the tests (`VERIFY_REVISION_HEADER`).
pub const REVISION_HEADER: &str = "X-Entry-Revisions";

/// The cache tag header an origin sends and the rules that fill it.
#[derive(Debug, Clone)]
pub struct OriginTags {
    /// The header's name (the distribution's `CacheTagConfig.HeaderName`).
    pub header: String,
    /// `TAG_RULES`, parsed.
    pub rules: TagRules,
}

/// How the origin answers; change it at any time with [`Origin::configure`].
#[derive(Debug, Clone)]
pub struct OriginSettings {
    /// `Cache-Control: max-age=N` on pages (`None`: no `Cache-Control`, the CDN's default TTL applies).
    pub max_age: Option<u64>,
    /// How far behind the Delivery API pages are rendered (zero: not at all).
    pub lag: Duration,
    /// The header naming the revisions a page shows (`None`: not sent).
    pub revision_header: Option<String>,
    /// The cache tag header (`None`: not sent).
    pub tags: Option<OriginTags>,
    /// Which entry renders a path, by `PATH_RULES`.
    pub path_rules: PathRules,
    /// Paths given by hand (path → entry id), looked up before the rules.
    pub pages: BTreeMap<String, String>,
    /// A broken origin: every request answers this status (a 5xx) instead of a page.
    pub fail_with: Option<u16>,
}

impl Default for OriginSettings {
    /// [`SITE_PATH_RULES`], `/` showing [`ROOT_ENTRY`], [`DEFAULT_MAX_AGE_SECONDS`], no lag, no revision or tag header.
    fn default() -> Self {
        OriginSettings {
            max_age: Some(DEFAULT_MAX_AGE_SECONDS),
            lag: Duration::ZERO,
            revision_header: None,
            tags: None,
            path_rules: PathRules::parse(SITE_PATH_RULES).expect("the site's rules parse"),
            pages: BTreeMap::from([("/".to_string(), ROOT_ENTRY.to_string())]),
            fail_with: None,
        }
    }
}

/// One answer of the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginResponse {
    pub status: u16,
    /// Names as sent, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl OriginResponse {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The origin: reads the Delivery API stand-in's state on every request.
pub struct Origin {
    contentful: Arc<ContentfulState>,
    settings: Mutex<OriginSettings>,
    /// Every request the CDN sent it (so a test can tell a hit from a miss).
    pub log: RequestLog,
}

/// An entry or asset shown on a page, for the revision and tag headers.
struct Shown {
    id: String,
    revision: u64,
    /// `None` for an asset.
    entry: Option<LinkedEntry>,
}

impl Origin {
    pub fn new(contentful: Arc<ContentfulState>, settings: OriginSettings) -> Origin {
        Origin { contentful, settings: Mutex::new(settings), log: RequestLog::default() }
    }

    /// Changes how the origin answers from the next request on:
    /// `origin.configure(|o| o.lag = Duration::from_secs(60))`.
    pub fn configure(&self, change: impl FnOnce(&mut OriginSettings)) {
        change(&mut self.settings.lock().unwrap());
    }

    /// A copy of the settings in force.
    pub fn settings(&self) -> OriginSettings {
        self.settings.lock().unwrap().clone()
    }

    /// Every request answered, oldest first (`target` is the path and query).
    pub fn requests(&self) -> Vec<Logged> {
        self.log.all()
    }

    /// Answers `GET target` (path and query; the query does not pick the
    /// page), conditionally when `if_none_match` is given.
    pub fn respond(&self, target: &str, if_none_match: Option<&str>) -> OriginResponse {
        let answer = self.render(target, if_none_match);
        let uri: Uri = target.parse().unwrap_or_else(|_| Uri::from_static("/"));
        let detail = if_none_match.map(|_| "conditional".to_string()).unwrap_or_default();
        self.log.record("origin", &Method::GET, &uri, answer.status, detail);
        answer
    }

    fn render(&self, target: &str, if_none_match: Option<&str>) -> OriginResponse {
        let settings = self.settings();
        if let Some(status) = settings.fail_with {
            return failure(status);
        }
        let path = target.split('?').next().unwrap_or_default();
        let entries = self.contentful.entries_as_of(settings.lag);
        let (assets, default_locale) = {
            let graph = self.contentful.graph.lock().unwrap();
            let assets: BTreeMap<String, u64> = graph.assets.iter().map(|a| (a.id.clone(), a.revision)).collect();
            (assets, graph.default_locale.clone())
        };
        let locales = locales(&entries, &default_locale);
        let Some((root, locale)) = page_entry(&settings, &entries, &locales, &default_locale, path) else {
            return not_found();
        };
        let site = Site { entries: &entries, assets: &assets, locale: &locale, default_locale: &default_locale };
        let mut shown = Vec::new();
        let body = site.page(root, &mut shown).into_string();
        let revisions: Vec<String> = shown.iter().map(|s| format!("{}:{}", s.id, s.revision)).collect();
        let etag = etag(&body);
        let mut headers = vec![("Content-Type".to_string(), "text/html; charset=utf-8".to_string())];
        if let Some(seconds) = settings.max_age {
            headers.push(("Cache-Control".into(), format!("max-age={seconds}")));
        }
        headers.push(("ETag".into(), etag.clone()));
        if let Some(name) = &settings.revision_header {
            headers.push((name.clone(), revisions.join(",")));
        }
        if let Some(tags) = &settings.tags {
            let linked: Vec<LinkedEntry> = shown.iter().filter_map(|s| s.entry.clone()).collect();
            headers.push((tags.header.clone(), tags.rules.header_for_page(&linked).value));
        }
        if if_none_match.is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag)) {
            return OriginResponse { status: 304, headers, body: String::new() };
        }
        OriginResponse { status: 200, headers, body }
    }
}

fn not_found() -> OriginResponse {
    failure(404)
}

/// An error page with `status`.
fn failure(status: u16) -> OriginResponse {
    let title = match status {
        404 => "Not found".to_string(),
        other => format!("Error {other}"),
    };
    let body = html! { (DOCTYPE) html { head { title { (title) } } body { h1 { (title) } } } }.into_string();
    OriginResponse { status, headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())], body }
}

/// A strong validator over the body, which holds each entry's revision
/// (`data-revision`): a republish that changes no text is still a new page.
fn etag(body: &str) -> String {
    let digest = hex::encode(Sha256::digest(body.as_bytes()));
    format!("\"{}\"", &digest[..16])
}

/// Every locale the entries' fields use, the default first.
fn locales(entries: &[FixtureEntry], default_locale: &str) -> Vec<String> {
    let mut all: BTreeSet<String> = BTreeSet::new();
    for by_locale in entries.iter().flat_map(|e| e.fields.values()).filter_map(Value::as_object) {
        all.extend(by_locale.keys().cloned());
    }
    all.remove(default_locale);
    std::iter::once(default_locale.to_string()).chain(all).collect()
}

/// A path as compared: percent-decoded, so that `/snow%20%C3%A9` is `/snow é`.
fn decoded(path: &str) -> String {
    percent_encoding::percent_decode_str(path).decode_utf8_lossy().into_owned()
}

/// The entry a path shows, and the locale it is shown in.
fn page_entry<'a>(
    settings: &OriginSettings,
    entries: &'a [FixtureEntry],
    locales: &[String],
    default_locale: &str,
    path: &str,
) -> Option<(&'a FixtureEntry, String)> {
    let wanted = decoded(path);
    if let Some(id) = settings.pages.get(path).or_else(|| settings.pages.get(&wanted)) {
        return entries.iter().find(|e| &e.id == id).map(|e| (e, default_locale.to_string()));
    }
    for entry in entries {
        for locale in locales {
            let fields = localized(&entry.fields, locale, default_locale);
            let rendered = settings.path_rules.render(&entry.content_type, &entry.id, &fields);
            let exact = rendered.paths.iter().filter(|p| !rendered.wildcards.contains(p) && !p.contains('*'));
            if exact.into_iter().any(|p| decoded(p) == wanted) {
                return Some((entry, locale.clone()));
            }
        }
    }
    None
}

/// The fields in `locale` (falling back to the default), plain.
fn localized(fields: &Map<String, Value>, locale: &str, default_locale: &str) -> Map<String, Value> {
    let mut item = Value::Object(Map::from_iter([("fields".to_string(), Value::Object(fields.clone()))]));
    delivery_query::localize(&mut item, Some(locale), default_locale);
    match item.get_mut("fields").map(Value::take) {
        Some(Value::Object(plain)) => plain,
        _ => Map::new(),
    }
}

/// What a page is rendered from.
struct Site<'a> {
    entries: &'a [FixtureEntry],
    assets: &'a BTreeMap<String, u64>,
    locale: &'a str,
    default_locale: &'a str,
}

impl Site<'_> {
    fn page(&self, root: &FixtureEntry, shown: &mut Vec<Shown>) -> Markup {
        let fields = localized(&root.fields, self.locale, self.default_locale);
        let title = fields.get("title").and_then(text).unwrap_or_else(|| root.id.clone());
        let mut seen = BTreeSet::new();
        html! {
            (DOCTYPE)
            html lang=(self.locale) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) }
                    style { "body{font-family:system-ui,sans-serif;max-width:40rem;margin:auto;padding:1rem}" }
                }
                body { (self.entry(root, &mut seen, shown)) }
            }
        }
    }

    /// One entry and, nested, what it links to; each id once a page.
    fn entry(&self, e: &FixtureEntry, seen: &mut BTreeSet<String>, shown: &mut Vec<Shown>) -> Markup {
        seen.insert(e.id.clone());
        let entry = LinkedEntry {
            id: e.id.clone(),
            content_type: Some(e.content_type.clone()),
            fields: e.fields.clone(),
            revision: Some(e.revision),
        };
        shown.push(Shown { id: e.id.clone(), revision: e.revision, entry: Some(entry) });
        let fields = localized(&e.fields, self.locale, self.default_locale);
        let mut children = Vec::new();
        for link in &e.links {
            if seen.contains(link) {
                continue;
            }
            if let Some(child) = self.entries.iter().find(|c| &c.id == link) {
                children.push(self.entry(child, seen, shown));
            } else if let Some(revision) = self.assets.get(link) {
                seen.insert(link.clone());
                shown.push(Shown { id: link.clone(), revision: *revision, entry: None });
                children.push(html! { figure data-asset=(link) data-revision=(revision) { figcaption { (link) } } });
            }
        }
        html! {
            article data-entry=(e.id) data-content-type=(e.content_type) data-revision=(e.revision) {
                @for (name, value) in &fields {
                    @if let Some(value) = text(value) {
                        p data-field=(name) { (value) }
                    }
                }
                @for child in children { (child) }
            }
        }
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The text a visitor reads on a page this origin rendered: every field's
/// value, in page order, unescaped (for the demo's print-out and for tests;
/// it reads only this origin's own markup).
pub fn page_text(html: &str) -> Vec<String> {
    const OPEN: &str = "<p data-field=\"";
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(OPEN) {
        rest = &rest[at + OPEN.len()..];
        let Some(start) = rest.find('>') else { break };
        let Some(end) = rest.find("</p>") else { break };
        if start < end {
            out.push(unescape(&rest[start + 1..end]));
        }
        rest = &rest[end..];
    }
    out
}

/// The five escapes maud writes, undone (`&amp;` last, so `&amp;lt;` stays `&lt;`).
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}
