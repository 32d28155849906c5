//! The DynamoDB stand-in refuses what DynamoDB refuses (bad signatures,
//! unknown tables, oversized batches, in DynamoDB's `__type` shape), and the
//! Lambda body's path memory keeps at most `PATH_MEMORY_ENTRIES` entries,
//! dropping the least recently used, through `UnprocessedItems` as well.

use invalidator_core::io::{Clock, HttpClient};
use invalidator_core::memory::{PathMemory, Remember};
use invalidator_core::settings::SettingsMap;
use invalidator_lambda::dynamodb::{self, DynamoDbSettings, DynamoMemory, COUNT_KEY};
use invalidator_lambda::http_client::{ReqwestClient, SystemClock};
use invalidator_tests::sandbox::dynamodb::{serve, DynamoDbState};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

const TABLE: &str = "memory";

async fn standin() -> (Arc<DynamoDbState>, DynamoDbSettings) {
    let (addr, state) = serve(DynamoDbState::local(&[TABLE])).await.unwrap();
    let map: SettingsMap = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string()),
        ("PATH_MEMORY_TABLE", TABLE.to_string()),
        ("DYNAMODB_ENDPOINT", format!("http://{addr}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    (state, DynamoDbSettings::from_map(&map).unwrap().unwrap())
}

async fn call(settings: &DynamoDbSettings, operation: &str, body: Value) -> (u16, Value) {
    let request = dynamodb::request(settings, operation, &body, SystemClock.now()).unwrap();
    let response = ReqwestClient::default().send(request).await.unwrap();
    (response.status().as_u16(), serde_json::from_slice(response.body()).unwrap())
}

#[tokio::test]
async fn refusals_have_dynamodbs_shape() {
    let (_state, settings) = standin().await;
    let key = json!({"pk": {"S": "E1"}, "sk": {"S": "a"}});
    let (status, body) = call(&settings, "GetItem", json!({"TableName": "nope", "Key": key})).await;
    assert_eq!(
        (status, body["__type"].as_str().unwrap()),
        (400, "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException")
    );
    let puts: Vec<Value> =
        (0..26).map(|i| json!({"PutRequest": {"Item": {"pk": {"S": "E1"}, "sk": {"S": format!("e{i}")}}}})).collect();
    let (status, body) = call(&settings, "BatchWriteItem", json!({"RequestItems": {TABLE: puts}})).await;
    assert_eq!(status, 400);
    assert!(body["__type"].as_str().unwrap().ends_with("#ValidationException"), "{body}");
    let keys: Vec<Value> = (0..101).map(|i| json!({"pk": {"S": "E1"}, "sk": {"S": format!("e{i}")}})).collect();
    let (status, _) = call(&settings, "BatchGetItem", json!({"RequestItems": {TABLE: {"Keys": keys}}})).await;
    assert_eq!(status, 400);
    let big = "x".repeat(401 * 1024);
    let item = json!({"pk": {"S": "E1"}, "sk": {"S": "big"}, "memory": {"S": big}});
    let (status, body) = call(&settings, "PutItem", json!({"TableName": TABLE, "Item": item})).await;
    assert_eq!(status, 400, "{body}");
    let mut wrong = settings.clone();
    wrong.credentials.secret_access_key = invalidator_core::secret::Secret::new("not-the-secret");
    let (status, body) = call(&wrong, "GetItem", json!({"TableName": TABLE, "Key": key})).await;
    assert_eq!(status, 400);
    assert!(body["__type"].as_str().unwrap().ends_with("#InvalidSignatureException"), "{body}");
}

#[tokio::test]
async fn the_memory_drops_the_least_recently_used_past_its_size() {
    let (state, settings) = standin().await;
    let http = ReqwestClient::default();
    let memory =
        DynamoMemory { http: &http, clock: &SystemClock, settings: &settings, partition: "E1".into(), max_entries: 10 };
    // One of the drop's BatchWriteItem calls comes back partly unprocessed.
    state.unprocessed_batches.store(1, Ordering::SeqCst);
    for i in 0..11 {
        let id = format!("e{i:02}");
        let remember = Remember::published(1, vec![format!("/{id}")]);
        assert!(memory.recall(&id, Some(remember)).await.unwrap().is_empty());
        if i == 5 {
            // e00 is used again: the least recently used are now e01 and e02.
            assert_eq!(memory.recall("e00", None).await.unwrap(), ["/e00"]);
        }
        // Each use a millisecond apart, so "least recently" is one order.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let kept: Vec<String> = state
        .items(TABLE)
        .iter()
        .map(|i| i["sk"]["S"].as_str().unwrap().to_string())
        .filter(|sk| sk != COUNT_KEY)
        .collect();
    assert_eq!(kept.len(), 9, "{kept:?}");
    assert!(kept.contains(&"e00".to_string()) && kept.contains(&"e10".to_string()), "{kept:?}");
    assert!(!kept.contains(&"e01".to_string()) && !kept.contains(&"e02".to_string()), "{kept:?}");
    assert_eq!(state.unprocessed_batches.load(Ordering::SeqCst), 0, "the unprocessed write was sent again");
}
