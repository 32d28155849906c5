//! `TAG_RULES` and `INVALIDATE_BY`: which CloudFront cache tags an entry
//! carries, and the `#tag` items that invalidate them.
//!
//! ```json
//! {"*": ["entry:{sys.id}"], "page": ["page:{slug}"]}
//! ```
//! Each key is a content type id (or `*`, for every entry) with a list of tag
//! templates over the entry's fields, as in `PATH_RULES`. CloudFront's rules
//! for a tag (Developer Guide, "Invalidate by cache tag"): visible ASCII 33 to
//! 126, no comma, no wildcard, at most 256 characters, compared without
//! regard to case; at most 50 on one cached object; each tag invalidated is
//! billed as one path. So a field value's bytes outside that range, and its
//! `,`, `*` and `%`, are percent-encoded, every tag is lower-cased (one
//! spelling per tag, so sets de-duplicate as CloudFront compares), and a tag
//! that is still too long, or has no value, is skipped with a note: a bad
//! value never fails a batch.

use crate::contentful::LinkedEntry;
use crate::rules::{self, templates_by_type, Part, RulesError};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::str::FromStr;

/// The longest cache tag CloudFront takes, in characters.
pub const MAX_TAG_LEN: usize = 256;
/// The most cache tags CloudFront keeps on one cached object.
pub const MAX_TAGS_PER_OBJECT: usize = 50;
/// What starts a tag in a CreateInvalidation batch.
pub const TAG_MARK: char = '#';
/// The content type key whose templates apply to every entry.
pub const EVERY_TYPE: &str = "*";

/// What a value must not bring into a tag as itself: what CloudFront refuses
/// (controls, space, non-ASCII, `,`, `*`) and `%`, so an encoded value
/// decodes to one value only.
const ENCODED: &AsciiSet = &CONTROLS.add(b' ').add(b',').add(b'*').add(b'%');

/// Whether a batch item is a cache tag (`#tag`) rather than a path.
pub fn is_tag(item: &str) -> bool {
    item.starts_with(TAG_MARK)
}

/// What invalidates a change: `INVALIDATE_BY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidateBy {
    /// Only `PATH_RULES` paths (the default without `TAG_RULES`).
    #[default]
    Paths,
    /// Only `TAG_RULES` tags: for an origin that tags each page with every entry it renders.
    Tags,
    /// Both, side by side (the default with `TAG_RULES`).
    Both,
    /// Whichever of the two bills fewer items for each plan (see
    /// `workflow::cheapest`); needs a `*` tag template of `{sys.id}` alone, so
    /// every entry has a tag.
    Cheapest,
}

impl InvalidateBy {
    /// Whether paths are planned.
    pub fn paths(self) -> bool {
        !matches!(self, InvalidateBy::Tags)
    }
    /// Whether tags are planned.
    pub fn tags(self) -> bool {
        !matches!(self, InvalidateBy::Paths)
    }
}

impl FromStr for InvalidateBy {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "paths" => Ok(InvalidateBy::Paths),
            "tags" => Ok(InvalidateBy::Tags),
            "both" => Ok(InvalidateBy::Both),
            "cheapest" => Ok(InvalidateBy::Cheapest),
            _ => Err("must be paths, tags, both or cheapest"),
        }
    }
}

/// One tag template: text and `{field}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TagTemplate {
    source: String,
    parts: Vec<Part>,
}

impl TagTemplate {
    fn parse(source: &str) -> Result<TagTemplate, &'static str> {
        let parts = rules::parse_parts(source)?;
        let mut text_len = 0;
        for part in &parts {
            if let Part::Text(t) = part {
                if t.bytes().any(|b| !(33..=126).contains(&b) || b == b',' || b == b'*') {
                    return Err("tag text is visible ASCII without ',' or '*' (CloudFront's rule)");
                }
                text_len += t.len();
            }
        }
        if parts.is_empty() {
            return Err("is empty");
        }
        if text_len > MAX_TAG_LEN {
            return Err("is longer than CloudFront's 256 characters before any value");
        }
        Ok(TagTemplate { source: source.to_string(), parts })
    }
}

/// The tags an entry carries (lower-cased, without the `#`), and why any was skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderedTags {
    /// The tags, de-duplicated, in template order.
    pub tags: Vec<String>,
    /// Why a template made no tag.
    pub skipped: Vec<String>,
}

/// `TAG_RULES`, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagRules {
    by_type: BTreeMap<String, Vec<TagTemplate>>,
}

impl TagRules {
    /// Parses `TAG_RULES`.
    pub fn parse(json: &str) -> Result<TagRules, RulesError> {
        let mut rules = TagRules::default();
        for (content_type, templates) in templates_by_type(json, TagTemplate::parse)? {
            rules.by_type.insert(content_type, templates);
        }
        Ok(rules)
    }

    /// Whether every entry gets a tag whatever its fields: a `*` template
    /// whose only placeholder is `{sys.id}`.
    pub fn tags_every_entry(&self) -> bool {
        self.by_type.get(EVERY_TYPE).into_iter().flatten().any(|t| {
            let mut fields = rules::field_names(&t.parts);
            fields.all(|f| f == "sys.id")
        })
    }

    /// Whether any template is given.
    pub fn is_empty(&self) -> bool {
        self.by_type.values().all(Vec::is_empty)
    }

    /// Renders the `*` templates and those of `content_type` (when known)
    /// over the entry's fields: one tag per locale, as paths are.
    pub fn render(&self, content_type: Option<&str>, entry_id: &str, fields: &Map<String, Value>) -> RenderedTags {
        let own = content_type.and_then(|ct| self.by_type.get(ct));
        render_templates(self.by_type.get(EVERY_TYPE).into_iter().chain(own).flatten(), entry_id, fields)
    }

    /// The header value an origin sends with a page built from `entries`
    /// (the page's own entry first, then what it renders, nearest first), so
    /// that the tags changes send reach it. At most [`MAX_TAGS_PER_OBJECT`]
    /// tags, CloudFront's limit per cached object. Past it, the rule for what
    /// stays: first the `*` tags (`entry:{sys.id}`, what every change of the
    /// entry sends) of each entry in the order given, then each entry's
    /// content type tags in the same order. What does not fit is dropped,
    /// and named.
    pub fn header_for_page(&self, entries: &[LinkedEntry]) -> CacheTagHeader {
        let mut out = CacheTagHeader::default();
        for every_round in [true, false] {
            for e in entries {
                let templates = match every_round {
                    true => self.by_type.get(EVERY_TYPE),
                    false => e.content_type.as_deref().and_then(|ct| self.by_type.get(ct)),
                };
                let rendered = render_templates(templates.into_iter().flatten(), &e.id, &e.fields);
                out.notes.extend(rendered.skipped);
                for tag in rendered.tags {
                    if out.tags.iter().chain(&out.dropped).any(|t| t.eq_ignore_ascii_case(&tag)) {
                        continue;
                    }
                    if out.tags.len() < MAX_TAGS_PER_OBJECT {
                        out.tags.push(tag);
                    } else {
                        out.dropped.push(tag);
                    }
                }
            }
        }
        out.value = out.tags.join(",");
        out.revisions = revision_header(entries);
        out
    }
}

/// What an origin sends for one page: see [`TagRules::header_for_page`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheTagHeader {
    /// The header's value: the tags, comma-separated.
    pub value: String,
    /// The tags sent, at most [`MAX_TAGS_PER_OBJECT`].
    pub tags: Vec<String>,
    /// Tags past the limit, left out.
    pub dropped: Vec<String>,
    /// Tags that could not be made, and why.
    pub notes: Vec<String>,
    /// The revision header's value (`VERIFY_REVISION_HEADER`): each entry's
    /// `<entry-id>:<revision>`, comma-separated, those without a revision left out.
    pub revisions: String,
}

/// The value an origin sends in `VERIFY_REVISION_HEADER` with a page built
/// from `entries`: `<entry-id>:<revision>` for each, comma-separated, so that
/// verification can tell a page rendered before the publish.
pub fn revision_header(entries: &[LinkedEntry]) -> String {
    let mut seen = Vec::new();
    for e in entries {
        if let Some(rev) = e.revision {
            if !seen.iter().any(|(id, _)| *id == e.id) {
                seen.push((e.id.as_str(), rev));
            }
        }
    }
    seen.iter().map(|(id, rev)| format!("{id}:{rev}")).collect::<Vec<_>>().join(",")
}

/// Renders `templates` over one entry's fields: one tag per locale.
fn render_templates<'a>(
    templates: impl Iterator<Item = &'a TagTemplate>,
    entry_id: &str,
    fields: &Map<String, Value>,
) -> RenderedTags {
    let mut out = RenderedTags::default();
    for template in templates {
        let locales = rules::locales_of(rules::field_names(&template.parts), fields);
        let mut rendered_any = false;
        for locale in &locales {
            let value_of = |name: &str| rules::field_value(name, entry_id, fields, locale.as_deref());
            let Some(tag) = rules::render_parts(&template.parts, encode_value, value_of) else {
                continue;
            };
            rendered_any = true;
            match check_tag(&tag) {
                Ok(tag) => push_tag(&mut out.tags, tag),
                Err(why) => out.skipped.push(format!("entry {entry_id}: tag of {} skipped: {why}", template.source)),
            }
        }
        if !rendered_any {
            out.skipped.push(format!("entry {entry_id}: tag of {} skipped: its fields are missing", template.source));
        }
    }
    out
}

/// Adds `tag` unless a tag equal to it (without regard to case) is there.
fn push_tag(tags: &mut Vec<String>, tag: String) {
    if !tags.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
        tags.push(tag);
    }
}

/// Encodes a field value for use inside a tag (see the module's rules).
pub fn encode_value(value: &str) -> String {
    utf8_percent_encode(value, ENCODED).to_string()
}

/// Why a tag cannot be sent to CloudFront.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// No characters.
    #[error("a cache tag cannot be empty")]
    Empty,
    /// Over [`MAX_TAG_LEN`].
    #[error("it has {0} characters, over CloudFront's {MAX_TAG_LEN}")]
    TooLong(usize),
    /// A character CloudFront refuses.
    #[error("it holds {0:?}: a cache tag is visible ASCII without ',' or '*'")]
    Character(char),
}

/// Checks a tag (without its `#`) against CloudFront's rules and returns it
/// lower-cased, the one spelling of it this crate sends.
pub fn check_tag(tag: &str) -> Result<String, TagError> {
    if tag.is_empty() {
        return Err(TagError::Empty);
    }
    if let Some(c) = tag.chars().find(|&c| !('!'..='~').contains(&c) || c == ',' || c == '*') {
        return Err(TagError::Character(c));
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(TagError::TooLong(tag.len()));
    }
    Ok(tag.to_ascii_lowercase())
}

/// The batch item for `tag`: `#tag`.
pub fn item(tag: &str) -> String {
    format!("{TAG_MARK}{tag}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> TagRules {
        TagRules::parse(r#"{"*":["entry:{sys.id}"],"page":["page:{slug}"],"post":["cat:{category}"]}"#).unwrap()
    }

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn every_entry_gets_the_star_templates_and_its_own_per_locale() {
        let r = rules();
        let page = r.render(Some("page"), "Home", &fields(json!({"slug": {"en-US": "home", "de-DE": "Startseite"}})));
        assert_eq!(page.tags, ["entry:home", "page:startseite", "page:home"]);
        assert!(page.skipped.is_empty());
        assert_eq!(r.render(Some("author"), "a1", &Map::new()).tags, ["entry:a1"]);
        assert_eq!(r.render(None, "a1", &Map::new()).tags, ["entry:a1"]);
    }

    #[test]
    fn values_that_cannot_be_tags_are_encoded_or_skipped_with_a_note() {
        let r = rules();
        let odd = r.render(Some("page"), "e", &fields(json!({"slug": "a b,c*d%é"})));
        assert_eq!(odd.tags, ["entry:e", "page:a%20b%2cc%2ad%25%c3%a9"]);
        let long = r.render(Some("page"), "e", &fields(json!({"slug": "x".repeat(300)})));
        assert_eq!(long.tags, ["entry:e"]);
        assert!(long.skipped[0].contains("over CloudFront's 256"), "{:?}", long.skipped);
        let missing = r.render(Some("post"), "e9", &Map::new());
        assert_eq!(missing.tags, ["entry:e9"]);
        assert!(missing.skipped[0].contains("e9") && missing.skipped[0].contains("missing"));
        for tag in odd.tags.iter().chain(&long.tags) {
            assert_eq!(check_tag(tag).as_deref(), Ok(tag.as_str()));
        }
    }

    #[test]
    fn a_page_header_keeps_every_entry_id_first_and_at_most_fifty_tags() {
        let r = rules();
        let entry = |id: &str, ct: &str, slug: &str| LinkedEntry {
            id: id.into(),
            content_type: Some(ct.into()),
            fields: fields(json!({"slug": slug})),
            revision: Some(id.len() as u64),
        };
        let small = r.header_for_page(&[entry("home", "page", "home"), entry("btn", "button", "")]);
        assert_eq!(small.value, "entry:home,entry:btn,page:home");
        assert_eq!(small.revisions, "home:4,btn:3", "VERIFY_REVISION_HEADER's value, in the order given");
        let mut many = vec![entry("home", "page", "home")];
        many.extend((0..60).map(|i| entry(&format!("s{i}"), "section", "")));
        let big = r.header_for_page(&many);
        assert_eq!(big.tags.len(), MAX_TAGS_PER_OBJECT);
        assert_eq!(big.tags[0], "entry:home");
        assert!(big.dropped.contains(&"page:home".to_string()) && big.dropped.contains(&"entry:s59".to_string()));
        assert_eq!(big.tags.len() + big.dropped.len(), 62);
    }

    #[test]
    fn tags_are_one_spelling_whatever_the_case() {
        let r = TagRules::parse(r#"{"*":["entry:{sys.id}","ENTRY:{sys.id}"]}"#).unwrap();
        assert_eq!(r.render(None, "AbC", &Map::new()).tags, ["entry:abc"]);
    }

    #[test]
    fn bad_tag_rules_say_what_is_wrong() {
        for bad in [
            r#"[]"#,
            r#"{"page": "x:{slug}"}"#,
            r#"{"page": ["a b:{slug}"]}"#,
            r#"{"page": ["a,{slug}"]}"#,
            r#"{"page": ["a*"]}"#,
            r#"{"page": ["{slug"]}"#,
            r#"{"page": [""]}"#,
        ] {
            assert!(TagRules::parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!("both".parse(), Ok(InvalidateBy::Both));
        assert!("all".parse::<InvalidateBy>().is_err());
    }
}
