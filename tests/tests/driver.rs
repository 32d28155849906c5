//! The core's driver against wiremock stand-ins for CloudFront and the
//! Contentful Delivery API, with virtual time: every retry, backoff and poll
//! of the real workflow, none of the waiting.

use invalidator_core::driver::{run_to_end, Setup};
use invalidator_core::settings::Settings;
use invalidator_core::testing::TestSettings;
use invalidator_core::webhook::{self, Parsed, WebhookRequest};
use invalidator_core::workflow::{BatchState, Event, Phase, Workflow};
use invalidator_core::Timestamp;
use invalidator_lambda::http_client::ReqwestClient;
use invalidator_tests::virtual_time::VirtualClock;
use serde_json::{json, Value};
use std::time::Duration;
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s";
const START: Timestamp = Timestamp::from_secs(1_800_000_000);
const ENTRIES: &str = "/spaces/space1/environments/master/entries";
const CREATE: &str = "/2020-05-31/distribution/E2EXAMPLE/invalidation";

struct World {
    cloudfront: MockServer,
    cda: MockServer,
    settings: Settings,
}

async fn world(extra: &[(&str, &str)]) -> World {
    let cloudfront = MockServer::start().await;
    let cda = MockServer::start().await;
    let settings = TestSettings::new()
        .with_all(&[
            ("CONTENTFUL_DELIVERY_TOKEN", "cda-token"),
            ("CONTENTFUL_WEBHOOK_SECRET", SECRET),
            ("COLLECT_WINDOW_SECONDS", "0"),
            ("FRESHNESS_MAX_WAIT_SECONDS", "0"),
        ])
        .with("CLOUDFRONT_ENDPOINT", cloudfront.uri())
        .with("CONTENTFUL_CDA_ENDPOINT", cda.uri())
        .with_all(extra)
        .settings();
    World { cloudfront, cda, settings }
}

fn item(id: &str, content_type: &str, slug: &str) -> Value {
    json!({"sys": {"id": id, "contentType": {"sys": {"id": content_type}}}, "fields": {"slug": {"en-US": slug}}})
}

fn links(items: Vec<Value>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(
        json!({"sys": {"type": "Array"}, "total": items.len(), "skip": 0, "limit": 1000, "items": items}),
    )
}

async fn linked_from(cda: &MockServer, id: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(ENTRIES))
        .and(query_param("links_to_entry", id))
        .respond_with(response)
        .mount(cda)
        .await;
}

/// child ← section ← home (a page): the page is two levels above the child.
async fn two_level_graph(cda: &MockServer) {
    linked_from(cda, "child", links(vec![item("section", "section", "s")])).await;
    linked_from(cda, "section", links(vec![item("home", "page", "home")])).await;
    linked_from(cda, "home", links(vec![])).await;
}

fn invalidation(status: &str) -> ResponseTemplate {
    let code = if status == "InProgress" { 201 } else { 200 };
    ResponseTemplate::new(code).set_body_string(format!(
        r#"<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>IABC123</Id><Status>{status}</Status><CreateTime>2027-01-15T08:00:00Z</CreateTime></Invalidation>"#
    ))
}

fn error(status: u16, code: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_string(format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>test</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    ))
}

/// Mounts `first` for the first `times` CreateInvalidations, then 201 InProgress.
async fn create_answers(cf: &MockServer, first: Option<(ResponseTemplate, u64)>) {
    if let Some((r, times)) = first {
        Mock::given(method("POST"))
            .and(path(CREATE))
            .respond_with(r)
            .up_to_n_times(times)
            .with_priority(1)
            .mount(cf)
            .await;
    }
    Mock::given(method("POST"))
        .and(path(CREATE))
        .respond_with(invalidation("InProgress"))
        .with_priority(5)
        .mount(cf)
        .await;
}

/// InProgress `in_progress` times, then Completed.
async fn status_answers(cf: &MockServer, in_progress: u64) {
    if in_progress > 0 {
        Mock::given(method("GET"))
            .and(path_regex("/invalidation/IABC123$"))
            .respond_with(invalidation("InProgress"))
            .up_to_n_times(in_progress)
            .with_priority(1)
            .mount(cf)
            .await;
    }
    Mock::given(method("GET"))
        .and(path_regex("/invalidation/IABC123$"))
        .respond_with(invalidation("Completed"))
        .with_priority(5)
        .mount(cf)
        .await;
}

fn publish(id: &str, content_type: &str) -> Value {
    json!({"fields": {"slug": {"en-US": "c"}}, "sys": {"type": "Entry", "id": id, "revision": 2,
        "space": {"sys": {"id": "space1"}}, "environment": {"sys": {"id": "master"}},
        "contentType": {"sys": {"id": content_type}}}})
}

/// Verifies and parses a signed publish, then runs the workflow to its end.
async fn run(w: &World, body: Value) -> (Workflow, VirtualClock) {
    let clock = VirtualClock::at(START);
    let body = serde_json::to_vec(&body).unwrap();
    let mut request = WebhookRequest::new("POST", "/webhooks/contentful", body);
    request.push_header("X-Contentful-Topic", "ContentManagement.Entry.publish");
    request.push_header(
        "X-Contentful-Signed-Headers",
        "x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic",
    );
    request.push_header("X-Contentful-Timestamp", &START.as_millis().to_string());
    let signature = webhook::sign(SECRET, &webhook::canonical_request(&request).unwrap());
    request.push_header("X-Contentful-Signature", &signature);
    let parsed = webhook::accept(&request, &w.settings.webhook, &w.settings.contentful, START).unwrap();
    let Parsed::Change(change) = parsed else { panic!("ignored: {parsed:?}") };
    let http = ReqwestClient::new(Duration::from_secs(5));
    let services = Setup::new(&http, &clock, &w.settings, 6);
    let workflow = Workflow::new(w.settings.cloudfront.distribution_ids.clone());
    let done = run_to_end(workflow, Event::ChangeAccepted { change }, &services, &clock, 42, |_, _| {}).await;
    (done, clock)
}

async fn received(server: &MockServer, verb: &str) -> Vec<Request> {
    server.received_requests().await.unwrap().into_iter().filter(|r| r.method.as_str() == verb).collect()
}

fn paths_in(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8(body.to_vec()).unwrap();
    text.split("<Path>").skip(1).map(|p| p.split("</Path>").next().unwrap().to_string()).collect()
}

#[tokio::test]
async fn webhook_to_completed() {
    let w = world(&[("FRESHNESS_MAX_WAIT_SECONDS", "10")]).await;
    Mock::given(method("GET"))
        .and(path(ENTRIES))
        .and(query_param("sys.id", "child"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"total": 1, "items": [{"sys": {"id": "child", "revision": 2}}]})),
        )
        .mount(&w.cda)
        .await;
    two_level_graph(&w.cda).await;
    create_answers(&w.cloudfront, None).await;
    status_answers(&w.cloudfront, 0).await;
    let (done, _) = run(&w, publish("child", "card")).await;
    assert_eq!(done.phase(), Phase::Completed, "{:?}", done.failures());
    let posts = received(&w.cloudfront, "POST").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(paths_in(&posts[0].body), ["/", "/home", "/home/*"]);
    let auth = posts[0].headers["authorization"].to_str().unwrap();
    assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), "{auth}");
    assert!(auth.contains("/us-east-1/cloudfront/aws4_request"), "{auth}");
    let cda_calls = received(&w.cda, "GET").await;
    assert!(cda_calls.iter().all(|r| r.headers["authorization"] == "Bearer cda-token"));
    assert_eq!(done.history()[0].invalidation_id.as_deref(), Some("IABC123"));
}

#[tokio::test]
async fn in_progress_twice_then_completed() {
    let w = world(&[]).await;
    two_level_graph(&w.cda).await;
    create_answers(&w.cloudfront, None).await;
    status_answers(&w.cloudfront, 2).await;
    let (done, clock) = run(&w, publish("child", "card")).await;
    assert_eq!(done.phase(), Phase::Completed);
    assert_eq!(received(&w.cloudfront, "GET").await.len(), 3);
    assert_eq!(done.history()[0].polls, 3);
    // 2 s apart while CloudFront is within its documented P95 (POLL_FAST_SECONDS).
    assert_eq!(clock.slept(), Duration::from_millis(2000 + 2000 + 2000));
}

#[tokio::test]
async fn cloudfront_503_then_success() {
    let w = world(&[]).await;
    two_level_graph(&w.cda).await;
    create_answers(&w.cloudfront, Some((ResponseTemplate::new(503), 1))).await;
    status_answers(&w.cloudfront, 0).await;
    let (done, _) = run(&w, publish("child", "card")).await;
    assert_eq!(done.phase(), Phase::Completed);
    let posts = received(&w.cloudfront, "POST").await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].body, posts[1].body, "the retry resends the same batch and CallerReference");
}

#[tokio::test]
async fn too_many_invalidations_then_success() {
    let w = world(&[]).await;
    two_level_graph(&w.cda).await;
    create_answers(&w.cloudfront, Some((error(400, "TooManyInvalidationsInProgress"), 3))).await;
    status_answers(&w.cloudfront, 0).await;
    let (done, _) = run(&w, publish("child", "card")).await;
    assert_eq!(done.phase(), Phase::Completed);
    let posts = received(&w.cloudfront, "POST").await;
    assert_eq!(posts.len(), 4);
    assert_eq!(paths_in(&posts[3].body), ["/", "/home", "/home/*"], "no path lost while waiting");
}

#[tokio::test]
async fn throttling_is_retried_with_backoff() {
    let w = world(&[("RETRY_MAX_ATTEMPTS", "2")]).await;
    two_level_graph(&w.cda).await;
    create_answers(&w.cloudfront, Some((error(400, "Throttling"), 4))).await;
    status_answers(&w.cloudfront, 0).await;
    let (done, clock) = run(&w, publish("child", "card")).await;
    assert_eq!(done.phase(), Phase::Completed, "throttling is not limited by RETRY_MAX_ATTEMPTS");
    assert_eq!(received(&w.cloudfront, "POST").await.len(), 5);
    assert!(clock.slept() > Duration::from_secs(5 + 10), "backed off: {:?}", clock.slept());
}

#[tokio::test]
async fn access_denied_fails_with_the_reason_and_the_paths() {
    let w = world(&[]).await;
    two_level_graph(&w.cda).await;
    create_answers(&w.cloudfront, Some((error(403, "AccessDenied"), 100))).await;
    let (done, _) = run(&w, publish("child", "card")).await;
    assert_eq!(done.phase(), Phase::Failed);
    assert!(done.failures()[0].contains("AccessDenied"), "{:?}", done.failures());
    assert_eq!(done.outstanding_paths(), ["/", "/home", "/home/*"]);
    assert!(matches!(&done.history()[0].state, BatchState::Failed { reason } if reason.contains("AccessDenied")));
    assert_eq!(received(&w.cloudfront, "POST").await.len(), 1, "a permanent error is not retried");
}

#[tokio::test]
async fn contentful_429_waits_for_the_reset() {
    let w = world(&[]).await;
    Mock::given(method("GET"))
        .and(path(ENTRIES))
        .and(query_param("links_to_entry", "child"))
        .respond_with(ResponseTemplate::new(429).insert_header("X-Contentful-RateLimit-Reset", "7"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.cda)
        .await;
    two_level_graph(&w.cda).await;
    create_answers(&w.cloudfront, None).await;
    status_answers(&w.cloudfront, 0).await;
    let (done, clock) = run(&w, publish("child", "card")).await;
    assert_eq!(done.phase(), Phase::Completed);
    // 7 s for the rate limit, then the 2 s poll.
    assert_eq!(clock.slept(), Duration::from_secs(7 + 2));
}

#[tokio::test]
async fn contentful_paging_reads_every_page() {
    let w = world(&[]).await;
    let pages =
        [(0, vec![item("p1", "page", "one"), item("p2", "page", "two")]), (2, vec![item("p3", "page", "three")])];
    for (skip, items) in pages {
        Mock::given(method("GET"))
            .and(path(ENTRIES))
            .and(query_param("links_to_entry", "child"))
            .and(query_param("skip", skip.to_string()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"total": 3, "skip": skip, "limit": 2, "items": items})),
            )
            .mount(&w.cda)
            .await;
    }
    for id in ["p1", "p2", "p3"] {
        linked_from(&w.cda, id, links(vec![])).await;
    }
    create_answers(&w.cloudfront, None).await;
    status_answers(&w.cloudfront, 0).await;
    let (done, _) = run(&w, publish("child", "card")).await;
    assert_eq!(done.phase(), Phase::Completed);
    let posts = received(&w.cloudfront, "POST").await;
    assert_eq!(paths_in(&posts[0].body), ["/", "/one", "/one/*", "/three", "/three/*", "/two", "/two/*"]);
}

#[tokio::test]
async fn a_cycle_in_the_graph_terminates() {
    let w = world(&[]).await;
    linked_from(&w.cda, "a", links(vec![item("b", "page", "bee")])).await;
    linked_from(&w.cda, "b", links(vec![item("a", "page", "ay")])).await;
    create_answers(&w.cloudfront, None).await;
    status_answers(&w.cloudfront, 0).await;
    let (done, _) = run(&w, publish("a", "page")).await;
    assert_eq!(done.phase(), Phase::Completed);
    let links_calls = received(&w.cda, "GET").await;
    assert_eq!(links_calls.len(), 2, "each entry is fetched once");
    let posts = received(&w.cloudfront, "POST").await;
    assert_eq!(paths_in(&posts[0].body), ["/", "/bee", "/bee/*", "/c", "/c/*"]);
}

#[tokio::test]
async fn a_path_cloudfront_refuses_fails_alone_and_the_rest_is_invalidated() {
    let w = world(&[]).await;
    linked_from(&w.cda, "child", links(vec![item("section", "section", "s")])).await;
    linked_from(&w.cda, "section", links(vec![item("home", "page", "home"), item("bad", "page", "bad")])).await;
    linked_from(&w.cda, "home", links(vec![])).await;
    linked_from(&w.cda, "bad", links(vec![])).await;
    // CloudFront refuses any batch that holds /bad, as it does an invalid path.
    Mock::given(method("POST"))
        .and(path(CREATE))
        .respond_with(|req: &Request| {
            if paths_in(&req.body).iter().any(|p| p == "/bad") {
                error(400, "InvalidArgument")
            } else {
                invalidation("InProgress")
            }
        })
        .mount(&w.cloudfront)
        .await;
    status_answers(&w.cloudfront, 0).await;
    let (done, _) = run(&w, publish("child", "card")).await;

    assert_eq!(done.phase(), Phase::Failed);
    assert_eq!(done.outstanding_paths(), ["/bad"], "only the refused path is left");
    assert!(
        done.failures().iter().any(|f| f.contains("/bad") && f.contains("InvalidArgument")),
        "{:?}",
        done.failures()
    );
    let accepted: Vec<String> = received(&w.cloudfront, "POST")
        .await
        .iter()
        .map(|r| paths_in(&r.body))
        .filter(|p| !p.contains(&"/bad".to_string()))
        .flatten()
        .collect();
    let mut accepted = accepted;
    accepted.sort();
    assert_eq!(accepted, ["/", "/bad/*", "/home", "/home/*"], "every other path was invalidated, once");
}
