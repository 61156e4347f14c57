//! What a batch of live edits touched, so that keystrokes in free text are checked by their
//! length instead of by materialising and validating the whole page.
//!
//! Materialising the page ([`crate::mapping::to_json`]) walks every item of every text,
//! deleted ones included: a text typed in for a while holds tens of thousands of them, and
//! doing it for every batch of edits took a sixth of the server's time under load (measured
//! with `perf` on `bench/collab.sh`). A deep observer on the root map records which shared
//! types each transaction changed. When every one of them is the `Y.Text` of a free-text
//! prop of a node (`studio::pages::document::free_text_prop`), and the page was valid
//! before, the page is still valid if each such text is within its limit (and not empty
//! when required) and the page within its size: all of which the texts' lengths tell. Any
//! other change (a node added, moved or removed, a prop set, a URL or a color typed) is
//! checked on the whole page as before.

use std::sync::{Arc, Mutex};

use studio::pages::document::{MAX_TEXT_CHARS, free_text_prop};
use yrs::types::{Event, Path, PathSegment};
use yrs::{Any, Array, DeepObservable, Doc, GetString, Map, MapRef, Out, ReadTxn, Text};

use crate::mapping::ROOT;

/// What the document's transactions changed since it was last taken.
#[derive(Default)]
pub struct Touched {
    /// Something other than a text's content changed.
    other: bool,
    /// The paths (from the root map) of the texts whose content changed.
    texts: Vec<Path>,
}

/// Texts a batch may touch and still be checked by their lengths.
const MAX_TEXTS: usize = 32;

/// The record a room's document keeps of its changes.
pub type Recorder = Arc<Mutex<Touched>>;

/// Start recording what `doc`'s transactions change.
pub fn observe(doc: &Doc) -> Recorder {
    let recorder = Recorder::default();
    let shared = recorder.clone();
    doc.get_or_insert_map(ROOT).observe_deep("socle-touched", move |_txn, events| {
        let Ok(mut touched) = shared.lock() else { return };
        for event in events.iter() {
            match event {
                // Past a few texts the whole page is checked anyway: the record stays small
                // however many transactions (another process's updates) pass before a batch.
                Event::Text(_) if touched.other || touched.texts.len() >= MAX_TEXTS => {
                    touched.other = true;
                    touched.texts.clear();
                }
                Event::Text(text) => touched.texts.push(text.path()),
                _ => {
                    touched.other = true;
                    touched.texts.clear();
                }
            }
        }
    });
    recorder
}

/// What was recorded since the last call (and forget it).
pub fn take(recorder: &Recorder) -> Touched {
    recorder.lock().map(|mut t| std::mem::take(&mut *t)).unwrap_or(Touched { other: true, texts: Vec::new() })
}

/// A free text an edit changed: where it is (a JSON pointer below the page) and the most
/// bytes it can take in the page JSON (each UTF-16 unit is at most 6 bytes once escaped).
pub struct TextLength {
    pub pointer: String,
    pub json_bytes: usize,
}

/// If `touched` changed only free texts, and each is still within its limits, those texts;
/// `None` when the whole page must be checked.
pub fn free_texts_within_limits<T: ReadTxn>(txn: &T, touched: Touched) -> Option<Vec<TextLength>> {
    if touched.other {
        return None;
    }
    let mut texts: Vec<TextLength> = Vec::with_capacity(touched.texts.len());
    for path in &touched.texts {
        let (pointer, text, required) = free_text_at(txn, path)?;
        if texts.iter().any(|t| t.pointer == pointer) {
            continue;
        }
        let units = text.len(txn) as usize;
        if units == 0 && required {
            return None;
        }
        // A character is one or two UTF-16 units: only a text with more units than the
        // limit allows characters is read to count them.
        if units > MAX_TEXT_CHARS && text.get_string(txn).chars().count() > MAX_TEXT_CHARS {
            return None;
        }
        texts.push(TextLength { pointer, json_bytes: units * 6 + 2 });
    }
    Some(texts)
}

/// The free-text prop at `path`, when `path` leads through nodes only (`children/N/…`) to
/// a node's `props/NAME`, that prop is free text for the node's type, and it is a `Y.Text`:
/// its JSON pointer, the text, and whether the prop is required.
fn free_text_at<T: ReadTxn>(txn: &T, path: &Path) -> Option<(String, yrs::TextRef, bool)> {
    let segments: Vec<&PathSegment> = path.iter().collect();
    if segments.len() < 2 || !segments.len().is_multiple_of(2) {
        return None;
    }
    let (nodes, prop) = segments.split_at(segments.len() - 2);
    let (PathSegment::Key(props), PathSegment::Key(name)) = (prop[0], prop[1]) else { return None };
    if &**props != "props" {
        return None;
    }
    let mut node: MapRef = txn.get_map(ROOT)?;
    let mut pointer = String::new();
    for step in nodes.chunks(2) {
        let (PathSegment::Key(children), PathSegment::Index(i)) = (step[0], step[1]) else { return None };
        if &**children != "children" {
            return None;
        }
        let Some(Out::YArray(array)) = node.get(txn, "children") else { return None };
        let Some(Out::YMap(child)) = array.get(txn, *i) else { return None };
        node = child;
        pointer.push_str("/children/");
        pointer.push_str(&i.to_string());
    }
    let Some(Out::Any(Any::String(kind))) = node.get(txn, "type") else { return None };
    let required = free_text_prop(&kind, name)?;
    let Some(Out::YMap(props)) = node.get(txn, "props") else { return None };
    let Some(Out::YText(text)) = props.get(txn, name) else { return None };
    pointer.push_str("/props/");
    pointer.push_str(name);
    Some((pointer, text, required))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping;
    use serde_json::json;
    use yrs::{Transact, WriteTxn};

    fn page() -> (Doc, Recorder) {
        let doc = mapping::new_doc();
        let page = json!({"type": "page", "children": [
            {"type": "heading", "props": {"text": "Hello", "level": 1}},
            {"type": "link", "props": {"text": "Docs", "href": "/docs"}}
        ]});
        let update = mapping::seed_update(&page);
        crate::store::apply(&doc, &update);
        let recorder = observe(&doc);
        (doc, recorder)
    }

    fn text(doc: &Doc, child: u32, prop: &str) -> Option<yrs::TextRef> {
        let txn = doc.transact();
        let Some(Out::YArray(children)) = txn.get_map(ROOT)?.get(&txn, "children") else { return None };
        let Some(Out::YMap(node)) = children.get(&txn, child) else { return None };
        let Some(Out::YMap(props)) = node.get(&txn, "props") else { return None };
        match props.get(&txn, prop) {
            Some(Out::YText(t)) => Some(t),
            _ => None,
        }
    }

    #[test]
    fn typing_in_a_heading_is_checked_by_length() {
        let (doc, recorder) = page();
        let heading = text(&doc, 0, "text").expect("the heading's text is a Y.Text");
        heading.insert(&mut doc.transact_mut(), 5, ", world");
        let texts = free_texts_within_limits(&doc.transact(), take(&recorder)).expect("a keystroke in free text");
        assert_eq!(texts.len(), 1);
        assert_eq!(texts[0].pointer, "/children/0/props/text");
        assert_eq!(texts[0].json_bytes, 12 * 6 + 2);
    }

    #[test]
    fn a_url_a_new_node_or_an_emptied_required_text_needs_the_whole_check() {
        let (doc, recorder) = page();
        let href = text(&doc, 1, "href").expect("the link's href is a Y.Text");
        href.insert(&mut doc.transact_mut(), 0, "javascript:");
        assert!(free_texts_within_limits(&doc.transact(), take(&recorder)).is_none(), "a URL is not free text");

        let heading = text(&doc, 0, "text").expect("heading");
        heading.remove_range(&mut doc.transact_mut(), 0, 5);
        assert!(free_texts_within_limits(&doc.transact(), take(&recorder)).is_none(), "a required text emptied");

        {
            let mut txn = doc.transact_mut();
            let root = txn.get_or_insert_map(ROOT);
            root.insert(&mut txn, "name", "renamed");
        }
        assert!(free_texts_within_limits(&doc.transact(), take(&recorder)).is_none(), "a node's key set");
    }

    #[test]
    fn a_text_past_its_limit_in_characters_needs_the_whole_check() {
        let (doc, recorder) = page();
        let heading = text(&doc, 0, "text").expect("heading");
        // 6,005 characters, 12,005 UTF-16 units (an emoji is two): within the limit, which
        // counts characters.
        heading.insert(&mut doc.transact_mut(), 0, &"😀".repeat(6_000));
        assert!(free_texts_within_limits(&doc.transact(), take(&recorder)).is_some());
        heading.insert(&mut doc.transact_mut(), 0, &"é".repeat(3_996));
        assert!(free_texts_within_limits(&doc.transact(), take(&recorder)).is_none(), "10,001 characters");
    }
}
