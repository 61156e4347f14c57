//! The page schema still holds during live editing: a change that makes the page invalid
//! is repaired (the offending values go back to their last valid state) rather than kept.

use kernel::error::FieldError;
use serde_json::Value;

/// Check the page JSON against the Studio page schema (structure and props; references to
/// components and collections are checked when the page is saved through Studio). Returns
/// the page's size as JSON.
pub fn check(page: &Value) -> Result<usize, Vec<FieldError>> {
    studio::pages::document::validate_sized(page, "/document").map(|(_, size)| size)
}

/// `current` with the value at each faulty pointer put back as it was in `last_valid`
/// (or removed when it did not exist then). When that is not enough (a node whose `type`
/// is wrong), the repair climbs one level at a time, up to the whole document.
pub fn repair(current: &Value, last_valid: &Value, errors: &[FieldError]) -> Value {
    let mut fixed = current.clone();
    let mut errors = errors.to_vec();
    for climb in 0..=MAX_CLIMB {
        for e in &errors {
            let Some(pointer) = e.field.strip_prefix("/document") else { continue };
            let pointer = ancestor(pointer, climb);
            if pointer.is_empty() {
                return last_valid.clone();
            }
            match last_valid.pointer(pointer) {
                Some(previous) => {
                    if let Some(slot) = fixed.pointer_mut(pointer) {
                        *slot = previous.clone();
                    }
                }
                None => remove_at(&mut fixed, pointer),
            }
        }
        match check(&fixed) {
            Ok(_) => return fixed,
            Err(again) => errors = again,
        }
    }
    last_valid.clone()
}

const MAX_CLIMB: usize = 3;

/// `pointer` without its last `levels` segments.
fn ancestor(pointer: &str, levels: usize) -> &str {
    let mut p = pointer;
    for _ in 0..levels {
        p = p.rsplit_once('/').map_or("", |(parent, _)| parent);
    }
    p
}

fn remove_at(doc: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else { return };
    let key = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&key);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = key.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_invalid_prop_goes_back_to_its_last_valid_value_and_the_rest_stays() {
        let last = json!({"type": "page", "children": [{"type": "heading", "props": {"text": "Hi", "level": 1}}]});
        let now =
            json!({"type": "page", "children": [{"type": "heading", "props": {"text": "Hi there", "level": 99}}]});
        let errors = check(&now).expect_err("level 99 is invalid");
        let fixed = repair(&now, &last, &errors);
        assert_eq!(fixed["children"][0]["props"], json!({"text": "Hi there", "level": 1}));
        assert!(check(&fixed).is_ok());
    }

    #[test]
    fn an_invalid_new_node_is_removed() {
        let last = json!({"type": "page", "children": []});
        let now = json!({"type": "page", "children": [{"type": "marquee"}]});
        let errors = check(&now).expect_err("unknown type");
        let fixed = repair(&now, &last, &errors);
        assert!(check(&fixed).is_ok(), "{fixed}");
    }
}
