//! Project rules: create (with the `users` auth collection PocketBase projects start with),
//! list with filters, update, soft delete and restore, duplicate, favorites, purge.

use kernel::context::RequestContext;
use kernel::db::Conditions;
use kernel::pagination::{Page, PageRequest};
use kernel::principal::Principal;
use kernel::validate::Validator;
use kernel::{Db, Error, OrgRole, Result, Tx, args};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::{RESTORE_DAYS, access};
use crate::audit::{self, entry};
use crate::collections;
use crate::pages;
use ::collections::ddl::Namespace;
use ::collections::input;

/// Projects' names by id (those in the trash too; unknown ids are left out).
pub async fn names(db: &Db, ids: &[&str]) -> Result<std::collections::HashMap<String, String>> {
    kernel::db::names_by_id(db, "studio_projects", "name", ids).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    /// PLANIFIE in the seed.
    Planned,
    /// EN_COURS.
    InProgress,
    /// TERMINE.
    Completed,
}

impl ProjectStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Planned => "planned",
            ProjectStatus::InProgress => "in_progress",
            ProjectStatus::Completed => "completed",
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Project {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub description: String,
    #[schema(value_type = ProjectStatus)]
    pub status: String,
    /// Whether the caller marked it as a favorite.
    pub favorite: bool,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// Set while the project is in the trash.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<OffsetDateTime>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewProject {
    pub organization_id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub status: Option<ProjectStatus>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProjectUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: Option<ProjectStatus>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectFilter {
    pub organization_id: String,
    pub status: Option<ProjectStatus>,
    /// Only the caller's favorites.
    pub favorite: Option<bool>,
    /// Words in the name or description.
    pub search: Option<String>,
    /// List the trash (deleted projects that can still be restored) instead.
    pub deleted: Option<bool>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

fn user_id(principal: &Principal) -> String {
    match principal {
        Principal::User(u) => u.user_id.clone(),
        Principal::ApiKey(_) => String::new(),
    }
}

const SELECT: &str = "SELECT p.id, p.organization_id, p.name, p.description, p.status,
       EXISTS (SELECT 1 FROM studio_favorites f WHERE f.project_id = p.id AND f.user_id = $1) AS favorite,
       p.created_by, p.created_at, p.updated_at, p.deleted_at
  FROM studio_projects p";

fn validate_text(v: &mut Validator, name: Option<&str>, description: Option<&str>) {
    if let Some(name) = name {
        v.text("name", name, 120);
    }
    if let Some(d) = description {
        v.max_len("description", d, 5000);
    }
}

pub async fn get(db: &Db, principal: &Principal, id: &str) -> Result<Project> {
    access(db, principal, id, OrgRole::Member).await?;
    fetch(db, principal, id).await
}

async fn fetch(db: &Db, principal: &Principal, id: &str) -> Result<Project> {
    db.fetch_optional(sqlx::AssertSqlSafe(format!("{SELECT} WHERE p.id = $2")), args![user_id(principal), id])
        .await?
        .ok_or_else(|| Error::not_found("project"))
}

/// The outbox event a new project appends.
pub const PROJECT_CREATED_EVENT: &str = "project.created";

/// How many projects the organization's plan allows (None: no limit enforced); looked up
/// before the transaction that checks it, see [`check_project_quota`].
pub async fn project_allowance(usage: &kernel::Usage, organization_id: &str) -> Result<Option<i64>> {
    usage.enforced_limit(organization_id, kernel::Metric::Projects).await
}

/// Refused with a 402 when the organization's plan allows no more projects than it has
/// (`allowance`, from [`project_allowance`]). Holds the organization until `tx` ends, so
/// that the project `tx` adds is counted by the next check.
pub async fn check_project_quota(tx: &mut Tx, allowance: Option<i64>, organization_id: &str) -> Result<()> {
    foundation::orgs::hold_organization(tx, organization_id).await?;
    let live = tx
        .count(
            "SELECT COUNT(*) FROM studio_projects WHERE organization_id = $1 AND deleted_at IS NULL",
            args![organization_id],
        )
        .await?;
    kernel::Usage::allow_count_within(kernel::Metric::Projects, live, 1, allowance)
}

pub async fn create(
    db: &Db,
    usage: &kernel::Usage,
    ctx: &RequestContext,
    principal: &Principal,
    input: NewProject,
) -> Result<Project> {
    let mut v = Validator::new();
    validate_text(&mut v, Some(&input.name), input.description.as_deref());
    v.finish()?;
    foundation::orgs::require_org_role(db, principal, &input.organization_id, OrgRole::Member).await?;
    let id = kernel::ids::new_id();
    let allowance = project_allowance(usage, &input.organization_id).await?;
    let mut tx = db.begin().await?;
    check_project_quota(&mut tx, allowance, &input.organization_id).await?;
    insert_project(
        &mut tx,
        &id,
        &input.organization_id,
        input.name.trim(),
        input.description.as_deref().unwrap_or_default(),
        input.status.unwrap_or(ProjectStatus::Planned).as_str(),
        principal.actor_id(),
    )
    .await?;
    let ns = Namespace::for_project(db.kind(), &id);
    let users = input::read(&collections::default_users_collection(), "_pb_users_auth_").map_err(Error::Validation)?;
    collections::service::create_many(&mut tx, &ns, &id, principal.actor_id(), vec![users], &[]).await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(
            audit::PROJECT_CREATED,
            "project",
            principal,
            &input.organization_id,
            &id,
            format!("project \"{}\" created", input.name.trim()),
        ),
    )
    .await?;
    // Automation creates the project's default workflows from this event.
    kernel::outbox::append(
        &mut tx,
        kernel::outbox::NewEvent::new(
            PROJECT_CREATED_EVENT,
            Some(&input.organization_id),
            serde_json::json!({"project_id": id, "organization_id": input.organization_id, "name": input.name.trim(), "created_by": principal.actor_id()}),
        ),
    )
    .await?;
    tx.commit().await?;
    fetch(db, principal, &id).await
}

/// Insert the project row and create its namespace.
pub async fn insert_project(
    tx: &mut Tx,
    id: &str,
    organization_id: &str,
    name: &str,
    description: &str,
    status: &str,
    actor: &str,
) -> Result<Namespace> {
    let ns = Namespace::for_project(tx.kind(), id);
    let now = kernel::time::now();
    tx.execute(
        "INSERT INTO studio_projects (id, organization_id, name, description, status, namespace, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        args![id, organization_id, name, description, status, &ns.key, actor, now],
    )
    .await?;
    if let Some(sql) = ns.create_namespace() {
        tx.execute(sqlx::AssertSqlSafe(sql), args![]).await?;
    }
    Ok(ns)
}

pub async fn list(db: &Db, principal: &Principal, filter: ProjectFilter, page: PageRequest) -> Result<Page<Project>> {
    foundation::orgs::require_org_role(db, principal, &filter.organization_id, OrgRole::Member).await?;
    let mut c = Conditions::new();
    // $1 is the caller, read by SELECT's favorite flag.
    c.args.push(user_id(principal).into());
    c.add("p.organization_id = {}", filter.organization_id.clone());
    if filter.deleted == Some(true) {
        c.add("p.deleted_at > {}", kernel::time::now() - time::Duration::days(RESTORE_DAYS));
    } else {
        c.add_fixed("p.deleted_at IS NULL");
    }
    if let Some(status) = filter.status {
        c.add("p.status = {}", status.as_str());
    }
    match filter.favorite {
        Some(true) => {
            c.add_fixed("EXISTS (SELECT 1 FROM studio_favorites f WHERE f.project_id = p.id AND f.user_id = $1)");
        }
        Some(false) => {
            c.add_fixed("NOT EXISTS (SELECT 1 FROM studio_favorites f WHERE f.project_id = p.id AND f.user_id = $1)");
        }
        None => {}
    }
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        c.add(
            "(lower(p.name) LIKE {} ESCAPE '\\' OR lower(p.description) LIKE {} ESCAPE '\\')",
            kernel::db::like_contains(&search.to_lowercase()),
        );
    }
    let where_sql = c.where_sql();
    let total: i64 = db
        .scalar(
            sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM studio_projects p {where_sql} AND CAST($1 AS TEXT) IS NOT NULL"
            )),
            c.args.clone(),
        )
        .await?;
    let (limit, offset) = (c.next_placeholder(1), c.next_placeholder(2));
    let mut a = c.args;
    a.push(page.limit().into());
    a.push(page.offset().into());
    let items = db
        .fetch_all(
            sqlx::AssertSqlSafe(format!(
                "{SELECT} {where_sql} ORDER BY p.updated_at DESC, p.id LIMIT {limit} OFFSET {offset}"
            )),
            a,
        )
        .await?;
    Ok(Page::new(items, page, total))
}

pub async fn update(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    id: &str,
    input: ProjectUpdate,
) -> Result<Project> {
    let mut v = Validator::new();
    validate_text(&mut v, input.name.as_deref(), input.description.as_deref());
    v.finish()?;
    let p = access(db, principal, id, OrgRole::Member).await?;
    let mut tx = db.begin().await?;
    tx.execute(
        "UPDATE studio_projects SET name = COALESCE($2, name), description = COALESCE($3, description),
                status = COALESCE($4, status), updated_at = $5 WHERE id = $1",
        args![
            id,
            input.name.as_deref().map(str::trim),
            input.description,
            input.status.map(|s| s.as_str()),
            kernel::time::now()
        ],
    )
    .await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(audit::PROJECT_UPDATED, "project", principal, &p.organization_id, id, "project updated"),
    )
    .await?;
    tx.commit().await?;
    fetch(db, principal, id).await
}

pub async fn delete(db: &Db, ctx: &RequestContext, principal: &Principal, id: &str) -> Result<()> {
    let p = access(db, principal, id, OrgRole::Member).await?;
    let mut tx = db.begin().await?;
    let now = kernel::time::now();
    // Conditional: of two deletions at once one moves the project to the trash, the other
    // finds it gone (404), and the trash keeps the first deletion's time.
    let deleted = tx
        .execute(
            "UPDATE studio_projects SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL",
            args![id, now],
        )
        .await?;
    if deleted == 0 {
        return Err(Error::not_found("project"));
    }
    kernel::access_changes::announce(&mut tx, kernel::access_changes::Scope::Project(id.to_string())).await?;
    tx.execute(
        "UPDATE studio_share_links SET revoked_at = $2 WHERE project_id = $1 AND revoked_at IS NULL",
        args![id, now],
    )
    .await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(
            audit::PROJECT_DELETED,
            "project",
            principal,
            &p.organization_id,
            id,
            format!("project \"{}\" moved to the trash", p.name),
        ),
    )
    .await?;
    tx.commit().await
}

pub async fn restore(
    db: &Db,
    usage: &kernel::Usage,
    ctx: &RequestContext,
    principal: &Principal,
    id: &str,
) -> Result<Project> {
    let row: Option<(String, Option<OffsetDateTime>)> =
        db.fetch_optional("SELECT organization_id, deleted_at FROM studio_projects WHERE id = $1", args![id]).await?;
    let (org, deleted_at) = row.ok_or_else(|| Error::not_found("project"))?;
    foundation::orgs::require_org_role(db, principal, &org, OrgRole::Member)
        .await
        .map_err(|_| Error::not_found("project"))?;
    match deleted_at {
        None => return Err(Error::Conflict("the project is not deleted".into())),
        Some(at) if at < kernel::time::now() - time::Duration::days(RESTORE_DAYS) => {
            return Err(Error::Conflict(format!("the project was deleted more than {RESTORE_DAYS} days ago")));
        }
        Some(_) => {}
    }
    let allowance = project_allowance(usage, &org).await?;
    let mut tx = db.begin().await?;
    check_project_quota(&mut tx, allowance, &org).await?;
    let restored = tx
        .execute(
            "UPDATE studio_projects SET deleted_at = NULL, updated_at = $2 WHERE id = $1 AND deleted_at IS NOT NULL",
            args![id, kernel::time::now()],
        )
        .await?;
    if restored == 0 {
        return Err(Error::Conflict("the project is not deleted".into()));
    }
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(audit::PROJECT_RESTORED, "project", principal, &org, id, "project restored"),
    )
    .await?;
    tx.commit().await?;
    fetch(db, principal, id).await
}

/// A copy in the same organization: pages (current versions), collections and their tables
/// (without records). Share links and favorites are not copied.
pub async fn duplicate(
    db: &Db,
    usage: &kernel::Usage,
    ctx: &RequestContext,
    principal: &Principal,
    id: &str,
) -> Result<Project> {
    let source = access(db, principal, id, OrgRole::Member).await?;
    let original = fetch(db, principal, id).await?;
    let copy_id = kernel::ids::new_id();
    let collections = collections::service::load(db, id).await?;
    let page_list = pages::service::all_current(db, id).await?;
    let allowance = project_allowance(usage, &source.organization_id).await?;
    let mut tx = db.begin().await?;
    check_project_quota(&mut tx, allowance, &source.organization_id).await?;
    let name: String = format!("{} (copy)", original.name).chars().take(120).collect();
    let ns = insert_project(
        &mut tx,
        &copy_id,
        &source.organization_id,
        &name,
        &original.description,
        &original.status,
        principal.actor_id(),
    )
    .await?;
    collections::service::create_many(&mut tx, &ns, &copy_id, principal.actor_id(), collections, &[]).await?;
    for page in page_list {
        pages::service::insert_copy(&mut tx, &copy_id, &page, principal.actor_id()).await?;
    }
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(
            audit::PROJECT_DUPLICATED,
            "project",
            principal,
            &source.organization_id,
            &copy_id,
            format!("project duplicated from {id}"),
        ),
    )
    .await?;
    tx.commit().await?;
    fetch(db, principal, &copy_id).await
}

pub async fn set_favorite(db: &Db, principal: &Principal, id: &str, favorite: bool) -> Result<Project> {
    let me = principal.as_user()?;
    access(db, principal, id, OrgRole::Member).await?;
    if favorite {
        let exists: i64 = db
            .scalar(
                "SELECT COUNT(*) FROM studio_favorites WHERE user_id = $1 AND project_id = $2",
                args![&me.user_id, id],
            )
            .await?;
        if exists == 0 {
            let mut tx = db.begin().await?;
            tx.execute(
                "INSERT INTO studio_favorites (user_id, project_id, created_at) VALUES ($1, $2, $3)",
                args![&me.user_id, id, kernel::time::now()],
            )
            .await?;
            tx.commit().await?;
        }
    } else {
        let mut tx = db.begin().await?;
        tx.execute("DELETE FROM studio_favorites WHERE user_id = $1 AND project_id = $2", args![&me.user_id, id])
            .await?;
        tx.commit().await?;
    }
    fetch(db, principal, id).await
}

/// Drop projects deleted more than [`RESTORE_DAYS`] ago, with their tables. Returns how many.
pub async fn purge_deleted(db: &Db) -> Result<usize> {
    let cutoff = kernel::time::now() - time::Duration::days(RESTORE_DAYS);
    let expired: Vec<(String, String)> =
        db.fetch_all("SELECT id, namespace FROM studio_projects WHERE deleted_at < $1", args![cutoff]).await?;
    for (id, key) in &expired {
        let ns = Namespace::new(db.kind(), key);
        let mut tx = db.begin().await?;
        drop_namespace(&mut tx, &ns, id).await?;
        tx.execute("DELETE FROM studio_projects WHERE id = $1", args![id]).await?;
        tx.commit().await?;
    }
    Ok(expired.len())
}

/// Drop every table of a project.
pub async fn drop_namespace(tx: &mut Tx, ns: &Namespace, project_id: &str) -> Result<()> {
    match ns.drop_namespace() {
        Some(sql) => {
            tx.execute(sqlx::AssertSqlSafe(sql), args![]).await?;
        }
        None => {
            let names: Vec<(String,)> =
                tx.fetch_all("SELECT name FROM studio_collections WHERE project_id = $1", args![project_id]).await?;
            for (name,) in names {
                tx.execute(sqlx::AssertSqlSafe(ns.drop_table(&name)), args![]).await?;
            }
        }
    }
    Ok(())
}
