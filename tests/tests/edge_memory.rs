//! Path memory through the Cloudflare Worker, end to end under the real
//! `wrangler dev`: the Durable Object keeps each entry's last paths in its
//! own storage keys, so a renamed slug invalidates the old path and the new,
//! and an unpublish its exact old path instead of its rule's wildcard.

use invalidator_tests::sandbox::{Config, Fixture, FixtureEntry, Sandbox};
use invalidator_tests::toolkit::{self, ToSign};
use invalidator_tests::wrangler::{require_tools, WranglerDev};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
const STATUS_TOKEN: &str = "status-token-for-tests";
const DIST: &str = "EDEMO123";

fn vars(sb: &Sandbox, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    sb.settings(DIST, SECRET)
        .into_iter()
        .chain([
            ("STATUS_TOKEN", STATUS_TOKEN.into()),
            ("PATH_RULES", r#"{"page":["/{slug}"],"post":["/blog/{category}/{slug}"]}"#.into()),
            ("COLLECT_WINDOW_SECONDS", "0".into()),
            ("FRESHNESS_MAX_WAIT_SECONDS", "5".into()),
            ("POLL_FIRST_SECONDS", "0.5".into()),
            ("POLL_MAX_SECONDS", "1".into()),
        ])
        .chain(extra.iter().map(|(k, v)| (*k, v.to_string())))
        .collect()
}

/// The Worker under wrangler, and the stand-ins it talks to.
struct Run {
    sb: Sandbox,
    w: WranglerDev,
    _dir: tempfile::TempDir,
}

impl Run {
    async fn start() -> Run {
        Run::start_with(&[]).await
    }

    async fn start_with(extra: &[(&'static str, &str)]) -> Run {
        Run::start_in_progress_for(Duration::from_millis(500), extra).await
    }

    /// The same, with CloudFront holding each invalidation in progress for `in_progress_for`.
    async fn start_in_progress_for(in_progress_for: Duration, extra: &[(&'static str, &str)]) -> Run {
        require_tools();
        let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
        let sb = Sandbox::start(Config::local(fixture, in_progress_for, vec![])).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (path, vars) = (dir.path().to_path_buf(), vars(&sb, extra));
        let w = tokio::task::spawn_blocking(move || WranglerDev::start(&path, &vars)).await.unwrap();
        Run { sb, w, _dir: dir }
    }

    /// Sends one signed webhook and waits until the invalidation it makes has
    /// completed; returns the items that invalidation sent.
    async fn deliver(&self, request: ToSign) -> Vec<String> {
        let before = self.sb.invalidations().len();
        self.send(request).await;
        self.completed_since(before).await
    }

    /// Sends one signed webhook, which must be stored.
    async fn send(&self, request: ToSign) {
        let answer = self.w.send_signed(request).await;
        assert_eq!(answer.status(), 202, "{}", answer.text().await.unwrap());
    }

    /// Waits until every invalidation made after the first `before` has
    /// completed; returns the items they sent.
    async fn completed_since(&self, before: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // Done once the status page lists each new invalidation as completed:
            // CloudFront can hold one before the stored workflow shows its batch.
            let page = self.status().await;
            let batches = page[DIST]["batches"].as_array().cloned().unwrap_or_default();
            let made = self.sb.invalidations().split_off(before);
            let completed = |id: &str| batches.iter().any(|b| b["invalidation_id"] == id && b["state"] == "completed");
            if !made.is_empty() && made.iter().all(|i| completed(&i.id)) {
                return made.into_iter().flat_map(|i| i.paths).collect();
            }
            assert!(Instant::now() < deadline, "not completed: {page:#}\nwrangler log:\n{}", self.w.log_text());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn status(&self) -> Value {
        let r = invalidator_tests::loopback::client()
            .get(self.w.url("/invalidations"))
            .bearer_auth(STATUS_TOKEN)
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }
}

fn page(id: &str, slug: &str, revision: u64) -> FixtureEntry {
    serde_json::from_value(json!({"id": id, "contentType": "page", "revision": revision,
        "fields": {"slug": {"en-US": slug}}, "links": []}))
    .unwrap()
}

fn publish(entry: &FixtureEntry) -> ToSign {
    let body = toolkit::publish_body(&entry.id, &entry.content_type, entry.revision, json!(entry.fields));
    toolkit::publish(SECRET, "/webhooks/contentful", body)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slug_renamed_from_winter_sale_to_winter_deals_invalidates_both_paths() {
    let run = Run::start().await;
    let first = page("winter-sale", "winter-sale", 3);
    run.sb.contentful_state.publish(first.clone());
    assert_eq!(run.deliver(publish(&first)).await, ["/winter-sale"]);

    let renamed = page("winter-sale", "winter-deals", 4);
    run.sb.contentful_state.publish(renamed.clone());
    assert_eq!(run.deliver(publish(&renamed)).await, ["/winter-deals", "/winter-sale"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn unpublishing_a_blog_post_invalidates_its_exact_old_path_and_no_blog_wildcard() {
    let run = Run::start().await;
    let post: FixtureEntry = serde_json::from_value(json!({"id": "ski-post", "contentType": "post", "revision": 2,
        "fields": {"slug": {"en-US": "ski"}, "category": {"en-US": "news"}}, "links": []}))
    .unwrap();
    run.sb.contentful_state.publish(post.clone());
    assert_eq!(run.deliver(publish(&post)).await, ["/blog/news/ski"]);

    assert!(run.sb.contentful_state.unpublish("ski-post"));
    let unpublish = toolkit::unpublish(SECRET, "/webhooks/contentful", "ski-post", "post", 3);
    let items = run.deliver(unpublish).await;
    assert_eq!(items, ["/blog/news/ski"], "the exact old path, and no /blog/*");
    // The newest batch is listed first.
    let notes = run.status().await[DIST]["batches"][0]["notes"].clone();
    assert!(notes.to_string().contains("remembered"), "{notes:#}");

    // Nothing remembered for an entry never published here: the wildcard stays.
    let unknown = toolkit::unpublish(SECRET, "/webhooks/contentful", "old-post", "post", 9);
    assert_eq!(run.deliver(unknown).await, ["/blog/*"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_memory_keeps_at_most_its_size_and_drops_the_least_recently_used_entry() {
    let run = Run::start_with(&[("PATH_MEMORY_ENTRIES", "2")]).await;
    for id in ["first", "second", "third"] {
        let entry = page(id, id, 1);
        run.sb.contentful_state.publish(entry.clone());
        assert_eq!(run.deliver(publish(&entry)).await, [format!("/{id}")]);
    }
    // "first" was used least recently when "third" came: it is forgotten, and
    // its unpublish falls back to the rule's wildcard; "third" is remembered.
    assert!(run.sb.contentful_state.unpublish("third"));
    let third = toolkit::unpublish(SECRET, "/webhooks/contentful", "third", "page", 2);
    assert_eq!(run.deliver(third).await, ["/third"]);
    assert!(run.sb.contentful_state.unpublish("first"));
    let first = toolkit::unpublish(SECRET, "/webhooks/contentful", "first", "page", 2);
    assert_eq!(run.deliver(first).await, ["/*"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_renames_arriving_newest_first_while_a_batch_is_in_flight_leave_the_newest_path_remembered() {
    // CloudFront holds each invalidation 3 s: the renames arrive while one is in flight.
    let run = Run::start_in_progress_for(Duration::from_secs(3), &[]).await;
    let first = page("sale", "winter-sale", 3);
    run.sb.contentful_state.publish(first.clone());
    assert_eq!(run.deliver(publish(&first)).await, ["/winter-sale"]);

    // Revision 5 is sent first, and its tracking id (the inbox key) sorts
    // first too: however the Durable Object takes them in, 5 is folded before 4.
    const TOPIC: &str = "ContentManagement.Entry.publish";
    let key = |e: &FixtureEntry| {
        let body = toolkit::publish_body(&e.id, &e.content_type, e.revision, json!(e.fields));
        invalidator_core::webhook::tracking_id(TOPIC, body.as_bytes())
    };
    let fourth = page("sale", "winter-deals", 4);
    let fifth = (0..).map(|k| page("sale", &format!("winter-finale-{k}"), 5)).find(|e| key(e) < key(&fourth)).unwrap();
    let newest = format!("/{}", fifth.fields["slug"]["en-US"].as_str().unwrap());

    let before = run.sb.invalidations().len();
    let other = page("other-page", "other", 1);
    run.sb.contentful_state.publish(other.clone());
    run.send(publish(&other)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while run.sb.invalidations().len() == before {
        assert!(Instant::now() < deadline, "no invalidation made:\n{}", run.w.log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    run.sb.contentful_state.publish(fifth.clone());
    run.send(publish(&fifth)).await;
    run.send(publish(&fourth)).await;
    let mut made = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !made.contains(&newest) {
        assert!(Instant::now() < deadline, "the renames were not invalidated: {made:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        made = run.completed_since(before).await;
    }
    for path in ["/other", "/winter-deals", newest.as_str(), "/winter-sale"] {
        assert!(made.iter().any(|p| p == path), "{path} in {made:?}");
    }

    // The memory kept revision 5's path: its unpublish invalidates that one.
    assert!(run.sb.contentful_state.unpublish("sale"));
    let unpublish = toolkit::unpublish(SECRET, "/webhooks/contentful", "sale", "page", 6);
    assert_eq!(run.deliver(unpublish).await, [newest]);
}
