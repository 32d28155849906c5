//! An SQS stand-in (AWS JSON 1.0 protocol, `X-Amz-Target: AmazonSQS.*`, as
//! current SDKs speak it) with the real service's semantics where this
//! project relies on them: an independent SigV4 check (service `sqs`); only
//! configured queues exist (`QueueDoesNotExist`); a message body of 1 byte to
//! 1 MiB (SQS's cap since January 2026; `InvalidParameterValue` past it); `ReceiveMessage` takes 1 to 10 messages and long-polls up to 20
//! s; a received message is invisible for the visibility timeout and comes
//! back if not deleted, its `ApproximateReceiveCount` growing; a redrive
//! policy moves a message to its dead-letter queue when it would be received
//! more than `maxReceiveCount` times; batch calls take 1 to 10 entries;
//! errors are `{"__type": "com.amazonaws.sqs#<Code>", "message": ...}`.
//! Implemented: `SendMessage`, `ReceiveMessage`, `DeleteMessage`,
//! `DeleteMessageBatch`, `GetQueueAttributes`. Not modelled: MD5 digests,
//! message attributes, FIFO queues, delays. [`SqsState::refuse_sends`] is the
//! fault switch: while on, every `SendMessage` is refused as given.

use super::sigv4_check::{self, Expected};
use super::{now_millis, RequestLog};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// SQS's largest message body (1 MiB since January 2026, 256 KiB before).
pub const MESSAGE_MAX_BYTES: usize = 1024 * 1024;
/// The most messages one `ReceiveMessage` returns, and the most entries of a batch call.
pub const BATCH_MAX: usize = 10;
/// The longest long poll.
pub const WAIT_MAX_SECONDS: u64 = 20;
/// The account the stand-in's queues belong to.
pub const ACCOUNT: &str = "123456789012";
/// The changes queue and its dead-letter queue, as the tests and the demo name them.
pub const CHANGES_QUEUE: &str = "invalidator-changes";
pub const DEAD_LETTER_QUEUE: &str = "invalidator-changes-dlq";

/// Where a queue sends what keeps failing.
#[derive(Debug, Clone, Serialize)]
pub struct Redrive {
    pub dead_letter_queue: String,
    pub max_receive_count: u32,
}

/// A queue to serve.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub name: String,
    pub visibility_timeout: Duration,
    pub redrive: Option<Redrive>,
}

/// One message as the queue holds it.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub message_id: String,
    pub body: String,
    pub sent_ms: u64,
    pub receive_count: u32,
    pub first_receive_ms: Option<u64>,
    pub visible_at_ms: u64,
    /// The handle of the latest receive.
    pub receipt_handle: Option<String>,
}

struct Queue {
    config: QueueConfig,
    messages: Vec<Message>,
}

pub struct SqsState {
    pub expected: Expected,
    queues: Mutex<BTreeMap<String, Queue>>,
    refusing: Mutex<Option<String>>,
    counter: Mutex<u64>,
    pub log: RequestLog,
}

impl SqsState {
    pub fn new(expected: Expected, queues: Vec<QueueConfig>) -> Arc<SqsState> {
        let queues = queues.into_iter().map(|c| (c.name.clone(), Queue { config: c, messages: Vec::new() })).collect();
        Arc::new(SqsState {
            expected,
            queues: Mutex::new(queues),
            refusing: Mutex::new(None),
            counter: Mutex::new(0),
            log: RequestLog::default(),
        })
    }

    /// While `Some(code)`, `SendMessage` is refused with that error
    /// (`ServiceUnavailable` answers 503, `InternalError` 500, any other code 400).
    pub fn refuse_sends(&self, code: Option<&str>) {
        *self.refusing.lock().unwrap() = code.map(str::to_string);
    }

    /// The messages `queue` holds, visible or not.
    pub fn messages(&self, queue: &str) -> Vec<Message> {
        self.queues.lock().unwrap().get(queue).map(|q| q.messages.clone()).unwrap_or_default()
    }

    fn next_id(&self) -> u64 {
        let mut c = self.counter.lock().unwrap();
        *c += 1;
        *c
    }
}

/// The changes queue with a 2 s visibility timeout (short, so that tests see
/// redeliveries) redriving to its dead-letter queue after `max_receive_count` receives.
pub fn changes_queues(visibility_timeout: Duration, max_receive_count: u32) -> Vec<QueueConfig> {
    vec![
        QueueConfig {
            name: CHANGES_QUEUE.into(),
            visibility_timeout,
            redrive: Some(Redrive { dead_letter_queue: DEAD_LETTER_QUEUE.into(), max_receive_count }),
        },
        QueueConfig { name: DEAD_LETTER_QUEUE.into(), visibility_timeout, redrive: None },
    ]
}

/// A queue's URL at the stand-in listening on `endpoint` (`http://127.0.0.1:port`).
pub fn queue_url(endpoint: &str, queue: &str) -> String {
    format!("{endpoint}/{ACCOUNT}/{queue}")
}

type Shared = Arc<SqsState>;

struct Refusal(StatusCode, String, String);

fn invalid(code: &str, message: impl Into<String>) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, code.to_string(), message.into())
}

fn json_10(status: StatusCode, body: Value) -> Response {
    (status, [("content-type", "application/x-amz-json-1.0")], body.to_string()).into_response()
}

async fn call(State(s): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let operation = target.strip_prefix("AmazonSQS.").unwrap_or(&target).to_string();
    let (answer, detail) = match answer(&s, &method, &uri, &headers, &body, &operation).await {
        Ok((value, detail)) => (json_10(StatusCode::OK, value), format!("{operation} {detail}")),
        Err(Refusal(status, code, message)) => (
            json_10(status, json!({"__type": format!("com.amazonaws.sqs#{code}"), "message": message})),
            format!("{operation} {code}"),
        ),
    };
    s.log.record("sqs", &method, &uri, answer.status().as_u16(), detail);
    answer
}

async fn answer(
    s: &SqsState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    operation: &str,
) -> Result<(Value, String), Refusal> {
    sigv4_check::verify_received(method, uri, headers, body, &s.expected)
        .map_err(|r| Refusal(StatusCode::FORBIDDEN, r.code.to_string(), r.message))?;
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type != "application/x-amz-json-1.0" {
        return Err(invalid("InvalidParameterValue", format!("content-type {content_type:?} is not AWS JSON 1.0")));
    }
    let call: Value = serde_json::from_slice(body).map_err(|e| invalid("SerializationException", e.to_string()))?;
    let queue = queue_name(&call)?;
    match operation {
        "SendMessage" => send(s, &queue, &call),
        "ReceiveMessage" => receive(s, &queue, &call).await,
        "DeleteMessage" => {
            let handle = call["ReceiptHandle"].as_str().ok_or_else(|| missing("ReceiptHandle"))?;
            delete(s, &queue, handle)?;
            Ok((json!({}), String::new()))
        }
        "DeleteMessageBatch" => delete_batch(s, &queue, &call),
        "GetQueueAttributes" => attributes(s, &queue),
        other => Err(invalid("UnsupportedOperation", format!("the stand-in does not answer {other:?}"))),
    }
}

fn missing(field: &str) -> Refusal {
    invalid("MissingParameter", format!("The request must contain the parameter {field}."))
}

/// The queue a call names, which must exist.
fn queue_name(call: &Value) -> Result<String, Refusal> {
    let url = call["QueueUrl"].as_str().ok_or_else(|| missing("QueueUrl"))?;
    let name = url.rsplit('/').next().unwrap_or_default();
    if !url.contains(&format!("/{ACCOUNT}/")) || name.is_empty() {
        return Err(invalid("QueueDoesNotExist", "The specified queue does not exist."));
    }
    Ok(name.to_string())
}

fn with_queue<T>(s: &SqsState, name: &str, f: impl FnOnce(&mut Queue) -> T) -> Result<T, Refusal> {
    let mut queues = s.queues.lock().unwrap();
    let queue =
        queues.get_mut(name).ok_or_else(|| invalid("QueueDoesNotExist", "The specified queue does not exist."))?;
    Ok(f(queue))
}

fn send(s: &SqsState, queue: &str, call: &Value) -> Result<(Value, String), Refusal> {
    if let Some(code) = s.refusing.lock().unwrap().clone() {
        let status = match code.as_str() {
            "ServiceUnavailable" => StatusCode::SERVICE_UNAVAILABLE,
            "InternalError" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        return Err(Refusal(status, code, "refused by the stand-in's fault switch".into()));
    }
    let body = call["MessageBody"].as_str().ok_or_else(|| missing("MessageBody"))?;
    if body.is_empty() || body.len() > MESSAGE_MAX_BYTES {
        return Err(invalid(
            "InvalidParameterValue",
            format!("One or more parameters are invalid. Reason: Message must be between 1 and {MESSAGE_MAX_BYTES} bytes long, got {}.", body.len()),
        ));
    }
    let id = s.next_id();
    let message_id = format!("{:08x}-0000-4000-8000-{:012x}", id, id);
    let now = now_millis();
    with_queue(s, queue, |q| {
        q.messages.push(Message {
            message_id: message_id.clone(),
            body: body.to_string(),
            sent_ms: now,
            receive_count: 0,
            first_receive_ms: None,
            visible_at_ms: now,
            receipt_handle: None,
        })
    })?;
    Ok((json!({"MessageId": message_id}), message_id))
}

/// Takes up to `max` visible messages of `queue`, moving to the dead-letter
/// queue those already received `maxReceiveCount` times.
fn take(s: &SqsState, queue: &str, max: usize, visibility: Duration) -> Result<Vec<Message>, Refusal> {
    let now = now_millis();
    let mut queues = s.queues.lock().unwrap();
    let q = queues.get_mut(queue).ok_or_else(|| invalid("QueueDoesNotExist", "The specified queue does not exist."))?;
    let redrive = q.config.redrive.clone();
    let mut taken = Vec::new();
    let mut dead = Vec::new();
    let mut i = 0;
    while i < q.messages.len() && taken.len() < max {
        let m = &mut q.messages[i];
        if m.visible_at_ms > now {
            i += 1;
            continue;
        }
        if let Some(r) = &redrive {
            if m.receive_count >= r.max_receive_count {
                let mut moved = q.messages.remove(i);
                moved.receive_count = 0;
                moved.receipt_handle = None;
                moved.visible_at_ms = now;
                dead.push(moved);
                continue;
            }
        }
        m.receive_count += 1;
        m.first_receive_ms.get_or_insert(now);
        m.visible_at_ms = now + visibility.as_millis() as u64;
        m.receipt_handle = Some(format!("{}#{}", m.message_id, m.receive_count));
        taken.push(m.clone());
        i += 1;
    }
    if let (Some(r), false) = (redrive, dead.is_empty()) {
        if let Some(dlq) = queues.get_mut(&r.dead_letter_queue) {
            dlq.messages.extend(dead);
        }
    }
    Ok(taken)
}

async fn receive(s: &SqsState, queue: &str, call: &Value) -> Result<(Value, String), Refusal> {
    let max = call["MaxNumberOfMessages"].as_u64().unwrap_or(1);
    if !(1..=BATCH_MAX as u64).contains(&max) {
        return Err(invalid(
            "InvalidParameterValue",
            format!("Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10."),
        ));
    }
    let wait = call["WaitTimeSeconds"].as_u64().unwrap_or(0);
    if wait > WAIT_MAX_SECONDS {
        return Err(invalid(
            "InvalidParameterValue",
            format!("Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20."),
        ));
    }
    let default_visibility = with_queue(s, queue, |q| q.config.visibility_timeout)?;
    let visibility = call["VisibilityTimeout"].as_u64().map(Duration::from_secs).unwrap_or(default_visibility);
    let deadline = now_millis() + wait * 1000;
    let taken = loop {
        let taken = take(s, queue, max as usize, visibility)?;
        if !taken.is_empty() || now_millis() >= deadline {
            break taken;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let detail = format!("{} message(s)", taken.len());
    if taken.is_empty() {
        return Ok((json!({}), detail));
    }
    let messages: Vec<Value> = taken
        .iter()
        .map(|m| {
            json!({"MessageId": m.message_id, "ReceiptHandle": m.receipt_handle, "Body": m.body,
                "Attributes": {"ApproximateReceiveCount": m.receive_count.to_string(),
                    "SentTimestamp": m.sent_ms.to_string(), "SenderId": s.expected.access_key_id,
                    "ApproximateFirstReceiveTimestamp": m.first_receive_ms.unwrap_or(m.sent_ms).to_string()}})
        })
        .collect();
    Ok((json!({"Messages": messages}), detail))
}

fn delete(s: &SqsState, queue: &str, handle: &str) -> Result<(), Refusal> {
    let Some((id, _)) = handle.split_once('#') else {
        return Err(invalid(
            "ReceiptHandleIsInvalid",
            format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
        ));
    };
    // A message already gone (deleted, or moved) is deleted again without error, as on SQS.
    with_queue(s, queue, |q| {
        q.messages.retain(|m| !(m.message_id == id && m.receipt_handle.as_deref() == Some(handle)))
    })
}

fn delete_batch(s: &SqsState, queue: &str, call: &Value) -> Result<(Value, String), Refusal> {
    let entries = call["Entries"].as_array().ok_or_else(|| missing("Entries"))?;
    if entries.is_empty() {
        return Err(invalid(
            "EmptyBatchRequest",
            "There should be at least one SendMessageBatchRequestEntry in the request.",
        ));
    }
    if entries.len() > BATCH_MAX {
        return Err(invalid(
            "TooManyEntriesInBatchRequest",
            format!("Maximum number of entries per request are 10. You have sent {}.", entries.len()),
        ));
    }
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for e in entries {
        let id = e["Id"].as_str().unwrap_or_default();
        match delete(s, queue, e["ReceiptHandle"].as_str().unwrap_or_default()) {
            Ok(()) => successful.push(json!({"Id": id})),
            Err(Refusal(_, code, message)) => {
                failed.push(json!({"Id": id, "Code": code, "Message": message, "SenderFault": true}))
            }
        }
    }
    let detail = format!("{} deleted", successful.len());
    Ok((json!({"Successful": successful, "Failed": failed}), detail))
}

fn attributes(s: &SqsState, queue: &str) -> Result<(Value, String), Refusal> {
    let now = now_millis();
    let value = with_queue(s, queue, |q| {
        let visible = q.messages.iter().filter(|m| m.visible_at_ms <= now).count();
        let mut attributes = json!({
            "QueueArn": format!("arn:aws:sqs:{}:{ACCOUNT}:{}", s.expected.region, q.config.name),
            "ApproximateNumberOfMessages": visible.to_string(),
            "ApproximateNumberOfMessagesNotVisible": (q.messages.len() - visible).to_string(),
            "VisibilityTimeout": q.config.visibility_timeout.as_secs().to_string(),
        });
        if let Some(r) = &q.config.redrive {
            let arn = format!("arn:aws:sqs:{}:{ACCOUNT}:{}", s.expected.region, r.dead_letter_queue);
            attributes["RedrivePolicy"] =
                json!({"deadLetterTargetArn": arn, "maxReceiveCount": r.max_receive_count}).to_string().into();
        }
        json!({"Attributes": attributes})
    })?;
    Ok((value, String::new()))
}

/// Serves the stand-in on a free 127.0.0.1 port, on the current runtime.
pub async fn serve(state: Shared) -> std::io::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let app = router(state);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// The stand-in's routes; `/__sandbox/*` is for tests.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/", post(call))
        .route("/__sandbox/requests", get(|State(s): State<Shared>| async move { Json(s.log.all()) }))
        .with_state(state)
}
