//! `invalidator invalidate --wait` with `SITE_URL`: the CLI runs the same
//! workflow, so it verifies through the site (the CDN stand-in) and prints
//! the change's receipt at the end.

use assert_cmd::Command;
use invalidator_tests::binaries::binary;
use invalidator_tests::sandbox::{Config, Fixture, Sandbox};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn invalidate_wait_verifies_through_the_site_and_prints_the_receipt() {
    let fixture = Fixture::from_json(include_str!("../fixtures/content-graph.json")).unwrap();
    let sb = Sandbox::start(Config::local(fixture, Duration::from_millis(500), vec![])).await.unwrap();
    let mut cmd = Command::new(binary("invalidator-lambda", "invalidator"));
    cmd.env_clear()
        .env("CLOUDFRONT_DISTRIBUTION_ID", "EDEMO123")
        .env("CLOUDFRONT_ENDPOINT", sb.cloudfront_url())
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        .env("POLL_FIRST_SECONDS", "0.2")
        .envs(sb.site_settings())
        .args(["invalidate", "/home", "/no-such-page", "--wait"]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let receipt: Vec<&str> = stdout.lines().skip_while(|l| *l != "receipt:").collect();
    let steps: Vec<&str> = receipt.iter().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(steps, ["received", "submitted", "completed", "not_verified"], "{stdout}");
    let last = receipt.last().unwrap();
    assert!(last.contains("/no-such-page: status 404") && !last.contains("/home:"), "only the page not served: {last}");
}
