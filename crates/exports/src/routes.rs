//! `/api/v1/exports`.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::Result;
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::principal::Principal;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::ExportsState;
use crate::service::{self, Export, NewExport};

pub fn router(state: ExportsState) -> OpenApiRouter {
    let routes = OpenApiRouter::new()
        .routes(routes!(create_export, list_exports))
        .routes(routes!(get_export))
        .routes(routes!(download_export));
    OpenApiRouter::new().nest("/exports", routes).with_state(state)
}

/// Export a project (MEMBER): queued at once, made by the job queue; poll
/// `GET /exports/{id}` for its progress and its download link.
#[utoipa::path(post, path = "", tag = "exports", request_body = NewExport,
    responses((status = 202, body = Export), (status = 400), (status = 401), (status = 402), (status = 404), (status = 415),
      (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn create_export(
    State(state): State<ExportsState>,
    ctx: RequestContext,
    principal: Principal,
    Json(input): Json<NewExport>,
) -> Result<(StatusCode, Json<Export>)> {
    Ok((StatusCode::ACCEPTED, Json(service::create(&state, &ctx, &principal, input).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ProjectQuery {
    project_id: String,
}

/// A project's exports, newest first (MEMBER).
#[utoipa::path(get, path = "", tag = "exports", params(ProjectQuery),
    responses((status = 200, body = Vec<Export>), (status = 400), (status = 401), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_exports(
    State(state): State<ExportsState>,
    principal: Principal,
    Query(q): Query<ProjectQuery>,
) -> Result<Json<Vec<Export>>> {
    Ok(Json(service::list(&state, &principal, &q.project_id).await?))
}

/// One export: status, progress and step; a signed download link once it succeeded.
#[utoipa::path(get, path = "/{id}", tag = "exports", params(("id" = String, Path)),
    responses((status = 200, body = Export), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_export(
    State(state): State<ExportsState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Export>> {
    Ok(Json(service::get(&state, &principal, &id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Link {
    expires: i64,
    signature: String,
}

/// The ZIP, through the signed link `GET /exports/{id}` gives (no sign-in needed).
#[utoipa::path(get, path = "/{id}/download", tag = "exports", params(("id" = String, Path), Link),
    responses((status = 200, description = "the ZIP", content_type = "application/zip", body = Vec<u8>), (status = 400),
      (status = 401), (status = 404), (status = 409), (status = 422)))]
async fn download_export(
    State(state): State<ExportsState>,
    Path(id): Path<String>,
    Query(link): Query<Link>,
) -> Result<Response> {
    let (name, bytes) = service::download(&state, &id, link.expires, &link.signature).await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
