//! `/api/v1/studio/projects/{id}/collections/*`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kernel::Result;
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::principal::Principal;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::service::{self, ImportResult, Migration};
use crate::StudioState;
use collections::model::Collection;

pub fn routes() -> OpenApiRouter<StudioState> {
    OpenApiRouter::new()
        .routes(routes!(list_collections, create_collection))
        .routes(routes!(add_table))
        .routes(routes!(import_collections))
        .routes(routes!(schema_migrations))
        .routes(routes!(get_collection, update_collection, delete_collection))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Force {
    /// Apply a change that loses data (drops a field or collection holding data, resets
    /// values that cannot convert).
    force: Option<bool>,
}

/// The project's collections.
#[utoipa::path(get, path = "/{id}/collections", tag = "studio", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Collection>), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_collections(
    State(s): State<StudioState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<Collection>>> {
    Ok(Json(service::list(&s.db, &principal, &id).await?))
}

/// Create a collection (PocketBase's collection JSON) and its table.
#[utoipa::path(post, path = "/{id}/collections", tag = "studio", params(("id" = String, Path)),
    request_body(content = Object, description = "A PocketBase collection definition"),
    responses((status = 201, body = Collection), (status = 401), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn create_collection(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Json(raw): Json<Value>,
) -> Result<(StatusCode, Json<Collection>)> {
    Ok((StatusCode::CREATED, Json(service::create(&s.db, &ctx, &principal, &id, raw).await?)))
}

/// The seed's name for creating a collection: same as `POST .../collections`.
#[utoipa::path(post, path = "/{id}/add_table", tag = "studio", params(("id" = String, Path)),
    request_body(content = Object, description = "A PocketBase collection definition"),
    responses((status = 201, body = Collection), (status = 401), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn add_table(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Json(raw): Json<Value>,
) -> Result<(StatusCode, Json<Collection>)> {
    Ok((StatusCode::CREATED, Json(service::create(&s.db, &ctx, &principal, &id, raw).await?)))
}

/// Import an array of PocketBase collections (as exported by its dashboard): matching
/// collections are changed, others created, all in one transaction.
#[utoipa::path(post, path = "/{id}/collections/import", tag = "studio", params(("id" = String, Path), Force),
    request_body(content = Vec<Object>, description = "PocketBase collections"),
    responses((status = 200, body = ImportResult), (status = 401), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn import_collections(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Query(force): Query<Force>,
    Json(raw): Json<Vec<Value>>,
) -> Result<Json<ImportResult>> {
    Ok(Json(service::import(&s.db, &ctx, &principal, &id, raw, force.force.unwrap_or(false)).await?))
}

/// Every schema change applied to the project, oldest first.
#[utoipa::path(get, path = "/{id}/collections/migrations", tag = "studio", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Migration>), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn schema_migrations(
    State(s): State<StudioState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<Migration>>> {
    Ok(Json(service::history(&s.db, &principal, &id).await?))
}

/// One collection, by id or name.
#[utoipa::path(get, path = "/{id}/collections/{collection}", tag = "studio",
    params(("id" = String, Path), ("collection" = String, Path)),
    responses((status = 200, body = Collection), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_collection(
    State(s): State<StudioState>,
    principal: Principal,
    Path((id, collection)): Path<(String, String)>,
) -> Result<Json<Collection>> {
    Ok(Json(service::get(&s.db, &principal, &id, &collection).await?))
}

/// Change a collection: top-level keys given replace the current ones (fields are matched
/// by id, then by name: a new name with the same id is a rename).
#[utoipa::path(patch, path = "/{id}/collections/{collection}", tag = "studio",
    params(("id" = String, Path), ("collection" = String, Path), Force),
    request_body(content = Object, description = "Parts of a PocketBase collection definition"),
    responses((status = 200, body = Collection), (status = 401), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn update_collection(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path((id, collection)): Path<(String, String)>,
    Query(force): Query<Force>,
    Json(raw): Json<Value>,
) -> Result<Json<Collection>> {
    Ok(Json(service::update(&s.db, &ctx, &principal, &id, &collection, raw, force.force.unwrap_or(false)).await?))
}

/// Delete a collection and its table (refused while it holds records, unless forced).
#[utoipa::path(delete, path = "/{id}/collections/{collection}", tag = "studio",
    params(("id" = String, Path), ("collection" = String, Path), Force),
    responses((status = 204), (status = 401), (status = 404), (status = 409)),
    security(("bearer" = []), ("api_key" = [])))]
async fn delete_collection(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path((id, collection)): Path<(String, String)>,
    Query(force): Query<Force>,
) -> Result<StatusCode> {
    service::delete(&s.db, &ctx, &principal, &id, &collection, force.force.unwrap_or(false)).await?;
    Ok(StatusCode::NO_CONTENT)
}
