//! Enough of JSON Patch (RFC 6902) and JSON Pointer (RFC 6901) to check a suggestion: `add`,
//! `remove`, `replace`, `move`, `copy` and `test`, applied to a copy.

use serde_json::Value;

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn tokens(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let rest = pointer.strip_prefix('/').ok_or_else(|| format!("{pointer:?} is not a JSON pointer"))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn parent<'a>(doc: &'a mut Value, path: &[String]) -> Result<&'a mut Value, String> {
    let mut at = doc;
    for token in path {
        at = match at {
            Value::Object(map) => map.get_mut(token).ok_or_else(|| format!("no member {token:?}"))?,
            Value::Array(items) => {
                let i: usize = token.parse().map_err(|_| format!("{token:?} is not an index"))?;
                items.get_mut(i).ok_or_else(|| format!("no item {i}"))?
            }
            _ => return Err(format!("{token:?} goes inside a scalar")),
        };
    }
    Ok(at)
}

fn get(doc: &Value, pointer: &str) -> Result<Value, String> {
    doc.pointer(pointer).cloned().ok_or_else(|| format!("nothing at {pointer:?}"))
}

fn add(doc: &mut Value, pointer: &str, value: Value) -> Result<(), String> {
    let mut path = tokens(pointer)?;
    let Some(last) = path.pop() else {
        *doc = value;
        return Ok(());
    };
    match parent(doc, &path)? {
        Value::Object(map) => {
            map.insert(last, value);
            Ok(())
        }
        Value::Array(items) => {
            let i = if last == "-" {
                items.len()
            } else {
                last.parse().map_err(|_| format!("{last:?} is not an index"))?
            };
            if i > items.len() {
                return Err(format!("index {i} is past the end"));
            }
            items.insert(i, value);
            Ok(())
        }
        _ => Err(format!("{pointer:?} is inside a scalar")),
    }
}

fn remove(doc: &mut Value, pointer: &str) -> Result<Value, String> {
    let mut path = tokens(pointer)?;
    let last = path.pop().ok_or("the whole document cannot be removed")?;
    match parent(doc, &path)? {
        Value::Object(map) => map.remove(&last).ok_or_else(|| format!("no member {last:?}")),
        Value::Array(items) => {
            let i: usize = last.parse().map_err(|_| format!("{last:?} is not an index"))?;
            if i >= items.len() {
                return Err(format!("no item {i}"));
            }
            Ok(items.remove(i))
        }
        _ => Err(format!("{pointer:?} is inside a scalar")),
    }
}

/// Apply `patch` (an array of operations) to a copy of `doc`.
pub fn apply(doc: &Value, patch: &Value) -> Result<Value, String> {
    let ops = patch.as_array().ok_or("a JSON Patch is an array of operations")?;
    let mut out = doc.clone();
    for (i, op) in ops.iter().enumerate() {
        let at = |e: String| format!("operation {i}: {e}");
        let path = op["path"].as_str().ok_or_else(|| at("no path".into()))?;
        match op["op"].as_str() {
            Some("add") => {
                add(&mut out, path, op.get("value").cloned().ok_or_else(|| at("no value".into()))?).map_err(at)?
            }
            Some("remove") => {
                remove(&mut out, path).map_err(at)?;
            }
            Some("replace") => {
                remove(&mut out, path).map_err(at)?;
                add(&mut out, path, op.get("value").cloned().ok_or_else(|| at("no value".into()))?).map_err(at)?;
            }
            Some("move") => {
                let from = op["from"].as_str().ok_or_else(|| at("no from".into()))?;
                let value = remove(&mut out, from).map_err(at)?;
                add(&mut out, path, value).map_err(at)?;
            }
            Some("copy") => {
                let from = op["from"].as_str().ok_or_else(|| at("no from".into()))?;
                let value = get(&out, from).map_err(at)?;
                add(&mut out, path, value).map_err(at)?;
            }
            Some("test") => {
                if get(&out, path).map_err(at)? != op["value"] {
                    return Err(at(format!("the value at {path:?} differs")));
                }
            }
            _ => return Err(at("op is add, remove, replace, move, copy or test".into())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patches_apply_as_rfc_6902_says() {
        let doc = json!({"type": "page", "children": [{"type": "text"}, {"type": "image"}], "a~b": 1});
        let patch = json!([
            {"op": "add", "path": "/children/1", "value": {"type": "heading"}},
            {"op": "replace", "path": "/type", "value": "section"},
            {"op": "remove", "path": "/a~0b"},
            {"op": "add", "path": "/children/-", "value": {"type": "button"}},
            {"op": "move", "from": "/children/0", "path": "/children/3"},
            {"op": "test", "path": "/children/0/type", "value": "heading"}
        ]);
        assert_eq!(
            apply(&doc, &patch),
            Ok(
                json!({"type": "section", "children": [{"type": "heading"}, {"type": "image"}, {"type": "button"}, {"type": "text"}]})
            )
        );
        assert!(apply(&doc, &json!([{"op": "remove", "path": "/children/9"}])).is_err());
        assert!(apply(&doc, &json!([{"op": "test", "path": "/type", "value": "x"}])).is_err());
        assert!(apply(&doc, &json!([{"op": "frobnicate", "path": "/type"}])).is_err());
        assert!(apply(&doc, &json!({"op": "add"})).is_err());
    }
}
