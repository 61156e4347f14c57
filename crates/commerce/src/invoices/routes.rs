//! `/api/v1/billing/invoices`: list, one, its PDF.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kernel::Result;
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery};
use kernel::principal::Principal;
use serde::Deserialize;
use utoipa::IntoParams;

use super::Invoice;
use super::service;
use crate::CommerceState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoiceFilter {
    pub organization_id: String,
}

/// An organization's invoices and credit notes, newest first (OWNER or ADMIN).
#[utoipa::path(get, path = "", tag = "billing", params(InvoiceFilter, PageQuery),
    responses((status = 200, body = Page<Invoice>), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_invoices(
    State(state): State<CommerceState>,
    principal: Principal,
    Query(filter): Query<InvoiceFilter>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Invoice>>> {
    let page = page.validate()?;
    Ok(Json(service::list(&state, &principal, &filter.organization_id, page).await?))
}

/// One invoice or credit note (OWNER or ADMIN of its organization, or a platform admin).
#[utoipa::path(get, path = "/{id}", tag = "billing", params(("id" = String, Path)),
    responses((status = 200, body = Invoice), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_invoice(
    State(state): State<CommerceState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Invoice>> {
    Ok(Json(service::get(&state, &principal, &id).await?))
}

/// The signed link of an invoice email, instead of credentials.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PdfLink {
    /// Unix time the link stops working.
    pub expires: Option<i64>,
    pub signature: Option<String>,
}

/// The invoice as a PDF (A4); 409 while the queue is still making it. Credentials, or the
/// signed link the invoice email carries.
#[utoipa::path(get, path = "/{id}/pdf", tag = "billing", params(("id" = String, Path), PdfLink),
    responses((status = 200, description = "the PDF", content_type = "application/pdf", body = Vec<u8>),
      (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn invoice_pdf(
    State(state): State<CommerceState>,
    principal: Option<Principal>,
    Path(id): Path<String>,
    Query(link): Query<PdfLink>,
) -> Result<Response> {
    let signed = link.expires.zip(link.signature.as_deref());
    let (number, bytes) = service::pdf(&state, principal.as_ref(), &id, signed).await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{number}.pdf\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
