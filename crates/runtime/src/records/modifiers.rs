//! PocketBase's field modifiers in a create or update body, applied before validation:
//!
//! - number: `views+` adds to the number, `views-` subtracts from it;
//! - select and relation: `tags+` appends values (one or a list), `+tags` prepends them,
//!   `tags-` removes them; on a single-value field the result's one value is kept.
//!
//! The base is the value the body sets for the field, else the record's, else the field's
//! zero. The modifier key leaves the body. File fields' modifiers are the files module's
//! (they come with uploads); keys that name no field stay, ignored as unknown keys are.

use collections::model::{Collection, FieldKind};
use serde_json::{Map, Value};

enum Op {
    Append,
    Prepend,
    Remove,
}

fn parse(key: &str) -> Option<(&str, Op)> {
    if key.len() < 2 {
        return None;
    }
    if let Some(name) = key.strip_suffix('+') {
        Some((name, Op::Append))
    } else if let Some(name) = key.strip_suffix('-') {
        Some((name, Op::Remove))
    } else {
        key.strip_prefix('+').map(|name| (name, Op::Prepend))
    }
}

/// `body` with its modifiers applied over `existing`: borrowed as it is when it names none
/// (the common case, kept free of a copy on every write).
pub fn applied<'a>(
    c: &Collection,
    body: &'a Map<String, Value>,
    existing: Option<&Map<String, Value>>,
) -> std::borrow::Cow<'a, Map<String, Value>> {
    if !body.keys().any(|k| parse(k).is_some_and(|(name, _)| c.field(name).is_some())) {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut body = body.clone();
    apply(c, &mut body, existing);
    std::borrow::Cow::Owned(body)
}

/// Apply the modifiers of `body` (see the module's documentation) over `existing`.
fn apply(c: &Collection, body: &mut Map<String, Value>, existing: Option<&Map<String, Value>>) {
    let keys: Vec<String> = body.keys().filter(|k| parse(k).is_some()).cloned().collect();
    for key in keys {
        let Some((name, op)) = parse(&key) else { continue };
        let Some(field) =
            c.field(name).filter(|f| matches!(f.kind, FieldKind::Number | FieldKind::Select | FieldKind::Relation))
        else {
            continue;
        };
        let Some(given) = body.remove(&key) else { continue };
        let base = body
            .get(name)
            .or_else(|| existing.and_then(|e| e.get(name)))
            .cloned()
            .unwrap_or_else(|| collections::rows::zero(field));
        let value = match field.kind {
            FieldKind::Number => {
                let (Some(base), Some(delta)) = (number(&base), number(&given)) else {
                    // Not numbers: validation says so about the value the body gives.
                    body.insert(name.to_string(), given);
                    continue;
                };
                let result = match op {
                    Op::Append => base + delta,
                    Op::Remove => base - delta,
                    // `+views` is no number modifier.
                    Op::Prepend => continue,
                };
                if result.fract() == 0.0 && result.abs() < 9_007_199_254_740_992.0 {
                    Value::from(result as i64)
                } else {
                    serde_json::Number::from_f64(result).map_or(Value::Null, Value::Number)
                }
            }
            _ => {
                let current = strings(&base);
                let named = strings(&given);
                let mut values: Vec<String> = match op {
                    Op::Append => current.into_iter().chain(named).collect(),
                    Op::Prepend => named.into_iter().chain(current).collect(),
                    Op::Remove => current.into_iter().filter(|v| !named.contains(v)).collect(),
                };
                let mut seen = std::collections::HashSet::new();
                values.retain(|v| seen.insert(v.clone()));
                if field.multiple() {
                    Value::Array(values.into_iter().map(Value::String).collect())
                } else {
                    // One value held: the last one added (or what is left).
                    Value::String(values.pop().unwrap_or_default())
                }
            }
        };
        body.insert(name.to_string(), value);
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s.trim().is_empty() => Some(0.0),
        Value::String(s) => s.trim().parse().ok(),
        Value::Null => Some(0.0),
        _ => None,
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn posts() -> Collection {
        let definition = json!({"name": "posts", "type": "base", "fields": [
            {"name": "views", "type": "number"},
            {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
            {"name": "status", "type": "select", "values": ["a", "b"], "maxSelect": 1},
            {"name": "title", "type": "text"}
        ]});
        collections::input::read(&definition, "c1").expect("collection")
    }

    fn applied(body: serde_json::Value, existing: serde_json::Value) -> serde_json::Value {
        let mut body = body.as_object().cloned().expect("object");
        apply(&posts(), &mut body, existing.as_object());
        Value::Object(body)
    }

    #[test]
    fn numbers_are_added_to_and_subtracted_from() {
        assert_eq!(applied(json!({"views+": 2}), json!({"views": 5})), json!({"views": 7}));
        assert_eq!(applied(json!({"views-": "1.5"}), json!({"views": 5})), json!({"views": 3.5}));
        assert_eq!(applied(json!({"views+": 1}), Value::Null), json!({"views": 1}));
        // Given beside the modifier, the body's value is the base.
        assert_eq!(applied(json!({"views": 10, "views+": 1}), json!({"views": 5})), json!({"views": 11}));
    }

    #[test]
    fn values_are_appended_prepended_and_removed_once_each() {
        let existing = json!({"tags": ["b"], "status": "a"});
        assert_eq!(applied(json!({"tags+": ["c", "b"]}), existing.clone()), json!({"tags": ["b", "c"]}));
        assert_eq!(applied(json!({"+tags": "a"}), existing.clone()), json!({"tags": ["a", "b"]}));
        assert_eq!(applied(json!({"tags-": ["b"]}), existing.clone()), json!({"tags": []}));
        assert_eq!(applied(json!({"status+": "b"}), existing.clone()), json!({"status": "b"}));
        assert_eq!(applied(json!({"status-": "a"}), existing), json!({"status": ""}));
    }

    #[test]
    fn other_keys_are_left_as_they_are() {
        let body = json!({"title+": "x", "unknown-": 1, "+": 2, "title": "t"});
        assert_eq!(applied(body.clone(), json!({"title": "old"})), body);
        // Without a modifier of a field, the body is not copied.
        let plain = json!({"title": "t", "unknown-": 1}).as_object().cloned().expect("object");
        assert!(matches!(super::applied(&posts(), &plain, None), std::borrow::Cow::Borrowed(_)));
    }
}
