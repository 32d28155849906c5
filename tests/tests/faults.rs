//! Faults in every phase, against the real core driver with virtual time: the
//! freshness probe, the walk, CreateInvalidation and GetInvalidation each meet
//! timeouts, refused connections, 5xx, 429 or throttling, and malformed bodies,
//! a few times (transient) or for good (persistent). Every accepted path ends
//! invalidated exactly once, or in an explicit failed state with the reason
//! and the paths.

use invalidator_core::driver::{run_to_end, Setup};
use invalidator_core::io::{HttpClient, HttpRequest, HttpResponse, TransportError};
use invalidator_core::paths::covers;
use invalidator_core::settings::Settings;
use invalidator_core::testing::{ChangeBuilder, TestSettings};
use invalidator_core::workflow::{BatchState, Event, Phase, Workflow};
use invalidator_core::Timestamp;
use invalidator_tests::virtual_time::VirtualClock;
use std::cell::RefCell;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Where {
    Gate,
    Links,
    Create,
    Get,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Timeout,
    Refused,
    ServerError,
    Busy,
    Malformed,
}

/// An invalidation the fake CloudFront made: id, paths, polls left before Completed.
type Made = (String, Vec<String>, u32);

/// CloudFront and the Delivery API in one fake, with a fault plan.
struct World {
    fault: Option<(Where, Fault, usize)>,
    /// By CallerReference.
    invalidations: RefCell<BTreeMap<String, Made>>,
    faults_served: RefCell<usize>,
}

fn response(status: u16, body: &str) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header("x-contentful-ratelimit-reset", "2")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

fn invalidation_xml(id: &str, status: &str) -> String {
    format!("<Invalidation><Id>{id}</Id><Status>{status}</Status></Invalidation>")
}

fn parents(id: &str) -> &'static str {
    match id {
        "child" => r#"[{"sys":{"id":"section","contentType":{"sys":{"id":"section"}}},"fields":{}}]"#,
        "section" => {
            r#"[{"sys":{"id":"home","contentType":{"sys":{"id":"page"}}},"fields":{"slug":{"en-US":"home"}}},{"sys":{"id":"sale","contentType":{"sys":{"id":"page"}}},"fields":{"slug":{"en-US":"sale"}}}]"#
        }
        _ => "[]",
    }
}

impl HttpClient for World {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let uri = request.uri().to_string();
        let place = if uri.contains("sys.id=") {
            Where::Gate
        } else if uri.contains("links_to_entry=") {
            Where::Links
        } else if request.method() == http::Method::POST {
            Where::Create
        } else {
            Where::Get
        };
        if let Some((at, fault, times)) = self.fault {
            if at == place && *self.faults_served.borrow() < times {
                *self.faults_served.borrow_mut() += 1;
                let cloudfront = matches!(place, Where::Create | Where::Get);
                // A malformed answer to a create that CloudFront did perform.
                if fault == Fault::Malformed && place == Where::Create {
                    self.create(&request);
                }
                return match fault {
                    Fault::Timeout => Err(TransportError::Timeout(20_000)),
                    Fault::Refused => Err(TransportError::Connect("connection refused".into())),
                    Fault::ServerError => Ok(response(503, "")),
                    Fault::Busy if cloudfront => Ok(response(
                        400,
                        "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>",
                    )),
                    Fault::Busy => Ok(response(429, r#"{"message":"rate limit"}"#)),
                    Fault::Malformed if cloudfront => Ok(response(200, "<Invalidation><Id>I1")),
                    Fault::Malformed => Ok(response(200, "{\"items\": [")),
                };
            }
        }
        Ok(match place {
            Where::Gate => response(200, r#"{"total":1,"items":[{"sys":{"id":"child","revision":5}}]}"#),
            Where::Links => {
                let id = uri.split("links_to_entry=").nth(1).unwrap().split('&').next().unwrap();
                let items = parents(id);
                let total = serde_json::from_str::<serde_json::Value>(items).unwrap().as_array().unwrap().len();
                response(200, &format!(r#"{{"total":{total},"skip":0,"items":{items}}}"#))
            }
            Where::Create => {
                let id = self.create(&request);
                response(201, &invalidation_xml(&id, "InProgress"))
            }
            Where::Get => {
                let id = uri.rsplit('/').next().unwrap().to_string();
                let mut all = self.invalidations.borrow_mut();
                let entry = all.values_mut().find(|(i, _, _)| *i == id).expect("a known invalidation");
                entry.2 = entry.2.saturating_sub(1);
                response(200, &invalidation_xml(&id, if entry.2 == 0 { "Completed" } else { "InProgress" }))
            }
        })
    }
}

impl World {
    /// CreateInvalidation with CallerReference semantics; returns the id.
    fn create(&self, request: &HttpRequest) -> String {
        let body = String::from_utf8_lossy(request.body()).into_owned();
        let reference = body.split("<CallerReference>").nth(1).unwrap().split('<').next().unwrap().to_string();
        let paths: Vec<String> =
            body.split("<Path>").skip(1).map(|p| p.split('<').next().unwrap().to_string()).collect();
        let mut all = self.invalidations.borrow_mut();
        let n = all.len();
        all.entry(reference).or_insert_with(|| (format!("I{n}"), paths, 2)).0.clone()
    }
}

fn settings() -> Settings {
    TestSettings::new()
        .unsigned()
        .with_all(&[
            ("CLOUDFRONT_DISTRIBUTION_ID", "EFAULTS"),
            ("CLOUDFRONT_ENDPOINT", "http://127.0.0.1:9"),
            ("CONTENTFUL_CDA_ENDPOINT", "http://127.0.0.1:9"),
            ("PATH_RULES", r#"{"page":["/{slug}"],"card":["/cards/{sys.id}"],"always":["/"]}"#),
            ("FRESHNESS_MAX_WAIT_SECONDS", "20"),
            ("RETRY_MAX_ATTEMPTS", "4"),
            ("BATCH_TIMEOUT_SECONDS", "900"),
        ])
        .settings()
}

async fn run(fault: Option<(Where, Fault, usize)>) -> (Workflow, World) {
    let s = settings();
    let world = World { fault, invalidations: RefCell::new(BTreeMap::new()), faults_served: RefCell::new(0) };
    let clock = VirtualClock::at(Timestamp::from_secs(1_800_000_000));
    let services = Setup::new(&world, &clock, &s, 4);
    let change = ChangeBuilder::publish("child").content_type("card").revision(5).build();
    let wf = Workflow::new(s.cloudfront.distribution_ids.clone());
    let done = run_to_end(wf, Event::ChangeAccepted { change }, &services, &clock, 9, |_, _| {}).await;
    (done, world)
}

const EXPECTED: [&str; 4] = ["/", "/cards/child", "/home", "/sale"];

/// Every expected path is covered by exactly one invalidation, or the run
/// failed with a reason and kept the paths it could not invalidate.
fn check(name: &str, wf: &Workflow, world: &World) {
    let all = world.invalidations.borrow();
    match wf.phase() {
        Phase::Completed => {
            for p in EXPECTED {
                let holders = all.values().filter(|(_, paths, _)| paths.iter().any(|q| covers(q, p))).count();
                assert_eq!(holders, 1, "{name}: {p} is in {holders} invalidations: {all:?}");
            }
        }
        Phase::Failed => {
            assert!(!wf.failures().is_empty() && wf.failures().iter().all(|f| !f.is_empty()), "{name}: no reason");
            let failed = wf.history().iter().find(|b| matches!(b.state, BatchState::Failed { .. })).unwrap();
            for p in EXPECTED {
                assert!(failed.paths.iter().any(|q| covers(q, p)), "{name}: {p} lost from the failed batch");
            }
        }
        other => panic!("{name}: ended in {other:?}"),
    }
}

#[tokio::test]
async fn transient_faults_in_every_phase_end_invalidated_exactly_once() {
    for at in [Where::Gate, Where::Links, Where::Create, Where::Get] {
        for fault in [Fault::Timeout, Fault::Refused, Fault::ServerError, Fault::Busy, Fault::Malformed] {
            let name = format!("{fault:?} x3 at {at:?}");
            let (wf, world) = run(Some((at, fault, 3))).await;
            assert_eq!(wf.phase(), Phase::Completed, "{name}: {:?}", wf.failures());
            assert_eq!(*world.faults_served.borrow(), 3, "{name}: the faults were met");
            check(&name, &wf, &world);
        }
    }
}

#[tokio::test]
async fn persistent_faults_end_explicitly_and_lose_nothing() {
    for at in [Where::Gate, Where::Links, Where::Create, Where::Get] {
        for fault in [Fault::Timeout, Fault::Refused, Fault::ServerError, Fault::Busy, Fault::Malformed] {
            let name = format!("{fault:?} for good at {at:?}");
            let (wf, world) = run(Some((at, fault, usize::MAX))).await;
            check(&name, &wf, &world);
            match at {
                // The gate gives up and submits; a broken walk falls back to /*.
                Where::Gate | Where::Links => assert_eq!(wf.phase(), Phase::Completed, "{name}"),
                Where::Create | Where::Get => assert_eq!(wf.phase(), Phase::Failed, "{name}"),
            }
            if at == Where::Links {
                let only = world.invalidations.borrow().values().next().unwrap().1.clone();
                assert!(only.contains(&"/*".to_string()), "{name}: {only:?}");
            }
        }
    }
}

#[tokio::test]
async fn no_fault_is_the_baseline() {
    let (wf, world) = run(None).await;
    assert_eq!(wf.phase(), Phase::Completed);
    check("no fault", &wf, &world);
    assert_eq!(world.invalidations.borrow().values().next().unwrap().1, EXPECTED);
}
