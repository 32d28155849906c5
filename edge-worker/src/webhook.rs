//! The Worker's HTTP handlers: the webhook (verify, parse, store in each
//! distribution's Durable Object, answer) and the status pages.

use crate::clock::WorkerClock;
use crate::{json_response, settings, COORDINATOR};
use futures::StreamExt;
use invalidator_core::io::Clock;
use invalidator_core::settings::Settings;
use invalidator_core::webhook::{self, Parsed, WebhookRequest};
use serde_json::{json, Value};
use std::rc::Rc;
use worker::{Env, Method, Request, RequestInit, Response, Result};

/// The settings, or the 500 an unauthenticated caller gets: a generic
/// reason, with the detail (which setting, and why) in the log and on
/// `/healthz` for the operator.
pub(crate) fn load_settings(env: &Env) -> std::result::Result<Rc<Settings>, Response> {
    settings::load(env).map_err(|e| {
        worker::console_error!("invalidator: {e}");
        let reason = "the service is misconfigured; its operator is told which setting in the logs and on /healthz";
        json_response(500, &json!({"status": "misconfigured", "error": reason}))
            .unwrap_or_else(|_| Response::error("misconfigured", 500).expect("a plain response"))
    })
}

/// Reads the body, at most `limit` bytes of it: a chunked body declares no
/// length, so the cap is applied while reading. `Err(size)` once past it.
async fn read_capped(req: &mut Request, limit: usize) -> Result<std::result::Result<Vec<u8>, usize>> {
    let mut stream = match req.stream() {
        Ok(stream) => stream,
        // workers-rs says so when the request has no body at all.
        Err(worker::Error::RustError(m)) if m == "no body for request" => return Ok(Ok(Vec::new())),
        Err(e) => return Err(e),
    };
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > limit {
            return Ok(Err(body.len() + chunk.len()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Ok(body))
}

pub async fn receive(mut req: Request, env: &Env) -> Result<Response> {
    let settings = match load_settings(env) {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    // Refuse an oversized body before reading it when its length is declared.
    let declared: Option<usize> = req.headers().get("content-length")?.and_then(|v| v.parse().ok());
    if let Some(size) = declared.filter(|s| *s > settings.webhook.max_body_bytes) {
        let err = webhook::WebhookError::TooLarge { size, limit: settings.webhook.max_body_bytes };
        let (status, body) = webhook::answer(&Err(err));
        return json_response(status, &body);
    }
    let target = crate::request_target::request_target(&req.inner().url());
    let headers: Vec<(String, String)> = req.headers().entries().collect();
    let read = match declared {
        // A declared length within the cap (checked above): one read of the
        // whole body, instead of a promise per chunk of its stream. The cap
        // is checked again on what came.
        Some(_) => {
            let body = req.bytes().await?;
            let size = body.len();
            if size > settings.webhook.max_body_bytes {
                Err(size)
            } else {
                Ok(body)
            }
        }
        None => read_capped(&mut req, settings.webhook.max_body_bytes).await?,
    };
    let body = match read {
        Ok(body) => body,
        Err(size) => {
            let err = webhook::WebhookError::TooLarge { size, limit: settings.webhook.max_body_bytes };
            let (status, body) = webhook::answer(&Err(err));
            return json_response(status, &body);
        }
    };
    let request = WebhookRequest { method: req.method().to_string(), target, headers, body };
    let outcome = webhook::accept(&request, &settings.webhook, &settings.contentful, WorkerClock.now());
    if let Ok(Parsed::Change(change)) = &outcome {
        // 2xx only once every distribution's object has stored the change.
        let namespace = env.durable_object(COORDINATOR)?;
        for distribution in &settings.cloudfront.distribution_ids {
            let stub = namespace.id_from_name(distribution)?.get_stub()?;
            let mut init = RequestInit::new();
            init.with_method(Method::Post).with_body(Some(serde_json::to_string(change)?.into()));
            let url = format!("https://coordinator/changes?distribution={distribution}&id={}", change.tracking_id);
            let stored = stub.fetch_with_request(Request::new_with_init(&url, &init)?).await;
            if !matches!(&stored, Ok(r) if r.status_code() == 200) {
                // The cause, for the operator: the object's error or answer (never a secret).
                let cause = match stored {
                    Ok(mut r) => format!("it answered {}: {}", r.status_code(), r.text().await.unwrap_or_default()),
                    Err(e) => e.to_string(),
                };
                worker::console_error!(
                    "invalidator: could not store change {} for {distribution}: {cause}",
                    change.tracking_id
                );
                let (status, body) = webhook::not_stored();
                return json_response(status, &body);
            }
        }
    }
    let (status, body) = webhook::answer(&outcome);
    json_response(status, &body)
}

fn authorized(req: &Request, env: &Env) -> std::result::Result<(), Response> {
    let token = settings::from_env(env).remove("STATUS_TOKEN");
    let given = req.headers().get("authorization").ok().flatten();
    crate::auth::check_bearer(token.as_deref(), given.as_deref())
        .map_err(|(status, body)| json_response(status, &body).expect("json"))
}

/// `GET /invalidations` and `GET /invalidations/{id}`, merged over every distribution.
pub async fn status(req: Request, env: &Env, id: Option<String>) -> Result<Response> {
    if let Err(r) = authorized(&req, env) {
        return Ok(r);
    }
    let settings = match load_settings(env) {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let path = match &id {
        Some(id) if id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
            format!("/invalidations/{id}")
        }
        Some(_) => return json_response(400, &json!({"error": "an id is letters, digits, '-' or '_'"})),
        None => "/invalidations".to_string(),
    };
    let mut per_distribution = serde_json::Map::new();
    let mut found = id.is_none();
    for (distribution, status, value) in
        crate::people::ask_each(env, &settings.cloudfront.distribution_ids, |_| path.clone()).await?
    {
        found |= status == 200;
        per_distribution.insert(distribution, value);
    }
    json_response(if found { 200 } else { 404 }, &Value::Object(per_distribution))
}
