//! The AWS catch-up sweep keeps its record (position, revisions taken, last
//! report) in the path memory's DynamoDB table: the stand-in checks every
//! call's SigV4 signature. A new store per sweep is a new cold start: all it
//! knows is what the table holds. The `sweep` binary runs at a Runtime API as
//! Lambda runs it, the executions it starts run through the real ASL
//! interpreter with the workflow binary, and the starter binary (fed through
//! the emulated event source mapping) records what webhooks brought.

use invalidator_core::settings::{Settings, SettingsMap};
use invalidator_core::sync::Position;
use invalidator_lambda::dynamodb::DynamoDbSettings;
use invalidator_lambda::http_client::{ReqwestClient, SystemClock};
use invalidator_lambda::stepfunctions::StepFunctionsSettings;
use invalidator_lambda::sweep::{SweepFunction, SweepStore};
use invalidator_lambda::sweep_store::{partition, DynamoSweepStore, RECORD_KEY};
use invalidator_tests::asl::{entered, function, function_logging_to, require_node_tools, run_state_machine, SECRET};
use invalidator_tests::binaries::binary;
use invalidator_tests::loopback::client;
use invalidator_tests::queue_stack::{self, signed_publishes, QueueStack};
use invalidator_tests::sandbox::dynamodb::{self, DynamoDbState};
use invalidator_tests::sandbox::{Config, Fault, Fixture, Sandbox, DEMO_DISTRIBUTION, DEMO_STATE_MACHINE};
use serde_json::{json, Value};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

const TABLE: &str = "invalidator-memory";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct Aws {
    sb: Sandbox,
    dynamodb: Arc<DynamoDbState>,
    map: SettingsMap,
}

impl Aws {
    async fn start() -> Aws {
        let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
        let sb = Sandbox::start(Config::local(fixture, Duration::from_millis(800), vec![])).await.unwrap();
        let (addr, dynamodb) = dynamodb::serve(DynamoDbState::local(&[TABLE])).await.unwrap();
        let map = [
            ("CLOUDFRONT_DISTRIBUTION_ID", DEMO_DISTRIBUTION.to_string()),
            ("CLOUDFRONT_ENDPOINT", sb.cloudfront_url()),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".into()),
            ("AWS_SECRET_ACCESS_KEY", AWS_SECRET.into()),
            ("CONTENTFUL_SPACE_ID", "demo-space".into()),
            ("CONTENTFUL_DELIVERY_TOKEN", "demo-delivery-token".into()),
            ("CONTENTFUL_CDA_ENDPOINT", sb.contentful_url()),
            ("CONTENTFUL_WEBHOOK_SECRET", SECRET.into()),
            ("PATH_RULES", r#"{"page":["/{slug}"],"always":["/"]}"#.into()),
            ("STATE_MACHINE_ARN", DEMO_STATE_MACHINE.into()),
            ("STEPFUNCTIONS_ENDPOINT", sb.stepfunctions_url()),
            ("PATH_MEMORY_TABLE", TABLE.into()),
            ("DYNAMODB_ENDPOINT", format!("http://{addr}")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Aws { sb, dynamodb, map }
    }

    fn function(&self) -> SweepFunction {
        SweepFunction {
            settings: Settings::from_map(&self.map).unwrap(),
            stepfunctions: StepFunctionsSettings::from_map(&self.map).unwrap(),
            memory: None,
        }
    }

    fn table(&self, secret: &str) -> DynamoDbSettings {
        let mut map = self.map.clone();
        map.insert("AWS_SECRET_ACCESS_KEY".into(), secret.into());
        DynamoDbSettings::from_map(&map).unwrap().unwrap()
    }

    async fn publish_silently(&self, id: &str, slug: &str) {
        let entry = json!({"id": id, "contentType": "page", "revision": 3, "fields": {"slug": {"en-US": slug}}});
        let url = format!("{}/__sandbox/entries", self.sb.contentful_url());
        assert_eq!(client().post(url).json(&entry).send().await.unwrap().status(), 204);
    }

    /// Every DynamoDB request was correctly signed and answered.
    fn every_dynamodb_call_succeeded(&self) {
        let calls = self.dynamodb.log.all();
        assert!(!calls.is_empty(), "the table was used");
        assert!(calls.iter().all(|c| c.status == 200), "{calls:#?}");
    }
}

fn store<'a, H: invalidator_core::io::HttpClient>(
    settings: &'a DynamoDbSettings,
    http: &'a H,
) -> DynamoSweepStore<'a, H, SystemClock> {
    DynamoSweepStore { http, clock: &SystemClock, settings, partition: partition(&[DEMO_DISTRIBUTION.to_string()]) }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_record_is_one_item_of_the_table_and_a_cold_start_goes_on_from_it() {
    let aws = Aws::start().await;
    let (http, table) = (ReqwestClient::default(), aws.table(AWS_SECRET));

    let first = aws.function().handle(&http, &SystemClock, &store(&table, &http)).await.unwrap();
    assert!(first.first && first.complete && first.missed == 0, "{first:?}");
    assert!(aws.sb.executions().is_empty(), "the first sweep starts nothing");
    let items = aws.dynamodb.items(TABLE);
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        (items[0]["pk"]["S"].as_str(), items[0]["sk"]["S"].as_str()),
        (Some("sweep#EDEMO123"), Some(RECORD_KEY))
    );

    aws.publish_silently("winter-sale", "summer-sale").await;
    let second = aws.function().handle(&http, &SystemClock, &store(&table, &http)).await.unwrap();
    assert_eq!((second.first, second.missed, second.error.clone()), (false, 1, None), "{second:?}");
    assert_eq!(aws.sb.executions().len(), 1);
    let kept = store(&table, &http).load().await.unwrap();
    assert_eq!(kept.last, Some(second));
    assert_eq!(kept.taken.len(), 1, "the missed change's revision is taken");

    let third = aws.function().handle(&http, &SystemClock, &store(&table, &http)).await.unwrap();
    assert_eq!((third.items, third.missed), (0, 0), "{third:?}");
    assert_eq!(aws.sb.executions().len(), 1, "nothing new, nothing started");
    aws.every_dynamodb_call_succeeded();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_failing_mid_page_resumes_from_the_stored_token() {
    let aws = Aws::start().await;
    let (http, table) = (ReqwestClient::default(), aws.table(AWS_SECRET));
    aws.function().handle(&http, &SystemClock, &store(&table, &http)).await.unwrap();
    let position = store(&table, &http).load().await.unwrap().position;
    assert!(matches!(position, Position::Sync(_)), "{position:?}");
    for (id, slug) in [("home", "home-new"), ("winter-sale", "sale"), ("footer", "footer")] {
        aws.publish_silently(id, slug).await;
    }

    aws.sb.contentful_state.faults.lock().unwrap().push_back(Fault { on: "sync-page".into(), answer: "503".into() });
    let failed = aws.function().handle(&http, &SystemClock, &store(&table, &http)).await.unwrap();
    assert!(failed.error.as_deref().is_some_and(|e| e.contains("503")), "{failed:?}");
    let kept = store(&table, &http).load().await.unwrap();
    assert_eq!((kept.position, kept.last), (position.clone(), Some(failed)));
    assert!(aws.sb.executions().is_empty());

    let retried = aws.function().handle(&http, &SystemClock, &store(&table, &http)).await.unwrap();
    assert_eq!((retried.missed, retried.error.clone()), (3, None), "{retried:?}");
    assert_eq!(aws.sb.executions().len(), 1);
    assert_ne!(store(&table, &http).load().await.unwrap().position, position);
    aws.every_dynamodb_call_succeeded();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_that_refuses_the_signature_stops_the_sweep_before_it_reads() {
    let aws = Aws::start().await;
    let (http, wrong) = (ReqwestClient::default(), aws.table("not-the-secret-key-of-the-role"));
    let error = aws.function().handle(&http, &SystemClock, &store(&wrong, &http)).await.unwrap_err();
    assert!(error.contains("cannot read the sweep's record") && error.contains("InvalidSignatureException"), "{error}");
    assert!(!error.contains("not-the-secret-key"), "no secret in errors: {error}");
    let calls = aws.dynamodb.log.all();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].status, 400);
    assert!(aws.sb.executions().is_empty());
    assert!(aws.dynamodb.items(TABLE).is_empty());
}

impl Aws {
    fn settings(&self) -> Vec<(String, String)> {
        let rules = [("COLLECT_WINDOW_SECONDS", "0"), ("FRESHNESS_MAX_WAIT_SECONDS", "2"), ("POLL_FIRST_SECONDS", "1")];
        let mut all: Vec<(String, String)> = self.map.clone().into_iter().collect();
        all.extend(rules.map(|(k, v)| (k.to_string(), v.to_string())));
        all
    }

    /// Runs the last execution started through the ASL with the workflow binary; the paths it invalidated.
    async fn run_last_execution(&self) -> Vec<String> {
        let before = self.sb.invalidations().len();
        let execution = self.sb.executions().pop().expect("an execution");
        let workflow = function("workflow", &self.settings()).await;
        let (ok, events) =
            run_state_machine(workflow.api.invoke_url(), serde_json::from_str(&execution.input).unwrap()).await;
        assert!(ok, "{events:#?}");
        assert_eq!(entered(&events).last().map(String::as_str), Some("EndInvalidation"));
        let all = self.sb.invalidations();
        assert_eq!(all.len(), before + 1);
        all[before].paths.clone()
    }
}

impl Aws {
    /// `invalidator status` on the distribution's first invalidation: its stdout.
    async fn status(&self) -> String {
        let id = self.sb.invalidations()[0].id.clone();
        let mut cmd = std::process::Command::new(binary("invalidator-lambda", "invalidator"));
        cmd.env_clear().envs(self.map.clone()).args(["status", &id]);
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

/// A scheduled event as EventBridge sends it.
fn scheduled_event() -> Vec<u8> {
    json!({"version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-27T08:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/invalidator-sweep"], "detail": {}})
    .to_string()
    .into_bytes()
}

async fn sweep_once(sweep: &invalidator_tests::asl::Function) -> Value {
    let answer = sweep.api.invoke(&scheduled_event(), Duration::from_secs(60)).await;
    serde_json::from_slice(&answer.expect("the sweep function answers")).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_function_invalidates_a_missed_publish_and_then_a_deletion_by_its_remembered_path() {
    require_node_tools();
    let aws = Aws::start().await;
    let log = tempfile::NamedTempFile::new().unwrap();
    let sweep = function_logging_to("sweep", &aws.settings(), Stdio::from(log.reopen().unwrap())).await;

    let first = sweep_once(&sweep).await;
    assert_eq!((first["first"].clone(), first["missed"].clone()), (json!(true), json!(0)), "{first}");
    assert!(aws.sb.executions().is_empty() && aws.sb.invalidations().is_empty(), "the first sweep invalidates nothing");

    aws.publish_silently("winter-sale", "summer-sale").await;
    let second = sweep_once(&sweep).await;
    assert_eq!(second["missed"], 1, "{second}");
    // A rename: the first sweep kept winter-sale's path, so the old one goes too.
    assert_eq!(aws.run_last_execution().await, ["/", "/summer-sale", "/winter-sale"]);
    let logged = std::fs::read_to_string(log.path()).unwrap();
    let warning = logged.lines().find(|l| l.contains("WARN") && l.contains("no webhook brought"));
    assert!(warning.is_some_and(|w| w.contains("winter-sale")), "a warning names the missed change:\n{logged}");
    let status = aws.status().await;
    assert!(status.contains("last sweep: ") && status.contains("1 item(s) read"), "{status}");
    assert!(status.contains("1 missed change(s)") && status.contains("entry winter-sale publish"), "{status}");
    let execution = aws.sb.executions().pop().unwrap().name;
    assert!(status.contains(&format!("execution {execution}")), "the invalidations they caused:\n{status}");

    // Deleted without a webhook: the sweep's DeletedEntry carries no fields;
    // the workflow remembered the entry's path when it invalidated it.
    let url = format!("{}/__sandbox/entries/winter-sale", aws.sb.contentful_url());
    assert_eq!(client().delete(url).send().await.unwrap().status(), 204);
    let third = sweep_once(&sweep).await;
    assert_eq!(third["missed"], 1, "{third}");
    assert_eq!(aws.run_last_execution().await, ["/", "/summer-sale"], "the remembered path, not the rule's /*");
    aws.every_dynamodb_call_succeeded();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_a_webhook_brought_is_not_invalidated_again_by_the_sweep() {
    require_node_tools();
    let mut options = queue_stack::Options::new(3);
    options.window = Duration::from_secs(1);
    let (addr, dynamodb) = dynamodb::serve(DynamoDbState::local(&[TABLE])).await.unwrap();
    let table = [("PATH_MEMORY_TABLE", TABLE.to_string()), ("DYNAMODB_ENDPOINT", format!("http://{addr}"))];
    options.starter_overrides = options_table(&table);
    let stack = QueueStack::start(options).await;
    let mut map: SettingsMap = queue_stack::settings(&stack.sb, Duration::from_secs(1)).into_iter().collect();
    map.extend(options_table(&table));
    let function = SweepFunction {
        settings: Settings::from_map(&map).unwrap(),
        stepfunctions: StepFunctionsSettings::from_map(&map).unwrap(),
        memory: None,
    };
    let (http, settings) = (ReqwestClient::default(), DynamoDbSettings::from_map(&map).unwrap().unwrap());
    let first = function.handle(&http, &SystemClock, &store(&settings, &http)).await.unwrap();
    assert!(first.first && first.missed == 0, "{first:?}");

    // page-0001 is published (revision 1, as the signed webhook says) and its webhook delivered.
    let page = stack.sb.contentful_state.graph.lock().unwrap().entries[1].clone();
    stack.sb.contentful_state.publish(invalidator_tests::sandbox::FixtureEntry { updated_at: None, ..page });
    assert_eq!(stack.deliver(&signed_publishes([1]).remove(0)).await["statusCode"], 202);
    stack.settle(1, Duration::from_secs(30)).await;
    assert_eq!(stack.sb.executions().len(), 1, "the webhook's execution");

    let sweep = function.handle(&http, &SystemClock, &store(&settings, &http)).await.unwrap();
    assert_eq!((sweep.items, sweep.missed, sweep.error.clone()), (1, 0, None), "{sweep:?}");
    assert_eq!(stack.sb.executions().len(), 1, "the sweep started nothing");
    let calls = dynamodb.log.all();
    assert!(calls.len() >= 2 && calls.iter().all(|c| c.status == 200), "{calls:#?}");
}

fn options_table(table: &[(&str, String)]) -> Vec<(String, String)> {
    table.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// An HTTP client that holds the first PutItem it is asked to send until
/// `between` has run to its end: the writer using it has read the record, and
/// another writes it before it does.
struct WritesBetween<'a> {
    http: ReqwestClient,
    between: std::cell::RefCell<Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>>>,
}

impl<'a> WritesBetween<'a> {
    fn new(between: impl std::future::Future<Output = ()> + 'a) -> Self {
        WritesBetween { http: ReqwestClient::default(), between: std::cell::RefCell::new(Some(Box::pin(between))) }
    }
}

impl invalidator_core::io::HttpClient for WritesBetween<'_> {
    async fn send(
        &self,
        request: invalidator_core::io::HttpRequest,
    ) -> Result<invalidator_core::io::HttpResponse, invalidator_core::io::TransportError> {
        let put = request.headers().get("x-amz-target").is_some_and(|t| t == "DynamoDB_20120810.PutItem");
        let between = if put { self.between.borrow_mut().take() } else { None };
        if let Some(between) = between {
            between.await;
        }
        self.http.send(request).await
    }
}

/// A webhook's change to page `id` at `revision`, as the starter records it.
fn webhook_change(id: &str, revision: u64) -> invalidator_core::webhook::Change {
    invalidator_core::testing::ChangeBuilder::publish(id).content_type("page").slug(id).revision(revision).build()
}

fn covers(taken: &invalidator_core::sweep::Taken, id: &str, revision: u64) -> bool {
    taken.covers(&invalidator_core::sync::SyncItem {
        kind: invalidator_core::webhook::EntityKind::Entry,
        id: id.into(),
        deleted: false,
        revision: Some(revision),
        content_type: Some("page".into()),
        space: None,
        environment: None,
        fields: None,
    })
}

/// The DynamoDB calls refused, as (status, operation).
fn refused_calls(aws: &Aws) -> Vec<(u16, String)> {
    aws.dynamodb.log.all().into_iter().filter(|c| c.status != 200).map(|c| (c.status, c.detail)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_starters_record_and_the_sweeps_save_interleaved_lose_nothing_and_never_roll_the_position_back() {
    let aws = Aws::start().await;
    let (http, table) = (ReqwestClient::default(), aws.table(AWS_SECRET));
    aws.function().handle(&http, &SystemClock, &store(&table, &http)).await.unwrap();
    let first = store(&table, &http).load().await.unwrap().position;

    // The sweep reads the record to save it; a starter records a webhook's
    // change before the sweep writes. The sweep's write is refused, it reads
    // again and saves over the starter's record.
    aws.publish_silently("winter-sale", "summer-sale").await;
    let home = [webhook_change("home", 7)];
    let starter_store = store(&table, &http);
    let starter = async {
        invalidator_lambda::sweep_store::record_taken(&starter_store, &home).await.unwrap();
    };
    let interleaved = WritesBetween::new(starter);
    let swept = aws.function().handle(&interleaved, &SystemClock, &store(&table, &interleaved)).await.unwrap();
    assert_eq!((swept.missed, swept.error.clone()), (1, None), "{swept:?}");
    let kept = store(&table, &http).load().await.unwrap();
    assert!(covers(&kept.taken, "home", 7), "the starter's mark is kept: {kept:?}");
    assert!(covers(&kept.taken, "winter-sale", 3), "the sweep's mark: {kept:?}");
    assert_ne!(kept.position, first, "the sweep moved the position on");
    assert_eq!(kept.last, Some(swept));
    assert_eq!(refused_calls(&aws), [(400, "DynamoDB_20120810.PutItem".to_string())], "the sweep's first write");

    // Now a starter reads, and a sweep moves the position on before the
    // starter writes: the starter's write is refused, and it records its
    // change over the sweep's record, not over the position it read.
    let second = kept.position;
    aws.publish_silently("footer", "footer").await;
    let function = aws.function();
    let sweep_store = store(&table, &http);
    let sweep = async {
        let report = function.handle(&http, &SystemClock, &sweep_store).await.unwrap();
        assert_eq!(report.missed, 1, "{report:?}");
    };
    let interleaved = WritesBetween::new(sweep);
    let about = [webhook_change("about", 4)];
    invalidator_lambda::sweep_store::record_taken(&store(&table, &interleaved), &about).await.unwrap();
    let kept = store(&table, &http).load().await.unwrap();
    assert_ne!(kept.position, second, "never rolled back to what the starter read");
    for (id, revision) in [("home", 7), ("winter-sale", 3), ("footer", 3), ("about", 4)] {
        assert!(covers(&kept.taken, id, revision), "{id} is taken: {kept:?}");
    }
    assert_eq!(refused_calls(&aws).len(), 2, "and the starter's first write: {:?}", refused_calls(&aws));
    let item = &aws.dynamodb.items(TABLE)[0];
    assert_eq!(item["version"]["N"], "5", "five writes landed: {item:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_stored_before_versions_is_read_and_written_on() {
    let aws = Aws::start().await;
    let (http, table) = (ReqwestClient::default(), aws.table(AWS_SECRET));
    let old =
        invalidator_lambda::sweep::SweepRecord { position: Position::Sync("old-token".into()), ..Default::default() };
    let old = serde_json::to_string(&old).unwrap();
    let key = (partition(&[DEMO_DISTRIBUTION.to_string()]), RECORD_KEY.to_string());
    let item = json!({"pk": {"S": key.0}, "sk": {"S": key.1}, "record": {"S": old}});
    aws.dynamodb.tables.lock().unwrap().get_mut(TABLE).unwrap().insert(key, item.as_object().unwrap().clone());

    let loaded = store(&table, &http).load().await.unwrap();
    assert_eq!(loaded.position, Position::Sync("old-token".into()));
    invalidator_lambda::sweep_store::record_taken(&store(&table, &http), &[webhook_change("home", 2)]).await.unwrap();
    invalidator_lambda::sweep_store::record_taken(&store(&table, &http), &[webhook_change("about", 1)]).await.unwrap();
    let kept = store(&table, &http).load().await.unwrap();
    assert_eq!(kept.position, Position::Sync("old-token".into()));
    assert!(covers(&kept.taken, "home", 2) && covers(&kept.taken, "about", 1), "{kept:?}");
    assert_eq!(aws.dynamodb.items(TABLE)[0]["version"]["N"], "2");
    aws.every_dynamodb_call_succeeded();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_sweep_fills_the_path_memory_in_batches_so_an_unannounced_unpublish_is_exact() {
    use invalidator_core::memory::{PathMemory, Remember};
    use invalidator_lambda::dynamodb::DynamoMemory;
    let aws = Aws::start().await;
    // 30 pages published before the deployment: more than one BatchWriteItem holds.
    for i in 0..30 {
        aws.publish_silently(&format!("old-{i}"), &format!("old-{i}")).await;
    }
    let (http, table) = (ReqwestClient::default(), aws.table(AWS_SECRET));
    let function = SweepFunction { memory: Some(table.clone()), ..aws.function() };
    // Throttled: the first two batch calls each leave one request unprocessed.
    aws.dynamodb.unprocessed_batches.store(2, std::sync::atomic::Ordering::SeqCst);
    let first = function.handle(&http, &SystemClock, &store(&table, &http)).await.unwrap();
    assert!(first.first && first.complete, "{first:?}");
    aws.every_dynamodb_call_succeeded();
    let calls = aws.dynamodb.log.all();
    let writes = calls.iter().filter(|c| c.detail.ends_with("BatchWriteItem")).count();
    assert!(writes >= 2, "32 records in batches of at most 25: {calls:#?}");

    // Neither was ever announced by a webhook: their unpublish recalls their exact paths.
    let memory = DynamoMemory {
        http: &http,
        clock: &SystemClock,
        settings: &table,
        partition: DEMO_DISTRIBUTION.into(),
        max_entries: 10_000,
    };
    assert_eq!(memory.recall("old-17", Some(Remember::removed(4))).await.unwrap(), ["/old-17"]);
    assert_eq!(memory.recall("winter-sale", Some(Remember::removed(9))).await.unwrap(), ["/winter-sale"]);
    let count = aws.dynamodb.items(TABLE).into_iter().find(|i| i["sk"]["S"] == "#count").expect("a count item");
    assert_eq!(count["count"]["N"], "32", "the 30 pages, home and winter-sale: {count:?}");
}
