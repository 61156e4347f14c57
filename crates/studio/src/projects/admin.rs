//! `/api/v1/admin/projects`: every project, for platform administrators.

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
pub struct ProjectFilter {
    /// Part of the name (case-insensitive).
    pub search: Option<String>,
    /// One organization's projects.
    pub organization_id: Option<String>,
    /// Projects in the trash too (default false).
    #[serde(default)]
    pub include_deleted: bool,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AdminProject {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub status: String,
    /// Its pages.
    pub pages: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<OffsetDateTime>,
}

/// Projects, most recently changed first, with their page count.
pub async fn list_projects(db: &Db, filter: &ProjectFilter, page: PageRequest) -> Result<Page<AdminProject>> {
    let mut c = Conditions::new();
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if search.chars().count() > 100 {
            return Err(Error::field("search", "too_long", "search must be at most 100 characters"));
        }
        c.add("LOWER(p.name) LIKE {} ESCAPE '\\'", kernel::db::like_contains(&search.to_lowercase()));
    }
    if let Some(org) = filter.organization_id.as_deref().filter(|o| !o.is_empty()) {
        c.add("p.organization_id = {}", org.to_string());
    }
    if !filter.include_deleted {
        c.add_fixed("p.deleted_at IS NULL");
    }
    let select = "p.id, p.organization_id, p.name, p.status, p.created_at, p.updated_at, p.deleted_at,
           (SELECT COUNT(*) FROM studio_pages g WHERE g.project_id = p.id) AS pages";
    c.fetch_page(db, select, "studio_projects p", "p.updated_at DESC, p.id", page).await
}

pub fn routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new().routes(routes!(admin_list_projects))
}

/// Every project (platform administrators): search by name, by organization, trash on request.
#[utoipa::path(get, path = "/projects", tag = "admin",
    params(ProjectFilter, PageQuery),
    responses((status = 200, body = Page<AdminProject>), (status = 400), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn admin_list_projects(
    State(state): State<FoundationState>,
    _admin: AdminUser,
    Query(filter): Query<ProjectFilter>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<AdminProject>>> {
    Ok(Json(list_projects(&state.db, &filter, page.validate()?).await?))
}
