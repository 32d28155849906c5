//! What a visitor reads through the CDN stand-in, and the content changes
//! the verification tests make: shared by the Worker and the Step Functions
//! end-to-end tests, so both assert on the same page the same way.

use crate::sandbox::{FixtureEntry, Sandbox};
use serde_json::{json, Value};

/// The site's rules as the bodies are given them: exactly what the origin
/// serves (`origin::SITE_PATH_RULES`), so every planned path is a page.
pub const SITE_RULES: &str = crate::sandbox::origin::SITE_PATH_RULES;

/// The label the demo's button shows before the publish.
pub const OLD_LABEL: &str = "Shop now";
/// The label the publish gives it.
pub const NEW_LABEL: &str = "Shop the winter sale";

/// A page as a visitor got it.
#[derive(Debug, Clone)]
pub struct Visit {
    pub status: u16,
    pub x_cache: String,
    /// The lines a visitor reads.
    pub text: Vec<String>,
}

impl Visit {
    /// Whether the page shows `words` on one of its lines.
    pub fn shows(&self, words: &str) -> bool {
        self.text.iter().any(|l| l.contains(words))
    }
}

/// A GET of `path` through the CDN as a browser sends it
/// ([`crate::sandbox::visitor::visit`]).
pub async fn visit(sb: &Sandbox, path: &str) -> Visit {
    let v = crate::sandbox::visitor::visit(&sb.site_url(), path).await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
    Visit { status: v.status, text: v.text(), x_cache: v.x_cache }
}

/// The webhook body Contentful sends for `revision` of the demo's button
/// with [`NEW_LABEL`].
pub fn button_webhook(revision: u64) -> String {
    crate::toolkit::publish_body("cta-button", "button", revision, json!({"label": {"en-US": NEW_LABEL}}))
}

/// Publishes `revision` of the demo's button with [`NEW_LABEL`] in the
/// Delivery API stand-in; returns the webhook body Contentful would send.
pub fn publish_button(sb: &Sandbox, revision: u64) -> String {
    let fields = json!({"label": {"en-US": NEW_LABEL}});
    sb.contentful_state.publish(FixtureEntry {
        id: "cta-button".into(),
        content_type: "button".into(),
        revision,
        fields: fields.as_object().unwrap().clone(),
        links: vec![],
        created_at: None,
        updated_at: None,
    });
    button_webhook(revision)
}

/// The steps of a receipt (`Tracked.receipt` as JSON), in order.
pub fn steps(tracked: &Value) -> Vec<String> {
    tracked["receipt"].as_array().into_iter().flatten().map(|s| s["step"].as_str().unwrap_or("").to_string()).collect()
}

/// Whether the receipt ends verified or not verified.
pub fn settled(tracked: &Value) -> bool {
    matches!(steps(tracked).last().map(String::as_str), Some("verified" | "not_verified"))
}

/// The detail of the receipt's last step.
pub fn last_detail(tracked: &Value) -> String {
    let receipt = tracked["receipt"].as_array().cloned().unwrap_or_default();
    receipt.last().and_then(|s| s["detail"].as_str()).unwrap_or_default().to_string()
}
