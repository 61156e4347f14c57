//! A placed component's props checked against its `props_schema`: the part of JSON Schema a
//! props form can produce (`type`, `enum`, `const`, `required`, `properties`,
//! `additionalProperties: false`, `items`, `minimum`/`maximum`, `minLength`/`maxLength`,
//! `minItems`/`maxItems`). Other keywords are not checked.

use kernel::FieldError;
use serde_json::{Map, Value};

/// Deeper props are not checked (a schema is data: it could nest without end).
const MAX_DEPTH: usize = 16;

/// Check `value` against `schema`; errors name the JSON pointer below `at`.
pub fn check(schema: &Value, value: &Value, at: &str, errors: &mut Vec<FieldError>) {
    check_at(schema, value, at, errors, 0);
}

fn check_at(schema: &Value, value: &Value, at: &str, errors: &mut Vec<FieldError>, depth: usize) {
    let Some(schema) = schema.as_object() else { return };
    if depth > MAX_DEPTH {
        return;
    }
    if let Some(expected) = schema.get("type")
        && !type_matches(expected, value)
    {
        errors.push(FieldError::new(at, "invalid_type", format!("must be {}", type_names(expected))));
        return;
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        errors.push(FieldError::new(at, "not_allowed", format!("must be one of {}", list.join(", "))));
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        errors.push(FieldError::new(at, "not_allowed", format!("must be {expected}")));
    }
    match value {
        Value::Object(object) => check_object(schema, object, at, errors, depth),
        Value::Array(items) => {
            bounds(schema, "minItems", "maxItems", items.len() as f64, "items", at, errors);
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check_at(item_schema, item, &format!("{at}/{i}"), errors, depth + 1);
                }
            }
        }
        Value::String(s) => {
            bounds(schema, "minLength", "maxLength", s.chars().count() as f64, "characters", at, errors)
        }
        Value::Number(n) => {
            if let Some(n) = n.as_f64() {
                bounds(schema, "minimum", "maximum", n, "", at, errors);
            }
        }
        _ => {}
    }
}

fn check_object(
    schema: &Map<String, Value>,
    object: &Map<String, Value>,
    at: &str,
    errors: &mut Vec<FieldError>,
    depth: usize,
) {
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(Value::Array(required)) = schema.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                errors.push(FieldError::new(
                    format!("{at}/{}", escape(name)),
                    "required",
                    format!("{name} is required"),
                ));
            }
        }
    }
    for (name, value) in object {
        let pointer = format!("{at}/{}", escape(name));
        match properties.and_then(|p| p.get(name)) {
            Some(property) => check_at(property, value, &pointer, errors, depth + 1),
            None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                errors.push(FieldError::new(pointer, "unknown_prop", format!("the component has no prop {name:?}")))
            }
            None => {}
        }
    }
}

/// `minimum`/`maximum` and the like: `unit` words the message (empty for plain numbers).
fn bounds(
    schema: &Map<String, Value>,
    low: &str,
    high: &str,
    n: f64,
    unit: &str,
    at: &str,
    errors: &mut Vec<FieldError>,
) {
    let unit = if unit.is_empty() { String::new() } else { format!(" {unit}") };
    if let Some(min) = schema.get(low).and_then(Value::as_f64)
        && n < min
    {
        errors.push(FieldError::new(at, "out_of_range", format!("must be at least {min}{unit}")));
    }
    if let Some(max) = schema.get(high).and_then(Value::as_f64)
        && n > max
    {
        errors.push(FieldError::new(at, "out_of_range", format!("must be at most {max}{unit}")));
    }
}

fn type_matches(expected: &Value, value: &Value) -> bool {
    match expected {
        Value::String(t) => one_type_matches(t, value),
        Value::Array(types) => types.iter().filter_map(Value::as_str).any(|t| one_type_matches(t, value)),
        _ => true,
    }
}

fn one_type_matches(t: &str, value: &Value) -> bool {
    match t {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.as_f64().is_some_and(|n| n.fract() == 0.0),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        // An unknown type name is the schema's problem, not the page's.
        _ => true,
    }
}

fn type_names(expected: &Value) -> String {
    match expected {
        Value::Array(types) => {
            let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            format!("one of {}", names.join(", "))
        }
        other => other.as_str().unwrap_or("of the schema's type").to_string(),
    }
}

/// A JSON pointer token (RFC 6901).
fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    fn errors(schema: serde_json::Value, value: serde_json::Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        super::check(&schema, &value, "/p", &mut out);
        out.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn props_follow_the_schema() {
        let schema = json!({"type": "object", "required": ["title"], "additionalProperties": false, "properties": {
            "title": {"type": "string", "maxLength": 5},
            "count": {"type": "integer", "minimum": 1},
            "tone": {"enum": ["light", "dark"]},
            "links": {"type": "array", "maxItems": 1, "items": {"type": "object", "properties": {"url": {"type": "string"}}}}
        }});
        assert!(
            errors(schema.clone(), json!({"title": "Hi", "count": 2, "tone": "dark", "links": [{"url": "/"}]}))
                .is_empty()
        );
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        assert_eq!(errors(schema.clone(), json!({"count": 2})), pairs(&[("/p/title", "required")]));
        assert_eq!(
            errors(schema.clone(), json!({"title": "Too long", "count": 1.5, "tone": "grey", "x/y": 1})),
            // In key order: props are a JSON object.
            pairs(&[
                ("/p/count", "invalid_type"),
                ("/p/title", "out_of_range"),
                ("/p/tone", "not_allowed"),
                ("/p/x~1y", "unknown_prop"),
            ])
        );
        assert_eq!(
            errors(schema, json!({"title": "a", "links": [{"url": 3}, {}]})),
            pairs(&[("/p/links", "out_of_range"), ("/p/links/0/url", "invalid_type")])
        );
    }

    #[test]
    fn unknown_keywords_and_types_are_not_held_against_the_page() {
        assert!(
            errors(
                json!({"type": "object", "format": "whatever", "properties": {"a": {"type": "uuid"}}}),
                json!({"a": 1})
            )
            .is_empty()
        );
        assert_eq!(errors(json!({"type": ["string", "null"]}), json!(3)).len(), 1);
        assert!(errors(json!({"type": ["string", "null"]}), json!(null)).is_empty());
    }
}
