//! The page document as a Y.Doc, and back.
//!
//! The Studio page JSON is a tree of nodes `{type, id?, name?, props?, children?}`. In the
//! Y.Doc the root map `page` *is* the root node:
//!
//! | JSON                                    | Yjs                                   |
//! |-----------------------------------------|---------------------------------------|
//! | a node (object)                         | `Y.Map`                               |
//! | `type`, `id`, `name` of a node          | plain strings                         |
//! | `props`                                 | `Y.Map`                               |
//! | a string directly in `props`            | `Y.Text` (people type in it together) |
//! | `children`, any other array             | `Y.Array`                             |
//! | any other object                        | `Y.Map`                               |
//! | any other string, number, bool, null    | a plain value                         |
//!
//! Reading is generic (`Y.Text` → string, `Y.Map` → object, `Y.Array` → array), so a
//! client that stores a prop as a plain string is read the same. Writing a JSON document
//! into the Y.Doc ([`apply_json`]) changes only what differs: unchanged keys are left
//! alone, text is edited from its common prefix and suffix, array items are patched in
//! place, so editors' cursors survive a REST write.

use std::sync::Arc;

use serde_json::{Map as JsonMap, Value};
use yrs::types::ToJson;
use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, Doc, GetString, In, Map, MapPrelim, MapRef, Out, ReadTxn, Text, TextPrelim,
    TextRef, Transact, TransactionMut, WriteTxn,
};

/// The name of the root map holding the page's root node.
pub const ROOT: &str = "page";

/// A fresh document whose text offsets count UTF-16 units, as the JavaScript clients do.
pub fn new_doc() -> Doc {
    Doc::with_options(yrs::Options { offset_kind: yrs::OffsetKind::Utf16, ..yrs::Options::default() })
}

/// The page JSON the Y.Doc holds now.
pub fn to_json(doc: &Doc) -> Value {
    let txn = doc.transact();
    match txn.get_map(ROOT) {
        Some(root) => out_to_json(&txn, Out::YMap(root)),
        None => Value::Object(JsonMap::new()),
    }
}

fn any_to_json(any: &Any) -> Value {
    match any {
        Any::Null | Any::Undefined => Value::Null,
        Any::Bool(b) => Value::Bool(*b),
        // JavaScript has one number type: integral values are read back as integers so that
        // the page schema's integer props validate.
        Any::Number(n) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => match n {
                yrs::any::Number::Float(f) => {
                    serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null)
                }
                yrs::any::Number::Int(i) => Value::from(*i),
            },
        },
        Any::String(s) => Value::String(s.to_string()),
        Any::Buffer(b) => Value::Array(b.iter().map(|x| Value::from(*x)).collect()),
        Any::Array(items) => Value::Array(items.iter().map(any_to_json).collect()),
        Any::Map(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), any_to_json(v))).collect()),
    }
}

fn out_to_json<T: ReadTxn>(txn: &T, out: Out) -> Value {
    match out {
        Out::Any(any) => any_to_json(&any),
        Out::YText(text) => Value::String(text.get_string(txn)),
        Out::YArray(array) => Value::Array(array.iter(txn).map(|item| out_to_json(txn, item)).collect()),
        Out::YMap(map) => Value::Object(map.iter(txn).map(|(k, v)| (k.to_string(), out_to_json(txn, v))).collect()),
        other => any_to_json(&other.to_json(txn)),
    }
}

/// Where a value sits, which decides its Yjs type.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    /// A node: its `props` is a props map, its `children` hold nodes.
    Node,
    /// A node's `props`: strings are texts.
    Props,
    /// Anywhere else.
    Plain,
}

fn child_place(place: Place, key: &str) -> Place {
    match (place, key) {
        (Place::Node, "props") => Place::Props,
        (Place::Node, "children") => Place::Node,
        _ => Place::Plain,
    }
}

fn json_to_any(value: &Value) -> Any {
    match value {
        Value::Null => Any::Null,
        Value::Bool(b) => Any::Bool(*b),
        Value::Number(n) => Any::Number(match n.as_i64() {
            Some(i) => yrs::any::Number::Int(i),
            None => yrs::any::Number::try_i64(n.as_f64().unwrap_or(0.0)),
        }),
        Value::String(s) => Any::String(Arc::from(s.as_str())),
        Value::Array(items) => Any::Array(items.iter().map(json_to_any).collect::<Vec<_>>().into()),
        Value::Object(map) => Any::Map(Arc::new(map.iter().map(|(k, v)| (k.clone(), json_to_any(v))).collect())),
    }
}

/// The preliminary Yjs value for `value` at `place` (for a node's children, `place` is
/// the place of the items).
fn prelim(value: &Value, place: Place, in_props: bool) -> In {
    match value {
        Value::Object(map) => In::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), prelim(v, child_place(place, k), place == Place::Props)))
                .collect::<MapPrelim>(),
        ),
        Value::Array(items) => {
            In::Array(items.iter().map(|v| prelim(v, item_place(place), false)).collect::<ArrayPrelim>())
        }
        Value::String(s) if in_props => In::from(TextPrelim::new(s.as_str())),
        other => In::Any(json_to_any(other)),
    }
}

/// The place of an array's items: a node's children are nodes.
fn item_place(array_place: Place) -> Place {
    if array_place == Place::Node { Place::Node } else { Place::Plain }
}

/// Make the Y.Doc hold `page` (a page JSON object), changing only what differs.
pub fn apply_json(txn: &mut TransactionMut, page: &Value) {
    let root = txn.get_or_insert_map(ROOT);
    let empty = JsonMap::new();
    apply_map(txn, &root, page.as_object().unwrap_or(&empty), Place::Node);
}

fn apply_map(txn: &mut TransactionMut, map: &MapRef, want: &JsonMap<String, Value>, place: Place) {
    let stale: Vec<String> = map.keys(txn).filter(|k| !want.contains_key(*k)).map(str::to_string).collect();
    for key in stale {
        map.remove(txn, &key);
    }
    for (key, value) in want {
        let inner = child_place(place, key);
        let text = place == Place::Props;
        match (map.get(txn, key), value) {
            (Some(Out::YMap(child)), Value::Object(obj)) => apply_map(txn, &child, obj, inner),
            (Some(Out::YArray(child)), Value::Array(items)) => apply_array(txn, &child, items, item_place(inner)),
            (Some(Out::YText(child)), Value::String(s)) if text => apply_text(txn, &child, s),
            (Some(current), _) if !(text && value.is_string()) && out_to_json(txn, current.clone()) == *value => {}
            _ => {
                map.insert(txn, key.as_str(), prelim(value, inner, text));
            }
        }
    }
}

fn apply_array(txn: &mut TransactionMut, array: &ArrayRef, want: &[Value], place: Place) {
    let have: Vec<Value> = array.iter(txn).map(|item| out_to_json(txn, item)).collect();
    if have == want {
        return;
    }
    let prefix = have.iter().zip(want).take_while(|(a, b)| a == b).count();
    let suffix = have[prefix..].iter().rev().zip(want[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let (old, new) = (&have[prefix..have.len() - suffix], &want[prefix..want.len() - suffix]);
    if old.len() == new.len() {
        // Same shape: patch each changed item where it is (a node edited in place keeps its
        // identity, and with it other editors' concurrent edits inside it).
        for (i, value) in new.iter().enumerate() {
            let at = (prefix + i) as u32;
            match (array.get(txn, at), value) {
                (Some(Out::YMap(child)), Value::Object(obj)) => apply_map(txn, &child, obj, place),
                _ => {
                    array.remove(txn, at);
                    array.insert(txn, at, prelim(value, place, false));
                }
            }
        }
        return;
    }
    if !old.is_empty() {
        array.remove_range(txn, prefix as u32, old.len() as u32);
    }
    for (i, value) in new.iter().enumerate() {
        array.insert(txn, (prefix + i) as u32, prelim(value, place, false));
    }
}

/// Edit `text` into `want` by replacing what lies between the common prefix and suffix.
fn apply_text(txn: &mut TransactionMut, text: &TextRef, want: &str) {
    let have = text.get_string(txn);
    if have == want {
        return;
    }
    let (a, b): (Vec<char>, Vec<char>) = (have.chars().collect(), want.chars().collect());
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let utf16 = |chars: &[char]| chars.iter().map(|c| c.len_utf16() as u32).sum::<u32>();
    let start = utf16(&a[..prefix]);
    let removed = utf16(&a[prefix..a.len() - suffix]);
    if removed > 0 {
        text.remove_range(txn, start, removed);
    }
    let inserted: String = b[prefix..b.len() - suffix].iter().collect();
    if !inserted.is_empty() {
        text.insert(txn, start, &inserted);
    }
}

/// The update that turns `doc` into one holding `page`, applied to `doc` (empty when
/// nothing differs).
pub fn write_json(doc: &Doc, page: &Value) -> Vec<u8> {
    let mut txn = doc.transact_mut();
    apply_json(&mut txn, page);
    txn.encode_update_v1()
}

/// The client id of seed updates. Every process seeds a page the same way, byte for byte
/// (this client id, keys in sorted order), so two processes that seed one page at once
/// write the same items, which Yjs takes as one.
pub const SEED_CLIENT: u64 = 1;

/// The update that seeds an empty Y.Doc with `page` (a page never edited live).
pub fn seed_update(page: &Value) -> Vec<u8> {
    let doc = Doc::with_options(yrs::Options {
        client_id: yrs::block::ClientID::new(SEED_CLIENT),
        offset_kind: yrs::OffsetKind::Utf16,
        ..yrs::Options::default()
    });
    let mut txn = doc.transact_mut();
    let root = txn.get_or_insert_map(ROOT);
    if let Some(obj) = page.as_object() {
        fill_map(&mut txn, &root, obj, Place::Node);
    }
    txn.encode_update_v1()
}

fn sorted(obj: &JsonMap<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = obj.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

fn fill_map(txn: &mut TransactionMut, map: &MapRef, obj: &JsonMap<String, Value>, place: Place) {
    for (key, value) in sorted(obj) {
        let inner = child_place(place, key);
        match value {
            Value::Object(o) => {
                let child = map.insert(txn, key.as_str(), MapPrelim::default());
                fill_map(txn, &child, o, inner);
            }
            Value::Array(items) => {
                let child = map.insert(txn, key.as_str(), ArrayPrelim::default());
                fill_array(txn, &child, items, item_place(inner));
            }
            Value::String(text) if place == Place::Props => {
                map.insert(txn, key.as_str(), TextPrelim::new(text.as_str()));
            }
            other => {
                map.insert(txn, key.as_str(), json_to_any(other));
            }
        }
    }
}

fn fill_array(txn: &mut TransactionMut, array: &ArrayRef, items: &[Value], place: Place) {
    for (i, value) in items.iter().enumerate() {
        let at = i as u32;
        match value {
            Value::Object(o) => {
                let child = array.insert(txn, at, MapPrelim::default());
                fill_map(txn, &child, o, place);
            }
            Value::Array(inner) => {
                let child = array.insert(txn, at, ArrayPrelim::default());
                fill_array(txn, &child, inner, Place::Plain);
            }
            other => {
                array.insert(txn, at, json_to_any(other));
            }
        }
    }
}

/// A Y.Doc built from a page JSON (the seed of a page never edited live).
pub fn doc_from_json(page: &Value) -> Doc {
    let doc = new_doc();
    write_json(&doc, page);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use yrs::updates::decoder::Decode;
    use yrs::{StateVector, Update};

    fn sample() -> Value {
        json!({"type": "page", "props": {"title": "Home"}, "children": [
            {"type": "heading", "id": "h1", "props": {"text": "Hello", "level": 1}},
            {"type": "list", "props": {"collection": "posts", "fields": ["title", "body"]}},
            {"type": "section", "children": [{"type": "text", "props": {"text": "inner"}}]}
        ]})
    }

    fn replica(doc: &Doc) -> Doc {
        let copy = new_doc();
        let update = doc.transact().encode_state_as_update_v1(&StateVector::default());
        if let Ok(u) = Update::decode_v1(&update) {
            let _ = copy.transact_mut().apply_update(u);
        }
        copy
    }

    #[test]
    fn a_document_round_trips_with_texts_in_props() {
        let doc = doc_from_json(&sample());
        assert_eq!(to_json(&doc), sample());
        let txn = doc.transact();
        let root = txn.get_map(ROOT).expect("root");
        let Some(Out::YArray(children)) = root.get(&txn, "children") else { panic!("children is an array") };
        let Some(Out::YMap(heading)) = children.get(&txn, 0) else { panic!("a node is a map") };
        let Some(Out::YMap(props)) = heading.get(&txn, "props") else { panic!("props is a map") };
        assert!(matches!(props.get(&txn, "text"), Some(Out::YText(_))), "a prop string is a Y.Text");
        assert!(matches!(heading.get(&txn, "type"), Some(Out::Any(Any::String(_)))), "type stays a plain string");
        assert!(matches!(props.get(&txn, "level"), Some(Out::Any(Any::Number(_)))));
    }

    #[test]
    fn two_seeds_of_one_page_are_one() {
        let (a, b) = (seed_update(&sample()), seed_update(&sample()));
        assert_eq!(a, b, "byte for byte");
        let doc = new_doc();
        for u in [&a, &b] {
            doc.transact_mut().apply_update(Update::decode_v1(u).expect("decodes")).expect("applies");
        }
        assert_eq!(to_json(&doc), sample(), "applied twice, the page is there once");
    }

    #[test]
    fn writing_the_same_document_changes_nothing() {
        let doc = doc_from_json(&sample());
        let update = write_json(&doc, &sample());
        let decoded = Update::decode_v1(&update).expect("decodes");
        assert!(decoded.is_empty(), "no change, no update");
    }

    #[test]
    fn a_rest_write_merges_with_a_concurrent_text_edit() {
        let server = doc_from_json(&sample());
        let editor = replica(&server);
        // An editor types at the start of the heading while a REST write changes the end.
        let editor_update = {
            let mut txn = editor.transact_mut();
            let root = txn.get_or_insert_map(ROOT);
            let Some(Out::YArray(children)) = root.get(&txn, "children") else { panic!() };
            let Some(Out::YMap(heading)) = children.get(&txn, 0) else { panic!() };
            let Some(Out::YMap(props)) = heading.get(&txn, "props") else { panic!() };
            let Some(Out::YText(text)) = props.get(&txn, "text") else { panic!() };
            text.insert(&mut txn, 0, "Oh, ");
            txn.encode_update_v1()
        };
        let mut rest = sample();
        rest["children"][0]["props"]["text"] = json!("Hello world");
        rest["props"]["title"] = json!("Start");
        write_json(&server, &rest);
        server.transact_mut().apply_update(Update::decode_v1(&editor_update).expect("decodes")).expect("applies");
        let merged = to_json(&server);
        assert_eq!(merged["children"][0]["props"]["text"], "Oh, Hello world");
        assert_eq!(merged["props"]["title"], "Start");
        assert_eq!(merged["children"][1], sample()["children"][1], "untouched nodes are kept");
    }

    #[test]
    fn removed_keys_and_children_go_and_new_ones_come() {
        let doc = doc_from_json(&sample());
        let want = json!({"type": "page", "props": {}, "children": [
            {"type": "heading", "id": "h1", "props": {"text": "Hello", "level": 2}},
            {"type": "image", "props": {"src": "/a.png", "alt": "é😀"}}
        ]});
        write_json(&doc, &want);
        assert_eq!(to_json(&doc), want);
        // and text with characters outside the BMP is edited on UTF-16 offsets
        let mut again = want.clone();
        again["children"][1]["props"]["alt"] = json!("é😀!");
        write_json(&doc, &again);
        assert_eq!(to_json(&doc), again);
    }
}
