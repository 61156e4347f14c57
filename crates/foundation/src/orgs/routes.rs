//! `/api/v1/foundation/organizations/*`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery};
use kernel::principal::{CurrentUser, Principal};
use kernel::{OrgRole, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::invitations::{self, Invitation};
use super::service::{self, Member, Organization, OrganizationInput};
use crate::audit::service::{AuditFilter, AuditRecord};
use crate::state::FoundationState;

pub fn routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new()
        .routes(routes!(create_organization, list_my_organizations))
        .routes(routes!(get_organization, update_organization, delete_organization))
        .routes(routes!(list_members))
        .routes(routes!(change_member_role, remove_member))
        .routes(routes!(leave_organization))
        .routes(routes!(transfer_ownership))
        .routes(routes!(create_invitation, list_invitations))
        .routes(routes!(revoke_invitation))
        .routes(routes!(accept_invitation))
        .routes(routes!(organization_audit))
}

/// Create an organization; the caller becomes its OWNER.
#[utoipa::path(post, path = "", tag = "organizations",
    request_body = OrganizationInput,
    responses((status = 201, body = Organization), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn create_organization(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Json(input): Json<OrganizationInput>,
) -> Result<(StatusCode, Json<Organization>)> {
    Ok((StatusCode::CREATED, Json(service::create(&state.db, &ctx, &me, input).await?)))
}

/// The organizations I belong to.
#[utoipa::path(get, path = "", tag = "organizations",
    params(PageQuery),
    responses((status = 200, body = Page<Organization>), (status = 401), (status = 403)),
    security(("bearer" = [])))]
async fn list_my_organizations(
    State(state): State<FoundationState>,
    CurrentUser(me): CurrentUser,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Organization>>> {
    Ok(Json(service::list_mine(&state.db, &me, page.validate()?).await?))
}

/// One organization (members, and API keys of that organization).
#[utoipa::path(get, path = "/{id}", tag = "organizations",
    params(("id" = String, Path)),
    responses((status = 200, body = Organization), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_organization(
    State(state): State<FoundationState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Organization>> {
    Ok(Json(service::get(&state.db, &principal, &id).await?))
}

/// Rename or describe an organization (ADMIN or OWNER).
#[utoipa::path(patch, path = "/{id}", tag = "organizations",
    params(("id" = String, Path)),
    request_body = OrganizationInput,
    responses((status = 200, body = Organization), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn update_organization(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Json(input): Json<OrganizationInput>,
) -> Result<Json<Organization>> {
    Ok(Json(service::update(&state.db, &ctx, &principal, &id, input).await?))
}

/// Delete an organization (OWNER only).
#[utoipa::path(delete, path = "/{id}", tag = "organizations",
    params(("id" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn delete_organization(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    service::delete(&state.db, &ctx, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Members and their roles.
#[utoipa::path(get, path = "/{id}/members", tag = "organizations",
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Page<Member>), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_members(
    State(state): State<FoundationState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Member>>> {
    Ok(Json(service::members(&state.db, &principal, &id, page.validate()?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
struct RoleBody {
    role: OrgRole,
}

/// Change a member's role (ADMIN+; OWNER changes need an OWNER; the last OWNER stays).
#[utoipa::path(patch, path = "/{id}/members/{user_id}", tag = "organizations",
    params(("id" = String, Path), ("user_id" = String, Path)),
    request_body = RoleBody,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn change_member_role(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    principal: Principal,
    Path((id, user_id)): Path<(String, String)>,
    Json(body): Json<RoleBody>,
) -> Result<StatusCode> {
    service::change_role(&state.db, &ctx, &principal, &id, &user_id, body.role).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a member.
#[utoipa::path(delete, path = "/{id}/members/{user_id}", tag = "organizations",
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []), ("api_key" = [])))]
async fn remove_member(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    principal: Principal,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    service::remove_member(&state.db, &ctx, &principal, &id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Leave the organization.
#[utoipa::path(post, path = "/{id}/leave", tag = "organizations",
    params(("id" = String, Path)),
    responses((status = 204), (status = 401), (status = 404), (status = 409)),
    security(("bearer" = [])))]
async fn leave_organization(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    service::leave(&state.db, &ctx, &me, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
struct TransferBody {
    user_id: String,
}

/// Make another member the OWNER; the caller becomes ADMIN.
#[utoipa::path(post, path = "/{id}/transfer-ownership", tag = "organizations",
    params(("id" = String, Path)),
    request_body = TransferBody,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
async fn transfer_ownership(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
    Json(body): Json<TransferBody>,
) -> Result<StatusCode> {
    service::transfer_ownership(&state.db, &ctx, &me, &id, &body.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
struct InviteBody {
    email: String,
    /// Default MEMBER.
    role: Option<OrgRole>,
}

/// Invite someone by email (ADMIN+).
#[utoipa::path(post, path = "/{id}/invitations", tag = "organizations",
    params(("id" = String, Path)),
    request_body = InviteBody,
    responses((status = 201, body = Invitation), (status = 401), (status = 402, description = "The plan allows no more (a quota-exceeded problem naming the limit)"), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
async fn create_invitation(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
    Json(body): Json<InviteBody>,
) -> Result<(StatusCode, Json<Invitation>)> {
    let role = body.role.unwrap_or(OrgRole::Member);
    let inv = invitations::create(&state, &ctx, &me, &id, &body.email, role).await?;
    Ok((StatusCode::CREATED, Json(inv)))
}

/// Pending invitations (ADMIN+).
#[utoipa::path(get, path = "/{id}/invitations", tag = "organizations",
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<Invitation>), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_invitations(
    State(state): State<FoundationState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<Invitation>>> {
    Ok(Json(invitations::list_pending(&state.db, &principal, &id).await?))
}

/// Revoke a pending invitation (ADMIN+).
#[utoipa::path(delete, path = "/{id}/invitations/{invitation_id}", tag = "organizations",
    params(("id" = String, Path), ("invitation_id" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn revoke_invitation(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    principal: Principal,
    Path((id, invitation_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    invitations::revoke(&state.db, &ctx, &principal, &id, &invitation_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
struct AcceptBody {
    token: String,
}

#[derive(Debug, Serialize, ToSchema)]
struct Accepted {
    organization_id: String,
}

/// Accept an invitation while signed in with the invited address.
#[utoipa::path(post, path = "/invitations/accept", tag = "organizations",
    request_body = AcceptBody,
    responses((status = 200, body = Accepted), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn accept_invitation(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Json(body): Json<AcceptBody>,
) -> Result<Json<Accepted>> {
    let organization_id = invitations::accept(&state.db, &ctx, &me, &body.token).await?;
    Ok(Json(Accepted { organization_id }))
}

/// The organization's audit trail (ADMIN+).
#[utoipa::path(get, path = "/{id}/audit", tag = "organizations",
    params(("id" = String, Path), AuditFilter, PageQuery),
    responses((status = 200, body = Page<AuditRecord>), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn organization_audit(
    State(state): State<FoundationState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(mut filter): Query<AuditFilter>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<AuditRecord>>> {
    super::require_org_role(&state.db, &principal, &id, OrgRole::Admin).await?;
    filter.organization_id = Some(id);
    Ok(Json(crate::audit::service::list(&state.db, &filter, page.validate()?).await?))
}
