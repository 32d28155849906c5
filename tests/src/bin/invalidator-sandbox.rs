//! `invalidator-sandbox`: the local CloudFront, Contentful Delivery API and
//! Step Functions stand-ins, and the site's CDN in front of its origin, as
//! one process, for `make demo` and for trying the bodies by hand.
//! Prints one line per listening service, then one line per request answered.

use clap::Parser;
use invalidator_core::rules::PathRules;
use invalidator_tests::sandbox::{CdnConfig, Config, Fault, Fixture, OriginSettings, Sandbox, SandboxClock};
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Local stand-ins for CloudFront and the Contentful Delivery API")]
struct Args {
    /// Port of the CloudFront stand-in (0: any free port).
    #[arg(long, default_value_t = 0)]
    cloudfront_port: u16,
    /// Port of the Delivery API stand-in (0: any free port).
    #[arg(long, default_value_t = 0)]
    contentful_port: u16,
    /// Port of the Step Functions stand-in (0: any free port).
    #[arg(long, default_value_t = 0)]
    stepfunctions_port: u16,
    /// Port of the site's CDN, what visitors (and `SITE_URL`) reach (0: any free port).
    #[arg(long, default_value_t = 0)]
    cdn_port: u16,
    /// The distribution whose invalidations purge the CDN.
    #[arg(long, default_value = invalidator_tests::sandbox::DEMO_DISTRIBUTION)]
    cdn_distribution: String,
    /// `PATH_RULES` the origin renders pages by (exact templates only).
    #[arg(long, default_value = invalidator_tests::sandbox::origin::SITE_PATH_RULES)]
    site_rules: String,
    /// `Cache-Control: max-age` the origin sends, in seconds.
    #[arg(long, default_value_t = invalidator_tests::sandbox::origin::DEFAULT_MAX_AGE_SECONDS)]
    max_age: u64,
    /// Seconds the origin renders the revision before a publish (Contentful's stale window).
    #[arg(long, default_value_t = 0.0)]
    origin_lag_seconds: f64,
    /// The header naming the revisions a page shows (`X-Entry-Revisions`); unset, none is sent.
    #[arg(long)]
    revision_header: Option<String>,
    /// The content graph to serve (JSON).
    #[arg(long, default_value = "tests/fixtures/content-graph.json")]
    fixture: std::path::PathBuf,
    /// Seconds an invalidation stays InProgress.
    #[arg(long, default_value_t = 7.0)]
    in_progress_seconds: f64,
    /// Faults to inject, in order: create:503,create:Throttling,get:503,links:429,...
    #[arg(long, default_value = "")]
    faults: String,
    /// The distributions that exist (comma-separated); any other id is NoSuchDistribution.
    #[arg(long, value_delimiter = ',', default_value = invalidator_tests::sandbox::DEMO_DISTRIBUTION)]
    distribution: Vec<String>,
    /// The distributions that have a cache tag configuration (comma-separated): only they take `#tag` items.
    #[arg(long, value_delimiter = ',')]
    cache_tags: Vec<String>,
    #[arg(long, env = "AWS_ACCESS_KEY_ID", default_value = "AKIDEXAMPLE", hide_env_values = true)]
    access_key_id: String,
    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        default_value = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        hide_env_values = true
    )]
    secret_access_key: String,
    #[arg(long, env = "CONTENTFUL_DELIVERY_TOKEN", default_value = "demo-delivery-token", hide_env_values = true)]
    delivery_token: String,
}

fn fail(message: String) -> ! {
    eprintln!("invalidator-sandbox: {message}");
    std::process::exit(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.fixture)
        .unwrap_or_else(|e| fail(format!("cannot read {}: {e}", args.fixture.display())));
    let fixture = Fixture::from_json(&text).unwrap_or_else(|e| fail(e));
    let faults = Fault::parse_list(&args.faults).unwrap_or_else(|e| fail(e));
    let seconds = |value: f64, flag: &str| {
        if !(value.is_finite() && value >= 0.0) {
            fail(format!("{flag} must be a number of seconds"));
        }
        Duration::from_secs_f64(value)
    };
    let in_progress_for = seconds(args.in_progress_seconds, "--in-progress-seconds");
    let path_rules = PathRules::parse(&args.site_rules).unwrap_or_else(|e| fail(format!("--site-rules {e}")));
    let origin = OriginSettings {
        max_age: Some(args.max_age),
        lag: seconds(args.origin_lag_seconds, "--origin-lag-seconds"),
        revision_header: args.revision_header,
        path_rules,
        ..OriginSettings::default()
    };
    let cdn = CdnConfig { port: args.cdn_port, ..CdnConfig::caching_optimized(&args.cdn_distribution) };
    let config = Config {
        cloudfront_port: args.cloudfront_port,
        contentful_port: args.contentful_port,
        stepfunctions_port: args.stepfunctions_port,
        access_key_id: args.access_key_id,
        secret_access_key: args.secret_access_key,
        delivery_token: args.delivery_token,
        in_progress_for,
        fixture,
        faults,
        distributions: args.distribution,
        cache_tag_distributions: args.cache_tags,
        state_machines: vec![invalidator_tests::sandbox::DEMO_STATE_MACHINE.into()],
        cdn,
        origin,
        clock: SandboxClock::real(),
    };
    let sandbox = Sandbox::start(config).await.unwrap_or_else(|e| fail(format!("cannot listen: {e}")));
    println!("cloudfront listening on {}", sandbox.cloudfront_url());
    println!("contentful listening on {}", sandbox.contentful_url());
    println!("stepfunctions listening on {}", sandbox.stepfunctions_url());
    println!("cdn listening on {} (SITE_URL)", sandbox.site_url());
    let _ = tokio::signal::ctrl_c().await;
}
