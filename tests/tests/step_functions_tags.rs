//! Cache tags through the AWS body, end to end offline: the real webhook
//! function starts the execution, the real ASL interpreter runs it, and the
//! workflow function sends a tags-only plan, with a
//! title that cannot be a tag left out, (`INVALIDATE_BY=tags`) to the
//! CloudFront stand-in of a distribution with cache tags.

use invalidator_tests::asl::{
    entered, function, require_node_tools, run_state_machine, webhook_execution_input, SECRET,
};
use invalidator_tests::cache_tags::{self, CTA_BUTTON_TAGS};
use invalidator_tests::sandbox::{Config, Sandbox, DEMO_DISTRIBUTION};
use serde_json::json;
use std::time::Duration;

fn settings(sb: &Sandbox) -> Vec<(String, String)> {
    sb.settings(DEMO_DISTRIBUTION, SECRET)
        .into_iter()
        .chain([
            ("PATH_RULES", r#"{"page":["/{slug}"],"always":["/"]}"#.into()),
            ("TAG_RULES", cache_tags::TAG_RULES.into()),
            ("INVALIDATE_BY", "tags".into()),
            ("COLLECT_WINDOW_SECONDS", "0".into()),
            ("FRESHNESS_MAX_WAIT_SECONDS", "2".into()),
            ("POLL_FIRST_SECONDS", "1".into()),
        ])
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_only_sends_entry_tags_for_the_entry_and_its_parents_and_no_path() {
    require_node_tools();
    let config =
        Config::local(cache_tags::fixture(), Duration::from_millis(1500), vec![]).with_cache_tags(&[DEMO_DISTRIBUTION]);
    let sb = Sandbox::start(config).await.unwrap();
    let body = invalidator_tests::toolkit::publish_body("cta-button", "button", 3, json!({}));
    let input = webhook_execution_input(&settings(&sb), &body).await;
    let workflow = function("workflow", &settings(&sb)).await;
    let (ok, events) = run_state_machine(workflow.api.invoke_url(), input).await;
    assert!(ok, "{events:#?}");
    assert_eq!(entered(&events).last().map(String::as_str), Some("EndInvalidation"));
    let invalidations = sb.invalidations();
    assert_eq!(invalidations.len(), 1);
    assert_eq!(invalidations[0].paths, CTA_BUTTON_TAGS, "tags only: no path, not even the always rule");
    // The over-long title made no tag, and the batch went through: CTA_BUTTON_TAGS
    // holds no `#page:` tag for `home` (the Worker's test reads its note).
    assert!(!invalidations[0].paths.iter().any(|p| p.starts_with("#page:x")));
}
