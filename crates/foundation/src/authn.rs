//! Authentication: turning the credential on a request (a bearer access token, or an API
//! key as `Authorization: Bearer sk_...` or `X-API-Key`) into a [`Principal`], and the
//! [`AdminUser`] extractor that enforces the platform `admin` role.

use std::sync::OnceLock;

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use kernel::context::RequestContext;
use kernel::db::DbKind;
use kernel::principal::{ApiKeyPrincipal, AuthFailure, Principal, UserPrincipal};
use kernel::recent;
use kernel::{Error, OrgRole, PlatformRole, args};
use time::OffsetDateTime;

use crate::audit::{self, AuditEntry, Severity, actions};
use crate::state::FoundationState;

pub const API_KEY_PREFIX: &str = "sk_";

enum Credential<'a> {
    Access(&'a str),
    ApiKey(&'a str),
}

fn credential(headers: &HeaderMap) -> Option<Credential<'_>> {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(Credential::ApiKey(key.trim()));
    }
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    Some(if token.starts_with(API_KEY_PREFIX) { Credential::ApiKey(token) } else { Credential::Access(token) })
}

#[derive(serde::Deserialize)]
struct SessionCheck {
    user_id: String,
    email: String,
    role: String,
    status: String,
    /// 1 when neither revoked nor expired.
    live: i64,
    /// 1 when it will still be live in [`recent::TIME_TO_LIVE`]: its answer may be reused.
    lasting: i64,
    /// 1 when `last_used_at` is over a minute old.
    stale: i64,
}

#[derive(sqlx::FromRow)]
struct KeyCheck {
    id: String,
    organization_id: String,
    role: String,
    expires_at: Option<OffsetDateTime>,
    last_used_at: Option<OffsetDateTime>,
}

/// The session check every request of a signed-in builder runs, built once per engine: one
/// row built as JSON, so that it takes the fast read path (`Db::fetch_texts`); times are
/// compared in SQL.
fn session_check_sql(kind: DbKind) -> &'static str {
    static SQL: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = match kind {
        DbKind::Sqlite => &SQL[0],
        DbKind::Postgres => &SQL[1],
    };
    slot.get_or_init(|| {
        format!(
            "SELECT {} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
            kernel::db::json_object_sql(
                kind,
                &[
                    ("user_id", "u.id"),
                    ("email", "u.email"),
                    ("role", "u.role"),
                    ("status", "u.status"),
                    ("live", "CASE WHEN s.revoked_at IS NULL AND s.expires_at > $2 THEN 1 ELSE 0 END"),
                    ("stale", "CASE WHEN s.last_used_at < $3 THEN 1 ELSE 0 END"),
                    ("lasting", "CASE WHEN s.revoked_at IS NULL AND s.expires_at > $4 THEN 1 ELSE 0 END"),
                ],
            )
        )
    })
}

/// Resolve the request's credential. `Ok(None)`: no credential was sent.
pub async fn authenticate(state: &FoundationState, headers: &HeaderMap) -> Result<Option<Principal>, AuthFailure> {
    let Some(credential) = credential(headers) else { return Ok(None) };
    let now = kernel::time::now();
    match credential {
        Credential::Access(token) => {
            let claims = state.jwt.verify(token).map_err(AuthFailure)?;
            if let Some(user) = state.recent_sessions.get(&claims.sid)
                && user.user_id == claims.sub
            {
                return Ok(Some(Principal::User(user)));
            }
            let mark = recent::ReadMark::now();
            let rows = state
                .db
                .fetch_texts(
                    session_check_sql(state.db.kind()),
                    args![&claims.sid, now, now - time::Duration::minutes(1), now + recent::TIME_TO_LIVE],
                )
                .await
                .map_err(|_| AuthFailure("could not verify the session".into()))?;
            let row = rows.first().ok_or_else(|| AuthFailure("the session no longer exists".into()))?;
            let row: SessionCheck =
                serde_json::from_str(row).map_err(|_| AuthFailure("could not verify the session".into()))?;
            if row.user_id != claims.sub || row.live != 1 {
                return Err(AuthFailure("the session has been revoked or has expired".into()));
            }
            if row.status != "active" {
                return Err(AuthFailure("the account is not active".into()));
            }
            if row.stale == 1 {
                touch(state, "UPDATE sessions SET last_used_at = $2 WHERE id = $1", claims.sid.clone(), now);
            }
            let user = UserPrincipal {
                user_id: row.user_id,
                session_id: claims.sid,
                email: row.email,
                role: PlatformRole::parse(&row.role).unwrap_or(PlatformRole::User),
            };
            if row.lasting == 1 {
                state.recent_sessions.put(user.session_id.clone(), mark, user.clone());
            }
            Ok(Some(Principal::User(user)))
        }
        Credential::ApiKey(key) => {
            let hash = kernel::ids::sha256_hex(key);
            if let Some(principal) = state.recent_api_keys.get(&hash) {
                return Ok(Some(Principal::ApiKey(principal)));
            }
            let mark = recent::ReadMark::now();
            let row: Option<KeyCheck> = state
                .db
                .fetch_optional(
                    "SELECT k.id, k.organization_id, k.role, k.expires_at, k.last_used_at
                     FROM api_keys k JOIN organizations o ON o.id = k.organization_id
                     WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND o.deleted_at IS NULL",
                    args![&hash],
                )
                .await
                .map_err(|_| AuthFailure("could not verify the API key".into()))?;
            let row = row.ok_or_else(|| AuthFailure("the API key is invalid or revoked".into()))?;
            if row.expires_at.is_some_and(|t| t <= now) {
                return Err(AuthFailure("the API key has expired".into()));
            }
            if row.last_used_at.is_none_or(|t| now - t > time::Duration::minutes(1)) {
                touch(state, "UPDATE api_keys SET last_used_at = $2 WHERE id = $1", row.id.clone(), now);
            }
            let principal = ApiKeyPrincipal {
                key_id: row.id,
                organization_id: row.organization_id,
                role: OrgRole::parse(&row.role).unwrap_or(OrgRole::Member),
            };
            if row.expires_at.is_none_or(|t| t > now + recent::TIME_TO_LIVE) {
                state.recent_api_keys.put(hash, mark, principal.clone());
            }
            Ok(Some(Principal::ApiKey(principal)))
        }
    }
}

/// Record "last used" without making the request wait for a write.
fn touch(state: &FoundationState, sql: &'static str, id: String, now: OffsetDateTime) {
    let db = state.db.clone();
    tokio::spawn(async move {
        if let Err(e) = db.execute(sql, args![id, now]).await {
            tracing::debug!(error = %e, "could not record last use");
        }
    });
}

/// Put the principal (or the reason its credential failed) in the request's extensions.
pub async fn attach_principal(state: &FoundationState, req: &mut Request) {
    match authenticate(state, req.headers()).await {
        Ok(Some(principal)) => {
            req.extensions_mut().insert(principal);
        }
        Ok(None) => {}
        Err(failure) => {
            req.extensions_mut().insert(failure);
        }
    }
}

/// A signed-in person with the platform `admin` role. Anyone else gets 403, and a
/// signed-in non-admin's attempt is audited as UNAUTHORIZED_ACCESS.
#[derive(Debug, Clone)]
pub struct AdminUser(pub UserPrincipal);

impl<S> FromRequestParts<S> for AdminUser
where
    FoundationState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = FoundationState::from_ref(state);
        let principal = <Principal as FromRequestParts<()>>::from_request_parts(parts, &()).await?;
        if let Ok(user) = principal.authorize(PlatformRole::Admin) {
            return Ok(AdminUser(user.clone()));
        }
        let ctx = parts.extensions.get::<RequestContext>().cloned().unwrap_or_default();
        let entry = AuditEntry::new(actions::UNAUTHORIZED_ACCESS, Severity::Medium, "system")
            .by(&principal)
            .describe(format!("refused access to {}", parts.uri.path()))
            .meta(serde_json::json!({ "method": parts.method.as_str(), "path": parts.uri.path() }));
        if let Err(e) = audit::record_now(&state.db, &ctx, entry).await {
            tracing::warn!(error = %e, "could not audit a refused admin access");
        }
        Err(Error::Forbidden("this endpoint requires the admin role".into()))
    }
}
