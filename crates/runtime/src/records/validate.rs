//! Turning a request body into a record's column values, with PocketBase's validation
//! codes: required, lengths and ranges, patterns, select values, emails and URLs, dates,
//! relation existence, uniqueness, passwords. Every problem is reported, by field.

use collections::model::{Collection, CollectionType, Field, FieldKind, Storage};
use collections::rows::{coerce, now_text, zero};
use kernel::Exec;
use regex_lite::Regex;
use serde_json::{Map, Value, json};

use crate::context::AppCtx;
use crate::pb::{PbError, PbResult};

/// Values ready to write, and whether the token key changed (password changes).
pub struct Prepared {
    pub values: Map<String, Value>,
}

fn problem(errors: &mut Map<String, Value>, field: &str, code: &str, message: impl Into<String>) {
    errors.entry(field.to_string()).or_insert_with(|| json!({"code": code, "message": message.into()}));
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Bool(b) => !b,
        Value::Object(o) => o.is_empty(),
    }
}

/// PocketBase's datetime text from what a client sends (`2026-01-02 03:04:05.000Z` or RFC 3339).
pub fn normalize_date(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return Some(String::new());
    }
    let rfc = s.replacen(' ', "T", 1);
    time::OffsetDateTime::parse(&rfc, &time::format_description::well_known::Rfc3339)
        .ok()
        .or_else(|| {
            time::OffsetDateTime::parse(&format!("{rfc}Z"), &time::format_description::well_known::Rfc3339).ok()
        })
        .or_else(|| {
            time::Date::parse(s, &time::macros::format_description!("[year]-[month]-[day]"))
                .ok()
                .map(|d| d.midnight().assume_utc())
        })
        .map(expr::eval::format_datetime)
}

/// Check and convert `body` for `collection`. `existing` is the current record on update.
/// `reads`: where the checks that read (relations exist, values are unique) run: the
/// database, or the transaction of a batch, whose earlier steps they must see.
#[allow(clippy::too_many_arguments)]
pub async fn prepare(
    mut reads: Exec<'_>,
    ctx: &AppCtx,
    state: &crate::RuntimeState,
    collection: &Collection,
    body: &Map<String, Value>,
    existing: Option<&Map<String, Value>>,
    new_files: &[String],
) -> PbResult<Prepared> {
    let creating = existing.is_none();
    let superuser = ctx.is_superuser();
    let mut errors = Map::new();
    let mut values = Map::new();
    let now = now_text();
    if creating {
        match body.get("id") {
            Some(Value::String(id)) if !id.is_empty() => {
                if id.len() > 100 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    problem(&mut errors, "id", "validation_invalid_format", "Invalid value format.");
                } else {
                    values.insert("id".into(), Value::String(id.clone()));
                }
            }
            _ => {}
        }
    }
    for f in collection.columns() {
        let given = body.get(&f.name);
        // Fields clients never write directly.
        match f.kind {
            FieldKind::Autodate => {
                if (creating && f.on_create == Some(true)) || (!creating && f.on_update == Some(true)) {
                    values.insert(f.name.clone(), Value::String(now.clone()));
                }
                continue;
            }
            FieldKind::Password => {
                handle_password(state, f, body, existing, creating, superuser, &mut values, &mut errors).await;
                continue;
            }
            _ => {}
        }
        if f.name == "tokenKey" && collection.kind == CollectionType::Auth {
            if creating {
                values.insert(f.name.clone(), Value::String(kernel::ids::random_token(36)));
            }
            continue;
        }
        if f.name == "verified" && collection.kind == CollectionType::Auth && !superuser && given.is_some() {
            if given.and_then(Value::as_bool) == Some(true) {
                problem(
                    &mut errors,
                    "verified",
                    "validation_values_mismatch",
                    "Only superusers can change this field.",
                );
            }
            continue;
        }
        let value = match given {
            None => match existing {
                Some(current) => current.get(&f.name).cloned().unwrap_or_else(|| zero(f)),
                None => f.default.clone().unwrap_or_else(|| zero(f)),
            },
            Some(v) => v.clone(),
        };
        let value = match coerce(&value, f) {
            Ok(v) => v,
            Err(why) => {
                let code =
                    if why.contains("maxSelect") { "validation_too_many_values" } else { "validation_invalid_value" };
                problem(&mut errors, &f.name, code, format!("Invalid value: {why}."));
                continue;
            }
        };
        if given.is_none() && !creating {
            continue;
        }
        check_value(f, &value, &mut errors);
        if f.kind == FieldKind::File {
            check_files(f, &value, existing, new_files, &mut errors);
        }
        let value = match (f.kind, &value) {
            (FieldKind::Date, Value::String(s)) => match normalize_date(s) {
                Some(d) => Value::String(d),
                None => {
                    problem(&mut errors, &f.name, "validation_invalid_date", "Must be a valid date.");
                    continue;
                }
            },
            _ => value,
        };
        values.insert(f.name.clone(), value);
    }
    if errors.is_empty() {
        check_relations(&mut reads, ctx, collection, &values, &mut errors).await?;
        let own_id = existing.and_then(|e| e.get("id")).and_then(Value::as_str);
        check_unique(&mut reads, ctx, collection, &values, own_id, &mut errors).await?;
    }
    if !errors.is_empty() {
        let message = if creating { "Failed to create record." } else { "Failed to update record." };
        return Err(PbError::with_fields(message, errors));
    }
    Ok(Prepared { values })
}

#[allow(clippy::too_many_arguments)]
async fn handle_password(
    state: &crate::RuntimeState,
    f: &Field,
    body: &Map<String, Value>,
    existing: Option<&Map<String, Value>>,
    creating: bool,
    superuser: bool,
    values: &mut Map<String, Value>,
    errors: &mut Map<String, Value>,
) {
    let given = body.get(&f.name).and_then(Value::as_str).unwrap_or_default();
    if given.is_empty() {
        if creating {
            problem(errors, &f.name, "validation_required", "Missing required value.");
        }
        return;
    }
    let min = f.min.as_ref().and_then(Value::as_u64).unwrap_or(8) as usize;
    let max = f.max.as_ref().and_then(Value::as_u64).filter(|m| *m > 0).unwrap_or(71) as usize;
    let len = given.chars().count();
    if len < min {
        problem(errors, &f.name, "validation_min_text_constraint", format!("Must be at least {min} character(s)."));
    } else if len > max {
        problem(errors, &f.name, "validation_max_text_constraint", format!("Must be less than {max} character(s)."));
    }
    if body.get("passwordConfirm").and_then(Value::as_str) != Some(given) {
        problem(errors, "passwordConfirm", "validation_values_mismatch", "Values don't match.");
    }
    if let Some(current) = existing
        && !superuser
    {
        let old = body.get("oldPassword").and_then(Value::as_str).unwrap_or_default();
        let stored = current.get(&f.name).and_then(Value::as_str).unwrap_or_default();
        let ok = state.password_matches(old, stored).await;
        if !ok {
            problem(errors, "oldPassword", "validation_invalid_old_password", "Missing or invalid old password.");
        }
    }
    if errors.is_empty() {
        match state.foundation.passwords.hash(given).await {
            Ok(hash) => {
                values.insert(f.name.clone(), Value::String(hash));
                // A new password ends every existing session of the record.
                values.insert("tokenKey".into(), Value::String(kernel::ids::random_token(36)));
            }
            Err(_) => problem(errors, &f.name, "validation_invalid_value", "Could not store the password."),
        }
    }
}

fn check_value(f: &Field, value: &Value, errors: &mut Map<String, Value>) {
    if f.required && is_empty(value) {
        problem(errors, &f.name, "validation_required", "Missing required value.");
        return;
    }
    let num = |v: &Option<Value>| v.as_ref().and_then(Value::as_f64).filter(|n| *n != 0.0);
    match (f.kind, value) {
        (FieldKind::Text | FieldKind::Editor, Value::String(s)) if !s.is_empty() => {
            let len = s.chars().count() as f64;
            if let Some(min) = num(&f.min)
                && len < min
            {
                problem(
                    errors,
                    &f.name,
                    "validation_min_text_constraint",
                    format!("Must be at least {min} character(s)."),
                );
            }
            if let Some(max) = num(&f.max)
                && len > max
            {
                problem(
                    errors,
                    &f.name,
                    "validation_max_text_constraint",
                    format!("Must be less than {max} character(s)."),
                );
            }
            if let Some(p) = f.pattern.as_deref().filter(|p| !p.is_empty())
                && Regex::new(p).is_ok_and(|re| !re.is_match(s))
            {
                problem(errors, &f.name, "validation_invalid_format", "Invalid value format.");
            }
        }
        (FieldKind::Number, Value::Number(n)) => {
            let n = n.as_f64().unwrap_or(0.0);
            if let Some(min) = f.min.as_ref().and_then(Value::as_f64)
                && n < min
            {
                problem(errors, &f.name, "validation_min_number_constraint", format!("Must be larger than {min}."));
            }
            if let Some(max) = f.max.as_ref().and_then(Value::as_f64)
                && n > max
            {
                problem(errors, &f.name, "validation_max_number_constraint", format!("Must be less than {max}."));
            }
            if f.only_int == Some(true) && n.fract() != 0.0 {
                problem(errors, &f.name, "validation_only_int_constraint", "Decimal numbers are not allowed.");
            }
        }
        (FieldKind::Email, Value::String(s)) if !s.is_empty() && !kernel::validate::is_valid_email(s) => {
            problem(errors, &f.name, "validation_is_email", "Must be a valid email address.");
        }
        (FieldKind::Url, Value::String(s))
            if !s.is_empty()
                && (!(s.starts_with("https://") || s.starts_with("http://")) || s.contains(char::is_whitespace)) =>
        {
            problem(errors, &f.name, "validation_is_url", "Must be a valid url.");
        }
        (FieldKind::Select, v) => {
            let allowed = f.values.clone().unwrap_or_default();
            let chosen: Vec<&str> = match v {
                Value::String(s) if !s.is_empty() => vec![s.as_str()],
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if chosen.iter().any(|c| !allowed.iter().any(|a| a == c)) {
                problem(
                    errors,
                    &f.name,
                    "validation_invalid_value",
                    format!("Must be one of: {}.", allowed.join(", ")),
                );
            }
        }
        (FieldKind::Json, v) if !v.is_null() => {
            let size = serde_json::to_vec(v).map(|b| b.len()).unwrap_or(0) as u64;
            if size > f.max_size.filter(|m| *m > 0).unwrap_or(1 << 20) {
                problem(errors, &f.name, "validation_json_size_limit", "The JSON value is too large.");
            }
        }
        _ => {}
    }
    if f.storage() == Storage::TextList
        && let (Some(min), Value::Array(items)) = (f.min_select, value)
        && (items.len() as u32) < min
        && !items.is_empty()
    {
        problem(errors, &f.name, "validation_not_enough_values", format!("Select at least {min}."));
    }
}

/// A file field may name only files the record already has or files uploaded with this
/// request: clients remove files by leaving them out, never add names of their own.
fn check_files(
    f: &Field,
    value: &Value,
    existing: Option<&Map<String, Value>>,
    new_files: &[String],
    errors: &mut Map<String, Value>,
) {
    let had: Vec<&str> = match existing.and_then(|e| e.get(&f.name)) {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let named: Vec<&str> = match value {
        Value::String(s) if !s.is_empty() => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if named.iter().any(|n| !had.contains(n) && !new_files.iter().any(|x| x == n)) {
        problem(
            errors,
            &f.name,
            "validation_invalid_file",
            "Upload files with multipart/form-data; only existing file names can be kept.",
        );
    }
}

/// 10 characters of `[a-z0-9]`, for stored file names.
pub fn random_suffix() -> String {
    collections::rows::random_text(10)
}

async fn check_relations(
    reads: &mut Exec<'_>,
    ctx: &AppCtx,
    c: &Collection,
    values: &Map<String, Value>,
    errors: &mut Map<String, Value>,
) -> PbResult<()> {
    for f in c.columns().filter(|f| f.kind == FieldKind::Relation) {
        let ids: Vec<String> = match values.get(&f.name) {
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => continue,
        };
        if ids.is_empty() {
            continue;
        }
        let Some(target) = f.collection_id.as_deref().and_then(|t| ctx.schema.collections.iter().find(|o| o.id == t))
        else {
            continue;
        };
        if target.kind == CollectionType::View {
            continue;
        }
        let mut distinct = ids.clone();
        distinct.sort();
        distinct.dedup();
        let found = collections::records::count_existing(reads.reborrow(), ctx.ns(), target, &distinct).await?;
        if found != distinct.len() as i64 {
            problem(
                errors,
                &f.name,
                "validation_missing_rel_records",
                "Failed to find all relation records with the provided ids.",
            );
        }
    }
    Ok(())
}

/// The answer to a write that lost a race for a unique value: another record took it between
/// this write's check and its statement. The check is made again in a transaction of its own
/// (the write's has failed; PostgreSQL has aborted it), which sees the other write: committed
/// on PostgreSQL, which raises the violation only once the other transaction commits; on
/// SQLite perhaps still in the writer's group commit, which only the writer's connection
/// sees. So the answer names the field as a check before the write would have; when it finds
/// none (a given id that is taken), `lost` stands. `own_id`: the record an update writes.
pub async fn taken_meanwhile(
    ctx: &AppCtx,
    c: &Collection,
    values: &Map<String, Value>,
    own_id: Option<&str>,
    lost: PbError,
) -> PbError {
    let mut errors = Map::new();
    let checked = async {
        let mut tx = ctx.db.begin_inline().await?;
        check_unique(&mut Exec::Tx(&mut tx), ctx, c, values, own_id, &mut errors).await
    };
    match checked.await {
        Ok(()) if !errors.is_empty() => {
            let message = if own_id.is_none() { "Failed to create record." } else { "Failed to update record." };
            PbError::with_fields(message, errors)
        }
        Ok(()) => lost,
        Err(e) => e,
    }
}

async fn check_unique(
    reads: &mut Exec<'_>,
    ctx: &AppCtx,
    c: &Collection,
    values: &Map<String, Value>,
    own_id: Option<&str>,
    errors: &mut Map<String, Value>,
) -> PbResult<()> {
    // The record being updated does not take its own value.
    let own_id = own_id.unwrap_or_default();
    let single_unique: Vec<&str> = c
        .columns()
        .filter(|f| f.unique)
        .map(|f| f.name.as_str())
        .chain(c.indexes.iter().filter(|i| i.unique && i.fields.len() == 1).map(|i| i.fields[0].as_str()))
        .collect();
    for name in single_unique {
        let Some(f) = c.field(name) else { continue };
        let Some(value) = values.get(name).filter(|v| !is_empty(v)) else { continue };
        if f.storage() != Storage::Text {
            continue;
        }
        let value = value.as_str().unwrap_or_default();
        if collections::records::value_taken(reads.reborrow(), ctx.ns(), c, name, value, own_id).await? {
            problem(errors, name, "validation_not_unique", "Value must be unique.");
        }
    }
    Ok(())
}
