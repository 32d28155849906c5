//! The Worker's notifications under the real `wrangler dev`: a batch
//! CloudFront refuses for good (AccessDenied) sends one Slack message, with
//! the reason and the paths, to a local receiver; a later change that
//! completes sends none (NOTIFY_ON unset); the secrets reach no log.

use invalidator_tests::notify_receiver::{Received, Receiver};
use invalidator_tests::sandbox::{Config, Fault, Fixture, Sandbox};
use invalidator_tests::toolkit::{self, ToSign};
use invalidator_tests::wrangler::{require_tools, WranglerDev};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
const STATUS_TOKEN: &str = "status-token-for-tests";
const NOTIFY_SECRET: &str = "notify-secret-of-the-worker-test";
const DIST: &str = "EDEMO123";

async fn publish(w: &WranglerDev, id: &str, content_type: &str, revision: u64) {
    let body = toolkit::publish_body(id, content_type, revision, json!({}));
    let request: ToSign = toolkit::publish(SECRET, "/webhooks/contentful", body.clone());
    let [headers]: [_; 1] = toolkit::sign_all(&[request]).try_into().unwrap();
    let mut req = invalidator_tests::loopback::client().post(w.url("/webhooks/contentful")).body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let answer = req.send().await.unwrap();
    let status = answer.status();
    assert_eq!(status, 202, "{}\n{}", answer.text().await.unwrap_or_default(), w.log_text());
}

async fn status(w: &WranglerDev) -> Value {
    let r = invalidator_tests::loopback::client()
        .get(w.url("/invalidations"))
        .bearer_auth(STATUS_TOKEN)
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()[DIST].clone()
}

/// Waits until the distribution's status satisfies `done`.
async fn wait_for(w: &WranglerDev, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = status(w).await;
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "not reached: {s:#}\nwrangler log:\n{}", w.log_text());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The notification's status once none waits: sent (or dropped, which fails the test).
fn settled(s: &Value) -> bool {
    s["notifications"]["waiting"] == 0
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_refused_for_good_sends_one_slack_message_with_the_reason_and_paths() {
    require_tools();
    let receiver = Receiver::start().await;
    let faults = vec![Fault { on: "create".into(), answer: "AccessDenied".into() }];
    let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    let sb = Sandbox::start(Config::local(fixture, Duration::from_secs(1), faults)).await.unwrap();
    let mut vars = sb.settings(DIST, SECRET);
    vars.extend([
        ("STATUS_TOKEN", STATUS_TOKEN.to_string()),
        ("PATH_RULES", r#"{"page":["/{slug}"],"post":["/blog/{category}/{slug}"],"always":["/"]}"#.into()),
        ("COLLECT_WINDOW_SECONDS", "0".into()),
        ("FRESHNESS_MAX_WAIT_SECONDS", "2".into()),
        ("POLL_FIRST_SECONDS", "0.5".into()),
        ("NOTIFY_URL", receiver.url()),
        ("NOTIFY_SECRET", NOTIFY_SECRET.into()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let w = tokio::task::spawn_blocking(move || WranglerDev::start(&path, &vars)).await.unwrap();

    publish(&w, "cta-button", "button", 3).await;
    let failed = wait_for(&w, |s| s["phase"] == "failed" && settled(s)).await;
    assert_eq!(failed["notifications"]["dropped"], 0, "{failed:#}");
    let received = receiver.received().await;
    assert_eq!(received.len(), 1, "{received:#?}");
    let slack = &received[0];
    assert!(slack.signed_with(NOTIFY_SECRET), "{:?}", slack.signature);
    let text = slack.body["text"].as_str().unwrap();
    assert!(text.contains("Batch 1 failed") && text.contains(DIST), "{text}");
    let blocks = slack.body["blocks"].as_array().unwrap();
    let facts = blocks[1]["text"]["text"].as_str().unwrap();
    assert!(facts.contains("AccessDenied"), "{facts}");
    assert!(facts.contains("`/winter-sale`") && facts.contains("`/home`"), "{facts}");

    // A change that completes notifies nothing (NOTIFY_ON unset): still one.
    publish(&w, "blog-post", "post", 1).await;
    wait_for(&w, |s| s["phase"] == "completed" && settled(s)).await;
    let received: Vec<Received> = receiver.received().await;
    assert_eq!(received.len(), 1, "{received:#?}");
    let log = w.log_text();
    assert!(!log.contains(NOTIFY_SECRET) && !log.contains(&receiver.url()), "a secret reached the log");
}
