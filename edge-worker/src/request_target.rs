//! The request target (path and query) of a request's URL, and one query
//! parameter, read without a URL parser: the runtime hands the Worker a URL
//! it has already parsed and serialised (WHATWG), so splitting is enough, and
//! leaving the `url` crate out (with its IDNA and Unicode normalisation
//! tables) keeps the bundle smaller.

/// `https://host:port/path?query#fragment` → `/path?query`: what the client
/// asked for, as Contentful's request signing canonicalises it.
pub fn request_target(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_scheme..];
    let target = &rest[rest.find(['/', '?', '#']).unwrap_or(rest.len())..];
    let target = target.split('#').next().unwrap_or_default();
    if target.starts_with('/') {
        target.to_string()
    } else {
        format!("/{target}")
    }
}

/// The value of the query parameter `name` in `url`, percent-decoded (`+`
/// is a space, as in a form); `None` when it is absent or not UTF-8.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split('#').next()?.split_once('?')?.1;
    let value = query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k)? == name).then_some(v)
    })?;
    decode(value)
}

fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit() => {
                let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(bytes[i + 1]) << 4 | hex(bytes[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::{query_param, request_target};

    #[test]
    fn the_target_is_the_path_and_query_without_the_fragment() {
        for (url, target) in [
            ("https://example.com/webhooks/contentful", "/webhooks/contentful"),
            ("http://127.0.0.1:8787/webhooks/contentful?a=b&c", "/webhooks/contentful?a=b&c"),
            ("https://example.com/hook?a=b#frag", "/hook?a=b"),
            ("https://example.com/hook?", "/hook?"),
            ("https://example.com", "/"),
            ("https://example.com?q=1", "/?q=1"),
            ("https://example.com/a%20b/%3F?x=%2F", "/a%20b/%3F?x=%2F"),
        ] {
            assert_eq!(request_target(url), target, "{url}");
        }
    }

    #[test]
    fn a_query_parameter_is_found_and_decoded() {
        let url = "https://coordinator/changes?x=1&distribution=E2%2BAB+C&y";
        assert_eq!(query_param(url, "distribution").as_deref(), Some("E2+AB C"));
        assert_eq!(query_param(url, "y").as_deref(), Some(""));
        assert_eq!(query_param(url, "z"), None);
        assert_eq!(query_param("https://coordinator/changes", "distribution"), None);
        assert_eq!(query_param("https://c/x?d=%ZZ%4", "d").as_deref(), Some("%ZZ%4"));
        assert_eq!(query_param("https://c/x?d=%FF", "d"), None, "not UTF-8");
    }
}
