//! `GET /healthz`: 200 `{"ok": true}` when the settings load, else 503
//! naming the broken setting and why, never its value.

use invalidator_core::settings::{Settings, SettingsMap};
use serde_json::{json, Value};

/// The status and body of `/healthz` for these settings.
pub fn health(map: &SettingsMap) -> (u16, Value) {
    match Settings::from_map(map) {
        Ok(_) => (200, json!({"ok": true})),
        Err(e) => (503, json!({"ok": false, "setting": e.name, "reason": without_values(&e.problem)})),
    }
}

/// The problem without the value it quotes: the core's messages end in
/// `, got <value>`, and a value in quotes is cut out wherever it stands.
fn without_values(problem: &str) -> String {
    let head = problem.split(", got ").next().unwrap_or_default();
    let mut out = String::new();
    for (i, part) in head.split('"').enumerate() {
        out.push_str(if i % 2 == 0 { part } else { "…" });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::health;
    use invalidator_core::settings::SettingsMap;

    fn good() -> SettingsMap {
        [
            ("CLOUDFRONT_DISTRIBUTION_ID", "EDEMO123"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            ("CONTENTFUL_SPACE_ID", "demo-space"),
            ("CONTENTFUL_DELIVERY_TOKEN", "demo-delivery-token"),
            ("CONTENTFUL_WEBHOOK_SECRET", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/"),
            ("PATH_RULES", r#"{"page":["/{slug}"]}"#),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn good_settings_are_healthy() {
        assert_eq!(health(&good()), (200, serde_json::json!({"ok": true})));
    }

    #[test]
    fn a_missing_setting_is_503_naming_it() {
        let mut map = good();
        map.remove("AWS_SECRET_ACCESS_KEY");
        let (status, body) = health(&map);
        assert_eq!(status, 503);
        assert_eq!(body["ok"], false);
        assert_eq!(body["setting"], "AWS_SECRET_ACCESS_KEY");
        assert!(body["reason"].as_str().unwrap().contains("required"), "{body}");
    }

    #[test]
    fn a_bad_value_is_named_but_never_shown() {
        for (name, value) in [
            ("CLOUDFRONT_ENDPOINT", "ftp://secret-host.example"),
            ("COLLECT_WINDOW_SECONDS", "secret-words"),
            ("CLOUDFRONT_DISTRIBUTION_ID", "bad id secret"),
        ] {
            let mut map = good();
            map.insert(name.to_string(), value.to_string());
            let (status, body) = health(&map);
            assert_eq!((status, body["setting"].as_str()), (503, Some(name)), "{body}");
            assert!(!body.to_string().contains("secret"), "the value leaked: {body}");
            assert!(!body["reason"].as_str().unwrap().is_empty(), "{body}");
        }
    }
}
