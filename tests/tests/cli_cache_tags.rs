//! `invalidator cache-tags` as a user runs it, against the Delivery API
//! stand-in: the header value for a page, by the same TAG_RULES.

use assert_cmd::Command;
use invalidator_tests::binaries::binary;
use invalidator_tests::cache_tags::{fixture, TAG_RULES};
use invalidator_tests::sandbox::{Config, Sandbox};
use std::time::Duration;

async fn run(sb: &Sandbox, tag_rules: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(binary("invalidator-lambda", "invalidator"));
    cmd.env_clear()
        .env("CONTENTFUL_SPACE_ID", "demo-space")
        .env("CONTENTFUL_DELIVERY_TOKEN", "demo-delivery-token")
        .env("CONTENTFUL_CDA_ENDPOINT", sb.contentful_url())
        .arg("cache-tags")
        .args(args);
    if let Some(rules) = tag_rules {
        cmd.env("TAG_RULES", rules);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_tags_prints_the_header_value_for_a_page_and_names_what_it_left_out() {
    let sb = Sandbox::start(Config::local(fixture(), Duration::from_millis(500), vec![])).await.unwrap();
    let out = run(&sb, Some(TAG_RULES), &["winter-sale", "hero-banner", "cta-button"]).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout.trim(), "entry:winter-sale,entry:hero-banner,entry:cta-button,page:winter%2c%20sale%2a");

    let long = run(&sb, Some(TAG_RULES), &["home"]).await;
    assert!(long.status.success());
    assert_eq!(String::from_utf8_lossy(&long.stdout).trim(), "entry:home");
    assert!(String::from_utf8_lossy(&long.stderr).contains("over CloudFront's 256"), "the skipped title is named");

    let missing = run(&sb, None, &["home"]).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("TAG_RULES"));
    let unknown = run(&sb, Some(TAG_RULES), &["no-such-entry"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no-such-entry"));
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_tags_revisions_prints_the_revision_header_value_without_tag_rules() {
    let sb = Sandbox::start(Config::local(fixture(), Duration::from_millis(500), vec![])).await.unwrap();
    let served = |id: &str| fixture().entries.iter().find(|e| e.id == id).unwrap().revision;
    let out = run(&sb, None, &["--revisions", "winter-sale", "hero-banner"]).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    let want = format!("winter-sale:{},hero-banner:{}", served("winter-sale"), served("hero-banner"));
    assert_eq!(stdout.trim(), want);
}
