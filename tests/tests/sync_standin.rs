//! The Delivery API stand-in's Sync endpoint behaves as Contentful documents
//! it: the initial sync pages through the space without deletions, a delta
//! sync from `nextSyncUrl` brings publishes and deletions, tokens survive a
//! restart of the stand-in, and bad requests get Contentful's error shape.

use invalidator_tests::loopback::client;
use invalidator_tests::sandbox::{Config, Fault, Fixture, Sandbox};
use serde_json::{json, Value};
use std::time::Duration;

fn fixture() -> Fixture {
    Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap()
}

async fn sandbox(faults: Vec<Fault>) -> Sandbox {
    Sandbox::start(Config::local(fixture(), Duration::from_millis(600), faults)).await.unwrap()
}

/// `GET .../sync?{query}`: (status, body).
async fn sync(sb: &Sandbox, query: &str) -> (u16, Value) {
    let url = format!("{}/spaces/demo-space/environments/master/sync?{query}", sb.contentful_url());
    let r = client().get(url).bearer_auth("demo-delivery-token").send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The `sync_token` of a page's next URL, and whether it is a page (not the end).
fn next(body: &Value) -> (String, bool) {
    let (url, page) = match body.get("nextPageUrl") {
        Some(url) => (url, true),
        None => (&body["nextSyncUrl"], false),
    };
    let url = url.as_str().unwrap_or_else(|| panic!("no next URL in {body}"));
    (url.split_once("sync_token=").unwrap().1.to_string(), page)
}

fn items(body: &Value) -> Vec<(String, String)> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["sys"]["type"].as_str().unwrap().to_string(), i["sys"]["id"].as_str().unwrap().to_string()))
        .collect()
}

/// Reads a whole sync from `query`: every item, and the `nextSyncUrl` token.
async fn read_all(sb: &Sandbox, query: &str) -> (Vec<(String, String)>, String, usize) {
    let (status, mut body) = sync(sb, query).await;
    assert_eq!(status, 200, "{body}");
    let mut all = items(&body);
    let mut pages = 1;
    loop {
        let (token, page) = next(&body);
        if !page {
            return (all, token, pages);
        }
        let (status, b) = sync(sb, &format!("sync_token={token}")).await;
        assert_eq!(status, 200, "{b}");
        body = b;
        all.extend(items(&body));
        pages += 1;
    }
}

#[tokio::test]
async fn the_initial_sync_pages_through_the_space_and_a_delta_brings_publishes_and_deletions() {
    let sb = sandbox(vec![]).await;
    let entries = fixture().entries.len();
    let (all, token, pages) = read_all(&sb, "initial=true&limit=2").await;
    assert_eq!(all.len(), entries + fixture().assets.len());
    assert_eq!(pages, all.len().div_ceil(2), "limit is the page size");
    let (_, nothing) = sync(&sb, &format!("sync_token={token}")).await;
    assert_eq!(items(&nothing), [], "nothing changed since");
    assert!(!next(&nothing).1, "the end of the sync");

    let publish = json!({"id": "home", "contentType": "page", "revision": 5, "fields": {"slug": {"en-US": "home"}}});
    let r = client().post(format!("{}/__sandbox/entries", sb.contentful_url())).json(&publish).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let r = client().delete(format!("{}/__sandbox/entries/footer", sb.contentful_url())).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let (delta, later, _) = read_all(&sb, &format!("sync_token={token}")).await;
    assert_eq!(delta, [("Entry".to_string(), "home".to_string()), ("DeletedEntry".into(), "footer".into())]);
    let (_, body) = sync(&sb, &format!("sync_token={token}")).await;
    assert_eq!(body["items"][0]["sys"]["revision"], 5);
    assert_eq!(body["items"][0]["fields"]["slug"], json!({"en-US": "home"}), "every locale, as the Sync API sends");
    let (after, _, _) = read_all(&sb, &format!("sync_token={later}")).await;
    assert_eq!(after, [], "the delta's own token starts after it");
    let (initial_again, _, _) = read_all(&sb, "initial=true").await;
    assert!(!initial_again.iter().any(|(t, _)| t.starts_with("Deleted")), "an initial sync has no deletions");
}

#[tokio::test]
async fn a_token_stays_valid_across_a_restart_of_the_stand_in() {
    let sb = sandbox(vec![]).await;
    let (_, token, _) = read_all(&sb, "initial=true").await;
    drop(sb);
    let restarted = sandbox(vec![]).await;
    let (status, body) = sync(&restarted, &format!("sync_token={token}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(items(&body), []);
}

#[tokio::test]
async fn bad_requests_get_contentfuls_errors_and_a_fault_can_fail_a_sync_mid_way() {
    let sb = sandbox(vec![Fault { on: "sync-page".into(), answer: "500".into() }]).await;
    for query in ["", "initial=true&sync_token=x", "sync_token=not-a-token", "initial=true&limit=101", "initial=false"]
    {
        let (status, body) = sync(&sb, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["sys"], json!({"type": "Error", "id": "BadRequest"}), "{query}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let url = format!("{}/spaces/demo-space/environments/master/sync?initial=true", sb.contentful_url());
    let r = client().get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let url = format!("{}/spaces/other/environments/master/sync?initial=true", sb.contentful_url());
    assert_eq!(client().get(&url).bearer_auth("demo-delivery-token").send().await.unwrap().status(), 404);

    let (status, first) = sync(&sb, "initial=true&limit=2").await;
    assert_eq!(status, 200);
    let (page_token, more) = next(&first);
    assert!(more);
    let (status, _) = sync(&sb, &format!("sync_token={page_token}")).await;
    assert_eq!(status, 500, "the second page fails once");
    let (status, again) = sync(&sb, &format!("sync_token={page_token}")).await;
    assert_eq!(status, 200, "and the same token works after");
    assert_eq!(items(&again).len(), 2);
}
