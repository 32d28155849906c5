//! CloudFront paths: encoding, normalisation, de-duplication, wildcard cover,
//! collapsing to a budget and splitting into batches.
//!
//! CloudFront's rules: a path starts with `/`; `*` may only be the last
//! character; characters RFC 1738 calls unsafe, and non-ASCII ones, are
//! percent-encoded and nothing else is. A wildcard counts as one path however
//! much it matches, and at most 15 may be in progress at once. A set is never
//! truncated: when it is over budget it collapses into wildcards that cover it.
//!
//! A set may also hold cache tags (`#tag`, see [`crate::tags`]): CloudFront
//! bills and counts each as a path, never as a wildcard; a tag is never
//! collapsed into anything but `/*`, which invalidates every object.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// What RFC 1738 calls unsafe, besides controls and non-ASCII.
const UNSAFE_BYTES: &[u8] = b" <>\"#%{}|\\^~[]`";

/// [`UNSAFE_BYTES`], controls and non-ASCII, for the percent-encoder.
const UNSAFE: &AsciiSet = &with_bytes(CONTROLS, UNSAFE_BYTES);

const fn with_bytes(base: &AsciiSet, bytes: &[u8]) -> AsciiSet {
    // Controls are in the base already: adding NUL again is how a const fn
    // gets an owned copy of it.
    let mut set = base.add(0);
    let mut i = 0;
    while i < bytes.len() {
        set = set.add(bytes[i]);
        i += 1;
    }
    set
}

/// What a field value must not bring into a path as itself: besides the
/// unsafe characters, CloudFront's wildcard `*` and the query's `?`. A value
/// is data; only a template's own trailing `*` is a wildcard.
const VALUE: &AsciiSet = &UNSAFE.add(b'*').add(b'?');

/// CloudFront's maximum length of one invalidation path, in characters
/// (Developer Guide, "What you need to know when invalidating paths").
pub const MAX_PATH_LEN: usize = 4000;

fn must_encode(b: u8) -> bool {
    !(0x20..0x7f).contains(&b) || UNSAFE_BYTES.contains(&b)
}

/// Encodes a field value for use inside a path: every unsafe, non-ASCII,
/// `%`, `*` or `?` byte is percent-encoded, so the value stands for itself
/// and can never widen the template it is put into.
pub fn encode_value(value: &str) -> String {
    utf8_percent_encode(value, VALUE).to_string()
}

fn is_hex(b: Option<&u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_hexdigit())
}

/// Why a path cannot be invalidated at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// An empty string names no object.
    #[error("a path cannot be empty")]
    Empty,
}

/// Brings one path into CloudFront's form: a leading `/`; unsafe and non-ASCII
/// bytes percent-encoded (an existing `%XX` is kept as it is); a `*` before
/// the end turns the path into a wildcard at that point, which covers what
/// followed it.
pub fn normalize(raw: &str) -> Result<String, PathError> {
    if raw.is_empty() {
        return Err(PathError::Empty);
    }
    let raw = match raw.find('*') {
        Some(i) => &raw[..=i],
        None => raw,
    };
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len() + 1);
    if bytes[0] != b'/' {
        out.push('/');
    }
    for (i, &b) in bytes.iter().enumerate() {
        let already_encoded = b == b'%' && is_hex(bytes.get(i + 1)) && is_hex(bytes.get(i + 2));
        if must_encode(b) && !already_encoded {
            out.push_str(percent_encoding::percent_encode_byte(b));
        } else {
            out.push(b as char);
        }
    }
    Ok(out)
}

/// Fits a normalised path within [`MAX_PATH_LEN`]: a longer one becomes the
/// wildcard of its first `MAX_PATH_LEN - 1` characters (never cutting a
/// `%XX` apart), which still covers it and little else. Returns the note that
/// says so, for the status page.
pub fn fit_length(path: String) -> (String, Option<String>) {
    if path.len() <= MAX_PATH_LEN {
        return (path, None);
    }
    let mut cut = MAX_PATH_LEN - 1;
    // A `%` in the last two places would leave a broken escape behind.
    if let Some(i) = path[cut - 2..cut].find('%') {
        cut = cut - 2 + i;
    }
    let wildcard = format!("{}*", &path[..cut]);
    let note = format!(
        "path {}... is {} characters, over CloudFront's {MAX_PATH_LEN}: invalidating its prefix wildcard instead",
        &path[..60],
        path.len()
    );
    (wildcard, Some(note))
}

/// Whether `path` ends in CloudFront's wildcard `*`.
pub fn is_wildcard(path: &str) -> bool {
    path.ends_with('*')
}

/// The wildcard that invalidates every object of a distribution.
pub const EVERYTHING: &str = "/*";

/// Removes every path that a wildcard in the set already covers (a wildcard
/// `/a*` covers every other path that starts with `/a`; `/*` covers tags too).
pub fn minimize(paths: BTreeSet<String>) -> BTreeSet<String> {
    if paths.contains(EVERYTHING) {
        return BTreeSet::from([EVERYTHING.to_string()]);
    }
    let prefixes: HashSet<String> =
        paths.iter().filter(|p| is_wildcard(p)).map(|p| p[..p.len() - 1].to_string()).collect();
    if prefixes.is_empty() {
        return paths;
    }
    paths
        .into_iter()
        .filter(|p| {
            // Covered when some shorter prefix of p is a wildcard's prefix.
            let own = if is_wildcard(p) { p.len() - 1 } else { p.len() + 1 };
            !(0..=p.len()).any(|i| i != own && p.is_char_boundary(i) && prefixes.contains(&p[..i]))
        })
        .collect()
}

/// The most a set may cost: in paths billed, wildcards in progress, and bytes
/// kept (what the workflow value has to carry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Paths billed (a wildcard counts as one).
    pub max_paths: usize,
    /// Wildcard paths (CloudFront allows 15 in progress).
    pub max_wildcards: usize,
    /// Bytes of paths kept in the workflow value.
    pub max_bytes: usize,
}

impl Budget {
    /// Whether `paths` fits in every measure.
    pub fn fits(&self, paths: &BTreeSet<String>) -> bool {
        paths.len() <= self.max_paths
            && paths.iter().filter(|p| is_wildcard(p)).count() <= self.max_wildcards
            && bytes(paths) <= self.max_bytes
    }
}

/// The bytes a set of paths takes, the measure of [`Budget::max_bytes`].
pub fn bytes<'a>(paths: impl IntoIterator<Item = &'a String>) -> usize {
    paths.into_iter().map(String::len).sum()
}

fn segments(path: &str) -> Vec<&str> {
    path[1..].split('/').collect()
}

/// Collapses `paths` (normalised) until they fit `budget`: at the deepest level
/// first, each group of two or more paths that share their first `d` segments
/// becomes one wildcard; at depth 0 everything is `/*`. Every input path stays
/// covered by some output path.
pub fn collapse(paths: BTreeSet<String>, budget: Budget) -> BTreeSet<String> {
    let current = minimize(paths);
    if budget.fits(&current) {
        return current;
    }
    // Tags take their share of the budget first: only paths can be grouped.
    let (tags, paths): (BTreeSet<String>, BTreeSet<String>) = current.into_iter().partition(|p| crate::tags::is_tag(p));
    let tag_bytes = bytes(&tags);
    if tags.len() >= budget.max_paths || tag_bytes + EVERYTHING.len() > budget.max_bytes {
        return BTreeSet::from([EVERYTHING.to_string()]);
    }
    let left = Budget { max_paths: budget.max_paths - tags.len(), max_bytes: budget.max_bytes - tag_bytes, ..budget };
    let paths = collapse_paths(paths, left);
    if paths.contains(EVERYTHING) {
        return paths;
    }
    paths.into_iter().chain(tags).collect()
}

/// [`collapse`] of a set without tags.
fn collapse_paths(paths: BTreeSet<String>, budget: Budget) -> BTreeSet<String> {
    let mut current = paths;
    if budget.fits(&current) {
        return current;
    }
    let deepest = current.iter().map(|p| segments(p).len()).max().unwrap_or(1);
    for depth in (1..deepest).rev() {
        let mut groups: BTreeMap<Vec<&str>, Vec<&String>> = BTreeMap::new();
        for p in &current {
            let segs = segments(p);
            let key = segs[..depth.min(segs.len())].to_vec();
            groups.entry(key).or_default().push(p);
        }
        let mut next = BTreeSet::new();
        for (key, members) in groups {
            if members.len() < 2 {
                next.extend(members.into_iter().cloned());
                continue;
            }
            let prefix = format!("/{}", key.join("/"));
            // If the prefix itself is a member, `/blog*` covers it and `/blog/...`.
            let exact = members.iter().any(|m| **m == prefix || **m == format!("{prefix}*"));
            let wildcard = if exact { format!("{}*", prefix.trim_end_matches('*')) } else { format!("{prefix}/*") };
            next.insert(wildcard);
        }
        current = minimize(next);
        if budget.fits(&current) {
            return current;
        }
    }
    BTreeSet::from([EVERYTHING.to_string()])
}

/// Splits a set into CloudFront requests of at most `max_paths` paths and 15
/// wildcards each, in order.
pub fn split(paths: &BTreeSet<String>, max_paths: usize) -> Vec<Vec<String>> {
    const WILDCARDS_PER_BATCH: usize = 15;
    let max_paths = max_paths.max(1);
    let mut batches: Vec<(Vec<String>, usize)> = Vec::new();
    for p in paths {
        let w = usize::from(is_wildcard(p));
        let slot = batches.iter_mut().find(|(b, wc)| b.len() < max_paths && wc + w <= WILDCARDS_PER_BATCH);
        match slot {
            Some((b, wc)) => {
                b.push(p.clone());
                *wc += w;
            }
            None => batches.push((vec![p.clone()], w)),
        }
    }
    batches.into_iter().map(|(b, _)| b).collect()
}

/// Whether `path` is invalidated by `by` (equal, or covered by its wildcard).
pub fn covers(by: &str, path: &str) -> bool {
    by == path || by == EVERYTHING || (is_wildcard(by) && path.starts_with(&by[..by.len() - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn normalize_encodes_unsafe_and_non_ascii_only() {
        assert_eq!(normalize("about").unwrap(), "/about");
        assert_eq!(normalize("/a b").unwrap(), "/a%20b");
        assert_eq!(normalize("/é").unwrap(), "/%C3%A9");
        assert_eq!(normalize("/x?y=1&z=:@$,;+!'()").unwrap(), "/x?y=1&z=:@$,;+!'()");
        assert_eq!(normalize("/{a}|^~[]`\"<>#").unwrap(), "/%7Ba%7D%7C%5E%7E%5B%5D%60%22%3C%3E%23");
        assert_eq!(normalize("/100%").unwrap(), "/100%25");
        assert_eq!(normalize("/a%20b").unwrap(), "/a%20b");
        assert_eq!(normalize("/tab\there").unwrap(), "/tab%09here");
        assert_eq!(normalize(""), Err(PathError::Empty));
    }

    #[test]
    fn a_star_is_only_ever_last() {
        assert_eq!(normalize("/a*b/c").unwrap(), "/a*");
        assert_eq!(normalize("*").unwrap(), "/*");
    }

    #[test]
    fn wildcards_cover_what_they_match() {
        let out = minimize(set(&["/a", "/a/b", "/a/*", "/ab", "/b*", "/b/c", "/b", "/c"]));
        assert_eq!(out, set(&["/a", "/a/*", "/ab", "/b*", "/c"]));
        assert_eq!(minimize(set(&["/*", "/x", "/y*"])), set(&["/*"]));
    }

    #[test]
    fn collapse_keeps_a_fitting_set() {
        let s = set(&["/a", "/b"]);
        assert_eq!(collapse(s.clone(), Budget { max_paths: 2, max_wildcards: 1, max_bytes: usize::MAX }), s);
    }

    #[test]
    fn collapse_groups_the_deepest_shared_prefixes_first() {
        let s = set(&["/blog/2024/a", "/blog/2024/b", "/blog/2025/c", "/shop/x", "/"]);
        let out = collapse(s.clone(), Budget { max_paths: 4, max_wildcards: 2, max_bytes: usize::MAX });
        assert_eq!(out, set(&["/", "/blog/2024/*", "/blog/2025/c", "/shop/x"]));
        let out = collapse(s, Budget { max_paths: 3, max_wildcards: 2, max_bytes: usize::MAX });
        assert_eq!(out, set(&["/", "/blog/*", "/shop/x"]));
    }

    #[test]
    fn collapse_counts_wildcards_and_ends_at_slash_star() {
        let many: BTreeSet<String> = (0..40).map(|i| format!("/p{i}/*")).collect();
        let out = collapse(many.clone(), Budget { max_paths: 1000, max_wildcards: 15, max_bytes: usize::MAX });
        assert_eq!(out, set(&["/*"]));
        let out = collapse(
            set(&["/blog", "/blog/a", "/blog/b"]),
            Budget { max_paths: 1, max_wildcards: 1, max_bytes: usize::MAX },
        );
        assert_eq!(out, set(&["/blog*"]));
    }

    #[test]
    fn tags_count_as_paths_and_are_only_ever_covered_by_everything() {
        let s = set(&["#entry:a", "#entry:b", "/blog/a", "/blog/b", "/x"]);
        let fits = Budget { max_paths: 5, max_wildcards: 0, max_bytes: usize::MAX };
        assert_eq!(collapse(s.clone(), fits), s);
        let tight = Budget { max_paths: 4, max_wildcards: 1, max_bytes: usize::MAX };
        assert_eq!(collapse(s.clone(), tight), set(&["#entry:a", "#entry:b", "/blog/*", "/x"]));
        let tags_only_fit = Budget { max_paths: 2, max_wildcards: 1, max_bytes: usize::MAX };
        assert_eq!(collapse(s.clone(), tags_only_fit), set(&["/*"]));
        assert_eq!(minimize(set(&["#entry:a", "/*"])), set(&["/*"]));
        assert!(covers("/*", "#entry:a") && !covers("/e*", "#entry:a") && !covers("/entry:a", "#entry:a"));
        let one_path_one_tag = set(&["#entry:a", "/entry:a", "/entry:a/b"]);
        let two = Budget { max_paths: 2, max_wildcards: 1, max_bytes: usize::MAX };
        assert_eq!(collapse(one_path_one_tag, two), set(&["#entry:a", "/entry:a*"]));
    }

    #[test]
    fn split_respects_paths_and_wildcards_per_batch() {
        let s: BTreeSet<String> =
            (0..25).map(|i| format!("/w{i:02}*")).chain((0..5).map(|i| format!("/p{i}"))).collect();
        let batches = split(&s, 10);
        let total: usize = batches.iter().map(Vec::len).sum();
        assert_eq!(total, 30);
        for b in &batches {
            assert!(b.len() <= 10);
            assert!(b.iter().filter(|p| is_wildcard(p)).count() <= 15);
        }
    }

    #[test]
    fn covers_is_exact_or_wildcard_prefix() {
        assert!(covers("/a*", "/ab"));
        assert!(covers("/a", "/a"));
        assert!(!covers("/a", "/ab"));
        assert!(!covers("/a/*", "/a"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn path_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(prop_oneof!["[a-c]{1,3}", "[ %é<>*~#]{1,2}", Just("x".to_string())], 1..5)
            .prop_map(|segs| format!("/{}", segs.join("/")))
    }

    /// RFC 1738, section 2.2, written out here rather than taken from the
    /// code under test: the characters a URL must not carry unencoded.
    const RFC1738_UNSAFE: &str = " <>\"#%{}|\\^~[]`";

    /// Whether `p` carries only what CloudFront accepts: printable ASCII, no
    /// RFC 1738 unsafe character except `%` starting a `%XX` escape.
    fn cloudfront_accepts(p: &str) -> bool {
        let b = p.as_bytes();
        b.iter().enumerate().all(|(i, &c)| match c {
            b'%' => b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit),
            0x21..=0x7e => !RFC1738_UNSAFE.as_bytes().contains(&c),
            _ => false,
        })
    }

    proptest! {
        #[test]
        fn normalized_paths_follow_cloudfront_rules(raw in "\\PC{0,30}") {
            match normalize(&raw) {
                Err(PathError::Empty) => prop_assert!(raw.is_empty()),
                Ok(p) => {
                    prop_assert!(p.starts_with('/'));
                    prop_assert!(p.find('*').is_none_or(|i| i == p.len() - 1));
                    prop_assert!(cloudfront_accepts(&p), "{}", p);
                    prop_assert_eq!(normalize(&p).unwrap(), p.clone(), "normalising twice changes nothing");
                }
            }
        }

        #[test]
        fn an_encoded_value_is_data_in_any_template(value in "\\PC{0,20}") {
            let p = normalize(&format!("/blog/{}", encode_value(&value))).unwrap();
            prop_assert!(!p.contains('*') && !p.contains('?'), "{}", p);
            prop_assert!(cloudfront_accepts(&p), "{}", p);
        }

        #[test]
        fn collapse_covers_every_input_within_budget_and_no_wider(
            raw in proptest::collection::btree_set(path_strategy(), 1..60),
            max_paths in 1usize..20,
            max_wildcards in 1usize..15,
            max_bytes in prop_oneof![Just(usize::MAX), 16usize..400],
        ) {
            let input: BTreeSet<String> = raw.iter().map(|p| normalize(p).unwrap()).collect();
            let budget = Budget { max_paths, max_wildcards, max_bytes: max_bytes.max(2) };
            let out = collapse(input.clone(), budget);
            prop_assert!(budget.fits(&out), "{:?} does not fit {:?}", out, budget);
            for p in &input {
                prop_assert!(out.iter().any(|o| covers(o, p)), "{} is not covered by {:?}", p, out);
            }
            // Precision: a set that fits comes back as it was (less what it covers itself) ...
            let minimal = minimize(input.clone());
            if budget.fits(&minimal) {
                prop_assert_eq!(&out, &minimal, "a fitting set is not widened");
            }
            // ... and every wildcard the collapse made up stands for at least
            // two inputs (`/*`, the last resort, may stand for one too long path).
            for o in out.iter().filter(|o| !input.contains(*o) && *o != "/*") {
                let stands_for = input.iter().filter(|p| covers(o, p)).count();
                prop_assert!(stands_for >= 2, "{} covers only {} input(s) of {:?}", o, stands_for, input);
            }
            let batches = split(&out, max_paths.min(7));
            let rejoined: BTreeSet<String> = batches.iter().flatten().cloned().collect();
            prop_assert_eq!(rejoined, out);
        }
    }
}
