//! The pages a person (or a sidebar app) reads: `GET /status`, the HTML
//! status page behind HTTP Basic authentication, and `GET /entries/{id}`,
//! one entry's latest changes as JSON (Basic or bearer). Both ask every
//! distribution's Durable Object and render what it answers; nothing here
//! works out where a change stands.

use crate::auth::{self, Accept, BASIC_CHALLENGE};
use crate::clock::WorkerClock;
use crate::page::{self, Part, Search};
use crate::{json_response, settings, COORDINATOR};
use invalidator_core::io::Clock;
use serde_json::{json, Value};
use worker::{Env, Request, Response, Result};

/// Contentful's ids: 1 to 64 letters, digits, `-`, `_` or `.`.
const ENTRY_ID_MAX: usize = 64;
const ENTRY_ID_RULE: &str = "an entry id is 1 to 64 letters, digits, '-', '_' or '.'";

/// Whether `id` can be a Contentful entry (or asset) id.
pub fn entry_id_shape(id: &str) -> bool {
    (1..=ENTRY_ID_MAX).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// The caller's refusal, if it does not hold the status token in a way
/// `accept` takes: 401 carries the Basic challenge, so a browser asks.
fn refusal(req: &Request, env: &Env, accept: Accept, html: bool) -> Option<Response> {
    let token = settings::from_env(env).remove("STATUS_TOKEN");
    let given = req.headers().get("authorization").ok().flatten();
    let (status, body) = auth::check(token.as_deref(), given.as_deref(), accept).err()?;
    let mut response = if html {
        let text = body["error"].as_str().unwrap_or("refused").to_string();
        Response::ok(format!("{status}: {text}\n")).map(|r| r.with_status(status))
    } else {
        json_response(status, &body)
    }
    .ok()?;
    if status == 401 {
        let _ = response.headers_mut().set("www-authenticate", BASIC_CHALLENGE);
    }
    Some(response)
}

/// Asks each distribution's Durable Object for `path(distribution)`: its
/// status and JSON answer, in the order of `CLOUDFRONT_DISTRIBUTION_ID`.
pub async fn ask_each(
    env: &Env,
    distributions: &[String],
    path: impl Fn(&str) -> String,
) -> Result<Vec<(String, u16, Value)>> {
    let namespace = env.durable_object(COORDINATOR)?;
    let mut answers = Vec::new();
    for distribution in distributions {
        let stub = namespace.id_from_name(distribution)?.get_stub()?;
        let mut answer = stub.fetch_with_str(&format!("https://coordinator{}", path(distribution))).await?;
        let value: Value = answer.json().await.unwrap_or(Value::Null);
        answers.push((distribution.clone(), answer.status_code(), value));
    }
    Ok(answers)
}

fn distribution_ids(env: &Env) -> std::result::Result<Vec<String>, Response> {
    crate::webhook::load_settings(env).map(|s| s.cloudfront.distribution_ids.clone())
}

/// A part as a Durable Object answers it (see [`page::Part`]).
fn part_of(answer: &Value) -> Part {
    let text = |key: &str| answer[key].as_str().unwrap_or_default().to_string();
    Part {
        busy: answer["busy"].as_bool().unwrap_or(false),
        section: text("section"),
        found: text("found"),
        found_count: answer["found_count"].as_u64().unwrap_or(0) as usize,
    }
}

/// `GET /status`.
pub async fn status_page(req: Request, env: &Env) -> Result<Response> {
    if let Some(refused) = refusal(&req, env, Accept::Basic, true) {
        return Ok(refused);
    }
    let distributions = match distribution_ids(env) {
        Ok(d) => d,
        Err(r) => return Ok(r),
    };
    let searched = crate::request_target::query_param(&req.inner().url(), "entry").map(|s| s.trim().to_string());
    let search = searched.filter(|s| !s.is_empty()).map(|entry_id| {
        let refused = (!entry_id_shape(&entry_id)).then_some(ENTRY_ID_RULE);
        Search { entry_id, refused }
    });
    // Both are ids of letters, digits, '-', '_' or '.' (checked): nothing to encode.
    let entry = match &search {
        Some(Search { entry_id, refused: None }) => format!("&entry={entry_id}"),
        _ => String::new(),
    };
    let path = |d: &str| format!("/status-part?distribution={d}{entry}");
    let parts: Vec<Part> = ask_each(env, &distributions, path).await?.iter().map(|(_, _, v)| part_of(v)).collect();
    let mut response = Response::from_html(page::page(WorkerClock.now(), search.as_ref(), &parts))?;
    let headers = response.headers_mut();
    if page::refreshes(&parts) {
        headers.set("refresh", &page::REFRESH_SECONDS.to_string())?;
    }
    // Defence in depth: even markup that slipped through could run nothing.
    headers.set("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")?;
    headers.set("x-content-type-options", "nosniff")?;
    headers.set("cache-control", "no-store")?;
    headers.set("referrer-policy", "no-referrer")?;
    Ok(response)
}

/// `GET /entries/{entry-id}`: each Durable Object's report, as it answers it.
pub async fn entry(req: Request, env: &Env, entry_id: String) -> Result<Response> {
    if let Some(refused) = refusal(&req, env, Accept::BasicOrBearer, false) {
        return Ok(refused);
    }
    if !entry_id_shape(&entry_id) {
        return json_response(400, &json!({"error": ENTRY_ID_RULE}));
    }
    let distributions = match distribution_ids(env) {
        Ok(d) => d,
        Err(r) => return Ok(r),
    };
    let mut per_distribution = serde_json::Map::new();
    for (d, _, answer) in ask_each(env, &distributions, |_| format!("/entries/{entry_id}")).await? {
        per_distribution.insert(d, answer);
    }
    json_response(200, &json!({"entry_id": entry_id, "distributions": per_distribution}))
}

#[cfg(test)]
mod tests {
    use super::entry_id_shape;

    #[test]
    fn only_what_can_be_a_contentful_id_is_looked_up() {
        for good in ["hero-banner", "6KntaYXaHSyIw8M6eo26OK", "a.b_c", &"x".repeat(64)] {
            assert!(entry_id_shape(good), "{good}");
        }
        for bad in ["", "a b", "<script>", "a/b", "é", &"x".repeat(65)] {
            assert!(!entry_id_shape(bad), "{bad}");
        }
    }
}
