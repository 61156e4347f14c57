//! `/api/v1/studio/projects/*` and the public `/api/v1/studio/share/{token}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::Result;
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery};
use kernel::principal::Principal;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::service::{self, NewProject, Project, ProjectFilter, ProjectUpdate};
use super::share::{self, CreatedShareLink, NewShareLink, ShareLink, SharedProject};
use crate::StudioState;
use crate::bundle::{self, ExportOptions};

pub fn routes() -> OpenApiRouter<StudioState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(import_project))
        .routes(routes!(get_project, update_project, delete_project))
        .routes(routes!(restore_project))
        .routes(routes!(duplicate_project))
        .routes(routes!(add_favorite, remove_favorite))
        .routes(routes!(list_share_links, create_share_link))
        .routes(routes!(revoke_share_link))
        .routes(routes!(export_project))
}

pub fn share_routes() -> OpenApiRouter<StudioState> {
    OpenApiRouter::new().routes(routes!(open_share_link))
}

/// Projects of an organization (filters: status, favorite, search; `deleted=true` lists
/// the trash).
#[utoipa::path(get, path = "", tag = "studio", params(ProjectFilter),
    responses((status = 200, body = Page<Project>), (status = 400), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_projects(
    State(s): State<StudioState>,
    principal: Principal,
    Query(f): Query<ProjectFilter>,
) -> Result<Json<Page<Project>>> {
    let page = PageQuery { page: f.page, per_page: f.per_page }.validate()?;
    Ok(Json(service::list(&s.db, &principal, f, page).await?))
}

/// Create a project in an organization; it starts with a `users` auth collection.
#[utoipa::path(post, path = "", tag = "studio", request_body = NewProject,
    responses((status = 201, body = Project), (status = 401), (status = 402, description = "The plan allows no more (a quota-exceeded problem naming the limit)"), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn create_project(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Json(input): Json<NewProject>,
) -> Result<(StatusCode, Json<Project>)> {
    Ok((StatusCode::CREATED, Json(service::create(&s.db, &s.usage, &ctx, &principal, input).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportTarget {
    organization_id: Option<String>,
}

/// Recreate a project from an exported bundle (gzip or plain JSON body) in an
/// organization; nothing is created if any part is invalid.
#[utoipa::path(post, path = "/import", tag = "studio", params(ImportTarget),
    request_body(description = "An export bundle, gzip-compressed as exported or as plain JSON",
        content((Vec<u8> = "application/gzip"), (crate::bundle::Bundle = "application/json"))),
    responses((status = 201, body = Project), (status = 400), (status = 401), (status = 402, description = "The plan allows no more (a quota-exceeded problem naming the limit)"), (status = 404), (status = 413), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn import_project(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Query(target): Query<ImportTarget>,
    body: Bytes,
) -> Result<(StatusCode, Json<Project>)> {
    let bundle = bundle::decode(&body)?;
    let Some(organization_id) = target.organization_id else {
        return Err(kernel::Error::field("organization_id", "required", "organization_id is required"));
    };
    Ok((StatusCode::CREATED, Json(bundle::import(&s.db, &s.usage, &ctx, &principal, &organization_id, bundle).await?)))
}

/// One project.
#[utoipa::path(get, path = "/{id}", tag = "studio", params(("id" = String, Path)),
    responses((status = 200, body = Project), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_project(
    State(s): State<StudioState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Project>> {
    Ok(Json(service::get(&s.db, &principal, &id).await?))
}

/// Rename, describe or change the status of a project.
#[utoipa::path(patch, path = "/{id}", tag = "studio", params(("id" = String, Path)), request_body = ProjectUpdate,
    responses((status = 200, body = Project), (status = 401), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn update_project(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Json(input): Json<ProjectUpdate>,
) -> Result<Json<Project>> {
    Ok(Json(service::update(&s.db, &ctx, &principal, &id, input).await?))
}

/// Move a project to the trash (restorable for 30 days); its share links stop working.
#[utoipa::path(delete, path = "/{id}", tag = "studio", params(("id" = String, Path)),
    responses((status = 204), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn delete_project(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    service::delete(&s.db, &ctx, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take a project out of the trash.
#[utoipa::path(post, path = "/{id}/restore", tag = "studio", params(("id" = String, Path)),
    responses((status = 200, body = Project), (status = 401), (status = 402, description = "The plan allows no more (a quota-exceeded problem naming the limit)"), (status = 404), (status = 409)),
    security(("bearer" = []), ("api_key" = [])))]
async fn restore_project(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Project>> {
    Ok(Json(service::restore(&s.db, &s.usage, &ctx, &principal, &id).await?))
}

/// Copy a project: pages, collections and their tables (without records).
#[utoipa::path(post, path = "/{id}/duplicate", tag = "studio", params(("id" = String, Path)),
    responses((status = 201, body = Project), (status = 401), (status = 402, description = "The plan allows no more (a quota-exceeded problem naming the limit)"), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn duplicate_project(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Project>)> {
    Ok((StatusCode::CREATED, Json(service::duplicate(&s.db, &s.usage, &ctx, &principal, &id).await?)))
}

/// Mark a project as one of my favorites.
#[utoipa::path(put, path = "/{id}/favorite", tag = "studio", params(("id" = String, Path)),
    responses((status = 200, body = Project), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn add_favorite(
    State(s): State<StudioState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Project>> {
    Ok(Json(service::set_favorite(&s.db, &principal, &id, true).await?))
}

/// Remove a project from my favorites.
#[utoipa::path(delete, path = "/{id}/favorite", tag = "studio", params(("id" = String, Path)),
    responses((status = 200, body = Project), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn remove_favorite(
    State(s): State<StudioState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Project>> {
    Ok(Json(service::set_favorite(&s.db, &principal, &id, false).await?))
}

/// The project's share links.
#[utoipa::path(get, path = "/{id}/share-links", tag = "studio", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ShareLink>), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_share_links(
    State(s): State<StudioState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<ShareLink>>> {
    Ok(Json(share::list(&s.db, &principal, &id).await?))
}

/// Create a read-only preview link; the token is shown once.
#[utoipa::path(post, path = "/{id}/share-links", tag = "studio", params(("id" = String, Path)), request_body = NewShareLink,
    responses((status = 201, body = CreatedShareLink), (status = 401), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn create_share_link(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Json(input): Json<NewShareLink>,
) -> Result<(StatusCode, Json<CreatedShareLink>)> {
    Ok((StatusCode::CREATED, Json(share::create(&s.db, &s.ai, &ctx, &principal, &id, input).await?)))
}

/// Revoke a share link.
#[utoipa::path(delete, path = "/{id}/share-links/{link_id}", tag = "studio", params(("id" = String, Path), ("link_id" = String, Path)),
    responses((status = 204), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn revoke_share_link(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path((id, link_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    share::revoke(&s.db, &ctx, &principal, &id, &link_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportQuery {
    /// Include every version of every page.
    versions: Option<bool>,
    /// Include the collections' records.
    records: Option<bool>,
}

/// The project as a gzip-compressed JSON bundle.
#[utoipa::path(get, path = "/{id}/export", tag = "studio", params(("id" = String, Path), ExportQuery),
    responses((status = 200, content_type = "application/gzip", body = Vec<u8>), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn export_project(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let options = ExportOptions { versions: q.versions.unwrap_or(false), records: q.records.unwrap_or(false) };
    let bytes = bundle::compress(&bundle::build(&s.db, &ctx, &principal, &id, options).await?)?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/gzip"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"project-{id}.socle.json.gz\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// A shared project's pages, without authentication.
#[utoipa::path(get, path = "/{token}", tag = "studio", params(("token" = String, Path)),
    responses((status = 200, body = SharedProject), (status = 404)))]
async fn open_share_link(State(s): State<StudioState>, Path(token): Path<String>) -> Result<Json<SharedProject>> {
    Ok(Json(share::open(&s.db, &token).await?))
}
