//! Settings: one set of names for every body, parsed from a string map.
//!
//! Each body turns its environment variables or Worker bindings into a
//! `BTreeMap<String, String>` and asks for the groups it needs: a body that only
//! invalidates paths (the CLI's `invalidate`) needs no Contentful settings. A
//! missing or bad value is a [`SettingsError`] that names the setting. Secrets are
//! held as [`Secret`] and never printed.

use crate::rules::PathRules;
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::time::Duration;

/// Setting name to value, as a body reads them from its environment.
pub type SettingsMap = BTreeMap<String, String>;

/// `WEBHOOK_MAX_BODY_BYTES` when not set: 1 MiB, far above a publish
/// payload with every locale of a large entry.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

/// Every setting name the core reads, for a body that must ask for each one
/// by name (a Worker cannot list its bindings). A body's own settings
/// (`STATUS_TOKEN`, `STATE_MACHINE_ARN`, …) are listed by that body. A test
/// checks that this is exactly what the readers below read.
pub const NAMES: &[&str] = &[
    // CloudFrontSettings, AwsCredentials
    "CLOUDFRONT_DISTRIBUTION_ID",
    "CLOUDFRONT_ENDPOINT",
    "CLOUDFRONT_SIGNING_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    // ContentfulSettings
    "CONTENTFUL_SPACE_ID",
    "CONTENTFUL_ENVIRONMENT",
    "CONTENTFUL_DELIVERY_TOKEN",
    "CONTENTFUL_CDA_ENDPOINT",
    // WebhookSettings
    "CONTENTFUL_WEBHOOK_SECRET",
    "ALLOW_UNVERIFIED_WEBHOOKS",
    "WEBHOOK_MAX_BODY_BYTES",
    "WEBHOOK_TTL_SECONDS",
    // Policy
    "PATH_RULES",
    "TAG_RULES",
    "INVALIDATE_BY",
    "WALK_MAX_DEPTH",
    "WALK_MAX_ENTRIES",
    "PATH_BUDGET",
    "WILDCARD_BUDGET",
    "BATCH_MAX_PATHS",
    "PLAN_MAX_BYTES",
    "POLL_FIRST_SECONDS",
    "POLL_MAX_SECONDS",
    "POLL_FAST_SECONDS",
    "FRESHNESS_MAX_WAIT_SECONDS",
    "COLLECT_WINDOW_SECONDS",
    "COLLECT_QUIET_SECONDS",
    "RETRY_MAX_ATTEMPTS",
    "RETRY_BASE_SECONDS",
    "RETRY_MAX_SECONDS",
    "BATCH_TIMEOUT_SECONDS",
    "RETRY_FAILED_FOR_SECONDS",
    "HISTORY_LIMIT",
    "SWEEP_INTERVAL_MINUTES",
    "PATH_MEMORY_ENTRIES",
    // Verification
    "SITE_URL",
    "VERIFY_MAX_PATHS",
    "VERIFY_RETRIES",
    "VERIFY_RETRY_WAIT_SECONDS",
    "VERIFY_REVISION_HEADER",
    // Notifications
    "NOTIFY_URL",
    "NOTIFY_FORMAT",
    "NOTIFY_SECRET",
    "NOTIFY_ON",
    "BILLING_ALERT_ITEMS",
];

/// A setting that is missing or cannot be used, by name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting {name}: {problem}")]
pub struct SettingsError {
    /// The setting's name, as in [`NAMES`] or a body's own list.
    pub name: &'static str,
    /// What is wrong with it; never the value of a secret.
    pub problem: String,
}

fn bad(name: &'static str, problem: impl Into<String>) -> SettingsError {
    SettingsError { name, problem: problem.into() }
}

/// Reads one setting: unset and empty are the same. Every read comes through
/// here, which is how the tests know [`NAMES`] is complete.
fn get<'a>(map: &'a SettingsMap, name: &'static str) -> Option<&'a str> {
    #[cfg(test)]
    tests::READ.with(|read| read.borrow_mut().insert(name));
    map.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn required<'a>(map: &'a SettingsMap, name: &'static str) -> Result<&'a str, SettingsError> {
    get(map, name).ok_or_else(|| bad(name, "is required but not set"))
}

fn secret(map: &SettingsMap, name: &'static str) -> Result<Secret, SettingsError> {
    required(map, name).map(Secret::new)
}

fn endpoint(map: &SettingsMap, name: &'static str, default: &str) -> Result<String, SettingsError> {
    let value = get(map, name).unwrap_or(default);
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| bad(name, format!("must start with https:// or http://, got {value:?}")))?;
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains(['/', '?', '#', ' ']) {
        return Err(bad(name, format!("must be a scheme and host[:port] with no path, got {value:?}")));
    }
    Ok(value.trim_end_matches('/').to_string())
}

fn number(map: &SettingsMap, name: &'static str, default: u64, min: u64, max: u64) -> Result<u64, SettingsError> {
    let Some(raw) = get(map, name) else {
        return Ok(default);
    };
    let n: u64 = raw.parse().map_err(|_| bad(name, format!("must be a whole number, got {raw:?}")))?;
    if n < min || n > max {
        return Err(bad(name, format!("must be between {min} and {max}, got {n}")));
    }
    Ok(n)
}

/// Seconds, decimals allowed ("0.5"), kept to the millisecond, between
/// `min_ms` (a floor that keeps retries and polls from spinning) and `max_secs`.
fn seconds(
    map: &SettingsMap,
    name: &'static str,
    default_ms: u64,
    min_ms: u64,
    max_secs: u64,
) -> Result<Duration, SettingsError> {
    let Some(raw) = get(map, name) else {
        return Ok(Duration::from_millis(default_ms));
    };
    let secs: f64 = raw.parse().map_err(|_| bad(name, format!("must be a number of seconds, got {raw:?}")))?;
    let min = min_ms as f64 / 1000.0;
    if !secs.is_finite() || secs < min || secs > max_secs as f64 {
        return Err(bad(name, format!("must be between {min} and {max_secs} seconds, got {raw}")));
    }
    Ok(Duration::from_millis((secs * 1000.0).round() as u64))
}

fn flag(map: &SettingsMap, name: &'static str) -> Result<bool, SettingsError> {
    match get(map, name).map(|v| v.to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v == "true" || v == "1" || v == "yes" => Ok(true),
        Some(v) if v == "false" || v == "0" || v == "no" => Ok(false),
        Some(v) => Err(bad(name, format!("must be true or false, got {v:?}"))),
    }
}

/// AWS credentials and the CloudFront target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudFrontSettings {
    /// Every distribution to invalidate; each gets every path.
    pub distribution_ids: Vec<String>,
    /// `CLOUDFRONT_ENDPOINT`: scheme and host, no trailing slash (a stand-in's in tests).
    pub endpoint: String,
    /// The keys requests are signed with. Their `region` is CloudFront's
    /// signing region ([`crate::cloudfront::signing_region`] of the endpoint,
    /// or `CLOUDFRONT_SIGNING_REGION`), never `AWS_REGION`: CloudFront's
    /// global endpoint refuses a signature scoped to any region but `us-east-1`.
    pub credentials: AwsCredentials,
}

/// The AWS keys SigV4 signs with, and the region it signs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Secret,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Secret,
    /// `AWS_SESSION_TOKEN`, for temporary credentials (a Lambda's role).
    pub session_token: Option<Secret>,
    /// The region requests are signed for: `AWS_REGION` (default
    /// `us-east-1`; on Lambda the function's own region) for the regional
    /// services, CloudFront's signing region in [`CloudFrontSettings`].
    pub region: String,
}

impl AwsCredentials {
    /// Reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` and `AWS_REGION`.
    pub fn from_map(map: &SettingsMap) -> Result<Self, SettingsError> {
        Ok(AwsCredentials {
            access_key_id: secret(map, "AWS_ACCESS_KEY_ID")?,
            secret_access_key: secret(map, "AWS_SECRET_ACCESS_KEY")?,
            session_token: get(map, "AWS_SESSION_TOKEN").map(Secret::new),
            region: get(map, "AWS_REGION").unwrap_or("us-east-1").to_string(),
        })
    }
}

impl CloudFrontSettings {
    /// Reads the distributions, the endpoint and the AWS credentials.
    pub fn from_map(map: &SettingsMap) -> Result<Self, SettingsError> {
        const NAME: &str = "CLOUDFRONT_DISTRIBUTION_ID";
        let mut distribution_ids = Vec::new();
        for id in required(map, NAME)?.split(',').map(str::trim) {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(bad(NAME, format!("each id must be letters and digits (like E2EXAMPLE123), got {id:?}")));
            }
            if !distribution_ids.iter().any(|d| d == id) {
                distribution_ids.push(id.to_string());
            }
        }
        let endpoint = endpoint(map, "CLOUDFRONT_ENDPOINT", "https://cloudfront.amazonaws.com")?;
        let mut credentials = AwsCredentials::from_map(map)?;
        credentials.region = match get(map, "CLOUDFRONT_SIGNING_REGION") {
            Some(region) if crate::cloudfront::is_region(region) => region.to_string(),
            Some(region) => {
                return Err(bad(
                    "CLOUDFRONT_SIGNING_REGION",
                    format!("must be a region name like us-east-1, got {region:?}"),
                ))
            }
            None => crate::cloudfront::signing_region(&endpoint),
        };
        Ok(CloudFrontSettings { distribution_ids, endpoint, credentials })
    }
}

/// Delivery API access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentfulSettings {
    /// `CONTENTFUL_SPACE_ID`: the only space whose changes are acted on.
    pub space_id: String,
    /// `CONTENTFUL_ENVIRONMENT` (`master` by default): likewise.
    pub environment: String,
    /// `CONTENTFUL_DELIVERY_TOKEN`, for the Delivery API (published content only).
    pub delivery_token: Secret,
    /// `CONTENTFUL_CDA_ENDPOINT`: scheme and host, no trailing slash.
    pub endpoint: String,
}

fn identifier(map: &SettingsMap, name: &'static str, default: Option<&str>) -> Result<String, SettingsError> {
    let value = match default {
        Some(d) => get(map, name).unwrap_or(d),
        None => required(map, name)?,
    };
    if !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') {
        return Err(bad(name, format!("must be letters, digits, '-', '_' or '.', got {value:?}")));
    }
    Ok(value.to_string())
}

impl ContentfulSettings {
    /// Reads the space, environment, delivery token and endpoint.
    pub fn from_map(map: &SettingsMap) -> Result<Self, SettingsError> {
        Ok(ContentfulSettings {
            space_id: identifier(map, "CONTENTFUL_SPACE_ID", None)?,
            environment: identifier(map, "CONTENTFUL_ENVIRONMENT", Some("master"))?,
            delivery_token: secret(map, "CONTENTFUL_DELIVERY_TOKEN")?,
            endpoint: endpoint(map, "CONTENTFUL_CDA_ENDPOINT", "https://cdn.contentful.com")?,
        })
    }
}

/// How incoming webhooks are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `None` only when `ALLOW_UNVERIFIED_WEBHOOKS=true` says so explicitly.
    pub secret: Option<Secret>,
    /// `WEBHOOK_MAX_BODY_BYTES`: a larger body is refused with `413` before it is read whole.
    pub max_body_bytes: usize,
    /// `WEBHOOK_TTL_SECONDS`: how old a signature may be, which bounds replays.
    pub ttl: Duration,
}

impl WebhookSettings {
    /// Reads the secret (or the explicit opt-out), the body cap and the signature TTL.
    pub fn from_map(map: &SettingsMap) -> Result<Self, SettingsError> {
        const NAME: &str = "CONTENTFUL_WEBHOOK_SECRET";
        let secret = match get(map, NAME) {
            Some(s) => {
                let ok = s.len() == 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b));
                if !ok {
                    // The value is secret: describe it, never echo it.
                    return Err(bad(
                        NAME,
                        "must be exactly 64 characters of A-Z a-z 0-9 + / = _ - (as Contentful generates)",
                    ));
                }
                Some(Secret::new(s))
            }
            None if flag(map, "ALLOW_UNVERIFIED_WEBHOOKS")? => None,
            None => {
                return Err(bad(
                    NAME,
                    "is required; set ALLOW_UNVERIFIED_WEBHOOKS=true to accept unsigned webhooks on purpose",
                ))
            }
        };
        Ok(WebhookSettings {
            secret,
            max_body_bytes: number(map, "WEBHOOK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES as u64, 1024, 64 << 20)?
                as usize,
            ttl: seconds(map, "WEBHOOK_TTL_SECONDS", 30_000, 0, 3600)?,
        })
    }
}

/// Everything the workflow decides with: rules, budgets, schedules. Not secret,
/// the same in both bodies.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `PATH_RULES`: which paths each content type is served at.
    pub rules: PathRules,
    /// `TAG_RULES`: which cache tags each content type carries.
    pub tags: crate::tags::TagRules,
    /// `INVALIDATE_BY`: paths, tags or both.
    pub invalidate_by: crate::tags::InvalidateBy,
    /// Levels of `links_to_entry` above the changed entry before the walk gives up.
    pub walk_max_depth: u32,
    /// Entries visited before the walk gives up.
    pub walk_max_entries: u32,
    /// Paths one workflow may invalidate before the set collapses to wildcards.
    pub path_budget: usize,
    /// Wildcard paths one workflow may hold (CloudFront allows 15 in progress).
    pub wildcard_budget: usize,
    /// Paths in one CreateInvalidation; a larger set becomes several batches.
    pub batch_max_paths: usize,
    /// The first wait before asking CloudFront whether an invalidation is done.
    pub poll_first: Duration,
    /// The longest wait between those questions, as the waits grow.
    pub poll_max: Duration,
    /// How long after the submit the waits stay at `poll_first` before they
    /// grow: most invalidations complete within it (CloudFront documents
    /// under 25 s at P95), so Completed is seen at most `poll_first` late.
    pub poll_fast: Duration,
    /// How long to wait for the Delivery API to serve the change before submitting anyway.
    pub freshness_max_wait: Duration,
    /// How long the first webhook of a burst waits for others to join its batch.
    pub collect_window: Duration,
    /// The window closes early once no change came for this long: a lone
    /// publish does not wait the whole window, a burst still coalesces.
    pub collect_quiet: Duration,
    /// Attempts for a request that fails transiently (5xx, timeouts) before the batch fails.
    pub retry_max_attempts: u32,
    /// The first backoff after a transient failure.
    pub retry_base: Duration,
    /// The longest backoff, as they grow.
    pub retry_max: Duration,
    /// How long one batch may take, retries and polling included, before it fails.
    pub batch_timeout: Duration,
    /// How long the paths of a batch that failed for a transient reason are
    /// planned again (with the next change, or on a long backoff) after they
    /// first failed; then they are given up. 0: given up at once.
    pub retry_failed_for: Duration,
    /// Finished batches kept for status pages.
    pub history_limit: usize,
    /// Entries whose last paths and tags are remembered per distribution
    /// (least recently used dropped first); 0 turns path memory off.
    pub path_memory_entries: usize,
    /// The most bytes of paths one plan may keep (summed over its batches and
    /// distributions): what bounds the workflow value a Durable Object stores
    /// and a Step Functions execution carries (256 KiB there).
    pub plan_max_bytes: usize,
    /// Minutes between catch-up sweeps (see `crate::sweep`); 0 turns them off.
    pub sweep_interval_minutes: u32,
    /// Whether and how completed batches are checked through the site.
    pub verify: Verification,
    /// When to notify (`NOTIFY_URL` set, `NOTIFY_ON`, `BILLING_ALERT_ITEMS`).
    pub notify: NotifyPolicy,
}

/// When the workflow notifies: what it decides with, nothing secret (where
/// and how to send is [`NotifySettings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyPolicy {
    /// `NOTIFY_URL` is set: causes are notified.
    pub enabled: bool,
    /// `NOTIFY_ON=completed`: also one message per change verified live.
    pub on_completed: bool,
    /// `BILLING_ALERT_ITEMS`: the month's billed items past which one alert goes.
    pub billing_alert_items: u64,
}

impl NotifyPolicy {
    /// Reads `NOTIFY_ON` and `BILLING_ALERT_ITEMS`; enabled when `NOTIFY_URL` is set.
    pub fn from_map(map: &SettingsMap) -> Result<Self, SettingsError> {
        let on_completed = match get(map, "NOTIFY_ON") {
            None => false,
            Some("completed") => true,
            Some(v) => return Err(bad("NOTIFY_ON", format!("must be completed (or unset), got {v:?}"))),
        };
        Ok(NotifyPolicy {
            enabled: get(map, "NOTIFY_URL").is_some(),
            on_completed,
            billing_alert_items: number(
                map,
                "BILLING_ALERT_ITEMS",
                crate::workflow::billing::FREE_ITEMS_PER_MONTH,
                1,
                u64::MAX / 2,
            )?,
        })
    }
}

/// How a notification's body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyFormat {
    /// Slack's incoming webhook: `{"text": ..., "blocks": [...]}`.
    Slack,
    /// A plain JSON event (see `crate::notify`).
    Json,
}

/// Where and how notifications are sent (`NOTIFY_URL`, `NOTIFY_FORMAT`,
/// `NOTIFY_SECRET`). The URL is a secret too: an incoming-webhook URL is its
/// own credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySettings {
    /// `NOTIFY_URL`.
    pub url: Secret,
    /// `NOTIFY_FORMAT`, `slack` by default.
    pub format: NotifyFormat,
    /// `NOTIFY_SECRET`: signs every body (`X-Invalidator-Signature`).
    pub secret: Option<Secret>,
}

impl NotifySettings {
    /// `None` when `NOTIFY_URL` is unset: no notifications.
    pub fn from_map(map: &SettingsMap) -> Result<Option<Self>, SettingsError> {
        let format = match get(map, "NOTIFY_FORMAT") {
            None | Some("slack") => NotifyFormat::Slack,
            Some("json") => NotifyFormat::Json,
            Some(v) => return Err(bad("NOTIFY_FORMAT", format!("must be slack or json, got {v:?}"))),
        };
        let secret = get(map, "NOTIFY_SECRET").map(Secret::new);
        let Some(url) = get(map, "NOTIFY_URL") else {
            return Ok(None);
        };
        let valid = (url.starts_with("https://") || url.starts_with("http://"))
            && url.parse::<http::Uri>().is_ok_and(|u| u.host().is_some());
        if !valid {
            // The URL is a credential: the error does not repeat it.
            return Err(bad("NOTIFY_URL", "must be an http:// or https:// URL with a host"));
        }
        Ok(Some(NotifySettings { url: Secret::new(url), format, secret }))
    }
}

/// How a completed batch's pages are checked as a visitor gets them
/// (`SITE_URL`, `VERIFY_*`; see `crate::workflow::verify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// `SITE_URL`: scheme and host the pages are requested through; `None`
    /// turns verification off.
    pub site_url: Option<String>,
    /// `VERIFY_MAX_PATHS`: exact paths checked per batch, the first in order.
    pub max_paths: usize,
    /// `VERIFY_RETRIES`: times a stale page is invalidated again before it
    /// is reported not verified.
    pub retries: u32,
    /// `VERIFY_RETRY_WAIT_SECONDS`: the wait after a stale check before the
    /// Delivery API is asked again and the page invalidated again.
    pub retry_wait: Duration,
    /// `VERIFY_REVISION_HEADER`: the header an origin names the rendered
    /// revisions in (`<entry-id>:<revision>,...`); `None`: not checked.
    pub revision_header: Option<String>,
}

impl Verification {
    /// Whether completed batches are verified at all.
    pub fn enabled(&self) -> bool {
        self.site_url.is_some()
    }

    /// Reads `SITE_URL` and the `VERIFY_*` settings.
    pub fn from_map(map: &SettingsMap) -> Result<Self, SettingsError> {
        let site_url = match get(map, "SITE_URL") {
            Some(_) => Some(endpoint(map, "SITE_URL", "")?),
            None => None,
        };
        let revision_header = match get(map, "VERIFY_REVISION_HEADER") {
            Some(h) if h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
                Some(h.to_ascii_lowercase())
            }
            Some(h) => {
                return Err(bad(
                    "VERIFY_REVISION_HEADER",
                    format!("must be a header name of letters, digits, '-' or '_', got {h:?}"),
                ))
            }
            None => None,
        };
        Ok(Verification {
            site_url,
            // 20: two alarms of checks on the Worker (see
            // `verify::PAGES_PER_WAKE`), well inside the free plan's 50
            // subrequests per alarm with room for the polls beside them.
            max_paths: number(map, "VERIFY_MAX_PATHS", 20, 1, 1000)? as usize,
            // Each retry waits and goes through CloudFront again (P95 under
            // 25 s): 2 cover Contentful's stale window of about a minute.
            retries: number(map, "VERIFY_RETRIES", 2, 0, MAX_VERIFY_RETRIES)? as u32,
            retry_wait: seconds(map, "VERIFY_RETRY_WAIT_SECONDS", 10_000, 100, 3600)?,
            revision_header,
        })
    }
}

/// At most this many re-invalidations of a page: each keeps a few steps on
/// every change's receipt, which is bounded.
pub const MAX_VERIFY_RETRIES: u64 = 5;

impl Policy {
    /// What a plan for `distributions` distributions may cost: every
    /// distribution gets the same paths, so each gets its share of the bytes.
    pub fn budget(&self, distributions: usize) -> crate::paths::Budget {
        crate::paths::Budget {
            max_paths: self.path_budget,
            max_wildcards: self.wildcard_budget,
            max_bytes: self.plan_max_bytes / distributions.max(1),
        }
    }
}

impl Policy {
    /// Reads `PATH_RULES` and every budget and timing, each with its default.
    pub fn from_map(map: &SettingsMap) -> Result<Self, SettingsError> {
        let rules = PathRules::parse(required(map, "PATH_RULES")?).map_err(|e| bad("PATH_RULES", e.to_string()))?;
        let (tags, invalidate_by) = tag_settings(map)?;
        let policy = Policy {
            rules,
            tags,
            invalidate_by,
            walk_max_depth: number(map, "WALK_MAX_DEPTH", 10, 0, 100)? as u32,
            walk_max_entries: number(map, "WALK_MAX_ENTRIES", 1000, 1, 100_000)? as u32,
            path_budget: number(map, "PATH_BUDGET", 1000, 1, 100_000)? as usize,
            wildcard_budget: number(map, "WILDCARD_BUDGET", 15, 1, 15)? as usize,
            batch_max_paths: number(map, "BATCH_MAX_PATHS", 1000, 1, 3000)? as usize,
            plan_max_bytes: number(map, "PLAN_MAX_BYTES", 64 << 10, 4 << 10, 1 << 20)? as usize,
            // Floors: a poll or a retry sooner than these only spins.
            // Every 2 s through CloudFront's documented P95 (under 25 s) and
            // some margin: 15 GetInvalidations for a 30 s invalidation, one
            // batch in flight per workflow, far below any throttling.
            poll_first: seconds(map, "POLL_FIRST_SECONDS", 2_000, 100, 3600)?,
            poll_max: seconds(map, "POLL_MAX_SECONDS", 60_000, 100, 3600)?,
            poll_fast: seconds(map, "POLL_FAST_SECONDS", 30_000, 0, 3600)?,
            freshness_max_wait: seconds(map, "FRESHNESS_MAX_WAIT_SECONDS", 30_000, 0, 3600)?,
            collect_window: seconds(map, "COLLECT_WINDOW_SECONDS", 2_000, 0, 3600)?,
            collect_quiet: seconds(map, "COLLECT_QUIET_SECONDS", 500, 0, 3600)?,
            retry_max_attempts: number(map, "RETRY_MAX_ATTEMPTS", 8, 1, 100)? as u32,
            retry_base: seconds(map, "RETRY_BASE_SECONDS", 1_000, 10, 3600)?,
            retry_max: seconds(map, "RETRY_MAX_SECONDS", 60_000, 10, 3600)?,
            batch_timeout: seconds(map, "BATCH_TIMEOUT_SECONDS", 2_700_000, 1_000, 86_400)?,
            // A week at most: past that, an operator must look anyway.
            retry_failed_for: seconds(map, "RETRY_FAILED_FOR_SECONDS", 86_400_000, 0, 7 * 86_400)?,
            history_limit: number(map, "HISTORY_LIMIT", 50, 1, 10_000)? as usize,
            // A day at most: a sweep further apart than that is no catch-up.
            sweep_interval_minutes: number(map, "SWEEP_INTERVAL_MINUTES", 5, 0, 1440)? as u32,
            path_memory_entries: number(map, "PATH_MEMORY_ENTRIES", 10_000, 0, 1_000_000)? as usize,
            verify: Verification::from_map(map)?,
            notify: NotifyPolicy::from_map(map)?,
        };
        if policy.walk_max_depth == 0 && policy.invalidate_by != crate::tags::InvalidateBy::Tags {
            return Err(bad("WALK_MAX_DEPTH", "0 (no walk) is only for INVALIDATE_BY=tags: paths need the walk"));
        }
        if policy.poll_max < policy.poll_first {
            return Err(bad("POLL_MAX_SECONDS", "must be at least POLL_FIRST_SECONDS"));
        }
        if policy.retry_max < policy.retry_base {
            return Err(bad("RETRY_MAX_SECONDS", "must be at least RETRY_BASE_SECONDS"));
        }
        Ok(policy)
    }
}

/// `TAG_RULES` and `INVALIDATE_BY`: tags are planned only when asked for,
/// and asking for them without rules is a mistake worth stopping for.
fn tag_settings(map: &SettingsMap) -> Result<(crate::tags::TagRules, crate::tags::InvalidateBy), SettingsError> {
    use crate::tags::{InvalidateBy, TagRules};
    let tags = match get(map, "TAG_RULES") {
        Some(json) => TagRules::parse(json).map_err(|e| bad("TAG_RULES", e.to_string()))?,
        None => TagRules::default(),
    };
    let by = match get(map, "INVALIDATE_BY") {
        Some(v) => v.parse().map_err(|e: &str| bad("INVALIDATE_BY", e))?,
        None if tags.is_empty() => InvalidateBy::Paths,
        None => InvalidateBy::Both,
    };
    if by.tags() && tags.is_empty() {
        return Err(bad("INVALIDATE_BY", "tags, both or cheapest needs TAG_RULES with at least one template"));
    }
    if by == InvalidateBy::Cheapest && !tags.tags_every_entry() {
        return Err(bad(
            "INVALIDATE_BY",
            "cheapest may send tags instead of paths, so every entry needs a tag: TAG_RULES \"*\" with a template of {sys.id} alone",
        ));
    }
    Ok((tags, by))
}

/// Every setting a complete body (webhook to Completed) needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to invalidate, and the keys to do it with.
    pub cloudfront: CloudFrontSettings,
    /// Where to read what links to what.
    pub contentful: ContentfulSettings,
    /// How webhooks are checked.
    pub webhook: WebhookSettings,
    /// What the workflow decides with.
    pub policy: Policy,
    /// Where notifications go; `None` when `NOTIFY_URL` is unset.
    pub notify: Option<NotifySettings>,
}

impl Settings {
    /// Reads every group; the first missing or bad setting is the error.
    pub fn from_map(map: &SettingsMap) -> Result<Self, SettingsError> {
        Ok(Settings {
            cloudfront: CloudFrontSettings::from_map(map)?,
            contentful: ContentfulSettings::from_map(map)?,
            webhook: WebhookSettings::from_map(map)?,
            policy: Policy::from_map(map)?,
            notify: NotifySettings::from_map(map)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{TestSettings, WEBHOOK_SECRET};
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    thread_local! {
        /// The names [`get`] was asked for on this test's thread.
        pub(super) static READ: RefCell<BTreeSet<&'static str>> = const { RefCell::new(BTreeSet::new()) };
    }

    fn full() -> SettingsMap {
        TestSettings::new().map()
    }

    #[test]
    fn names_lists_exactly_what_the_core_reads() {
        READ.with(|read| read.borrow_mut().clear());
        Settings::from_map(&full()).unwrap();
        WebhookSettings::from_map(&TestSettings::new().unsigned().map()).unwrap();
        let read = READ.with(|read| read.take());
        let listed: BTreeSet<&str> = NAMES.iter().copied().collect();
        assert_eq!(read, listed, "read but not listed, or listed but not read");
        assert_eq!(listed.len(), NAMES.len(), "a name is listed twice");
    }

    #[test]
    fn defaults_fill_what_is_optional() {
        let s = Settings::from_map(&full()).unwrap();
        assert_eq!(s.cloudfront.endpoint, "https://cloudfront.amazonaws.com");
        assert_eq!(s.cloudfront.credentials.region, "us-east-1");
        assert_eq!(s.contentful.environment, "master");
        assert_eq!(s.contentful.endpoint, "https://cdn.contentful.com");
        assert_eq!(s.webhook.max_body_bytes, 1 << 20);
        assert_eq!(s.webhook.ttl, Duration::from_secs(30));
        assert_eq!(s.policy.poll_first, Duration::from_secs(2));
        assert_eq!(s.policy.poll_fast, Duration::from_secs(30));
        assert_eq!(s.policy.poll_max, Duration::from_secs(60));
        assert_eq!(s.policy.wildcard_budget, 15);
        assert_eq!(s.policy.verify.site_url, None, "no SITE_URL, no verification");
        assert_eq!(s.policy.verify.max_paths, 20);
        assert_eq!(s.policy.verify.retries, 2);
        assert_eq!(s.policy.verify.revision_header, None);
    }

    #[test]
    fn verification_reads_the_site_and_its_header() {
        let mut m = full();
        m.insert("SITE_URL".into(), "https://www.example.com/".into());
        m.insert("VERIFY_REVISION_HEADER".into(), "X-Content-Revisions".into());
        let v = Settings::from_map(&m).unwrap().policy.verify;
        assert_eq!(v.site_url.as_deref(), Some("https://www.example.com"));
        assert_eq!(v.revision_header.as_deref(), Some("x-content-revisions"));
        assert!(v.enabled());
    }

    #[test]
    fn cloudfront_is_signed_for_its_own_region_not_the_functions() {
        let mut m = full();
        m.insert("AWS_REGION".into(), "eu-west-1".into());
        assert_eq!(AwsCredentials::from_map(&m).unwrap().region, "eu-west-1", "the regional services' region");
        assert_eq!(CloudFrontSettings::from_map(&m).unwrap().credentials.region, "us-east-1", "the global endpoint's");
        m.insert("CLOUDFRONT_ENDPOINT".into(), "http://127.0.0.1:9000".into());
        assert_eq!(CloudFrontSettings::from_map(&m).unwrap().credentials.region, "us-east-1", "a stand-in's");
        m.insert("CLOUDFRONT_ENDPOINT".into(), "https://cloudfront.cn-northwest-1.amazonaws.com.cn".into());
        m.insert("AWS_REGION".into(), "cn-north-1".into());
        assert_eq!(CloudFrontSettings::from_map(&m).unwrap().credentials.region, "cn-northwest-1", "its partition's");
        m.insert("CLOUDFRONT_SIGNING_REGION".into(), "us-west-2".into());
        assert_eq!(CloudFrontSettings::from_map(&m).unwrap().credentials.region, "us-west-2", "said explicitly");
        m.insert("CLOUDFRONT_SIGNING_REGION".into(), "Europe".into());
        assert_eq!(CloudFrontSettings::from_map(&m).unwrap_err().name, "CLOUDFRONT_SIGNING_REGION");
    }

    #[test]
    fn a_missing_setting_is_named() {
        for name in ["CLOUDFRONT_DISTRIBUTION_ID", "AWS_SECRET_ACCESS_KEY", "CONTENTFUL_SPACE_ID", "PATH_RULES"] {
            let mut m = full();
            m.remove(name);
            let err = Settings::from_map(&m).unwrap_err();
            assert_eq!(err.name, name);
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn bad_values_are_named_and_secrets_are_not_echoed() {
        let cases = [
            ("CLOUDFRONT_DISTRIBUTION_ID", "E1,../x"),
            ("CLOUDFRONT_ENDPOINT", "cloudfront.amazonaws.com"),
            ("CONTENTFUL_CDA_ENDPOINT", "http://127.0.0.1:1/path"),
            ("POLL_FIRST_SECONDS", "soon"),
            ("WILDCARD_BUDGET", "16"),
            ("PATH_RULES", "{not json"),
            ("TAG_RULES", r#"{"page": ["a,b"]}"#),
            ("INVALIDATE_BY", "tags"),
            ("INVALIDATE_BY", "cheapest"),
            ("WALK_MAX_DEPTH", "0"),
            ("CONTENTFUL_WEBHOOK_SECRET", "too-short-secret-value"),
            ("SITE_URL", "www.example.com"),
            ("SITE_URL", "https://www.example.com/blog"),
            ("VERIFY_MAX_PATHS", "0"),
            ("VERIFY_RETRIES", "6"),
            ("VERIFY_REVISION_HEADER", "x revisions"),
        ];
        for (name, value) in cases {
            let mut m = full();
            m.insert(name.into(), value.into());
            let err = Settings::from_map(&m).unwrap_err();
            assert_eq!(err.name, name, "{err}");
        }
        let mut m = full();
        m.insert("CONTENTFUL_WEBHOOK_SECRET".into(), "hunter2-secret".into());
        assert!(!Settings::from_map(&m).unwrap_err().to_string().contains("hunter2"));
    }

    #[test]
    fn degenerate_timings_are_refused_by_name() {
        for (name, value) in [
            ("RETRY_BASE_SECONDS", "0"),
            ("RETRY_MAX_SECONDS", "0"),
            ("POLL_FIRST_SECONDS", "0"),
            ("POLL_MAX_SECONDS", "0.001"),
            ("BATCH_TIMEOUT_SECONDS", "0"),
            ("PLAN_MAX_BYTES", "0"),
        ] {
            let mut m = full();
            m.insert(name.into(), value.into());
            let err = Settings::from_map(&m).unwrap_err();
            assert_eq!(err.name, name, "{err}");
            assert!(err.to_string().contains("must be between"), "{err}");
        }
    }

    #[test]
    fn unverified_webhooks_need_an_explicit_yes() {
        let mut m = full();
        m.remove("CONTENTFUL_WEBHOOK_SECRET");
        assert_eq!(WebhookSettings::from_map(&m).unwrap_err().name, "CONTENTFUL_WEBHOOK_SECRET");
        m.insert("ALLOW_UNVERIFIED_WEBHOOKS".into(), "true".into());
        assert_eq!(WebhookSettings::from_map(&m).unwrap().secret, None);
    }

    #[test]
    fn several_distributions_and_decimal_seconds() {
        let mut m = full();
        m.insert("CLOUDFRONT_DISTRIBUTION_ID".into(), " E1 , E2,E1".into());
        m.insert("POLL_FIRST_SECONDS".into(), "0.25".into());
        let s = Settings::from_map(&m).unwrap();
        assert_eq!(s.cloudfront.distribution_ids, ["E1", "E2"]);
        assert_eq!(s.policy.poll_first, Duration::from_millis(250));
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let s = Settings::from_map(&full()).unwrap();
        let printed = format!("{s:?}");
        for secret in ["wJalrXUtnFEMI", "cda-token-value", WEBHOOK_SECRET] {
            assert!(!printed.contains(secret), "{secret} leaked");
        }
    }
}
