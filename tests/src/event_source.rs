//! An emulation of Lambda's SQS event source mapping, which is AWS's service,
//! not this project's: it polls the queue (signed `ReceiveMessage`, 10 at a
//! time), gathers up to `batch_size` messages within the batching window
//! (`MaximumBatchingWindowInSeconds`, which starts with the first message)
//! and under Lambda's 6 MB payload, invokes the function through a real
//! Lambda Runtime API with an SQS event, then deletes the messages that
//! succeeded (`DeleteMessageBatch`). With `ReportBatchItemFailures`, the
//! messages named in `batchItemFailures` are left to come back after their
//! visibility timeout; a failed invocation leaves the whole batch. The queue's
//! redrive policy (the SQS stand-in's) moves a message to the dead-letter
//! queue. Simplified: one poller (Lambda scales pollers with the backlog),
//! no backoff after errors beyond a short pause.

use crate::runtime_api::RuntimeApi;
use invalidator_core::settings::AwsCredentials;
use invalidator_core::sigv4::sign_request;
use invalidator_core::Timestamp;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Lambda's largest invocation payload.
pub const PAYLOAD_MAX_BYTES: usize = 6 * 1024 * 1024;

/// The mapping's configuration.
#[derive(Clone)]
pub struct Mapping {
    /// The SQS endpoint (`http://127.0.0.1:port`) and the queue's URL.
    pub sqs_endpoint: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: usize,
    pub window: Duration,
    pub credentials: AwsCredentials,
    pub function: RuntimeApi,
    /// The function's timeout.
    pub timeout: Duration,
}

/// One invocation of the function, as the mapping saw it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub message_ids: Vec<String>,
    /// `batchItemFailures`, or every message when the invocation failed.
    pub failed: Vec<String>,
    /// The function's error, when the invocation failed.
    pub error: Option<String>,
}

/// The mapping, polling in the background until dropped.
pub struct EventSource {
    task: tokio::task::JoinHandle<()>,
    invocations: Arc<Mutex<Vec<Invocation>>>,
}

impl Drop for EventSource {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EventSource {
    pub fn start(mapping: Mapping) -> EventSource {
        let invocations = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(poll(mapping, invocations.clone()));
        EventSource { task, invocations }
    }

    pub fn invocations(&self) -> Vec<Invocation> {
        self.invocations.lock().unwrap().clone()
    }
}

fn now() -> Timestamp {
    Timestamp::from_millis(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64)
}

async fn sqs(m: &Mapping, client: &reqwest::Client, operation: &str, call: Value) -> Result<Value, String> {
    let mut request = http::Request::post(format!("{}/", m.sqs_endpoint))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("AmazonSQS.{operation}"))
        .body(serde_json::to_vec(&call).unwrap())
        .unwrap();
    sign_request(&mut request, &m.credentials, "sqs", now()).map_err(|e| e.to_string())?;
    let request = reqwest::Request::try_from(request).map_err(|e| e.to_string())?;
    let answer = client.execute(request).await.map_err(|e| e.to_string())?;
    let status = answer.status();
    let body: Value = answer.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{operation}: HTTP {status} {body}"));
    }
    Ok(body)
}

/// An SQS event record for a received message.
fn record(m: &Mapping, message: &Value) -> Value {
    json!({"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
        "attributes": message["Attributes"], "messageAttributes": {}, "md5OfBody": "",
        "eventSource": "aws:sqs", "eventSourceARN": m.queue_arn, "awsRegion": m.credentials.region})
}

async fn poll(m: Mapping, invocations: Arc<Mutex<Vec<Invocation>>>) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    loop {
        let mut batch: Vec<Value> = Vec::new();
        let mut bytes = 0;
        let mut window_ends: Option<Instant> = None;
        while batch.len() < m.batch_size {
            let room = (m.batch_size - batch.len()).min(10);
            let wait = if batch.is_empty() { 1 } else { 0 };
            let call = json!({"QueueUrl": m.queue_url, "MaxNumberOfMessages": room, "WaitTimeSeconds": wait,
                "MessageSystemAttributeNames": ["All"]});
            let got = match sqs(&m, &client, "ReceiveMessage", call).await {
                Ok(answer) => answer["Messages"].as_array().cloned().unwrap_or_default(),
                Err(e) => {
                    eprintln!("[event source] {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Vec::new()
                }
            };
            if !got.is_empty() && window_ends.is_none() {
                window_ends = Some(Instant::now() + m.window);
            }
            let empty = got.is_empty();
            for message in got {
                bytes += record(&m, &message).to_string().len();
                batch.push(message);
            }
            match window_ends {
                Some(end) if Instant::now() >= end || bytes >= PAYLOAD_MAX_BYTES - 300 * 1024 => break,
                Some(_) if empty => tokio::time::sleep(Duration::from_millis(50)).await,
                _ => {}
            }
        }
        if batch.is_empty() {
            continue;
        }
        let records: Vec<Value> = batch.iter().map(|message| record(&m, message)).collect();
        let event = json!({"Records": records});
        let message_ids: Vec<String> =
            batch.iter().map(|x| x["MessageId"].as_str().unwrap_or_default().to_string()).collect();
        let (failed, error) = match m.function.invoke(event.to_string().as_bytes(), m.timeout).await {
            Ok(answer) => match serde_json::from_slice::<Value>(&answer) {
                Ok(answer) => {
                    let failures = answer["batchItemFailures"].as_array().cloned().unwrap_or_default();
                    let ids = failures.iter().filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string));
                    (ids.collect(), None)
                }
                // An answer that is not a batch response fails the whole batch, as on Lambda.
                Err(e) => (message_ids.clone(), Some(format!("not a batch response: {e}"))),
            },
            Err(error) => (message_ids.clone(), Some(String::from_utf8_lossy(&error).into_owned())),
        };
        let done: Vec<&Value> =
            batch.iter().filter(|x| !failed.iter().any(|f| x["MessageId"].as_str() == Some(f.as_str()))).collect();
        for chunk in done.chunks(10) {
            let entries: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, x)| json!({"Id": i.to_string(), "ReceiptHandle": x["ReceiptHandle"]}))
                .collect();
            if let Err(e) =
                sqs(&m, &client, "DeleteMessageBatch", json!({"QueueUrl": m.queue_url, "Entries": entries})).await
            {
                eprintln!("[event source] {e}");
            }
        }
        invocations.lock().unwrap().push(Invocation { message_ids, failed, error });
    }
}
