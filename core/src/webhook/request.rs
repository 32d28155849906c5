//! An incoming webhook as every body hands it to the core: method, raw target
//! (path and query), headers in arrival order, raw body bytes.

use serde::{Deserialize, Serialize};

/// One webhook delivery, as received: nothing is parsed or checked yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRequest {
    /// The HTTP method, as sent (`POST`).
    pub method: String,
    /// The raw request target: path, and `?query` when there is one.
    pub target: String,
    /// Every header as `(name, value)`, in arrival order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body's bytes, exactly as signed.
    pub body: Vec<u8>,
}

impl WebhookRequest {
    /// A request with no headers yet.
    pub fn new(method: &str, target: &str, body: Vec<u8>) -> Self {
        WebhookRequest { method: method.to_string(), target: target.to_string(), headers: Vec::new(), body }
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Adds a header after the others, keeping any of the same name.
    pub fn push_header(&mut self, name: &str, value: &str) {
        self.headers.push((name.to_string(), value.to_string()));
    }

    /// Replaces every header of that name with one.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.remove_header(name);
        self.push_header(name, value);
    }

    /// Removes every header of that name.
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.trim().eq_ignore_ascii_case(name));
    }
}
