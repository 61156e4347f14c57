//! Page rules: ordered pages with unique slugs, a validated document, a version kept for
//! every save, optimistic concurrency, diff (JSON Patch) and restore.

use kernel::context::RequestContext;
use kernel::error::FieldError;
use kernel::principal::Principal;
use kernel::validate::Validator;
use kernel::{Db, Error, Exec, OrgRole, Result, Tx, args};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::document;
use crate::audit::{self, entry};
use crate::projects::{ProjectAccess, access};
use collections::schema::{ProjectSchema, check_rule};

/// Pages' names by id (unknown ids are left out).
pub async fn names(db: &Db, ids: &[&str]) -> Result<std::collections::HashMap<String, String>> {
    kernel::db::names_by_id(db, "studio_pages", "name", ids).await
}

pub const MAX_PAGES: i64 = 200;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Page {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub slug: String,
    pub position: i64,
    pub seo_title: String,
    pub seo_description: String,
    #[schema(value_type = Object)]
    pub document: Json<Value>,
    /// Increases by one on every save; send it back as `If-Match` or `version`.
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    pub updated_by: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PageInput {
    pub name: Option<String>,
    /// Lowercase words joined by `-`; derived from the name when absent.
    pub slug: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub document: Option<Value>,
    /// 0-based place among the project's pages (creation: at the end by default).
    pub position: Option<i64>,
    /// The version this edit starts from (or send `If-Match`).
    pub version: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct PageVersion {
    pub version: i64,
    pub name: String,
    pub slug: String,
    pub size_bytes: i64,
    pub author_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct PageVersionDetail {
    pub version: i64,
    pub name: String,
    pub slug: String,
    pub seo_title: String,
    pub seo_description: String,
    #[schema(value_type = Object)]
    pub document: Json<Value>,
    pub size_bytes: i64,
    pub author_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageDiff {
    pub from: i64,
    pub to: i64,
    /// RFC 6902 operations turning version `from`'s document into version `to`'s.
    #[schema(value_type = Vec<Object>)]
    pub patch: Value,
}

const COLUMNS: &str = "id, project_id, name, slug, position, seo_title, seo_description, document, version, created_at, updated_at, updated_by";

pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_end_matches('-').chars().take(100).collect();
    if trimmed.is_empty() { "page".into() } else { trimmed }
}

fn valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.split('-')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

fn validate_input(input: &PageInput, creating: bool) -> Result<()> {
    let mut v = Validator::new();
    match &input.name {
        Some(n) => v.text("name", n, 120),
        None if creating => v.add("name", "required", "name is required"),
        None => {}
    }
    if let Some(s) = &input.slug
        && !valid_slug(s)
    {
        v.add("slug", "invalid_format", "slug is lowercase letters and digits in words joined by -, at most 100");
    }
    if let Some(t) = &input.seo_title {
        v.max_len("seo_title", t, 200);
    }
    if let Some(d) = &input.seo_description {
        v.max_len("seo_description", d, 500);
    }
    if let Some(p) = input.position
        && !(0..MAX_PAGES).contains(&p)
    {
        v.add("position", "out_of_range", format!("position is from 0 to {}", MAX_PAGES - 1));
    }
    v.finish()
}

/// Check a document and what it refers to: components of the organization, collections of
/// the project, and list/table filters against their collection.
pub async fn check_document(db: &Db, p: &ProjectAccess, doc: &Value) -> Result<()> {
    let refs = document::validate(doc, "/document").map_err(Error::Validation)?;
    let mut errors = Vec::new();
    // A page places the same few components many times: each is read once.
    let mut schemas: std::collections::HashMap<&str, Option<Value>> = std::collections::HashMap::new();
    for (reference, pointer) in &refs.components {
        if !schemas.contains_key(reference.as_str()) {
            let found: Option<(Json<Value>,)> = db
                .fetch_optional(
                    "SELECT props_schema FROM studio_components WHERE organization_id = $1 AND (id = $2 OR name = $2)
                     ORDER BY id LIMIT 1",
                    args![&p.organization_id, reference],
                )
                .await?;
            schemas.insert(reference, found.map(|(schema,)| schema.0));
        }
        let Some(Some(schema)) = schemas.get(reference.as_str()) else {
            errors.push(FieldError::new(
                pointer,
                "unknown_component",
                format!("no component {reference:?} in this organization"),
            ));
            continue;
        };
        // The placed props sit next to `ref`: `/document/children/0/props/props`.
        let props_at = format!("{}/props", pointer.trim_end_matches("/ref"));
        let placed = props_at.strip_prefix("/document").and_then(|inner| doc.pointer(inner));
        crate::components::props::check(
            schema,
            placed.unwrap_or(&Value::Object(Default::default())),
            &props_at,
            &mut errors,
        );
    }
    if !refs.collections.is_empty() {
        let schema = ProjectSchema::new(p.namespace.clone(), crate::collections::service::load(db, &p.id).await?);
        for (name, pointer, filter) in &refs.collections {
            match schema.checked(name) {
                None => errors.push(FieldError::new(
                    pointer,
                    "unknown_collection",
                    format!("no collection {name:?} in this project"),
                )),
                Some(c) => {
                    if let Some(f) = filter.as_deref().filter(|f| !f.trim().is_empty()) {
                        let filter_pointer = pointer.replace("/collection", "/filter");
                        errors.extend(
                            check_rule(f, c, &schema)
                                .into_iter()
                                .map(|e| FieldError { field: filter_pointer.clone(), ..e }),
                        );
                    }
                }
            }
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(Error::Validation(errors)) }
}

pub async fn list(db: &Db, principal: &Principal, project_id: &str) -> Result<Vec<Page>> {
    access(db, principal, project_id, OrgRole::Member).await?;
    all_current(db, project_id).await
}

pub async fn all_current(db: &Db, project_id: &str) -> Result<Vec<Page>> {
    db.fetch_all(
        sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM studio_pages WHERE project_id = $1 ORDER BY position, id")),
        args![project_id],
    )
    .await
}

pub async fn get(db: &Db, principal: &Principal, project_id: &str, page_id: &str) -> Result<Page> {
    access(db, principal, project_id, OrgRole::Member).await?;
    fetch(db, project_id, page_id).await
}

/// The page, in the caller's transaction or on its own.
async fn fetch(ex: impl Into<Exec<'_>>, project_id: &str, page_id: &str) -> Result<Page> {
    ex.into()
        .fetch_optional(
            sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM studio_pages WHERE id = $1 AND project_id = $2")),
            args![page_id, project_id],
        )
        .await?
        .ok_or_else(|| Error::not_found("page"))
}

async fn slug_taken(tx: &mut Tx, project_id: &str, slug: &str, except: &str) -> Result<bool> {
    let n: i64 = tx
        .scalar(
            "SELECT COUNT(*) FROM studio_pages WHERE project_id = $1 AND slug = $2 AND id <> $3",
            args![project_id, slug, except],
        )
        .await?;
    Ok(n > 0)
}

async fn keep_version(tx: &mut Tx, page: &Page, author: &str) -> Result<()> {
    let size = serde_json::to_vec(&page.document.0).map(|v| v.len() as i64).unwrap_or(0);
    tx.execute(
        "INSERT INTO studio_page_versions (page_id, version, name, slug, seo_title, seo_description, document, size_bytes, author_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![&page.id, page.version, &page.name, &page.slug, &page.seo_title, &page.seo_description, page.document.0.clone(), size, author, page.updated_at],
    )
    .await?;
    Ok(())
}

/// Move a page to `position`, shifting the others; positions stay 0..n.
async fn reposition(tx: &mut Tx, project_id: &str, page_id: &str, position: i64) -> Result<()> {
    let ids: Vec<(String,)> = tx
        .fetch_all("SELECT id FROM studio_pages WHERE project_id = $1 ORDER BY position, id", args![project_id])
        .await?;
    let mut order: Vec<String> = ids.into_iter().map(|(id,)| id).filter(|id| id != page_id).collect();
    let at = (position.max(0) as usize).min(order.len());
    order.insert(at, page_id.to_string());
    for (i, id) in order.iter().enumerate() {
        tx.execute("UPDATE studio_pages SET position = $2 WHERE id = $1", args![id, i as i64]).await?;
    }
    Ok(())
}

pub async fn create(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    project_id: &str,
    input: PageInput,
) -> Result<Page> {
    validate_input(&input, true)?;
    let p = access(db, principal, project_id, OrgRole::Member).await?;
    let doc = input.document.clone().unwrap_or_else(document::empty_document);
    check_document(db, &p, &doc).await?;
    let name = input.name.as_deref().unwrap_or_default().trim().to_string();
    let slug = input.slug.clone().unwrap_or_else(|| slugify(&name));
    let id = kernel::ids::new_id();
    let now = kernel::time::now();
    let mut tx = db.begin().await?;
    crate::projects::hold(&mut tx, project_id, crate::projects::Hold::PageOrder).await?;
    let count: i64 = tx.scalar("SELECT COUNT(*) FROM studio_pages WHERE project_id = $1", args![project_id]).await?;
    if count >= MAX_PAGES {
        return Err(Error::field("project_id", "too_many", format!("a project has at most {MAX_PAGES} pages")));
    }
    if slug_taken(&mut tx, project_id, &slug, "").await? {
        return Err(Error::Validation(vec![FieldError::new(
            "slug",
            "taken",
            format!("another page of this project uses the slug {slug:?}"),
        )]));
    }
    tx.execute(
        "INSERT INTO studio_pages (id, project_id, name, slug, position, seo_title, seo_description, document, version, created_at, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9, $10)",
        args![&id, project_id, &name, &slug, count, input.seo_title.unwrap_or_default(), input.seo_description.unwrap_or_default(), doc, now, principal.actor_id()],
    )
    .await?;
    if let Some(position) = input.position {
        reposition(&mut tx, project_id, &id, position).await?;
    }
    let page = fetch(&mut tx, project_id, &id).await?;
    keep_version(&mut tx, &page, principal.actor_id()).await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(audit::PAGE_CREATED, "page", principal, &p.organization_id, &id, format!("page \"{name}\" created")),
    )
    .await?;
    tx.commit().await?;
    Ok(page)
}

/// Apply an edit; `expected` is the version the client started from (If-Match or body).
pub async fn update(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    project_id: &str,
    page_id: &str,
    input: PageInput,
    expected: Option<i64>,
) -> Result<Page> {
    validate_input(&input, false)?;
    let p = access(db, principal, project_id, OrgRole::Member).await?;
    if let Some(doc) = &input.document {
        check_document(db, &p, doc).await?;
    }
    let expected = expected.or(input.version);
    let writes_document = input.document.is_some();
    let mut tx = db.begin().await?;
    if input.position.is_some() {
        crate::projects::hold(&mut tx, project_id, crate::projects::Hold::PageOrder).await?;
    }
    let current = fetch(&mut tx, project_id, page_id).await?;
    if let Some(v) = expected
        && v != current.version
    {
        return Err(Error::Conflict(format!(
            "the page changed since version {v}: it is at version {}; reload it and apply your edit again",
            current.version
        )));
    }
    if let Some(slug) = &input.slug
        && slug_taken(&mut tx, project_id, slug, page_id).await?
    {
        return Err(Error::Validation(vec![FieldError::new(
            "slug",
            "taken",
            format!("another page of this project uses the slug {slug:?}"),
        )]));
    }
    // The version check is repeated in the UPDATE so that two concurrent saves from one
    // version cannot both win. Without one (no If-Match, no version), the last save wins.
    let n = tx
        .execute(
            "UPDATE studio_pages SET name = COALESCE($3, name), slug = COALESCE($4, slug), seo_title = COALESCE($5, seo_title),
                    seo_description = COALESCE($6, seo_description), document = COALESCE($7, document),
                    version = version + 1, updated_at = $8, updated_by = $9
              WHERE id = $1 AND (version = $2 OR $10)",
            args![
                page_id,
                current.version,
                input.name.as_deref().map(str::trim),
                input.slug,
                input.seo_title,
                input.seo_description,
                input.document,
                kernel::time::now(),
                principal.actor_id(),
                expected.is_none()
            ],
        )
        .await?;
    if n == 0 {
        return Err(Error::Conflict("the page was changed by someone else meanwhile; reload it".into()));
    }
    if let Some(position) = input.position {
        reposition(&mut tx, project_id, page_id, position).await?;
    }
    let page = fetch(&mut tx, project_id, page_id).await?;
    keep_version(&mut tx, &page, principal.actor_id()).await?;
    if writes_document {
        announce_document(&mut tx, &p.organization_id, &page, principal.actor_id()).await?;
    }
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(
            audit::PAGE_UPDATED,
            "page",
            principal,
            &p.organization_id,
            page_id,
            format!("page saved as version {}", page.version),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(page)
}

pub async fn delete(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    project_id: &str,
    page_id: &str,
) -> Result<()> {
    let p = access(db, principal, project_id, OrgRole::Member).await?;
    let mut tx = db.begin().await?;
    crate::projects::hold(&mut tx, project_id, crate::projects::Hold::PageOrder).await?;
    let page = fetch(&mut tx, project_id, page_id).await?;
    tx.execute("DELETE FROM studio_page_versions WHERE page_id = $1", args![page_id]).await?;
    tx.execute("DELETE FROM studio_pages WHERE id = $1", args![page_id]).await?;
    kernel::outbox::append(
        &mut tx,
        kernel::outbox::NewEvent::new(
            PAGE_DELETED_EVENT,
            Some(&p.organization_id),
            serde_json::json!({"page_id": page_id, "project_id": project_id}),
        ),
    )
    .await?;
    tx.execute(
        "UPDATE studio_pages SET position = position - 1 WHERE project_id = $1 AND position > $2",
        args![project_id, page.position],
    )
    .await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(
            audit::PAGE_DELETED,
            "page",
            principal,
            &p.organization_id,
            page_id,
            format!("page \"{}\" deleted", page.name),
        ),
    )
    .await?;
    tx.commit().await
}

pub async fn versions(db: &Db, principal: &Principal, project_id: &str, page_id: &str) -> Result<Vec<PageVersion>> {
    get(db, principal, project_id, page_id).await?;
    db.fetch_all(
        "SELECT version, name, slug, size_bytes, author_id, created_at FROM studio_page_versions WHERE page_id = $1 ORDER BY version DESC",
        args![page_id],
    )
    .await
}

pub async fn version(
    db: &Db,
    principal: &Principal,
    project_id: &str,
    page_id: &str,
    version: i64,
) -> Result<PageVersionDetail> {
    get(db, principal, project_id, page_id).await?;
    version_of(db, page_id, version).await
}

async fn version_of(db: &Db, page_id: &str, version: i64) -> Result<PageVersionDetail> {
    db.fetch_optional(
        "SELECT version, name, slug, seo_title, seo_description, document, size_bytes, author_id, created_at
           FROM studio_page_versions WHERE page_id = $1 AND version = $2",
        args![page_id, version],
    )
    .await?
    .ok_or_else(|| Error::not_found("page version"))
}

pub async fn diff(
    db: &Db,
    principal: &Principal,
    project_id: &str,
    page_id: &str,
    from: i64,
    to: i64,
) -> Result<PageDiff> {
    get(db, principal, project_id, page_id).await?;
    let (a, b) = (version_of(db, page_id, from).await?, version_of(db, page_id, to).await?);
    let patch = json_patch::diff(&a.document.0, &b.document.0);
    Ok(PageDiff { from, to, patch: serde_json::to_value(patch).map_err(Error::internal)? })
}

/// Make an old version current again, as a new version (history is never rewritten).
pub async fn restore(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    project_id: &str,
    page_id: &str,
    version: i64,
) -> Result<Page> {
    get(db, principal, project_id, page_id).await?;
    let old = version_of(db, page_id, version).await?;
    let p = access(db, principal, project_id, OrgRole::Member).await?;
    // Components or collections may have gone since; the restored page must still be valid.
    check_document(db, &p, &old.document.0).await?;
    let mut tx = db.begin().await?;
    let current = fetch(&mut tx, project_id, page_id).await?;
    if old.slug != current.slug && slug_taken(&mut tx, project_id, &old.slug, page_id).await? {
        return Err(Error::Conflict(format!("another page now uses the slug {:?}", old.slug)));
    }
    tx.execute(
        "UPDATE studio_pages SET name = $2, slug = $3, seo_title = $4, seo_description = $5, document = $6,
                version = version + 1, updated_at = $7, updated_by = $8 WHERE id = $1",
        args![
            page_id,
            &old.name,
            &old.slug,
            &old.seo_title,
            &old.seo_description,
            old.document.0.clone(),
            kernel::time::now(),
            principal.actor_id()
        ],
    )
    .await?;
    let page = fetch(&mut tx, project_id, page_id).await?;
    keep_version(&mut tx, &page, principal.actor_id()).await?;
    announce_document(&mut tx, &p.organization_id, &page, principal.actor_id()).await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(
            audit::PAGE_RESTORED,
            "page",
            principal,
            &p.organization_id,
            page_id,
            format!("version {version} restored as {}", page.version),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(page)
}

/// Copy a page into another project (duplicate, import) as its version 1.
pub async fn insert_copy(tx: &mut Tx, project_id: &str, page: &Page, author: &str) -> Result<()> {
    let mut first = page.clone();
    first.version = 1;
    insert_with_history(tx, project_id, &first, &[], author).await
}

/// Restore a page's full history (import of a bundle with versions).
pub async fn insert_with_history(
    tx: &mut Tx,
    project_id: &str,
    page: &Page,
    history: &[PageVersionDetail],
    author: &str,
) -> Result<()> {
    let id = kernel::ids::new_id();
    let now = kernel::time::now();
    tx.execute(
        "INSERT INTO studio_pages (id, project_id, name, slug, position, seo_title, seo_description, document, version, created_at, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
        args![&id, project_id, &page.name, &page.slug, page.position, &page.seo_title, &page.seo_description, page.document.0.clone(), page.version, now, author],
    )
    .await?;
    for v in history {
        tx.execute(
            "INSERT INTO studio_page_versions (page_id, version, name, slug, seo_title, seo_description, document, size_bytes, author_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            args![&id, v.version, &v.name, &v.slug, &v.seo_title, &v.seo_description, v.document.0.clone(), v.size_bytes, &v.author_id, v.created_at],
        )
        .await?;
    }
    if !history.iter().any(|v| v.version == page.version) {
        let copy = fetch(&mut *tx, project_id, &id).await?;
        keep_version(tx, &copy, author).await?;
    }
    Ok(())
}

/// Every version of a page, oldest first (export).
pub async fn history(db: &Db, page_id: &str) -> Result<Vec<PageVersionDetail>> {
    db.fetch_all(
        "SELECT version, name, slug, seo_title, seo_description, document, size_bytes, author_id, created_at
           FROM studio_page_versions WHERE page_id = $1 ORDER BY version",
        args![page_id],
    )
    .await
}

/// Where a page lives, for the modules that edit it live (Collab).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PageLocation {
    pub page_id: String,
    pub project_id: String,
    pub organization_id: String,
    pub document: Json<Value>,
    pub updated_at: OffsetDateTime,
}

/// The page and its project's organization; `None` when either is gone (or in the trash).
pub async fn locate(db: &Db, page_id: &str) -> Result<Option<PageLocation>> {
    db.fetch_optional(
        "SELECT pg.id AS page_id, pg.project_id, p.organization_id, pg.document, pg.updated_at
           FROM studio_pages pg JOIN studio_projects p ON p.id = pg.project_id
          WHERE pg.id = $1 AND p.deleted_at IS NULL",
        args![page_id],
    )
    .await
}

/// Store the document a live editing session made, in the caller's transaction. The
/// version does not move: versions are taken at save points ([`save_live_version`]).
pub async fn write_live_document(tx: &mut Tx, page_id: &str, doc: &Value, author: &str) -> Result<()> {
    tx.execute(
        "UPDATE studio_pages SET document = $2, updated_at = $3, updated_by = $4 WHERE id = $1",
        args![page_id, doc, kernel::time::now(), author],
    )
    .await?;
    Ok(())
}

/// A save point of live editing: the current document becomes a new version.
pub async fn save_live_version(db: &Db, page_id: &str, author: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    let n = tx
        .execute(
            "UPDATE studio_pages SET version = version + 1, updated_at = $2, updated_by = $3 WHERE id = $1",
            args![page_id, kernel::time::now(), author],
        )
        .await?;
    if n == 0 {
        return Ok(());
    }
    let page: Page = tx
        .fetch_one(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM studio_pages WHERE id = $1")), args![page_id])
        .await?;
    keep_version(&mut tx, &page, author).await?;
    tx.commit().await
}

/// The event a page's deletion appends (live editing drops the page's history).
pub const PAGE_DELETED_EVENT: &str = "page.deleted";

/// The event a REST write of a page's document appends, so that live editors see it.
pub const PAGE_DOCUMENT_WRITTEN: &str = "page.document_written";

async fn announce_document(tx: &mut Tx, organization_id: &str, page: &Page, author: &str) -> Result<()> {
    kernel::outbox::append(
        tx,
        kernel::outbox::NewEvent::new(
            PAGE_DOCUMENT_WRITTEN,
            Some(organization_id),
            serde_json::json!({
                "page_id": page.id,
                "project_id": page.project_id,
                "document": page.document.0,
                "author_id": author,
            }),
        ),
    )
    .await?;
    Ok(())
}
