//! The Worker's settings: its `[vars]` and secrets, read by the names every
//! body shares, into the core's settings map.

use invalidator_core::settings::SettingsMap;
use worker::Env;

/// Every setting name the core reads, plus the Worker's own `STATUS_TOKEN`.
const NAMES: &[&str] = &[
    "CLOUDFRONT_DISTRIBUTION_ID",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "CLOUDFRONT_ENDPOINT",
    "CONTENTFUL_SPACE_ID",
    "CONTENTFUL_ENVIRONMENT",
    "CONTENTFUL_DELIVERY_TOKEN",
    "CONTENTFUL_CDA_ENDPOINT",
    "CONTENTFUL_WEBHOOK_SECRET",
    "ALLOW_UNVERIFIED_WEBHOOKS",
    "PATH_RULES",
    "WEBHOOK_MAX_BODY_BYTES",
    "WEBHOOK_TTL_SECONDS",
    "COLLECT_WINDOW_SECONDS",
    "FRESHNESS_MAX_WAIT_SECONDS",
    "WALK_MAX_DEPTH",
    "WALK_MAX_ENTRIES",
    "PATH_BUDGET",
    "WILDCARD_BUDGET",
    "BATCH_MAX_PATHS",
    "POLL_FIRST_SECONDS",
    "POLL_MAX_SECONDS",
    "RETRY_BASE_SECONDS",
    "RETRY_MAX_SECONDS",
    "RETRY_MAX_ATTEMPTS",
    "BATCH_TIMEOUT_SECONDS",
    "HISTORY_LIMIT",
    "STATUS_TOKEN",
];

pub fn from_env(env: &Env) -> SettingsMap {
    let mut map = SettingsMap::new();
    for name in NAMES {
        let value = env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string()));
        if let Ok(value) = value {
            map.insert(name.to_string(), value);
        }
    }
    map
}
