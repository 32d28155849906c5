//! The Worker's settings: its `[vars]` and secrets, read by the names every
//! body shares, into the core's settings map.

use invalidator_core::settings::{self, SettingsMap};
use worker::Env;

/// The Worker's own settings, read beside the core's [`settings::NAMES`].
const WORKER_NAMES: &[&str] = &["STATUS_TOKEN"];

/// Every setting the core or the Worker reads, from the Worker's secrets or
/// `[vars]` (a secret wins).
pub fn from_env(env: &Env) -> SettingsMap {
    let mut map = SettingsMap::new();
    for name in settings::NAMES.iter().chain(WORKER_NAMES) {
        let value = env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string()));
        if let Ok(value) = value {
            map.insert(name.to_string(), value);
        }
    }
    map
}
