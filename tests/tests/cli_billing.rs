//! `invalidator status` shows the month's billed items on the distribution,
//! read from the CloudFront stand-in's record (ListInvalidations, paged).

use assert_cmd::Command;
use invalidator_tests::binaries::binary;
use invalidator_tests::sandbox::{Config, Fixture, Sandbox};
use std::time::Duration;

fn cli(sb: &Sandbox, args: &[&str]) -> Command {
    let mut cmd = Command::new(binary("invalidator-lambda", "invalidator"));
    cmd.env_clear()
        .env("CLOUDFRONT_DISTRIBUTION_ID", "EDEMO123")
        .env("CLOUDFRONT_ENDPOINT", sb.cloudfront_url())
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        .env("POLL_FIRST_SECONDS", "0.2")
        .args(args);
    cmd
}

async fn output(mut cmd: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_the_months_billed_items_against_the_free_thousand() {
    let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    let sb = Sandbox::start(Config::local(fixture, Duration::from_millis(100), vec![])).await.unwrap();
    // 101 invalidations: more than one listing page.
    for i in 0..101 {
        let paths: Vec<String> = (0..(1 + i % 3)).map(|k| format!("/p{i}/{k}")).collect();
        let mut args = vec!["invalidate"];
        args.extend(paths.iter().map(String::as_str));
        let out = output(cli(&sb, &args)).await;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let expected: u64 = (0..101).map(|i| 1 + i % 3).sum();
    let id = sb.invalidations()[0].id.clone();
    let out = output(cli(&sb, &["status", &id])).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains(&format!("{expected} billed item(s) in 101 invalidation(s)")) && stdout.contains("1000 free"),
        "{stdout}"
    );
}
