//! The site as a visitor reaches it: the GET a verification sends through
//! `SITE_URL`, and what its answer shows (status, `X-Cache`, `Age`, the
//! revision header). The judgement of those lives in `workflow::verify`.

use crate::io::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

/// What a verification asks for: one encoding a browser sends, so the
/// variant most visitors get is the one checked (and warmed).
pub const ACCEPT_ENCODING: &str = "br, gzip";
/// Characters of a header value kept: enough to read, bounded when stored.
const HEADER_CHARS_KEPT: usize = 200;

/// The GET of `path` (a CloudFront path, already encoded) through the site
/// at `site_url` (scheme and host), as a visitor without cookies sends it.
pub fn page_request(site_url: &str, path: &str) -> HttpRequest {
    http::Request::get(format!("{site_url}{path}"))
        .header("accept-encoding", ACCEPT_ENCODING)
        .header("user-agent", concat!("invalidator-verify/", env!("CARGO_PKG_VERSION")))
        .extension(crate::io::NoRedirects)
        .body(Vec::new())
        .expect("a path of a planned batch makes a valid URI")
}

/// What one page's answer showed, as the receipt reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageSeen {
    /// The HTTP status.
    pub status: u16,
    /// CloudFront's `X-Cache` (`Hit from cloudfront`, `Miss from cloudfront`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_cache: Option<String>,
    /// `Age`: seconds the answer had been cached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<u64>,
    /// The revision header's value, when asked for and sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisions: Option<String>,
    /// Where a redirect points (`Location`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl PageSeen {
    /// Reads what matters of `response`; `revision_header` is the lowercase
    /// name of the header naming the rendered revisions, if one is checked.
    pub fn read(response: &HttpResponse, revision_header: Option<&str>) -> PageSeen {
        let header = |name: &str| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(|v| shorten(v.trim().to_string()))
        };
        PageSeen {
            status: response.status().as_u16(),
            x_cache: header("x-cache"),
            age: header("age").and_then(|a| a.parse().ok()),
            revisions: revision_header.and_then(header),
            location: header("location"),
        }
    }

    /// The revisions the page names: `(entry id, revision)` pairs; what
    /// cannot be read is left out.
    pub fn revisions(&self) -> impl Iterator<Item = (&str, u64)> {
        self.revisions.iter().flat_map(|v| v.split(',')).filter_map(|item| {
            let (id, rev) = item.trim().rsplit_once(':')?;
            Some((id.trim(), rev.trim().parse().ok()?))
        })
    }
}

impl std::fmt::Display for PageSeen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "status {}", self.status)?;
        if let Some(c) = &self.x_cache {
            write!(f, ", X-Cache {c}")?;
        }
        if let Some(a) = self.age {
            write!(f, ", Age {a}")?;
        }
        if let Some(r) = &self.revisions {
            write!(f, ", revisions {r}")?;
        }
        if let Some(l) = &self.location {
            write!(f, ", Location {l}")?;
        }
        Ok(())
    }
}

fn shorten(mut value: String) -> String {
    if let Some((i, _)) = value.char_indices().nth(HEADER_CHARS_KEPT) {
        value.truncate(i);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_request_asks_for_one_encoding_and_sends_no_cookie() {
        let r = page_request("https://www.example.com", "/blog/caf%C3%A9");
        assert_eq!(r.uri().to_string(), "https://www.example.com/blog/caf%C3%A9");
        assert_eq!(r.headers()["accept-encoding"], "br, gzip");
        assert!(r.headers().get("cookie").is_none());
        assert_eq!(r.method(), http::Method::GET);
        assert!(r.extensions().get::<crate::io::NoRedirects>().is_some(), "a redirect is seen, not followed");
    }

    #[test]
    fn what_an_answer_shows_is_read_and_bounded() {
        let response = http::Response::builder()
            .status(200)
            .header("X-Cache", "Hit from cloudfront")
            .header("Age", "42")
            .header("X-Revisions", format!("home:3, about:7,{}", "x".repeat(500)))
            .body(Vec::new())
            .unwrap();
        let seen = PageSeen::read(&response, Some("x-revisions"));
        assert_eq!(seen.status, 200);
        assert_eq!(seen.x_cache.as_deref(), Some("Hit from cloudfront"));
        assert_eq!(seen.age, Some(42));
        assert!(seen.revisions.as_ref().unwrap().chars().count() <= HEADER_CHARS_KEPT);
        assert_eq!(seen.revisions().collect::<Vec<_>>(), [("home", 3), ("about", 7)]);
        assert_eq!(PageSeen::read(&response, None).revisions, None);
    }
}
