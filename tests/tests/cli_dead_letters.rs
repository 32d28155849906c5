//! `invalidator dead-letters` as an operator runs it, against the SQS
//! stand-in (which checks the call's SigV4 signature): the count, and the
//! commands that find the reasons and redrive.

use assert_cmd::Command;
use invalidator_tests::binaries::binary;
use invalidator_tests::sandbox::sigv4_check::Expected;
use invalidator_tests::sandbox::sqs::{self, SqsState, CHANGES_QUEUE, DEAD_LETTER_QUEUE};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn dead_letters_counts_the_queue_and_says_how_to_redrive() {
    let expected = Expected {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        region: "us-east-1".into(),
        service: "sqs".into(),
    };
    let state = SqsState::new(expected, sqs::changes_queues(Duration::from_secs(30), 1));
    let endpoint = format!("http://{}", sqs::serve(state.clone()).await.unwrap());
    let dlq = sqs::queue_url(&endpoint, DEAD_LETTER_QUEUE);
    let mut cmd = Command::new(binary("invalidator-lambda", "invalidator"));
    cmd.env_clear()
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        .env("SQS_ENDPOINT", &endpoint)
        .args(["dead-letters", &dlq]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with(&format!("{DEAD_LETTER_QUEUE}: 0 change(s) waiting")), "{text}");
    assert!(text.contains("/aws/lambda/invalidator-starter") && text.contains("change not started"), "{text}");
    let arn = format!("arn:aws:sqs:us-east-1:{}:{DEAD_LETTER_QUEUE}", sqs::ACCOUNT);
    assert!(text.contains(&format!("aws sqs start-message-move-task --source-arn {arn}")), "{text}");
    let log = state.log.all();
    assert_eq!((log[0].status, log[0].detail.as_str()), (200, "GetQueueAttributes "), "{log:#?}");
    assert!(state.messages(CHANGES_QUEUE).is_empty());
}
