//! Passwordless sign-in: a six-digit code sent by email, valid ten minutes, five tries.
//! Asking answers the same `otp_id` shape whether or not the account exists.

use kernel::context::RequestContext;
use kernel::ids::{new_id, sha256_hex};
use kernel::validate::{Validator, normalize_email};
use kernel::{Error, Result, args};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::service::audit_own;
use crate::accounts::service::{TokenResponse, open_session, rate_limit_reset};
use crate::accounts::{UserStatus, find_by_email, find_by_id};
use crate::audit::{self, AuditEntry, Severity, actions};
use crate::state::FoundationState;

pub const CODE_TTL_SECS: i64 = 600;
const ATTEMPTS: i64 = 5;

#[derive(Debug, Serialize, ToSchema)]
pub struct SignInCodeSent {
    /// Send it back with the code.
    pub otp_id: String,
}

fn code_hash(otp_id: &str, code: &str) -> String {
    sha256_hex(&format!("{otp_id}:{}", code.trim()))
}

fn new_code() -> String {
    use rand::Rng;
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

pub async fn request(state: &FoundationState, ctx: &RequestContext, email: &str) -> Result<SignInCodeSent> {
    let email = normalize_email(email);
    let mut v = Validator::new();
    v.email("email", &email);
    v.finish()?;
    rate_limit_reset(state, ctx, &email)?;
    let otp_id = new_id();
    let mut tx = state.db.begin().await?;
    let user = find_by_email(&mut tx, &email).await?;
    let mut entry = AuditEntry::new(actions::SIGN_IN_CODE_REQUESTED, Severity::Low, "auth")
        .by_email(&email)
        .describe("sign-in code requested");
    if let Some(user) = user.filter(|u| u.status() == UserStatus::Active) {
        let code = new_code();
        let now = kernel::time::now();
        tx.execute(
            "INSERT INTO sign_in_codes (id, user_id, code_hash, attempts, created_at, expires_at)
             VALUES ($1, $2, $3, 0, $4, $5)",
            args![&otp_id, &user.id, code_hash(&otp_id, &code), now, now + time::Duration::seconds(CODE_TTL_SECS)],
        )
        .await?;
        let vars = json!({"first_name": user.first_name, "code": code, "minutes": CODE_TTL_SECS / 60});
        let mail = kernel::templates::render_email(&mut tx, "sign_in_code", &email, &vars).await?;
        kernel::mail::enqueue(&mut tx, &mail).await?;
        entry = entry.by_user(&user.id, &user.email).target(&user.id);
    } else {
        entry = entry.meta(json!({"account_found": false}));
    }
    audit::record(&mut tx, ctx, entry).await?;
    tx.commit().await?;
    Ok(SignInCodeSent { otp_id })
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    user_id: String,
    code_hash: String,
    attempts: i64,
    expires_at: OffsetDateTime,
    used_at: Option<OffsetDateTime>,
}

/// Sign in with the emailed code; an account with TOTP then answers the MFA challenge.
pub async fn sign_in(state: &FoundationState, ctx: &RequestContext, otp_id: &str, code: &str) -> Result<TokenResponse> {
    let mut v = Validator::new();
    v.text("otp_id", otp_id, 64);
    v.text("code", code, 16);
    v.finish()?;
    let invalid = || Error::Unauthorized("the code is invalid or expired".into());
    let mut tx = state.db.begin().await?;
    let row: CodeRow = tx
        .fetch_optional(
            "SELECT user_id, code_hash, attempts, expires_at, used_at FROM sign_in_codes WHERE id = $1",
            args![otp_id],
        )
        .await?
        .ok_or_else(invalid)?;
    let now = kernel::time::now();
    if row.used_at.is_some() || row.expires_at <= now || row.attempts >= ATTEMPTS {
        return Err(invalid());
    }
    let user = find_by_id(&mut tx, &row.user_id).await?.ok_or_else(invalid)?;
    // Counted before the comparison, by a statement that checks the count (see the MFA challenge).
    let counted = tx
        .execute(
            "UPDATE sign_in_codes SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2 AND used_at IS NULL",
            args![otp_id, ATTEMPTS],
        )
        .await?;
    if counted != 1 {
        return Err(invalid());
    }
    if !kernel::ids::constant_time_eq(code_hash(otp_id, code).as_bytes(), row.code_hash.as_bytes()) {
        audit_own(
            &mut tx,
            ctx,
            (&user.id, &user.email),
            actions::LOGIN_FAILED,
            Severity::Medium,
            "auth",
            "a wrong emailed sign-in code",
        )
        .await?;
        tx.commit().await?;
        return Err(invalid());
    }
    let claimed = tx
        .execute("UPDATE sign_in_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL", args![otp_id, now])
        .await?;
    if claimed != 1 {
        return Err(invalid());
    }
    if user.status() != UserStatus::Active {
        return Err(Error::Forbidden("the account is not active".into()));
    }
    if user.locked_at.is_some() {
        return Err(Error::Locked(
            "the account is locked after too many failed sign-ins; reset your password to unlock it".into(),
        ));
    }
    if super::service::totp_enabled(&mut tx, &user.id).await? {
        let challenge = super::service::challenge(&mut tx, ctx, &user, "email_code").await?;
        tx.commit().await?;
        return Err(challenge);
    }
    tx.execute("UPDATE users SET last_login_at = $2 WHERE id = $1", args![&user.id, now]).await?;
    let response = open_session(state, &mut tx, ctx, &user).await?;
    audit_own(
        &mut tx,
        ctx,
        (&user.id, &user.email),
        actions::LOGIN_SUCCESS,
        Severity::Low,
        "auth",
        "signed in with an emailed code",
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("socle_logins_total", "outcome" => "success").increment(1);
    Ok(response)
}
