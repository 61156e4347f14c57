//! Applying a collection change to its table inside the caller's transaction: create, alter
//! (rename, add, drop, convert fields; indexes) or drop. Data is kept: a field whose values
//! cannot convert, a dropped field or collection that holds data, or a shrinking multi-value
//! field is refused unless `force` is set. Every statement run is returned for the project's
//! migration history.

use kernel::{Error, Result, Tx, args};
use serde::Serialize;
use serde_json::Value;
use sqlx::AssertSqlSafe;

use crate::ddl::{Namespace, quote};
use crate::model::{Collection, CollectionType, Field, Storage};
use crate::rows::{coerce, count_rows, to_arg, zero};

/// What was done, for the migration history.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Applied {
    pub operations: Vec<String>,
    pub statements: Vec<String>,
}

impl Applied {
    async fn run(&mut self, tx: &mut Tx, sql: String) -> Result<()> {
        tx.execute(AssertSqlSafe(sql.clone()), Vec::new()).await.map_err(|e| match e {
            Error::Conflict(_) => Error::Conflict(
                "existing records have duplicate values for a unique index; fix them or drop the index".into(),
            ),
            other => other,
        })?;
        self.statements.push(sql);
        Ok(())
    }
}

fn has_table(c: &Collection) -> bool {
    c.kind != CollectionType::View
}

pub async fn create(tx: &mut Tx, ns: &Namespace, c: &Collection) -> Result<Applied> {
    let mut applied = Applied::default();
    applied.operations.push(format!("create collection {}", c.name));
    if has_table(c) {
        applied.run(tx, ns.create_table(c)).await?;
        for (_, sql) in ns.indexes(c) {
            applied.run(tx, sql).await?;
        }
    }
    Ok(applied)
}

pub async fn drop(tx: &mut Tx, ns: &Namespace, c: &Collection, force: bool) -> Result<Applied> {
    let mut applied = Applied::default();
    applied.operations.push(format!("drop collection {}", c.name));
    if has_table(c) {
        let rows = count_rows(tx, ns, &c.name).await?;
        if rows > 0 && !force {
            return Err(Error::Conflict(format!(
                "collection {} holds {rows} records; deleting it loses them (repeat with force=true)",
                c.name
            )));
        }
        applied.run(tx, ns.drop_table(&c.name)).await?;
    }
    Ok(applied)
}

/// A SQL condition true when the column holds something other than its zero value.
fn not_empty(ns: &Namespace, column: &str, storage: Storage) -> String {
    let c = quote(column);
    match (ns.kind, storage) {
        (_, Storage::Text) => format!("{c} <> ''"),
        (_, Storage::Number) => format!("{c} <> 0"),
        (kernel::DbKind::Sqlite, Storage::Bool) => format!("{c} = 1"),
        (kernel::DbKind::Postgres, Storage::Bool) => format!("{c} = TRUE"),
        (kernel::DbKind::Sqlite, Storage::TextList) => format!("json_array_length({c}) > 0"),
        (kernel::DbKind::Postgres, Storage::TextList) => format!("jsonb_array_length({c}) > 0"),
        (_, Storage::Json) => format!("{c} IS NOT NULL"),
    }
}

/// Fields of `new` paired with the field of `old` they continue (same id, else same name).
fn pair<'a>(old: &'a Collection, new: &'a Collection) -> Vec<(Option<&'a Field>, &'a Field)> {
    new.columns()
        .map(|n| {
            let by_id = old.columns().find(|o| !n.id.is_empty() && o.id == n.id);
            let by_name = || {
                old.columns()
                    .find(|o| o.name == n.name && !new.columns().any(|other| other.id == o.id && other.name != o.name))
            };
            (by_id.or_else(by_name), n)
        })
        .collect()
}

fn needs_conversion(old: &Field, new: &Field) -> bool {
    old.storage() != new.storage()
        || (new.storage() == Storage::TextList && new.max_select.unwrap_or(1) < old.max_select.unwrap_or(1))
}

/// Before a set of changes applied together (a deployment) renames `old`'s table to
/// `new`'s name, move it aside, under a name no collection can have (collection names have
/// no `-`): renames that pass through each other's names, a swap or a rename and a new
/// collection taking the old name, would otherwise meet a table still holding the name they
/// give. Returns where the table now is, for [`alter_from`] (None: nothing to move).
pub async fn move_aside(tx: &mut Tx, ns: &Namespace, old: &Collection, new: &Collection) -> Result<Option<String>> {
    if old.name == new.name || !has_table(old) || !has_table(new) {
        return Ok(None);
    }
    let aside = format!("{}-moving", old.id);
    let mut applied = Applied::default();
    for sql in ns.rename_table(&old.name, &aside) {
        applied.run(tx, sql).await?;
    }
    Ok(Some(aside))
}

pub async fn alter(tx: &mut Tx, ns: &Namespace, old: &Collection, new: &Collection, force: bool) -> Result<Applied> {
    alter_from(tx, ns, &old.name, old, new, force).await
}

/// [`alter`], `old`'s table being named `table_now` (see [`move_aside`]).
pub async fn alter_from(
    tx: &mut Tx,
    ns: &Namespace,
    table_now: &str,
    old: &Collection,
    new: &Collection,
    force: bool,
) -> Result<Applied> {
    let mut applied = Applied::default();
    if old.kind != new.kind && (old.kind == CollectionType::View || new.kind == CollectionType::View) {
        return Err(Error::field("type", "immutable", "a view collection cannot become a table or the reverse"));
    }
    if !has_table(new) {
        applied.operations.push(format!("update view {}", new.name));
        return Ok(applied);
    }
    let pairs = pair(old, new);
    let kept: Vec<&Field> = pairs.iter().filter_map(|(o, _)| *o).collect();
    let dropped: Vec<&Field> =
        old.columns().filter(|o| !kept.iter().any(|k| k.id == o.id && k.name == o.name)).collect();
    let table = new.name.clone();

    if table_now != new.name {
        for sql in ns.rename_table(table_now, &new.name) {
            applied.run(tx, sql).await?;
        }
    }
    if old.name != new.name {
        applied.operations.push(format!("rename collection {} to {}", old.name, new.name));
    }
    // Refuse what would lose data before changing anything.
    for f in &dropped {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE {}", ns.table(&table), not_empty(ns, &f.name, f.storage()));
        let holding: i64 = tx.scalar(AssertSqlSafe(sql), args![]).await?;
        if holding > 0 && !force {
            return Err(Error::Conflict(format!(
                "field {} holds data in {holding} records; dropping it loses that data (repeat with force=true)",
                f.name
            )));
        }
    }
    let mut conversions = Vec::new();
    for (o, n) in &pairs {
        let Some(o) = o else { continue };
        if !needs_conversion(o, n) {
            continue;
        }
        let sql = format!("SELECT \"id\", {} FROM {}", ns.json_of(&quote(&o.name), o.storage()), ns.table(&table));
        let rows: Vec<(String, String)> = tx.fetch_all(AssertSqlSafe(sql), args![]).await?;
        let mut converted = Vec::with_capacity(rows.len());
        let mut failures = Vec::new();
        for (id, text) in rows {
            let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            match coerce(&value, n) {
                Ok(v) => converted.push((id, v)),
                Err(why) => {
                    failures.push(format!("record {id}: {why}"));
                    converted.push((id, zero(n)));
                }
            }
        }
        if !failures.is_empty() && !force {
            return Err(Error::Validation(vec![kernel::error::FieldError::new(
                format!("fields.{}", n.name),
                "cannot_convert",
                format!(
                    "{} of the values of {} cannot become {}{}: {} (repeat with force=true to reset them)",
                    failures.len(),
                    o.name,
                    n.kind.as_str(),
                    if n.multiple() { " with several values" } else { "" },
                    failures.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
                ),
            )]));
        }
        conversions.push((*o, *n, converted, failures.len()));
    }

    // Indexes that change, or that cover a column about to be dropped or converted, go first.
    let old_indexes = ns.indexes(old);
    let new_indexes = ns.indexes(new);
    let touched: Vec<&str> =
        dropped.iter().map(|f| f.name.as_str()).chain(conversions.iter().map(|(o, ..)| o.name.as_str())).collect();
    let covers_touched = |sql: &str| touched.iter().any(|name| sql.contains(&quote(name)));
    for (name, sql) in &old_indexes {
        if !new_indexes.iter().any(|(n, s)| n == name && s == sql && !covers_touched(s)) {
            applied.run(tx, ns.drop_index(name)).await?;
        }
    }
    for f in &dropped {
        applied.run(tx, ns.drop_column(&table, &f.name)).await?;
        applied.operations.push(format!("drop field {}", f.name));
    }
    let renames: Vec<(&Field, &Field)> =
        pairs.iter().filter_map(|(o, n)| o.filter(|o| o.name != n.name).map(|o| (o, *n))).collect();
    // Renames that pass through each other's names (a swap, a chain) would meet a column
    // still holding the name they give: they go by way of names no field can have (no `-`).
    let crossing = renames
        .iter()
        .any(|(o, n)| kept.iter().any(|other| other.id != o.id && other.name.eq_ignore_ascii_case(&n.name)));
    let moving = |o: &Field| format!("{}-renaming", o.name);
    if crossing {
        for (o, _) in &renames {
            applied.run(tx, ns.rename_column(&table, &o.name, &moving(o))).await?;
        }
    }
    for (o, n) in &renames {
        let from = if crossing { moving(o) } else { o.name.clone() };
        applied.run(tx, ns.rename_column(&table, &from, &n.name)).await?;
        applied.operations.push(format!("rename field {} to {}", o.name, n.name));
    }
    for (o, n, values, failed) in conversions {
        let temp = format!("socle_tmp_{}", n.name);
        let mut temp_field = n.clone();
        temp_field.name = temp.clone();
        applied.run(tx, ns.add_column(&table, &temp_field)).await?;
        let update = format!("UPDATE {} SET {} = $1 WHERE \"id\" = $2", ns.table(&table), quote(&temp));
        let count = values.len();
        for (id, v) in values {
            tx.execute(AssertSqlSafe(update.clone()), vec![to_arg(v, n.storage()), id.into()]).await?;
        }
        applied.statements.push(format!("{update} -- for each of {count} records"));
        applied.run(tx, ns.drop_column(&table, &n.name)).await?;
        applied.run(tx, ns.rename_column(&table, &temp, &n.name)).await?;
        applied.operations.push(format!(
            "convert field {} from {} to {} ({count} records{})",
            n.name,
            o.kind.as_str(),
            n.kind.as_str(),
            if failed > 0 { format!(", {failed} reset by force") } else { String::new() }
        ));
    }
    for (o, n) in &pairs {
        if o.is_none() {
            applied.run(tx, ns.add_column(&table, n)).await?;
            applied.operations.push(format!("add field {}", n.name));
        }
    }
    let dropped_now: Vec<String> = applied.statements.iter().filter(|s| s.starts_with("DROP INDEX")).cloned().collect();
    for (name, sql) in &new_indexes {
        let existed = old_indexes.iter().any(|(n, s)| n == name && s == sql);
        let was_dropped = dropped_now.iter().any(|s| s.contains(&quote(name)));
        if !existed || was_dropped {
            applied.run(tx, sql.clone()).await?;
        }
    }
    if old.rules != new.rules {
        applied.operations.push("change access rules".into());
    }
    if applied.operations.is_empty() && !applied.statements.is_empty() {
        applied.operations.push("change indexes".into());
    }
    Ok(applied)
}
