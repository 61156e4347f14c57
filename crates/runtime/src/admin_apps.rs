//! `/api/v1/admin/apps`: every app, for platform administrators.

use axum::extract::State;
use foundation::FoundationState;
use foundation::authn::AdminUser;
use kernel::db::Conditions;
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery, PageRequest};
use kernel::{Db, Error, Result};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppSearch {
    /// Part of the name or of the slug (case-insensitive).
    pub search: Option<String>,
    /// One organization's apps.
    pub organization_id: Option<String>,
    /// One project's apps.
    pub project_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AdminApp {
    pub id: String,
    pub organization_id: String,
    /// The organization's name (none if it is gone).
    #[sqlx(skip)]
    pub organization_name: Option<String>,
    pub project_id: String,
    /// The project's name (none if it is gone).
    #[sqlx(skip)]
    pub project_name: Option<String>,
    pub slug: String,
    pub name: String,
    /// The deployment being served; none until the first deploy.
    pub current_deployment: Option<i64>,
    /// Deployments and rollbacks made.
    pub deployments: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_deployed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// Apps, most recently changed first, with their deployments.
pub async fn list_apps(db: &Db, filter: &AppSearch, page: PageRequest) -> Result<Page<AdminApp>> {
    let mut c = Conditions::new();
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if search.chars().count() > 100 {
            return Err(Error::field("search", "too_long", "search must be at most 100 characters"));
        }
        let pattern = kernel::db::like_contains(&search.to_lowercase());
        // One parameter, used twice.
        c.add("(LOWER(a.name) LIKE {} ESCAPE '\\' OR a.slug LIKE {} ESCAPE '\\')", pattern);
    }
    if let Some(org) = filter.organization_id.as_deref().filter(|o| !o.is_empty()) {
        c.add("a.organization_id = {}", org.to_string());
    }
    if let Some(project) = filter.project_id.as_deref().filter(|p| !p.is_empty()) {
        c.add("a.project_id = {}", project.to_string());
    }
    let select =
        "a.id, a.organization_id, a.project_id, a.slug, a.name, a.current_deployment, a.created_at, a.updated_at,
           (SELECT COUNT(*) FROM runtime_deployments d WHERE d.app_id = a.id) AS deployments,
           (SELECT MAX(d.created_at) FROM runtime_deployments d WHERE d.app_id = a.id) AS last_deployed_at";
    let mut apps: Page<AdminApp> = c.fetch_page(db, select, "runtime_apps a", "a.updated_at DESC, a.id", page).await?;
    let org_ids: Vec<&str> = apps.items.iter().map(|a| a.organization_id.as_str()).collect();
    let organizations = foundation::orgs::service::names(db, &org_ids).await?;
    let project_ids: Vec<&str> = apps.items.iter().map(|a| a.project_id.as_str()).collect();
    let projects = studio::projects::service::names(db, &project_ids).await?;
    for app in &mut apps.items {
        app.organization_name = organizations.get(&app.organization_id).cloned();
        app.project_name = projects.get(&app.project_id).cloned();
    }
    Ok(apps)
}

pub fn routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new().routes(routes!(admin_list_apps))
}

/// Every app (platform administrators): search by name or slug, by organization or project.
#[utoipa::path(get, path = "/apps", tag = "admin",
    params(AppSearch, PageQuery),
    responses((status = 200, body = Page<AdminApp>), (status = 400), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn admin_list_apps(
    State(state): State<FoundationState>,
    _admin: AdminUser,
    Query(filter): Query<AppSearch>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<AdminApp>>> {
    Ok(Json(list_apps(&state.db, &filter, page.validate()?).await?))
}
