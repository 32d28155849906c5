//! The request that carries a [`Notice`] to `NOTIFY_URL`: Slack's body or
//! the JSON event, signed with `NOTIFY_SECRET` when there is one.

use super::notice::{Kind, Notice};
use crate::io::HttpRequest;
use crate::settings::{NotifyFormat, NotifySettings};
use crate::time::Timestamp;
use serde_json::{json, Value};

/// The header that carries the signature: `t=<unix seconds>,v1=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-invalidator-signature";

/// The POST that sends `notice` at `now`.
pub fn request(settings: &NotifySettings, notice: &Notice, now: Timestamp) -> Result<HttpRequest, String> {
    let body = match settings.format {
        NotifyFormat::Slack => slack_body(notice),
        NotifyFormat::Json => json!({ "event": notice }),
    };
    let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    let mut builder = http::Request::post(settings.url.expose())
        .header("content-type", "application/json")
        .header("user-agent", concat!("invalidator-notify/", env!("CARGO_PKG_VERSION")))
        .extension(crate::io::NoRedirects);
    if let Some(secret) = &settings.secret {
        let t = now.as_millis() / 1000;
        builder = builder.header(SIGNATURE_HEADER, format!("t={t},v1={}", sign(secret.expose(), t, &body)));
    }
    // The URL is a credential: an error names the setting, never the value.
    builder.body(body).map_err(|_| "NOTIFY_URL is not a valid request URI".to_string())
}

/// HMAC-SHA256 of `<t>.<body>` under `secret`, lowercase hex: what a
/// receiver computes to check [`SIGNATURE_HEADER`].
pub fn sign(secret: &str, t: u64, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Slack's incoming-webhook body: `text` for the notification itself, a
/// section with the facts, a context line with the cause.
fn slack_body(n: &Notice) -> Value {
    let mut facts = Vec::new();
    if let Some(d) = &n.distribution_id {
        facts.push(format!("*Distribution:* `{}`", escape(d)));
    }
    if let Some(r) = &n.reason {
        facts.push(format!("*Reason:* {}", escape(r)));
    }
    if !n.paths.is_empty() {
        let list: Vec<String> = n.paths.iter().map(|p| format!("`{}`", escape(p))).collect();
        let more = match n.paths_not_shown() {
            0 => String::new(),
            k => format!(" and {k} more"),
        };
        facts.push(format!("*Paths ({}):* {}{more}", n.path_count, list.join(", ")));
    }
    if !n.changes.is_empty() {
        let list: Vec<String> = n.changes.iter().map(|c| format!("`{}`", escape(c))).collect();
        facts.push(format!("*Changes:* {}", list.join(", ")));
    }
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("{} {}", icon(n.kind), escape(&n.summary))}}),
    ];
    if !facts.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": facts.join("\n")}}));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("invalidator · {}", escape(&n.key))}]}));
    json!({ "text": format!("{} {}", icon(n.kind), n.summary), "blocks": blocks })
}

fn icon(kind: Kind) -> &'static str {
    match kind {
        Kind::Live => ":white_check_mark:",
        Kind::BillingAlert => ":moneybag:",
        _ => ":warning:",
    }
}

/// Slack's mrkdwn escaping: a value from Contentful never becomes a link or a mention.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn notice() -> Notice {
        let paths: Vec<String> = (0..25).map(|i| format!("/p/{i}")).collect();
        Notice::new(Kind::BatchFailed, "failed:E1:3".into(), "Batch 3 failed".into(), Timestamp::from_secs(1000))
            .with_distribution("E1")
            .with_reason("AccessDenied <script>")
            .with_paths(&paths, 25)
    }

    fn settings(format: NotifyFormat, secret: Option<&str>) -> NotifySettings {
        NotifySettings { url: Secret::new("http://127.0.0.1:9/hook"), format, secret: secret.map(Secret::new) }
    }

    #[test]
    fn the_slack_body_has_text_and_blocks_with_the_reason_and_a_bounded_path_list() {
        let r = request(&settings(NotifyFormat::Slack, None), &notice(), Timestamp::from_secs(1000)).unwrap();
        assert!(r.headers().get(SIGNATURE_HEADER).is_none(), "unsigned without NOTIFY_SECRET");
        let v: Value = serde_json::from_slice(r.body()).unwrap();
        assert!(v["text"].as_str().unwrap().contains("Batch 3 failed"));
        let facts = v["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(facts.contains("AccessDenied &lt;script&gt;"), "{facts}");
        assert!(facts.contains("`/p/19`") && !facts.contains("`/p/20`") && facts.contains("and 5 more"), "{facts}");
    }

    #[test]
    fn the_json_event_is_signed_over_the_timestamp_and_body() {
        let now = Timestamp::from_secs(1_700_000_000);
        let r = request(&settings(NotifyFormat::Json, Some("s3cret")), &notice(), now).unwrap();
        let header = r.headers()[SIGNATURE_HEADER].to_str().unwrap();
        let body = std::str::from_utf8(r.body()).unwrap();
        assert_eq!(header, format!("t=1700000000,v1={}", sign("s3cret", 1_700_000_000, r.body())));
        assert!(!body.contains("s3cret") && !body.contains("127.0.0.1"), "no secret in the body");
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["event"]["kind"], "batch_failed");
        assert_eq!(v["event"]["path_count"], 25);
        assert_eq!(v["event"]["paths"].as_array().unwrap().len(), super::super::PATHS_SHOWN);
    }
}
