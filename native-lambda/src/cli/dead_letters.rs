//! `invalidator dead-letters <queue-url>`: how many changes wait in the
//! dead-letter queue (SQS `GetQueueAttributes`, signed for `sqs`), where
//! their reasons are logged, and the command that redrives them.

use super::{failed, usage, CliError};
use crate::aws_json;
use crate::http_client::{ReqwestClient, SystemClock};
use invalidator_core::io::{Clock, HttpClient};
use invalidator_core::settings::{AwsCredentials, SettingsMap};
use serde_json::{json, Value};

/// What `dead-letters` prints for the queue's attributes.
pub fn report(queue_url: &str, attributes: &Value) -> String {
    let count = |name: &str| attributes[name].as_str().unwrap_or("?").to_string();
    let arn = attributes["QueueArn"].as_str().unwrap_or("<dead-letter queue ARN>");
    let queue = queue_url.rsplit('/').next().unwrap_or(queue_url);
    let stack = queue.strip_suffix("-changes-dlq").unwrap_or("<stack>");
    format!(
        "{queue}: {} change(s) waiting, {} being read\n\
         Why each failed: the starter logs it under the message id:\n  \
         aws logs filter-log-events --log-group-name /aws/lambda/{stack}-starter --filter-pattern '\"change not started\"'\n\
         Look at them:\n  \
         aws sqs receive-message --queue-url {queue_url} --max-number-of-messages 10 --visibility-timeout 0\n\
         Once the cause is fixed, send them back to the changes queue:\n  \
         aws sqs start-message-move-task --source-arn {arn}",
        count("ApproximateNumberOfMessages"),
        count("ApproximateNumberOfMessagesNotVisible"),
    )
}

pub async fn dead_letters(map: &SettingsMap, queue_url: String) -> Result<(), CliError> {
    if !(queue_url.starts_with("https://") || queue_url.starts_with("http://")) {
        return Err(usage(format!("{queue_url:?} is not a queue URL (the stack output ChangesDeadLetterQueueUrl)")));
    }
    let credentials = AwsCredentials::from_map(map).map_err(usage)?;
    let endpoint = aws_json::endpoint(map, "SQS_ENDPOINT", "sqs", &credentials.region).map_err(usage)?;
    let call = json!({"QueueUrl": queue_url, "AttributeNames": ["All"]});
    let request = aws_json::request(
        &endpoint,
        aws_json::JSON_1_0,
        "AmazonSQS.GetQueueAttributes",
        &call,
        &credentials,
        "sqs",
        SystemClock.now(),
    )
    .map_err(usage)?;
    let answer = ReqwestClient::default().send(request).await.map_err(failed)?;
    let answer = aws_json::read(&answer).map_err(failed)?;
    println!("{}", report(&queue_url, &answer["Attributes"]));
    Ok(())
}
