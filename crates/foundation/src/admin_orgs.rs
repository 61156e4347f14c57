//! `/api/v1/admin/organizations`: every organization, for platform administrators.

use axum::extract::State;
use kernel::db::Conditions;
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery, PageRequest};
use kernel::{Db, Error, Result};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authn::AdminUser;
use crate::state::FoundationState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrganizationFilter {
    /// Part of the name (case-insensitive).
    pub search: Option<String>,
    /// Deleted organizations too (default false).
    #[serde(default)]
    pub include_deleted: bool,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AdminOrganization {
    pub id: String,
    pub name: String,
    pub description: String,
    pub members: i64,
    /// The first owner's address.
    pub owner_email: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<OffsetDateTime>,
}

/// Organizations, newest first, with their member count and first owner.
pub async fn list_organizations(
    db: &Db,
    filter: &OrganizationFilter,
    page: PageRequest,
) -> Result<Page<AdminOrganization>> {
    let mut c = Conditions::new();
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if search.chars().count() > 100 {
            return Err(Error::field("search", "too_long", "search must be at most 100 characters"));
        }
        c.add("LOWER(o.name) LIKE {} ESCAPE '\\'", kernel::db::like_contains(&search.to_lowercase()));
    }
    if !filter.include_deleted {
        c.add_fixed("o.deleted_at IS NULL");
    }
    let select = "o.id, o.name, o.description, o.created_at, o.deleted_at,
           (SELECT COUNT(*) FROM memberships m WHERE m.organization_id = o.id) AS members,
           (SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id
             WHERE m.organization_id = o.id AND m.role = 'OWNER' ORDER BY m.created_at, u.id LIMIT 1) AS owner_email";
    c.fetch_page(db, select, "organizations o", "o.created_at DESC, o.id", page).await
}

pub fn routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new().routes(routes!(admin_list_organizations))
}

/// Every organization (platform administrators): search by name, deleted ones on request.
#[utoipa::path(get, path = "/organizations", tag = "admin",
    params(OrganizationFilter, PageQuery),
    responses((status = 200, body = Page<AdminOrganization>), (status = 400), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn admin_list_organizations(
    State(state): State<FoundationState>,
    _admin: AdminUser,
    Query(filter): Query<OrganizationFilter>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<AdminOrganization>>> {
    Ok(Json(list_organizations(&state.db, &filter, page.validate()?).await?))
}
