//! The AWS body with its queue, offline, for the tests, the bench and the
//! demo: the webhook function sends changes to the SQS stand-in, an
//! [`EventSource`] (Lambda's event source mapping, emulated) feeds the
//! starter function, which starts executions at the Step Functions stand-in;
//! [`QueueStack::run_executions`] runs each through the real ASL interpreter
//! whose Tasks invoke the workflow function. Every AWS call is SigV4-checked
//! by its stand-in, each regional one in [`Options::region`] (CloudFront's
//! always in `us-east-1`, as the real one); with [`Options::memory`] the
//! starter and the workflow keep the path memory and the sweep's record in
//! the DynamoDB stand-in. The site is `pages` pages `page-0000`... whose rule is
//! `page: ["/{slug}"]`.

use crate::asl::{function, function_logging_to, run_state_machine, Function, SECRET};
use crate::event_source::{EventSource, Mapping};
use crate::sandbox::contentful::{Fixture, FixtureEntry};
use crate::sandbox::dynamodb::{self, DynamoDbState};
use crate::sandbox::sqs::{self, SqsState, CHANGES_QUEUE};
use crate::sandbox::{Config, Sandbox, DEMO_STATE_MACHINE};
use crate::toolkit;
use invalidator_core::settings::AwsCredentials;
use serde_json::{json, Value};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

/// The rule every page's path comes from.
pub const PATH_RULES: &str = r#"{"page":["/{slug}"]}"#;

/// Page `i`'s id, which is also its slug.
pub fn page(i: usize) -> String {
    format!("page-{i:04}")
}

/// Page `i`'s path.
pub fn path_of(i: usize) -> String {
    format!("/{}", page(i))
}

/// `pages` published pages, linked by nothing.
pub fn fixture(pages: usize) -> Fixture {
    let entries = (0..pages)
        .map(|i| FixtureEntry {
            id: page(i),
            content_type: "page".into(),
            revision: 1,
            fields: json!({"slug": {"en-US": page(i)}}).as_object().unwrap().clone(),
            links: Vec::new(),
            created_at: None,
            updated_at: None,
        })
        .collect();
    Fixture {
        space: "demo-space".into(),
        environment: "master".into(),
        page_size: 1000,
        default_locale: "en-US".into(),
        entries,
        assets: Vec::new(),
        deleted: Vec::new(),
    }
}

/// Function URL events for the publishes of `pages`, signed by the official
/// toolkit (one node process for all).
pub fn signed_publishes(pages: impl IntoIterator<Item = usize>) -> Vec<Value> {
    signed_publishes_with(pages.into_iter().map(|i| (i, json!({"slug": {"en-US": page(i)}}))))
}

/// The same for publishes of page `i` (revision 1) carrying `fields` each.
pub fn signed_publishes_with(publishes: impl IntoIterator<Item = (usize, Value)>) -> Vec<Value> {
    let bodies: Vec<String> =
        publishes.into_iter().map(|(i, fields)| toolkit::publish_body(&page(i), "page", 1, fields)).collect();
    let requests: Vec<_> = bodies.iter().map(|b| toolkit::publish(SECRET, "/", b.clone())).collect();
    toolkit::sign_all(&requests)
        .into_iter()
        .zip(bodies)
        .map(|(headers, body)| {
            let headers: serde_json::Map<String, Value> = headers.into_iter().map(|(k, v)| (k, json!(v))).collect();
            json!({"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": headers,
                "requestContext": {"http": {"method": "POST"}, "timeEpoch": 1_800_000_000_000_i64},
                "body": body, "isBase64Encoded": false})
        })
        .collect()
}

/// How to build the stack.
pub struct Options {
    pub pages: usize,
    /// The event source mapping's batching window (`COLLECT_WINDOW_SECONDS`).
    pub window: Duration,
    pub batch_size: usize,
    pub visibility_timeout: Duration,
    pub max_receive_count: u32,
    /// Where the starter's log goes.
    pub starter_log: Stdio,
    /// Settings that replace the starter's own.
    pub starter_overrides: Vec<(String, String)>,
    /// `AWS_REGION`, and the region of the regional stand-ins.
    pub region: String,
    /// A DynamoDB stand-in (table [`MEMORY_TABLE`]) for the path memory and
    /// the sweep's record, named to the starter and the workflow.
    pub memory: bool,
}

/// The path memory's table when [`Options::memory`] is on.
pub const MEMORY_TABLE: &str = "invalidator-memory";

impl Options {
    pub fn new(pages: usize) -> Options {
        Options {
            pages,
            window: Duration::from_secs(3),
            batch_size: 1000,
            // Longer than the window, as AWS requires of a mapping's queue.
            visibility_timeout: Duration::from_secs(5),
            max_receive_count: 3,
            starter_log: Stdio::null(),
            starter_overrides: Vec::new(),
            region: crate::sandbox::DEFAULT_REGION.into(),
            memory: false,
        }
    }
}

pub struct QueueStack {
    pub sb: Sandbox,
    pub sqs: Arc<SqsState>,
    pub sqs_endpoint: String,
    pub webhook: Function,
    pub starter: Function,
    pub workflow: Function,
    pub events: EventSource,
    /// The DynamoDB stand-in, with [`Options::memory`].
    pub dynamodb: Option<Arc<DynamoDbState>>,
    /// What every function is given (the webhook adds its queue, the starter takes a part).
    pub settings: Vec<(String, String)>,
}

impl QueueStack {
    pub async fn start(options: Options) -> QueueStack {
        let config = Config::local(fixture(options.pages), Duration::from_millis(2500), vec![]);
        let sb = Sandbox::start(config.in_region(&options.region)).await.expect("the sandbox starts");
        let sqs = SqsState::new(
            sb.expected("sqs"),
            sqs::changes_queues(options.visibility_timeout, options.max_receive_count),
        );
        let sqs_endpoint = format!("http://{}", sqs::serve(sqs.clone()).await.expect("the SQS stand-in starts"));
        let queue_url = sqs::queue_url(&sqs_endpoint, CHANGES_QUEUE);
        let mut all = settings(&sb, options.window);
        let mut starter_env = starter_settings(&sb, options.window);
        let mut dynamodb = None;
        if options.memory {
            let (addr, state) = dynamodb::serve(DynamoDbState::in_region(&sb.region, &[MEMORY_TABLE]))
                .await
                .expect("the DynamoDB stand-in starts");
            let table =
                [("PATH_MEMORY_TABLE", MEMORY_TABLE.to_string()), ("DYNAMODB_ENDPOINT", format!("http://{addr}"))]
                    .map(|(k, v)| (k.to_string(), v));
            all.extend(table.clone());
            starter_env.extend(table);
            dynamodb = Some(state);
        }
        let mut webhook_settings = all.clone();
        webhook_settings.push(("CHANGES_QUEUE_URL".into(), queue_url.clone()));
        webhook_settings.push(("SQS_ENDPOINT".into(), sqs_endpoint.clone()));
        let webhook = function("webhook", &webhook_settings).await;
        starter_env.retain(|(k, _)| !options.starter_overrides.iter().any(|(o, _)| o == k));
        starter_env.extend(options.starter_overrides);
        let starter = function_logging_to("starter", &starter_env, options.starter_log).await;
        let workflow = function("workflow", &all).await;
        let map = all.iter().cloned().collect();
        let events = EventSource::start(Mapping {
            sqs_endpoint: sqs_endpoint.clone(),
            queue_url,
            queue_arn: format!("arn:aws:sqs:{}:{}:{CHANGES_QUEUE}", sb.region, sqs::ACCOUNT),
            batch_size: options.batch_size,
            window: options.window,
            credentials: AwsCredentials::from_map(&map).unwrap(),
            function: starter.api.clone(),
            timeout: Duration::from_secs(60),
        });
        QueueStack { sb, sqs, sqs_endpoint, webhook, starter, workflow, events, dynamodb, settings: all }
    }

    /// Delivers a Function URL event to the webhook function; its answer.
    pub async fn deliver(&self, event: &Value) -> Value {
        let answer = self.webhook.api.invoke(event.to_string().as_bytes(), Duration::from_secs(30)).await.unwrap();
        serde_json::from_slice(&answer).unwrap()
    }

    /// Waits until the queue is empty and the starter answered at least
    /// `invocations` times (or `bound` passed).
    pub async fn settle(&self, invocations: usize, bound: Duration) {
        let until = std::time::Instant::now() + bound;
        while std::time::Instant::now() < until {
            let drained = self.sqs.messages(CHANGES_QUEUE).is_empty();
            if drained && self.events.invocations().len() >= invocations {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs every started execution through the ASL, in order: (succeeded, events) each.
    pub async fn run_executions(&self) -> Vec<(bool, Vec<Value>)> {
        let mut runs = Vec::new();
        for execution in self.sb.executions() {
            let input: Value = serde_json::from_str(&execution.input).unwrap();
            runs.push(run_state_machine(self.workflow.api.invoke_url(), input).await);
        }
        runs
    }
}

/// What every function is given: the stand-ins and the test credentials.
pub fn settings(sb: &Sandbox, window: Duration) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> =
        sb.settings(crate::sandbox::DEMO_DISTRIBUTION, SECRET).into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    all.extend(
        [
            ("PATH_RULES", PATH_RULES.to_string()),
            ("COLLECT_WINDOW_SECONDS", window.as_secs().to_string()),
            ("FRESHNESS_MAX_WAIT_SECONDS", "2".into()),
            ("POLL_FIRST_SECONDS", "1".into()),
            ("STATE_MACHINE_ARN", DEMO_STATE_MACHINE.into()),
            ("STEPFUNCTIONS_ENDPOINT", sb.stepfunctions_url()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    all
}

/// The starter's settings: no Contentful secret, only what it uses.
pub fn starter_settings(sb: &Sandbox, window: Duration) -> Vec<(String, String)> {
    const USED: [&str; 8] = [
        "CLOUDFRONT_DISTRIBUTION_ID",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "PATH_RULES",
        "COLLECT_WINDOW_SECONDS",
        "STATE_MACHINE_ARN",
        "STEPFUNCTIONS_ENDPOINT",
    ];
    settings(sb, window).into_iter().filter(|(k, _)| USED.contains(&k.as_str())).collect()
}
