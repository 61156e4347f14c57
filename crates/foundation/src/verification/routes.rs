//! `/api/v1/foundation/verification` and `/api/v1/admin/verifications`.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery};
use kernel::principal::Principal;
use kernel::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::service::{self, Decision, QueuedVerification, Submission, UploadedDocument, Verification};
use crate::FoundationState;
use crate::authn::AdminUser;

pub fn routes(upload_limit: usize) -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new()
        .routes(routes!(get_verification, submit_verification))
        .routes(routes!(get_document))
        // Documents may be larger than the platform API's usual body limit.
        .layer(axum::extract::DefaultBodyLimit::max(upload_limit))
}

pub fn admin_routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new()
        .routes(routes!(list_verifications))
        .routes(routes!(admin_get_verification))
        .routes(routes!(decide_verification))
}

/// The organization's verification and its latest documents (OWNER or ADMIN).
#[utoipa::path(get, path = "/{organization_id}", tag = "verification", params(("organization_id" = String, Path)),
    responses((status = 200, body = Verification), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_verification(
    State(state): State<FoundationState>,
    principal: Principal,
    Path(org): Path<String>,
) -> Result<Json<Verification>> {
    Ok(Json(service::get(&state.db, &principal, &org).await?))
}

/// The multipart form of a submission.
#[derive(ToSchema)]
#[allow(dead_code)]
struct SubmissionForm {
    /// `individual` (KYC: identity and proof_of_address) or `business` (KYB: identity of its
    /// representative and company_registration; proof_of_address optional).
    kind: String,
    /// A JSON object: each document kind's metadata. identity: `document_type` (passport,
    /// id_card, driving_licence, residence_permit), `full_name`, `number`, `country`
    /// (ISO 3166 alpha-2), `expires_on` (YYYY-MM-DD); company_registration: `company_name`,
    /// `registration_number`, `country`; proof_of_address: `address`, `issued_on`.
    metadata: String,
    /// PDF, PNG, JPEG or WebP; at most 10 MiB each.
    #[schema(value_type = Option<String>, format = Binary)]
    identity: Option<Vec<u8>>,
    #[schema(value_type = Option<String>, format = Binary)]
    company_registration: Option<Vec<u8>>,
    #[schema(value_type = Option<String>, format = Binary)]
    proof_of_address: Option<Vec<u8>>,
}

/// Send the organization's documents (OWNER or ADMIN, signed in): a first submission, or a
/// new one after a rejection. Audited; administrators review it.
#[utoipa::path(post, path = "/{organization_id}", tag = "verification", params(("organization_id" = String, Path)),
    request_body(content = SubmissionForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Verification), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 409), (status = 413), (status = 415), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn submit_verification(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    principal: Principal,
    Path(org): Path<String>,
    request: Request,
) -> Result<(StatusCode, Json<Verification>)> {
    let mut v = kernel::validate::Validator::new();
    let (mut kind, mut metadata, mut documents) = (String::new(), Map::new(), Vec::new());
    for part in kernel::multipart::read_form(request).await? {
        match (part.name.as_str(), &part.file_name) {
            ("kind", None) => kind = part.text(),
            ("metadata", None) => match serde_json::from_slice::<Value>(&part.bytes) {
                Ok(Value::Object(m)) => metadata = m,
                _ => v.add("metadata", "invalid_format", "metadata is a JSON object"),
            },
            ("identity" | "company_registration" | "proof_of_address", Some(name)) => {
                documents.push(UploadedDocument { kind: part.name.clone(), name: name.clone(), bytes: part.bytes })
            }
            (name, Some(_)) => {
                v.add(name, "unknown", "documents are identity, company_registration or proof_of_address")
            }
            _ => {}
        }
    }
    v.finish()?;
    let verification =
        service::submit(&state, &ctx, &principal, &org, Submission { kind, metadata, documents }).await?;
    Ok((StatusCode::CREATED, Json(verification)))
}

/// A document's file, shown inline (the organization's OWNER or ADMIN, or a platform
/// administrator: audited).
#[utoipa::path(get, path = "/{organization_id}/documents/{document_id}", tag = "verification",
    params(("organization_id" = String, Path), ("document_id" = String, Path)),
    responses((status = 200, description = "the document", content_type = "application/octet-stream", body = Vec<u8>),
      (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_document(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    principal: Principal,
    Path((org, doc)): Path<(String, String)>,
) -> Result<Response> {
    let (document, bytes) = service::document(&state, &ctx, &principal, &org, &doc).await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&document.mime) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
    Ok(response)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AdminQuery {
    /// `pending` (first submissions and resubmissions), `resubmitted`, `approved` or
    /// `rejected`; all when absent.
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Verifications to review, oldest first (platform administrators).
#[utoipa::path(get, path = "/verifications", tag = "verification", params(AdminQuery),
    responses((status = 200, body = Page<QueuedVerification>), (status = 400), (status = 401), (status = 403),
      (status = 422)),
    security(("bearer" = [])))]
async fn list_verifications(
    State(state): State<FoundationState>,
    _admin: AdminUser,
    Query(q): Query<AdminQuery>,
) -> Result<Json<Page<QueuedVerification>>> {
    let page = PageQuery { page: q.page, per_page: q.per_page }.validate()?;
    Ok(Json(service::admin_list(&state.db, q.status.as_deref(), page).await?))
}

/// One organization's verification (platform administrators).
#[utoipa::path(get, path = "/verifications/{organization_id}", tag = "verification",
    params(("organization_id" = String, Path)),
    responses((status = 200, body = Verification), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn admin_get_verification(
    State(state): State<FoundationState>,
    _admin: AdminUser,
    Path(org): Path<String>,
) -> Result<Json<Verification>> {
    Ok(Json(service::admin_get(&state.db, &org).await?))
}

/// Approve or reject (with a reason) a verification waiting for review (platform
/// administrators). Audited and emailed to whoever sent the documents.
#[utoipa::path(post, path = "/verifications/{organization_id}/decision", tag = "verification",
    params(("organization_id" = String, Path)), request_body = Decision,
    responses((status = 200, body = Verification), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 409), (status = 415), (status = 422)),
    security(("bearer" = [])))]
async fn decide_verification(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    AdminUser(admin): AdminUser,
    Path(org): Path<String>,
    Json(input): Json<Decision>,
) -> Result<Json<Verification>> {
    let admin = Principal::User(admin);
    if org.is_empty() {
        return Err(Error::not_found("verification"));
    }
    Ok(Json(service::decide(&state, &ctx, &admin, &org, input).await?))
}
