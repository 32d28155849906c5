//! DynamoDB's `ConditionExpression` on a write, as the DynamoDB stand-in
//! evaluates it against the item the write would replace: the functions
//! `attribute_exists(path)` and `attribute_not_exists(path)`, the comparisons
//! `path = :value` and `path <> :value`, joined by `AND` or `OR` (no
//! parentheses, `AND` binding tighter, as DynamoDB's precedence). Names may
//! be `#placeholders` from `ExpressionAttributeNames`, values are always
//! `:placeholders` from `ExpressionAttributeValues`. As DynamoDB: an
//! undefined or unused placeholder is a `ValidationException`, and a
//! condition that does not hold refuses the write with
//! `ConditionalCheckFailedException` ("The conditional request failed").

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Why a condition stops a write: DynamoDB's error kind and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionRefusal {
    pub kind: &'static str,
    pub message: String,
}

fn invalid(message: impl Into<String>) -> ConditionRefusal {
    ConditionRefusal { kind: "ValidationException", message: message.into() }
}

/// DynamoDB's answer when the condition does not hold.
pub fn failed() -> ConditionRefusal {
    ConditionRefusal { kind: "ConditionalCheckFailedException", message: "The conditional request failed".into() }
}

/// Checks the write `request`'s `ConditionExpression` (none: every write
/// goes) against `current`, the item it replaces (`None`: no item).
pub fn check(request: &Value, current: Option<&Map<String, Value>>) -> Result<(), ConditionRefusal> {
    let names = request["ExpressionAttributeNames"].as_object().cloned().unwrap_or_default();
    let values = request["ExpressionAttributeValues"].as_object().cloned().unwrap_or_default();
    let Some(expression) = request.get("ConditionExpression") else {
        if !names.is_empty() || !values.is_empty() {
            return Err(invalid(
                "ExpressionAttributeNames and ExpressionAttributeValues can only be specified when using expressions",
            ));
        }
        return Ok(());
    };
    let expression = expression.as_str().ok_or_else(|| invalid("ConditionExpression must be a string"))?;
    let mut used = Used::default();
    let mut any = false;
    for alternative in split_keyword(expression, "OR") {
        let mut all = true;
        for term in split_keyword(&alternative, "AND") {
            all &= term_holds(term.trim(), &names, &values, current, &mut used)?;
        }
        any |= all;
    }
    used.all_used(&names, &values)?;
    if any {
        Ok(())
    } else {
        Err(failed())
    }
}

/// The placeholders an expression used, for DynamoDB's "unused" refusal.
#[derive(Default)]
struct Used {
    names: BTreeSet<String>,
    values: BTreeSet<String>,
}

impl Used {
    fn all_used(&self, names: &Map<String, Value>, values: &Map<String, Value>) -> Result<(), ConditionRefusal> {
        if let Some(n) = names.keys().find(|n| !self.names.contains(*n)) {
            return Err(invalid(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{n}}}"
            )));
        }
        if let Some(v) = values.keys().find(|v| !self.values.contains(*v)) {
            return Err(invalid(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{v}}}"
            )));
        }
        Ok(())
    }
}

/// `text` split at the keyword standing alone (case-insensitive, as DynamoDB reads keywords).
fn split_keyword(text: &str, keyword: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    for word in text.split_whitespace() {
        if word.eq_ignore_ascii_case(keyword) {
            parts.push(String::new());
        } else {
            let last = parts.last_mut().expect("one part at least");
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    parts
}

fn term_holds(
    term: &str,
    names: &Map<String, Value>,
    values: &Map<String, Value>,
    current: Option<&Map<String, Value>>,
    used: &mut Used,
) -> Result<bool, ConditionRefusal> {
    let syntax = || invalid(format!("Invalid ConditionExpression: Syntax error; token: {term:?}"));
    if term.is_empty() {
        return Err(syntax());
    }
    let attribute = |name: &str, used: &mut Used| -> Result<Option<Value>, ConditionRefusal> {
        let name = name.trim();
        let resolved = if name.starts_with('#') {
            used.names.insert(name.to_string());
            names.get(name).and_then(Value::as_str).ok_or_else(|| {
                invalid(format!(
                    "Value provided in ExpressionAttributeNames unused in expressions or undefined: {name}"
                ))
            })?
        } else if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            name
        } else {
            return Err(syntax());
        };
        Ok(current.and_then(|item| item.get(resolved)).cloned())
    };
    for (function, wants) in [("attribute_exists", true), ("attribute_not_exists", false)] {
        if let Some(inner) = term.strip_prefix(function).map(str::trim_start) {
            let path = inner.strip_prefix('(').and_then(|r| r.strip_suffix(')')).ok_or_else(syntax)?;
            return Ok(attribute(path, used)?.is_some() == wants);
        }
    }
    for (operator, equal) in [("<>", false), ("=", true)] {
        if let Some((left, right)) = term.split_once(operator) {
            let placeholder = right.trim();
            if !placeholder.starts_with(':') {
                return Err(syntax());
            }
            used.values.insert(placeholder.to_string());
            let value = values.get(placeholder).ok_or_else(|| {
                invalid(format!(
                    "An expression attribute value used in expression is not defined; attribute value: {placeholder}"
                ))
            })?;
            let stored = attribute(left, used)?;
            // A missing attribute is neither equal nor unequal to a value.
            return Ok(stored.is_some_and(|s| (&s == value) == equal));
        }
    }
    Err(syntax())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(version: Option<u64>) -> Map<String, Value> {
        let mut item = json!({"pk": {"S": "p"}, "sk": {"S": "s"}}).as_object().unwrap().clone();
        if let Some(v) = version {
            item.insert("version".into(), json!({"N": v.to_string()}));
        }
        item
    }

    fn versioned(expression: &str, at: u64) -> Value {
        json!({"ConditionExpression": expression, "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":v": {"N": at.to_string()}}})
    }

    #[test]
    fn a_version_check_holds_only_on_the_version_read() {
        assert_eq!(check(&versioned("#v = :v", 3), Some(&item(Some(3)))), Ok(()));
        assert_eq!(check(&versioned("#v = :v", 3), Some(&item(Some(4)))), Err(failed()));
        assert_eq!(check(&versioned("#v = :v", 3), None), Err(failed()), "no item, no version");
        assert_eq!(check(&versioned("#v <> :v", 3), Some(&item(Some(4)))), Ok(()));
    }

    #[test]
    fn attribute_not_exists_holds_for_no_item_and_for_an_item_without_the_attribute() {
        let request =
            json!({"ConditionExpression": "attribute_not_exists(#v)", "ExpressionAttributeNames": {"#v": "version"}});
        assert_eq!(check(&request, None), Ok(()));
        assert_eq!(check(&request, Some(&item(None))), Ok(()));
        assert_eq!(check(&request, Some(&item(Some(1)))), Err(failed()));
        let either = versioned("attribute_not_exists(#v) OR #v = :v", 1);
        assert_eq!(check(&either, Some(&item(Some(1)))), Ok(()));
        assert_eq!(check(&either, Some(&item(Some(2)))), Err(failed()));
        let both = versioned("attribute_exists(pk) AND #v = :v", 1);
        assert_eq!(check(&both, Some(&item(Some(1)))), Ok(()));
    }

    #[test]
    fn bad_expressions_and_placeholders_are_validation_errors() {
        let kind = |request: Value| check(&request, Some(&item(Some(1)))).unwrap_err().kind;
        assert_eq!(kind(json!({"ConditionExpression": "version == 1"})), "ValidationException");
        assert_eq!(kind(json!({"ConditionExpression": "#v = :v"})), "ValidationException", "undefined");
        assert_eq!(kind(versioned("attribute_exists(pk)", 1)), "ValidationException", "unused");
        assert_eq!(kind(json!({"ExpressionAttributeValues": {":v": {"N": "1"}}})), "ValidationException");
        assert_eq!(check(&json!({}), None), Ok(()), "no condition");
    }
}
