//! The whole AWS body deployed outside us-east-1: Lambda sets `AWS_REGION`
//! to the function's region (here eu-west-1) and a function cannot change it.
//! The webhook, the queue, the starter, the workflow under the real ASL
//! interpreter, the path memory and the sweep all run with it; every regional
//! stand-in (SQS, Step Functions, DynamoDB) is in eu-west-1 and refuses a
//! signature scoped to another region, and the CloudFront stand-in accepts
//! only `us-east-1`, as CloudFront's global endpoint does.

use invalidator_tests::asl::{entered, function, require_node_tools, run_state_machine};
use invalidator_tests::queue_stack::{page, path_of, signed_publishes, Options, QueueStack, MEMORY_TABLE};
use invalidator_tests::sandbox::{now_millis, FixtureEntry, Logged, CLOUDFRONT_REGION};
use serde_json::{json, Value};
use std::time::Duration;

const REGION: &str = "eu-west-1";

/// A scheduled event as EventBridge sends it in `REGION`.
fn scheduled_event() -> Vec<u8> {
    json!({"version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-27T08:00:00Z", "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:123456789012:rule/invalidator-sweep")], "detail": {}})
    .to_string()
    .into_bytes()
}

/// Runs the executions started after the first `from` through the ASL; each must end `EndInvalidation`.
async fn run_from(stack: &QueueStack, from: usize) {
    for execution in stack.sb.executions().into_iter().skip(from) {
        let input: Value = serde_json::from_str(&execution.input).unwrap();
        let (ok, events) = run_state_machine(stack.workflow.api.invoke_url(), input).await;
        let states = entered(&events);
        assert!(ok, "{states:?}");
        assert_eq!(states.last().map(String::as_str), Some("EndInvalidation"), "{states:?}");
    }
}

fn all_answered(service: &str, log: &[Logged]) {
    assert!(!log.is_empty(), "{service} was used");
    let refused: Vec<&Logged> = log.iter().filter(|r| !(200..300).contains(&r.status)).collect();
    assert!(refused.is_empty(), "{service} refused: {refused:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_lambda_stack_in_eu_west_1_invalidates_to_completed() {
    require_node_tools();
    let mut options = Options::new(3);
    options.window = Duration::from_secs(1);
    options.region = REGION.into();
    options.memory = true;
    let stack = QueueStack::start(options).await;
    assert!(stack.settings.contains(&("AWS_REGION".to_string(), REGION.to_string())), "as Lambda sets it");
    assert_eq!(
        (stack.sb.cloudfront_state.expected.region.as_str(), stack.sqs.expected.region.as_str()),
        ("us-east-1", REGION)
    );
    let sweep = function("sweep", &stack.settings).await;
    let sweep_once = || async {
        let answer = sweep.api.invoke(&scheduled_event(), Duration::from_secs(60)).await.expect("the sweep answers");
        serde_json::from_slice::<Value>(&answer).unwrap()
    };
    let first = sweep_once().await;
    assert_eq!((first["first"].clone(), first["missed"].clone()), (json!(true), json!(0)), "{first}");

    // A publish through the webhook, the queue and the starter.
    let published = stack.sb.contentful_state.graph.lock().unwrap().entries[1].clone();
    stack.sb.contentful_state.publish(FixtureEntry { updated_at: None, ..published });
    assert_eq!(stack.deliver(&signed_publishes([1]).remove(0)).await["statusCode"], 202);
    stack.settle(1, Duration::from_secs(30)).await;
    assert_eq!(stack.sb.executions().len(), 1);
    run_from(&stack, 0).await;
    assert_eq!(stack.sb.invalidations().iter().map(|i| i.paths.clone()).collect::<Vec<_>>(), [[path_of(1)]]);

    // A publish no webhook brought: the sweep finds it, and only it (the
    // starter recorded the webhook's as taken).
    let entry = |id: String| {
        let graph = stack.sb.contentful_state.graph.lock().unwrap();
        graph.entries.iter().find(|e| e.id == id).cloned().expect("in the fixture")
    };
    let mut silent = entry(page(2));
    silent.revision = 2;
    stack.sb.contentful_state.publish(FixtureEntry { updated_at: None, ..silent });
    let second = sweep_once().await;
    assert_eq!((second["missed"].clone(), second["error"].clone()), (json!(1), Value::Null), "{second}");
    assert_eq!(stack.sb.executions().len(), 2);
    run_from(&stack, 1).await;
    let paths: Vec<Vec<String>> = stack.sb.invalidations().iter().map(|i| i.paths.clone()).collect();
    assert_eq!(paths, [[path_of(1)], [path_of(2)]]);
    let now = now_millis();
    assert!(stack.sb.invalidations().iter().all(|i| i.completes_ms <= now), "both Completed");

    // The memory and the sweep's record are in the eu-west-1 table.
    let dynamodb = stack.dynamodb.as_ref().unwrap();
    let keys: Vec<String> =
        dynamodb.items(MEMORY_TABLE).iter().map(|i| i["sk"]["S"].as_str().unwrap().to_string()).collect();
    for key in ["page-0001", "page-0002", "#sweep"] {
        assert!(keys.iter().any(|k| k == key), "{key} in {keys:?}");
    }
    // Every call was signed for its service's region and taken.
    assert_eq!(CLOUDFRONT_REGION, "us-east-1");
    all_answered("CloudFront", &stack.sb.cloudfront_requests());
    all_answered("SQS", &stack.sqs.log.all());
    all_answered("Step Functions", &stack.sb.stepfunctions_requests());
    all_answered("DynamoDB", &dynamodb.log.all());
}
