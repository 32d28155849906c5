//! `PATH_RULES`: which CDN paths show an entry, by content type.
//!
//! ```json
//! {"page": ["/{slug}", "/{slug}/*"], "blogPost": ["/blog/{slug}"], "always": ["/"]}
//! ```
//! Each key is a content type id with a list of path templates; `{field}` is
//! replaced by the entry's field value (`{sys.id}` by its id). The key `always`
//! lists paths invalidated on every change. An entry whose content type has no
//! rule is walked through but adds no path.
//!
//! Fields arrive localized (`{"slug": {"en-US": "a", "de": "b"}}`, as webhooks
//! and `locale=*` deliver them) or plain; a localized field yields one path per
//! locale. A template whose fields are missing (an unpublish carries no fields)
//! falls back to a wildcard at its static prefix: `/blog/{slug}` becomes
//! `/blog/*`, never nothing.

use crate::paths;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Why `PATH_RULES` or `TAG_RULES` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// The setting is not JSON (the parser's message).
    #[error("is not valid JSON: {0}")]
    Json(String),
    /// The JSON is not an object of lists of strings.
    #[error("must be a JSON object of content type id (or \"*\" for tags) to a list of templates")]
    Shape,
    /// One template cannot be used.
    #[error("template {template:?} for {content_type:?}: {problem}")]
    Template {
        /// The content type it is given for.
        content_type: String,
        /// The template as written.
        template: String,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Text(String),
    Field(String),
}

/// One path template, parsed: text and `{field}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

impl Template {
    fn parse(source: &str) -> Result<Template, &'static str> {
        if !source.starts_with('/') {
            return Err("must start with '/'");
        }
        if source.find('*').is_some_and(|i| i != source.len() - 1) {
            return Err("'*' may only be the last character");
        }
        Ok(Template { source: source.to_string(), parts: parse_parts(source)? })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    fn fields(&self) -> impl Iterator<Item = &str> {
        field_names(&self.parts)
    }

    /// The static text before the first placeholder, as a wildcard.
    fn fallback(&self) -> String {
        match self.parts.first() {
            Some(Part::Text(t)) => format!("{}*", t.trim_end_matches('*')),
            _ => "/*".to_string(),
        }
    }

    fn render_with(&self, value_of: impl FnMut(&str) -> Option<String>) -> Option<String> {
        render_parts(&self.parts, paths::encode_value, value_of)
    }
}

/// Splits a template into text and `{field}` placeholders (shared with the
/// tag templates of [`crate::tags`]).
pub(crate) fn parse_parts(source: &str) -> Result<Vec<Part>, &'static str> {
    let mut parts = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').ok_or("has a '{' without '}'")? + open;
        let name = &rest[open + 1..close];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
            return Err("placeholders are {field} or {sys.id}");
        }
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_string()));
        }
        parts.push(Part::Field(name.to_string()));
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err("has a '}' without '{'");
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_string()));
    }
    Ok(parts)
}

/// The placeholders' field names, in order.
pub(crate) fn field_names(parts: &[Part]) -> impl Iterator<Item = &str> {
    parts.iter().filter_map(|p| match p {
        Part::Field(f) => Some(f.as_str()),
        Part::Text(_) => None,
    })
}

/// Puts each placeholder's value, passed through `encode`, between the text;
/// `None` when a field has no value.
pub(crate) fn render_parts(
    parts: &[Part],
    encode: impl Fn(&str) -> String,
    mut value_of: impl FnMut(&str) -> Option<String>,
) -> Option<String> {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Field(f) => out.push_str(&encode(&value_of(f)?)),
        }
    }
    Some(out)
}

/// The paths an entry maps to, and why any template fell back to a wildcard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// The rendered paths.
    pub paths: Vec<String>,
    /// Why a template fell back to its wildcard.
    pub fallbacks: Vec<String>,
    /// The wildcards among `paths` that stand in for templates whose fields
    /// are missing (what path memory may replace with exact paths).
    pub wildcards: Vec<String>,
}

/// A rules setting read as JSON: content type → list of templates, each
/// parsed by `parse`. The one shape `PATH_RULES` and `TAG_RULES` share.
pub(crate) fn templates_by_type<T>(
    json: &str,
    parse: impl Fn(&str) -> Result<T, &'static str>,
) -> Result<Vec<(String, Vec<T>)>, RulesError> {
    let value: Value = serde_json::from_str(json).map_err(|e| RulesError::Json(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(RulesError::Shape);
    };
    let mut out = Vec::with_capacity(map.len());
    for (content_type, list) in map {
        let Value::Array(items) = list else {
            return Err(RulesError::Shape);
        };
        let mut templates = Vec::with_capacity(items.len());
        for item in items {
            let Value::String(source) = item else {
                return Err(RulesError::Shape);
            };
            let template = parse(&source).map_err(|problem| RulesError::Template {
                content_type: content_type.clone(),
                template: source.clone(),
                problem,
            })?;
            templates.push(template);
        }
        out.push((content_type, templates));
    }
    Ok(out)
}

/// `PATH_RULES`, parsed: templates by content type, and the `always` paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathRules {
    by_type: BTreeMap<String, Vec<Template>>,
    always: Vec<String>,
}

impl PathRules {
    /// Parses `PATH_RULES`.
    pub fn parse(json: &str) -> Result<PathRules, RulesError> {
        let mut rules = PathRules::default();
        for (content_type, templates) in templates_by_type(json, Template::parse)? {
            if content_type == "always" {
                for t in &templates {
                    if t.fields().next().is_some() {
                        return Err(RulesError::Template {
                            content_type,
                            template: t.source.clone(),
                            problem: "'always' paths cannot have placeholders",
                        });
                    }
                }
                rules.always = templates.into_iter().map(|t| t.source).collect();
            } else {
                rules.by_type.insert(content_type, templates);
            }
        }
        Ok(rules)
    }

    /// Paths invalidated on every change.
    pub fn always(&self) -> &[String] {
        &self.always
    }

    /// Every template's fallback wildcard, for an entry of unknown content type.
    pub fn fallback_wildcards(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in self.by_type.values().flatten() {
            let w = t.fallback();
            if !out.contains(&w) {
                out.push(w);
            }
        }
        out
    }

    /// Whether any template is given for `content_type`.
    pub fn has_rule_for(&self, content_type: &str) -> bool {
        self.by_type.contains_key(content_type)
    }

    /// Renders every template of `content_type` over the entry's fields.
    pub fn render(&self, content_type: &str, entry_id: &str, fields: &Map<String, Value>) -> Rendered {
        let mut out = Rendered::default();
        for template in self.by_type.get(content_type).into_iter().flatten() {
            let locales = locales_of(template.fields(), fields);
            let mut rendered_any = false;
            for locale in &locales {
                let value_of = |name: &str| field_value(name, entry_id, fields, locale.as_deref());
                if let Some(p) = template.render_with(value_of) {
                    if !out.paths.contains(&p) {
                        out.paths.push(p);
                    }
                    rendered_any = true;
                }
            }
            if !rendered_any {
                if !out.paths.contains(&template.fallback()) {
                    out.paths.push(template.fallback());
                    out.wildcards.push(template.fallback());
                }
                out.fallbacks.push(format!(
                    "{content_type} {entry_id}: fields of {} missing, used {}",
                    template.source,
                    template.fallback()
                ));
            }
        }
        out
    }
}

/// The locales to render a template in: every locale any of its fields has, or
/// a single `None` for plain (non-localized) values.
pub(crate) fn locales_of<'a>(names: impl Iterator<Item = &'a str>, fields: &Map<String, Value>) -> Vec<Option<String>> {
    let mut locales: Vec<Option<String>> = Vec::new();
    for name in names {
        if let Some(Value::Object(by_locale)) = fields.get(name) {
            for locale in by_locale.keys() {
                if !locales.iter().any(|l| l.as_deref() == Some(locale)) {
                    locales.push(Some(locale.clone()));
                }
            }
        }
    }
    if locales.is_empty() {
        locales.push(None);
    }
    locales
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A field's value in `locale`; a field with a single locale (not localized in
/// the content model) serves every locale.
pub(crate) fn field_value(
    name: &str,
    entry_id: &str,
    fields: &Map<String, Value>,
    locale: Option<&str>,
) -> Option<String> {
    if name == "sys.id" {
        return Some(entry_id.to_string());
    }
    match (fields.get(name)?, locale) {
        (Value::Object(by_locale), Some(l)) => match by_locale.get(l) {
            Some(v) => scalar(v),
            None if by_locale.len() == 1 => by_locale.values().next().and_then(scalar),
            None => None,
        },
        (Value::Object(_), None) => None,
        (v, _) => scalar(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> PathRules {
        PathRules::parse(r#"{"page":["/{slug}","/{slug}/*"],"post":["/blog/{category}/{slug}"],"always":["/","/sitemap.xml"],"byId":["/e/{sys.id}"]}"#).unwrap()
    }

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn renders_plain_and_localized_fields() {
        let r = rules();
        let plain = r.render("page", "e1", &fields(json!({"slug": "about"})));
        assert_eq!(plain.paths, ["/about", "/about/*"]);
        let localized = r.render("page", "e1", &fields(json!({"slug": {"en-US": "about", "de": "ueber-uns"}})));
        assert_eq!(localized.paths, ["/ueber-uns", "/about", "/ueber-uns/*", "/about/*"]);
        assert!(localized.fallbacks.is_empty());
    }

    #[test]
    fn a_single_locale_field_serves_every_locale() {
        let r = rules();
        let f = fields(json!({"category": {"en-US": "news"}, "slug": {"en-US": "hi", "fr": "salut"}}));
        assert_eq!(r.render("post", "e", &f).paths, ["/blog/news/hi", "/blog/news/salut"]);
    }

    #[test]
    fn values_are_encoded_and_sys_id_works() {
        let r = rules();
        assert_eq!(r.render("page", "e", &fields(json!({"slug": "a b/é"}))).paths[0], "/a%20b/%C3%A9");
        assert_eq!(r.render("byId", "abc123", &Map::new()).paths, ["/e/abc123"]);
    }

    #[test]
    fn missing_fields_fall_back_to_the_static_prefix() {
        let r = rules();
        let out = r.render("post", "e9", &Map::new());
        assert_eq!(out.paths, ["/blog/*"]);
        assert_eq!(out.fallbacks.len(), 1);
        assert!(out.fallbacks[0].contains("e9"));
        assert_eq!(r.render("page", "e", &Map::new()).paths, ["/*"]);
    }

    #[test]
    fn unknown_content_types_add_nothing_and_always_is_kept() {
        let r = rules();
        assert!(r.render("author", "e", &fields(json!({"slug": "x"}))).paths.is_empty());
        assert!(!r.has_rule_for("author"));
        assert_eq!(r.always(), ["/", "/sitemap.xml"]);
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        for bad in [
            r#"[]"#,
            r#"{"page": "/{slug}"}"#,
            r#"{"page": ["{slug}"]}"#,
            r#"{"page": ["/*/{slug}"]}"#,
            r#"{"page": ["/{slug"]}"#,
            r#"{"page": ["/{}"]}"#,
            r#"{"always": ["/{slug}"]}"#,
        ] {
            assert!(PathRules::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
