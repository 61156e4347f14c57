//! The storage layer of collection tables: typed values in, typed JSON out. The runtime's
//! records API builds on it; validation of field options happens there, not here.

use kernel::db::Arg;
use kernel::{Db, Error, Result, Tx};
use serde_json::{Map, Value};
use sqlx::AssertSqlSafe;

use super::ddl::{Namespace, quote};
use super::model::{Collection, Field, FieldKind, Storage};

/// PocketBase's record id: 15 characters of `[a-z0-9]`.
pub fn new_record_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..15).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// PocketBase's datetime text for now.
pub fn now_text() -> String {
    expr::eval::format_datetime(kernel::time::now())
}

/// The value a field has when none is given.
pub fn zero(field: &Field) -> Value {
    match field.storage() {
        Storage::Text => Value::String(String::new()),
        Storage::Number => Value::from(0),
        Storage::Bool => Value::Bool(false),
        Storage::TextList => Value::Array(Vec::new()),
        Storage::Json => Value::Null,
    }
}

/// Convert a JSON value to what `field` stores; `Err` says why it cannot.
pub fn coerce(value: &Value, field: &Field) -> std::result::Result<Value, String> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    };
    match field.storage() {
        Storage::Text => match value {
            Value::Array(items) if items.len() <= 1 => {
                Ok(items.first().and_then(text).map(Value::String).unwrap_or_else(|| "".into()))
            }
            Value::Array(items) => Err(format!("has {} values where one is kept", items.len())),
            Value::Object(_) => Err("is an object, not text".into()),
            v => Ok(Value::String(text(v).unwrap_or_default())),
        },
        Storage::Number => match value {
            Value::Number(_) => Ok(value.clone()),
            Value::Null => Ok(Value::from(0)),
            Value::Bool(b) => Ok(Value::from(u8::from(*b))),
            Value::String(s) if s.trim().is_empty() => Ok(Value::from(0)),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("{s:?} is not a number")),
            _ => Err("is not a number".into()),
        },
        Storage::Bool => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::Null => Ok(Value::Bool(false)),
            Value::Number(n) if n.as_f64() == Some(0.0) => Ok(Value::Bool(false)),
            Value::Number(n) if n.as_f64() == Some(1.0) => Ok(Value::Bool(true)),
            Value::String(s) => match s.trim().to_lowercase().as_str() {
                "" | "false" | "0" | "no" | "off" => Ok(Value::Bool(false)),
                "true" | "1" | "yes" | "on" => Ok(Value::Bool(true)),
                _ => Err(format!("{s:?} is not true or false")),
            },
            _ => Err("is not true or false".into()),
        },
        Storage::TextList => {
            let items: Vec<String> = match value {
                Value::Null => Vec::new(),
                Value::String(s) if s.is_empty() => Vec::new(),
                Value::Array(items) => items
                    .iter()
                    .map(|v| text(v).ok_or("holds a value that is not text"))
                    .collect::<std::result::Result<_, _>>()?,
                v => vec![text(v).ok_or("is not a list of text")?],
            };
            let max = field.max_select.unwrap_or(1) as usize;
            if items.len() > max {
                return Err(format!("has {} values, more than maxSelect {max}", items.len()));
            }
            Ok(Value::Array(items.into_iter().map(Value::String).collect()))
        }
        Storage::Json => Ok(match value {
            Value::String(s) if s.is_empty() => Value::Null,
            v => v.clone(),
        }),
    }
}

pub fn to_arg(value: Value, storage: Storage) -> Arg {
    match (storage, value) {
        (Storage::Text, Value::String(s)) => Arg::Text(Some(s)),
        (Storage::Text, v) => Arg::Text(Some(v.to_string())),
        (Storage::Number, v) => Arg::F64(Some(v.as_f64().unwrap_or(0.0))),
        (Storage::Bool, v) => Arg::Bool(Some(v.as_bool().unwrap_or(false))),
        (Storage::TextList, v) => Arg::Json(Some(v)),
        (Storage::Json, Value::Null) => Arg::Json(None),
        (Storage::Json, v) => Arg::Json(Some(v)),
    }
}

/// The INSERT of one row: missing fields get their default (or zero), autodate fields the
/// time. Returns the id, the statement and its arguments.
/// The id and the values of a new row, in the order of [`insert_statement`]'s columns.
fn insert_values(c: &Collection, values: &Map<String, Value>) -> Result<(String, Vec<Arg>)> {
    let id = match values.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => new_record_id(),
    };
    let now = now_text();
    let mut args = vec![Arg::Text(Some(id.clone()))];
    for f in c.columns() {
        let given = values.get(&f.name).filter(|v| !v.is_null());
        let value = match (f.kind, given) {
            (FieldKind::Autodate, None) if f.on_create == Some(true) => Value::String(now.clone()),
            (_, Some(v)) => {
                coerce(v, f).map_err(|m| Error::field(&f.name, "invalid_value", format!("{}: {m}", f.name)))?
            }
            (_, None) => {
                f.default.clone().map(|d| coerce(&d, f).unwrap_or_else(|_| zero(f))).unwrap_or_else(|| zero(f))
            }
        };
        args.push(to_arg(value, f.storage()));
    }
    Ok((id, args))
}

/// `INSERT INTO table (id, every column) VALUES ($1, ...)`: the same text for every row of
/// a collection.
pub fn insert_statement(ns: &Namespace, c: &Collection) -> String {
    let columns: Vec<String> =
        std::iter::once("\"id\"".to_string()).chain(c.columns().map(|f| quote(&f.name))).collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    format!("INSERT INTO {} ({}) VALUES ({})", ns.table(&c.name), columns.join(", "), placeholders.join(", "))
}

/// [`insert_statement`] returning the row as [`Namespace::row_json`] reads it.
pub fn insert_returning_statement(ns: &Namespace, c: &Collection) -> String {
    format!("{} RETURNING {}", insert_statement(ns, c), ns.row_json_of(c, ""))
}

/// Insert one row; returns the new id.
pub async fn insert_row(tx: &mut Tx, ns: &Namespace, c: &Collection, values: &Map<String, Value>) -> Result<String> {
    let (id, args) = insert_values(c, values)?;
    tx.execute(AssertSqlSafe(insert_statement(ns, c)), args).await?;
    Ok(id)
}

/// Insert one row and return it as stored, typed, in the same statement: `statement` is
/// [`insert_returning_statement`] of `c`, built once per deployment by its caller.
pub async fn insert_row_returning(
    tx: &mut Tx,
    statement: std::sync::Arc<str>,
    c: &Collection,
    values: &Map<String, Value>,
) -> Result<Map<String, Value>> {
    let (_, args) = insert_values(c, values)?;
    let rows = tx.fetch_texts(AssertSqlSafe(statement), args).await?;
    let text = rows.first().ok_or_else(|| Error::internal("an insert returned no row"))?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Error::internal("an inserted row did not read back as a JSON object")),
    }
}

/// Rows as JSON objects, typed by their fields, ordered by id. `condition` is a SQL
/// condition on alias `r` with its parameters.
pub async fn read_rows(
    db: &Db,
    ns: &Namespace,
    c: &Collection,
    condition: Option<(String, Vec<Arg>)>,
) -> Result<Vec<Map<String, Value>>> {
    let (cond, args) = condition.unwrap_or_else(|| ("1=1".into(), Vec::new()));
    let sql = format!("SELECT {} FROM {} AS r WHERE {cond} ORDER BY r.\"id\"", ns.row_json(c), ns.table(&c.name));
    parse_rows(db.fetch_texts(AssertSqlSafe(sql), args).await?)
}

/// Rows selected as one `row_json` column, as JSON objects.
pub fn parse_rows(rows: Vec<String>) -> Result<Vec<Map<String, Value>>> {
    rows.iter().map(|text| parse_row(text)).collect()
}

fn parse_row(text: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Error::internal("a row did not read back as a JSON object")),
    }
}

pub async fn count_rows(tx: &mut Tx, ns: &Namespace, table: &str) -> Result<i64> {
    tx.scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", ns.table(table))), Vec::new()).await
}
