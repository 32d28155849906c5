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
    "PLAN_MAX_BYTES",
    "POLL_FIRST_SECONDS",
    "POLL_MAX_SECONDS",
    "RETRY_BASE_SECONDS",
    "RETRY_MAX_SECONDS",
    "RETRY_MAX_ATTEMPTS",
    "BATCH_TIMEOUT_SECONDS",
    "HISTORY_LIMIT",
    "STATUS_TOKEN",
];

/// The settings map from a Worker's `Env`: a secret wins over a var of the same name.
pub fn from_env(env: &Env) -> SettingsMap {
    from_lookup(|name| env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string())).ok())
}

/// The settings map from `lookup` (name → value, `None` when unset): every
/// name in [`NAMES`], nothing else.
pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> SettingsMap {
    NAMES.iter().filter_map(|name| Some((name.to_string(), lookup(name)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::{from_lookup, NAMES};
    use std::collections::BTreeMap;

    #[test]
    fn every_known_name_is_read_and_nothing_else() {
        let env: BTreeMap<&str, &str> =
            [("CLOUDFRONT_DISTRIBUTION_ID", "EDEMO123"), ("STATUS_TOKEN", "t"), ("UNRELATED_VAR", "x")].into();
        let map = from_lookup(|name| env.get(name).map(|v| v.to_string()));
        let expected: BTreeMap<String, String> = [("CLOUDFRONT_DISTRIBUTION_ID", "EDEMO123"), ("STATUS_TOKEN", "t")]
            .map(|(k, v)| (k.into(), v.into()))
            .into();
        assert_eq!(map.into_iter().collect::<BTreeMap<_, _>>(), expected);
    }

    #[test]
    fn the_names_cover_every_setting_the_core_reads() {
        for name in
            ["CLOUDFRONT_ENDPOINT", "CONTENTFUL_CDA_ENDPOINT", "PATH_RULES", "AWS_SESSION_TOKEN", "HISTORY_LIMIT"]
        {
            assert!(NAMES.contains(&name), "{name}");
        }
        let settings_rs = include_str!("../../core/src/settings.rs");
        for quoted in settings_rs.split('"') {
            let looks_like_a_setting = quoted.len() > 3 && quoted.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
            if looks_like_a_setting && quoted.contains('_') {
                assert!(NAMES.contains(&quoted), "the core reads {quoted}, the Worker never passes it on");
            }
        }
    }
}
