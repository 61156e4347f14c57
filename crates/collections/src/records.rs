//! The record queries the Studio and the Runtime share, written once for the pool and for a
//! transaction ([`Exec`]). Conditions are SQL on alias `r` with bound parameters; every
//! name is quoted by [`quote`] and every value bound.

use std::collections::HashSet;

use kernel::db::Arg;
use kernel::{Exec, Result, args};
use serde_json::{Map, Value};
use sqlx::AssertSqlSafe;

use crate::ddl::{Namespace, quote};
use crate::model::{Collection, CollectionType, FieldKind};
use crate::rows::{parse_rows, to_arg};

/// Set the given columns of record `id` (values as [`crate::rows::coerce`] leaves them;
/// names that are not columns of `c` are skipped). Returns the rows changed (0 or 1).
pub async fn update_columns(
    ex: impl Into<Exec<'_>>,
    ns: &Namespace,
    c: &Collection,
    id: &str,
    values: &Map<String, Value>,
) -> Result<u64> {
    let mut sets = Vec::new();
    let mut a: Vec<Arg> = Vec::new();
    for (name, value) in values {
        let Some(f) = c.field(name) else { continue };
        a.push(to_arg(value.clone(), f.storage()));
        sets.push(format!("{} = ${}", quote(name), a.len()));
    }
    if sets.is_empty() {
        return Ok(0);
    }
    a.push(id.into());
    let sql = format!("UPDATE {} SET {} WHERE \"id\" = ${}", ns.table(&c.name), sets.join(", "), a.len());
    ex.into().execute(AssertSqlSafe(sql), a).await
}

/// Take record `id` in the caller's transaction if its text `field` still holds `expected`
/// (a single-use token's key): on PostgreSQL a concurrent writer of the row is waited for and
/// its value seen, so of several requests spending one token one finds it unchanged.
pub async fn hold_if_unchanged(
    ex: impl Into<Exec<'_>>,
    ns: &Namespace,
    c: &Collection,
    id: &str,
    field: &str,
    expected: &str,
) -> Result<bool> {
    let f = quote(field);
    let sql = format!("UPDATE {} SET {f} = {f} WHERE \"id\" = $1 AND {f} = $2", ns.table(&c.name));
    Ok(ex.into().execute(AssertSqlSafe(sql), args![id, expected]).await? == 1)
}

/// Whether record `id` meets `condition`, whose own parameters are numbered from `$2`.
pub async fn row_matches(
    ex: impl Into<Exec<'_>>,
    ns: &Namespace,
    c: &Collection,
    id: &str,
    condition: &str,
    condition_args: Vec<Arg>,
) -> Result<bool> {
    let mut all: Vec<Arg> = args![id];
    all.extend(condition_args);
    let sql = format!("SELECT COUNT(*) FROM {} AS r WHERE r.\"id\" = $1 AND {condition}", ns.table(&c.name));
    Ok(ex.into().count(AssertSqlSafe(sql), all).await? > 0)
}

/// How many of `ids` (distinct) are records of `c`.
pub async fn count_existing(ex: impl Into<Exec<'_>>, ns: &Namespace, c: &Collection, ids: &[String]) -> Result<i64> {
    // `IN ()` is a syntax error on PostgreSQL (SQLite accepts it).
    if ids.is_empty() {
        return Ok(0);
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!("SELECT COUNT(*) FROM {} WHERE \"id\" IN ({})", ns.table(&c.name), placeholders.join(", "));
    ex.into().count(AssertSqlSafe(sql), ids.iter().map(|s| s.as_str().into()).collect()).await
}

/// Whether a record of `c` other than `except_id` has `value` in text column `field`.
pub async fn value_taken(
    ex: impl Into<Exec<'_>>,
    ns: &Namespace,
    c: &Collection,
    field: &str,
    value: &str,
    except_id: &str,
) -> Result<bool> {
    let sql = format!("SELECT COUNT(*) FROM {} WHERE {} = $1 AND \"id\" <> $2", ns.table(&c.name), quote(field));
    Ok(ex.into().count(AssertSqlSafe(sql), args![value, except_id]).await? > 0)
}

/// A record changed because another was deleted: deleted by a cascading relation, or
/// updated to drop its reference.
pub struct Consequence<'c> {
    pub collection: &'c Collection,
    pub deleted: bool,
    /// The record as it is after the change (as it was, for a deletion).
    pub row: Map<String, Value>,
}

/// Delete record `id` of `target` and apply what the relations pointing at it say, as
/// PocketBase does: records of a cascading relation are deleted (and so on down their own
/// cascades), the others lose the reference. Returns every record so changed, so that the
/// caller reports them as it reports the deletion itself.
pub async fn delete_with_references<'c>(
    ex: impl Into<Exec<'_>>,
    ns: &Namespace,
    collections: &'c [Collection],
    target: &'c Collection,
    id: &str,
) -> Result<Vec<Consequence<'c>>> {
    let mut ex = ex.into();
    // First, and counted: of deletes of one record racing each other, the one that deleted
    // it goes on; the others find it gone (and change nothing).
    let deleted = ex
        .execute(AssertSqlSafe(format!("DELETE FROM {} WHERE \"id\" = $1", ns.table(&target.name))), args![id])
        .await?;
    if deleted == 0 {
        return Err(kernel::Error::not_found("record"));
    }
    let mut changed = Vec::new();
    let mut pending: Vec<(&'c Collection, String)> = vec![(target, id.to_string())];
    // A cycle of cascades (a record reached again) is followed once.
    let mut seen: HashSet<(String, String)> = HashSet::new();
    while let Some((deleted, deleted_id)) = pending.pop() {
        if !seen.insert((deleted.id.clone(), deleted_id.clone())) {
            continue;
        }
        for other in collections.iter().filter(|o| o.kind != CollectionType::View) {
            for f in other
                .columns()
                .filter(|f| f.kind == FieldKind::Relation && f.collection_id.as_deref() == Some(deleted.id.as_str()))
            {
                let cascade = f.cascade_delete == Some(true);
                let sql = format!(
                    "{} RETURNING {}",
                    reference_statement(ns, other, &f.name, f.multiple(), cascade, ex.kind()),
                    ns.row_json_of(other, "")
                );
                for row in parse_rows(ex.fetch_texts(AssertSqlSafe(sql), args![&deleted_id]).await?)? {
                    if cascade && let Some(Value::String(row_id)) = row.get("id") {
                        pending.push((other, row_id.clone()));
                    }
                    changed.push(Consequence { collection: other, deleted: cascade, row });
                }
            }
        }
    }
    Ok(changed)
}

/// The statement that deletes the records of `table` whose relation `column` names `$1`
/// (`cascade`), or drops `$1` from it.
fn reference_statement(
    ns: &Namespace,
    c: &Collection,
    column: &str,
    multiple: bool,
    cascade: bool,
    kind: kernel::DbKind,
) -> String {
    let table = ns.table(&c.name);
    let col = quote(column);
    match (multiple, cascade, kind) {
        (false, true, _) => format!("DELETE FROM {table} WHERE {col} = $1"),
        (false, false, _) => format!("UPDATE {table} SET {col} = '' WHERE {col} = $1"),
        (true, true, kernel::DbKind::Sqlite) => {
            format!("DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM json_each({table}.{col}) j WHERE j.value = $1)")
        }
        (true, true, kernel::DbKind::Postgres) => format!("DELETE FROM {table} WHERE {col} ? $1"),
        (true, false, kernel::DbKind::Sqlite) => format!(
            "UPDATE {table} SET {col} = (SELECT COALESCE(json_group_array(j.value), '[]') FROM json_each({table}.{col}) j WHERE j.value <> $1)
              WHERE EXISTS (SELECT 1 FROM json_each({table}.{col}) j WHERE j.value = $1)"
        ),
        (true, false, kernel::DbKind::Postgres) => format!("UPDATE {table} SET {col} = {col} - $1 WHERE {col} ? $1"),
    }
}
