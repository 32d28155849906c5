//! A Lambda Runtime API for tests and the demo: a real function binary
//! (built with `lambda_runtime`) polls it as it polls AWS Lambda
//! (`/2018-06-01/runtime/invocation/next`, `.../{id}/response`, `.../{id}/error`),
//! and `POST /invoke` hands it one event and returns its answer, the way Step
//! Functions invokes a Task's function. [`RuntimeApi::lose_answer`] makes
//! Lambda report an error for an invocation the function did run, as when it
//! runs past its timeout or its runtime crashes after its side effects.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, Notify};

type Answer = Result<Vec<u8>, Vec<u8>>;

#[derive(Default)]
struct Inner {
    queue: Mutex<VecDeque<(String, Vec<u8>)>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    arrived: Notify,
    counter: Mutex<u64>,
    init_error: Mutex<Option<String>>,
    /// When each invocation was answered, for cold-start measurements.
    answered_at: Mutex<Vec<Instant>>,
    /// Invocation number (from 1) → the error document reported instead of its answer.
    lost: Mutex<HashMap<u64, Vec<u8>>>,
}

/// One function's Runtime API, on 127.0.0.1.
#[derive(Clone)]
pub struct RuntimeApi {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    pub function_name: String,
}

impl RuntimeApi {
    pub async fn start(function_name: &str) -> RuntimeApi {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .route("/invoke", post(invoke_http))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        RuntimeApi { addr, inner, function_name: function_name.to_string() }
    }

    /// The environment a function process needs to find this API.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_LAMBDA_RUNTIME_API".into(), self.addr.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME".into(), self.function_name.clone()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), "128".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        ]
    }

    pub fn invoke_url(&self) -> String {
        format!("http://{}/invoke", self.addr)
    }

    /// Invokes the function with `payload`; `Err` holds the function's error document.
    pub async fn invoke(&self, payload: &[u8], timeout: Duration) -> Answer {
        invoke(&self.inner, payload.to_vec(), timeout).await
    }

    /// The `invocation`-th invocation (counting from 1) runs, but its caller
    /// gets the error `error_type` instead of the function's answer: what Lambda
    /// reports for a function that timed out (`Sandbox.Timedout`), whose
    /// runtime crashed (`Lambda.Unknown`, `Runtime.ExitError`), and so on.
    pub fn lose_answer(&self, invocation: u64, error_type: &str, message: &str) {
        let doc = serde_json::json!({"errorType": error_type, "errorMessage": message});
        self.inner.lost.lock().unwrap().insert(invocation, doc.to_string().into_bytes());
    }

    /// How many invocations were made.
    pub fn invocations(&self) -> u64 {
        *self.inner.counter.lock().unwrap()
    }

    pub fn init_error(&self) -> Option<String> {
        self.inner.init_error.lock().unwrap().clone()
    }

    pub fn answered_at(&self) -> Vec<Instant> {
        self.inner.answered_at.lock().unwrap().clone()
    }
}

async fn invoke(inner: &Inner, payload: Vec<u8>, timeout: Duration) -> Answer {
    let number = {
        let mut c = inner.counter.lock().unwrap();
        *c += 1;
        *c
    };
    let id = format!("req-{number:08}");
    let (tx, rx) = oneshot::channel();
    inner.waiting.lock().unwrap().insert(id.clone(), tx);
    inner.queue.lock().unwrap().push_back((id.clone(), payload));
    inner.arrived.notify_one();
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(answer)) => match inner.lost.lock().unwrap().remove(&number) {
            Some(error) => Err(error),
            None => answer,
        },
        _ => {
            inner.waiting.lock().unwrap().remove(&id);
            Err(br#"{"errorType":"States.Timeout","errorMessage":"the function did not answer in time"}"#.to_vec())
        }
    }
}

async fn next(State(inner): State<Arc<Inner>>) -> Response {
    loop {
        let notified = inner.arrived.notified();
        if let Some((id, payload)) = inner.queue.lock().unwrap().pop_front() {
            let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() + 300_000;
            let mut headers = HeaderMap::new();
            headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
            headers.insert("lambda-runtime-deadline-ms", deadline.to_string().parse().unwrap());
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:invalidator-test".parse().unwrap(),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Sampled=0".parse().unwrap(),
            );
            headers.insert("content-type", "application/json".parse().unwrap());
            return (StatusCode::OK, headers, payload).into_response();
        }
        notified.await;
    }
}

fn finish(inner: &Inner, id: &str, answer: Answer) -> StatusCode {
    inner.answered_at.lock().unwrap().push(Instant::now());
    match inner.waiting.lock().unwrap().remove(id) {
        Some(tx) => {
            let _ = tx.send(answer);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn respond(State(inner): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&inner, &id, Ok(body.to_vec()))
}

async fn fail(State(inner): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&inner, &id, Err(body.to_vec()))
}

async fn init_error(State(inner): State<Arc<Inner>>, body: Bytes) -> StatusCode {
    *inner.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

async fn invoke_http(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    match invoke(&inner, body.to_vec(), Duration::from_secs(120)).await {
        Ok(answer) => (StatusCode::OK, answer).into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error).into_response(),
    }
}
