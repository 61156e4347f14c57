//! The page document: a JSON tree of components. One table below describes every built-in
//! component type and its props; the published JSON Schema and the validation on every
//! write are both derived from it, so they cannot disagree. Faults are reported with the
//! JSON pointer of the offending value.

use std::collections::BTreeSet;

use kernel::error::FieldError;
use serde_json::{Map, Value, json};

pub const MAX_DEPTH: usize = 32;
pub const MAX_NODES: usize = 5_000;
pub const MAX_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Copy)]
enum Prop {
    Text,
    Int(i64, i64),
    Bool,
    Choice(&'static [&'static str]),
    Spacing,
    Color,
    Url,
    TextList,
    Links,
    Object,
    /// A filter in the expression language.
    Filter,
}

struct Kind {
    name: &'static str,
    children: bool,
    props: &'static [(&'static str, Prop, bool)],
}

const SPACING: &[&str] = &["none", "xs", "sm", "md", "lg", "xl", "2xl"];
const COLORS: &[&str] =
    &["primary", "secondary", "accent", "surface", "muted", "text", "success", "warning", "danger", "transparent"];

/// Props every component takes: layout and style tokens.
const COMMON: &[(&str, Prop, bool)] = &[
    ("padding", Prop::Spacing, false),
    ("margin", Prop::Spacing, false),
    ("gap", Prop::Spacing, false),
    ("align", Prop::Choice(&["start", "center", "end", "stretch"]), false),
    ("justify", Prop::Choice(&["start", "center", "end", "between", "around"]), false),
    ("width", Prop::Choice(&["auto", "full", "1/2", "1/3", "2/3", "1/4", "3/4"]), false),
    ("text_align", Prop::Choice(&["left", "center", "right"]), false),
    ("color", Prop::Color, false),
    ("background", Prop::Color, false),
    ("radius", Prop::Choice(&["none", "sm", "md", "lg", "full"]), false),
    ("shadow", Prop::Choice(&["none", "sm", "md", "lg"]), false),
    ("class_name", Prop::Text, false),
    ("hidden", Prop::Bool, false),
];

const KINDS: &[Kind] = &[
    Kind { name: "page", children: true, props: &[("title", Prop::Text, false)] },
    Kind { name: "section", children: true, props: &[("anchor", Prop::Text, false)] },
    Kind {
        name: "container",
        children: true,
        props: &[("max_width", Prop::Choice(&["sm", "md", "lg", "xl", "full"]), false)],
    },
    Kind { name: "grid", children: true, props: &[("columns", Prop::Int(1, 12), true)] },
    Kind {
        name: "columns",
        children: true,
        props: &[("count", Prop::Int(1, 6), false), ("stack_on_mobile", Prop::Bool, false)],
    },
    Kind {
        name: "text",
        children: false,
        props: &[
            ("text", Prop::Text, true),
            ("variant", Prop::Choice(&["body", "small", "lead", "muted", "code"]), false),
        ],
    },
    Kind { name: "heading", children: false, props: &[("text", Prop::Text, true), ("level", Prop::Int(1, 6), false)] },
    Kind {
        name: "image",
        children: false,
        props: &[
            ("src", Prop::Url, true),
            ("alt", Prop::Text, false),
            ("fit", Prop::Choice(&["cover", "contain"]), false),
        ],
    },
    Kind {
        name: "button",
        children: false,
        props: &[
            ("label", Prop::Text, true),
            ("href", Prop::Url, false),
            ("action", Prop::Choice(&["link", "submit", "none"]), false),
            ("variant", Prop::Choice(&["primary", "secondary", "outline", "ghost", "danger"]), false),
        ],
    },
    Kind {
        name: "link",
        children: false,
        props: &[("label", Prop::Text, true), ("href", Prop::Url, true), ("new_tab", Prop::Bool, false)],
    },
    Kind {
        name: "form",
        children: true,
        props: &[
            ("collection", Prop::Text, true),
            ("mode", Prop::Choice(&["create", "update"]), false),
            ("submit_label", Prop::Text, false),
            ("success_message", Prop::Text, false),
        ],
    },
    Kind {
        name: "input",
        children: false,
        props: &[
            ("field", Prop::Text, true),
            ("label", Prop::Text, false),
            (
                "input_type",
                Prop::Choice(&[
                    "text", "email", "number", "password", "date", "checkbox", "select", "textarea", "file", "url",
                ]),
                false,
            ),
            ("placeholder", Prop::Text, false),
            ("required", Prop::Bool, false),
            ("options", Prop::TextList, false),
        ],
    },
    Kind {
        name: "list",
        children: true,
        props: &[
            ("collection", Prop::Text, true),
            ("filter", Prop::Filter, false),
            ("sort", Prop::Text, false),
            ("per_page", Prop::Int(1, 200), false),
            ("empty_text", Prop::Text, false),
        ],
    },
    Kind {
        name: "table",
        children: false,
        props: &[
            ("collection", Prop::Text, true),
            ("columns", Prop::TextList, false),
            ("filter", Prop::Filter, false),
            ("sort", Prop::Text, false),
            ("per_page", Prop::Int(1, 200), false),
        ],
    },
    Kind {
        name: "navbar",
        children: true,
        props: &[("brand", Prop::Text, false), ("links", Prop::Links, false), ("sticky", Prop::Bool, false)],
    },
    Kind { name: "footer", children: true, props: &[("text", Prop::Text, false), ("links", Prop::Links, false)] },
    Kind {
        name: "card",
        children: true,
        props: &[("title", Prop::Text, false), ("subtitle", Prop::Text, false), ("image", Prop::Url, false)],
    },
    Kind { name: "embed", children: false, props: &[("url", Prop::Url, true), ("height", Prop::Int(50, 4000), false)] },
    Kind { name: "component", children: false, props: &[("ref", Prop::Text, true), ("props", Prop::Object, false)] },
];

/// What a document refers to outside itself, checked by the caller against the database.
#[derive(Debug, Default)]
pub struct References {
    /// Component ids or names, with the pointer where each is used.
    pub components: Vec<(String, String)>,
    /// Collection names (forms, lists, tables), with their pointer and optional filter.
    pub collections: Vec<(String, String, Option<String>)>,
}

/// An empty page.
pub fn empty_document() -> Value {
    json!({"type": "page", "props": {}, "children": []})
}

/// The text a document shows (every string prop, in tree order), for moderation.
pub fn texts(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![doc];
    while let Some(node) = stack.pop() {
        if let Some(props) = node.get("props").and_then(Value::as_object) {
            out.extend(props.values().filter_map(Value::as_str).filter(|s| !s.trim().is_empty()).map(str::to_string));
        }
        if let Some(children) = node.get("children").and_then(Value::as_array) {
            stack.extend(children.iter().rev());
        }
    }
    out
}

/// The most characters (Unicode scalar values, as JSON Schema's `maxLength` counts them) a
/// free-text prop holds.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Whether prop `prop` of a `component_type` is free text (any string of at most
/// [`MAX_TEXT_CHARS`] characters), and whether it is required (then it may not be empty).
/// Live editing checks a keystroke in such a prop by its length alone.
pub fn free_text_prop(component_type: &str, prop: &str) -> Option<bool> {
    let kind = KINDS.iter().find(|k| k.name == component_type)?;
    kind.props
        .iter()
        .chain(COMMON)
        .find(|(name, _, _)| *name == prop)
        .and_then(|(_, kind, required)| matches!(kind, Prop::Text).then_some(*required))
}

/// Validate a whole document; `root` is the pointer prefix for errors (`/document`).
pub fn validate(doc: &Value, root: &str) -> Result<References, Vec<FieldError>> {
    validate_sized(doc, root).map(|(refs, _)| refs)
}

/// [`validate`], also returning the document's size as JSON (live editing keeps it to
/// bound the size of later keystrokes).
pub fn validate_sized(doc: &Value, root: &str) -> Result<(References, usize), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut refs = References::default();
    let size = encoded_len(doc);
    if size > MAX_BYTES {
        return Err(vec![FieldError::new(root, "too_large", format!("a document is at most {MAX_BYTES} bytes"))]);
    }
    let mut nodes = 0usize;
    node(doc, root, 1, &mut nodes, &mut errors, &mut refs);
    if nodes > MAX_NODES {
        errors.push(FieldError::new(root, "too_many_nodes", format!("a document has at most {MAX_NODES} components")));
    }
    if errors.is_empty() { Ok((refs, size)) } else { Err(errors) }
}

/// The length of `value` as JSON, counted rather than built.
pub fn encoded_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

fn node(v: &Value, at: &str, depth: usize, nodes: &mut usize, errors: &mut Vec<FieldError>, refs: &mut References) {
    *nodes += 1;
    if *nodes > MAX_NODES || errors.len() > 50 {
        return;
    }
    if depth > MAX_DEPTH {
        errors.push(FieldError::new(at, "too_deep", format!("components nest at most {MAX_DEPTH} levels")));
        return;
    }
    let Some(obj) = v.as_object() else {
        errors.push(FieldError::new(at, "invalid_type", "a component is an object with a type"));
        return;
    };
    for key in obj.keys() {
        if !matches!(key.as_str(), "id" | "type" | "props" | "children" | "name") {
            errors.push(FieldError::new(format!("{at}/{key}"), "unknown_key", format!("a component has no {key:?}")));
        }
    }
    if let Some(id) = obj.get("id")
        && !id.is_string()
    {
        errors.push(FieldError::new(format!("{at}/id"), "invalid_type", "id is a string"));
    }
    let Some(type_name) = obj.get("type").and_then(Value::as_str) else {
        errors.push(FieldError::new(format!("{at}/type"), "required", "a component needs a type"));
        return;
    };
    let Some(kind) = KINDS.iter().find(|k| k.name == type_name) else {
        errors.push(FieldError::new(
            format!("{at}/type"),
            "unknown_component",
            format!(
                "unknown component type {type_name:?}; known: {}",
                KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
            ),
        ));
        return;
    };
    let empty = Map::new();
    let props = match obj.get("props") {
        None => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => {
            errors.push(FieldError::new(format!("{at}/props"), "invalid_type", "props is an object"));
            &empty
        }
    };
    for (name, _, required) in kind.props.iter().chain(COMMON) {
        if *required && props.get(*name).is_none_or(|v| v.is_null() || v.as_str() == Some("")) {
            errors.push(FieldError::new(
                format!("{at}/props/{name}"),
                "required",
                format!("a {type_name} needs {name}"),
            ));
        }
    }
    for (name, value) in props {
        let pointer = format!("{at}/props/{name}");
        match kind.props.iter().chain(COMMON).find(|(n, _, _)| n == name) {
            None => {
                errors.push(FieldError::new(pointer, "unknown_prop", format!("a {type_name} has no prop {name:?}")))
            }
            Some((_, prop, _)) => {
                if let Err(message) = check_prop(*prop, value) {
                    errors.push(FieldError::new(pointer, "invalid_prop", message));
                }
            }
        }
    }
    match type_name {
        "component" => {
            if let Some(r) = props.get("ref").and_then(Value::as_str) {
                refs.components.push((r.to_string(), format!("{at}/props/ref")));
            }
        }
        "form" | "list" | "table" => {
            if let Some(c) = props.get("collection").and_then(Value::as_str) {
                let filter = props.get("filter").and_then(Value::as_str).map(str::to_string);
                refs.collections.push((c.to_string(), format!("{at}/props/collection"), filter));
            }
        }
        _ => {}
    }
    match obj.get("children") {
        None | Some(Value::Null) => {}
        Some(Value::Array(children)) if kind.children => {
            for (i, child) in children.iter().enumerate() {
                node(child, &format!("{at}/children/{i}"), depth + 1, nodes, errors, refs);
            }
        }
        Some(Value::Array(children)) if children.is_empty() => {}
        Some(Value::Array(_)) => errors.push(FieldError::new(
            format!("{at}/children"),
            "no_children",
            format!("a {type_name} has no children"),
        )),
        Some(_) => errors.push(FieldError::new(format!("{at}/children"), "invalid_type", "children is an array")),
    }
}

fn check_prop(prop: Prop, v: &Value) -> Result<(), String> {
    let is_color = |s: &str| {
        COLORS.contains(&s)
            || (s.len() == 7 || s.len() == 4) && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
    };
    match prop {
        Prop::Text => match v.as_str() {
            // Characters, as the published schema's `maxLength` says (bytes refused
            // multi-byte text the schema allows).
            Some(s) if s.len() <= MAX_TEXT_CHARS || s.chars().count() <= MAX_TEXT_CHARS => Ok(()),
            Some(_) => Err(format!("at most {MAX_TEXT_CHARS} characters")),
            None => Err("must be a string".into()),
        },
        Prop::Int(lo, hi) => match v.as_i64() {
            Some(n) if (lo..=hi).contains(&n) => Ok(()),
            _ => Err(format!("must be an integer from {lo} to {hi}")),
        },
        Prop::Bool => v.as_bool().map(|_| ()).ok_or_else(|| "must be true or false".into()),
        Prop::Choice(options) => match v.as_str() {
            Some(s) if options.contains(&s) => Ok(()),
            _ => Err(format!("must be one of {}", options.join(", "))),
        },
        Prop::Spacing => match v.as_str() {
            Some(s) if SPACING.contains(&s) => Ok(()),
            _ => Err(format!("must be a spacing token: {}", SPACING.join(", "))),
        },
        Prop::Color => match v.as_str() {
            Some(s) if is_color(s) => Ok(()),
            _ => Err(format!("must be a color token ({}) or #rgb/#rrggbb", COLORS.join(", "))),
        },
        Prop::Url => match v.as_str() {
            Some(s) if is_safe_url(s) => Ok(()),
            _ => Err("must be an http(s) URL or a path starting with /".into()),
        },
        Prop::TextList => match v.as_array() {
            Some(items) if items.len() <= 200 && items.iter().all(Value::is_string) => Ok(()),
            _ => Err("must be an array of strings".into()),
        },
        Prop::Links => match v.as_array() {
            Some(items)
                if items.len() <= 50
                    && items.iter().all(|l| {
                        l.get("label").is_some_and(Value::is_string)
                            && l.get("href").and_then(Value::as_str).is_some_and(is_safe_url)
                    }) =>
            {
                Ok(())
            }
            _ => Err("must be an array of {label, href}".into()),
        },
        Prop::Object => v.as_object().map(|_| ()).ok_or_else(|| "must be an object".into()),
        Prop::Filter => match v.as_str() {
            Some(s) => expr::parse(s).map(|_| ()).map_err(|e| format!("invalid filter: {e}")),
            None => Err("must be a filter string".into()),
        },
    }
}

/// No `javascript:` or `data:` URLs in a published page.
fn is_safe_url(s: &str) -> bool {
    let lower = s.trim().to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || (lower.starts_with('/') && !lower.starts_with("//"))
        || lower.starts_with('#')
}

/// The JSON Schema (2020-12) of a page document.
pub fn json_schema() -> Value {
    let prop_schema = |p: Prop| match p {
        Prop::Text => json!({"type": "string", "maxLength": MAX_TEXT_CHARS}),
        Prop::Int(lo, hi) => json!({"type": "integer", "minimum": lo, "maximum": hi}),
        Prop::Bool => json!({"type": "boolean"}),
        Prop::Choice(options) => json!({"enum": options}),
        Prop::Spacing => json!({"enum": SPACING}),
        Prop::Color => {
            json!({"anyOf": [{"enum": COLORS}, {"type": "string", "pattern": "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"}]})
        }
        Prop::Url => json!({"type": "string", "pattern": "^(https?://|/(?!/)|#)"}),
        Prop::TextList => json!({"type": "array", "items": {"type": "string"}, "maxItems": 200}),
        Prop::Links => {
            json!({"type": "array", "maxItems": 50, "items": {"type": "object", "required": ["label", "href"],
            "properties": {"label": {"type": "string"}, "href": {"type": "string", "pattern": "^(https?://|/(?!/)|#)"}}}})
        }
        Prop::Object => json!({"type": "object"}),
        Prop::Filter => json!({"type": "string", "description": "a filter in the expression language"}),
    };
    let mut defs = Map::new();
    let mut variants = Vec::new();
    for kind in KINDS {
        let mut properties = Map::new();
        let mut required = BTreeSet::new();
        for (name, prop, req) in kind.props.iter().chain(COMMON) {
            properties.insert((*name).into(), prop_schema(*prop));
            if *req {
                required.insert(*name);
            }
        }
        let mut node = json!({
            "type": "object",
            "required": ["type"],
            "additionalProperties": false,
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "type": {"const": kind.name},
                "props": {"type": "object", "additionalProperties": false, "properties": properties, "required": required},
            }
        });
        if kind.children
            && let Some(p) = node.get_mut("properties").and_then(Value::as_object_mut)
        {
            p.insert("children".into(), json!({"type": "array", "items": {"$ref": "#/$defs/node"}}));
        }
        defs.insert(kind.name.into(), node);
        variants.push(json!({"$ref": format!("#/$defs/{}", kind.name)}));
    }
    defs.insert("node".into(), json!({"oneOf": variants}));
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "/api/v1/studio/schema/page.json",
        "title": "Socle page document",
        "description": format!("A tree of components, at most {MAX_DEPTH} levels, {MAX_NODES} components and {MAX_BYTES} bytes."),
        "$ref": "#/$defs/node",
        "$defs": defs,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_size_is_counted_as_serde_json_writes_it() {
        let page = serde_json::json!({"type": "page", "children": [{"type": "text", "props": {"text": "é\"\n"}}]});
        assert_eq!(super::encoded_len(&page), serde_json::to_vec(&page).map(|v| v.len()).unwrap_or_default());
    }

    use super::*;

    #[test]
    fn faults_are_reported_by_pointer() {
        let doc = json!({"type": "page", "children": [
            {"type": "heading", "props": {"text": "Hi", "level": 9}},
            {"type": "marquee"},
            {"type": "text", "props": {}},
            {"type": "image", "props": {"src": "javascript:alert(1)"}},
            {"type": "text", "props": {"text": "x"}, "children": [{"type": "text", "props": {"text": "y"}}]},
            {"type": "list", "props": {"collection": "posts", "filter": "title = "}}
        ]});
        let errors = validate(&doc, "/document").expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for expected in [
            "/document/children/0/props/level",
            "/document/children/1/type",
            "/document/children/2/props/text",
            "/document/children/3/props/src",
            "/document/children/4/children",
            "/document/children/5/props/filter",
        ] {
            assert!(fields.contains(&expected), "{expected} missing from {fields:?}");
        }
    }

    #[test]
    fn limits_hold() {
        let mut deep = json!({"type": "text", "props": {"text": "leaf"}});
        for _ in 0..40 {
            deep = json!({"type": "section", "children": [deep]});
        }
        let errors = validate(&deep, "").expect_err("too deep");
        assert!(errors.iter().any(|e| e.code == "too_deep"));
        let ok = json!({"type": "page", "children": [{"type": "component", "props": {"ref": "hero", "props": {"x": 1}}},
            {"type": "form", "props": {"collection": "posts"}, "children": [{"type": "input", "props": {"field": "title"}}]}]});
        let refs = validate(&ok, "").expect("valid");
        assert_eq!(refs.components.len(), 1);
        assert_eq!(refs.collections.len(), 1);
        assert!(json_schema()["$defs"]["heading"]["properties"]["props"]["properties"]["level"]["maximum"] == 6);
    }
}
