//! `/api/v1/billing/{plans,me,usage,subscribe,cancel}` and `/api/v1/admin/billing/plans/{code}`.

use axum::extract::{Path, State};
use kernel::Result;
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::principal::Principal;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::profile::BillingProfile;
use super::service::{self, PlanUpdate, SubscribeRequest, Subscribed};
use super::{BillingOverview, Plan, UsageDay};
use crate::CommerceState;

/// The plans on sale, with their prices (minor units) and limits.
#[utoipa::path(get, path = "/plans", tag = "billing", responses((status = 200, body = Vec<Plan>)))]
pub async fn list_plans(State(state): State<CommerceState>) -> Result<Json<Vec<Plan>>> {
    Ok(Json(service::plans(&state.db).await?))
}

/// Change a plan's name, prices or limits (platform administrators).
#[utoipa::path(put, path = "/{code}", tag = "admin", params(("code" = String, Path)),
    request_body = PlanUpdate,
    responses((status = 200, body = Plan), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn update_plan(
    State(state): State<CommerceState>,
    ctx: RequestContext,
    // Refused before the body is read: a non-admin learns nothing about what is valid.
    foundation::authn::AdminUser(admin): foundation::authn::AdminUser,
    Path(code): Path<String>,
    Json(update): Json<PlanUpdate>,
) -> Result<Json<Plan>> {
    Ok(Json(service::update_plan(&state, &ctx, &Principal::User(admin), &code, update).await?))
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct OrganizationQuery {
    pub organization_id: String,
}

/// The organization's plan, period and limits (OWNER or ADMIN).
#[utoipa::path(get, path = "/me", tag = "billing", params(OrganizationQuery),
    responses((status = 200, body = BillingOverview), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn billing_me(
    State(state): State<CommerceState>,
    principal: Principal,
    Query(q): Query<OrganizationQuery>,
) -> Result<Json<BillingOverview>> {
    Ok(Json(service::overview(&state, &principal, &q.organization_id).await?))
}

/// Move to a plan: a checkout for what it costs now (prorated), or at once when nothing is
/// due; FREE ends the current plan at the end of its period (OWNER or ADMIN).
#[utoipa::path(post, path = "/subscribe", tag = "billing",
    request_body = SubscribeRequest,
    responses((status = 200, body = Subscribed), (status = 401), (status = 403), (status = 404), (status = 409),
      (status = 422), (status = 503)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn subscribe(
    State(state): State<CommerceState>,
    ctx: RequestContext,
    principal: Principal,
    Json(req): Json<SubscribeRequest>,
) -> Result<Json<Subscribed>> {
    Ok(Json(service::subscribe(&state, &ctx, &principal, req).await?))
}

/// Stop the paid plan at the end of its period (OWNER or ADMIN).
#[utoipa::path(post, path = "/cancel", tag = "billing",
    request_body = OrganizationQuery,
    responses((status = 200, body = BillingOverview), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn cancel_plan(
    State(state): State<CommerceState>,
    ctx: RequestContext,
    principal: Principal,
    Json(body): Json<OrganizationQuery>,
) -> Result<Json<BillingOverview>> {
    Ok(Json(service::cancel(&state, &ctx, &principal, &body.organization_id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    pub organization_id: String,
    /// How many days back, today included (1 to 366; 30 by default).
    pub days: Option<i64>,
}

/// The organization's metered usage per UTC day (API calls, AI tokens, exports), oldest
/// first (OWNER or ADMIN).
#[utoipa::path(get, path = "/usage", tag = "billing", params(UsageQuery),
    responses((status = 200, body = Vec<UsageDay>), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn usage_history(
    State(state): State<CommerceState>,
    principal: Principal,
    Query(q): Query<UsageQuery>,
) -> Result<Json<Vec<UsageDay>>> {
    let days = q.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(kernel::Error::field("days", "out_of_range", "days is from 1 to 366"));
    }
    Ok(Json(super::usage::history(&state.db, &principal, &q.organization_id, days).await?))
}

/// The organization's billing profile: the buyer on its invoices (OWNER or ADMIN).
#[utoipa::path(get, path = "/profile", tag = "billing", params(OrganizationQuery),
    responses((status = 200, body = BillingProfile), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn get_profile(
    State(state): State<CommerceState>,
    principal: Principal,
    Query(q): Query<OrganizationQuery>,
) -> Result<Json<BillingProfile>> {
    Ok(Json(super::profile::get(&state, &principal, &q.organization_id).await?))
}

/// Set the billing profile; the VAT of later invoices follows its country (OWNER or ADMIN).
#[utoipa::path(put, path = "/profile", tag = "billing", request_body = BillingProfile,
    responses((status = 200, body = BillingProfile), (status = 400), (status = 401), (status = 403), (status = 404),
      (status = 415), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn put_profile(
    State(state): State<CommerceState>,
    principal: Principal,
    Json(input): Json<BillingProfile>,
) -> Result<Json<BillingProfile>> {
    Ok(Json(super::profile::put(&state, &principal, input).await?))
}
