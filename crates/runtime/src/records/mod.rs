//! Records of an app's collections: PocketBase's list, view, create, update and delete, each
//! checked against the collection's rule for the action with `@request.*` bound.

pub mod list;
mod modifiers;
pub mod routes;
pub mod uploads;
pub mod validate;

pub use list::{ListQuery, ListResult, list};
pub use routes::routes;

use collections::ddl::quote;
use collections::model::{Collection, CollectionType, FieldKind};
use collections::schema::compile_filter_from;
use kernel::Exec;
use kernel::db::Arg;
use kernel::{Tx, args};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sqlx::AssertSqlSafe;

use crate::context::{AppCtx, Requester};
use crate::pb::{PbError, PbResult};
use crate::realtime::Action;

pub const DEFAULT_PER_PAGE: i64 = 30;
pub const MAX_PER_PAGE: i64 = 1000;
const MAX_EXPAND_DEPTH: usize = 6;

/// What the request carries for `@request.body` and `@request.query`.
pub struct RequestData<'a> {
    pub body: &'a Value,
    pub query: &'a Value,
}

/// An expression (a rule or a filter) on `c` as a SQL condition on `r`, with `@request.*`
/// bound to this request and its parameters numbered from `first_param`.
fn compile_for_request(
    ctx: &AppCtx,
    c: &Collection,
    expression: &str,
    data: &RequestData<'_>,
    first_param: usize,
) -> kernel::Result<(String, Vec<Arg>)> {
    let auth = ctx.auth_value();
    let eval_ctx = expr::eval::Context {
        record: &Value::Null,
        auth: auth.as_ref(),
        body: data.body,
        query: data.query,
        now: kernel::time::now(),
    };
    compile_filter_from(&ctx.schema, &c.name, expression, &eval_ctx, ctx.db.kind(), first_param)
}

/// A rule as a SQL condition on `r`; `None` when nothing restricts (superuser or `""`).
/// A missing rule is for superusers only.
fn rule_condition(
    ctx: &AppCtx,
    c: &Collection,
    rule: &Option<String>,
    data: &RequestData<'_>,
    first_param: usize,
) -> PbResult<Option<(String, Vec<Arg>)>> {
    if ctx.is_superuser() {
        return Ok(None);
    }
    let Some(rule) = rule else { return Err(PbError::superusers_only()) };
    if rule.trim().is_empty() {
        return Ok(None);
    }
    match compile_for_request(ctx, c, rule, data, first_param) {
        Ok(cond) => Ok(Some(cond)),
        Err(e) => {
            // A rule that cannot run (say, a path through a value the request did not send)
            // denies; it never allows.
            tracing::debug!(collection = %c.name, error = %e, "rule could not be compiled; denying");
            Ok(Some(("(1=0)".into(), Vec::new())))
        }
    }
}

/// A record as PocketBase returns it: with its collection, without hidden fields.
pub fn present(ctx: &AppCtx, c: &Collection, mut row: Map<String, Value>) -> Value {
    let own = matches!(&ctx.requester, Requester::User { collection, record }
        if collection.id == c.id && record.get("id") == row.get("id"));
    for f in &c.fields {
        let always_hidden = matches!(f.kind, FieldKind::Password) || f.name == "tokenKey";
        if always_hidden || (f.hidden && !ctx.is_superuser()) {
            row.remove(&f.name);
        }
    }
    if c.kind == CollectionType::Auth
        && !ctx.is_superuser()
        && !own
        && row.get("emailVisibility").and_then(Value::as_bool) != Some(true)
    {
        row.remove("email");
    }
    row.insert("collectionId".into(), Value::String(c.id.clone()));
    row.insert("collectionName".into(), Value::String(c.name.clone()));
    Value::Object(row)
}

/// What to select from: the collection's table, or for a view its query as a subquery, whose
/// filter parameters are appended to `args` (so call this after the other conditions).
fn source(ctx: &AppCtx, c: &Collection, args: &mut Vec<Arg>) -> PbResult<String> {
    if c.kind != CollectionType::View {
        return Ok(ctx.ns().table(&c.name));
    }
    let broken = || PbError::bad_request("This view's query no longer matches its collections; redeploy it.");
    let view = c.view_query.as_deref().and_then(|q| collections::input::parse_view_query(q).ok()).ok_or_else(broken)?;
    let columns = match &view.columns {
        None => "r.*".to_string(),
        Some(cols) => {
            let mut out = vec!["r.\"id\" AS \"id\"".to_string()];
            out.extend(cols.iter().filter(|(f, _)| f != "id").map(|(f, a)| format!("r.{} AS {}", quote(f), quote(a))));
            out.join(", ")
        }
    };
    let table = ctx.schema.get(&view.source).filter(|s| s.kind != CollectionType::View).ok_or_else(broken)?;
    let mut sql = format!("(SELECT {columns} FROM {} AS r", ctx.ns().table(&table.name));
    if let Some(filter) = view.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        let ctx_eval = expr::eval::Context {
            record: &Value::Null,
            auth: None,
            body: &Value::Null,
            query: &Value::Null,
            now: kernel::time::now(),
        };
        let (cond, a) = compile_filter_from(&ctx.schema, &table.name, filter, &ctx_eval, ctx.db.kind(), args.len() + 1)
            .map_err(|_| broken())?;
        sql.push_str(&format!(" WHERE {cond}"));
        args.extend(a);
    }
    sql.push(')');
    Ok(sql)
}

/// The rows of `c` (its table or its view's subquery, see [`source`]) matching `cond`.
async fn fetch_rows(ctx: &AppCtx, c: &Collection, cond: &str, args: Vec<Arg>) -> PbResult<Vec<Map<String, Value>>> {
    fetch_rows_in(Exec::Db(&ctx.db), ctx, c, cond, args).await
}

/// [`fetch_rows`] through `reads` (a batch's transaction sees its own earlier steps).
async fn fetch_rows_in(
    mut reads: Exec<'_>,
    ctx: &AppCtx,
    c: &Collection,
    cond: &str,
    mut args: Vec<Arg>,
) -> PbResult<Vec<Map<String, Value>>> {
    let src = source(ctx, c, &mut args)?;
    let sql = format!("SELECT {} FROM {src} AS r WHERE {cond}", ctx.schema.row_json(c));
    Ok(collections::rows::parse_rows(reads.fetch_texts(AssertSqlSafe(sql), args).await?)?)
}

/// The condition selecting record `id` when `rule` lets the requester see it.
fn id_under_rule(
    ctx: &AppCtx,
    c: &Collection,
    id: &str,
    rule: &Option<String>,
    data: &RequestData<'_>,
) -> PbResult<(String, Vec<Arg>)> {
    let mut args: Vec<Arg> = args![id];
    let mut cond = "r.\"id\" = $1".to_string();
    if let Some((sql, a)) = rule_condition(ctx, c, rule, data, 2)? {
        cond = format!("{cond} AND {sql}");
        args.extend(a);
    }
    Ok((cond, args))
}

/// One record the requester may see under `rule` (404 otherwise).
pub(crate) async fn find_with_rule(
    ctx: &AppCtx,
    c: &Collection,
    id: &str,
    rule: &Option<String>,
    data: &RequestData<'_>,
) -> PbResult<Map<String, Value>> {
    find_with_rule_in(Exec::Db(&ctx.db), ctx, c, id, rule, data).await
}

/// [`find_with_rule`] through `reads` (see [`fetch_rows_in`]).
async fn find_with_rule_in(
    reads: Exec<'_>,
    ctx: &AppCtx,
    c: &Collection,
    id: &str,
    rule: &Option<String>,
    data: &RequestData<'_>,
) -> PbResult<Map<String, Value>> {
    let (cond, args) = id_under_rule(ctx, c, id, rule, data)?;
    fetch_rows_in(reads, ctx, c, &cond, args).await?.into_iter().next().ok_or_else(PbError::not_found)
}

pub async fn view(ctx: &AppCtx, c: &Collection, id: &str, data: &RequestData<'_>) -> PbResult<Value> {
    let row = find_with_rule(ctx, c, id, &c.rules.view_rule, data).await?;
    Ok(present(ctx, c, row))
}

/// [`view`] as SQL builds it whole, sent without being parsed, for a collection that has
/// such a form (see `Namespace::presented_row_json`); `None` otherwise.
pub async fn view_as_read(
    ctx: &AppCtx,
    c: &Collection,
    id: &str,
    data: &RequestData<'_>,
) -> PbResult<Option<Box<RawValue>>> {
    let Some(row_json) = ctx.schema.presented_row_json(c) else { return Ok(None) };
    let (cond, mut args) = id_under_rule(ctx, c, id, &c.rules.view_rule, data)?;
    let src = source(ctx, c, &mut args)?;
    let sql = format!("SELECT {row_json} FROM {src} AS r WHERE {cond}");
    let text = ctx.db.fetch_texts(AssertSqlSafe(sql), args).await?.into_iter().next().ok_or_else(PbError::not_found)?;
    Ok(Some(RawValue::from_string(text).map_err(kernel::Error::internal)?))
}

/// Read a record without rules (after a write the requester was allowed to make).
pub async fn load(ctx: &AppCtx, c: &Collection, id: &str) -> PbResult<Map<String, Value>> {
    fetch_rows(ctx, c, "r.\"id\" = $1", args![id]).await?.into_iter().next().ok_or_else(PbError::not_found)
}

pub async fn create(
    ctx: &AppCtx,
    state: &crate::RuntimeState,
    c: &Collection,
    body: &Map<String, Value>,
    query: &Value,
    new_files: &[String],
) -> PbResult<Map<String, Value>> {
    // Validated before the write transaction: the writer is the one resource every write
    // queues for, so it holds nothing but the statements.
    let (rule, prepared) = check_create(Exec::Db(&ctx.db), ctx, state, c, body, query, new_files).await?;
    let created = async {
        let mut tx = ctx.db.begin_inline().await?;
        let row = insert_created(&mut tx, ctx, state, c, &prepared.values, rule).await?;
        tx.commit().await?;
        Ok::<_, PbError>(row)
    }
    .await;
    let created = match created {
        Err(lost) if lost.is_unique_violation() => {
            Err(validate::taken_meanwhile(ctx, c, &prepared.values, None, lost).await)
        }
        other => other,
    };
    if created.is_err() {
        // The record charged in `check_create` was not made after all.
        state.usage.note(&ctx.app.organization_id, kernel::Metric::Records, -1);
    }
    created
}

/// The create rule's SQL condition (if it needs the stored record) and the validated values.
#[allow(clippy::too_many_arguments)]
async fn check_create(
    reads: Exec<'_>,
    ctx: &AppCtx,
    state: &crate::RuntimeState,
    c: &Collection,
    body: &Map<String, Value>,
    query: &Value,
    new_files: &[String],
) -> PbResult<(Option<(String, Vec<Arg>)>, validate::Prepared)> {
    if c.kind == CollectionType::View {
        return Err(PbError::bad_request("View collections are read-only."));
    }
    let body_value = Value::Object(body.clone());
    let data = RequestData { body: &body_value, query };
    // Superusers-only collections refuse before anything is validated.
    let rule = rule_condition(ctx, c, &c.rules.create_rule, &data, 2)?;
    let body = modifiers::applied(c, body, None);
    let prepared = validate::prepare(reads, ctx, state, c, &body, None, new_files).await?;
    // Last, so that a refused or invalid record is not counted.
    state.usage.charge(&ctx.app.organization_id, kernel::Metric::Records, 1).await?;
    Ok((rule, prepared))
}

/// Create inside the caller's transaction (batches); returns the record as stored.
pub async fn create_in(
    tx: &mut Tx,
    ctx: &AppCtx,
    state: &crate::RuntimeState,
    c: &Collection,
    body: &Map<String, Value>,
    query: &Value,
    new_files: &[String],
) -> PbResult<Map<String, Value>> {
    // Checked through the batch's transaction: it sees the batch's earlier steps.
    let (rule, prepared) = check_create(Exec::Tx(&mut *tx), ctx, state, c, body, query, new_files).await?;
    insert_created(tx, ctx, state, c, &prepared.values, rule).await
}

async fn insert_created(
    tx: &mut Tx,
    ctx: &AppCtx,
    state: &crate::RuntimeState,
    c: &Collection,
    values: &Map<String, Value>,
    rule: Option<(String, Vec<Arg>)>,
) -> PbResult<Map<String, Value>> {
    let statement = ctx.schema.insert_returning(c);
    let row = collections::rows::insert_row_returning(tx, statement, c, values).await.map_err(|e| match e {
        // A given id that is taken; another unique index keeps the database's answer, which
        // `create` turns into the field it names.
        kernel::Error::Conflict(m) if m != kernel::error::UNIQUE_VIOLATION => {
            PbError::field("Failed to create record.", "id", "validation_not_unique", "Value must be unique.")
        }
        other => other.into(),
    })?;
    let id = row.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    append_record_event(tx, ctx, c, "record.created", &row, None).await?;
    // The rule sees the record as it would be stored, as PocketBase checks it.
    if let Some((sql, a)) = rule
        && !collections::records::row_matches(&mut *tx, ctx.ns(), c, &id, &sql, a).await?
    {
        return Err(PbError::bad_request("Failed to create record."));
    }
    publish_after_commit(tx, ctx, state, c, Action::Create, row.clone());
    Ok(row)
}

pub async fn update(
    ctx: &AppCtx,
    state: &crate::RuntimeState,
    c: &Collection,
    id: &str,
    body: &Map<String, Value>,
    query: &Value,
    new_files: &[String],
) -> PbResult<Map<String, Value>> {
    // Read and validated before the write transaction, as `create` is: a transaction holds
    // the writer (SQLite) or a connection (PostgreSQL) for its statements only, never while
    // these reads wait for a connection of their own (concurrent updates on PostgreSQL
    // would otherwise take every connection and wait for one more).
    let (existing, prepared) = check_update(Exec::Db(&ctx.db), ctx, state, c, id, body, query, new_files).await?;
    let written = async {
        let mut tx = ctx.db.begin_inline().await?;
        set_columns(&mut tx, ctx, state, c, existing, &prepared.values).await?;
        tx.commit().await.map_err(PbError::from)
    }
    .await;
    match written {
        Err(lost) if lost.is_unique_violation() => {
            return Err(validate::taken_meanwhile(ctx, c, &prepared.values, Some(id), lost).await);
        }
        other => other?,
    }
    load(ctx, c, id).await
}

/// Update inside the caller's transaction (batches).
#[allow(clippy::too_many_arguments)]
pub async fn update_in(
    tx: &mut Tx,
    ctx: &AppCtx,
    state: &crate::RuntimeState,
    c: &Collection,
    id: &str,
    body: &Map<String, Value>,
    query: &Value,
    new_files: &[String],
) -> PbResult<()> {
    let (existing, prepared) = check_update(Exec::Tx(&mut *tx), ctx, state, c, id, body, query, new_files).await?;
    set_columns(tx, ctx, state, c, existing, &prepared.values).await
}

/// The record to update, found under the update rule, and its new values, validated; read
/// through `reads` (see [`fetch_rows_in`]).
#[allow(clippy::too_many_arguments)]
async fn check_update(
    mut reads: Exec<'_>,
    ctx: &AppCtx,
    state: &crate::RuntimeState,
    c: &Collection,
    id: &str,
    body: &Map<String, Value>,
    query: &Value,
    new_files: &[String],
) -> PbResult<(Map<String, Value>, validate::Prepared)> {
    if c.kind == CollectionType::View {
        return Err(PbError::bad_request("View collections are read-only."));
    }
    let body_value = Value::Object(body.clone());
    let data = RequestData { body: &body_value, query };
    let existing = find_with_rule_in(reads.reborrow(), ctx, c, id, &c.rules.update_rule, &data).await?;
    let body = modifiers::applied(c, body, Some(&existing));
    let prepared = validate::prepare(reads, ctx, state, c, &body, Some(&existing), new_files).await?;
    Ok((existing, prepared))
}

/// Write `values` (validated, as stored) over record `existing` in `tx`, append the
/// `record.updated` event and publish it after commit: the end of every update, whoever
/// makes it (the records API, a batch, a workflow step, an auth flow).
pub async fn set_columns(
    tx: &mut Tx,
    ctx: &AppCtx,
    state: &crate::RuntimeState,
    c: &Collection,
    existing: Map<String, Value>,
    values: &Map<String, Value>,
) -> PbResult<()> {
    let id = existing.get("id").and_then(Value::as_str).unwrap_or_default();
    collections::records::update_columns(&mut *tx, ctx.ns(), c, id, values).await?;
    let mut after = existing.clone();
    for (k, v) in values {
        after.insert(k.clone(), v.clone());
    }
    append_record_event(tx, ctx, c, "record.updated", &after, Some(&existing)).await?;
    publish_after_commit(tx, ctx, state, c, Action::Update, after);
    Ok(())
}

/// Remove the stored files of a record deleted by a cascade once `tx` commits (never when
/// it rolls back: the record would still name them).
fn prune_files_after_commit(
    tx: &mut Tx,
    ctx: &AppCtx,
    state: &crate::RuntimeState,
    c: &Collection,
    row: &Map<String, Value>,
) {
    let Some(id) = row.get("id").and_then(Value::as_str).map(str::to_string) else { return };
    let (state, app, c) = (state.clone(), ctx.app.id.clone(), c.clone());
    tx.after_commit(move || {
        tokio::spawn(async move { crate::files::prune(&state, &app, &c, &id, &[]).await });
    });
}

/// Hand the change to realtime subscribers once `tx` commits (never when it rolls back).
/// Every record write goes through here, whoever makes it: the records API, a batch, a
/// workflow step.
fn publish_after_commit(
    tx: &mut Tx,
    ctx: &AppCtx,
    state: &crate::RuntimeState,
    c: &Collection,
    action: Action,
    row: Map<String, Value>,
) {
    let (state, schema, app_id, collection_id) = (state.clone(), ctx.schema.clone(), ctx.app.id.clone(), c.id.clone());
    tx.after_commit(move || {
        if let Some(c) = schema.collections.iter().find(|c| c.id == collection_id) {
            crate::realtime::publish(&state, &app_id, c, action, row);
        }
    });
}

/// The kinds of the outbox events record writes append.
pub const RECORD_EVENT_KINDS: [&str; 3] = ["record.created", "record.updated", "record.deleted"];

/// The outbox scope of an app's record events that workflows declare interest in.
pub fn app_events_scope(app_id: &str) -> String {
    format!("records:app:{app_id}")
}

/// The outbox scope of the record events of an organization's apps that webhooks declare
/// interest in.
pub fn organization_events_scope(organization_id: &str) -> String {
    format!("records:org:{organization_id}")
}

/// Append `record.created` / `updated` / `deleted` to the outbox, in the write's
/// transaction: workflows and webhooks react to it after commit. Secrets (password hash,
/// token key, hidden fields) are left out. Nothing is appended while no workflow of the app
/// and no webhook of its organization wants record events (see `kernel::outbox::wanted`):
/// the event and its dispatch cost a record write as much as the write itself.
async fn append_record_event(
    tx: &mut Tx,
    ctx: &AppCtx,
    c: &Collection,
    kind: &str,
    record: &Map<String, Value>,
    before: Option<&Map<String, Value>>,
) -> PbResult<()> {
    let scopes = [app_events_scope(&ctx.app.id), organization_events_scope(&ctx.app.organization_id)];
    if !kernel::outbox::wanted(tx, [&scopes[0], &scopes[1]]).await? {
        return Ok(());
    }
    let public = |r: &Map<String, Value>| -> Value {
        let mut r = r.clone();
        r.remove("password");
        r.remove("tokenKey");
        for f in c.columns().filter(|f| f.hidden) {
            r.remove(&f.name);
        }
        r.insert("collectionId".into(), Value::String(c.id.clone()));
        r.insert("collectionName".into(), Value::String(c.name.clone()));
        Value::Object(r)
    };
    let mut payload = serde_json::json!({
        "app_id": ctx.app.id,
        "deployment": ctx.app.deployment,
        "collection": c.name,
        "collection_id": c.id,
        "record": public(record),
    });
    if let Some(b) = before {
        payload["before"] = public(b);
    }
    kernel::outbox::append(tx, kernel::outbox::NewEvent::new(kind, Some(&ctx.app.organization_id), payload)).await?;
    Ok(())
}

/// Delete a record; returns it as it was.
pub async fn delete(
    ctx: &AppCtx,
    state: &crate::RuntimeState,
    c: &Collection,
    id: &str,
    query: &Value,
) -> PbResult<Map<String, Value>> {
    // Found under the delete rule before the write transaction (see `update`).
    let row = check_delete(Exec::Db(&ctx.db), ctx, c, id, query).await?;
    let mut tx = ctx.db.begin_inline().await?;
    let row = delete_found(&mut tx, ctx, state, c, row).await?;
    tx.commit().await?;
    Ok(row)
}

/// Delete inside the caller's transaction (batches); returns the record as it was.
pub async fn delete_in(
    tx: &mut Tx,
    ctx: &AppCtx,
    state: &crate::RuntimeState,
    c: &Collection,
    id: &str,
    query: &Value,
) -> PbResult<Map<String, Value>> {
    let row = check_delete(Exec::Tx(&mut *tx), ctx, c, id, query).await?;
    delete_found(tx, ctx, state, c, row).await
}

/// The record to delete, found under the delete rule, through `reads`.
async fn check_delete(
    reads: Exec<'_>,
    ctx: &AppCtx,
    c: &Collection,
    id: &str,
    query: &Value,
) -> PbResult<Map<String, Value>> {
    if c.kind == CollectionType::View {
        return Err(PbError::bad_request("View collections are read-only."));
    }
    let data = RequestData { body: &Value::Null, query };
    find_with_rule_in(reads, ctx, c, id, &c.rules.delete_rule, &data).await
}

/// Delete `row` (found by [`check_delete`]) in `tx`, with what references it.
async fn delete_found(
    tx: &mut Tx,
    ctx: &AppCtx,
    state: &crate::RuntimeState,
    c: &Collection,
    row: Map<String, Value>,
) -> PbResult<Map<String, Value>> {
    let id = row.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    let id = id.as_str();
    let consequences =
        collections::records::delete_with_references(&mut *tx, ctx.ns(), &ctx.schema.collections, c, id).await?;
    let removed = 1 + consequences.iter().filter(|c| c.deleted).count() as i64;
    let (usage, org) = (state.usage.clone(), ctx.app.organization_id.clone());
    tx.after_commit(move || usage.note(&org, kernel::Metric::Records, -removed));
    // Records deleted by a cascade or stripped of the reference are changes like any other.
    for changed in consequences {
        let (kind, action) =
            if changed.deleted { ("record.deleted", Action::Delete) } else { ("record.updated", Action::Update) };
        append_record_event(tx, ctx, changed.collection, kind, &changed.row, None).await?;
        if changed.deleted && crate::files::has_file_fields(changed.collection) {
            prune_files_after_commit(tx, ctx, state, changed.collection, &changed.row);
        }
        publish_after_commit(tx, ctx, state, changed.collection, action, changed.row);
    }
    append_record_event(tx, ctx, c, "record.deleted", &row, None).await?;
    publish_after_commit(tx, ctx, state, c, Action::Delete, row.clone());
    Ok(row)
}

/// Add `expand` to records: each path (`author`, `author.org`, `tags_rel`) follows a
/// relation field; related records are read under their collection's view rule.
pub fn expand<'a>(
    ctx: &'a AppCtx,
    c: &'a Collection,
    records: &'a mut [Value],
    paths: &'a [Vec<String>],
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = PbResult<()>> + Send + 'a>> {
    Box::pin(async move {
        if depth >= MAX_EXPAND_DEPTH || paths.is_empty() {
            return Ok(());
        }
        let mut heads: Vec<&str> = paths.iter().filter_map(|p| p.first().map(String::as_str)).collect();
        heads.sort();
        heads.dedup();
        for head in heads {
            let Some(f) = c.field(head).filter(|f| f.kind == FieldKind::Relation) else { continue };
            let Some(target) =
                f.collection_id.as_deref().and_then(|t| ctx.schema.collections.iter().find(|o| o.id == t))
            else {
                continue;
            };
            let rest: Vec<Vec<String>> = paths
                .iter()
                .filter(|p| p.first().map(String::as_str) == Some(head) && p.len() > 1)
                .map(|p| p[1..].to_vec())
                .collect();
            let mut ids: Vec<String> = Vec::new();
            for r in records.iter() {
                match r.get(head) {
                    Some(Value::String(s)) if !s.is_empty() => ids.push(s.clone()),
                    Some(Value::Array(items)) => ids.extend(items.iter().filter_map(Value::as_str).map(str::to_string)),
                    _ => {}
                }
            }
            ids.sort();
            ids.dedup();
            if ids.is_empty() || target.kind == CollectionType::View {
                continue;
            }
            let data = RequestData { body: &Value::Null, query: &Value::Null };
            let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
            let mut cond = format!("r.\"id\" IN ({})", placeholders.join(", "));
            let mut a: Vec<Arg> = ids.iter().map(|s| s.as_str().into()).collect();
            match rule_condition(ctx, target, &target.rules.view_rule, &data, ids.len() + 1) {
                Ok(Some((sql, more))) => {
                    cond = format!("{cond} AND {sql}");
                    a.extend(more);
                }
                Ok(None) => {}
                Err(_) => continue,
            }
            let mut related: Vec<Value> =
                fetch_rows(ctx, target, &cond, a).await?.into_iter().map(|r| present(ctx, target, r)).collect();
            expand(ctx, target, &mut related, &rest, depth + 1).await?;
            for r in records.iter_mut() {
                let value = match r.get(head) {
                    Some(Value::String(s)) => {
                        related.iter().find(|x| x.get("id").and_then(Value::as_str) == Some(s)).cloned()
                    }
                    Some(Value::Array(items)) => {
                        let found: Vec<Value> = items
                            .iter()
                            .filter_map(|id| related.iter().find(|x| x.get("id") == Some(id)).cloned())
                            .collect();
                        (!found.is_empty()).then_some(Value::Array(found))
                    }
                    _ => None,
                };
                if let (Some(value), Some(obj)) = (value, r.as_object_mut()) {
                    let entry = obj.entry("expand").or_insert_with(|| Value::Object(Map::new()));
                    if let Some(e) = entry.as_object_mut() {
                        e.insert(head.to_string(), value);
                    }
                }
            }
        }
        Ok(())
    })
}

/// `expand=author,comments.user` as paths.
pub fn parse_expand(s: Option<&str>) -> Vec<Vec<String>> {
    s.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .take(20)
        .map(|p| p.split('.').map(str::to_string).collect())
        .collect()
}

/// Keep only `fields=id,title,expand.author.name` (`*` keeps a level whole).
pub fn project_fields(value: &mut Value, fields: Option<&str>) {
    let Some(fields) = fields.map(str::trim).filter(|f| !f.is_empty()) else { return };
    let paths: Vec<Vec<&str>> =
        fields.split(',').map(|p| p.trim().split(':').next().unwrap_or("").split('.').collect()).collect();
    keep(value, &paths);
}

fn keep(value: &mut Value, paths: &[Vec<&str>]) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|v| keep(v, paths)),
        Value::Object(map) => {
            if paths.iter().any(|p| p.len() == 1 && p[0] == "*") {
                return;
            }
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let sub: Vec<Vec<&str>> = paths
                    .iter()
                    .filter(|p| p.first() == Some(&k.as_str()) || p.first() == Some(&"*"))
                    .map(|p| p[1..].to_vec())
                    .collect();
                if sub.is_empty() {
                    map.remove(&k);
                } else if !sub.iter().any(Vec::is_empty)
                    && let Some(child) = map.get_mut(&k)
                {
                    keep(child, &sub);
                }
            }
        }
        _ => {}
    }
}
