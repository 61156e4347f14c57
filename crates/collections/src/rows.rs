//! The storage layer of collection tables: typed values in, typed JSON out. The runtime's
//! records API builds on it; validation of field options happens there, not here.

use kernel::db::Arg;
use kernel::{Db, Error, Result, Tx};
use serde_json::{Map, Value};
use sqlx::AssertSqlSafe;

use crate::ddl::{Namespace, quote};
use crate::model::{Collection, Field, FieldKind, Storage};

/// The characters of record ids, in ASCII order: ids compare as text as their numbers do.
const ID_ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
/// 2020-01-01T00:00:00Z in Unix milliseconds: where the time part of record ids starts.
const ID_EPOCH_MS: i64 = 1_577_836_800_000;
/// Characters of time at the start of a record id (36^8 ms lasts until 2109).
const ID_TIME_CHARS: usize = 8;
/// Characters of a record id, as PocketBase's.
const RECORD_ID_LEN: usize = 15;

/// A new record id: 15 characters of `[a-z0-9]` as PocketBase's, but ordered by time (as
/// TrailBase's UUIDv7 ids are): the first 8 are the millisecond since 2020 in base 36, the
/// last 7 random. New rows then go to the last leaf of the id index instead of a random
/// leaf: a group commit of 64 creates writes a few pages instead of one per row (measured
/// in BENCHMARKS.md). Ids are not secrets; rules are what guard records. A generated id
/// that collides is drawn again (see [`insert_row_returning`]).
pub fn new_record_id() -> String {
    let now_ms = (kernel::time::now().unix_timestamp_nanos() / 1_000_000) as i64;
    let mut id = String::with_capacity(RECORD_ID_LEN);
    id.extend(id_time_part(now_ms).iter().map(|&d| d as char));
    id.push_str(&random_text(RECORD_ID_LEN - ID_TIME_CHARS));
    id
}

/// The time part of a record id made at Unix millisecond `unix_ms`: the milliseconds since
/// 2020 in base 36 (0 before, wrapping after 2109).
fn id_time_part(unix_ms: i64) -> [u8; ID_TIME_CHARS] {
    let mut time = (unix_ms.saturating_sub(ID_EPOCH_MS).max(0) as u64) % 36u64.pow(ID_TIME_CHARS as u32);
    let mut digits = [0u8; ID_TIME_CHARS];
    for d in digits.iter_mut().rev() {
        *d = ID_ALPHABET[(time % 36) as usize];
        time /= 36;
    }
    digits
}

/// `len` random characters of `[a-z0-9]`.
pub fn random_text(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..len).map(|_| ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())] as char).collect()
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

/// The id and the values of a new row, in the order of [`insert_statement`]'s columns; the
/// id is generated when none is given (the flag says so).
fn insert_values(
    c: &Collection,
    values: &Map<String, Value>,
    next_id: &mut (dyn FnMut() -> String + Send),
) -> Result<(String, bool, Vec<Arg>)> {
    let (id, generated) = match values.get("id") {
        Some(Value::String(s)) if !s.is_empty() => (s.clone(), false),
        _ => (next_id(), true),
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
    Ok((id, generated, args))
}

/// `INSERT INTO table (id, every column) VALUES ($1, ...)`: the same text for every row of
/// a collection.
pub fn insert_statement(ns: &Namespace, c: &Collection) -> String {
    let columns: Vec<String> =
        std::iter::once("\"id\"".to_string()).chain(c.columns().map(|f| quote(&f.name))).collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    format!("INSERT INTO {} ({}) VALUES ({})", ns.table(&c.name), columns.join(", "), placeholders.join(", "))
}

/// [`insert_statement`] returning the row as [`Namespace::row_json`] reads it, or nothing
/// when the id is taken (which does not abort a PostgreSQL transaction, so that a generated
/// id can be drawn again).
pub fn insert_returning_statement(ns: &Namespace, c: &Collection) -> String {
    format!("{} ON CONFLICT (\"id\") DO NOTHING RETURNING {}", insert_statement(ns, c), ns.row_json_of(c, ""))
}

/// Insert one row; returns the new id.
pub async fn insert_row(tx: &mut Tx, ns: &Namespace, c: &Collection, values: &Map<String, Value>) -> Result<String> {
    let (id, _, args) = insert_values(c, values, &mut new_record_id)?;
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
    insert_row_returning_with(tx, statement, c, values, &mut new_record_id).await
}

/// [`insert_row_returning`] with the ids it generates drawn from `next_id`. A generated id
/// that is taken (36 random bits per millisecond make it rare, not impossible) is drawn
/// again; a given one is a conflict.
pub async fn insert_row_returning_with(
    tx: &mut Tx,
    statement: std::sync::Arc<str>,
    c: &Collection,
    values: &Map<String, Value>,
    next_id: &mut (dyn FnMut() -> String + Send),
) -> Result<Map<String, Value>> {
    const DRAWS: usize = 3;
    let mut draw = 0;
    let rows = loop {
        draw += 1;
        let (_, generated, args) = insert_values(c, values, next_id)?;
        let rows = tx.fetch_texts(AssertSqlSafe(statement.clone()), args).await?;
        if !rows.is_empty() {
            break rows;
        }
        if !generated || draw == DRAWS {
            return Err(Error::Conflict("a record with this id already exists".into()));
        }
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn time_part(unix_ms: i64) -> String {
        String::from_utf8_lossy(&id_time_part(unix_ms)).into_owned()
    }

    #[test]
    fn the_time_part_of_ids_sorts_as_the_time_does() {
        assert_eq!(time_part(ID_EPOCH_MS), "00000000");
        assert_eq!(time_part(ID_EPOCH_MS - 5), "00000000", "before 2020 counts as 2020");
        assert_eq!(time_part(ID_EPOCH_MS + 35), "0000000z");
        assert_eq!(time_part(ID_EPOCH_MS + 36), "00000010");
        // 2026-11-22T00:00:00Z, and the millisecond before a base-36 carry and after it.
        let day = 1_795_305_600_000;
        let times = [ID_EPOCH_MS + 35, ID_EPOCH_MS + 36, day - 1, day, day + 1, day + 36 * 36];
        let parts: Vec<String> = times.iter().map(|&t| time_part(t)).collect();
        let mut sorted = parts.clone();
        sorted.sort();
        assert_eq!(parts, sorted);
        let id = new_record_id();
        assert_eq!(id.len(), RECORD_ID_LEN);
        assert!(id.bytes().all(|b| ID_ALPHABET.contains(&b)), "{id}");
    }
}
