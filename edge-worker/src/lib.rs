//! invalidator as a Cloudflare Worker: `POST /webhooks/contentful` verifies
//! and parses with the core, hands the change to the Durable Object of each
//! distribution and answers once it is stored; the object's alarm drives the
//! workflow. `GET /invalidations[/{id}]` (bearer `STATUS_TOKEN`) and
//! `GET /healthz` read state.

mod clock;
mod coordinator;
mod fetch_client;
mod settings;
mod webhook;

pub use coordinator::InvalidationCoordinator;

use serde_json::json;
use worker::{event, Context, Env, Request, Response, Result, Router};

/// The Durable Object binding in wrangler.toml.
pub(crate) const COORDINATOR: &str = "COORDINATOR";

pub(crate) fn json_response(status: u16, body: &serde_json::Value) -> Result<Response> {
    Ok(Response::from_json(body)?.with_status(status))
}

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    Router::new()
        .get("/healthz", |_, _| json_response(200, &json!({"ok": true})))
        .post_async("/webhooks/contentful", |req, ctx| async move { webhook::receive(req, &ctx.env).await })
        .get_async("/invalidations", |req, ctx| async move { webhook::status(req, &ctx.env, None).await })
        .get_async("/invalidations/:id", |req, ctx| async move {
            let id = ctx.param("id").cloned();
            webhook::status(req, &ctx.env, id).await
        })
        .or_else_any_method("/*path", |_, _| json_response(404, &json!({"error": "no such route"})))
        .run(req, env)
        .await
}
