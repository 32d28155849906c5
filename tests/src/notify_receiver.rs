//! A local notification receiver (wiremock on 127.0.0.1) standing in for a
//! Slack incoming webhook or a generic JSON receiver: it answers 200 (or a
//! failure, to test retries), keeps every body with its signature header,
//! and checks that signature on its own, without the core's code.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The path notifications are posted to.
const HOOK: &str = "/hook";

/// A running receiver.
pub struct Receiver {
    server: MockServer,
}

/// One notification as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// The body, parsed.
    pub body: Value,
    /// The raw body, as signed.
    pub raw: Vec<u8>,
    /// `X-Invalidator-Signature`, when sent.
    pub signature: Option<String>,
}

impl Receiver {
    /// A receiver answering 200 to every notification.
    pub async fn start() -> Receiver {
        Receiver::answering(200).await
    }

    /// A receiver answering `status` to every notification.
    pub async fn answering(status: u16) -> Receiver {
        let server = MockServer::start().await;
        Mock::given(method("POST")).and(path(HOOK)).respond_with(ResponseTemplate::new(status)).mount(&server).await;
        Receiver { server }
    }

    /// What `NOTIFY_URL` is set to.
    pub fn url(&self) -> String {
        format!("{}{HOOK}", self.server.uri())
    }

    /// Every notification received so far, oldest first.
    pub async fn received(&self) -> Vec<Received> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests
            .into_iter()
            .map(|r| Received {
                body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
                signature: r.headers.get("x-invalidator-signature").and_then(|v| v.to_str().ok()).map(String::from),
                raw: r.body,
            })
            .collect()
    }
}

impl Received {
    /// Whether its signature is `t=<secs>,v1=<hex>` with the hex the
    /// HMAC-SHA256 of `<secs>.<raw body>` under `secret`, as a receiver checks it.
    pub fn signed_with(&self, secret: &str) -> bool {
        let Some(header) = &self.signature else { return false };
        let mut t = None;
        let mut v1 = None;
        for part in header.split(',') {
            match part.split_once('=') {
                Some(("t", value)) => t = Some(value),
                Some(("v1", value)) => v1 = Some(value),
                _ => {}
            }
        }
        let (Some(t), Some(v1)) = (t, v1) else { return false };
        let Ok(expected) = hex::decode(v1) else { return false };
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(&self.raw);
        mac.verify_slice(&expected).is_ok()
    }
}
