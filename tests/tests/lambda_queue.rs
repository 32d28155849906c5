//! The AWS body's queue end to end, offline: signed webhooks through the real
//! webhook function into the SQS stand-in, Lambda's event source mapping
//! (emulated) feeding the real starter function, executions started at the
//! Step Functions stand-in and run by the real ASL interpreter with the real
//! workflow function, invalidations at the CloudFront stand-in. Every SQS,
//! Step Functions, CloudFront, Secrets Manager and SSM call is SigV4-checked
//! by its stand-in, which refuses a bad signature as AWS does.

use invalidator_tests::asl::function_logging_to;
use invalidator_tests::asl::{entered, function, require_node_tools, SECRET};
use invalidator_tests::binaries::binary;
use invalidator_tests::loopback::loopback_only;
use invalidator_tests::queue_stack::{
    page, path_of, settings, signed_publishes, signed_publishes_with, Options, QueueStack,
};
use invalidator_tests::sandbox::secrets::{self, SecretsState, StoredSecret};
use invalidator_tests::sandbox::sqs::{queue_url, CHANGES_QUEUE, DEAD_LETTER_QUEUE};
use invalidator_tests::sandbox::RequestLog;
use invalidator_tests::toolkit;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A 1 s window and a 2 s visibility timeout, so redeliveries come quickly.
fn quick(pages: usize) -> Options {
    let mut options = Options::new(pages);
    options.window = Duration::from_secs(1);
    options.visibility_timeout = Duration::from_secs(2);
    options
}

/// Every path invalidated, with how many times.
fn invalidated(stack: &QueueStack) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for invalidation in stack.sb.invalidations() {
        for path in invalidation.paths {
            *counts.entry(path).or_default() += 1;
        }
    }
    counts
}

/// Runs every execution and checks each reached `EndInvalidation`.
async fn run_all_to_the_end(stack: &QueueStack) {
    for (ok, events) in stack.run_executions().await {
        let states = entered(&events);
        assert!(ok, "{states:?}");
        assert_eq!(states.last().map(String::as_str), Some("EndInvalidation"), "{states:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_200_webhooks_in_2_s_becomes_one_or_two_executions_and_invalidations() {
    require_node_tools();
    const N: usize = 200;
    let stack = QueueStack::start(Options::new(N)).await;
    let events = signed_publishes(0..N);
    let started = Instant::now();
    let mut answers = Vec::new();
    for event in events {
        // 200 deliveries spread over about 2 s, each answered before the next.
        answers.push(stack.deliver(&event).await);
        tokio::time::sleep(Duration::from_millis(8)).await;
    }
    let spread = started.elapsed();
    eprintln!("200 webhooks delivered in {spread:?}");
    for answer in &answers {
        assert_eq!(answer["statusCode"], 202, "{answer}");
    }
    stack.settle(1, Duration::from_secs(30)).await;
    let invocations = stack.events.invocations();
    assert!((1..=2).contains(&invocations.len()), "{} starter invocations", invocations.len());
    assert_eq!(invocations.iter().map(|i| i.message_ids.len()).sum::<usize>(), N);
    assert!(invocations.iter().all(|i| i.failed.is_empty()), "{invocations:?}");
    let executions = stack.sb.executions();
    assert!((1..=2).contains(&executions.len()), "{} executions", executions.len());
    run_all_to_the_end(&stack).await;
    let creates = stack.sb.cloudfront_requests().into_iter().filter(|r| r.method == "POST").count();
    assert!((1..=2).contains(&creates), "{creates} CreateInvalidation requests");
    let counts = invalidated(&stack);
    let expected: BTreeMap<String, usize> = (0..N).map(|i| (path_of(i), 1)).collect();
    assert_eq!(counts, expected, "every path invalidated exactly once");
    // Every SQS call (SendMessage, ReceiveMessage, DeleteMessageBatch) passed the stand-in's SigV4 check.
    let sqs = stack.sqs.log.all();
    assert!(sqs.iter().filter(|r| r.detail.starts_with("SendMessage")).count() == N, "{}", sqs.len());
    assert!(sqs.iter().all(|r| r.status == 200), "{:#?}", sqs.iter().filter(|r| r.status != 200).collect::<Vec<_>>());
    assert!(stack.sb.stepfunctions_requests().iter().all(|r| r.status == 200));
}

#[tokio::test(flavor = "multi_thread")]
async fn when_sqs_refuses_the_webhook_answers_503_and_the_retried_change_is_invalidated() {
    require_node_tools();
    let stack = QueueStack::start(Options::new(3)).await;
    let event = signed_publishes([1]).remove(0);
    stack.sqs.refuse_sends(Some("ServiceUnavailable"));
    let refused = stack.deliver(&event).await;
    assert_eq!(refused["statusCode"], 503, "{refused}");
    assert!(refused["body"].as_str().unwrap().contains("Contentful will retry"), "{refused}");
    assert!(stack.sqs.messages(CHANGES_QUEUE).is_empty());
    // SQS recovers; Contentful's retry (the same signed request) is queued.
    stack.sqs.refuse_sends(None);
    let taken = stack.deliver(&event).await;
    assert_eq!(taken["statusCode"], 202, "{taken}");
    stack.settle(1, Duration::from_secs(20)).await;
    assert_eq!(stack.sb.executions().len(), 1);
    run_all_to_the_end(&stack).await;
    assert_eq!(invalidated(&stack), BTreeMap::from([(path_of(1), 1)]));
    let sends: Vec<u16> =
        stack.sqs.log.all().iter().filter(|r| r.detail.starts_with("SendMessage")).map(|r| r.status).collect();
    assert_eq!(sends, [503, 200]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_message_signed_with_another_key_is_refused_and_answered_503() {
    require_node_tools();
    let stack = QueueStack::start(Options::new(1)).await;
    let mut wrong = settings(&stack.sb, Duration::from_secs(1));
    for (k, v) in wrong.iter_mut() {
        if k == "AWS_SECRET_ACCESS_KEY" {
            *v = "not-the-secret-key-of-the-role".into();
        }
    }
    wrong.push(("CHANGES_QUEUE_URL".into(), queue_url(&stack.sqs_endpoint, CHANGES_QUEUE)));
    wrong.push(("SQS_ENDPOINT".into(), stack.sqs_endpoint.clone()));
    let webhook = function("webhook", &wrong).await;
    let event = signed_publishes([0]).remove(0);
    let answer = webhook.api.invoke(event.to_string().as_bytes(), Duration::from_secs(30)).await.unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["statusCode"], 503, "{answer}");
    // The event source's polls are logged too: the send is the one to look at.
    let log = stack.sqs.log.all();
    let sends: Vec<(u16, &str)> =
        log.iter().filter(|r| r.detail.starts_with("SendMessage")).map(|r| (r.status, r.detail.as_str())).collect();
    assert_eq!(sends, [(403, "SendMessage SignatureDoesNotMatch")], "{log:#?}");
    assert!(stack.sqs.messages(CHANGES_QUEUE).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_batch_starts_no_second_execution() {
    require_node_tools();
    let stack = QueueStack::start(quick(5)).await;
    // The starter runs, but Lambda reports it timed out: the batch is not
    // deleted and comes back after the visibility timeout (2 s).
    stack.starter.api.lose_answer(1, "Sandbox.Timedout", "Task timed out after 60.00 seconds");
    for event in signed_publishes(0..5) {
        assert_eq!(stack.deliver(&event).await["statusCode"], 202);
    }
    stack.settle(2, Duration::from_secs(30)).await;
    let invocations = stack.events.invocations();
    assert_eq!(invocations.len(), 2, "{invocations:?}");
    assert!(invocations[0].error.as_deref().unwrap_or_default().contains("Sandbox.Timedout"));
    let (mut first, mut second) = (invocations[0].message_ids.clone(), invocations[1].message_ids.clone());
    first.sort();
    second.sort();
    assert_eq!(first, second, "the same batch, redelivered");
    assert_eq!(stack.sb.executions().len(), 1, "no second execution");
    let starts: Vec<(u16, String)> =
        stack.sb.stepfunctions_requests().iter().map(|r| (r.status, r.detail.clone())).collect();
    assert_eq!(starts.len(), 2, "{starts:?}");
    assert_eq!(starts[1], (400, "ExecutionAlreadyExists".to_string()));
    assert!(stack.sqs.messages(CHANGES_QUEUE).is_empty(), "the redelivery was taken and deleted");
    run_all_to_the_end(&stack).await;
    assert_eq!(invalidated(&stack), (0..5).map(|i| (path_of(i), 1)).collect());
}

/// A Function URL event of page 0's publish with `body`, carrying the signed
/// `key` and `attempt`, as Contentful delivers it.
fn delivery_with_key(body: &str, key: &str, attempt: u32) -> Value {
    let mut request = toolkit::publish(SECRET, "/", body.to_string());
    request.headers.insert("x-contentful-idempotency-key".into(), key.into());
    request.headers.insert("x-contentful-webhook-request-attempt".into(), attempt.to_string().into());
    let headers: serde_json::Map<String, Value> =
        toolkit::sign_all(&[request]).remove(0).into_iter().map(|(k, v)| (k, json!(v))).collect();
    json!({"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": headers,
        "requestContext": {"http": {"method": "POST"}, "timeEpoch": 1_800_000_000_000_i64},
        "body": body, "isBase64Encoded": false})
}

/// The JSON body of a Function URL answer.
fn answer_body(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_event_delivered_again_with_a_new_attempt_or_fired_twice_is_one_change_answered_taken() {
    require_node_tools();
    let mut options = quick(1);
    options.memory = true;
    let stack = QueueStack::start(options).await;
    const KEY: &str = "3c5e7a9b1d2f4e6a8c0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c";
    let body = toolkit::publish_body(&page(0), "page", 1, json!({"slug": {"en-US": page(0)}}));

    let first = stack.deliver(&delivery_with_key(&body, KEY, 1)).await;
    assert_eq!(first["statusCode"], 202, "{first}");
    let tracking_id = answer_body(&first)["tracking_id"].clone();
    stack.settle(1, Duration::from_secs(30)).await;
    assert_eq!(stack.sb.executions().len(), 1);

    // Contentful's retry (a new attempt number), and the same event fired
    // again with its body written again: both taken, neither queued.
    let mut again: Value = serde_json::from_str(&body).unwrap();
    again["sys"]["updatedAt"] = json!("2026-12-04T10:00:00.000Z");
    for (what, delivery) in
        [("retry", delivery_with_key(&body, KEY, 2)), ("fired again", delivery_with_key(&again.to_string(), KEY, 1))]
    {
        let answer = stack.deliver(&delivery).await;
        let said = answer_body(&answer);
        assert_eq!((&answer["statusCode"], &said["status"]), (&json!(200), &json!("taken")), "{what}: {answer}");
        assert_eq!(said["tracking_id"], tracking_id, "{what}: the original tracking id");
    }
    assert!(stack.sqs.messages(CHANGES_QUEUE).is_empty(), "nothing was queued again");
    assert_eq!(stack.sb.executions().len(), 1, "one change, one execution");
    run_all_to_the_end(&stack).await;
    assert_eq!(invalidated(&stack), [(path_of(0), 1)].into());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_that_keeps_failing_lands_in_the_dead_letter_queue_with_its_reason_logged() {
    require_node_tools();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut options = quick(2);
    options.starter_log = Stdio::from(log.reopen().unwrap());
    options.max_receive_count = 2;
    let stack = QueueStack::start(options).await;
    // A message that is not a change (sent by hand, or by an older webhook
    // function), and a good change in the same batch.
    let bad = send_raw(&stack, r#"{"sys":{"id":"not-a-change"}}"#).await;
    assert_eq!(stack.deliver(&signed_publishes([0]).remove(0)).await["statusCode"], 202);
    // Received twice (maxReceiveCount 2), failed both times, then moved.
    let until = Instant::now() + Duration::from_secs(30);
    while stack.sqs.messages(DEAD_LETTER_QUEUE).is_empty() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dead = stack.sqs.messages(DEAD_LETTER_QUEUE);
    assert_eq!(dead.iter().map(|m| m.message_id.as_str()).collect::<Vec<_>>(), [bad.as_str()]);
    assert!(stack.sqs.messages(CHANGES_QUEUE).is_empty());
    let invocations = stack.events.invocations();
    assert_eq!(
        invocations[0].failed,
        std::slice::from_ref(&bad),
        "only the bad message is reported failed: {invocations:?}"
    );
    // The good change started one execution and ran; the bad one started none.
    assert_eq!(stack.sb.executions().len(), 1);
    run_all_to_the_end(&stack).await;
    assert_eq!(invalidated(&stack), BTreeMap::from([(path_of(0), 1)]));
    // Its reason is in the starter's log, under its message id, once a receive.
    let text = std::fs::read_to_string(log.path()).unwrap();
    let reasons: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["message_id"] == bad.as_str())
        .collect();
    assert_eq!(reasons.len(), 2, "{text}");
    for r in &reasons {
        assert!(r["fields"]["reason"].as_str().unwrap().contains("the message is not a change"), "{r}");
    }
    assert_eq!(reasons[1]["fields"]["receives"], "2", "{reasons:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_step_functions_refuses_is_reported_failed_whole_and_ends_in_the_dead_letter_queue() {
    require_node_tools();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut options = quick(2);
    options.starter_log = Stdio::from(log.reopen().unwrap());
    options.max_receive_count = 1;
    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:deleted";
    options.starter_overrides = vec![("STATE_MACHINE_ARN".into(), missing.into())];
    let stack = QueueStack::start(options).await;
    for event in signed_publishes(0..2) {
        assert_eq!(stack.deliver(&event).await["statusCode"], 202);
    }
    let until = Instant::now() + Duration::from_secs(30);
    while stack.sqs.messages(DEAD_LETTER_QUEUE).len() < 2 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stack.sqs.messages(DEAD_LETTER_QUEUE).len(), 2, "both changes are dead letters");
    let first = &stack.events.invocations()[0];
    let (mut sent, mut failed) = (first.message_ids.clone(), first.failed.clone());
    sent.sort();
    failed.sort();
    assert_eq!(sent, failed, "every message of the batch is reported failed");
    assert!(stack.sb.executions().is_empty());
    let text = std::fs::read_to_string(log.path()).unwrap();
    for m in stack.sqs.messages(DEAD_LETTER_QUEUE) {
        let line = text.lines().find(|l| l.contains(&m.message_id)).unwrap_or_else(|| panic!("{text}"));
        assert!(line.contains("StateMachineDoesNotExist"), "{line}");
    }
}

/// Sends `body` to the changes queue as any AWS client would (signed); its message id.
async fn send_raw(stack: &QueueStack, body: &str) -> String {
    let mut map: invalidator_core::settings::SettingsMap =
        settings(&stack.sb, Duration::from_secs(1)).into_iter().collect();
    map.insert("CHANGES_QUEUE_URL".into(), queue_url(&stack.sqs_endpoint, CHANGES_QUEUE));
    map.insert("SQS_ENDPOINT".into(), stack.sqs_endpoint.clone());
    let queue = invalidator_lambda::sqs::QueueSettings::from_map(&map).unwrap().expect("a queue is set");
    let now = invalidator_core::Timestamp::from_millis(invalidator_tests::sandbox::now_millis());
    let request =
        reqwest::Request::try_from(invalidator_lambda::sqs::send_message(&queue, body, now).unwrap()).unwrap();
    let answer: Value = reqwest::Client::new().execute(request).await.unwrap().json().await.unwrap();
    answer["MessageId"].as_str().expect("SendMessage answered a MessageId").to_string()
}

const TOKEN_SECRET: &str = "invalidator/contentful-delivery-token";
const WEBHOOK_PARAMETER: &str = "/invalidator/contentful-webhook-secret";

async fn secret_store(stack: &QueueStack) -> (String, Arc<SecretsState>) {
    let state = Arc::new(SecretsState {
        expected: stack.sb.expected("secretsmanager"),
        secrets: vec![StoredSecret { name: TOKEN_SECRET.into(), value: stack.sb.contentful_state.token.clone() }],
        parameters: BTreeMap::from([(WEBHOOK_PARAMETER.to_string(), ("SecureString".to_string(), SECRET.to_string()))]),
        log: RequestLog::default(),
    });
    let addr = secrets::serve(state.clone()).await.unwrap();
    (format!("http://{addr}"), state)
}

/// `settings` with the Contentful secrets taken out and named in the stores instead.
fn from_the_stores(settings: Vec<(String, String)>, endpoint: &str, token_id: &str) -> Vec<(String, String)> {
    let mut s: Vec<(String, String)> = settings
        .into_iter()
        .filter(|(k, _)| k != "CONTENTFUL_DELIVERY_TOKEN" && k != "CONTENTFUL_WEBHOOK_SECRET")
        .collect();
    for (k, v) in [
        ("CONTENTFUL_DELIVERY_TOKEN_SECRET_ID", token_id),
        ("CONTENTFUL_WEBHOOK_SECRET_PARAMETER", WEBHOOK_PARAMETER),
        ("SECRETSMANAGER_ENDPOINT", endpoint),
        ("SSM_ENDPOINT", endpoint),
    ] {
        s.push((k.to_string(), v.to_string()));
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn the_functions_read_their_secrets_from_secrets_manager_and_ssm() {
    require_node_tools();
    let stack = QueueStack::start(Options::new(2)).await;
    let (endpoint, store) = secret_store(&stack).await;
    let arn = StoredSecret { name: TOKEN_SECRET.into(), value: String::new() }.arn("us-east-1");
    let mut webhook_settings = from_the_stores(settings(&stack.sb, Duration::from_secs(1)), &endpoint, &arn);
    webhook_settings.push(("CHANGES_QUEUE_URL".into(), queue_url(&stack.sqs_endpoint, CHANGES_QUEUE)));
    webhook_settings.push(("SQS_ENDPOINT".into(), stack.sqs_endpoint.clone()));
    let webhook = function("webhook", &webhook_settings).await;
    let workflow =
        function("workflow", &from_the_stores(settings(&stack.sb, Duration::from_secs(1)), &endpoint, TOKEN_SECRET))
            .await;
    // The webhook secret came from SSM: a signed webhook is verified and queued.
    let event = signed_publishes([1]).remove(0);
    let answer = webhook.api.invoke(event.to_string().as_bytes(), Duration::from_secs(30)).await.unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["statusCode"], 202, "{answer}");
    stack.settle(1, Duration::from_secs(20)).await;
    // The delivery token came from Secrets Manager: the walk reads the Delivery API with it.
    let input: Value = serde_json::from_str(&stack.sb.executions()[0].input).unwrap();
    let (ok, events) = invalidator_tests::asl::run_state_machine(workflow.api.invoke_url(), input).await;
    assert!(ok && entered(&events).last().map(String::as_str) == Some("EndInvalidation"), "{:?}", entered(&events));
    assert_eq!(invalidated(&stack), BTreeMap::from([(path_of(1), 1)]));
    assert!(stack.sb.contentful_state.log.all().iter().all(|r| r.status == 200));
    // Each function read each of its secrets once, every read signed for its service and checked.
    let reads: Vec<(&'static str, u16, String)> =
        store.log.all().into_iter().map(|r| (r.service, r.status, r.detail)).collect();
    assert_eq!(reads.len(), 4, "{reads:#?}");
    for (service, status, detail) in &reads {
        assert_eq!(*status, 200, "{reads:#?}");
        let expected = if detail.starts_with("secretsmanager.") { "secretsmanager" } else { "ssm" };
        assert_eq!(*service, expected);
    }
    assert!(reads.iter().any(|r| r.2 == format!("secretsmanager.GetSecretValue {arn}")), "{reads:#?}");
    assert!(reads.iter().any(|r| r.2 == format!("secretsmanager.GetSecretValue {TOKEN_SECRET}")), "{reads:#?}");
    assert!(reads.iter().any(|r| r.2 == format!("AmazonSSM.GetParameter {WEBHOOK_PARAMETER}")), "{reads:#?}");
}

/// Starts `bin` with `settings` and no Runtime API to reach: it must stop at
/// start-up. Its exit status and stderr.
fn start_up(bin: &str, settings: &[(String, String)]) -> (bool, String) {
    let exe = binary("invalidator-lambda", bin);
    let mut child = loopback_only(std::process::Command::new(exe).env_clear())
        .envs(settings.iter().cloned())
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("AWS_LAMBDA_FUNCTION_NAME", bin)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_secret_stops_start_up_naming_it_and_never_a_value() {
    require_node_tools();
    let stack = QueueStack::start(Options::new(1)).await;
    let (endpoint, store) = secret_store(&stack).await;
    let settings =
        from_the_stores(settings(&stack.sb, Duration::from_secs(1)), &endpoint, "invalidator/no-such-secret");
    let (ok, output) = tokio::task::spawn_blocking(move || start_up("workflow", &settings)).await.unwrap();
    assert!(!ok, "start-up went on: {output}");
    assert!(output.contains("CONTENTFUL_DELIVERY_TOKEN"), "{output}");
    assert!(output.contains("invalidator/no-such-secret") && output.contains("ResourceNotFoundException"), "{output}");
    assert!(!output.contains(SECRET) && !output.contains(&stack.sb.contentful_state.token), "{output}");
    let reads = store.log.all();
    assert_eq!(
        (reads[0].status, reads[0].detail.as_str()),
        (400, "secretsmanager.GetSecretValue ResourceNotFoundException")
    );
}

/// Page `i`'s fields with a `body` of `bytes` bytes beside its slug.
fn large_fields(i: usize, bytes: usize) -> Value {
    serde_json::json!({"slug": {"en-US": page(i)}, "body": {"en-US": "x".repeat(bytes)}})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_300_kb_publish_is_queued_whole_and_invalidated() {
    require_node_tools();
    let stack = QueueStack::start(quick(2)).await;
    let event = signed_publishes_with([(1, large_fields(1, 300_000))]).remove(0);
    assert!(event["body"].as_str().unwrap().len() > 300_000, "over SQS's old 256 KiB");
    let answer = stack.deliver(&event).await;
    assert_eq!(answer["statusCode"], 202, "{answer}");
    stack.settle(1, Duration::from_secs(30)).await;
    assert_eq!(stack.sb.executions().len(), 1);
    run_all_to_the_end(&stack).await;
    assert_eq!(invalidated(&stack), BTreeMap::from([(path_of(1), 1)]));
    assert!(stack.sqs.log.all().iter().all(|r| r.status == 200));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publish_past_sqs_s_1_mib_is_queued_with_its_rendered_paths_and_invalidated() {
    require_node_tools();
    let stack = QueueStack::start(quick(2)).await;
    // A body over 1 MiB gets past a raised WEBHOOK_MAX_BODY_BYTES; the change
    // with its fields would be over SQS's 1 MiB.
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut webhook_settings = stack.settings.clone();
    webhook_settings.push(("WEBHOOK_MAX_BODY_BYTES".into(), (2 << 20).to_string()));
    webhook_settings.push(("CHANGES_QUEUE_URL".into(), queue_url(&stack.sqs_endpoint, CHANGES_QUEUE)));
    webhook_settings.push(("SQS_ENDPOINT".into(), stack.sqs_endpoint.clone()));
    let webhook = function_logging_to("webhook", &webhook_settings, Stdio::from(log.reopen().unwrap())).await;
    let event = signed_publishes_with([(1, large_fields(1, 1_200_000))]).remove(0);
    let answer = webhook.api.invoke(event.to_string().as_bytes(), Duration::from_secs(30)).await.unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["statusCode"], 202, "{answer}");
    stack.settle(1, Duration::from_secs(30)).await;
    assert_eq!(stack.sb.executions().len(), 1);
    run_all_to_the_end(&stack).await;
    assert_eq!(invalidated(&stack), BTreeMap::from([(path_of(1), 1)]), "its rendered path, not a wildcard");
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(logged.contains("queued with its rendered items instead"), "{logged}");
    assert!(stack.sqs.log.all().iter().all(|r| r.status == 200));
}
