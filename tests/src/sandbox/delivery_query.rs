//! The Delivery API's collection query parameters as Contentful reads them,
//! for the stand-in: `locale` (`*` keeps `{field: {locale: value}}`, a code
//! gives plain values in that locale, falling back to the default locale),
//! `select` (only the listed `sys.x` / `fields.x` paths), `order` (keys
//! comma-separated, `-` for descending), `skip`, and `limit` (at most 1000:
//! more is a 400, not capped).

use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The Delivery API's largest page.
pub const MAX_LIMIT: usize = 1000;

/// The parameters that shape an answer (the filters are the stand-in's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// `None` is every locale (`locale=*`); `Some(code)` plain values in it.
    pub locale: Option<String>,
    pub select: Option<Vec<String>>,
    /// `(path, descending)`.
    pub order: Vec<(String, bool)>,
    pub skip: usize,
    pub limit: usize,
}

/// Why a query is refused: the error id (`BadRequest`, `InvalidQuery`) and message.
pub type Refusal = (&'static str, String);

fn number(q: &BTreeMap<String, String>, name: &str, default: usize) -> Result<usize, Refusal> {
    match q.get(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ("BadRequest", format!("{name} must be a non-negative integer, got {v:?}"))),
    }
}

/// Reads the shaping parameters; `default_locale` answers when none is asked,
/// `locales` are the codes that exist.
pub fn parse(q: &BTreeMap<String, String>, default_locale: &str, locales: &[String]) -> Result<Shape, Refusal> {
    let limit = number(q, "limit", 100)?;
    if limit > MAX_LIMIT {
        return Err(("BadRequest", format!("The limit parameter must be at most {MAX_LIMIT}, got {limit}.")));
    }
    let skip = number(q, "skip", 0)?;
    let locale = match q.get("locale").map(String::as_str) {
        Some("*") => None,
        Some(code) if locales.iter().any(|l| l == code) => Some(code.to_string()),
        Some(code) => return Err(("BadRequest", format!("Unknown locale: {code}"))),
        None => Some(default_locale.to_string()),
    };
    let select = match q.get("select") {
        None => None,
        Some(list) => {
            let paths: Vec<String> = list.split(',').map(|p| p.trim().to_string()).collect();
            if let Some(bad) = paths.iter().find(|p| !valid_select(p)) {
                return Err(("InvalidQuery", format!("select {bad:?}: a path is sys, fields, sys.x or fields.x")));
            }
            Some(paths)
        }
    };
    let mut order = Vec::new();
    for key in q.get("order").map(|o| o.split(',').collect::<Vec<_>>()).unwrap_or_default() {
        let (path, descending) = key.strip_prefix('-').map_or((key, false), |k| (k, true));
        if !(path.starts_with("sys.") || path.starts_with("fields.")) || path.split('.').count() != 2 {
            return Err(("InvalidQuery", format!("order {key:?}: order by sys.x or fields.x")));
        }
        order.push((path.to_string(), descending));
    }
    Ok(Shape { locale, select, order, skip, limit })
}

fn valid_select(path: &str) -> bool {
    let parts: Vec<&str> = path.split('.').collect();
    matches!(parts[..], ["sys" | "fields"] | ["sys" | "fields", _]) && parts.iter().all(|p| !p.is_empty())
}

/// The item's fields in the asked locale (the stored form is every locale).
pub fn localize(item: &mut Value, locale: Option<&str>, default_locale: &str) {
    let (Some(code), Some(fields)) = (locale, item.get_mut("fields").and_then(Value::as_object_mut)) else {
        return;
    };
    let plain: Map<String, Value> = fields
        .iter()
        .filter_map(|(name, by_locale)| {
            let value = by_locale.get(code).or_else(|| by_locale.get(default_locale))?;
            Some((name.clone(), value.clone()))
        })
        .collect();
    *fields = plain;
}

/// Keeps only the selected paths of `item`.
pub fn select(item: &Value, paths: &[String]) -> Value {
    let mut out = Map::new();
    for path in paths {
        let mut parts = path.split('.');
        let top = parts.next().unwrap_or_default();
        let Some(value) = item.get(top) else { continue };
        match parts.next() {
            None => {
                out.insert(top.to_string(), value.clone());
            }
            Some(key) => {
                if let Some(v) = value.get(key) {
                    let slot = out.entry(top.to_string()).or_insert_with(|| Value::Object(Map::new()));
                    if let Some(slot) = slot.as_object_mut() {
                        slot.insert(key.to_string(), v.clone());
                    }
                }
            }
        }
    }
    Value::Object(out)
}

/// Sorts `items` by the order keys (as localized items: fields are plain or
/// per locale, compared as JSON text then).
pub fn sort(items: &mut [Value], order: &[(String, bool)]) {
    let key = |item: &Value, path: &str| {
        let (top, field) = path.split_once('.').unwrap_or((path, ""));
        item.get(top).and_then(|v| v.get(field)).cloned().unwrap_or(Value::Null)
    };
    items.sort_by(|a, b| {
        for (path, descending) in order {
            let ordering = compare(&key(a, path), &key(b, path));
            let ordering = if *descending { ordering.reverse() } else { ordering };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    });
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}
