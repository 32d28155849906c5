//! The Cloudflare Worker end to end, under the real `wrangler dev` (local
//! mode), with the CloudFront and Delivery API stand-ins on 127.0.0.1 and
//! webhooks signed by the official `@contentful/node-apps-toolkit`.
//! The tests run one at a time: each starts its own wrangler.

use invalidator_core::paths::covers;
use invalidator_tests::sandbox::{Config, Fault, Fixture, Sandbox};
use invalidator_tests::toolkit::{self, ToSign};
use invalidator_tests::wrangler::{require_tools, WranglerDev};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());
const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
const STATUS_TOKEN: &str = "status-token-for-tests";
const DIST: &str = "EDEMO123";

fn fixture() -> Fixture {
    Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap()
}

async fn sandbox(fixture: Fixture, in_progress: Duration, faults: Vec<Fault>) -> Sandbox {
    Sandbox::start(Config::local(fixture, in_progress, faults)).await.unwrap()
}

fn vars(sb: &Sandbox) -> Vec<(&'static str, String)> {
    sb.settings(DIST, SECRET)
        .into_iter()
        .chain([
            ("STATUS_TOKEN", STATUS_TOKEN.into()),
            (
                "PATH_RULES",
                r#"{"page":["/{slug}","/{slug}/*"],"post":["/blog/{category}/{slug}"],"always":["/"]}"#.into(),
            ),
            ("COLLECT_WINDOW_SECONDS", "1".into()),
            ("FRESHNESS_MAX_WAIT_SECONDS", "2".into()),
            ("POLL_FIRST_SECONDS", "0.5".into()),
            ("POLL_MAX_SECONDS", "2".into()),
            ("RETRY_BASE_SECONDS", "0.2".into()),
            ("RETRY_MAX_SECONDS", "1".into()),
        ])
        .collect()
}

/// Starts wrangler off the async runtime (its readiness wait blocks).
async fn wrangler(dir: &std::path::Path, vars: Vec<(&'static str, String)>) -> WranglerDev {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || WranglerDev::start(&dir, &vars)).await.unwrap()
}

fn publish_body(id: &str, content_type: &str, revision: u64) -> String {
    toolkit::publish_body(id, content_type, revision, json!({}))
}

/// Publishes signed by the toolkit: (headers, body).
fn signed(bodies: &[String], timestamp: Option<u64>) -> Vec<(Vec<(String, String)>, String)> {
    let requests: Vec<ToSign> = bodies
        .iter()
        .map(|body| ToSign { timestamp, ..toolkit::publish(SECRET, "/webhooks/contentful", body.clone()) })
        .collect();
    toolkit::sign_all(&requests).into_iter().zip(bodies.iter().cloned()).collect()
}

async fn post(w: &WranglerDev, headers: &[(String, String)], body: &str) -> (u16, Value) {
    let client = invalidator_tests::loopback::client();
    let mut req = client.post(w.url("/webhooks/contentful")).body(body.to_string());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn status_page(w: &WranglerDev) -> Value {
    let r = invalidator_tests::loopback::client()
        .get(w.url("/invalidations"))
        .bearer_auth(STATUS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Waits until every batch on the status page is completed (at least one exists).
async fn wait_completed(w: &WranglerDev, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let page = status_page(w).await;
        let batches = page[DIST]["batches"].as_array().cloned().unwrap_or_default();
        if !batches.is_empty() && batches.iter().all(|b| b["state"] == "completed") {
            return page;
        }
        assert!(Instant::now() < deadline, "not completed in {timeout:?}: {page:#}\nwrangler log:\n{}", w.log_text());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publish_two_levels_below_a_page_is_invalidated_and_followed_to_completed() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let sb = sandbox(fixture(), Duration::from_secs(2), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let w = wrangler(dir.path(), vars(&sb)).await;
    let health = invalidator_tests::loopback::client().get(w.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap(), json!({"ok": true}));

    let [(headers, body)]: [_; 1] = signed(&[publish_body("cta-button", "button", 3)], None).try_into().unwrap();
    let (status, answer) = post(&w, &headers, &body).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["entry_id"], "cta-button");
    assert_eq!(answer["action"], "publish");
    let tracking = answer["tracking_id"].as_str().unwrap().to_string();

    let page = wait_completed(&w, Duration::from_secs(60)).await;
    let invalidations = sb.invalidations();
    assert_eq!(invalidations.len(), 1, "exactly one CreateInvalidation");
    assert_eq!(
        invalidations[0].paths,
        [
            "/",
            "/blog/news/snow%20%C3%A9%20report",
            "/home",
            "/home/*",
            "/startseite",
            "/startseite/*",
            "/winter-sale",
            "/winter-sale/*"
        ]
    );
    let cf = sb.cloudfront_requests();
    assert!(cf.iter().all(|r| r.status < 300), "every request was correctly signed: {cf:#?}");
    assert!(cf.iter().any(|r| r.method == "GET"), "GetInvalidation was polled");
    assert_eq!(page[DIST]["batches"][0]["invalidation_id"], invalidations[0].id.as_str());

    let one = invalidator_tests::loopback::client()
        .get(w.url(&format!("/invalidations/{tracking}")))
        .bearer_auth(STATUS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    let one: Value = one.json().await.unwrap();
    assert_eq!(one[DIST]["state"], "completed", "{one}");
    let unauthorized = invalidator_tests::loopback::client().get(w.url("/invalidations")).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_publishes_within_a_second_make_one_invalidation() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let mut graph = fixture();
    for i in 0..20 {
        graph.entries.push(
            serde_json::from_value(json!({"id": format!("card-{i}"), "contentType": "card", "revision": 1})).unwrap(),
        );
        graph.entries.push(
            serde_json::from_value(json!({"id": format!("page-{i}"), "contentType": "page",
                "fields": {"slug": {"en-US": format!("page-{i}")}}, "links": [format!("card-{i}")]}))
            .unwrap(),
        );
    }
    let sb = sandbox(graph, Duration::from_secs(1), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut v = vars(&sb);
    v.retain(|(k, _)| *k != "COLLECT_WINDOW_SECONDS");
    // A window wide enough that a slow CI machine still sends all 20 inside
    // it, and that does not close early on a pause between two of them.
    v.push(("COLLECT_WINDOW_SECONDS", "5".into()));
    v.push(("COLLECT_QUIET_SECONDS", "5".into()));
    let w = wrangler(dir.path(), v).await;
    let bodies: Vec<String> = (0..20).map(|i| publish_body(&format!("card-{i}"), "card", 1)).collect();
    let requests = signed(&bodies, None);
    let started = Instant::now();
    for (headers, body) in &requests {
        let (status, answer) = post(&w, headers, body).await;
        assert_eq!(status, 202, "{answer}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the burst took {:?}: longer than the window",
        started.elapsed()
    );
    wait_completed(&w, Duration::from_secs(60)).await;
    let invalidations = sb.invalidations();
    assert_eq!(invalidations.len(), 1, "one CreateInvalidation for the burst: {invalidations:#?}");
    // 41 paths with 20 wildcards exceed the 15-wildcard budget: they collapse,
    // and every one of them is still covered.
    let sent = &invalidations[0].paths;
    assert!(sent.iter().filter(|p| p.ends_with('*')).count() <= 15, "{sent:?}");
    for i in 0..20 {
        for p in [format!("/page-{i}"), format!("/page-{i}/*"), "/".to_string()] {
            assert!(sent.iter().any(|s| covers(s, &p)), "{p} not covered by {sent:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_signatures_get_401_and_reach_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let sb = sandbox(fixture(), Duration::from_secs(1), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let w = wrangler(dir.path(), vars(&sb)).await;
    let body = publish_body("cta-button", "button", 3);
    let [(headers, _)]: [_; 1] = signed(std::slice::from_ref(&body), None).try_into().unwrap();
    // Tampered body.
    let (status, answer) = post(&w, &headers, &body.replace("cta-button", "hero-banner")).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["error"].is_string());
    // Expired: signed a minute ago.
    let minute_ago =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64 - 60_000;
    let [(old, _)]: [_; 1] = signed(std::slice::from_ref(&body), Some(minute_ago)).try_into().unwrap();
    assert_eq!(post(&w, &old, &body).await.0, 401);
    // Missing signature.
    let unsigned: Vec<(String, String)> =
        headers.iter().filter(|(k, _)| k != "x-contentful-signature").cloned().collect();
    assert_eq!(post(&w, &unsigned, &body).await.0, 401);
    // Malformed, and too large, once signed.
    let [(h, b)]: [_; 1] = signed(&["{not json".to_string()], None).try_into().unwrap();
    assert_eq!(post(&w, &h, &b).await.0, 400);
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(1_100_000));
    assert_eq!(post(&w, &headers, &big).await.0, 413);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(sb.cloudfront_requests().is_empty(), "nothing reached CloudFront");
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudfront_503_then_too_many_then_201_completes_with_every_path() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let faults = Fault::parse_list("create:503,create:TooManyInvalidationsInProgress").unwrap();
    let sb = sandbox(fixture(), Duration::from_secs(1), faults).await;
    let dir = tempfile::tempdir().unwrap();
    let w = wrangler(dir.path(), vars(&sb)).await;
    let [(headers, body)]: [_; 1] = signed(&[publish_body("hero-banner", "section", 7)], None).try_into().unwrap();
    assert_eq!(post(&w, &headers, &body).await.0, 202);
    wait_completed(&w, Duration::from_secs(90)).await;
    let posts: Vec<u16> = sb.cloudfront_requests().iter().filter(|r| r.method == "POST").map(|r| r.status).collect();
    assert_eq!(posts, [503, 400, 201]);
    let inv = sb.invalidations();
    assert_eq!(inv.len(), 1);
    assert_eq!(
        inv[0].paths,
        ["/", "/home", "/home/*", "/startseite", "/startseite/*", "/winter-sale", "/winter-sale/*"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_wrangler_resumes_from_its_persisted_alarm() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let sb = sandbox(fixture(), Duration::from_secs(8), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut w = wrangler(dir.path(), vars(&sb)).await;
    let [(headers, body)]: [_; 1] = signed(&[publish_body("cta-button", "button", 3)], None).try_into().unwrap();
    assert_eq!(post(&w, &headers, &body).await.0, 202);
    let deadline = Instant::now() + Duration::from_secs(30);
    while sb.invalidations().is_empty() {
        assert!(Instant::now() < deadline, "no invalidation created:\n{}", w.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // InProgress now: kill wrangler and workerd outright, then start them again.
    let gets_before = sb.cloudfront_requests().iter().filter(|r| r.method == "GET").count();
    w = tokio::task::spawn_blocking(move || {
        w.restart();
        w
    })
    .await
    .unwrap();
    wait_completed(&w, Duration::from_secs(60)).await;
    assert_eq!(sb.invalidations().len(), 1, "no second invalidation after the restart");
    let gets_after = sb.cloudfront_requests().iter().filter(|r| r.method == "GET").count();
    assert!(gets_after > gets_before, "the resumed alarm polled CloudFront");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_delivery_three_times_is_one_invalidation() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let sb = sandbox(fixture(), Duration::from_secs(1), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let w = wrangler(dir.path(), vars(&sb)).await;
    let [(headers, body)]: [_; 1] = signed(&[publish_body("cta-button", "button", 3)], None).try_into().unwrap();
    let mut ids = Vec::new();
    for attempt in 0..3 {
        let (status, answer) = post(&w, &headers, &body).await;
        // The first is stored; the others were taken already, and say so.
        let want = if attempt == 0 { (202, "accepted") } else { (200, "taken") };
        assert_eq!((status, answer["status"].as_str().unwrap_or_default()), want, "{answer}");
        ids.push(answer["tracking_id"].clone());
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert!(ids.windows(2).all(|p| p[0] == p[1]));
    wait_completed(&w, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sb.invalidations().len(), 1);
}

/// A publish of `body` carrying the signed `key` and `attempt`, as
/// Contentful delivers it: (headers, body).
fn with_idempotency_key(body: &str, key: &str, attempt: u32) -> (Vec<(String, String)>, String) {
    let mut request = toolkit::publish(SECRET, "/webhooks/contentful", body.to_string());
    request.headers.insert("x-contentful-idempotency-key".into(), key.into());
    request.headers.insert("x-contentful-webhook-request-attempt".into(), attempt.to_string().into());
    (toolkit::sign_all(&[request]).remove(0), body.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn one_event_delivered_again_with_a_new_attempt_or_fired_twice_is_one_change_answered_taken() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let sb = sandbox(fixture(), Duration::from_secs(1), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let w = wrangler(dir.path(), vars(&sb)).await;
    const KEY: &str = "9b2f4c1d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c";
    let body = publish_body("cta-button", "button", 3);

    let (headers, first_body) = with_idempotency_key(&body, KEY, 1);
    let (status, first) = post(&w, &headers, &first_body).await;
    assert_eq!((status, &first["status"]), (202, &json!("accepted")), "{first}");
    // The retry, signed again with its own attempt number, while the first waits.
    let (headers, retry_body) = with_idempotency_key(&body, KEY, 2);
    let (status, retry) = post(&w, &headers, &retry_body).await;
    assert_eq!((status, &retry["status"]), (200, &json!("taken")), "{retry}");
    assert_eq!(retry["tracking_id"], first["tracking_id"], "the original tracking id");
    wait_completed(&w, Duration::from_secs(60)).await;

    // The same event fired again once its change is done, its body written
    // again: still the first change, by its key.
    let mut again: Value = serde_json::from_str(&body).unwrap();
    again["sys"]["updatedAt"] = json!("2026-12-04T10:00:00.000Z");
    let (headers, again_body) = with_idempotency_key(&again.to_string(), KEY, 1);
    let (status, fired_again) = post(&w, &headers, &again_body).await;
    assert_eq!((status, &fired_again["status"]), (200, &json!("taken")), "{fired_again}");
    assert_eq!(fired_again["tracking_id"], first["tracking_id"]);
    let page = status_page(&w).await;
    assert_eq!(page[DIST]["waiting_changes"], 0, "nothing stored again: {page:#}");
    assert_eq!(page[DIST]["batches"].as_array().map(Vec::len), Some(1), "{page:#}");
    assert_eq!(sb.invalidations().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_names_a_broken_setting_without_its_value() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let sb = sandbox(fixture(), Duration::from_secs(1), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut v = vars(&sb);
    v.retain(|(k, _)| *k != "CLOUDFRONT_ENDPOINT");
    v.push(("CLOUDFRONT_ENDPOINT", "ftp://not-a-url-for-cloudfront".into()));
    let w = wrangler(dir.path(), v).await;
    let health = invalidator_tests::loopback::client().get(w.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 503);
    let body: Value = health.json().await.unwrap();
    assert_eq!(body["ok"], false, "{body}");
    assert_eq!(body["setting"], "CLOUDFRONT_ENDPOINT", "{body}");
    assert!(!body.to_string().contains("not-a-url"), "the value is never shown: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publish_after_the_durable_object_lost_its_storage_is_a_new_invalidation() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    let sb = sandbox(fixture(), Duration::from_secs(1), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut w = wrangler(dir.path(), vars(&sb)).await;
    let mut tracking = Vec::new();
    for round in 1..=2 {
        // Published again, as an editor would: the next revision, in the
        // Delivery API too. Signed just before it is sent.
        let revision = 2 + round as u64;
        {
            let mut graph = sb.contentful_state.graph.lock().unwrap();
            graph.entries.iter_mut().filter(|e| e.id == "cta-button").for_each(|e| e.revision = revision);
        }
        let [(headers, body)]: [_; 1] =
            signed(&[publish_body("cta-button", "button", revision)], None).try_into().unwrap();
        let (status, answer) = post(&w, &headers, &body).await;
        assert_eq!(status, 202, "round {round}: {answer}");
        tracking.push(answer["tracking_id"].as_str().unwrap().to_string());
        wait_completed(&w, Duration::from_secs(60)).await;
        assert_eq!(sb.invalidations().len(), round, "round {round}: {:#?}", sb.invalidations());
        if round == 1 {
            // Every Durable Object forgets everything: stop, delete the persisted state, start on the same port.
            let port = w.port;
            w = tokio::task::spawn_blocking(move || {
                w.wipe_and_restart();
                w
            })
            .await
            .unwrap();
            assert_eq!(w.port, port);
            assert_eq!(status_page(&w).await[DIST]["batches"], json!([]), "the storage was wiped");
        }
    }
    assert_ne!(tracking[0], tracking[1], "two deliveries, two tracking ids");
    let created = sb.invalidations();
    assert_ne!(created[0].caller_reference, created[1].caller_reference, "{created:#?}");
}

/// Waits until the CloudFront stand-in holds `count` invalidations.
async fn wait_invalidations(sb: &Sandbox, w: &WranglerDev, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while sb.invalidations().len() < count {
        assert!(Instant::now() < deadline, "not {count} invalidations: {:#?}\n{}", sb.invalidations(), w.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A webhook's Durable Object keeps in memory whether its alarm is set, to
/// make one storage write: a publish while a batch is in flight (the alarm
/// set by the workflow), one after the run ended (the alarm deleted), and one
/// after wrangler restarted (a new instance, which knows nothing) are each
/// taken in and invalidated, none left waiting in the inbox.
#[tokio::test(flavor = "multi_thread")]
async fn publishes_in_flight_after_the_run_and_after_a_restart_are_each_invalidated() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_tools();
    // In progress until the test lets it go.
    let sb = sandbox(fixture(), Duration::from_secs(3600), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut w = wrangler(dir.path(), vars(&sb)).await;
    let publishes = signed(
        &[
            publish_body("cta-button", "button", 3),
            publish_body("blog-post", "post", 1),
            publish_body("footer", "section", 1),
        ],
        None,
    );
    let [first, in_flight, after_run]: [_; 3] = publishes.try_into().unwrap();
    assert_eq!(post(&w, &first.0, &first.1).await.0, 202);
    wait_invalidations(&sb, &w, 1).await;
    assert_eq!(post(&w, &in_flight.0, &in_flight.1).await.0, 202, "published while batch 1 is in progress");
    sb.cloudfront_state.complete_now(Duration::from_secs(1));
    wait_invalidations(&sb, &w, 2).await;
    assert!(sb.invalidations()[1].paths.iter().any(|p| p.starts_with("/blog/")), "{:#?}", sb.invalidations());
    wait_completed(&w, Duration::from_secs(60)).await;

    assert_eq!(post(&w, &after_run.0, &after_run.1).await.0, 202, "published once the run ended");
    wait_invalidations(&sb, &w, 3).await;
    wait_completed(&w, Duration::from_secs(60)).await;

    w = tokio::task::spawn_blocking(move || {
        w.restart();
        w
    })
    .await
    .unwrap();
    let [after_restart]: [_; 1] = signed(&[publish_body("home", "page", 4)], None).try_into().unwrap();
    assert_eq!(post(&w, &after_restart.0, &after_restart.1).await.0, 202, "published to a new instance");
    wait_invalidations(&sb, &w, 4).await;
    let page = wait_completed(&w, Duration::from_secs(60)).await;
    assert_eq!(page[DIST]["waiting_changes"], 0, "nothing left in the inbox: {page:#}");
    assert_eq!(sb.invalidations().len(), 4, "one invalidation a publish: {:#?}", sb.invalidations());
}
