//! The Delivery API stand-in reads `locale`, `select`, `order` and `limit` as
//! Contentful does, and refuses a `limit` over 1000 with Contentful's error.

use invalidator_tests::loopback::client;
use invalidator_tests::sandbox::{Config, Fixture, Sandbox};
use serde_json::Value;
use std::time::Duration;

async fn sandbox() -> Sandbox {
    let mut fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    fixture.page_size = 100;
    Sandbox::start(Config::local(fixture, Duration::from_millis(600), vec![])).await.unwrap()
}

/// `GET .../entries?{query}`: (status, body).
async fn entries(sb: &Sandbox, query: &str) -> (u16, Value) {
    let url = format!("{}/spaces/demo-space/environments/master/entries?{query}", sb.contentful_url());
    let r = client().get(url).bearer_auth("demo-delivery-token").send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn ids(body: &Value) -> Vec<&str> {
    body["items"].as_array().unwrap().iter().map(|i| i["sys"]["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn locale_star_keys_fields_by_locale_and_a_code_gives_plain_values() {
    let sb = sandbox().await;
    let (status, all) = entries(&sb, "sys.id=home&locale=*").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["items"][0]["fields"]["slug"], serde_json::json!({"en-US": "home", "de-DE": "startseite"}));
    let (_, default) = entries(&sb, "sys.id=home").await;
    assert_eq!(default["items"][0]["fields"]["slug"], "home", "the default locale, plain");
    let (_, german) = entries(&sb, "sys.id=home&locale=de-DE").await;
    assert_eq!(german["items"][0]["fields"]["slug"], "startseite");
    assert_eq!(german["items"][0]["fields"]["title"], "Home", "no de-DE title: the default locale's");
    let (status, unknown) = entries(&sb, "sys.id=home&locale=xx-XX").await;
    assert_eq!(status, 400, "{unknown}");
}

#[tokio::test]
async fn select_returns_only_the_selected_paths() {
    let sb = sandbox().await;
    let (status, body) = entries(&sb, "links_to_entry=hero-banner&select=sys.id,fields.slug&locale=*").await;
    assert_eq!(status, 200, "{body}");
    for item in body["items"].as_array().unwrap() {
        let sys: Vec<&str> = item["sys"].as_object().unwrap().keys().map(String::as_str).collect();
        let fields: Vec<&str> = item["fields"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!((sys, fields), (vec!["id"], vec!["slug"]), "{item}");
    }
    let (status, _) = entries(&sb, "sys.id=home&select=sys.contentType.sys").await;
    assert_eq!(status, 400, "select goes two levels deep at most");
}

#[tokio::test]
async fn order_sorts_ascending_and_descending() {
    let sb = sandbox().await;
    let (_, by_created) = entries(&sb, "links_to_entry=hero-banner&order=sys.createdAt").await;
    assert_eq!(ids(&by_created), ["home", "winter-sale"]);
    let (_, newest_first) = entries(&sb, "links_to_entry=hero-banner&order=-sys.updatedAt").await;
    assert_eq!(ids(&newest_first), ["winter-sale", "home"]);
    let (_, by_revision) = entries(&sb, "links_to_entry=cta-button&order=-sys.revision").await;
    assert_eq!(ids(&by_revision), ["hero-banner", "blog-post"]);
}

#[tokio::test]
async fn a_limit_over_1000_is_a_bad_request_not_capped() {
    let sb = sandbox().await;
    let (status, body) = entries(&sb, "links_to_entry=hero-banner&limit=1001").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["sys"], serde_json::json!({"type": "Error", "id": "BadRequest"}));
    assert!(body["message"].as_str().unwrap().contains("1000"), "{body}");
    let (status, body) = entries(&sb, "links_to_entry=hero-banner&limit=1000").await;
    assert_eq!((status, ids(&body).len()), (200, 2), "{body}");
    let (status, _) = entries(&sb, "links_to_entry=hero-banner&limit=many").await;
    assert_eq!(status, 400);
}
