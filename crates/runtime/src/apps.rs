//! Apps and deployments: an app is a project published under a slug, with data of its own
//! (its own namespace, never the project's tables). `deploy` snapshots the project's current
//! collections and rules as an immutable numbered deployment and migrates the app's tables
//! to it with the Studio's schema-change engine (data kept; destructive steps need `force`);
//! `rollback` does the same towards an earlier snapshot.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use collections::apply;
use collections::ddl::Namespace;
use collections::model::Collection;
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::principal::Principal;
use kernel::validate::Validator;
use kernel::{Db, Error, Exec, OrgRole, Result, args};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json as SqlJson;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::RuntimeState;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct App {
    pub id: String,
    pub organization_id: String,
    pub project_id: String,
    pub slug: String,
    pub name: String,
    /// The deployment being served; none until the first deploy.
    pub current_deployment: Option<i64>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Deployment {
    pub number: i64,
    /// `deploy`, or `rollback to N`.
    pub source: String,
    #[schema(value_type = Vec<String>)]
    pub operations: SqlJson<Value>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewApp {
    pub project_id: String,
    /// Lowercase letters, digits and `-`: the app answers under `/apps/{slug}`.
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DeployInput {
    /// Apply steps that lose data (dropped fields or collections holding data).
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RollbackInput {
    /// The deployment whose schema to go back to.
    pub number: i64,
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppFilter {
    pub organization_id: String,
}

const COLUMNS: &str =
    "id, organization_id, project_id, slug, name, current_deployment, created_by, created_at, updated_at";

fn valid_slug(s: &str) -> bool {
    (2..=40).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

async fn fetch(db: &Db, id: &str) -> Result<App> {
    db.fetch_optional(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM runtime_apps WHERE id = $1")), args![id])
        .await?
        .ok_or_else(|| Error::not_found("app"))
}

/// The app if `principal` has at least `min` in its organization; 404 otherwise.
pub async fn access(db: &Db, principal: &Principal, id: &str, min: OrgRole) -> Result<App> {
    let app = fetch(db, id).await?;
    foundation::orgs::require_org_role(db, principal, &app.organization_id, min).await.map_err(|e| match e {
        Error::NotFound(_) => Error::not_found("app"),
        other => other,
    })?;
    Ok(app)
}

pub async fn create(
    db: &Db,
    usage: &kernel::Usage,
    ctx: &RequestContext,
    principal: &Principal,
    input: NewApp,
) -> Result<App> {
    let mut v = Validator::new();
    v.text("name", &input.name, 120);
    if !valid_slug(&input.slug) {
        v.add("slug", "invalid_format", "slug is 2 to 40 lowercase letters, digits and - (not at either end)");
    }
    v.finish()?;
    let project = studio::projects::access(db, principal, &input.project_id, OrgRole::Member).await?;
    let id = kernel::ids::new_id();
    let ns = Namespace::for_app(db.kind(), &id);
    let now = kernel::time::now();
    let limit = usage.enforced_limit(&project.organization_id, kernel::Metric::Apps).await?;
    let mut tx = db.begin().await?;
    // Counted under the organization's hold: concurrent creations cannot pass the plan's limit.
    foundation::orgs::hold_organization(&mut tx, &project.organization_id).await?;
    let apps = tx
        .count("SELECT COUNT(*) FROM runtime_apps WHERE organization_id = $1", args![&project.organization_id])
        .await?;
    kernel::Usage::allow_count_within(kernel::Metric::Apps, apps, 1, limit)?;
    tx.execute(
        "INSERT INTO runtime_apps (id, organization_id, project_id, slug, name, namespace, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        args![&id, &project.organization_id, &project.id, &input.slug, input.name.trim(), &ns.key, principal.actor_id(), now],
    )
    .await
    .map_err(|e| match e {
        Error::Conflict(_) => Error::field("slug", "taken", format!("the slug {:?} is taken", input.slug)),
        other => other,
    })?;
    if let Some(sql) = ns.create_namespace() {
        tx.execute(sqlx::AssertSqlSafe(sql), args![]).await?;
    }
    foundation::audit::record(
        &mut tx,
        ctx,
        studio::audit::entry(
            "APP_CREATED",
            "app",
            principal,
            &project.organization_id,
            &id,
            format!("app {} created", input.slug),
        ),
    )
    .await?;
    tx.commit().await?;
    fetch(db, &id).await
}

pub async fn list(db: &Db, principal: &Principal, organization_id: &str) -> Result<Vec<App>> {
    foundation::orgs::require_org_role(db, principal, organization_id, OrgRole::Member).await?;
    db.fetch_all(
        sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM runtime_apps WHERE organization_id = $1 ORDER BY created_at, id"
        )),
        args![organization_id],
    )
    .await
}

/// The collections of deployment `number`, read from the database or inside a transaction.
pub async fn snapshot(ex: impl Into<Exec<'_>>, app_id: &str, number: i64) -> Result<Vec<Collection>> {
    let row: Option<(SqlJson<Vec<Collection>>,)> = ex
        .into()
        .fetch_optional(
            "SELECT collections FROM runtime_deployments WHERE app_id = $1 AND number = $2",
            args![app_id, number],
        )
        .await?;
    row.map(|(c,)| c.0).ok_or_else(|| Error::not_found("deployment"))
}

/// Move the app's tables from its current snapshot to `target`, and record the deployment.
async fn migrate_to(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    app: &App,
    target: Vec<Collection>,
    source: String,
    force: bool,
) -> Result<Deployment> {
    let ns = Namespace::for_app(db.kind(), &app.id);
    let mut operations: Vec<String> = Vec::new();
    let mut tx = db.begin().await?;
    // Serializes deployments of one app (row lock on PostgreSQL, one writer on SQLite).
    tx.execute("UPDATE runtime_apps SET updated_at = $2 WHERE id = $1", args![&app.id, kernel::time::now()]).await?;
    // Read under that lock: a deployment committed meanwhile is the one to move from.
    let (deployed,): (Option<i64>,) =
        tx.fetch_one("SELECT current_deployment FROM runtime_apps WHERE id = $1", args![&app.id]).await?;
    let current = match deployed {
        Some(n) => snapshot(&mut tx, &app.id, n).await?,
        None => Vec::new(),
    };
    for old in current.iter().filter(|o| !target.iter().any(|t| t.id == o.id)) {
        operations.extend(apply::drop(&mut tx, &ns, old, force).await?.operations);
    }
    // Renamed tables move aside first, so that no rename or creation meets a name still
    // taken (a swap of two names, a new collection taking a renamed one's name).
    let mut moved: Vec<(&str, String)> = Vec::new();
    for new in &target {
        if let Some(old) = current.iter().find(|o| o.id == new.id)
            && let Some(aside) = apply::move_aside(&mut tx, &ns, old, new).await?
        {
            moved.push((&old.id, aside));
        }
    }
    for new in &target {
        let applied = match current.iter().find(|o| o.id == new.id) {
            Some(old) => {
                let table_now = moved.iter().find(|(id, _)| *id == old.id).map_or(old.name.as_str(), |(_, t)| t);
                apply::alter_from(&mut tx, &ns, table_now, old, new, force).await?
            }
            None => apply::create(&mut tx, &ns, new).await?,
        };
        operations.extend(applied.operations);
    }
    let number: i64 = tx
        .scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM runtime_deployments WHERE app_id = $1", args![&app.id])
        .await?;
    let now = kernel::time::now();
    tx.execute(
        "INSERT INTO runtime_deployments (app_id, number, collections, source, operations, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            &app.id,
            number,
            serde_json::to_value(&target).map_err(Error::internal)?,
            &source,
            json!(operations),
            principal.actor_id(),
            now
        ],
    )
    .await?;
    tx.execute(
        "UPDATE runtime_apps SET current_deployment = $2, updated_at = $3 WHERE id = $1",
        args![&app.id, number, now],
    )
    .await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        studio::audit::entry(
            "APP_DEPLOYED",
            "app",
            principal,
            &app.organization_id,
            &app.id,
            format!("deployment {number} ({source})"),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Deployment {
        number,
        source,
        operations: SqlJson(json!(operations)),
        created_by: principal.actor_id().into(),
        created_at: now,
    })
}

pub async fn deploy(db: &Db, ctx: &RequestContext, principal: &Principal, id: &str, force: bool) -> Result<Deployment> {
    let app = access(db, principal, id, OrgRole::Member).await?;
    let target = studio::collections::service::load(db, &app.project_id).await?;
    migrate_to(db, ctx, principal, &app, target, "deploy".into(), force).await
}

pub async fn rollback(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    id: &str,
    input: RollbackInput,
) -> Result<Deployment> {
    let app = access(db, principal, id, OrgRole::Member).await?;
    let target = snapshot(db, &app.id, input.number)
        .await
        .map_err(|_| Error::field("number", "unknown", "there is no such deployment"))?;
    migrate_to(db, ctx, principal, &app, target, format!("rollback to {}", input.number), input.force).await
}

pub async fn deployments(db: &Db, principal: &Principal, id: &str) -> Result<Vec<Deployment>> {
    access(db, principal, id, OrgRole::Member).await?;
    db.fetch_all(
        "SELECT number, source, operations, created_by, created_at FROM runtime_deployments WHERE app_id = $1 ORDER BY number DESC",
        args![id],
    )
    .await
}

pub async fn delete(db: &Db, ctx: &RequestContext, principal: &Principal, id: &str) -> Result<()> {
    let app = access(db, principal, id, OrgRole::Admin).await?;
    let ns = Namespace::for_app(db.kind(), &app.id);
    let mut tx = db.begin().await?;
    match ns.drop_namespace() {
        Some(sql) => {
            tx.execute(sqlx::AssertSqlSafe(sql), args![]).await?;
        }
        None => {
            if let Some(n) = app.current_deployment {
                for c in snapshot(db, &app.id, n).await? {
                    tx.execute(sqlx::AssertSqlSafe(ns.drop_table(&c.name)), args![]).await?;
                }
            }
        }
    }
    tx.execute("DELETE FROM runtime_deployments WHERE app_id = $1", args![id]).await?;
    tx.execute("DELETE FROM runtime_apps WHERE id = $1", args![id]).await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        studio::audit::entry(
            "APP_DELETED",
            "app",
            principal,
            &app.organization_id,
            id,
            format!("app {} deleted with its data", app.slug),
        ),
    )
    .await?;
    tx.commit().await
}

pub fn routes() -> OpenApiRouter<RuntimeState> {
    OpenApiRouter::new()
        .routes(routes!(list_apps, create_app))
        .routes(routes!(get_app, delete_app))
        .routes(routes!(deploy_app))
        .routes(routes!(rollback_app))
        .routes(routes!(list_deployments))
}

/// Apps of an organization.
#[utoipa::path(get, path = "", tag = "runtime", params(AppFilter),
    responses((status = 200, body = Vec<App>), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_apps(
    State(s): State<RuntimeState>,
    principal: Principal,
    Query(f): Query<AppFilter>,
) -> Result<Json<Vec<App>>> {
    Ok(Json(list(&s.db, &principal, &f.organization_id).await?))
}

/// Create an app from a project; deploy it to serve `/apps/{slug}`.
#[utoipa::path(post, path = "", tag = "runtime", request_body = NewApp,
    responses((status = 201, body = App), (status = 401), (status = 402, description = "The plan allows no more (a quota-exceeded problem naming the limit)"), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn create_app(
    State(s): State<RuntimeState>,
    ctx: RequestContext,
    principal: Principal,
    Json(input): Json<NewApp>,
) -> Result<(StatusCode, Json<App>)> {
    let app = create(&s.db, &s.usage, &ctx, &principal, input).await?;
    s.forget_slug(&app.slug);
    Ok((StatusCode::CREATED, Json(app)))
}

/// One app.
#[utoipa::path(get, path = "/{id}", tag = "runtime", params(("id" = String, Path)),
    responses((status = 200, body = App), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_app(State(s): State<RuntimeState>, principal: Principal, Path(id): Path<String>) -> Result<Json<App>> {
    Ok(Json(access(&s.db, &principal, &id, OrgRole::Member).await?))
}

/// Delete an app and all its data (ADMIN or OWNER).
#[utoipa::path(delete, path = "/{id}", tag = "runtime", params(("id" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn delete_app(
    State(s): State<RuntimeState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    delete(&s.db, &ctx, &principal, &id).await?;
    s.forget(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// Publish the project's current collections and rules as a new deployment.
#[utoipa::path(post, path = "/{id}/deploy", tag = "runtime", params(("id" = String, Path)), request_body = DeployInput,
    responses((status = 201, body = Deployment), (status = 401), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn deploy_app(
    State(s): State<RuntimeState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Json(input): Json<DeployInput>,
) -> Result<(StatusCode, Json<Deployment>)> {
    let d = deploy(&s.db, &ctx, &principal, &id, input.force).await?;
    s.forget(&id);
    Ok((StatusCode::CREATED, Json(d)))
}

/// Go back to an earlier deployment's schema (as a new deployment).
#[utoipa::path(post, path = "/{id}/rollback", tag = "runtime", params(("id" = String, Path)), request_body = RollbackInput,
    responses((status = 201, body = Deployment), (status = 401), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn rollback_app(
    State(s): State<RuntimeState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Json(input): Json<RollbackInput>,
) -> Result<(StatusCode, Json<Deployment>)> {
    let d = rollback(&s.db, &ctx, &principal, &id, input).await?;
    s.forget(&id);
    Ok((StatusCode::CREATED, Json(d)))
}

/// The app's deployments, newest first.
#[utoipa::path(get, path = "/{id}/deployments", tag = "runtime", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Deployment>), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_deployments(
    State(s): State<RuntimeState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<Deployment>>> {
    Ok(Json(deployments(&s.db, &principal, &id).await?))
}

/// The project an app was made from (`None` for an unknown app).
pub async fn project_of(db: &Db, app_id: &str) -> Result<Option<String>> {
    let row: Option<(String,)> =
        db.fetch_optional("SELECT project_id FROM runtime_apps WHERE id = $1", args![app_id]).await?;
    Ok(row.map(|(p,)| p))
}
