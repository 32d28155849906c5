//! A visitor of the sandbox's site: what a GET through the CDN stand-in
//! ([`super::cdn`]) answers, read as a person and as the verification would
//! (status, `X-Cache`, `Age`, any header, the text on the page). One builder
//! for the stand-in's tests, the end-to-end tests and the demo's print-out.

use super::origin::page_text;
use std::fmt;

/// The `Accept-Encoding` the invalidator's verification sends (one variant warmed).
pub const VERIFY_ACCEPT_ENCODING: &str = "br, gzip";

/// What a visitor got.
#[derive(Debug, Clone)]
pub struct Visit {
    pub status: u16,
    /// The `X-Cache` value (`Hit from cloudfront`, ...), empty when missing.
    pub x_cache: String,
    /// `Age` in seconds, on answers from the cache.
    pub age: Option<u64>,
    /// Every header, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Visit {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The lines the page shows ([`page_text`]).
    pub fn text(&self) -> Vec<String> {
        page_text(&self.body)
    }

    /// Whether any line the page shows is `line`.
    pub fn shows(&self, line: &str) -> bool {
        self.text().iter().any(|l| l == line)
    }
}

/// One line for a person: `200 Miss from cloudfront | Home · Hero · Shop now`.
impl fmt::Display for Visit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.x_cache)?;
        if let Some(age) = self.age {
            write!(f, ", Age {age}")?;
        }
        write!(f, " | {}", self.text().join(" · "))
    }
}

/// `GET site_url + path` as the verification sends it: `Accept-Encoding: br,
/// gzip`, no cookies.
pub async fn visit(site_url: &str, path: &str) -> Result<Visit, String> {
    request(site_url, reqwest::Method::GET, path, Some(VERIFY_ACCEPT_ENCODING)).await
}

/// Any method, with `accept_encoding` or none.
pub async fn request(
    site_url: &str,
    method: reqwest::Method,
    path: &str,
    accept_encoding: Option<&str>,
) -> Result<Visit, String> {
    let url = format!("{site_url}{path}");
    let mut req = crate::loopback::client().request(method, &url);
    if let Some(encoding) = accept_encoding {
        req = req.header("accept-encoding", encoding);
    }
    let r = req.send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let headers: Vec<(String, String)> = r
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let find = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let age = match find("age") {
        Some(a) => Some(a.parse().map_err(|_| format!("{url}: Age {a:?} is not a number of seconds"))?),
        None => None,
    };
    let x_cache = find("x-cache").unwrap_or_default();
    let status = r.status().as_u16();
    let body = r.text().await.map_err(|e| format!("{url}: reading the body: {e}"))?;
    Ok(Visit { status, x_cache, age, headers, body })
}
