//! Driving the Worker's catch-up sweep from a test: fire its cron trigger
//! (`wrangler dev --test-scheduled`) and wait for the report, and publish
//! in the Delivery API stand-in with no webhook, as a lost delivery would.

use crate::loopback::client;
use crate::sandbox::Sandbox;
use crate::wrangler::WranglerDev;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// `distribution`'s entry of `GET /invalidations`.
async fn status(w: &WranglerDev, token: &str, distribution: &str) -> Value {
    let r = client().get(w.url("/invalidations")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()[distribution].clone()
}

/// Fires the cron trigger and returns the sweep's report from the status page.
pub async fn sweep(w: &WranglerDev, token: &str, distribution: &str) -> Value {
    let before = status(w, token, distribution).await["last_sweep"]["at"].clone();
    let r = client().get(w.url("/cdn-cgi/handler/scheduled?cron=*+*+*+*+*")).send().await.unwrap();
    assert!(r.status().is_success(), "{:?}: {}", r.status(), r.text().await.unwrap_or_default());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let last = status(w, token, distribution).await["last_sweep"].clone();
        if !last.is_null() && last["at"] != before {
            return last;
        }
        assert!(Instant::now() < deadline, "no sweep reported in 30 s\nwrangler log:\n{}", w.log_text());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Publishes `slug` as a new revision of page `id` in the stand-in, with no webhook.
pub async fn publish_silently(sb: &Sandbox, id: &str, revision: u64, slug: &str) {
    let entry = json!({"id": id, "contentType": "page", "revision": revision, "fields": {"slug": {"en-US": slug}}});
    let r = client().post(format!("{}/__sandbox/entries", sb.contentful_url())).json(&entry).send().await.unwrap();
    assert_eq!(r.status(), 204);
}
