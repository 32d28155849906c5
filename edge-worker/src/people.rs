//! The pages a person (or a sidebar app) reads: `GET /status`, the HTML
//! status page behind HTTP Basic authentication, and `GET /entries/{id}`,
//! one entry's latest changes as JSON (Basic or bearer). Both ask every
//! distribution's Durable Object and render what it answers; nothing here
//! works out where a change stands.

use crate::auth::{self, Accept, BASIC_CHALLENGE};
use crate::clock::WorkerClock;
use crate::page::{self, DistributionView, Page, Search};
use crate::{json_response, settings, COORDINATOR};
use invalidator_core::io::Clock;
use invalidator_core::workflow::ChangeReport;
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

/// Asks each distribution's Durable Object for `path`: its JSON answer, in
/// the order of `CLOUDFRONT_DISTRIBUTION_ID`.
pub async fn ask_each(env: &Env, distributions: &[String], path: &str) -> Result<Vec<(String, u16, Value)>> {
    let namespace = env.durable_object(COORDINATOR)?;
    let mut answers = Vec::new();
    for distribution in distributions {
        let stub = namespace.id_from_name(distribution)?.get_stub()?;
        let mut answer = stub.fetch_with_str(&format!("https://coordinator{path}")).await?;
        let value: Value = answer.json().await.unwrap_or(Value::Null);
        answers.push((distribution.clone(), answer.status_code(), value));
    }
    Ok(answers)
}

/// The changes of `entry_id` each Durable Object reports.
async fn entry_changes(
    env: &Env,
    distributions: &[String],
    entry_id: &str,
) -> Result<Vec<(String, Vec<ChangeReport>)>> {
    let answers = ask_each(env, distributions, &format!("/entries/{entry_id}")).await?;
    Ok(answers
        .into_iter()
        .map(|(d, _, v)| (d, serde_json::from_value(v["changes"].clone()).unwrap_or_default()))
        .collect())
}

fn distribution_ids(env: &Env) -> std::result::Result<Vec<String>, Response> {
    crate::webhook::load_settings(env).map(|s| s.cloudfront.distribution_ids.clone())
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
    let now = WorkerClock.now();
    let mut page = Page { now, distributions: Vec::new(), search: None };
    for (id, _, value) in ask_each(env, &distributions, "/invalidations").await? {
        let view: DistributionView = serde_json::from_value(value).unwrap_or_else(|e| {
            worker::console_error!("invalidator: the status of {id} does not read: {e}");
            DistributionView::default()
        });
        page.distributions.push((id, view));
    }
    let searched = crate::request_target::query_param(&req.inner().url(), "entry").map(|s| s.trim().to_string());
    if let Some(entry_id) = searched.filter(|s| !s.is_empty()) {
        let mut search = Search { entry_id, ..Search::default() };
        if entry_id_shape(&search.entry_id) {
            let found = entry_changes(env, &distributions, &search.entry_id).await?;
            search.found = found.into_iter().flat_map(|(_, changes)| changes).collect();
        } else {
            search.refused = Some(ENTRY_ID_RULE);
        }
        page.search = Some(search);
    }
    let mut response = Response::from_html(page::render(&page))?;
    let headers = response.headers_mut();
    if page::refreshes(&page) {
        headers.set("refresh", &page::REFRESH_SECONDS.to_string())?;
    }
    // Defence in depth: even markup that slipped through could run nothing.
    headers.set("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")?;
    headers.set("x-content-type-options", "nosniff")?;
    headers.set("cache-control", "no-store")?;
    headers.set("referrer-policy", "no-referrer")?;
    Ok(response)
}

/// `GET /entries/{entry-id}`.
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
    for (d, changes) in entry_changes(env, &distributions, &entry_id).await? {
        per_distribution.insert(d, json!({"changes": changes}));
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
