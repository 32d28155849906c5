//! The Worker's settings: its `[vars]` and secrets, read by the names every
//! body shares, into the core's settings map.

use invalidator_core::settings::{self, Settings, SettingsError, SettingsMap};
use std::rc::Rc;
use worker::Env;

/// The Worker's own settings, read beside the core's [`settings::NAMES`].
const WORKER_NAMES: &[&str] = &["STATUS_TOKEN"];

/// The settings map from a Worker's `Env`: a secret wins over a var of the same name.
pub fn from_env(env: &Env) -> SettingsMap {
    from_lookup(|name| env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string())).ok())
}

thread_local! {
    /// The settings of this isolate, read and checked once: an isolate's
    /// vars and secrets never change (a deploy, a new secret or a changed
    /// `.dev.vars` starts new isolates), and reading every name through JS
    /// and parsing PATH_RULES cost more than the rest of a webhook's own work.
    static LOADED: std::cell::OnceCell<Rc<Settings>> = const { std::cell::OnceCell::new() };
}

/// The core's settings from `env`, parsed on an isolate's first request and
/// kept; a setting that does not parse is reported again on each request.
pub fn load(env: &Env) -> Result<Rc<Settings>, SettingsError> {
    if let Some(known) = LOADED.with(|l| l.get().cloned()) {
        return Ok(known);
    }
    let settings = Rc::new(Settings::from_map(&from_env(env))?);
    LOADED.with(|l| l.get_or_init(|| settings.clone()).clone());
    Ok(settings)
}

/// The settings map from `lookup` (name → value, `None` when unset): every
/// name the core or the Worker reads, nothing else.
pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> SettingsMap {
    settings::NAMES.iter().chain(WORKER_NAMES).filter_map(|name| Some((name.to_string(), lookup(name)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::from_lookup;
    use std::collections::BTreeMap;

    #[test]
    fn every_known_name_is_read_and_nothing_else() {
        let env: BTreeMap<&str, &str> = [
            ("CLOUDFRONT_DISTRIBUTION_ID", "EDEMO123"),
            ("PLAN_MAX_BYTES", "8192"),
            ("STATUS_TOKEN", "t"),
            ("UNRELATED_VAR", "x"),
        ]
        .into();
        let map = from_lookup(|name| env.get(name).map(|v| v.to_string()));
        let expected: BTreeMap<String, String> =
            [("CLOUDFRONT_DISTRIBUTION_ID", "EDEMO123"), ("PLAN_MAX_BYTES", "8192"), ("STATUS_TOKEN", "t")]
                .map(|(k, v)| (k.into(), v.into()))
                .into();
        assert_eq!(map.into_iter().collect::<BTreeMap<_, _>>(), expected);
    }
}
