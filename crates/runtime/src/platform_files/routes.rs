//! `/api/v1/files`.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery};
use kernel::principal::Principal;
use kernel::{Error, Result};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::FilesState;
use super::service::{self, FileChange, FileFilter, LinkParts, NewFile, PlatformFile};

pub fn router(state: FilesState) -> OpenApiRouter {
    let limit = state.runtime.foundation.config.upload_limit_bytes;
    let routes = OpenApiRouter::new()
        .routes(routes!(upload_file, list_files))
        .routes(routes!(get_file, update_file, delete_file))
        .routes(routes!(file_content))
        // Uploads may be larger than the platform API's usual body limit.
        .layer(axum::extract::DefaultBodyLimit::max(limit));
    OpenApiRouter::new().nest("/files", routes).with_state(state)
}

/// The multipart form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)]
struct UploadForm {
    organization_id: String,
    /// The file (its type is sniffed from its bytes).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// `true`: served without a signed link (page images). Default false.
    public: Option<bool>,
}

async fn read_upload(request: Request) -> Result<NewFile> {
    let (mut org, mut public, mut file) = (None, false, None);
    let mut v = kernel::validate::Validator::new();
    for part in kernel::multipart::read_form(request).await? {
        match (part.name.as_str(), part.file_name) {
            ("file", Some(file_name)) => file = Some((file_name, part.bytes)),
            ("file", None) => v.add("file", "invalid_type", "file is a file part (with a filename)"),
            ("organization_id", _) => org = Some(String::from_utf8_lossy(&part.bytes).trim().to_string()),
            ("public", _) => match String::from_utf8_lossy(&part.bytes).trim() {
                "true" | "1" => public = true,
                "false" | "0" | "" => public = false,
                _ => v.add("public", "invalid_type", "public is true or false"),
            },
            _ => {}
        }
    }
    if org.as_deref().is_none_or(str::is_empty) {
        v.add("organization_id", "required", "organization_id is required");
    }
    if file.is_none() && v.is_empty() {
        v.add("file", "required", "a file part named file is required");
    }
    v.finish()?;
    let (Some(organization_id), Some((name, bytes))) = (org, file) else {
        return Err(Error::field("file", "required", "a file part named file is required"));
    };
    Ok(NewFile { organization_id, name, bytes, public })
}

/// Upload a file for an organization (MEMBER): multipart with `organization_id`, `file` and
/// optionally `public`. The type is sniffed and must be one of `files.allowed_types`; the size
/// is within `files.max_size_bytes` and the plan's storage. Audited.
#[utoipa::path(post, path = "", tag = "files",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = PlatformFile), (status = 400), (status = 401), (status = 402), (status = 403),
      (status = 404), (status = 413), (status = 415), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn upload_file(
    State(state): State<FilesState>,
    ctx: RequestContext,
    principal: Principal,
    request: Request,
) -> Result<(StatusCode, Json<PlatformFile>)> {
    let input = read_upload(request).await?;
    Ok((StatusCode::CREATED, Json(service::upload(&state, &ctx, &principal, input).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    organization_id: String,
    /// Part of the name.
    q: Option<String>,
    /// A type (`image/png`) or a family (`image/`).
    mime: Option<String>,
    /// 1-based page number (default 1).
    page: Option<i64>,
    /// Items per page (default 20, at most 200).
    per_page: Option<i64>,
}

/// An organization's files, newest first (MEMBER), each with its links.
#[utoipa::path(get, path = "", tag = "files", params(ListQuery),
    responses((status = 200, body = Page<PlatformFile>), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_files(
    State(state): State<FilesState>,
    principal: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<PlatformFile>>> {
    let page = PageQuery { page: q.page, per_page: q.per_page }.validate()?;
    let filter = FileFilter { q: q.q, mime: q.mime };
    Ok(Json(service::list(&state, &principal, &q.organization_id, filter, page).await?))
}

/// One file (MEMBER), with a fresh signed link.
#[utoipa::path(get, path = "/{id}", tag = "files", params(("id" = String, Path)),
    responses((status = 200, body = PlatformFile), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_file(
    State(state): State<FilesState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PlatformFile>> {
    Ok(Json(service::get(&state, &principal, &id).await?))
}

/// Rename a file, or make it public or private (MEMBER). Audited.
#[utoipa::path(patch, path = "/{id}", tag = "files", params(("id" = String, Path)), request_body = FileChange,
    responses((status = 200, body = PlatformFile), (status = 400), (status = 401), (status = 404), (status = 415),
      (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn update_file(
    State(state): State<FilesState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Json(change): Json<FileChange>,
) -> Result<Json<PlatformFile>> {
    Ok(Json(service::update(&state, &ctx, &principal, &id, change).await?))
}

/// Delete a file (its uploader, or an ADMIN). Audited.
#[utoipa::path(delete, path = "/{id}", tag = "files", params(("id" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn delete_file(
    State(state): State<FilesState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    service::delete(&state, &ctx, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ContentQuery {
    /// The signed link's parts (private files).
    by: Option<String>,
    expires: Option<i64>,
    signature: Option<String>,
    /// A thumbnail of an image: `WxH` (crop), `WxHt`/`WxHb` (from the top/bottom), `WxHf`
    /// (fit), `0xH`/`Wx0` (keep the ratio).
    thumb: Option<String>,
    /// `1`: as an attachment (a download) rather than shown.
    download: Option<String>,
}

/// A file's bytes: public files for anyone, private ones through the signed link
/// `GET /files/{id}` gives (no sign-in needed; it expires). Served under the API's `default-src 'none'` policy:
/// an uploaded SVG runs no script.
#[utoipa::path(get, path = "/{id}/content", tag = "files", params(("id" = String, Path), ContentQuery),
    responses((status = 200, description = "the file", content_type = "application/octet-stream", body = Vec<u8>),
      (status = 400), (status = 401), (status = 404), (status = 422)))]
async fn file_content(
    State(state): State<FilesState>,
    ctx: RequestContext,
    Path(id): Path<String>,
    Query(q): Query<ContentQuery>,
) -> Result<Response> {
    let link = match (q.by, q.expires, q.signature) {
        (Some(by), Some(expires), Some(signature)) => Some(LinkParts { by, expires, signature }),
        _ => None,
    };
    let content = service::content(&state, &ctx, &id, link, q.thumb.as_deref()).await?;
    let mut response = content.bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content.mime) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if content.public { "public, max-age=3600" } else { "private, max-age=300" }),
    );
    let disposition = if q.download.as_deref() == Some("1") { "attachment" } else { "inline" };
    let safe: String = content.name.chars().filter(|c| !c.is_control() && *c != '"' && *c != '\\').collect();
    if let Ok(v) =
        HeaderValue::from_str(&format!("{disposition}; filename=\"{}\"", safe.replace(|c: char| !c.is_ascii(), "_")))
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
