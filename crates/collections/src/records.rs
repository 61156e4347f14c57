//! The record queries the Studio and the Runtime share, written once for the pool and for a
//! transaction ([`Exec`]). Conditions are SQL on alias `r` with bound parameters; every
//! name is quoted by [`quote`] and every value bound.

use kernel::db::Arg;
use kernel::{Exec, Result, args};
use serde_json::{Map, Value};
use sqlx::AssertSqlSafe;

use crate::ddl::{Namespace, quote};
use crate::model::{Collection, CollectionType, FieldKind};
use crate::rows::to_arg;

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

/// Delete record `id` of `target` and what its relations say to do with the records that
/// point at it: those of a cascading relation are deleted, the others lose the reference.
pub async fn delete_with_references(
    ex: impl Into<Exec<'_>>,
    ns: &Namespace,
    collections: &[Collection],
    target: &Collection,
    id: &str,
) -> Result<()> {
    let mut ex = ex.into();
    for other in collections.iter().filter(|o| o.kind != CollectionType::View) {
        for f in other
            .columns()
            .filter(|f| f.kind == FieldKind::Relation && f.collection_id.as_deref() == Some(target.id.as_str()))
        {
            let table = ns.table(&other.name);
            let col = quote(&f.name);
            let sql = match (f.multiple(), f.cascade_delete == Some(true), ex.kind()) {
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
            };
            ex.execute(AssertSqlSafe(sql), args![id]).await?;
        }
    }
    ex.execute(AssertSqlSafe(format!("DELETE FROM {} WHERE \"id\" = $1", ns.table(&target.name))), args![id]).await?;
    Ok(())
}
