//! `/api/v1/admin/users/{id}/sessions`: an account's open sessions, for platform
//! administrators, who can sign one device or every device out (a stolen laptop, an account
//! taken over). Revocation takes effect on the account's next request.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kernel::context::RequestContext;
use kernel::json::Json;
use kernel::principal::{Principal, UserPrincipal};
use kernel::{Db, Error, Result, args};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::audit::{self, AuditEntry, Severity, actions};
use crate::authn::AdminUser;
use crate::sessions::{SessionView, list_active, revoke, revoke_all_for_user};
use crate::state::FoundationState;

async fn require_account(db: &Db, user_id: &str) -> Result<()> {
    crate::accounts::find_by_id(db, user_id).await?.map(|_| ()).ok_or_else(|| Error::not_found("user"))
}

/// An account's open sessions, most recently used first.
pub async fn sessions_of(db: &Db, user_id: &str) -> Result<Vec<SessionView>> {
    require_account(db, user_id).await?;
    list_active(db, user_id, "").await
}

/// Sign one of an account's sessions out. Audited.
pub async fn revoke_session_of(
    db: &Db,
    ctx: &RequestContext,
    admin: &UserPrincipal,
    user_id: &str,
    session_id: &str,
) -> Result<()> {
    let mut tx = db.begin().await?;
    let owner: Option<(String,)> = tx
        .fetch_optional("SELECT user_id FROM sessions WHERE id = $1 AND revoked_at IS NULL", args![session_id])
        .await?;
    if owner.map(|(o,)| o).as_deref() != Some(user_id) {
        return Err(Error::not_found("session"));
    }
    revoke(&mut tx, session_id, "revoked_by_admin").await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::SESSION_REVOKED, Severity::Medium, "session")
            .by(&Principal::User(admin.clone()))
            .target(session_id)
            .describe(format!("session of account {user_id} revoked by an administrator"))
            .meta(serde_json::json!({ "user_id": user_id })),
    )
    .await?;
    tx.commit().await
}

/// Sign every session of an account out; how many were open. Audited.
pub async fn revoke_sessions_of(db: &Db, ctx: &RequestContext, admin: &UserPrincipal, user_id: &str) -> Result<u64> {
    require_account(db, user_id).await?;
    let mut tx = db.begin().await?;
    let revoked = revoke_all_for_user(&mut tx, user_id, None, "revoked_by_admin").await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::SESSION_REVOKED, Severity::Medium, "user")
            .by(&Principal::User(admin.clone()))
            .target(user_id)
            .describe(format!("{revoked} session(s) revoked by an administrator"))
            .meta(serde_json::json!({ "revoked": revoked })),
    )
    .await?;
    tx.commit().await?;
    Ok(revoked)
}

pub fn routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new()
        .routes(routes!(admin_list_sessions))
        .routes(routes!(admin_revoke_session))
        .routes(routes!(admin_revoke_sessions))
}

/// An account's open sessions (device, address, times), most recently used first.
#[utoipa::path(get, path = "/users/{id}/sessions", tag = "admin",
    params(("id" = String, Path, description = "account id")),
    responses((status = 200, body = Vec<SessionView>), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn admin_list_sessions(
    State(state): State<FoundationState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<SessionView>>> {
    Ok(Json(sessions_of(&state.db, &id).await?))
}

/// Sign one device of an account out.
#[utoipa::path(delete, path = "/users/{id}/sessions/{session_id}", tag = "admin",
    params(("id" = String, Path, description = "account id"), ("session_id" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn admin_revoke_session(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    AdminUser(admin): AdminUser,
    Path((id, session_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    revoke_session_of(&state.db, &ctx, &admin, &id, &session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedSessions {
    /// Sessions that were open.
    pub revoked: u64,
}

/// Sign every device of an account out.
#[utoipa::path(post, path = "/users/{id}/sessions/revoke-all", tag = "admin",
    params(("id" = String, Path, description = "account id")),
    responses((status = 200, body = RevokedSessions), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn admin_revoke_sessions(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
) -> Result<Json<RevokedSessions>> {
    Ok(Json(RevokedSessions { revoked: revoke_sessions_of(&state.db, &ctx, &admin, &id).await? }))
}
