//! `/api/v1/marketplace/...` and `/api/v1/admin/marketplace/...`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use foundation::authn::AdminUser;
use kernel::Result;
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery};
use kernel::principal::Principal;
use serde::Deserialize;
use utoipa::IntoParams;

use super::service::{
    self, Decision, InstallRequest, Installed, ItemSearch, NewItem, NewReview, PurchaseRequest, PurchaseStarted,
    SellerOverview,
};
use super::{Item, Review};
use crate::CommerceState;

/// Approved items, searched and sorted (no sign-in needed).
#[utoipa::path(get, path = "/items", tag = "marketplace", params(ItemSearch, PageQuery),
    responses((status = 200, body = Page<Item>), (status = 400), (status = 422)))]
pub async fn search_items(
    State(state): State<CommerceState>,
    Query(search): Query<ItemSearch>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Item>>> {
    let page = page.validate()?;
    Ok(Json(service::search(&state.db, &search, page).await?))
}

/// Publish a template (a project, as it is now) or a component; it waits for review.
#[utoipa::path(post, path = "/items", tag = "marketplace", request_body = NewItem,
    responses((status = 201, body = Item), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 415), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn publish_item(
    State(state): State<CommerceState>,
    ctx: RequestContext,
    principal: Principal,
    Json(input): Json<NewItem>,
) -> Result<(StatusCode, Json<Item>)> {
    Ok((StatusCode::CREATED, Json(service::publish(&state, &ctx, &principal, input).await?)))
}

/// One item: approved ones for anyone, others for their seller and administrators.
#[utoipa::path(get, path = "/items/{id}", tag = "marketplace", params(("id" = String, Path)),
    responses((status = 200, body = Item), (status = 404)))]
pub async fn get_item(
    State(state): State<CommerceState>,
    principal: Option<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Item>> {
    Ok(Json(service::get(&state.db, principal.as_ref(), &id).await?))
}

/// Buy an item for an organization (OWNER or ADMIN): free at once, paid through a checkout.
#[utoipa::path(post, path = "/items/{id}/purchase", tag = "marketplace", params(("id" = String, Path)),
    request_body = PurchaseRequest,
    responses((status = 200, body = PurchaseStarted), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 409), (status = 415), (status = 422), (status = 503)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn purchase_item(
    State(state): State<CommerceState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Json(req): Json<PurchaseRequest>,
) -> Result<Json<PurchaseStarted>> {
    Ok(Json(service::purchase(&state, &ctx, &principal, &id, req).await?))
}

/// Install an item the organization has: a template as a new project, a component into
/// its library.
#[utoipa::path(post, path = "/items/{id}/install", tag = "marketplace", params(("id" = String, Path)),
    request_body = InstallRequest,
    responses((status = 201, body = Installed), (status = 400), (status = 401), (status = 402), (status = 403),
      (status = 404), (status = 409), (status = 415), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn install_item(
    State(state): State<CommerceState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Json(req): Json<InstallRequest>,
) -> Result<(StatusCode, Json<Installed>)> {
    Ok((StatusCode::CREATED, Json(service::install(&state, &ctx, &principal, &id, req).await?)))
}

/// An item's reviews, newest first.
#[utoipa::path(get, path = "/items/{id}/reviews", tag = "marketplace", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Page<Review>), (status = 404), (status = 422)))]
pub async fn list_reviews(
    State(state): State<CommerceState>,
    principal: Option<Principal>,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Review>>> {
    let page = page.validate()?;
    Ok(Json(service::reviews(&state.db, principal.as_ref(), &id, page).await?))
}

/// Rate (1 to 5) and review an item your organization has; once per person.
#[utoipa::path(post, path = "/items/{id}/reviews", tag = "marketplace", params(("id" = String, Path)),
    request_body = NewReview,
    responses((status = 201, body = Review), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 409), (status = 415), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn add_review(
    State(state): State<CommerceState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(input): Json<NewReview>,
) -> Result<(StatusCode, Json<Review>)> {
    Ok((StatusCode::CREATED, Json(service::add_review(&state, &principal, &id, input).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SellerQuery {
    pub organization_id: String,
}

/// A seller's items (any status), sales and balance (OWNER or ADMIN).
#[utoipa::path(get, path = "/seller", tag = "marketplace", params(SellerQuery),
    responses((status = 200, body = SellerOverview), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn seller_overview(
    State(state): State<CommerceState>,
    principal: Principal,
    Query(q): Query<SellerQuery>,
) -> Result<Json<SellerOverview>> {
    Ok(Json(service::seller(&state, &principal, &q.organization_id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQueue {
    /// `pending` (default), `approved` or `rejected`.
    pub status: Option<String>,
}

/// Items by review status, oldest first (platform administrators).
#[utoipa::path(get, path = "/items", tag = "admin", params(ReviewQueue),
    responses((status = 200, body = Vec<Item>), (status = 400), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn review_queue(
    State(state): State<CommerceState>,
    AdminUser(_admin): AdminUser,
    Query(q): Query<ReviewQueue>,
) -> Result<Json<Vec<Item>>> {
    Ok(Json(service::for_review(&state.db, q.status.as_deref().unwrap_or("pending")).await?))
}

/// Approve a pending item: it is listed (platform administrators; audited).
#[utoipa::path(post, path = "/items/{id}/approve", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = Item), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = [])))]
pub async fn approve_item(
    State(state): State<CommerceState>,
    ctx: RequestContext,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
) -> Result<Json<Item>> {
    Ok(Json(service::decide(&state, &ctx, &Principal::User(admin), &id, true, Decision::default()).await?))
}

/// Reject a pending item with a reason its seller sees (platform administrators; audited).
#[utoipa::path(post, path = "/items/{id}/reject", tag = "admin", params(("id" = String, Path)),
    request_body = Decision,
    responses((status = 200, body = Item), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 409), (status = 415), (status = 422)),
    security(("bearer" = [])))]
pub async fn reject_item(
    State(state): State<CommerceState>,
    ctx: RequestContext,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    Json(decision): Json<Decision>,
) -> Result<Json<Item>> {
    Ok(Json(service::decide(&state, &ctx, &Principal::User(admin), &id, false, decision).await?))
}
