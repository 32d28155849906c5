//! Which items CloudFront accepts in an invalidation batch, as its
//! documentation states them: a path starts with `/`, is at most 4,000
//! characters, has a `*` only as its last character, and carries every RFC
//! 1738 unsafe character, control byte and non-ASCII byte URL-encoded (a `%`
//! only as `%XX`). An item starting with `#` is a cache tag: visible ASCII,
//! no comma, no wildcard, at most 256 characters.

/// CloudFront's documented maximum length of an invalidation path.
pub const MAX_PATH_LEN: usize = 4000;
/// The longest cache tag.
pub const MAX_TAG_LEN: usize = 256;

/// Characters RFC 1738 calls unsafe (`%` is checked on its own).
const UNSAFE: &[u8] = b" <>\"#{}|\\^~[]`";

/// `Ok` when CloudFront would accept `item`, else why not (for `InvalidArgument`).
pub fn check(item: &str) -> Result<(), String> {
    match item.strip_prefix('#') {
        Some(tag) => check_tag(tag),
        None => check_path(item),
    }
}

fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("the path {} does not start with /", shown(path)));
    }
    if path.len() > MAX_PATH_LEN {
        return Err(format!("a path is at most {MAX_PATH_LEN} characters, this one has {}", path.len()));
    }
    if path.find('*').is_some_and(|i| i != path.len() - 1) {
        return Err(format!("in {}, a * may only be the last character", shown(path)));
    }
    let bytes = path.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_control() || !b.is_ascii() {
            return Err(format!("{} holds a control or non-ASCII byte at {i}: URL-encode it", shown(path)));
        }
        if UNSAFE.contains(&b) {
            return Err(format!("{} holds the unsafe character {:?} at {i}: URL-encode it", shown(path), b as char));
        }
        if b == b'%' && !(bytes.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))) {
            return Err(format!("{} holds a % at {i} that is not %XX: URL-encode it as %25", shown(path)));
        }
    }
    Ok(())
}

fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() || tag.len() > MAX_TAG_LEN {
        return Err(format!("a cache tag has 1 to {MAX_TAG_LEN} characters"));
    }
    if tag.bytes().any(|b| !(33..=126).contains(&b) || b == b',' || b == b'*') {
        return Err(format!("the cache tag {} holds a character outside visible ASCII, a comma or a *", shown(tag)));
    }
    Ok(())
}

/// The item for a message: escaped, and cut short when long.
fn shown(item: &str) -> String {
    let cut: String = item.chars().take(80).collect();
    let more = if cut.len() < item.len() { "..." } else { "" };
    format!("{:?}{more}", cut)
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn encoded_paths_pass_and_unsafe_ones_do_not() {
        for ok in ["/", "/a%20b", "/blog/news/snow%20%C3%A9%20report", "/c/*", "/*", "/a?b=c", "#tag-1"] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for bad in
            ["a", "/a b", "/a<", "/a\"", "/a#b", "/%", "/%4", "/%zz", "/a{", "/a|", "/a\\", "/a^", "/a~", "/a[", "/a`"]
        {
            assert!(check(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(check("/a\u{7f}").is_err() && check("/\u{e9}").is_err() && check("/a\tb").is_err());
        assert!(check("/a*b").is_err() && check("#a,b").is_err() && check("#a*").is_err() && check("#").is_err());
        assert!(check(&format!("/{}", "a".repeat(3999))).is_ok());
        assert!(check(&format!("/{}", "a".repeat(4000))).is_err());
    }
}
