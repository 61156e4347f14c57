//! Sessions: one per sign-in, each a family of rotating refresh tokens. A person lists
//! their sessions and revokes one or all others; revocation takes effect on the next
//! request because every access token names its session.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kernel::context::RequestContext;
use kernel::json::Json;
use kernel::principal::{CurrentUser, Principal};
use kernel::{Db, Error, Result, Tx, args};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::audit::{self, AuditEntry, Severity, actions};
use crate::state::FoundationState;

/// Open a session for `user_id`; returns (session id, first refresh token).
pub async fn start(tx: &mut Tx, user_id: &str, ctx: &RequestContext, ttl_secs: i64) -> Result<(String, String)> {
    let now = kernel::time::now();
    let id = kernel::ids::new_id();
    let user_agent = ctx.user_agent.as_deref().map(|ua| ua.chars().take(512).collect::<String>());
    tx.execute(
        "INSERT INTO sessions (id, user_id, user_agent, ip, created_at, last_used_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $5, $6)",
        args![&id, user_id, user_agent, ctx.ip.clone(), now, now + time::Duration::seconds(ttl_secs)],
    )
    .await?;
    let refresh = issue_refresh_token(tx, &id, ttl_secs).await?;
    mark_active_today(tx, user_id).await?;
    Ok((id, refresh))
}

/// Count `user_id` among today's active accounts (a sign-in or a session renewed): at most
/// one row per account and day, whatever the number of renewals.
pub async fn mark_active_today(tx: &mut Tx, user_id: &str) -> Result<()> {
    let day = kernel::time::now().date().to_string();
    tx.execute(
        "INSERT INTO active_user_days (day, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        args![day, user_id],
    )
    .await?;
    Ok(())
}

/// A new refresh token in an existing session.
pub async fn issue_refresh_token(tx: &mut Tx, session_id: &str, ttl_secs: i64) -> Result<String> {
    let now = kernel::time::now();
    let (secret, hash) = crate::tokens::new_secret();
    tx.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        args![hash, session_id, now, now + time::Duration::seconds(ttl_secs)],
    )
    .await?;
    Ok(secret)
}

pub async fn revoke(tx: &mut Tx, session_id: &str, reason: &str) -> Result<bool> {
    let revoked: Option<(String,)> = tx
        .fetch_optional(
            "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL
             RETURNING user_id",
            args![session_id, kernel::time::now(), reason],
        )
        .await?;
    let Some((user_id,)) = revoked else { return Ok(false) };
    kernel::access_changes::announce(tx, kernel::access_changes::Scope::User(user_id)).await?;
    Ok(true)
}

/// Whether session `id` is still usable (neither revoked nor expired): a stream that
/// outlives its request checks it again when an access change is announced.
pub async fn is_active(db: &Db, id: &str) -> Result<bool> {
    let n: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2",
            args![id, kernel::time::now()],
        )
        .await?;
    Ok(n > 0)
}

/// Revoke every open session of a user, except `keep` if given.
pub async fn revoke_all_for_user(tx: &mut Tx, user_id: &str, keep: Option<&str>, reason: &str) -> Result<u64> {
    let n = tx
        .execute(
            "UPDATE sessions SET revoked_at = $2, revoked_reason = $3
             WHERE user_id = $1 AND revoked_at IS NULL AND ($4 IS NULL OR id <> $4)",
            args![user_id, kernel::time::now(), reason, keep.map(str::to_string)],
        )
        .await?;
    if n > 0 {
        kernel::access_changes::announce(tx, kernel::access_changes::Scope::User(user_id.to_string())).await?;
    }
    Ok(n)
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct SessionView {
    pub id: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_used_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    /// Whether this is the session of the request.
    #[sqlx(default)]
    pub current: bool,
}

pub async fn list_active(db: &Db, user_id: &str, current: &str) -> Result<Vec<SessionView>> {
    let mut sessions: Vec<SessionView> = db
        .fetch_all(
            "SELECT id, user_agent, ip, created_at, last_used_at, expires_at FROM sessions
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY last_used_at DESC",
            args![user_id, kernel::time::now()],
        )
        .await?;
    for s in &mut sessions {
        s.current = s.id == current;
    }
    Ok(sessions)
}

pub fn routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(revoke_other_sessions))
}

/// The signed-in person's open sessions.
#[utoipa::path(get, path = "/me/sessions", tag = "users",
    responses((status = 200, body = Vec<SessionView>), (status = 401), (status = 403)),
    security(("bearer" = [])))]
async fn list_sessions(
    State(state): State<FoundationState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Vec<SessionView>>> {
    Ok(Json(list_active(&state.db, &me.user_id, &me.session_id).await?))
}

/// Revoke one of my sessions (sign out that device).
#[utoipa::path(delete, path = "/me/sessions/{id}", tag = "users",
    params(("id" = String, Path, description = "session id")),
    responses((status = 204), (status = 401), (status = 404)),
    security(("bearer" = [])))]
async fn revoke_session(
    State(state): State<FoundationState>,
    CurrentUser(me): CurrentUser,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let mut tx = state.db.begin().await?;
    let owner: Option<String> = tx
        .fetch_optional::<(String,)>("SELECT user_id FROM sessions WHERE id = $1 AND revoked_at IS NULL", args![&id])
        .await?
        .map(|r| r.0);
    if owner.as_deref() != Some(me.user_id.as_str()) {
        return Err(Error::not_found("session"));
    }
    revoke(&mut tx, &id, "revoked_by_user").await?;
    let who = Principal::User(me);
    audit::record(
        &mut tx,
        &ctx,
        AuditEntry::new(actions::SESSION_REVOKED, Severity::Low, "session")
            .by(&who)
            .target(&id)
            .describe("session revoked by its owner"),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
struct RevokedCount {
    revoked: u64,
}

/// Revoke all my sessions except the current one.
#[utoipa::path(post, path = "/me/sessions/revoke-others", tag = "users",
    responses((status = 200, body = RevokedCount), (status = 401)),
    security(("bearer" = [])))]
async fn revoke_other_sessions(
    State(state): State<FoundationState>,
    CurrentUser(me): CurrentUser,
    ctx: RequestContext,
) -> Result<Json<RevokedCount>> {
    let mut tx = state.db.begin().await?;
    let revoked = revoke_all_for_user(&mut tx, &me.user_id, Some(&me.session_id), "revoked_by_user").await?;
    let who = Principal::User(me);
    audit::record(
        &mut tx,
        &ctx,
        AuditEntry::new(actions::SESSION_REVOKED, Severity::Low, "session")
            .by(&who)
            .describe(format!("{revoked} other sessions revoked")),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(RevokedCount { revoked }))
}

/// Open, unexpired sessions across the platform (the `socle_active_sessions` gauge).
pub async fn count_active(db: &Db) -> Result<i64> {
    db.scalar("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > $1", args![kernel::time::now()])
        .await
}

/// Delete sessions (with their refresh tokens) and one-time tokens that expired more than
/// a week ago: nothing can use them any more, and the week keeps recent ones inspectable.
pub async fn purge_expired(db: &Db) -> Result<u64> {
    let horizon = kernel::time::now() - time::Duration::days(7);
    let mut tx = db.begin().await?;
    tx.execute(
        "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE expires_at < $1)",
        args![horizon],
    )
    .await?;
    let sessions = tx.execute("DELETE FROM sessions WHERE expires_at < $1", args![horizon]).await?;
    let tokens = tx.execute("DELETE FROM user_tokens WHERE expires_at < $1", args![horizon]).await?;
    let challenges = tx.execute("DELETE FROM mfa_challenges WHERE expires_at < $1", args![horizon]).await?;
    let codes = tx.execute("DELETE FROM sign_in_codes WHERE expires_at < $1", args![horizon]).await?;
    let states = tx.execute("DELETE FROM oauth_states WHERE expires_at < $1", args![horizon]).await?;
    let oldest_day = (kernel::time::now() - time::Duration::days(90)).date().to_string();
    tx.execute("DELETE FROM active_user_days WHERE day < $1", args![oldest_day]).await?;
    tx.commit().await?;
    Ok(sessions + tokens + challenges + codes + states)
}
