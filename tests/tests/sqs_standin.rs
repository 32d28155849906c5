//! The SQS stand-in takes a message up to SQS's 1 MiB (its cap since
//! January 2026) and refuses a larger one as SQS does; it is in its region
//! and refuses a signature scoped to another.

use invalidator_core::settings::SettingsMap;
use invalidator_lambda::sqs::{send_message, QueueSettings, MESSAGE_MAX_BYTES};
use invalidator_tests::sandbox::sqs::{self, SqsState, CHANGES_QUEUE};
use invalidator_tests::sandbox::{expected_in, now_millis, ACCESS_KEY_ID, SECRET_ACCESS_KEY};
use serde_json::Value;
use std::time::Duration;

/// The stand-in in `region`, and a queue client signing for `signing_region`.
async fn queue(region: &str, signing_region: &str) -> (std::sync::Arc<SqsState>, QueueSettings) {
    let state = SqsState::new(expected_in(region, "sqs"), sqs::changes_queues(Duration::from_secs(30), 3));
    let endpoint = format!("http://{}", sqs::serve(state.clone()).await.unwrap());
    let map: SettingsMap = [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_string()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_string()),
        ("AWS_REGION", signing_region.to_string()),
        ("CHANGES_QUEUE_URL", sqs::queue_url(&endpoint, CHANGES_QUEUE)),
        ("SQS_ENDPOINT", endpoint),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    (state, QueueSettings::from_map(&map).unwrap().unwrap())
}

async fn send(queue: &QueueSettings, body: &str) -> (u16, Value) {
    let now = invalidator_core::Timestamp::from_millis(now_millis());
    let request = reqwest::Request::try_from(send_message(queue, body, now).unwrap()).unwrap();
    let answer = reqwest::Client::new().execute(request).await.unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

#[tokio::test]
async fn a_message_of_1_mib_is_taken_and_one_byte_more_is_refused() {
    let (state, queue) = queue("us-east-1", "us-east-1").await;
    assert_eq!(MESSAGE_MAX_BYTES, 1024 * 1024);
    assert_eq!(send(&queue, &"x".repeat(MESSAGE_MAX_BYTES)).await.0, 200);
    let (status, body) = send(&queue, &"x".repeat(MESSAGE_MAX_BYTES + 1)).await;
    assert_eq!((status, body["__type"].as_str()), (400, Some("com.amazonaws.sqs#InvalidParameterValue")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("1048576"), "{body}");
    assert_eq!(state.messages(CHANGES_QUEUE).len(), 1);
}

#[tokio::test]
async fn a_queue_in_eu_west_1_refuses_a_signature_scoped_to_us_east_1() {
    let (state, wrong) = queue("eu-west-1", "us-east-1").await;
    let (status, body) = send(&wrong, "change").await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().starts_with("Credential should be scoped to a valid region."), "{body}");
    let (_, right) = queue("eu-west-1", "eu-west-1").await;
    let right = QueueSettings { queue_url: wrong.queue_url.clone(), endpoint: wrong.endpoint.clone(), ..right };
    assert_eq!(send(&right, "change").await.0, 200);
    assert_eq!(state.messages(CHANGES_QUEUE).len(), 1);
}
