//! invalidator as a Cloudflare Worker: `POST /webhooks/contentful` verifies
//! and parses with the core, hands the change to the Durable Object of each
//! distribution and answers once it is stored; the object's alarm drives the
//! workflow. `GET /invalidations[/{id}]` (bearer `STATUS_TOKEN`) reads
//! state, `GET /status` shows it to a person and `GET /entries/{id}` to a
//! sidebar app ([`people`]); `GET /healthz` says whether the settings load. A cron trigger runs
//! the catch-up sweep ([`sweep`]).

mod auth;
mod clock;
mod coordinator;
mod fetch_client;
mod health;
mod memory;
mod page;
mod people;
mod request_target;
mod routes;
mod settings;
mod storage_cache;
mod stored;
mod sweep;
mod webhook;

pub use coordinator::InvalidationCoordinator;

use routes::Route;
use serde_json::json;
use worker::{event, Context, Env, Request, Response, Result};

/// The Durable Object binding in wrangler.toml.
pub(crate) const COORDINATOR: &str = "COORDINATOR";

pub(crate) fn json_response(status: u16, body: &serde_json::Value) -> Result<Response> {
    Ok(Response::from_json(body)?.with_status(status))
}

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    match routes::route(req.method().as_ref(), &req.path()) {
        Route::Health => {
            let (status, body) = health::health(&settings::from_env(&env));
            json_response(status, &body)
        }
        Route::Webhook => webhook::receive(req, &env).await,
        Route::Status => webhook::status(req, &env, None).await,
        Route::StatusOf(id) => webhook::status(req, &env, Some(id)).await,
        Route::Page => people::status_page(req, &env).await,
        Route::Entry(id) => people::entry(req, &env, id).await,
        Route::NotFound => json_response(404, &json!({"error": "no such route"})),
        Route::MethodNotAllowed(allowed) => {
            let mut r = json_response(405, &json!({"error": format!("this route takes {allowed}")}))?;
            r.headers_mut().set("allow", allowed)?;
            Ok(r)
        }
    }
}
