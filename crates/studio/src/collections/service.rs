//! Collection rules: create, change, delete and import definitions, each applied to the
//! collection's table in the same transaction as the definition, the migration history
//! entry and the audit entry. Schema changes of one project are serialized by a lock on the
//! project row (its schema version).

use kernel::context::RequestContext;
use kernel::error::FieldError;
use kernel::principal::Principal;
use kernel::{Db, Error, Exec, OrgRole, Result, Tx, args};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::audit::{self, entry};
use crate::projects::{ProjectAccess, access};
use collections::apply::{self, Applied};
use collections::ddl::Namespace;
use collections::input::{self, is_pocketbase_system};
use collections::model::{Collection, MAX_COLLECTIONS};
use collections::schema::validate_all;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Migration {
    pub seq: i64,
    pub collection_id: String,
    pub collection_name: String,
    /// What changed, in words.
    #[schema(value_type = Vec<String>)]
    pub operations: Json<Value>,
    /// The SQL statements run, for this database.
    #[schema(value_type = Vec<String>)]
    pub statements: Json<Value>,
    pub actor_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    /// PocketBase's own system collections (`_superusers`, ...), which are not imported.
    pub skipped: Vec<String>,
}

/// PocketBase's default `users` collection, which every new project starts with.
pub fn default_users_collection() -> Value {
    json!({
        "id": "_pb_users_auth_",
        "name": "users",
        "type": "auth",
        "fields": [
            {"name": "name", "type": "text", "max": 255},
            {"name": "avatar", "type": "file", "maxSelect": 1, "maxSize": 5242880,
             "mimeTypes": ["image/jpeg", "image/png", "image/svg+xml", "image/gif", "image/webp"]}
        ],
        "listRule": "id = @request.auth.id",
        "viewRule": "id = @request.auth.id",
        "createRule": "",
        "updateRule": "id = @request.auth.id",
        "deleteRule": "id = @request.auth.id"
    })
}

/// The project's collections, in the caller's transaction or on their own.
pub async fn load(ex: impl Into<Exec<'_>>, project_id: &str) -> Result<Vec<Collection>> {
    let rows: Vec<(Json<Collection>,)> = ex
        .into()
        .fetch_all(
            "SELECT definition FROM studio_collections WHERE project_id = $1 ORDER BY created_at, name",
            args![project_id],
        )
        .await?;
    Ok(rows.into_iter().map(|(c,)| c.0).collect())
}

fn find<'a>(all: &'a [Collection], key: &str) -> Option<&'a Collection> {
    all.iter().find(|c| c.id == key).or_else(|| all.iter().find(|c| c.name == key))
}

/// Take the project's schema lock (PostgreSQL row lock; SQLite has one writer anyway).
async fn lock(tx: &mut Tx, project_id: &str) -> Result<()> {
    crate::projects::hold(tx, project_id, crate::projects::Hold::Schema).await
}

/// The number of the project's next schema history entry (the schema lock is held).
async fn next_history_seq(tx: &mut Tx, project_id: &str) -> Result<i64> {
    tx.scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM studio_schema_migrations WHERE project_id = $1", args![project_id])
        .await
}

async fn record_history(tx: &mut Tx, project_id: &str, c: &Collection, applied: &Applied, actor: &str) -> Result<()> {
    let seq = next_history_seq(tx, project_id).await?;
    tx.execute(
        "INSERT INTO studio_schema_migrations (project_id, seq, collection_id, collection_name, operations, statements, actor_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![project_id, seq, &c.id, &c.name, json!(applied.operations), json!(applied.statements), actor, kernel::time::now()],
    )
    .await?;
    Ok(())
}

async fn save_definition(tx: &mut Tx, project_id: &str, c: &Collection, creating: bool) -> Result<()> {
    let definition = serde_json::to_value(c).map_err(Error::internal)?;
    let now = kernel::time::now();
    if creating {
        tx.execute(
            "INSERT INTO studio_collections (project_id, id, name, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
            args![project_id, &c.id, &c.name, definition, now],
        )
        .await?;
    } else {
        tx.execute(
            "UPDATE studio_collections SET name = $3, definition = $4, updated_at = $5 WHERE project_id = $1 AND id = $2",
            args![project_id, &c.id, &c.name, definition, now],
        )
        .await?;
    }
    Ok(())
}

/// A fresh collection id in PocketBase's style.
fn new_collection_id() -> String {
    format!("pbc_{}", &kernel::ids::sha256_hex(&kernel::ids::new_id())[..10])
}

/// Create several collections at once (project creation, duplicate, import), validated
/// together with `existing`.
pub async fn create_many(
    tx: &mut Tx,
    ns: &Namespace,
    project_id: &str,
    actor: &str,
    new: Vec<Collection>,
    existing: &[Collection],
) -> Result<Vec<Collection>> {
    if existing.len() + new.len() > MAX_COLLECTIONS as usize {
        return Err(Error::field(
            "collections",
            "too_many",
            format!("a project has at most {MAX_COLLECTIONS} collections"),
        ));
    }
    let mut all: Vec<Collection> = existing.to_vec();
    all.extend(new.iter().cloned());
    let focus = (new.len() == 1).then(|| new[0].name.clone());
    validate_all(&mut all, focus.as_deref()).map_err(Error::Validation)?;
    let created: Vec<Collection> = all.split_off(existing.len());
    lock(tx, project_id).await?;
    for c in &created {
        if existing.iter().any(|e| e.id == c.id) {
            return Err(Error::field(
                "id",
                "taken",
                format!("the project already has a collection with id {:?}", c.id),
            ));
        }
        let applied = apply::create(tx, ns, c).await?;
        save_definition(tx, project_id, c, true).await?;
        record_history(tx, project_id, c, &applied, actor).await?;
    }
    Ok(created)
}

pub async fn list(db: &Db, principal: &Principal, project_id: &str) -> Result<Vec<Collection>> {
    access(db, principal, project_id, OrgRole::Member).await?;
    load(db, project_id).await
}

pub async fn get(db: &Db, principal: &Principal, project_id: &str, key: &str) -> Result<Collection> {
    let all = list(db, principal, project_id).await?;
    find(&all, key).cloned().ok_or_else(|| Error::not_found("collection"))
}

pub async fn create(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    project_id: &str,
    raw: Value,
) -> Result<Collection> {
    let p = access(db, principal, project_id, OrgRole::Member).await?;
    let c = input::read(&raw, &new_collection_id()).map_err(Error::Validation)?;
    let mut tx = db.begin().await?;
    // Locked before reading: two creations of one name must not both find it free.
    lock(&mut tx, project_id).await?;
    let existing = load(&mut tx, project_id).await?;
    let created = create_many(&mut tx, &p.namespace, project_id, principal.actor_id(), vec![c], &existing).await?;
    let c = created.into_iter().next().ok_or_else(|| Error::internal("no collection created"))?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(
            audit::COLLECTION_CREATED,
            "collection",
            principal,
            &p.organization_id,
            &c.id,
            format!("collection {} created in project {project_id}", c.name),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(c)
}

/// PocketBase's PATCH semantics: top-level keys present replace the stored ones.
fn merge(current: &Collection, patch: &Value) -> Result<Value> {
    let mut base = serde_json::to_value(current).map_err(Error::internal)?;
    let Some(patch) = patch.as_object() else {
        return Err(Error::Validation(vec![FieldError::new(
            "",
            "invalid_type",
            "a collection change is a JSON object",
        )]));
    };
    if let Some(obj) = base.as_object_mut() {
        for (k, v) in patch {
            if k == "id" {
                continue;
            }
            obj.insert(k.clone(), v.clone());
        }
        // The pre-0.23 key replaces `fields` when given.
        if patch.contains_key("schema") {
            obj.remove("fields");
        }
    }
    Ok(base)
}

async fn change(
    tx: &mut Tx,
    p: &ProjectAccess,
    actor: &str,
    key: &str,
    raw: &Value,
    force: bool,
    all: &mut [Collection],
) -> Result<Collection> {
    let current = find(all, key).cloned().ok_or_else(|| Error::not_found("collection"))?;
    let merged = merge(&current, raw)?;
    let mut next = input::read(&merged, &current.id).map_err(Error::Validation)?;
    next.id = current.id.clone();
    let index = all.iter().position(|c| c.id == current.id).ok_or_else(|| Error::not_found("collection"))?;
    all[index] = next;
    let focus = all[index].name.clone();
    validate_all(all, Some(&focus)).map_err(Error::Validation)?;
    let next = all[index].clone();
    let applied = apply::alter(tx, &p.namespace, &current, &next, force).await?;
    save_definition(tx, &p.id, &next, false).await?;
    if !applied.operations.is_empty() || !applied.statements.is_empty() {
        record_history(tx, &p.id, &next, &applied, actor).await?;
    }
    Ok(next)
}

pub async fn update(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    project_id: &str,
    key: &str,
    raw: Value,
    force: bool,
) -> Result<Collection> {
    let p = access(db, principal, project_id, OrgRole::Member).await?;
    let mut tx = db.begin().await?;
    lock(&mut tx, project_id).await?;
    let mut all = load(&mut tx, project_id).await?;
    let c = change(&mut tx, &p, principal.actor_id(), key, &raw, force, &mut all).await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(
            audit::COLLECTION_UPDATED,
            "collection",
            principal,
            &p.organization_id,
            &c.id,
            format!("collection {} changed", c.name),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(c)
}

pub async fn delete(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    project_id: &str,
    key: &str,
    force: bool,
) -> Result<()> {
    let p = access(db, principal, project_id, OrgRole::Member).await?;
    let mut tx = db.begin().await?;
    lock(&mut tx, project_id).await?;
    let mut all = load(&mut tx, project_id).await?;
    let c = find(&all, key).cloned().ok_or_else(|| Error::not_found("collection"))?;
    all.retain(|o| o.id != c.id);
    // Nothing left may point at it: relations, view queries, rules.
    for other in &all {
        if other.fields.iter().any(|f| f.collection_id.as_deref() == Some(c.id.as_str())) {
            return Err(Error::Conflict(format!(
                "collection {} has a relation to {}; remove it first",
                other.name, c.name
            )));
        }
    }
    validate_all(&mut all, None).map_err(|errors| {
        Error::Conflict(format!(
            "other collections refer to {}: {}",
            c.name,
            errors.iter().map(|e| format!("{} ({})", e.field, e.message)).collect::<Vec<_>>().join("; ")
        ))
    })?;
    let applied = apply::drop(&mut tx, &p.namespace, &c, force).await?;
    tx.execute("DELETE FROM studio_collections WHERE project_id = $1 AND id = $2", args![project_id, &c.id]).await?;
    record_history(&mut tx, project_id, &c, &applied, principal.actor_id()).await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(
            audit::COLLECTION_DELETED,
            "collection",
            principal,
            &p.organization_id,
            &c.id,
            format!("collection {} deleted", c.name),
        ),
    )
    .await?;
    tx.commit().await
}

/// Import PocketBase collection JSON: collections matched by id or name are changed, the
/// others created; everything is validated first and applied in one transaction.
pub async fn import(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    project_id: &str,
    raw: Vec<Value>,
    force: bool,
) -> Result<ImportResult> {
    let p = access(db, principal, project_id, OrgRole::Member).await?;
    let mut result = ImportResult { created: Vec::new(), updated: Vec::new(), skipped: Vec::new() };
    let mut tx = db.begin().await?;
    lock(&mut tx, project_id).await?;
    let mut all = load(&mut tx, project_id).await?;
    let mut fresh = Vec::new();
    let mut changes: Vec<(String, &Value)> = Vec::new();
    let mut errors = Vec::new();
    for (i, item) in raw.iter().enumerate() {
        if is_pocketbase_system(item) {
            result.skipped.push(item.get("name").and_then(Value::as_str).unwrap_or_default().to_string());
            continue;
        }
        let key_id = item.get("id").and_then(Value::as_str).unwrap_or_default();
        let key_name = item.get("name").and_then(Value::as_str).unwrap_or_default();
        if let Some(existing) = all.iter().find(|c| (!key_id.is_empty() && c.id == key_id) || c.name == key_name) {
            result.updated.push(existing.name.clone());
            changes.push((existing.id.clone(), item));
            continue;
        }
        match input::read(item, &new_collection_id()) {
            Ok(c) => fresh.push(c),
            Err(e) => errors.extend(e.into_iter().map(|f| FieldError { field: format!("{i}.{}", f.field), ..f })),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    // New collections first (relations among them resolve together), then changes.
    let created = create_many(&mut tx, &p.namespace, project_id, principal.actor_id(), fresh, &all).await?;
    result.created = created.iter().map(|c| c.name.clone()).collect();
    all.extend(created);
    for (key, item) in changes {
        change(&mut tx, &p, principal.actor_id(), &key, item, force, &mut all).await?;
    }
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(
            audit::COLLECTIONS_IMPORTED,
            "project",
            principal,
            &p.organization_id,
            project_id,
            format!("{} collections created, {} changed by import", result.created.len(), result.updated.len()),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(result)
}

pub async fn history(db: &Db, principal: &Principal, project_id: &str) -> Result<Vec<Migration>> {
    access(db, principal, project_id, OrgRole::Member).await?;
    history_of(db, project_id).await
}

pub async fn history_of(db: &Db, project_id: &str) -> Result<Vec<Migration>> {
    db.fetch_all(
        "SELECT seq, collection_id, collection_name, operations, statements, actor_id, created_at
           FROM studio_schema_migrations WHERE project_id = $1 ORDER BY seq",
        args![project_id],
    )
    .await
}

/// Append imported history entries (bundle import) after the ones just written.
pub async fn append_history(tx: &mut Tx, project_id: &str, entries: &[Migration]) -> Result<()> {
    for m in entries {
        let seq = next_history_seq(tx, project_id).await?;
        let mut ops = vec![Value::String(format!("imported: entry {} of the exported project", m.seq))];
        if let Some(items) = m.operations.0.as_array() {
            ops.extend(items.iter().cloned());
        }
        tx.execute(
            "INSERT INTO studio_schema_migrations (project_id, seq, collection_id, collection_name, operations, statements, actor_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![project_id, seq, &m.collection_id, &m.collection_name, Value::Array(ops), m.statements.0.clone(), &m.actor_id, m.created_at],
        )
        .await?;
    }
    Ok(())
}
