//! The CDN stand-in and its origin, through HTTP as a visitor and the
//! invalidator see them: a miss, then a hit with its age; purges by path,
//! wildcard and tag when the invalidation completes and not before; expiry
//! by max-age and revalidation; an origin that lags the Delivery API; 404
//! for what is not published; the revision header; the cache key's parts.
//! Time is the sandbox's frozen clock, moved by hand: nothing here waits.

use invalidator_core::cloudfront;
use invalidator_core::io::{Clock, HttpClient};
use invalidator_core::settings::{CloudFrontSettings, SettingsMap};
use invalidator_core::tags::TagRules;
use invalidator_lambda::http_client::{ReqwestClient, SystemClock};
use invalidator_tests::sandbox::cdn::{ttl, CdnConfig};
use invalidator_tests::sandbox::origin::{page_text, OriginTags};
use invalidator_tests::sandbox::visitor::{self, Visit};
use invalidator_tests::sandbox::{
    Config, Fixture, FixtureEntry, OriginSettings, Sandbox, SandboxClock, DEMO_DISTRIBUTION, REVISION_HEADER,
};
use serde_json::json;
use std::time::Duration;

/// How long an invalidation stays InProgress here.
const IN_PROGRESS: Duration = Duration::from_secs(30);

/// The tag header of the tag tests (the distribution's `CacheTagConfig`).
const TAG_HEADER: &str = "Cache-Tag";

fn config() -> Config {
    let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    Config::local(fixture, IN_PROGRESS, vec![]).with_clock(SandboxClock::frozen())
}

async fn site(origin: OriginSettings) -> Sandbox {
    Sandbox::start(config().with_origin(origin)).await.unwrap()
}

async fn visit_with(sb: &Sandbox, method: reqwest::Method, path: &str, encoding: Option<&str>) -> Visit {
    visitor::request(&sb.site_url(), method, path, encoding).await.unwrap()
}

/// A GET as the invalidator's verification sends it.
async fn visit(sb: &Sandbox, path: &str) -> Visit {
    visitor::visit(&sb.site_url(), path).await.unwrap()
}

/// The revision header's value.
fn revisions(v: &Visit) -> Option<&str> {
    v.header(REVISION_HEADER)
}

/// CreateInvalidation of `items` on `dist`, through the stand-in's signed API.
async fn invalidate(sb: &Sandbox, dist: &str, items: &[&str]) {
    let map: SettingsMap =
        sb.settings(DEMO_DISTRIBUTION, "unused").into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let settings = CloudFrontSettings::from_map(&map).unwrap();
    let items: Vec<String> = items.iter().map(|p| p.to_string()).collect();
    let reference = format!("ref-{}", items.join(","));
    let req = cloudfront::create_invalidation(&settings, dist, &items, &reference, SystemClock.now()).unwrap();
    let answer = ReqwestClient::new(Duration::from_secs(5)).send(req).await.unwrap();
    assert_eq!(answer.status(), 201, "{}", String::from_utf8_lossy(answer.body()));
}

/// Publishes a new revision of the demo's button with `label`.
fn publish_button(sb: &Sandbox, revision: u64, label: &str) {
    sb.contentful_state.publish(FixtureEntry {
        id: "cta-button".into(),
        content_type: "button".into(),
        revision,
        fields: json!({"label": {"en-US": label}}).as_object().unwrap().clone(),
        links: vec![],
        created_at: None,
        updated_at: None,
    });
}

fn assert_x_cache(v: &Visit, kind: &str, what: &str) {
    assert_eq!(v.x_cache, format!("{kind} from cloudfront"), "{what}: {}", v.body);
}

#[tokio::test]
async fn a_miss_then_a_hit_with_its_age() {
    let sb = site(OriginSettings::default()).await;
    let first = visit(&sb, "/home").await;
    assert_eq!(first.status, 200);
    assert_x_cache(&first, "Miss", "first visit");
    assert_eq!(first.age, None, "a miss has no age");
    for shown in ["Home", "Hero", "Shop now", "Footer"] {
        assert!(first.body.contains(shown), "the page shows {shown:?} (a section's button too): {}", first.body);
    }
    sb.clock.advance(Duration::from_secs(5));
    let second = visit(&sb, "/home").await;
    assert_x_cache(&second, "Hit", "second visit");
    assert_eq!(second.age, Some(5));
    assert!(second.shows("Shop now"));
    assert_eq!(second.to_string(), "200 Hit from cloudfront, Age 5 | home · Home · Hero · Shop now · Footer");
    assert_eq!(second.body, first.body);
    assert_eq!(sb.cdn_state.origin_requests_for("/home"), 1, "the hit did not reach the origin");
}

#[tokio::test]
async fn an_invalidation_purges_when_it_completes_and_not_before() {
    let sb = site(OriginSettings::default()).await;
    assert!(visit(&sb, "/home").await.body.contains("Shop now"));
    publish_button(&sb, 4, "Shop the sale");
    invalidate(&sb, DEMO_DISTRIBUTION, &["/home"]).await;
    sb.clock.advance(IN_PROGRESS - Duration::from_secs(1));
    let during = visit(&sb, "/home").await;
    assert_x_cache(&during, "Hit", "while the invalidation is in progress");
    assert!(during.body.contains("Shop now"), "{}", during.body);
    sb.clock.advance(Duration::from_secs(1));
    let after = visit(&sb, "/home").await;
    assert_x_cache(&after, "Miss", "once it completed");
    assert!(after.body.contains("Shop the sale") && !after.body.contains("Shop now"), "{}", after.body);
    assert_x_cache(&visit(&sb, "/home").await, "Hit", "fetched after completion, not purged again");
    assert_eq!(sb.cdn_state.origin_requests_for("/home"), 2);
}

#[tokio::test]
async fn complete_now_purges_at_once() {
    let sb = site(OriginSettings::default()).await;
    visit(&sb, "/home").await;
    sb.clock.advance(Duration::from_secs(1));
    invalidate(&sb, DEMO_DISTRIBUTION, &["/home"]).await;
    assert_x_cache(&visit(&sb, "/home").await, "Hit", "in progress");
    sb.cloudfront_state.complete_now(IN_PROGRESS);
    assert_x_cache(&visit(&sb, "/home").await, "Miss", "completed by hand");
}

#[tokio::test]
async fn wildcards_purge_what_they_cover_and_other_distributions_nothing() {
    let config = config().with_distributions(&[DEMO_DISTRIBUTION, "EOTHER"]);
    let sb = Sandbox::start(config).await.unwrap();
    let blog = "/blog/news/snow%20%C3%A9%20report";
    for path in ["/home", "/winter-sale", blog] {
        assert_eq!(visit(&sb, path).await.status, 200, "{path}");
    }
    invalidate(&sb, "EOTHER", &["/*"]).await;
    invalidate(&sb, DEMO_DISTRIBUTION, &["/blog/*"]).await;
    sb.clock.advance(IN_PROGRESS);
    assert_x_cache(&visit(&sb, blog).await, "Miss", "under /blog/*");
    assert_x_cache(&visit(&sb, "/home").await, "Hit", "not under /blog/*, and /* was another distribution's");
    invalidate(&sb, DEMO_DISTRIBUTION, &["/*"]).await;
    sb.clock.advance(IN_PROGRESS);
    for path in ["/home", "/winter-sale", blog] {
        assert_x_cache(&visit(&sb, path).await, "Miss", path);
    }
}

#[tokio::test]
async fn a_path_matches_as_encoded_whatever_the_case_of_its_escapes() {
    let sb = site(OriginSettings::default()).await;
    assert_eq!(visit(&sb, "/blog/news/snow%20%c3%a9%20report").await.status, 200);
    assert_eq!(visit(&sb, "/winter-sale").await.status, 200);
    invalidate(&sb, DEMO_DISTRIBUTION, &["/blog/news/snow%20%C3%A9%20report", "/winter%2Dsale"]).await;
    sb.clock.advance(IN_PROGRESS);
    assert_x_cache(&visit(&sb, "/blog/news/snow%20%c3%a9%20report").await, "Miss", "lower-case escapes, same path");
    assert_x_cache(&visit(&sb, "/winter-sale").await, "Hit", "an over-encoded path invalidates nothing");
}

#[tokio::test]
async fn tags_purge_every_page_that_carries_them() {
    let rules = TagRules::parse(r#"{"*":["entry:{sys.id}"]}"#).unwrap();
    let origin = OriginSettings { tags: Some(OriginTags { header: TAG_HEADER.into(), rules }), ..Default::default() };
    let sb = Sandbox::start(config().with_cache_tags(&[DEMO_DISTRIBUTION]).with_origin(origin)).await.unwrap();
    let tagged = visit_with(&sb, reqwest::Method::GET, "/winter-sale", None).await;
    assert_eq!(tagged.header(TAG_HEADER), Some("entry:winter-sale,entry:hero-banner,entry:cta-button"));
    for path in ["/home", "/winter-sale", "/blog/news/snow%20%C3%A9%20report"] {
        assert_x_cache(&visit(&sb, path).await, "Miss", path);
    }
    invalidate(&sb, DEMO_DISTRIBUTION, &["#ENTRY:winter-sale"]).await;
    sb.clock.advance(IN_PROGRESS);
    assert_x_cache(&visit(&sb, "/winter-sale").await, "Miss", "tagged entry:winter-sale (tags ignore case)");
    assert_x_cache(&visit(&sb, "/home").await, "Hit", "not tagged entry:winter-sale");
    invalidate(&sb, DEMO_DISTRIBUTION, &["#entry:hero-banner"]).await;
    sb.clock.advance(IN_PROGRESS);
    assert_x_cache(&visit(&sb, "/home").await, "Miss", "home shows the hero banner");
    assert_x_cache(&visit(&sb, "/blog/news/snow%20%C3%A9%20report").await, "Hit", "the post does not");
}

#[tokio::test]
async fn a_page_expires_after_its_max_age_and_is_revalidated() {
    let sb = site(OriginSettings { max_age: Some(10), ..Default::default() }).await;
    let first = visit(&sb, "/home").await;
    sb.clock.advance(Duration::from_secs(9));
    let hit = visit(&sb, "/home").await;
    assert_x_cache(&hit, "Hit", "within max-age");
    assert_eq!(hit.age, Some(9));
    sb.clock.advance(Duration::from_secs(1));
    let refreshed = visit(&sb, "/home").await;
    assert_x_cache(&refreshed, "RefreshHit", "expired, the origin's page unchanged");
    assert_eq!(refreshed.body, first.body);
    sb.clock.advance(Duration::from_secs(3));
    assert_eq!(visit(&sb, "/home").await.age, Some(3), "the age starts again at the revalidation");
    let conditional = sb.cdn_state.origin_requests().iter().filter(|l| l.detail == "conditional").count();
    assert_eq!((sb.cdn_state.origin_requests_for("/home"), conditional), (2, 1));

    publish_button(&sb, 4, "Shop the sale");
    sb.clock.advance(Duration::from_secs(10));
    let changed = visit(&sb, "/home").await;
    assert_x_cache(&changed, "Miss", "expired, and the origin's page changed");
    assert!(changed.body.contains("Shop the sale"), "{}", changed.body);
}

#[tokio::test]
async fn a_lagging_origin_renders_the_revision_before_within_the_lag() {
    let lag = Duration::from_secs(60);
    let origin =
        OriginSettings { lag, max_age: Some(1), revision_header: Some(REVISION_HEADER.into()), ..Default::default() };
    let sb = site(origin).await;
    publish_button(&sb, 4, "Shop the sale");
    let stale = visit(&sb, "/home").await;
    assert!(stale.body.contains("Shop now") && !stale.body.contains("Shop the sale"), "{}", stale.body);
    assert!(revisions(&stale).unwrap().contains("cta-button:3"), "{:?}", revisions(&stale));
    sb.clock.advance(lag - Duration::from_secs(1));
    assert!(visit(&sb, "/home").await.body.contains("Shop now"), "still within the lag");
    sb.clock.advance(Duration::from_secs(1));
    let fresh = visit(&sb, "/home").await;
    assert_x_cache(&fresh, "Miss", "past the lag, the page changed");
    assert!(fresh.body.contains("Shop the sale"), "{}", fresh.body);
    assert!(revisions(&fresh).unwrap().contains("cta-button:4"), "{:?}", revisions(&fresh));

    sb.origin().configure(|o| o.lag = Duration::ZERO);
    publish_button(&sb, 5, "Last call");
    sb.clock.advance(Duration::from_secs(1));
    assert!(visit(&sb, "/home").await.body.contains("Last call"), "without lag, at once");
}

#[tokio::test]
async fn what_is_not_published_is_404_and_cached_as_an_error() {
    let sb = site(OriginSettings::default()).await;
    let unknown = visit(&sb, "/nowhere").await;
    assert_eq!(unknown.status, 404);
    assert_x_cache(&unknown, "Error", "an unknown page");
    assert_eq!(visit(&sb, "/winter-sale").await.status, 200);
    assert!(sb.contentful_state.unpublish("winter-sale"));
    invalidate(&sb, DEMO_DISTRIBUTION, &["/winter-sale"]).await;
    sb.clock.advance(IN_PROGRESS);
    let gone = visit(&sb, "/winter-sale").await;
    assert_eq!(gone.status, 404, "unpublished: {}", gone.body);
    sb.clock.advance(Duration::from_secs(2));
    let again = visit(&sb, "/winter-sale").await;
    assert_eq!((again.status, again.age), (404, Some(2)));
    assert_x_cache(&again, "Error", "a cached error");
    assert_eq!(sb.cdn_state.origin_requests_for("/winter-sale"), 2, "the error came from the cache");
}

#[tokio::test]
async fn the_revision_header_names_every_entry_and_asset_on_the_page() {
    let sb = site(OriginSettings { revision_header: Some(REVISION_HEADER.into()), ..Default::default() }).await;
    let home = visit(&sb, "/home").await;
    assert_eq!(revisions(&home), Some("home:4,hero-banner:7,cta-button:3,hero-image:2,footer:1"));
    let named = [("SITE_URL", sb.site_url()), ("VERIFY_REVISION_HEADER", REVISION_HEADER.to_string())];
    assert_eq!(sb.site_settings(), named);
    let plain = site(OriginSettings::default()).await;
    assert_eq!(revisions(&visit(&plain, "/home").await), None, "sent only when configured");
    assert_eq!(plain.site_settings(), [("SITE_URL", plain.site_url())]);
}

#[tokio::test]
async fn the_key_is_the_path_and_the_encoding_variant() {
    let sb = site(OriginSettings::default()).await;
    assert_x_cache(&visit_with(&sb, reqwest::Method::GET, "/home", Some("gzip, br")).await, "Miss", "br");
    assert_x_cache(&visit_with(&sb, reqwest::Method::GET, "/home", Some("gzip")).await, "Miss", "gzip");
    assert_x_cache(&visit_with(&sb, reqwest::Method::GET, "/home", None).await, "Miss", "identity");
    let refused_br = Some("br;q=0, gzip");
    assert_x_cache(&visit_with(&sb, reqwest::Method::GET, "/home", refused_br).await, "Hit", "gzip again");
    assert_x_cache(&visit(&sb, "/home?utm=1").await, "Hit", "the query string is not in the key");
    assert_eq!(sb.cdn_state.origin_requests_for("/home"), 3);
    invalidate(&sb, DEMO_DISTRIBUTION, &["/home"]).await;
    sb.clock.advance(IN_PROGRESS);
    assert_x_cache(&visit_with(&sb, reqwest::Method::GET, "/home", None).await, "Miss", "every variant purged");
    assert_x_cache(&visit(&sb, "/home").await, "Miss", "every variant purged");
}

#[tokio::test]
async fn a_path_given_by_hand_is_served_only_as_written() {
    let mut origin = OriginSettings::default();
    origin.pages.insert("/about/".into(), "winter-sale".into());
    let sb = site(origin).await;
    assert_eq!(visit(&sb, "/about").await.status, 404, "/about is not /about/");
    assert_eq!(visit(&sb, "/home/").await.status, 404, "nor /home/ /home");
    let about = visit(&sb, "/about/").await;
    assert!(about.status == 200 && about.body.contains("Winter sale"), "{}", about.body);
    invalidate(&sb, DEMO_DISTRIBUTION, &["/about"]).await;
    sb.clock.advance(IN_PROGRESS);
    assert_x_cache(&visit(&sb, "/about/").await, "Hit", "invalidating /about leaves /about/ cached");
}

#[tokio::test]
async fn the_root_shows_the_home_page_and_is_its_own_object() {
    let sb = site(OriginSettings::default()).await;
    let root = visit(&sb, "/").await;
    assert!(root.status == 200 && root.shows("Shop now"), "{root}");
    visit(&sb, "/home").await;
    invalidate(&sb, DEMO_DISTRIBUTION, &["/"]).await;
    sb.clock.advance(IN_PROGRESS);
    assert_x_cache(&visit(&sb, "/").await, "Miss", "/ purged");
    assert_x_cache(&visit(&sb, "/home").await, "Hit", "/ is not /*");
}

#[tokio::test]
async fn a_localized_slug_renders_the_page_in_its_locale() {
    let sb = site(OriginSettings::default()).await;
    let de = visit(&sb, "/startseite").await;
    assert_eq!(de.status, 200);
    assert!(de.body.contains(r#"lang="de-DE""#) && de.body.contains("Home"), "title falls back: {}", de.body);
}

#[tokio::test]
async fn values_are_escaped_and_other_methods_refused() {
    let sb = site(OriginSettings::default()).await;
    publish_button(&sb, 4, "<script>alert(1)</script>");
    let page = visit(&sb, "/home").await;
    assert!(page.body.contains("&lt;script&gt;") && !page.body.contains("<script>"), "{}", page.body);
    let text = page_text(&page.body);
    assert_eq!(text, ["home", "Home", "Hero", "<script>alert(1)</script>", "Footer"], "what a visitor reads");
    let post = visit_with(&sb, reqwest::Method::POST, "/home", None).await;
    assert_eq!(post.status, 403);
    assert_x_cache(&post, "Error", "POST is not an allowed method");
    let head = visit_with(&sb, reqwest::Method::HEAD, "/home", Some("br")).await;
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert_x_cache(&head, "Hit", "HEAD reads the cached object");
}

#[tokio::test]
async fn a_lagging_origin_still_shows_an_unpublished_entry_within_the_lag() {
    let lag = Duration::from_secs(60);
    let sb = site(OriginSettings { lag, max_age: Some(1), ..Default::default() }).await;
    assert!(sb.contentful_state.unpublish("cta-button"));
    assert!(sb.contentful_state.unpublish("winter-sale"));
    assert!(visit(&sb, "/home").await.body.contains("Shop now"), "the section still shows the button");
    assert_eq!(visit(&sb, "/winter-sale").await.status, 200, "the page is still rendered");
    sb.clock.advance(lag);
    let home = visit(&sb, "/home").await;
    assert!(home.body.contains("Hero") && !home.body.contains("Shop now"), "{}", home.body);
    assert_eq!(visit(&sb, "/winter-sale").await.status, 404);
}

#[tokio::test]
async fn a_broken_origin_is_an_error_from_cloudfront() {
    let sb = site(OriginSettings { fail_with: Some(503), ..Default::default() }).await;
    let broken = visit(&sb, "/home").await;
    assert_eq!(broken.status, 503);
    assert_x_cache(&broken, "Error", "the origin answered 503");
    sb.origin().configure(|o| o.fail_with = None);
    sb.clock.advance(Duration::from_secs(10));
    let mended = visit(&sb, "/home").await;
    assert_eq!(mended.status, 200, "the error is cached for the error caching TTL only");
    assert_x_cache(&mended, "Miss", "fetched again");
}

#[tokio::test]
async fn with_the_query_in_the_key_each_query_is_an_object_and_a_wildcard_purges_them_all() {
    let mut config = config();
    config.cdn.key_query = true;
    let sb = Sandbox::start(config).await.unwrap();
    for target in ["/home", "/home?a=1", "/home?a=2"] {
        assert_x_cache(&visit(&sb, target).await, "Miss", target);
    }
    invalidate(&sb, DEMO_DISTRIBUTION, &["/home"]).await;
    sb.clock.advance(IN_PROGRESS);
    assert_x_cache(&visit(&sb, "/home").await, "Miss", "the path alone");
    assert_x_cache(&visit(&sb, "/home?a=1").await, "Hit", "a path does not purge its query variants");
    invalidate(&sb, DEMO_DISTRIBUTION, &["/home*"]).await;
    sb.clock.advance(IN_PROGRESS);
    for target in ["/home?a=1", "/home?a=2"] {
        assert_x_cache(&visit(&sb, target).await, "Miss", target);
    }
}

#[tokio::test]
async fn an_expired_page_is_served_as_it_was_while_the_origin_fails() {
    let sb = site(OriginSettings { max_age: Some(10), ..Default::default() }).await;
    let first = visit(&sb, "/home").await;
    sb.origin().configure(|o| o.fail_with = Some(502));
    sb.clock.advance(Duration::from_secs(15));
    let stale = visit(&sb, "/home").await;
    assert_eq!((stale.status, stale.age), (200, Some(15)), "the expired page, not the 502");
    assert_x_cache(&stale, "Hit", "served from the cache");
    assert_eq!(stale.body, first.body);
    sb.origin().configure(|o| o.fail_with = None);
    assert_x_cache(&visit(&sb, "/home").await, "RefreshHit", "the origin answers again");
}

#[test]
fn ttls_follow_cloudfront_for_pages_and_errors() {
    let c = CdnConfig::caching_optimized(DEMO_DISTRIBUTION);
    let secs = Duration::from_secs;
    assert_eq!(ttl(&c, 200, Some("max-age=60")), secs(60));
    assert_eq!(ttl(&c, 200, Some("public, s-maxage=30, max-age=60")), secs(30), "s-maxage first");
    assert_eq!(ttl(&c, 200, None), secs(86_400), "the default TTL");
    assert_eq!(ttl(&c, 200, Some("max-age=0")), secs(1), "the minimum TTL");
    assert_eq!(ttl(&c, 200, Some("no-store")), secs(1), "a minimum over 0 caches no-store");
    assert_eq!(ttl(&c, 200, Some("max-age=99999999")), secs(31_536_000), "the maximum TTL");
    let no_minimum = CdnConfig { min_ttl: Duration::ZERO, ..c.clone() };
    assert_eq!(ttl(&no_minimum, 200, Some("private, max-age=60")), Duration::ZERO);
    assert_eq!(ttl(&c, 404, None), secs(10), "the error caching minimum TTL");
    assert_eq!(ttl(&c, 404, Some("max-age=60")), secs(60), "the larger of the two");
    assert_eq!(ttl(&c, 503, Some("max-age=1")), secs(10), "the larger of the two");
    assert_eq!(ttl(&c, 404, Some("no-cache")), Duration::ZERO, "404 honours no-cache");
    assert_eq!(ttl(&c, 503, Some("no-cache")), secs(10), "503 does not");
    assert_eq!(ttl(&c, 416, None), Duration::ZERO, "416 is never cached");
    assert_eq!(ttl(&c, 429, None), Duration::ZERO, "nor what CloudFront does not list");
}

/// `invalidator-sandbox` with `args`, run where `make demo` runs it (the repository's root).
fn sandbox_command(args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_invalidator-sandbox"));
    command.args(args).current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    command
}

/// `invalidator-sandbox` with `args` started, and the site's URL it printed.
fn sandbox_binary(args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = sandbox_command(args).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let site = lines
        .find_map(|l| l.unwrap().strip_prefix("cdn listening on ")?.split(' ').next().map(str::to_string))
        .expect("the sandbox prints the CDN's URL");
    // Keep reading its request log so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, site)
}

#[tokio::test]
async fn the_sandbox_binary_serves_the_site_as_its_flags_say() {
    let (mut child, site) = sandbox_binary(&["--max-age", "7", "--revision-header", REVISION_HEADER]);
    let page = visitor::visit(&site, "/home").await;
    child.kill().unwrap();
    child.wait().unwrap();
    let page = page.unwrap();
    assert_eq!((page.status, page.header("cache-control")), (200, Some("max-age=7")), "{page}");
    assert_eq!(revisions(&page), Some("home:4,hero-banner:7,cta-button:3,hero-image:2,footer:1"));
    assert!(page.shows("Shop now"), "{page}");
}

#[test]
fn the_sandbox_binary_refuses_bad_site_flags_by_name() {
    for (args, named) in
        [(["--site-rules", "{"], "--site-rules"), (["--origin-lag-seconds", "NaN"], "--origin-lag-seconds")]
    {
        let out = sandbox_command(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn a_republish_that_changes_no_text_is_revalidated_as_a_new_page() {
    let origin =
        OriginSettings { max_age: Some(10), revision_header: Some(REVISION_HEADER.into()), ..Default::default() };
    let sb = site(origin).await;
    let first = visit(&sb, "/home").await;
    sb.origin().configure(|o| o.max_age = Some(20));
    sb.clock.advance(Duration::from_secs(10));
    let refreshed = visit(&sb, "/home").await;
    assert_x_cache(&refreshed, "RefreshHit", "nothing changed");
    assert_eq!(refreshed.header("cache-control"), Some("max-age=20"), "the 304's headers are kept");
    publish_button(&sb, 4, "Shop now");
    sb.clock.advance(Duration::from_secs(20));
    let republished = visit(&sb, "/home").await;
    assert_x_cache(&republished, "Miss", "a new revision is a new page");
    assert_eq!(republished.text(), first.text(), "the same text");
    assert!(revisions(&republished).unwrap().contains("cta-button:4"), "{:?}", revisions(&republished));
}
