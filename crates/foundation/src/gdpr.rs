//! GDPR: a person downloads everything the platform holds about them, or erases their
//! account. Erasure anonymizes rather than deletes, so that records that must be kept (the
//! audit trail, what they built in organizations) stay consistent without naming them.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::context::RequestContext;
use kernel::json::Json;
use kernel::principal::{CurrentUser, Principal, UserPrincipal};
use kernel::{Db, Error, Result, args};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::{UserView, find_by_id};
use crate::audit::service::AuditRecord;
use crate::audit::{self, AuditEntry, Severity, actions};
use crate::passwords::Verdict;
use crate::state::FoundationState;

#[derive(Serialize, sqlx::FromRow)]
struct SessionRecord {
    id: String,
    user_agent: Option<String>,
    ip: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_used_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    revoked_at: Option<time::OffsetDateTime>,
}

#[derive(Serialize, sqlx::FromRow)]
struct MembershipRecord {
    organization_id: String,
    organization_name: String,
    role: String,
    #[serde(with = "time::serde::rfc3339")]
    joined_at: time::OffsetDateTime,
}

#[derive(Serialize, sqlx::FromRow)]
struct KeyRecord {
    id: String,
    organization_id: String,
    name: String,
    prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    revoked_at: Option<time::OffsetDateTime>,
}

/// Everything about one person, as one JSON document; the export is itself audited.
pub async fn export(db: &Db, ctx: &RequestContext, me: &UserPrincipal) -> Result<Value> {
    let mut tx = db.begin().await?;
    let user = find_by_id(&mut tx, &me.user_id).await?.ok_or_else(|| Error::not_found("user"))?;
    let sessions: Vec<SessionRecord> = tx
        .fetch_all("SELECT id, user_agent, ip, created_at, last_used_at, revoked_at FROM sessions WHERE user_id = $1 ORDER BY created_at", args![&me.user_id])
        .await?;
    let memberships: Vec<MembershipRecord> = tx
        .fetch_all(
            "SELECT m.organization_id, o.name AS organization_name, m.role, m.created_at AS joined_at
             FROM memberships m JOIN organizations o ON o.id = m.organization_id WHERE m.user_id = $1 ORDER BY m.created_at",
            args![&me.user_id],
        )
        .await?;
    let api_keys: Vec<KeyRecord> = tx
        .fetch_all("SELECT id, organization_id, name, prefix, created_at, revoked_at FROM api_keys WHERE created_by = $1 ORDER BY created_at", args![&me.user_id])
        .await?;
    let audit_entries: Vec<AuditRecord> = tx
        .fetch_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM audit_log WHERE actor_id = $1 OR (target_type = 'user' AND target_id = $1) ORDER BY created_at",
                crate::audit::service::COLUMNS
            )),
            args![&me.user_id],
        )
        .await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::USER_DATA_EXPORTED, Severity::Medium, "user")
            .by(&Principal::User(me.clone()))
            .target(&me.user_id)
            .describe("personal data exported"),
    )
    .await?;
    tx.commit().await?;
    Ok(json!({
        "format": "socle-gdpr-export/1",
        "exported_at": kernel::time::rfc3339(kernel::time::now()),
        "profile": UserView::from(&user),
        "sessions": sessions,
        "memberships": memberships,
        "api_keys": api_keys,
        "audit_entries": audit_entries,
    }))
}

/// Anonymize an account: identity replaced, password unusable, sessions, created API keys and
/// memberships gone, audit entries kept but pseudonymized. Organizations where the person
/// was alone are deleted, and their verification documents (identity papers) with their
/// files. Refused while the person is the last OWNER of an organization that has other
/// members.
pub async fn erase(
    db: &Db,
    store: &kernel::storage::Store,
    ctx: &RequestContext,
    by: &Principal,
    user_id: &str,
) -> Result<()> {
    let mut tx = db.begin().await?;
    // User rows before organizations, whoever erases: an administrator's erasure and the
    // person's own, or two erasures sharing an organization, wait in one order.
    match by {
        Principal::User(admin) if admin.user_id != user_id => {
            crate::admin::hold_acting_admin(&mut tx, &admin.user_id, user_id).await?;
        }
        _ => crate::admin::hold_user(&mut tx, user_id).await?,
    }
    let user = find_by_id(&mut tx, user_id).await?.ok_or_else(|| Error::not_found("user"))?;
    if user.status == "deleted" {
        return Err(Error::not_found("user"));
    }
    // Hold every organization of the person, in one order (two erasures never wait on each
    // other in a cycle), before counting their owners: two OWNERs erased at once would each
    // see the other and leave the organization with none.
    let orgs: Vec<(String,)> = tx
        .fetch_all(
            "SELECT organization_id FROM memberships WHERE user_id = $1 ORDER BY organization_id",
            args![user_id],
        )
        .await?;
    for (org,) in &orgs {
        tx.execute("UPDATE organizations SET updated_at = updated_at WHERE id = $1", args![org]).await?;
    }
    let blocking: Vec<(String,)> = tx
        .fetch_all(
            "SELECT m.organization_id FROM memberships m JOIN organizations o ON o.id = m.organization_id
             WHERE m.user_id = $1 AND m.role = 'OWNER' AND o.deleted_at IS NULL
             AND (SELECT COUNT(*) FROM memberships o2 WHERE o2.organization_id = m.organization_id AND o2.role = 'OWNER') = 1
             AND (SELECT COUNT(*) FROM memberships m2 WHERE m2.organization_id = m.organization_id) > 1",
            args![user_id],
        )
        .await?;
    if !blocking.is_empty() {
        let ids: Vec<String> = blocking.into_iter().map(|(id,)| id).collect();
        return Err(Error::Conflict(format!("transfer ownership of these organizations first: {}", ids.join(", "))));
    }
    let now = kernel::time::now();
    // Organizations where the person is alone disappear with them, and so do the identity
    // papers they verified them with.
    let alone_in: Vec<(String,)> = tx
        .fetch_all(
            "SELECT o.id FROM organizations o JOIN memberships m ON m.organization_id = o.id
             WHERE m.user_id = $1 AND o.deleted_at IS NULL
             AND (SELECT COUNT(*) FROM memberships m2 WHERE m2.organization_id = o.id) = 1",
            args![user_id],
        )
        .await?;
    let alone_in: Vec<String> = alone_in.into_iter().map(|(id,)| id).collect();
    for org in &alone_in {
        tx.execute("UPDATE organizations SET deleted_at = $2 WHERE id = $1", args![org, now]).await?;
    }
    let document_files = crate::verification::service::forget_documents(&mut tx, &alone_in).await?;
    let anonymous = format!("deleted-{user_id}@deleted.invalid");
    tx.execute(
        "UPDATE users SET email = $2, first_name = 'Deleted', last_name = 'User', password_hash = '!', status = 'deleted',
           role = 'user', locked_at = NULL, deleted_at = $3, updated_at = $3 WHERE id = $1",
        args![user_id, &anonymous, now],
    )
    .await?;
    crate::sessions::revoke_all_for_user(&mut tx, user_id, None, "account_deleted").await?;
    tx.execute("UPDATE api_keys SET revoked_at = $2 WHERE created_by = $1 AND revoked_at IS NULL", args![user_id, now])
        .await?;
    tx.execute("UPDATE user_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL", args![user_id, now])
        .await?;
    tx.execute("DELETE FROM memberships WHERE user_id = $1", args![user_id]).await?;
    crate::mfa::service::forget(&mut tx, user_id).await?;
    tx.execute(
        "UPDATE audit_log SET actor_email = $2 WHERE actor_id = $1 OR actor_email = $3",
        args![user_id, &anonymous, &user.email],
    )
    .await?;
    tx.execute("UPDATE sessions SET ip = NULL, user_agent = NULL WHERE user_id = $1", args![user_id]).await?;
    let self_erasure = by.actor_id() == user_id;
    let entry =
        AuditEntry::new(actions::USER_DELETED, Severity::High, "user").target(user_id).describe(if self_erasure {
            "account erased at the person's request (GDPR)"
        } else {
            "account deleted by an administrator"
        });
    let entry = if self_erasure { entry.by_user(user_id, &anonymous) } else { entry.by(by) };
    let entry = entry.meta(json!({"organizations_deleted": alone_in, "documents_erased": document_files.len()}));
    audit::record(&mut tx, ctx, entry).await?;
    tx.commit().await?;
    crate::verification::service::delete_files(store, &document_files).await;
    Ok(())
}

pub fn routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new().routes(routes!(export_my_data)).routes(routes!(erase_me))
}

/// Download all my personal data (GDPR article 15/20).
#[utoipa::path(get, path = "/me/export", tag = "users",
    responses((status = 200, description = "JSON archive", body = Object), (status = 401), (status = 403)),
    security(("bearer" = [])))]
async fn export_my_data(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
) -> Result<Response> {
    let archive = export(&state.db, &ctx, &me).await?;
    let disposition = format!("attachment; filename=\"socle-export-{}.json\"", me.user_id);
    Ok(([(header::CONTENT_DISPOSITION, disposition)], axum::Json(archive)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
struct EraseBody {
    /// The current password, to confirm.
    password: String,
}

/// Erase my account (GDPR article 17): anonymized, signed out everywhere, cannot sign in.
#[utoipa::path(delete, path = "/me", tag = "users",
    request_body = EraseBody,
    responses((status = 204), (status = 401), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
async fn erase_me(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Json(body): Json<EraseBody>,
) -> Result<StatusCode> {
    let user = crate::accounts::find_by_id(&state.db, &me.user_id)
        .await?
        .filter(|u| u.status != "deleted")
        // Erased meanwhile (by an administrator): gone, not a wrong password.
        .ok_or_else(|| Error::not_found("user"))?;
    if state.passwords.verify(&body.password, &user.password_hash).await? == Verdict::Invalid {
        return Err(Error::field("password", "incorrect", "the password is incorrect"));
    }
    erase(&state.db, &state.store, &ctx, &Principal::User(me), &user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
