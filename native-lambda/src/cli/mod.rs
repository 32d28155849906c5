//! `invalidator`, the operator's command line: the same settings and the same
//! core workflow as the deployed bodies, run in the foreground.
//!
//! - `resolve <entry-id>`: dry run: the walk, and the paths it would invalidate;
//! - `invalidate <path>... [--wait]`: create invalidations (and follow them);
//! - `status <invalidation-id>`: one GetInvalidation (on the first distribution, or `--distribution`), the month's billed items there, and the last catch-up sweep;
//!   `status <tracking-id> --worker <url>`: the change's state and receipt from the Worker's status page;
//! - `watch <entry-id | tracking-id>`: follows a change through the Worker's status until it is live;
//! - `verify-webhook <saved-request>`: says why a request fails verification;
//! - `dead-letters <queue-url>`: what waits in the dead-letter queue, and how to redrive it;
//! - `cache-tags <entry-id>... [--revisions]`: the cache tag header value for a page built from these entries
//!   (or, with `--revisions`, the `VERIFY_REVISION_HEADER` value).
//!
//! Errors are one line on stderr and a non-zero exit: 1 when the operation
//! failed, 2 when the settings or arguments are wrong.

mod billing;
mod cache_tags;
mod dead_letters;
mod last_sweep;
mod progress;
mod receipt;
pub mod saved_request;
mod timeline;
mod watch;

use crate::env;
use crate::http_client::{entropy, ReqwestClient, SystemClock};
use clap::{Parser, Subcommand};
use invalidator_core::driver::{plan_only, run_to_end, Setup, Stop, NATIVE_CONNECTIONS};
use invalidator_core::io::{Clock, HttpClient};
use invalidator_core::settings::{CloudFrontSettings, ContentfulSettings, Policy, SettingsMap, WebhookSettings};
use invalidator_core::webhook::{self, Action, Change, EntityKind, Parsed, VerifyError};
use invalidator_core::workflow::{Event, Phase, Workflow};
use invalidator_core::{cloudfront, contentful};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "invalidator", version, about = "Invalidate CloudFront paths for Contentful changes")]
pub struct Cli {
    /// Read settings from this KEY=VALUE file (its values win over the environment).
    #[arg(long, global = true)]
    env_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Walk up from an entry (or asset) and print the paths it would invalidate. Sends nothing to CloudFront.
    Resolve {
        id: String,
        /// The id is an asset's.
        #[arg(long)]
        asset: bool,
    },
    /// Invalidate paths on every configured distribution.
    Invalidate {
        #[arg(required = true)]
        paths: Vec<String>,
        /// Follow the invalidations until CloudFront reports them Completed.
        #[arg(long)]
        wait: bool,
    },
    /// Show an invalidation's status; with --worker, a change's state and receipt.
    Status {
        /// CloudFront's invalidation id; with --worker, a webhook's tracking id.
        invalidation_id: String,
        /// The distribution (default: the first of CLOUDFRONT_DISTRIBUTION_ID).
        #[arg(long)]
        distribution: Option<String>,
        /// The Worker's URL: print the change's receipt from its status page (STATUS_TOKEN authorizes).
        #[arg(long)]
        worker: Option<String>,
    },
    /// Follow a change (an entry's newest, or by tracking id) until it is live; needs WORKER_URL and STATUS_TOKEN.
    Watch {
        /// An entry (or asset) id, or a webhook's tracking id.
        id: String,
        /// Seconds to follow before giving up (exit 1, saying where it stands).
        #[arg(long, default_value_t = watch::DEFAULT_TIMEOUT_SECONDS)]
        timeout: f64,
        /// Seconds between two looks at the Worker (at least 0.1).
        #[arg(long, default_value_t = watch::DEFAULT_INTERVAL_SECONDS)]
        interval: f64,
    },
    /// Check a saved webhook request (raw HTTP or JSON) against CONTENTFUL_WEBHOOK_SECRET.
    VerifyWebhook { saved_request: PathBuf },
    /// Count the changes in the dead-letter queue (the stack output ChangesDeadLetterQueueUrl), and say how to find why and redrive them.
    DeadLetters { queue_url: String },
    /// Print the cache tag header value an origin sends with a page built from these entries (its own first).
    CacheTags {
        #[arg(required = true)]
        entry_ids: Vec<String>,
        /// Print the VERIFY_REVISION_HEADER value instead (`<entry-id>:<revision>,...`).
        #[arg(long)]
        revisions: bool,
    },
}

/// A failure the CLI reports, with its exit code.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

fn usage(message: impl ToString) -> CliError {
    CliError { code: 2, message: message.to_string() }
}

fn failed(message: impl ToString) -> CliError {
    CliError { code: 1, message: message.to_string() }
}

/// Runs the CLI; what it prints goes to stdout, a failure is returned.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let map = env::with_env_file(cli.env_file.as_deref()).map_err(usage)?;
    match cli.command {
        Command::Resolve { id, asset } => resolve(&map, id, asset).await,
        Command::Invalidate { paths, wait } => invalidate(&map, paths, wait).await,
        Command::Status { invalidation_id, worker: Some(worker), .. } => {
            receipt::from_worker(&map, &worker, &invalidation_id).await
        }
        Command::Status { invalidation_id, distribution, worker: None } => {
            status(&map, invalidation_id, distribution).await
        }
        Command::Watch { id, timeout, interval } => watch::watch(&map, id, timeout, interval).await,
        Command::VerifyWebhook { saved_request } => verify_webhook(&map, saved_request),
        Command::DeadLetters { queue_url } => dead_letters::dead_letters(&map, queue_url).await,
        Command::CacheTags { entry_ids, revisions } => cache_tags::cache_tags(&map, entry_ids, revisions).await,
    }
}

/// The policy, with a rule set that may be absent for path-only commands.
fn policy(map: &SettingsMap) -> Result<Policy, CliError> {
    let mut map = map.clone();
    map.entry("PATH_RULES".into()).or_insert_with(|| "{}".into());
    Policy::from_map(&map).map_err(usage)
}

async fn resolve(map: &SettingsMap, id: String, asset: bool) -> Result<(), CliError> {
    let contentful = ContentfulSettings::from_map(map).map_err(usage)?;
    let mut policy = Policy::from_map(map).map_err(usage)?;
    policy.collect_window = Duration::ZERO;
    policy.freshness_max_wait = Duration::ZERO;
    // The dry run needs a distribution to plan for, not credentials.
    let cloudfront = CloudFrontSettings::from_map(map).unwrap_or_else(|_| placeholder_cloudfront());
    let http = ReqwestClient::default();
    // The entry's own paths need its content type and fields, as a webhook brings them.
    let (content_type, fields) = if asset {
        (None, None)
    } else {
        let response = http.send(contentful::entry_request(&contentful, &id)).await.map_err(failed)?;
        match contentful::read_entry(&response).map_err(|f| failed(f.reason))? {
            Some(entry) => (entry.content_type, Some(entry.fields)),
            None => {
                return Err(failed(format!(
                    "entry {id} is not published in space {} environment {}",
                    contentful.space_id, contentful.environment
                )))
            }
        }
    };
    let change = Change {
        tracking_id: format!("resolve-{id}"),
        space: contentful.space_id.clone(),
        environment: contentful.environment.clone(),
        kind: if asset { EntityKind::Asset } else { EntityKind::Entry },
        id: id.clone(),
        content_type,
        action: Action::Publish,
        revision: None,
        fields,
        items: None,
    };
    let services = services(&http, &cloudfront, Some(&contentful), &policy);
    let wf = Workflow::new(cloudfront.distribution_ids.clone());
    let planned = plan_only(wf, Event::ChangeAccepted { change }, &services, &SystemClock).await;
    for line in planned.log() {
        println!("note: {line}");
    }
    let mut paths: Vec<&String> = planned.batches().flat_map(|b| &b.paths).collect();
    paths.sort();
    paths.dedup();
    if paths.is_empty() {
        println!("{id}: no path to invalidate");
    } else {
        println!("{id}: {} path(s) would be invalidated:", paths.len());
        for p in paths {
            println!("  {p}");
        }
    }
    Ok(())
}

fn placeholder_cloudfront() -> CloudFrontSettings {
    let map: SettingsMap = [
        ("CLOUDFRONT_DISTRIBUTION_ID", "DRYRUN"),
        ("AWS_ACCESS_KEY_ID", "unused"),
        ("AWS_SECRET_ACCESS_KEY", "unused"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    CloudFrontSettings::from_map(&map).expect("valid placeholder")
}

fn services<'a>(
    http: &'a ReqwestClient,
    cloudfront: &'a CloudFrontSettings,
    contentful: Option<&'a ContentfulSettings>,
    policy: &'a Policy,
) -> Setup<'a, ReqwestClient, SystemClock> {
    Setup {
        http,
        clock: &SystemClock,
        cloudfront,
        contentful,
        policy,
        concurrency: NATIVE_CONNECTIONS,
        memory: None,
        notify: None,
    }
}

async fn invalidate(map: &SettingsMap, paths: Vec<String>, wait: bool) -> Result<(), CliError> {
    let cloudfront = CloudFrontSettings::from_map(map).map_err(usage)?;
    let mut policy = policy(map)?;
    policy.collect_window = Duration::ZERO;
    // The operator is waiting for the answer: a failed batch is reported at
    // once (and run again by hand), never retried for RETRY_FAILED_FOR_SECONDS.
    policy.retry_failed_for = Duration::ZERO;
    if let Some(empty) = paths.iter().find(|p| p.trim().is_empty()) {
        return Err(usage(format!("{empty:?} is not a path")));
    }
    let http = ReqwestClient::default();
    let services = services(&http, &cloudfront, None, &policy);
    let wf = Workflow::new(cloudfront.distribution_ids.clone());
    let tracking_id = format!("cli-{}", SystemClock.now().as_millis());
    let event = Event::PathsRequested { tracking_id: tracking_id.clone(), paths };
    let mut view = progress::Progress::new(SystemClock.now());
    let done = if wait {
        run_to_end(wf, event, &services, &SystemClock, entropy(), |wf, _| view.show(wf, SystemClock.now())).await
    } else {
        // Without --wait: stop once every batch is created.
        let mut current = invalidator_core::driver::run(wf, event, &services, entropy()).await;
        loop {
            view.show(&current.0, SystemClock.now());
            let created = current.0.batches().all(|b| b.invalidation_id.is_some());
            match current.1 {
                Stop::Finished => break current.0,
                _ if created && current.0.phase() == Phase::InProgress && current.0.batches().count() == 1 => {
                    break current.0
                }
                Stop::SleepUntil(at) => {
                    invalidator_core::driver::Sleep::sleep(&SystemClock, SystemClock.now().until(at)).await
                }
                Stop::GoOn => {}
            }
            current = invalidator_core::driver::run(current.0, Event::TimerFired, &services, entropy()).await;
        }
    };
    view.finish(&done);
    if wait {
        if let Some(tracked) = done.track(&tracking_id) {
            receipt::print(&tracked.receipt);
        }
    }
    match done.phase() {
        Phase::Failed => Err(failed(done.failures().join("; "))),
        _ => Ok(()),
    }
}

async fn status(map: &SettingsMap, id: String, distribution: Option<String>) -> Result<(), CliError> {
    let cloudfront = CloudFrontSettings::from_map(map).map_err(usage)?;
    let distribution = distribution.unwrap_or_else(|| cloudfront.distribution_ids[0].clone());
    let request = cloudfront::get_invalidation(&cloudfront, &distribution, &id, SystemClock.now()).map_err(usage)?;
    let response = ReqwestClient::default().send(request).await.map_err(failed)?;
    let inv = cloudfront::read_invalidation(&response).map_err(|f| failed(f.reason))?;
    let status = match inv.status {
        cloudfront::InvalidationStatus::InProgress => "InProgress",
        cloudfront::InvalidationStatus::Completed => "Completed",
    };
    println!("{} on {distribution}: {status} (created {})", inv.id, inv.create_time.as_deref().unwrap_or("?"));
    billing::print_month(&cloudfront, &distribution).await?;
    last_sweep::print_last_sweep(map, &cloudfront.distribution_ids).await
}

fn verify_webhook(map: &SettingsMap, file: PathBuf) -> Result<(), CliError> {
    let settings = WebhookSettings::from_map(map).map_err(usage)?;
    let bytes = std::fs::read(&file).map_err(|e| usage(format!("cannot read {}: {e}", file.display())))?;
    let request = saved_request::parse(&bytes).map_err(|e| usage(format!("{}: {e}", file.display())))?;
    let Some(secret) = &settings.secret else {
        return Err(usage("CONTENTFUL_WEBHOOK_SECRET is not set: nothing to verify against"));
    };
    if request.body.len() > settings.max_body_bytes {
        return Err(failed(format!(
            "body is {} bytes, more than WEBHOOK_MAX_BODY_BYTES ({})",
            request.body.len(),
            settings.max_body_bytes
        )));
    }
    let now = SystemClock.now();
    match webhook::verify(&request, secret.expose(), settings.ttl, now) {
        Ok(()) => println!("signature: valid"),
        Err(VerifyError::Expired { age_ms, ttl_ms }) => {
            // Tell apart "old but genuine" from "old and wrong".
            let genuine = webhook::verify(&request, secret.expose(), Duration::ZERO, now).is_ok();
            let verdict = if genuine { "matches the secret" } else { "does NOT match the secret either" };
            return Err(failed(format!(
                "signature expired: signed {:.1} s ago, {:.1} s accepted; the signature {verdict}",
                age_ms as f64 / 1000.0,
                ttl_ms as f64 / 1000.0
            )));
        }
        Err(e) => {
            if let Ok(canonical) = webhook::canonical_request(&request) {
                eprintln!("canonical request that was checked:\n{canonical}\n");
            }
            return Err(failed(format!("signature invalid: {e}")));
        }
    }
    match webhook::parse(request.header("x-contentful-topic"), &request.body) {
        Ok(Parsed::Change(c)) => {
            println!("change: {:?} {:?} {} (tracking id {})", c.action, c.kind, c.id, c.tracking_id)
        }
        Ok(Parsed::Ignored { reason }) => println!("ignored: {reason}"),
        Err(e) => return Err(failed(format!("signature valid, but the webhook is malformed: {e}"))),
    }
    Ok(())
}
