//! An incoming webhook as every body hands it to the core: method, raw target
//! (path and query), headers in arrival order, raw body bytes.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRequest {
    pub method: String,
    /// The raw request target: path, and `?query` when there is one.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebhookRequest {
    pub fn new(method: &str, target: &str, body: Vec<u8>) -> Self {
        WebhookRequest { method: method.to_string(), target: target.to_string(), headers: Vec::new(), body }
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn push_header(&mut self, name: &str, value: &str) {
        self.headers.push((name.to_string(), value.to_string()));
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        self.remove_header(name);
        self.push_header(name, value);
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.trim().eq_ignore_ascii_case(name));
    }
}
