//! `/api/v1/studio/projects/{id}/pages/*` and the published page schema.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::principal::Principal;
use kernel::{Error, Result};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::document;
use super::service::{self, Page, PageDiff, PageInput, PageVersion, PageVersionDetail};
use crate::StudioState;

pub fn routes() -> OpenApiRouter<StudioState> {
    OpenApiRouter::new()
        .routes(routes!(list_pages, create_page))
        .routes(routes!(get_page, update_page, delete_page))
        .routes(routes!(list_versions))
        .routes(routes!(get_version))
        .routes(routes!(restore_version))
        .routes(routes!(diff_versions))
}

pub fn schema_routes() -> OpenApiRouter<StudioState> {
    OpenApiRouter::new().routes(routes!(page_schema))
}

/// `If-Match: "3"` (or `W/"3"`, or `3`): the version the edit starts from.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().unwrap_or_default().trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| Error::field("If-Match", "invalid_format", "If-Match carries the page version, e.g. \"3\""))
}

fn with_etag(page: Page, status: StatusCode) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", page.version)).ok();
    let mut response = (status, Json(page)).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// The JSON Schema every page document is validated against.
#[utoipa::path(get, path = "/page.json", tag = "studio",
    responses((status = 200, description = "JSON Schema 2020-12", content_type = "application/schema+json")))]
async fn page_schema() -> Response {
    let mut response = Json(document::json_schema()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/schema+json"));
    response
}

/// The project's pages, in order.
#[utoipa::path(get, path = "/{id}/pages", tag = "studio", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Page>), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_pages(
    State(s): State<StudioState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<Page>>> {
    Ok(Json(service::list(&s.db, &principal, &id).await?))
}

/// Add a page.
#[utoipa::path(post, path = "/{id}/pages", tag = "studio", params(("id" = String, Path)), request_body = PageInput,
    responses((status = 201, body = Page), (status = 401), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn create_page(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Json(input): Json<PageInput>,
) -> Result<Response> {
    Ok(with_etag(service::create(&s.db, &ctx, &principal, &id, input).await?, StatusCode::CREATED))
}

/// One page; its `ETag` is its version.
#[utoipa::path(get, path = "/{id}/pages/{page_id}", tag = "studio", params(("id" = String, Path), ("page_id" = String, Path)),
    responses((status = 200, body = Page), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_page(
    State(s): State<StudioState>,
    principal: Principal,
    Path((id, page_id)): Path<(String, String)>,
) -> Result<Response> {
    Ok(with_etag(service::get(&s.db, &principal, &id, &page_id).await?, StatusCode::OK))
}

/// Save a page (a new version). Send `If-Match` (or `version`) to be told 409 instead of
/// overwriting someone else's save.
#[utoipa::path(patch, path = "/{id}/pages/{page_id}", tag = "studio",
    params(("id" = String, Path), ("page_id" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body = PageInput,
    responses((status = 200, body = Page), (status = 401), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn update_page(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    headers: HeaderMap,
    Path((id, page_id)): Path<(String, String)>,
    Json(input): Json<PageInput>,
) -> Result<Response> {
    let expected = if_match(&headers)?;
    Ok(with_etag(service::update(&s.db, &ctx, &principal, &id, &page_id, input, expected).await?, StatusCode::OK))
}

/// Delete a page and its versions.
#[utoipa::path(delete, path = "/{id}/pages/{page_id}", tag = "studio", params(("id" = String, Path), ("page_id" = String, Path)),
    responses((status = 204), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn delete_page(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path((id, page_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    service::delete(&s.db, &ctx, &principal, &id, &page_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The page's versions, newest first.
#[utoipa::path(get, path = "/{id}/pages/{page_id}/versions", tag = "studio", operation_id = "list_page_versions", params(("id" = String, Path), ("page_id" = String, Path)),
    responses((status = 200, body = Vec<PageVersion>), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_versions(
    State(s): State<StudioState>,
    principal: Principal,
    Path((id, page_id)): Path<(String, String)>,
) -> Result<Json<Vec<PageVersion>>> {
    Ok(Json(service::versions(&s.db, &principal, &id, &page_id).await?))
}

/// One version with its document.
#[utoipa::path(get, path = "/{id}/pages/{page_id}/versions/{version}", tag = "studio",
    params(("id" = String, Path), ("page_id" = String, Path), ("version" = i64, Path)),
    responses((status = 200, body = PageVersionDetail), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_version(
    State(s): State<StudioState>,
    principal: Principal,
    Path((id, page_id, version)): Path<(String, String, i64)>,
) -> Result<Json<PageVersionDetail>> {
    Ok(Json(service::version(&s.db, &principal, &id, &page_id, version).await?))
}

/// Make an old version current again (saved as a new version).
#[utoipa::path(post, path = "/{id}/pages/{page_id}/versions/{version}/restore", tag = "studio",
    params(("id" = String, Path), ("page_id" = String, Path), ("version" = i64, Path)),
    responses((status = 200, body = Page), (status = 401), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn restore_version(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path((id, page_id, version)): Path<(String, String, i64)>,
) -> Result<Response> {
    Ok(with_etag(service::restore(&s.db, &ctx, &principal, &id, &page_id, version).await?, StatusCode::OK))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DiffQuery {
    from: i64,
    to: i64,
}

/// What changed between two versions, as a JSON Patch.
#[utoipa::path(get, path = "/{id}/pages/{page_id}/diff", tag = "studio",
    params(("id" = String, Path), ("page_id" = String, Path), DiffQuery),
    responses((status = 200, body = PageDiff), (status = 400), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn diff_versions(
    State(s): State<StudioState>,
    principal: Principal,
    Path((id, page_id)): Path<(String, String)>,
    Query(q): Query<DiffQuery>,
) -> Result<Json<PageDiff>> {
    Ok(Json(service::diff(&s.db, &principal, &id, &page_id, q.from, q.to).await?))
}
