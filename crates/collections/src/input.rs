//! Reading a collection definition (PocketBase's JSON, including the pre-0.23 `schema` with
//! nested `options`) into the model, and validating a project's whole schema: names,
//! options, relations, indexes, view queries and the five rules, each error naming its
//! field as a path (`fields.2.maxSelect`, `listRule`).

use std::collections::HashSet;
use std::sync::LazyLock;

use kernel::error::FieldError;
use regex_lite::Regex;
use serde_json::{Map, Value};

use crate::model::{Collection, CollectionType, Field, FieldKind, Index, MAX_FIELDS, MAX_INDEXES, MAX_NAME, Rules};

static NAME: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new("^[A-Za-z_][A-Za-z0-9_]*$").ok());
static INDEX_SQL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?is)^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s+ON\s+(\w+)\s*\(([^)]*)\)\s*$")
        .ok()
});
static VIEW_SQL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?is)^\s*SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.+?))?\s*;?\s*$").ok());

/// Names the record JSON uses for itself.
const RESERVED_FIELDS: [&str; 4] = ["expand", "collectionId", "collectionName", "_"];

pub fn is_name(s: &str) -> bool {
    s.len() <= MAX_NAME && NAME.as_ref().is_some_and(|r| r.is_match(s))
}

fn err(errors: &mut Vec<FieldError>, field: impl Into<String>, code: &str, message: impl Into<String>) {
    errors.push(FieldError::new(field, code, message));
}

/// Whether a PocketBase export entry is one of its own system collections (`_superusers`,
/// `_otps`, ...), which a Socle project does not need.
pub fn is_pocketbase_system(raw: &Value) -> bool {
    raw.get("system").and_then(Value::as_bool) == Some(true)
        && raw.get("name").and_then(Value::as_str).is_some_and(|n| n.starts_with('_'))
}

/// Read one definition. `id` is used when the input has none.
pub fn read(raw: &Value, id: &str) -> Result<Collection, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = raw.as_object() else {
        return Err(vec![FieldError::new("", "invalid_type", "a collection is a JSON object")]);
    };
    let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_string);
    let name = text("name").unwrap_or_default();
    let kind = match obj.get("type").and_then(Value::as_str).unwrap_or("base") {
        "base" => CollectionType::Base,
        "auth" => CollectionType::Auth,
        "view" => CollectionType::View,
        other => {
            err(&mut errors, "type", "invalid_value", format!("type must be base, auth or view, not {other:?}"));
            CollectionType::Base
        }
    };
    let raw_fields = obj.get("fields").or_else(|| obj.get("schema"));
    let mut fields = Vec::new();
    match raw_fields {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let mut item = item.clone();
                // PocketBase before 0.23 nested the type's options.
                if let Some(Value::Object(opts)) = item.as_object_mut().and_then(|o| o.remove("options"))
                    && let Some(o) = item.as_object_mut()
                {
                    for (k, v) in opts {
                        o.entry(k).or_insert(v);
                    }
                }
                match serde_json::from_value::<Field>(item) {
                    Ok(f) => fields.push(f),
                    Err(e) => err(&mut errors, format!("fields.{i}"), "invalid_field", e.to_string()),
                }
            }
        }
        Some(_) => err(&mut errors, "fields", "invalid_type", "fields must be an array"),
    }
    let mut indexes = Vec::new();
    match obj.get("indexes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match parse_index(item) {
                    Ok(index) => indexes.push(index),
                    Err(message) => err(&mut errors, format!("indexes.{i}"), "invalid_index", message),
                }
            }
        }
        Some(_) => err(&mut errors, "indexes", "invalid_type", "indexes must be an array"),
    }
    let mut rules = Rules::default();
    for (key, slot) in [
        ("listRule", &mut rules.list_rule),
        ("viewRule", &mut rules.view_rule),
        ("createRule", &mut rules.create_rule),
        ("updateRule", &mut rules.update_rule),
        ("deleteRule", &mut rules.delete_rule),
    ] {
        match obj.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => *slot = Some(s.clone()),
            Some(_) => err(&mut errors, key, "invalid_type", format!("{key} must be a string or null")),
        }
    }
    let known = [
        "id",
        "name",
        "type",
        "system",
        "fields",
        "schema",
        "indexes",
        "listRule",
        "viewRule",
        "createRule",
        "updateRule",
        "deleteRule",
        "viewQuery",
        "created",
        "updated",
        "options",
    ];
    let mut options: Map<String, Value> =
        obj.iter().filter(|(k, _)| !known.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Some(Value::Object(o)) = obj.get("options") {
        for (k, v) in o {
            options.entry(k.clone()).or_insert(v.clone());
        }
    }
    let mut collection = Collection {
        id: text("id").filter(|s| !s.is_empty()).unwrap_or_else(|| id.to_string()),
        name,
        kind,
        system: false,
        fields,
        indexes,
        rules,
        view_query: text("viewQuery"),
        options,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    add_system_fields(&mut collection);
    Ok(collection)
}

/// PocketBase's system fields, added when a definition leaves them out.
pub fn add_system_fields(c: &mut Collection) {
    let has = |c: &Collection, name: &str| c.fields.iter().any(|f| f.name == name);
    if !has(c, "id") {
        let mut id = Field::new("id", FieldKind::Text);
        id.system = true;
        id.required = true;
        id.min = Some(15.into());
        id.max = Some(15.into());
        id.pattern = Some("^[a-z0-9]+$".into());
        id.extra.insert("primaryKey".into(), true.into());
        id.extra.insert("autogeneratePattern".into(), "[a-z0-9]{15}".into());
        // Appended, not prepended, so that errors keep the input's field positions.
        c.fields.push(id);
    }
    if c.kind == CollectionType::Auth {
        let mut add = |name: &str, kind: FieldKind, setup: &dyn Fn(&mut Field)| {
            if !c.fields.iter().any(|f| f.name == name) {
                let mut f = Field::new(name, kind);
                f.system = true;
                setup(&mut f);
                c.fields.push(f);
            }
        };
        add("password", FieldKind::Password, &|f| {
            f.required = true;
            f.hidden = true;
            f.min = Some(8.into());
        });
        add("tokenKey", FieldKind::Text, &|f| {
            f.required = true;
            f.hidden = true;
            f.unique = true;
        });
        add("email", FieldKind::Email, &|f| {
            f.required = true;
            f.unique = true;
        });
        add("emailVisibility", FieldKind::Bool, &|_| {});
        add("verified", FieldKind::Bool, &|_| {});
    }
    if c.kind != CollectionType::View {
        for (name, on_update) in [("created", false), ("updated", true)] {
            if !c.fields.iter().any(|f| f.name == name) {
                let mut f = Field::new(name, FieldKind::Autodate);
                f.on_create = Some(true);
                f.on_update = Some(on_update);
                c.fields.push(f);
            }
        }
    }
    for f in &mut c.fields {
        if f.id.is_empty() {
            f.id = format!("{}{}", f.kind.as_str(), &kernel::ids::sha256_hex(&format!("{}/{}", c.id, f.name))[..10]);
        }
    }
}

fn parse_index(raw: &Value) -> Result<Index, String> {
    match raw {
        Value::String(sql) => {
            let cleaned: String = sql.chars().filter(|c| !matches!(c, '`' | '"' | '[' | ']')).collect();
            let re = INDEX_SQL.as_ref().ok_or("index parser unavailable")?;
            let caps = re
                .captures(&cleaned)
                .ok_or("expected CREATE [UNIQUE] INDEX name ON collection (field, ...); expressions and WHERE are not supported")?;
            let fields = caps
                .get(5)
                .map(|m| m.as_str())
                .unwrap_or_default()
                .split(',')
                .map(|c| c.split_whitespace().next().unwrap_or_default().to_string())
                .collect();
            Ok(Index {
                name: caps.get(3).map(|m| m.as_str().to_string()).unwrap_or_default(),
                fields,
                unique: caps.get(1).is_some(),
            })
        }
        Value::Object(_) => serde_json::from_value(raw.clone()).map_err(|e| e.to_string()),
        _ => Err("an index is a CREATE INDEX statement or {name, fields, unique}".into()),
    }
}

/// The parts of a view query: selected (field, alias) pairs or every field, the source
/// collection and an optional filter.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewQuery {
    pub columns: Option<Vec<(String, String)>>,
    pub source: String,
    pub filter: Option<String>,
}

pub fn parse_view_query(sql: &str) -> Result<ViewQuery, String> {
    let re = VIEW_SQL.as_ref().ok_or("view parser unavailable")?;
    let caps = re.captures(sql).ok_or("expected SELECT fields FROM collection [WHERE filter]")?;
    let list = caps.get(1).map(|m| m.as_str().trim()).unwrap_or("*");
    let columns = if list == "*" {
        None
    } else {
        let mut out = Vec::new();
        for part in list.split(',') {
            let words: Vec<&str> = part.split_whitespace().collect();
            let (field, alias) = match words.as_slice() {
                [f] => (*f, *f),
                [f, as_, a] if as_.eq_ignore_ascii_case("as") => (*f, *a),
                _ => return Err(format!("cannot read the selected column {:?}", part.trim())),
            };
            let field = field.strip_prefix("r.").unwrap_or(field);
            if !is_name(field) || !is_name(alias) {
                return Err(format!("{:?} is not a field name", part.trim()));
            }
            out.push((field.to_string(), alias.to_string()));
        }
        Some(out)
    };
    Ok(ViewQuery {
        columns,
        source: caps.get(2).map(|m| m.as_str().to_string()).unwrap_or_default(),
        filter: caps.get(3).map(|m| m.as_str().to_string()),
    })
}

/// The sign-in options PocketBase keeps on an auth collection (`otp`, `mfa`,
/// `passwordAuth`): objects of the right types, so that a typo is a 422 naming the key
/// rather than a setting silently ignored. `mfa.rule` is checked with the other rules.
fn validate_auth_options(c: &Collection, errors: &mut Vec<FieldError>) {
    const YEAR: i64 = 365 * 24 * 3600;
    for (section, ints) in
        [("otp", &[("duration", 1, YEAR), ("length", 4, 32)][..]), ("mfa", &[("duration", 1, YEAR)][..])]
    {
        let Some(value) = c.options.get(section) else { continue };
        let Some(obj) = value.as_object() else {
            err(errors, section, "invalid_type", format!("{section} must be an object"));
            continue;
        };
        if obj.get("enabled").is_some_and(|v| !v.is_boolean()) {
            err(errors, format!("{section}.enabled"), "invalid_type", "enabled must be true or false");
        }
        for (key, lo, hi) in ints {
            match obj.get(*key) {
                None | Some(Value::Null) => {}
                Some(v) if v.as_i64().is_some_and(|n| (*lo..=*hi).contains(&n)) => {}
                Some(_) => err(
                    errors,
                    format!("{section}.{key}"),
                    "out_of_range",
                    format!("{key} must be a whole number from {lo} to {hi}"),
                ),
            }
        }
        if section == "mfa" && obj.get("rule").is_some_and(|v| !v.is_string() && !v.is_null()) {
            err(errors, "mfa.rule", "invalid_type", "rule must be a string");
        }
    }
    if let Some(value) = c.options.get("oauth2") {
        let Some(obj) = value.as_object() else {
            err(errors, "oauth2", "invalid_type", "oauth2 must be an object");
            return;
        };
        if obj.get("enabled").is_some_and(|v| !v.is_boolean()) {
            err(errors, "oauth2.enabled", "invalid_type", "enabled must be true or false");
        }
        match obj.get("providers") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (i, p) in list.iter().enumerate() {
                    for key in ["name", "clientId"] {
                        if !p.get(key).and_then(Value::as_str).is_some_and(|s| !s.is_empty() && s.len() <= 255) {
                            err(
                                errors,
                                format!("oauth2.providers.{i}.{key}"),
                                "required",
                                format!("{key} is required"),
                            );
                        }
                    }
                    for key in ["authURL", "tokenURL", "userInfoURL"] {
                        if let Some(url) = p.get(key).filter(|v| !v.is_null())
                            && !url
                                .as_str()
                                .is_some_and(|u| u.is_empty() || u.starts_with("https://") || u.starts_with("http://"))
                        {
                            err(
                                errors,
                                format!("oauth2.providers.{i}.{key}"),
                                "invalid_format",
                                format!("{key} must be an http(s) URL"),
                            );
                        }
                    }
                }
            }
            Some(_) => err(errors, "oauth2.providers", "invalid_type", "providers must be a list"),
        }
    }
    if let Some(value) = c.options.get("passwordAuth") {
        let Some(obj) = value.as_object() else {
            err(errors, "passwordAuth", "invalid_type", "passwordAuth must be an object");
            return;
        };
        if obj.get("enabled").is_some_and(|v| !v.is_boolean()) {
            err(errors, "passwordAuth.enabled", "invalid_type", "enabled must be true or false");
        }
        match obj.get("identityFields") {
            None | Some(Value::Null) => {}
            Some(Value::Array(names)) => {
                for (i, name) in names.iter().enumerate() {
                    if name.as_str().is_none_or(|n| c.field(n).is_none()) {
                        err(
                            errors,
                            format!("passwordAuth.identityFields.{i}"),
                            "unknown_field",
                            format!("{name} is not a field of this collection"),
                        );
                    }
                }
            }
            Some(_) => err(errors, "passwordAuth.identityFields", "invalid_type", "identityFields must be a list"),
        }
    }
}

/// Check one collection on its own: names, options, limits.
pub fn validate_collection(c: &Collection, errors: &mut Vec<FieldError>) {
    if c.kind == CollectionType::Auth {
        validate_auth_options(c, errors);
    }
    if c.name.is_empty() {
        err(errors, "name", "required", "name is required");
    } else if !is_name(&c.name) || c.name.starts_with('_') {
        err(
            errors,
            "name",
            "invalid_format",
            format!("name must be letters, digits and _ (not first), at most {MAX_NAME} characters"),
        );
    }
    if c.fields.len() > MAX_FIELDS {
        err(errors, "fields", "too_many", format!("a collection has at most {MAX_FIELDS} fields"));
    }
    let mut seen = HashSet::new();
    for (i, f) in c.fields.iter().enumerate() {
        let at = |k: &str| if k.is_empty() { format!("fields.{i}") } else { format!("fields.{i}.{k}") };
        if !is_name(&f.name) || RESERVED_FIELDS.contains(&f.name.as_str()) {
            err(errors, at("name"), "invalid_format", format!("{:?} cannot be a field name", f.name));
        }
        if !seen.insert(f.name.to_lowercase()) {
            err(errors, at("name"), "duplicate", format!("there are two fields named {:?}", f.name));
        }
        if f.name == "id" && f.kind != FieldKind::Text {
            err(errors, at("type"), "invalid_value", "id is a text field");
        }
        if c.kind == CollectionType::View {
            continue;
        }
        let number = |v: &Option<Value>| v.as_ref().map(|v| v.as_f64());
        match (number(&f.min), number(&f.max)) {
            (Some(None), _) if f.kind != FieldKind::Date => {
                err(errors, at("min"), "invalid_type", "min must be a number")
            }
            (_, Some(None)) if f.kind != FieldKind::Date => {
                err(errors, at("max"), "invalid_type", "max must be a number")
            }
            (Some(Some(lo)), Some(Some(hi))) if lo > hi && hi != 0.0 => {
                err(errors, at("max"), "out_of_range", "max must not be below min")
            }
            _ => {}
        }
        if let Some(p) = f.pattern.as_deref().filter(|p| !p.is_empty())
            && let Err(e) = Regex::new(p)
        {
            err(errors, at("pattern"), "invalid_pattern", format!("pattern is not a valid regular expression: {e}"));
        }
        match f.kind {
            FieldKind::Select => match &f.values {
                Some(values) if !values.is_empty() => {
                    let distinct: HashSet<&String> = values.iter().collect();
                    if distinct.len() != values.len() || values.iter().any(|v| v.is_empty() || v.len() > 255) {
                        err(errors, at("values"), "invalid_value", "values must be distinct, non-empty and short");
                    }
                    if f.max_select.unwrap_or(1) as usize > values.len() {
                        err(errors, at("maxSelect"), "out_of_range", "maxSelect cannot exceed the number of values");
                    }
                }
                _ => err(errors, at("values"), "required", "a select field needs its list of values"),
            },
            FieldKind::Relation if f.collection_id.as_deref().unwrap_or_default().is_empty() => {
                err(errors, at("collectionId"), "required", "a relation names the collection it points to");
            }
            FieldKind::File => {
                if let Some(types) = &f.mime_types
                    && types.iter().any(|t| !t.contains('/'))
                {
                    err(errors, at("mimeTypes"), "invalid_value", "mimeTypes are like image/png");
                }
            }
            FieldKind::Password if c.kind != CollectionType::Auth => {
                err(errors, at("type"), "invalid_value", "password fields belong to auth collections");
            }
            _ => {}
        }
        if f.max_select == Some(0) {
            err(errors, at("maxSelect"), "out_of_range", "maxSelect must be at least 1");
        }
    }
    if c.indexes.len() > MAX_INDEXES {
        err(errors, "indexes", "too_many", format!("a collection has at most {MAX_INDEXES} indexes"));
    }
    let mut index_names = HashSet::new();
    for (i, index) in c.indexes.iter().enumerate() {
        if !is_name(&index.name) || !index_names.insert(index.name.to_lowercase()) {
            err(errors, format!("indexes.{i}.name"), "invalid_format", "index names are distinct identifiers");
        }
        if index.fields.is_empty() {
            err(errors, format!("indexes.{i}.fields"), "required", "an index covers at least one field");
        }
        for f in &index.fields {
            if f != "id" && c.field(f).is_none() {
                err(errors, format!("indexes.{i}.fields"), "unknown_field", format!("there is no field {f:?}"));
            }
        }
    }
    if c.kind == CollectionType::View {
        match c.view_query.as_deref().map(parse_view_query) {
            None => err(errors, "viewQuery", "required", "a view collection needs its viewQuery"),
            Some(Err(message)) => err(errors, "viewQuery", "invalid_query", message),
            Some(Ok(_)) => {}
        }
        for (key, rule) in [
            ("createRule", &c.rules.create_rule),
            ("updateRule", &c.rules.update_rule),
            ("deleteRule", &c.rules.delete_rule),
        ] {
            if rule.is_some() {
                err(errors, key, "invalid_value", "a view collection is read-only: this rule must be null");
            }
        }
    }
}
