//! `/api/v1/payments`: checkout, list, one payment, refund, saved cards.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kernel::Result;
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery};
use kernel::principal::Principal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Payment;
use super::methods::{self, SavedCard, SetupRequest, SetupStarted};
use super::service::{self, CheckoutRequest, RefundRequest};
use crate::CommerceState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Checkout {
    pub payment: Payment,
    /// Send the buyer here: the provider's hosted checkout.
    pub checkout_url: String,
}

/// Start a payment for an organization (OWNER or ADMIN): the buyer pays on the provider's
/// hosted page, and comes back to `success_url` or `cancel_url`.
#[utoipa::path(post, path = "/checkout", tag = "payments",
    request_body = CheckoutRequest,
    responses((status = 201, body = Checkout), (status = 401), (status = 403), (status = 404), (status = 422), (status = 503)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn create_checkout(
    State(state): State<CommerceState>,
    ctx: RequestContext,
    principal: Principal,
    Json(req): Json<CheckoutRequest>,
) -> Result<(StatusCode, Json<Checkout>)> {
    let (payment, checkout_url) = service::create_checkout(&state, &ctx, &principal, req).await?;
    Ok((StatusCode::CREATED, Json(Checkout { payment, checkout_url })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentFilter {
    pub organization_id: String,
    /// `pending`, `succeeded`, `failed`, `canceled`, `refunded`, `partially_refunded`.
    pub status: Option<String>,
}

/// An organization's payments, newest first (OWNER or ADMIN).
#[utoipa::path(get, path = "", tag = "payments", params(PaymentFilter, PageQuery),
    responses((status = 200, body = Page<Payment>), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_payments(
    State(state): State<CommerceState>,
    principal: Principal,
    Query(filter): Query<PaymentFilter>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Payment>>> {
    let page = page.validate()?;
    Ok(Json(service::list(&state, &principal, &filter.organization_id, filter.status.as_deref(), page).await?))
}

/// One payment (OWNER or ADMIN of its organization).
#[utoipa::path(get, path = "/{id}", tag = "payments", params(("id" = String, Path)),
    responses((status = 200, body = Payment), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_payment(
    State(state): State<CommerceState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Payment>> {
    Ok(Json(service::get(&state, &principal, &id).await?))
}

/// Refund a paid payment, in full or in part (OWNER or ADMIN).
#[utoipa::path(post, path = "/{id}/refund", tag = "payments", params(("id" = String, Path)),
    request_body = RefundRequest,
    responses((status = 200, body = Payment), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn refund_payment(
    State(state): State<CommerceState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Json(req): Json<RefundRequest>,
) -> Result<Json<Payment>> {
    Ok(Json(service::refund(&state, &ctx, &principal, &id, req).await?))
}

/// Save a card for the organization through Stripe's page (a Checkout Session in setup
/// mode); the first saved card becomes the default (OWNER or ADMIN).
#[utoipa::path(post, path = "/methods/setup", tag = "payments", request_body = SetupRequest,
    responses((status = 200, body = SetupStarted), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 409), (status = 415), (status = 422), (status = 503, description = "Stripe is not configured")),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn setup_card(
    State(state): State<CommerceState>,
    principal: Principal,
    Json(req): Json<SetupRequest>,
) -> Result<Json<SetupStarted>> {
    Ok(Json(methods::setup(&state, &principal, req).await?))
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct CardOwner {
    pub organization_id: String,
}

/// The organization's saved cards, the default one marked (OWNER or ADMIN).
#[utoipa::path(get, path = "/methods", tag = "payments", params(CardOwner),
    responses((status = 200, body = Vec<SavedCard>), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 422), (status = 503)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_cards(
    State(state): State<CommerceState>,
    principal: Principal,
    Query(q): Query<CardOwner>,
) -> Result<Json<Vec<SavedCard>>> {
    Ok(Json(methods::list(&state, &principal, &q.organization_id).await?))
}

/// Make a saved card the one renewals charge (OWNER or ADMIN).
#[utoipa::path(post, path = "/methods/{id}/default", tag = "payments", params(("id" = String, Path)),
    request_body = CardOwner,
    responses((status = 200, body = Vec<SavedCard>), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 409), (status = 415), (status = 422), (status = 503)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn default_card(
    State(state): State<CommerceState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Json(owner): Json<CardOwner>,
) -> Result<Json<Vec<SavedCard>>> {
    Ok(Json(methods::make_default(&state, &ctx, &principal, &owner.organization_id, &id).await?))
}

/// Remove a saved card (OWNER or ADMIN).
#[utoipa::path(delete, path = "/methods/{id}", tag = "payments", params(("id" = String, Path), CardOwner),
    responses((status = 204), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409),
      (status = 422), (status = 503)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn remove_card(
    State(state): State<CommerceState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Query(owner): Query<CardOwner>,
) -> Result<StatusCode> {
    methods::remove(&state, &ctx, &principal, &owner.organization_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
