//! Webhooks signed by the official `@contentful/node-apps-toolkit` (through
//! tests/js/sign-webhooks.mjs), as Contentful signs them.

use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A webhook to sign: the headers given are signed too.
#[derive(Debug, Clone, Serialize)]
pub struct ToSign {
    pub secret: String,
    pub method: String,
    pub path: String,
    pub headers: serde_json::Map<String, serde_json::Value>,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
}

/// An entry publish as Contentful delivers it, in the demo space, with
/// `fields` as given (localized, `{"slug": {"en-US": "..."}}`).
pub fn publish_body(id: &str, content_type: &str, revision: u64, fields: serde_json::Value) -> String {
    serde_json::json!({"metadata": {"tags": []}, "fields": fields,
        "sys": {"type": "Entry", "id": id, "revision": revision,
            "space": {"sys": {"type": "Link", "linkType": "Space", "id": "demo-space"}},
            "environment": {"sys": {"id": "master", "type": "Link", "linkType": "Environment"}},
            "contentType": {"sys": {"type": "Link", "linkType": "ContentType", "id": content_type}}}})
    .to_string()
}

/// A publish webhook of `body` to `path`, to sign with `secret`: the headers
/// Contentful sends with it are signed too.
pub fn publish(secret: &str, path: &str, body: String) -> ToSign {
    let headers = [
        ("content-type", "application/vnd.contentful.management.v1+json"),
        ("x-contentful-topic", "ContentManagement.Entry.publish"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), serde_json::Value::from(v)))
    .collect();
    ToSign { secret: secret.into(), method: "POST".into(), path: path.into(), headers, body, timestamp: None }
}

/// An entry unpublish webhook as Contentful delivers it (a `DeletedEntry`:
/// no fields), to sign with `secret`.
pub fn unpublish(secret: &str, path: &str, id: &str, content_type: &str, revision: u64) -> ToSign {
    let body = serde_json::json!({"sys": {"type": "DeletedEntry", "id": id, "revision": revision,
        "space": {"sys": {"type": "Link", "linkType": "Space", "id": "demo-space"}},
        "environment": {"sys": {"id": "master", "type": "Link", "linkType": "Environment"}},
        "contentType": {"sys": {"type": "Link", "linkType": "ContentType", "id": content_type}}}})
    .to_string();
    let mut request = publish(secret, path, body);
    request.headers.insert("x-contentful-topic".into(), "ContentManagement.Entry.unpublish".into());
    request
}

/// Signs every request in one node process; returns every header to send
/// with each: its own and the signature's.
pub fn sign_all(requests: &[ToSign]) -> Vec<Vec<(String, String)>> {
    requests
        .iter()
        .zip(sign(requests))
        .map(|(r, signature)| {
            let own = r.headers.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()));
            own.chain(signature).collect()
        })
        .collect()
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repository").to_path_buf()
}

/// Signs every request in one node process; returns the headers to add to each.
pub fn sign(requests: &[ToSign]) -> Vec<Vec<(String, String)>> {
    let root = repo_root();
    let mut child = Command::new("node")
        .arg(root.join("tests/js/sign-webhooks.mjs"))
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (Node.js is required for the end-to-end tests)");
    child.stdin.take().unwrap().write_all(&serde_json::to_vec(requests).unwrap()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "signing failed: {}", String::from_utf8_lossy(&out.stderr));
    let signed: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(&out.stdout).unwrap();
    signed
        .into_iter()
        .map(|h| h.into_iter().map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string())).collect())
        .collect()
}
