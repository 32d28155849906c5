//! Cache tags through the Cloudflare Worker, end to end under the real
//! `wrangler dev`: a publish sends `#entry:<id>` for the changed entry and
//! every entry the walk visits, beside the paths, billed as counted; a field
//! value that cannot make a valid tag is encoded, or skipped with a note,
//! and never fails the batch.

use invalidator_tests::cache_tags::{self, CTA_BUTTON_TAGS};
use invalidator_tests::sandbox::{Config, Sandbox};
use invalidator_tests::toolkit;
use invalidator_tests::wrangler::{require_tools, WranglerDev};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
const STATUS_TOKEN: &str = "status-token-for-tests";
const DIST: &str = "EDEMO123";

fn vars(sb: &Sandbox) -> Vec<(&'static str, String)> {
    sb.settings(DIST, SECRET)
        .into_iter()
        .chain([
            ("STATUS_TOKEN", STATUS_TOKEN.into()),
            (
                "PATH_RULES",
                r#"{"page":["/{slug}","/{slug}/*"],"post":["/blog/{category}/{slug}"],"always":["/"]}"#.into(),
            ),
            ("TAG_RULES", cache_tags::TAG_RULES.into()),
            ("COLLECT_WINDOW_SECONDS", "1".into()),
            ("FRESHNESS_MAX_WAIT_SECONDS", "2".into()),
            ("POLL_FIRST_SECONDS", "0.5".into()),
            ("POLL_MAX_SECONDS", "2".into()),
        ])
        .collect()
}

async fn status_page(w: &WranglerDev) -> Value {
    let r = invalidator_tests::loopback::client()
        .get(w.url("/invalidations"))
        .bearer_auth(STATUS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publish_with_tags_sends_entry_tags_for_the_entry_and_its_parents_billed_as_counted() {
    require_tools();
    let config = Config::local(cache_tags::fixture(), Duration::from_secs(1), vec![]).with_cache_tags(&[DIST]);
    let sb = Sandbox::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vars = vars(&sb);
    let path = dir.path().to_path_buf();
    let w = tokio::task::spawn_blocking(move || WranglerDev::start(&path, &vars)).await.unwrap();

    let body = toolkit::publish_body("cta-button", "button", 3, json!({}));
    let answer = w.send_signed(toolkit::publish(SECRET, "/webhooks/contentful", body)).await;
    assert_eq!(answer.status(), 202, "{}", answer.text().await.unwrap());

    let deadline = Instant::now() + Duration::from_secs(60);
    let page = loop {
        let page = status_page(&w).await;
        let batches = page[DIST]["batches"].as_array().cloned().unwrap_or_default();
        if !batches.is_empty() && batches.iter().all(|b| b["state"] == "completed") {
            break page;
        }
        assert!(Instant::now() < deadline, "not completed: {page:#}\nwrangler log:\n{}", w.log_text());
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let invalidations = sb.invalidations();
    assert_eq!(invalidations.len(), 1, "one CreateInvalidation");
    let paths = [
        "/",
        "/blog/news/snow%20%C3%A9%20report",
        "/home",
        "/home/*",
        "/startseite",
        "/startseite/*",
        "/winter-sale",
        "/winter-sale/*",
    ];
    let expected: Vec<&str> = CTA_BUTTON_TAGS.iter().chain(&paths).copied().collect();
    assert_eq!(invalidations[0].paths, expected);
    let batch = &page[DIST]["batches"][0];
    assert_eq!(batch["billed_items"], 15, "{batch:#}");
    assert_eq!(batch["tag_count"], 7, "{batch:#}");
    let month = &page[DIST]["billed_this_month"];
    assert_eq!((month["items"].as_u64(), month["free_per_month"].as_u64()), (Some(15), Some(1000)), "{month}");
    let notes = batch["notes"].as_array().unwrap();
    assert!(
        cache_tags::notes_skip_the_long_title(notes.iter().filter_map(Value::as_str)),
        "the over-long title's tag is skipped with a note: {notes:#?}"
    );
}
