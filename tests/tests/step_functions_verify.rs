//! The AWS body verifies what a visitor reads, as the Worker does: the ASL
//! run by aws-local-stepfunctions, its Task states invoking the real
//! workflow binary, and the pages read through the CDN stand-in (a cache
//! purged by the CloudFront stand-in's invalidations, in front of an origin
//! that renders the Delivery API stand-in's content).

use invalidator_core::workflow::{StepName, Tracked, Workflow};
use invalidator_tests::asl::{
    entered, function, require_node_tools, run_state_machine, webhook_execution_input, SECRET,
};
use invalidator_tests::sandbox::{Config, Fixture, OriginSettings, Sandbox, REVISION_HEADER};
use invalidator_tests::site_visit::{button_webhook, publish_button, visit, NEW_LABEL, OLD_LABEL, SITE_RULES};
use serde_json::Value;
use std::time::Duration;

async fn sandbox(origin: OriginSettings) -> Sandbox {
    let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    Sandbox::start(Config::local(fixture, Duration::from_secs(1), vec![]).with_origin(origin)).await.unwrap()
}

fn settings(sb: &Sandbox, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut s: Vec<(String, String)> = [
        ("CLOUDFRONT_DISTRIBUTION_ID", "EDEMO123".to_string()),
        ("CLOUDFRONT_ENDPOINT", sb.cloudfront_url()),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".into()),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
        ("CONTENTFUL_SPACE_ID", "demo-space".into()),
        ("CONTENTFUL_DELIVERY_TOKEN", "demo-delivery-token".into()),
        ("CONTENTFUL_CDA_ENDPOINT", sb.contentful_url()),
        ("CONTENTFUL_WEBHOOK_SECRET", SECRET.into()),
        ("PATH_RULES", SITE_RULES.into()),
        ("COLLECT_WINDOW_SECONDS", "0".into()),
        ("FRESHNESS_MAX_WAIT_SECONDS", "2".into()),
        ("POLL_FIRST_SECONDS", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    s.extend(sb.site_settings().into_iter().map(|(k, v)| (k.to_string(), v)));
    s.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    s
}

/// Publishes the button's new label, delivers its webhook and runs the
/// execution it starts to its end; the change's receipt as it ended.
async fn publish_and_run(sb: &Sandbox, settings: &[(String, String)]) -> (Tracked, Vec<Value>) {
    let input = webhook_execution_input(settings, &button_webhook(4)).await;
    let workflow = function("workflow", settings).await;
    // Published now, as the execution starts: an origin's lag counts from here.
    publish_button(sb, 4);
    let (ok, events) = run_state_machine(workflow.api.invoke_url(), input).await;
    assert!(ok, "{events:#?}");
    assert_eq!(entered(&events).last().map(String::as_str), Some("EndInvalidation"));
    let end = events.last().unwrap();
    let wf: Workflow = serde_json::from_value(end["workflow"].clone()).expect("the execution ends with its workflow");
    let id = wf.history().iter().flat_map(|b| &b.changes).next().expect("a change was served").clone();
    (wf.track(&id).unwrap(), events)
}

fn steps(t: &Tracked) -> Vec<StepName> {
    t.receipt.iter().map(|s| s.step).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn under_the_asl_the_page_shows_the_new_text_once_the_receipt_says_verified() {
    require_node_tools();
    let sb = sandbox(OriginSettings::default()).await;
    assert!(visit(&sb, "/home").await.shows(OLD_LABEL));
    let (t, _) = publish_and_run(&sb, &settings(&sb, &[])).await;
    use StepName::*;
    assert_eq!(steps(&t), [Received, Fresh, Submitted, Completed, Verified], "{t:#?}");
    let after = visit(&sb, "/home").await;
    assert!(after.shows(NEW_LABEL) && !after.shows(OLD_LABEL), "{after:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn under_the_asl_a_lagging_origin_is_invalidated_again_then_verified() {
    require_node_tools();
    // The origin renders the revision before for 8 s after the publish
    // (Contentful's stale window); verification waits 8 s before it goes
    // again, so the first check sees the old revision and the next the new.
    let origin = OriginSettings {
        lag: Duration::from_secs(8),
        revision_header: Some(REVISION_HEADER.into()),
        ..Default::default()
    };
    let sb = sandbox(origin).await;
    let (t, _) = publish_and_run(&sb, &settings(&sb, &[("VERIFY_RETRY_WAIT_SECONDS", "8")])).await;
    let got = steps(&t);
    assert_eq!(got.last(), Some(&StepName::Verified), "{t:#?}");
    let again = t.receipt.iter().find(|s| s.step == StepName::Reinvalidated).expect("invalidated again");
    assert!(again.detail.as_deref().unwrap().contains("cta-button at revision 3, published 4"), "{t:#?}");
    assert!(sb.invalidations().len() >= 2);
    assert!(visit(&sb, "/home").await.shows(NEW_LABEL));
}
