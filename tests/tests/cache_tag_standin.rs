//! The CloudFront stand-in's cache tags: a `#tag` item is taken only by a
//! distribution with a cache tag configuration, and refused elsewhere as
//! CloudFront refuses it; tags and paths mix in one batch.

use invalidator_core::cloudfront;
use invalidator_core::io::{Clock, HttpClient, HttpResponse};
use invalidator_core::settings::{CloudFrontSettings, SettingsMap};
use invalidator_lambda::http_client::{ReqwestClient, SystemClock};
use invalidator_tests::sandbox::{Config, Fixture, Sandbox, DEMO_DISTRIBUTION};
use std::time::Duration;

const TAGGED: &str = "ETAGGED1";

async fn sandbox() -> Sandbox {
    let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    let config = Config::local(fixture, Duration::from_millis(600), vec![])
        .with_distributions(&[DEMO_DISTRIBUTION, TAGGED])
        .with_cache_tags(&[TAGGED]);
    Sandbox::start(config).await.unwrap()
}

async fn create(sb: &Sandbox, dist: &str, items: &[&str], reference: &str) -> HttpResponse {
    let map: SettingsMap =
        sb.settings(DEMO_DISTRIBUTION, "unused").into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let settings = CloudFrontSettings::from_map(&map).unwrap();
    let items: Vec<String> = items.iter().map(|p| p.to_string()).collect();
    let req = cloudfront::create_invalidation(&settings, dist, &items, reference, SystemClock.now()).unwrap();
    ReqwestClient::new(Duration::from_secs(5)).send(req).await.unwrap()
}

#[tokio::test]
async fn tags_are_taken_only_where_the_distribution_has_cache_tags() {
    let sb = sandbox().await;
    let refused = create(&sb, DEMO_DISTRIBUTION, &["/a", "#entry:a"], "r1").await;
    let body = String::from_utf8_lossy(refused.body()).to_string();
    assert_eq!(refused.status(), 400, "{body}");
    assert!(body.contains("<Code>InvalidArgument</Code>") && body.contains("CacheTagConfig"), "{body}");

    let taken = create(&sb, TAGGED, &["/a", "#entry:a"], "r2").await;
    assert_eq!(taken.status(), 201, "{}", String::from_utf8_lossy(taken.body()));
    let stored = sb.invalidations();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].paths, ["/a", "#entry:a"]);

    for bad in ["#a,b", "#a*", "#a b"] {
        let r = create(&sb, TAGGED, &[bad], &format!("bad-{bad}")).await;
        assert_eq!(r.status(), 400, "{bad} must be refused");
    }
}
