//! The AWS body's catch-up sweep ([`invalidator_lambda::sweep`]) against the
//! Sync API and Step Functions stand-ins (SigV4-checked), the execution it
//! starts then run by the real ASL interpreter with the workflow binary at a
//! Runtime API. Its record is kept in memory here; the DynamoDB store and the
//! `sweep` binary are tested in lambda_sweep_store.rs.

use invalidator_core::settings::{Settings, SettingsMap};
use invalidator_core::sync::Position;
use invalidator_lambda::http_client::{ReqwestClient, SystemClock};
use invalidator_lambda::stepfunctions::StepFunctionsSettings;
use invalidator_lambda::sweep::{MemoryStore, SweepFunction, SweepStore};
use invalidator_tests::asl::{entered, function, require_node_tools, run_state_machine, SECRET};
use invalidator_tests::loopback::client;
use invalidator_tests::sandbox::{Config, Fault, Fixture, Sandbox, DEMO_STATE_MACHINE};
use serde_json::{json, Value};
use std::time::Duration;

async fn sandbox() -> Sandbox {
    let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    Sandbox::start(Config::local(fixture, Duration::from_millis(1500), vec![])).await.unwrap()
}

fn settings(sb: &Sandbox, aws_secret: &str) -> Vec<(String, String)> {
    [
        ("CLOUDFRONT_DISTRIBUTION_ID", "EDEMO123".to_string()),
        ("CLOUDFRONT_ENDPOINT", sb.cloudfront_url()),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".into()),
        ("AWS_SECRET_ACCESS_KEY", aws_secret.into()),
        ("CONTENTFUL_SPACE_ID", "demo-space".into()),
        ("CONTENTFUL_DELIVERY_TOKEN", "demo-delivery-token".into()),
        ("CONTENTFUL_CDA_ENDPOINT", sb.contentful_url()),
        ("CONTENTFUL_WEBHOOK_SECRET", SECRET.into()),
        ("PATH_RULES", r#"{"page":["/{slug}"],"always":["/"]}"#.into()),
        ("COLLECT_WINDOW_SECONDS", "0".into()),
        ("FRESHNESS_MAX_WAIT_SECONDS", "2".into()),
        ("POLL_FIRST_SECONDS", "1".into()),
        ("STATE_MACHINE_ARN", DEMO_STATE_MACHINE.into()),
        ("STEPFUNCTIONS_ENDPOINT", sb.stepfunctions_url()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn sweep_function(settings: &[(String, String)]) -> SweepFunction {
    let map: SettingsMap = settings.iter().cloned().collect();
    SweepFunction {
        settings: Settings::from_map(&map).unwrap(),
        stepfunctions: StepFunctionsSettings::from_map(&map).unwrap(),
        memory: None,
    }
}

async fn publish_silently(sb: &Sandbox, id: &str, slug: &str) {
    let entry = json!({"id": id, "contentType": "page", "revision": 3, "fields": {"slug": {"en-US": slug}}});
    let r = client().post(format!("{}/__sandbox/entries", sb.contentful_url())).json(&entry).send().await.unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missed_publish_starts_one_execution_that_runs_to_end_invalidation() {
    require_node_tools();
    let sb = sandbox().await;
    let function = sweep_function(&settings(&sb, AWS_SECRET));
    let (http, store) = (ReqwestClient::default(), MemoryStore::default());

    let first = function.handle(&http, &SystemClock, &store).await.unwrap();
    assert!(first.first && first.complete && first.missed == 0, "{first:?}");
    assert!(sb.executions().is_empty(), "the first sweep starts nothing");
    assert!(matches!(store.load().await.unwrap().position, Position::Sync(_)));

    publish_silently(&sb, "winter-sale", "summer-sale").await;
    let second = function.handle(&http, &SystemClock, &store).await.unwrap();
    assert_eq!((second.missed, second.error.clone()), (1, None), "{second:?}");
    let executions = sb.executions();
    assert_eq!(executions.len(), 1, "{:#?}", sb.stepfunctions_requests());
    assert!(executions[0].name.starts_with("sweep-"));
    assert_eq!(store.load().await.unwrap().last, Some(second));

    let third = function.handle(&http, &SystemClock, &store).await.unwrap();
    assert_eq!((third.items, third.missed), (0, 0), "{third:?}");
    assert_eq!(sb.executions().len(), 1, "nothing new, nothing started");

    let input: Value = serde_json::from_str(&executions[0].input).unwrap();
    let workflow = function_binary(&sb).await;
    let (ok, events) = run_state_machine(workflow.api.invoke_url(), input).await;
    assert!(ok, "{events:#?}");
    assert_eq!(entered(&events).last().map(String::as_str), Some("EndInvalidation"));
    let invalidations = sb.invalidations();
    assert_eq!(invalidations.len(), 1);
    assert!(invalidations[0].paths.iter().any(|p| p == "/summer-sale"), "{:?}", invalidations[0].paths);
}

async fn function_binary(sb: &Sandbox) -> invalidator_tests::asl::Function {
    function("workflow", &settings(sb, AWS_SECRET)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_sweep_or_a_refused_start_keeps_the_position() {
    let sb = sandbox().await;
    let (http, store) = (ReqwestClient::default(), MemoryStore::default());
    sweep_function(&settings(&sb, AWS_SECRET)).handle(&http, &SystemClock, &store).await.unwrap();
    let position = store.load().await.unwrap().position;
    publish_silently(&sb, "home", "home-new").await;
    publish_silently(&sb, "winter-sale", "sale").await;
    publish_silently(&sb, "footer", "footer").await;

    // The Delivery API fails on the second page.
    sb.contentful_state.faults.lock().unwrap().push_back(Fault { on: "sync-page".into(), answer: "503".into() });
    let failed = sweep_function(&settings(&sb, AWS_SECRET)).handle(&http, &SystemClock, &store).await.unwrap();
    assert!(failed.error.as_deref().is_some_and(|e| e.contains("503")), "{failed:?}");
    assert_eq!(store.load().await.unwrap().position, position);
    assert!(sb.executions().is_empty());

    // StartExecution is refused (signed with another key): nothing is taken.
    let wrong = sweep_function(&settings(&sb, "not-the-secret-key-of-the-role"));
    let refused = wrong.handle(&http, &SystemClock, &store).await.unwrap();
    assert!(refused.error.as_deref().is_some_and(|e| e.contains("403")), "{refused:?}");
    assert_eq!(store.load().await.unwrap().position, position);

    let retried = sweep_function(&settings(&sb, AWS_SECRET)).handle(&http, &SystemClock, &store).await.unwrap();
    assert_eq!((retried.missed, retried.error.clone()), (3, None), "{retried:?}");
    assert_eq!(sb.executions().len(), 1);
    assert_ne!(store.load().await.unwrap().position, position);
}

/// An entry whose `body` field nests `depth` lists deep: past serde_json's
/// recursion limit (128) at 130. Built in place, since no JSON reader here
/// would read it; the stand-in serves it as Contentful would.
fn too_deep_entry(id: &str, depth: usize) -> invalidator_tests::sandbox::FixtureEntry {
    let deep = (0..depth).fold(json!("bottom"), |inner, _| Value::Array(vec![inner]));
    let mut fields = serde_json::Map::new();
    fields.insert("slug".into(), json!({"en-US": id}));
    fields.insert("body".into(), json!({"en-US": deep}));
    invalidator_tests::sandbox::FixtureEntry {
        id: id.into(),
        content_type: "page".into(),
        revision: 1,
        fields,
        links: Vec::new(),
        created_at: None,
        updated_at: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_item_too_deep_to_read_is_gone_past_with_a_note_and_the_others_are_invalidated() {
    require_node_tools();
    let sb = sandbox().await;
    let function = sweep_function(&settings(&sb, AWS_SECRET));
    let (http, store) = (ReqwestClient::default(), MemoryStore::default());
    function.handle(&http, &SystemClock, &store).await.unwrap();
    let position = store.load().await.unwrap().position;

    // Changed in this order, so the unreadable one sits between the others.
    publish_silently(&sb, "winter-sale", "summer-sale").await;
    sb.contentful_state.publish(too_deep_entry("deep-page", 130));
    publish_silently(&sb, "fresh-page", "fresh").await;

    let swept = function.handle(&http, &SystemClock, &store).await.unwrap();
    assert_eq!((swept.error.clone(), swept.missed, swept.unreadable), (None, 2, 1), "{swept:?}");
    assert!(swept.unreadable_items[0].contains("Entry deep-page skipped"), "{:?}", swept.unreadable_items);
    assert!(swept.unreadable_items[0].contains("recursion limit"), "{:?}", swept.unreadable_items);
    let record = store.load().await.unwrap();
    assert_ne!(record.position, position, "the position moved past the unreadable item");
    assert_eq!(record.last.as_ref().map(|r| r.unreadable), Some(1), "the note is kept in the report");

    // The next sweep is not stopped at the same place.
    let next = function.handle(&http, &SystemClock, &store).await.unwrap();
    assert_eq!((next.error.clone(), next.items, next.unreadable), (None, 0, 0), "{next:?}");

    let executions = sb.executions();
    assert_eq!(executions.len(), 1, "{:#?}", sb.stepfunctions_requests());
    let input: Value = serde_json::from_str(&executions[0].input).unwrap();
    let (ok, events) = run_state_machine(function_binary(&sb).await.api.invoke_url(), input).await;
    assert!(ok, "{events:#?}");
    let paths: Vec<String> = sb.invalidations().iter().flat_map(|i| i.paths.clone()).collect();
    for want in ["/summer-sale", "/fresh"] {
        assert!(paths.iter().any(|p| p == want), "{want} in {paths:?}");
    }
}
