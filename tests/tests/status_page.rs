//! The status page in a real browser: headless Chromium against the Worker
//! under `wrangler dev`, after publishes reach Completed. The page shows
//! each change, its paths and its timeline in order; a `<script>` slug is
//! text; wrong or missing credentials get 401 with the Basic challenge.
//! `GET /entries/{id}` reports the same changes as JSON. With
//! `SCREENSHOTS=dir` (`make screenshots`) it also writes the README's
//! screenshots there.

use invalidator_tests::browser::Browser;
use invalidator_tests::loopback::client;
use invalidator_tests::sandbox::{Config, Fixture, Sandbox};
use invalidator_tests::sweeps::{publish_silently, sweep};
use invalidator_tests::toolkit;
use invalidator_tests::wrangler::{require_tools, WranglerDev};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
const STATUS_TOKEN: &str = "status-token-for-tests";
const DIST: &str = "EDEMO123";
const EVIL_SLUG: &str = "<script>alert(1)</script>";
/// The timeline of a completed change, as the page names its steps.
const STEPS: [&str; 4] = ["received", "paths planned", "submitted to CloudFront", "completed"];

fn vars(sb: &Sandbox) -> Vec<(&'static str, String)> {
    sb.settings(DIST, SECRET)
        .into_iter()
        .chain([
            ("STATUS_TOKEN", STATUS_TOKEN.into()),
            (
                "PATH_RULES",
                r#"{"page":["/{slug}","/{slug}/*"],"post":["/blog/{category}/{slug}"],"always":["/"]}"#.into(),
            ),
            ("TAG_RULES", r#"{"page":["page:{slug}"]}"#.into()),
            ("SWEEP_INTERVAL_MINUTES", "1".into()),
            ("COLLECT_WINDOW_SECONDS", "1".into()),
            ("FRESHNESS_MAX_WAIT_SECONDS", "2".into()),
            ("POLL_FIRST_SECONDS", "0.5".into()),
            ("POLL_MAX_SECONDS", "2".into()),
        ])
        .collect()
}

/// `GET /entries/{id}` with the bearer token, once its newest change is
/// completed: that change.
async fn completed_change(w: &WranglerDev, entry_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = client().get(w.url(&format!("/entries/{entry_id}"))).bearer_auth(STATUS_TOKEN).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["entry_id"], entry_id);
        let newest = &body["distributions"][DIST]["changes"][0];
        if newest["state"] == "completed" {
            return newest.clone();
        }
        assert!(Instant::now() < deadline, "{entry_id} not completed: {body:#}\nwrangler log:\n{}", w.log_text());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The page's URL with Basic credentials in it, as a person's browser sends them.
fn page_url(w: &WranglerDev, password: &str, query: &str) -> String {
    format!("http://editor:{password}@127.0.0.1:{}/status{query}", w.port)
}

/// Where each of `needles` is in `haystack`, failing on one missing.
fn positions(haystack: &str, needles: &[&str]) -> Vec<usize> {
    needles.iter().map(|n| haystack.find(n).unwrap_or_else(|| panic!("{n:?} missing from:\n{haystack}"))).collect()
}

/// The part of `dom` from the first `from` on.
fn from<'a>(dom: &'a str, from: &str) -> &'a str {
    &dom[dom.find(from).unwrap_or_else(|| panic!("{from:?} missing from:\n{dom}"))..]
}

async fn publish(w: &WranglerDev, id: &str, content_type: &str, revision: u64, fields: Value) {
    let body = toolkit::publish_body(id, content_type, revision, fields);
    let answer = w.send_signed(toolkit::publish(SECRET, "/webhooks/contentful", body)).await;
    assert_eq!(answer.status(), 202, "{}", answer.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_shows_each_change_its_paths_and_timeline_and_a_script_slug_as_text() {
    require_tools();
    let browser = Browser::require();
    let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    let sb =
        Sandbox::start(Config::local(fixture, Duration::from_secs(1), vec![]).with_cache_tags(&[DIST])).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (vars, path) = (vars(&sb), dir.path().to_path_buf());
    let w = tokio::task::spawn_blocking(move || WranglerDev::start(&path, &vars)).await.unwrap();
    // The first sweep records where the space stands; the last one below finds a missed publish.
    assert_eq!(sweep(&w, STATUS_TOKEN, DIST).await["first"], true);

    // A button two levels below two pages.
    publish(&w, "cta-button", "button", 3, json!({"label": {"en-US": "Shop now"}})).await;
    let change = completed_change(&w, "cta-button").await;
    assert_eq!(change["label"]["content_type"], "button", "{change:#}");
    let steps: Vec<&str> = change["timeline"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["received", "planned", "submitted", "completed"], "{change:#}");

    let dom = tokio::task::spawn_blocking({
        let (browser, url) = (Browser::require(), page_url(&w, STATUS_TOKEN, ""));
        move || browser.dump_dom(&url)
    })
    .await
    .unwrap();
    let latest = from(&dom, "Latest change");
    positions(latest, &["cta-button", "button", "publish", "completed", "/home", "/winter-sale"]);
    let timeline = from(latest, "<ol");
    let at = positions(timeline, &STEPS.map(|s| format!(">{s}<")).each_ref().map(String::as_str));
    assert!(at.windows(2).all(|p| p[0] < p[1]), "timeline steps out of order: {at:?}\n{timeline}");
    assert!(from(&dom, "Recent changes").contains("cta-button"), "the table lists the change");
    assert!(!dom.contains("http-equiv=\"refresh\""), "nothing in flight: the page does not refresh");

    // A slug that is markup: its cache tag keeps it as it is (`<` and `>` are valid in a tag).
    publish(&w, "winter-sale", "page", 2, json!({"slug": {"en-US": EVIL_SLUG}})).await;
    let change = completed_change(&w, "winter-sale").await;
    assert!(change["paths"].as_array().unwrap().iter().any(|p| p == "#page:<script>alert(1)</script>"), "{change:#}");
    let searched = tokio::task::spawn_blocking({
        let (browser, url) = (Browser::require(), page_url(&w, STATUS_TOKEN, "?entry=winter-sale"));
        move || browser.dump_dom(&url)
    })
    .await
    .unwrap();
    assert!(!searched.to_ascii_lowercase().contains("<script"), "no script element in the DOM:\n{searched}");
    let found = from(&searched, "Changes of entry");
    assert!(found.contains("#page:&lt;script&gt;alert(1)&lt;/script&gt;"), "the slug shows as text:\n{found}");
    positions(found, &["winter-sale", "page", "completed"]);

    // Wrong or missing credentials: 401 with the challenge a browser answers.
    for auth in [None, Some(("editor", "wrong")), Some(("editor", ""))] {
        let mut get = client().get(w.url("/status"));
        if let Some((user, password)) = auth {
            get = get.basic_auth(user, Some(password));
        }
        let r = get.send().await.unwrap();
        assert_eq!(r.status(), 401, "{auth:?}");
        assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"invalidator\"");
        assert!(!r.text().await.unwrap().contains(STATUS_TOKEN));
    }
    let bearer = client().get(w.url("/status")).bearer_auth(STATUS_TOKEN).send().await.unwrap();
    assert_eq!(bearer.status(), 401, "the page takes Basic authentication");
    let ok = client().get(w.url("/status")).basic_auth("anyone", Some(STATUS_TOKEN)).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let refused = tokio::task::spawn_blocking({
        let (browser, url) = (Browser::require(), page_url(&w, "wrong", ""));
        move || browser.dump_dom(&url)
    })
    .await
    .unwrap();
    assert!(!refused.contains("cta-button"), "a wrong password shows nothing:\n{refused}");

    // `/entries/{id}`: Basic works too; no credentials is 401, a bad id 400 with a reason.
    let basic = client().get(w.url("/entries/cta-button")).basic_auth("app", Some(STATUS_TOKEN)).send().await.unwrap();
    assert_eq!(basic.status(), 200);
    assert_eq!(client().get(w.url("/entries/cta-button")).send().await.unwrap().status(), 401);
    let bad = client().get(w.url("/entries/not%20an%20id")).bearer_auth(STATUS_TOKEN).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let reason: Value = bad.json().await.unwrap();
    assert!(reason["error"].as_str().unwrap().contains("entry id"), "{reason}");

    // A publish whose webhook was lost: the sweep finds it, and the page names it.
    publish_silently(&sb, "home", 5, "home").await;
    assert_eq!(sweep(&w, STATUS_TOKEN, DIST).await["missed"], 1);
    completed_change(&w, "home").await;
    let dom = tokio::task::spawn_blocking({
        let (browser, url) = (Browser::require(), page_url(&w, STATUS_TOKEN, ""));
        move || browser.dump_dom(&url)
    })
    .await
    .unwrap();
    positions(from(&dom, "Last sweep"), &["1 change(s) no webhook brought", "entry home publish revision 5"]);

    screenshots(browser, &w).await;
}

/// The README's screenshots, at desktop and phone width: written to
/// `SCREENSHOTS` when set, else only checked to be taken.
async fn screenshots(browser: Browser, w: &WranglerDev) {
    let out = std::env::var("SCREENSHOTS").map(std::path::PathBuf::from).ok();
    let scratch = tempfile::tempdir().unwrap();
    let dir = out.unwrap_or_else(|| scratch.path().to_path_buf());
    let url = page_url(w, STATUS_TOKEN, "");
    tokio::task::spawn_blocking(move || {
        browser.screenshot(&url, 1200, 1180, &dir.join("status-desktop.png"));
        browser.screenshot(&url, 390, 1560, &dir.join("status-phone.png"));
    })
    .await
    .unwrap();
}
