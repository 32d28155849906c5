//! The stand-ins themselves, and the core's real requests against them: the
//! independent SigV4 check accepts the core's signatures and refuses others,
//! CallerReference semantics hold, and a publish walks the fixture graph.

use invalidator_core::cloudfront;
use invalidator_core::driver::{run_to_end, Setup};
use invalidator_core::io::{Clock, HttpClient};
use invalidator_core::settings::Settings;
use invalidator_core::testing::{ChangeBuilder, TestSettings};
use invalidator_core::webhook::Change;
use invalidator_core::workflow::{Event, Phase, Workflow};
use invalidator_lambda::http_client::{ReqwestClient, SystemClock};
use invalidator_tests::sandbox::{Config, Fault, Fixture, Sandbox};
use std::time::Duration;

const FIXTURE: &str = include_str!("../fixtures/content-graph.json");

async fn sandbox(page_size: usize, faults: Vec<Fault>) -> Sandbox {
    let mut fixture = Fixture::from_json(FIXTURE).unwrap();
    fixture.page_size = page_size;
    Sandbox::start(Config::local(fixture, Duration::from_millis(600), faults)).await.unwrap()
}

fn settings(sb: &Sandbox, secret: &str) -> Settings {
    TestSettings::new()
        .unsigned()
        .with_all(&[
            ("CLOUDFRONT_DISTRIBUTION_ID", "EDEMO123"),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("CONTENTFUL_SPACE_ID", "demo-space"),
            ("CONTENTFUL_DELIVERY_TOKEN", "demo-delivery-token"),
            ("PATH_RULES", r#"{"page":["/{slug}","/{slug}/*"],"post":["/blog/{category}/{slug}"],"always":["/"]}"#),
            ("COLLECT_WINDOW_SECONDS", "0"),
            ("FRESHNESS_MAX_WAIT_SECONDS", "2"),
            ("POLL_FIRST_SECONDS", "0.2"),
            ("RETRY_BASE_SECONDS", "0.05"),
            ("RETRY_MAX_SECONDS", "0.2"),
        ])
        .with("CLOUDFRONT_ENDPOINT", sb.cloudfront_url())
        .with("CONTENTFUL_CDA_ENDPOINT", sb.contentful_url())
        .settings()
}

fn change(id: &str, revision: u64) -> Change {
    ChangeBuilder::publish(id).space("demo-space").content_type("button").revision(revision).build()
}

async fn run(s: &Settings, change: Change) -> Workflow {
    let http = ReqwestClient::new(Duration::from_secs(5));
    let services = Setup::new(&http, &SystemClock, s, 4);
    let wf = Workflow::new(s.cloudfront.distribution_ids.clone());
    run_to_end(wf, Event::ChangeAccepted { change }, &services, &SystemClock, 1, |_, _| {}).await
}

#[tokio::test]
async fn a_publish_two_levels_below_two_pages_invalidates_both_pages() {
    let sb = sandbox(1, vec![]).await;
    let s = settings(&sb, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let done = run(&s, change("cta-button", 3)).await;
    assert_eq!(done.phase(), Phase::Completed, "{:?}", done.failures());
    let invalidations = sb.invalidations();
    assert_eq!(invalidations.len(), 1);
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
    let gets = sb.cloudfront_requests().iter().filter(|r| r.method == "GET" && r.status == 200).count();
    assert!(gets >= 1, "polled until Completed");
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_the_batch_fails_with_the_reason() {
    let sb = sandbox(100, vec![]).await;
    let s = settings(&sb, "not-the-secret-at-all");
    let done = run(&s, change("cta-button", 3)).await;
    assert_eq!(done.phase(), Phase::Failed);
    assert!(done.failures()[0].contains("SignatureDoesNotMatch"), "{:?}", done.failures());
    assert!(sb.invalidations().is_empty());
}

#[tokio::test]
async fn injected_faults_are_retried_to_completion() {
    let faults = Fault::parse_list(
        "links:429,entry:503,create:503,create:Throttling,create:TooManyInvalidationsInProgress,get:503",
    )
    .unwrap();
    let sb = sandbox(100, faults).await;
    let s = settings(&sb, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let done = run(&s, change("cta-button", 3)).await;
    assert_eq!(done.phase(), Phase::Completed, "{:?}", done.failures());
    assert_eq!(sb.invalidations().len(), 1, "retries reused the CallerReference");
    let statuses: Vec<u16> = sb.cloudfront_requests().iter().filter(|r| r.method == "POST").map(|r| r.status).collect();
    assert_eq!(statuses, [503, 400, 400, 201]);
}

#[tokio::test]
async fn caller_reference_semantics() {
    let sb = sandbox(100, vec![]).await;
    let s = settings(&sb, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let http = ReqwestClient::new(Duration::from_secs(5));
    let now = SystemClock.now();
    let paths = vec!["/a".to_string(), "/b/*".to_string()];
    let send = |paths: Vec<String>, reference: &'static str| {
        let req = cloudfront::create_invalidation(&s.cloudfront, "EDEMO123", &paths, reference, now).unwrap();
        http.send(req)
    };
    let first = cloudfront::read_invalidation(&send(paths.clone(), "ref-1").await.unwrap()).unwrap();
    let again = cloudfront::read_invalidation(&send(paths.clone(), "ref-1").await.unwrap()).unwrap();
    assert_eq!(first.id, again.id, "the same batch returns the same invalidation");
    let other = send(vec!["/c".into()], "ref-1").await.unwrap();
    assert_eq!(other.status(), 409);
    assert!(String::from_utf8_lossy(other.body()).contains("InvalidationBatchAlreadyExists"));
    let star = send(vec!["/a*b".into()], "ref-2").await.unwrap();
    assert_eq!(star.status(), 400, "a * that is not last is refused");
    // A tampered body no longer matches its signature.
    let mut req = cloudfront::create_invalidation(&s.cloudfront, "EDEMO123", &paths, "ref-3", now).unwrap();
    req.body_mut().extend_from_slice(b" ");
    let tampered = http.send(req).await.unwrap();
    assert_eq!(tampered.status(), 403);
    assert!(String::from_utf8_lossy(tampered.body()).contains("SignatureDoesNotMatch"));
}

#[tokio::test]
async fn wildcards_in_progress_are_limited_to_fifteen() {
    let sb = sandbox(100, vec![]).await;
    let s = settings(&sb, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let http = ReqwestClient::new(Duration::from_secs(5));
    let now = SystemClock.now();
    let ten: Vec<String> = (0..10).map(|i| format!("/w{i}/*")).collect();
    let six: Vec<String> = (0..6).map(|i| format!("/v{i}/*")).collect();
    let ok =
        http.send(cloudfront::create_invalidation(&s.cloudfront, "EDEMO123", &ten, "w1", now).unwrap()).await.unwrap();
    assert_eq!(ok.status(), 201);
    let busy =
        http.send(cloudfront::create_invalidation(&s.cloudfront, "EDEMO123", &six, "w2", now).unwrap()).await.unwrap();
    assert_eq!(busy.status(), 400);
    assert!(String::from_utf8_lossy(busy.body()).contains("TooManyInvalidationsInProgress"));
}
