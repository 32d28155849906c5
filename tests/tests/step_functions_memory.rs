//! Path memory through the AWS body, end to end offline: the real webhook
//! function starts each execution, the real ASL interpreter runs it, and the
//! workflow function keeps each entry's last paths in a DynamoDB table (the
//! stand-in, every signature checked), so a renamed slug invalidates the old
//! path and the new, and an unpublish its exact old path, not `/blog/*`.

use invalidator_tests::asl::{
    function, require_node_tools, run_state_machine, webhook_request_execution_input, SECRET,
};
use invalidator_tests::sandbox::dynamodb::{self, DynamoDbState};
use invalidator_tests::sandbox::{Config, Fixture, FixtureEntry, Sandbox, DEMO_DISTRIBUTION};
use invalidator_tests::toolkit::{self, ToSign};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const TABLE: &str = "invalidator-memory";

/// The stand-ins, with the DynamoDB table, and the settings pointing at them.
struct Aws {
    sb: Sandbox,
    dynamodb: Arc<DynamoDbState>,
    settings: Vec<(String, String)>,
}

impl Aws {
    async fn start() -> Aws {
        require_node_tools();
        let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
        let sb = Sandbox::start(Config::local(fixture, Duration::from_millis(800), vec![])).await.unwrap();
        let (addr, dynamodb) = dynamodb::serve(DynamoDbState::local(&[TABLE])).await.unwrap();
        let settings = sb
            .settings(DEMO_DISTRIBUTION, SECRET)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .chain(
                [
                    ("PATH_RULES", r#"{"page":["/{slug}"],"post":["/blog/{category}/{slug}"]}"#.to_string()),
                    ("COLLECT_WINDOW_SECONDS", "0".into()),
                    ("FRESHNESS_MAX_WAIT_SECONDS", "2".into()),
                    ("POLL_FIRST_SECONDS", "1".into()),
                    ("PATH_MEMORY_TABLE", TABLE.into()),
                    ("DYNAMODB_ENDPOINT", format!("http://{addr}")),
                ]
                .map(|(k, v)| (k.to_string(), v)),
            )
            .collect();
        Aws { sb, dynamodb, settings }
    }

    /// One webhook through the webhook function and one execution of the
    /// state machine; the items its invalidation sent.
    async fn deliver(&self, request: ToSign) -> Vec<String> {
        let before = self.sb.invalidations().len();
        let input = webhook_request_execution_input(&self.settings, request).await;
        let workflow = function("workflow", &self.settings).await;
        let (ok, events) = run_state_machine(workflow.api.invoke_url(), input).await;
        assert!(ok, "{events:#?}");
        let all = self.sb.invalidations();
        assert_eq!(all.len(), before + 1, "one invalidation per change");
        all[before].paths.clone()
    }

    fn publish(&self, entry: &FixtureEntry) -> ToSign {
        self.sb.contentful_state.publish(entry.clone());
        let body = toolkit::publish_body(&entry.id, &entry.content_type, entry.revision, json!(entry.fields));
        toolkit::publish(SECRET, "/", body)
    }

    /// Every DynamoDB request was correctly signed and answered.
    fn every_dynamodb_call_succeeded(&self) {
        let calls = self.dynamodb.log.all();
        assert!(!calls.is_empty(), "the memory was used");
        assert!(calls.iter().all(|c| c.status == 200), "{calls:#?}");
    }
}

fn entry(id: &str, content_type: &str, revision: u64, fields: serde_json::Value) -> FixtureEntry {
    serde_json::from_value(json!({"id": id, "contentType": content_type, "revision": revision, "fields": fields}))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slug_renamed_from_winter_sale_to_winter_deals_invalidates_both_paths() {
    let aws = Aws::start().await;
    let first = aws.publish(&entry("winter-sale", "page", 3, json!({"slug": {"en-US": "winter-sale"}})));
    assert_eq!(aws.deliver(first).await, ["/winter-sale"]);
    let renamed = aws.publish(&entry("winter-sale", "page", 4, json!({"slug": {"en-US": "winter-deals"}})));
    assert_eq!(aws.deliver(renamed).await, ["/winter-deals", "/winter-sale"]);
    aws.every_dynamodb_call_succeeded();
    let items = aws.dynamodb.items(TABLE);
    let kept = items.iter().find(|i| i["sk"]["S"] == "winter-sale").expect("the entry's memory");
    assert_eq!(kept["pk"]["S"], DEMO_DISTRIBUTION);
    assert!(kept["memory"]["S"].as_str().unwrap().contains("/winter-deals"), "{kept:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unpublishing_a_blog_post_invalidates_its_exact_old_path_and_no_blog_wildcard() {
    let aws = Aws::start().await;
    let post = entry("ski-post", "post", 2, json!({"slug": {"en-US": "ski"}, "category": {"en-US": "news"}}));
    let published = aws.publish(&post);
    assert_eq!(aws.deliver(published).await, ["/blog/news/ski"]);
    assert!(aws.sb.contentful_state.unpublish("ski-post"));
    let unpublished = toolkit::unpublish(SECRET, "/", "ski-post", "post", 3);
    assert_eq!(aws.deliver(unpublished).await, ["/blog/news/ski"], "the exact old path, and no /blog/*");
    let unknown = toolkit::unpublish(SECRET, "/", "old-post", "post", 9);
    assert_eq!(aws.deliver(unknown).await, ["/blog/*"], "nothing remembered: the wildcard stays");
    aws.every_dynamodb_call_succeeded();
}
