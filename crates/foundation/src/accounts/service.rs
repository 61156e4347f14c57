//! Account business rules. Every function takes the module state (database, config,
//! hasher, mailer) and plain values, and does its writes, audit entries and queued emails
//! in one transaction.

use kernel::context::RequestContext;
use kernel::principal::{Principal, UserPrincipal};
use kernel::validate::{Validator, normalize_email};
use kernel::{Error, PlatformRole, Result, Tx, args};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{UserRow, UserStatus, UserView, find_by_email, find_by_id, tokens};
use crate::audit::{self, AuditEntry, Severity, actions};
use crate::passwords::Verdict;
use crate::state::FoundationState;
use crate::{emails, sessions};

/// Accounts' names by id ("first last", or the address when both are empty; unknown ids
/// are left out).
pub async fn display_names(db: &kernel::Db, ids: &[&str]) -> Result<std::collections::HashMap<String, String>> {
    const NAME: &str = "COALESCE(NULLIF(TRIM(first_name || ' ' || last_name), ''), email)";
    kernel::db::names_by_id(db, "users", NAME, ids).await
}

pub const NAME_MAX: usize = 100;

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    pub email: String,
    /// At least 12 characters with a lowercase letter, an uppercase letter and a digit.
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    /// An organization invitation token: the account joins that organization and is active
    /// at once (the invitation proved the address).
    pub invite_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    pub email: String,
    /// `pending_activation`: check your inbox. Also answered when the address is already
    /// registered (that address receives a notice instead), so that registration does not
    /// reveal which addresses have accounts.
    pub status: String,
}

/// Access and refresh tokens, shaped like an OAuth2 token response.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Access token lifetime in seconds.
    pub expires_in: i64,
    pub user: UserView,
}

fn validate_names(v: &mut Validator, first_name: &str, last_name: &str) {
    v.text("first_name", first_name, NAME_MAX);
    v.text("last_name", last_name, NAME_MAX);
}

pub async fn register(state: &FoundationState, ctx: &RequestContext, req: RegisterRequest) -> Result<RegisterResponse> {
    let email = normalize_email(&req.email);
    let mut v = Validator::new();
    v.email("email", &email);
    v.password("password", &req.password);
    validate_names(&mut v, &req.first_name, &req.last_name);
    v.finish()?;

    let ip_key = ctx.ip.clone().unwrap_or_default();
    if let Some(wait) = state.limits.registrations_by_ip.blocked_for(&ip_key) {
        return Err(Error::TooManyRequests {
            retry_after_secs: wait,
            detail: "too many registrations from this address".into(),
        });
    }
    state.limits.registrations_by_ip.record(&ip_key);

    let password_hash = state.passwords.hash(&req.password).await?;
    let mut tx = state.db.begin().await?;
    let invitation = match req.invite_token.as_deref() {
        Some(token) => Some(crate::orgs::invitations::find_valid(&mut tx, token).await?.ok_or_else(|| {
            Error::field("invite_token", "invalid", "the invitation is invalid, expired or already used")
        })?),
        None => None,
    };
    if let Some(inv) = &invitation
        && inv.email != email
    {
        return Err(Error::field("email", "invitation_mismatch", "the invitation was sent to another address"));
    }

    if find_by_email(&mut tx, &email).await?.is_some() {
        emails::already_registered(&mut tx, &state.config.public_url, &email).await?;
        tx.commit().await?;
        return Ok(RegisterResponse { email, status: "pending_activation".into() });
    }

    let now = kernel::time::now();
    let id = kernel::ids::new_id();
    let active = invitation.is_some() || !state.security.require_email_activation;
    let status = if active { UserStatus::Active } else { UserStatus::Pending };
    let inserted = tx
        .execute(
            "INSERT INTO users (id, email, password_hash, first_name, last_name, role, status, email_verified_at,
           password_changed_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'user', $6, $7, $8, $8, $8)",
            args![
                &id,
                &email,
                password_hash,
                req.first_name.trim(),
                req.last_name.trim(),
                status.as_str(),
                invitation.as_ref().map(|_| now),
                now
            ],
        )
        .await;
    if let Err(Error::Conflict(_)) = inserted {
        // Taken by a concurrent registration since the check above: answered as any
        // registration of a taken address (that registration sends the emails).
        return Ok(RegisterResponse { email, status: "pending_activation".into() });
    }
    inserted?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::USER_CREATED, Severity::Low, "user")
            .by_user(&id, &email)
            .target(&id)
            .describe("account registered"),
    )
    .await?;
    if let Some(inv) = &invitation {
        crate::orgs::invitations::accept_for(&mut tx, ctx, inv, (&id, &email), "invite_token").await?;
    } else if !active {
        let token = tokens::issue(&mut tx, &id, tokens::ACTIVATION, state.security.activation_ttl_secs).await?;
        emails::activation(&mut tx, &state.config.public_url, &email, req.first_name.trim(), &token).await?;
    }
    tx.commit().await?;
    metrics::counter!("socle_signups_total").increment(1);
    Ok(RegisterResponse { email, status: if active { "active".into() } else { "pending_activation".into() } })
}

pub async fn activate(state: &FoundationState, ctx: &RequestContext, token: &str) -> Result<UserView> {
    let mut tx = state.db.begin().await?;
    let user_id = tokens::consume(&mut tx, token, tokens::ACTIVATION)
        .await?
        .ok_or_else(|| Error::field("token", "invalid", "the activation token is invalid, expired or already used"))?;
    let now = kernel::time::now();
    tx.execute(
        "UPDATE users SET status = 'active', email_verified_at = $2, updated_at = $2 WHERE id = $1 AND status = 'pending'",
        args![&user_id, now],
    )
    .await?;
    let user = find_by_id(&mut tx, &user_id).await?.ok_or_else(|| Error::not_found("user"))?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::USER_STATUS_CHANGED, Severity::Low, "user")
            .by_user(&user.id, &user.email)
            .target(&user.id)
            .describe("account activated by email confirmation")
            .meta(serde_json::json!({ "from": "pending", "to": "active" })),
    )
    .await?;
    tx.commit().await?;
    Ok(UserView::from(&user))
}

/// Queue a new activation email if the address has a pending account. Always succeeds
/// from the caller's point of view.
pub async fn resend_activation(state: &FoundationState, ctx: &RequestContext, email: &str) -> Result<()> {
    let email = normalize_email(email);
    let mut v = Validator::new();
    v.email("email", &email);
    v.finish()?;
    rate_limit_reset(state, ctx, &email)?;
    let mut tx = state.db.begin().await?;
    if let Some(user) = find_by_email(&mut tx, &email).await?
        && user.status() == UserStatus::Pending
    {
        let token = tokens::issue(&mut tx, &user.id, tokens::ACTIVATION, state.security.activation_ttl_secs).await?;
        emails::activation(&mut tx, &state.config.public_url, &email, &user.first_name, &token).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn too_many(wait: u64, what: &str) -> Error {
    Error::TooManyRequests { retry_after_secs: wait, detail: format!("too many {what}; try again later") }
}

pub async fn login(
    state: &FoundationState,
    ctx: &RequestContext,
    email: &str,
    password: &str,
) -> Result<TokenResponse> {
    let email = normalize_email(email);
    let mut v = Validator::new();
    v.text("email", &email, 254);
    v.text("password", password, 1024);
    v.finish()?;
    let ip_key = ctx.ip.clone().unwrap_or_default();
    let limits = &state.limits;
    if let Some(wait) = limits
        .login_failures_by_ip
        .blocked_for(&ip_key)
        .or_else(|| limits.login_failures_by_account.blocked_for(&email))
    {
        return Err(too_many(wait, "failed sign-in attempts"));
    }

    // Read outside any transaction: verification takes tens of milliseconds and must not
    // hold the writer.
    let user = super::find_by_email(&state.db, &email).await?;
    let verdict = match &user {
        // An account made by a sign-in provider has no password: it costs the same time as
        // an unknown address, and no failure is held against it (nothing could match).
        Some(u) if u.password_hash.starts_with('!') => {
            state.passwords.verify_dummy(password).await;
            Verdict::Invalid
        }
        Some(u) if matches!(u.status(), UserStatus::Active | UserStatus::Pending | UserStatus::Deactivated) => {
            state.passwords.verify(password, &u.password_hash).await?
        }
        _ => {
            state.passwords.verify_dummy(password).await;
            Verdict::Invalid
        }
    };

    let mut tx = state.db.begin().await?;
    let (user, needs_rehash) = match (user, verdict) {
        (Some(u), Verdict::Valid { needs_rehash }) => (u, needs_rehash),
        (user, Verdict::Invalid) => {
            limits.login_failures_by_ip.record(&ip_key);
            limits.login_failures_by_account.record(&email);
            let counted = user.as_ref().filter(|u| !u.password_hash.starts_with('!'));
            record_failed_login(state, &mut tx, ctx, &email, counted).await?;
            tx.commit().await?;
            metrics::counter!("socle_logins_total", "outcome" => "failure").increment(1);
            return Err(Error::Unauthorized("invalid email or password".into()));
        }
        (None, Verdict::Valid { .. }) => return Err(Error::Unauthorized("invalid email or password".into())),
    };

    let refuse = |reason: &str| {
        metrics::counter!("socle_logins_total", "outcome" => "refused").increment(1);
        Error::Forbidden(reason.to_string())
    };
    if user.locked_at.is_some() {
        metrics::counter!("socle_logins_total", "outcome" => "locked").increment(1);
        return Err(Error::Locked(
            "the account is locked after too many failed sign-ins; reset your password to unlock it".into(),
        ));
    }
    match user.status() {
        UserStatus::Active => {}
        UserStatus::Pending => return Err(refuse("the account is not activated yet; check your email")),
        UserStatus::Deactivated => return Err(refuse("the account has been deactivated")),
        UserStatus::Deleted => return Err(Error::Unauthorized("invalid email or password".into())),
    }

    let now = kernel::time::now();
    if needs_rehash {
        // Upgrade imported bcrypt hashes (and hashes with old parameters) to argon2id now
        // that we hold the plain password.
        let upgraded = state.passwords.hash(password).await?;
        tx.execute("UPDATE users SET password_hash = $2 WHERE id = $1", args![&user.id, upgraded]).await?;
    }
    if crate::mfa::service::totp_enabled(&mut tx, &user.id).await? {
        // The password was right: the per-account failure window starts over, and the
        // sign-in waits for its second factor.
        tx.execute("UPDATE users SET failed_login_count = 0 WHERE id = $1", args![&user.id]).await?;
        let challenge = crate::mfa::service::challenge(&mut tx, ctx, &user, "password").await?;
        tx.commit().await?;
        limits.login_failures_by_account.clear(&email);
        metrics::counter!("socle_logins_total", "outcome" => "mfa_required").increment(1);
        return Err(challenge);
    }
    tx.execute("UPDATE users SET failed_login_count = 0, last_login_at = $2 WHERE id = $1", args![&user.id, now])
        .await?;
    let response = open_session(state, &mut tx, ctx, &user).await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::LOGIN_SUCCESS, Severity::Low, "auth")
            .by_user(&user.id, &user.email)
            .target(&user.id)
            .describe("signed in with password"),
    )
    .await?;
    tx.commit().await?;
    limits.login_failures_by_account.clear(&email);
    metrics::counter!("socle_logins_total", "outcome" => "success").increment(1);
    Ok(response)
}

async fn record_failed_login(
    state: &FoundationState,
    tx: &mut Tx,
    ctx: &RequestContext,
    email: &str,
    user: Option<&UserRow>,
) -> Result<()> {
    let mut entry =
        AuditEntry::new(actions::LOGIN_FAILED, Severity::Medium, "auth").by_email(email).describe("failed sign-in");
    if let Some(u) = user {
        entry = entry.target(&u.id);
        let failures = u.failed_login_count + 1;
        let threshold = i64::from(state.security.lockout_threshold);
        let lock_now = threshold > 0 && failures >= threshold && u.locked_at.is_none();
        tx.execute(
            "UPDATE users SET failed_login_count = failed_login_count + 1, locked_at = CASE WHEN $2 THEN $3 ELSE locked_at END WHERE id = $1",
            args![&u.id, lock_now, kernel::time::now()],
        )
        .await?;
        if lock_now {
            audit::record(
                tx,
                ctx,
                AuditEntry::new(actions::ACCOUNT_LOCKED, Severity::High, "user")
                    .by_email(email)
                    .target(&u.id)
                    .describe(format!("account locked after {failures} failed sign-ins"))
                    .meta(serde_json::json!({ "failures": failures })),
            )
            .await?;
        }
    }
    audit::record(tx, ctx, entry).await
}

/// Start a session and mint its tokens.
pub async fn open_session(
    state: &FoundationState,
    tx: &mut Tx,
    ctx: &RequestContext,
    user: &UserRow,
) -> Result<TokenResponse> {
    let (session_id, refresh_token) = sessions::start(tx, &user.id, ctx, state.config.refresh_token_ttl_secs).await?;
    token_response(state, user, &session_id, refresh_token)
}

/// A fresh access token for `session_id`, with the refresh token that goes with it.
fn token_response(
    state: &FoundationState,
    user: &UserRow,
    session_id: &str,
    refresh_token: String,
) -> Result<TokenResponse> {
    Ok(TokenResponse {
        access_token: state.jwt.issue(&user.id, session_id, user.role())?,
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: state.jwt.ttl_secs,
        user: UserView::from(user),
    })
}

#[derive(sqlx::FromRow)]
struct RefreshRow {
    session_id: String,
    used_at: Option<time::OffsetDateTime>,
    expires_at: time::OffsetDateTime,
    revoked_at: Option<time::OffsetDateTime>,
    session_expires_at: time::OffsetDateTime,
    user_id: String,
}

/// Rotate a refresh token. Presenting a token that was already rotated means it leaked:
/// the whole session (every token of its family) is revoked.
pub async fn refresh(state: &FoundationState, ctx: &RequestContext, refresh_token: &str) -> Result<TokenResponse> {
    let invalid = || Error::Unauthorized("the refresh token is invalid or expired".into());
    if refresh_token.is_empty() || refresh_token.len() > 200 {
        return Err(invalid());
    }
    let hash = kernel::ids::sha256_hex(refresh_token);
    let now = kernel::time::now();
    let mut tx = state.db.begin().await?;
    let row: Option<RefreshRow> = tx
        .fetch_optional(
            "SELECT t.session_id, t.used_at, t.expires_at, s.revoked_at, s.expires_at AS session_expires_at, s.user_id
             FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = $1",
            args![&hash],
        )
        .await?;
    let row = row.ok_or_else(invalid)?;
    if row.used_at.is_some() {
        let revoked = sessions::revoke(&mut tx, &row.session_id, "refresh_token_reuse").await?;
        let user = find_by_id(&mut tx, &row.user_id).await?;
        let mut entry = AuditEntry::new(actions::SUSPICIOUS_ACTIVITY, Severity::High, "session")
            .target(&row.session_id)
            .describe("a rotated refresh token was presented again; the session was revoked")
            .meta(serde_json::json!({ "reason": "refresh_token_reuse", "session_revoked": revoked }));
        if let Some(u) = &user {
            entry = entry.by_user(&u.id, &u.email);
        }
        audit::record(&mut tx, ctx, entry).await?;
        tx.commit().await?;
        return Err(Error::Unauthorized("refresh token reuse detected; the session has been revoked".into()));
    }
    if row.revoked_at.is_some() || row.expires_at <= now || row.session_expires_at <= now {
        return Err(invalid());
    }
    let user = find_by_id(&mut tx, &row.user_id).await?.ok_or_else(invalid)?;
    if user.status() != UserStatus::Active || user.locked_at.is_some() {
        return Err(invalid());
    }
    let claimed = tx
        .execute("UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL", args![&hash, now])
        .await?;
    if claimed != 1 {
        return Err(invalid());
    }
    let refresh_token =
        sessions::issue_refresh_token(&mut tx, &row.session_id, state.config.refresh_token_ttl_secs).await?;
    sessions::mark_active_today(&mut tx, &user.id).await?;
    tx.execute(
        "UPDATE sessions SET last_used_at = $2, ip = COALESCE($3, ip), user_agent = COALESCE($4, user_agent) WHERE id = $1",
        args![&row.session_id, now, ctx.ip.clone(), ctx.user_agent.clone()],
    )
    .await?;
    tx.commit().await?;
    token_response(state, &user, &row.session_id, refresh_token)
}

pub async fn logout(state: &FoundationState, ctx: &RequestContext, me: &UserPrincipal) -> Result<()> {
    let mut tx = state.db.begin().await?;
    sessions::revoke(&mut tx, &me.session_id, "logout").await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::LOGOUT, Severity::Low, "auth")
            .by_user(&me.user_id, &me.email)
            .target(&me.session_id)
            .describe("signed out"),
    )
    .await?;
    tx.commit().await
}

/// The budget of emails a client may have sent to an address (password resets, sign-in codes).
pub(crate) fn rate_limit_reset(state: &FoundationState, ctx: &RequestContext, email: &str) -> Result<()> {
    let ip_key = ctx.ip.clone().unwrap_or_default();
    let limits = &state.limits;
    if let Some(wait) =
        limits.reset_requests_by_ip.blocked_for(&ip_key).or_else(|| limits.reset_requests_by_account.blocked_for(email))
    {
        return Err(too_many(wait, "requests for this account or address"));
    }
    limits.reset_requests_by_ip.record(&ip_key);
    limits.reset_requests_by_account.record(email);
    Ok(())
}

/// Email a reset link if the account exists. The answer is the same either way.
pub async fn request_password_reset(state: &FoundationState, ctx: &RequestContext, email: &str) -> Result<()> {
    let email = normalize_email(email);
    let mut v = Validator::new();
    v.email("email", &email);
    v.finish()?;
    rate_limit_reset(state, ctx, &email)?;
    let mut tx = state.db.begin().await?;
    let user = find_by_email(&mut tx, &email).await?;
    let mut entry = AuditEntry::new(actions::PASSWORD_RESET_REQUEST, Severity::Medium, "auth")
        .by_email(&email)
        .describe("password reset requested");
    if let Some(u) = user.as_ref().filter(|u| matches!(u.status(), UserStatus::Active | UserStatus::Pending)) {
        let token =
            tokens::issue(&mut tx, &u.id, tokens::PASSWORD_RESET, state.security.password_reset_ttl_secs).await?;
        emails::password_reset(&mut tx, &state.config.public_url, &email, &u.first_name, &token).await?;
        entry = entry.target(&u.id);
    } else {
        entry = entry.meta(serde_json::json!({ "account_found": false }));
    }
    audit::record(&mut tx, ctx, entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Set a new password with a reset token. Unlocks the account, confirms the address and
/// signs out every session.
pub async fn reset_password(state: &FoundationState, ctx: &RequestContext, token: &str, password: &str) -> Result<()> {
    let mut v = Validator::new();
    v.password("password", password);
    v.finish()?;
    let password_hash = state.passwords.hash(password).await?;
    let mut tx = state.db.begin().await?;
    let Some(user_id) = tokens::consume(&mut tx, token, tokens::PASSWORD_RESET).await? else {
        audit::record(
            &mut tx,
            ctx,
            AuditEntry::new(actions::PASSWORD_RESET_FAILED, Severity::Medium, "auth")
                .describe("invalid, expired or used reset token"),
        )
        .await?;
        tx.commit().await?;
        return Err(Error::field("token", "invalid", "the reset token is invalid, expired or already used"));
    };
    let user = find_by_id(&mut tx, &user_id).await?.ok_or_else(|| Error::not_found("user"))?;
    if !matches!(user.status(), UserStatus::Active | UserStatus::Pending) {
        return Err(Error::field("token", "invalid", "the reset token is invalid, expired or already used"));
    }
    let now = kernel::time::now();
    tx.execute(
        "UPDATE users SET password_hash = $2, failed_login_count = 0, locked_at = NULL, status = 'active',
           email_verified_at = COALESCE(email_verified_at, $3), password_changed_at = $3, updated_at = $3 WHERE id = $1",
        args![&user.id, password_hash, now],
    )
    .await?;
    sessions::revoke_all_for_user(&mut tx, &user.id, None, "password_reset").await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::PASSWORD_RESET_SUCCESS, Severity::Medium, "user")
            .by_user(&user.id, &user.email)
            .target(&user.id)
            .describe("password reset with an emailed token; all sessions revoked")
            .meta(serde_json::json!({ "was_locked": user.locked_at.is_some() })),
    )
    .await?;
    tx.commit().await?;
    state.limits.login_failures_by_account.clear(&user.email);
    Ok(())
}

pub async fn change_password(
    state: &FoundationState,
    ctx: &RequestContext,
    me: &UserPrincipal,
    current: &str,
    new: &str,
) -> Result<()> {
    let mut v = Validator::new();
    v.password("new_password", new);
    if current == new {
        v.add("new_password", "unchanged", "the new password must differ from the current one");
    }
    v.finish()?;
    let user = super::find_by_id(&state.db, &me.user_id).await?.ok_or_else(|| Error::not_found("user"))?;
    if state.passwords.verify(current, &user.password_hash).await? == Verdict::Invalid {
        return Err(Error::field("current_password", "incorrect", "the current password is incorrect"));
    }
    let hash = state.passwords.hash(new).await?;
    let mut tx = state.db.begin().await?;
    let now = kernel::time::now();
    tx.execute(
        "UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3 WHERE id = $1",
        args![&user.id, hash, now],
    )
    .await?;
    let revoked = sessions::revoke_all_for_user(&mut tx, &user.id, Some(&me.session_id), "password_change").await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::PASSWORD_CHANGE, Severity::Medium, "user")
            .by_user(&user.id, &user.email)
            .target(&user.id)
            .describe("password changed; other sessions revoked")
            .meta(serde_json::json!({ "sessions_revoked": revoked })),
    )
    .await?;
    tx.commit().await
}

/// Ask to change the account's address (its password confirms the owner): a link sent to the
/// new address confirms it. When the new address already has an account nothing is sent, and
/// the answer is the same, so accounts are not revealed. Audited.
pub async fn request_email_change(
    state: &FoundationState,
    ctx: &RequestContext,
    me: &UserPrincipal,
    new_email: &str,
    password: &str,
) -> Result<()> {
    let new_email = normalize_email(new_email);
    let mut v = Validator::new();
    v.email("email", &new_email);
    v.finish()?;
    let user = super::find_by_id(&state.db, &me.user_id).await?.ok_or_else(|| Error::not_found("user"))?;
    if new_email == user.email {
        return Err(Error::field("email", "unchanged", "this is already the account's address"));
    }
    if state.passwords.verify(password, &user.password_hash).await? == Verdict::Invalid {
        return Err(Error::field("password", "incorrect", "the password is incorrect"));
    }
    let mut tx = state.db.begin().await?;
    let taken = find_by_email(&mut tx, &new_email).await?.is_some();
    if !taken {
        let token = tokens::issue_with(
            &mut tx,
            &user.id,
            tokens::EMAIL_CHANGE,
            state.security.password_reset_ttl_secs,
            Some(&new_email),
        )
        .await?;
        emails::email_change(&mut tx, &state.config.public_url, &new_email, &user.first_name, &token).await?;
    }
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::EMAIL_CHANGE_REQUESTED, Severity::Medium, "user")
            .by_user(&user.id, &user.email)
            .target(&user.id)
            .describe("email change requested; a link was sent to the new address")
            .meta(serde_json::json!({ "new_email": new_email, "address_taken": taken })),
    )
    .await?;
    tx.commit().await
}

/// Confirm an email change with the emailed token: the account takes the new address (now
/// confirmed), and the old address is told. Audited.
pub async fn confirm_email_change(state: &FoundationState, ctx: &RequestContext, token: &str) -> Result<()> {
    let mut tx = state.db.begin().await?;
    let invalid = || Error::field("token", "invalid", "the link is invalid, expired or already used");
    let Some((user_id, Some(new_email))) = tokens::consume_with(&mut tx, token, tokens::EMAIL_CHANGE).await? else {
        return Err(invalid());
    };
    let user = find_by_id(&mut tx, &user_id).await?.ok_or_else(invalid)?;
    if !matches!(user.status(), UserStatus::Active) {
        return Err(invalid());
    }
    if find_by_email(&mut tx, &new_email).await?.is_some() {
        return Err(Error::Conflict("another account took this address meanwhile".into()));
    }
    let now = kernel::time::now();
    tx.execute(
        "UPDATE users SET email = $2, email_verified_at = $3, updated_at = $3 WHERE id = $1",
        args![&user.id, &new_email, now],
    )
    .await?;
    emails::email_changed(&mut tx, &state.config.public_url, &user.email, &new_email).await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::EMAIL_CHANGED, Severity::High, "user")
            .by_user(&user.id, &new_email)
            .target(&user.id)
            .describe("email address changed through a link sent to the new address")
            .meta(serde_json::json!({ "from": user.email, "to": new_email })),
    )
    .await?;
    tx.commit().await?;
    state.limits.login_failures_by_account.clear(&user.email);
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProfileUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

pub async fn update_profile(
    state: &FoundationState,
    ctx: &RequestContext,
    me: &UserPrincipal,
    update: ProfileUpdate,
) -> Result<UserView> {
    let mut v = Validator::new();
    if let Some(f) = &update.first_name {
        v.text("first_name", f, NAME_MAX);
    }
    if let Some(l) = &update.last_name {
        v.text("last_name", l, NAME_MAX);
    }
    v.finish()?;
    let mut tx = state.db.begin().await?;
    let before = find_by_id(&mut tx, &me.user_id).await?.ok_or_else(|| Error::not_found("user"))?;
    let first = update.first_name.as_deref().map(str::trim).unwrap_or(&before.first_name).to_string();
    let last = update.last_name.as_deref().map(str::trim).unwrap_or(&before.last_name).to_string();
    tx.execute(
        "UPDATE users SET first_name = $2, last_name = $3, updated_at = $4 WHERE id = $1",
        args![&me.user_id, &first, &last, kernel::time::now()],
    )
    .await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::USER_UPDATED, Severity::Low, "user")
            .by(&Principal::User(me.clone()))
            .target(&me.user_id)
            .describe("profile updated")
            .meta(serde_json::json!({ "fields": changed_fields(&before, &first, &last) })),
    )
    .await?;
    let user = find_by_id(&mut tx, &me.user_id).await?.ok_or_else(|| Error::not_found("user"))?;
    tx.commit().await?;
    Ok(UserView::from(&user))
}

fn changed_fields(before: &UserRow, first: &str, last: &str) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if before.first_name != first {
        fields.push("first_name");
    }
    if before.last_name != last {
        fields.push("last_name");
    }
    fields
}

/// Create a platform administrator (the `socle superuser create` command). An existing
/// account with that email is promoted and its password replaced.
pub async fn create_superuser(state: &FoundationState, email: &str, password: &str) -> Result<UserView> {
    let email = normalize_email(email);
    let mut v = Validator::new();
    v.email("email", &email);
    v.password("password", password);
    v.finish()?;
    let hash = state.passwords.hash(password).await?;
    let ctx = RequestContext::internal("socle-cli");
    let mut tx = state.db.begin().await?;
    let now = kernel::time::now();
    let id = match find_by_email(&mut tx, &email).await? {
        Some(existing) => {
            tx.execute(
                "UPDATE users SET role = 'admin', status = 'active', password_hash = $2, locked_at = NULL,
                   failed_login_count = 0, email_verified_at = COALESCE(email_verified_at, $3), updated_at = $3 WHERE id = $1",
                args![&existing.id, hash, now],
            )
            .await?;
            existing.id
        }
        None => {
            let id = kernel::ids::new_id();
            tx.execute(
                "INSERT INTO users (id, email, password_hash, first_name, last_name, role, status, email_verified_at,
                   password_changed_at, created_at, updated_at)
                 VALUES ($1, $2, $3, 'Admin', 'Socle', 'admin', 'active', $4, $4, $4, $4)",
                args![&id, &email, hash, now],
            )
            .await?;
            id
        }
    };
    audit::record(
        &mut tx,
        &ctx,
        AuditEntry::new(actions::USER_ROLE_CHANGED, Severity::High, "user")
            .by_email("socle-cli")
            .target(&id)
            .describe("administrator created from the command line")
            .meta(serde_json::json!({ "role": PlatformRole::Admin.as_str() })),
    )
    .await?;
    let user = find_by_id(&mut tx, &id).await?.ok_or_else(|| Error::not_found("user"))?;
    tx.commit().await?;
    Ok(UserView::from(&user))
}
