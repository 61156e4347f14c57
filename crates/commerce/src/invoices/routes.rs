//! `/api/v1/billing/invoices`: list, one, its PDF; `/api/v1/admin/billing/{invoices,revenue}`
//! for platform administrators.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use foundation::authn::AdminUser;
use kernel::Result;
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery};
use kernel::principal::Principal;
use serde::Deserialize;
use utoipa::IntoParams;

use super::Invoice;
use super::admin::{self, AdminInvoiceFilter, RevenueMonth, RevenueQuery, StatusChange};
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

/// Every invoice and credit note, filtered, newest first (platform administrators).
#[utoipa::path(get, path = "", tag = "admin", params(AdminInvoiceFilter, PageQuery),
    responses((status = 200, body = Page<Invoice>), (status = 400), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn admin_list_invoices(
    State(state): State<CommerceState>,
    AdminUser(_admin): AdminUser,
    Query(filter): Query<AdminInvoiceFilter>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Invoice>>> {
    let page = page.validate()?;
    Ok(Json(admin::list(&state, &filter, page).await?))
}

/// Mark an issued invoice paid (settled outside the platform) or void (platform
/// administrators; audited). A paid invoice is corrected by refunding its payment: 409.
#[utoipa::path(put, path = "/{id}/status", tag = "admin", params(("id" = String, Path)), request_body = StatusChange,
    responses((status = 200, body = Invoice), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 409), (status = 415), (status = 422)),
    security(("bearer" = [])))]
pub async fn admin_change_invoice_status(
    State(state): State<CommerceState>,
    ctx: RequestContext,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    Json(change): Json<StatusChange>,
) -> Result<Json<Invoice>> {
    Ok(Json(admin::change_status(&state, &ctx, &Principal::User(admin), &id, change).await?))
}

/// Send the invoice email to the buyer again, with a fresh download link (platform
/// administrators; audited).
#[utoipa::path(post, path = "/{id}/resend", tag = "admin", params(("id" = String, Path)),
    responses((status = 202), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = [])))]
pub async fn admin_resend_invoice(
    State(state): State<CommerceState>,
    ctx: RequestContext,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    admin::resend(&state, &ctx, &Principal::User(admin), &id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Revenue per month and currency for the last months (12 by default), VAT included, net of
/// credit notes, by plan; `format=csv` for a spreadsheet (platform administrators).
#[utoipa::path(get, path = "/revenue", tag = "admin", params(RevenueQuery),
    responses((status = 200, body = Vec<RevenueMonth>, content(
        (Vec<RevenueMonth> = "application/json"), (String = "text/csv"))),
      (status = 400), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn admin_revenue(
    State(state): State<CommerceState>,
    AdminUser(_admin): AdminUser,
    Query(q): Query<RevenueQuery>,
) -> Result<Response> {
    let months = q.months.unwrap_or(12);
    if !(1..=36).contains(&months) {
        return Err(kernel::Error::field("months", "out_of_range", "months is from 1 to 36"));
    }
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(kernel::Error::field("format", "invalid_value", "format is json or csv")),
    };
    let report = admin::revenue(&state, months, q.test.unwrap_or(false)).await?;
    if !csv {
        return Ok(Json(report).into_response());
    }
    let mut response = admin::revenue_csv(&report).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"revenue.csv\""));
    Ok(response)
}
