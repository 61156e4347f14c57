//! TOTP enrolment and the second step of a sign-in.

use kernel::context::RequestContext;
use kernel::error::MfaChallenge;
use kernel::ids::{random_token, sha256_hex};
use kernel::principal::UserPrincipal;
use kernel::validate::Validator;
use kernel::{Error, Result, Tx, args};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::totp;
use crate::accounts::service::{TokenResponse, open_session};
use crate::accounts::{UserRow, UserStatus, find_by_id};
use crate::audit::{self, AuditEntry, Severity, actions};
use crate::passwords::Verdict;
use crate::state::FoundationState;

/// How long a sign-in may wait for its second factor.
pub const CHALLENGE_TTL_SECS: i64 = 300;
/// Wrong codes a challenge takes before it is spent.
const CHALLENGE_ATTEMPTS: i64 = 5;
pub const RECOVERY_CODES: usize = 10;
/// The issuer authenticator apps show next to the account.
const ISSUER: &str = "Socle";

/// What `GET /users/me/mfa` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaStatus {
    pub totp_enabled: bool,
    /// An enrolment was started and not yet confirmed by a first code.
    pub totp_pending: bool,
    pub recovery_codes_left: i64,
}

/// A started enrolment: what the authenticator app needs.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// The shared secret in base32, for typing in by hand.
    pub secret: String,
    pub otpauth_uri: String,
    /// The QR code of `otpauth_uri`, an SVG document.
    pub qr_svg: String,
}

/// Shown once: only their hashes are kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct TotpRow {
    secret: String,
    confirmed_at: Option<OffsetDateTime>,
    last_step: Option<i64>,
}

async fn totp_row(ex: &mut Tx, user_id: &str) -> Result<Option<TotpRow>> {
    ex.fetch_optional("SELECT secret, confirmed_at, last_step FROM user_totp WHERE user_id = $1", args![user_id]).await
}

/// Audit what the holder of an account did with it (`who` is its id and email; it is also
/// the target).
pub(super) async fn audit_own(
    tx: &mut Tx,
    ctx: &RequestContext,
    (id, email): (&str, &str),
    action: &'static str,
    severity: Severity,
    target_type: &'static str,
    description: impl Into<String>,
) -> Result<()> {
    let entry = AuditEntry::new(action, severity, target_type).by_user(id, email).target(id).describe(description);
    audit::record(tx, ctx, entry).await
}

/// Whether `user_id` signs in with a second factor.
pub async fn totp_enabled(tx: &mut Tx, user_id: &str) -> Result<bool> {
    Ok(totp_row(tx, user_id).await?.is_some_and(|r| r.confirmed_at.is_some()))
}

pub async fn status(state: &FoundationState, me: &UserPrincipal) -> Result<MfaStatus> {
    let mut tx = state.db.begin().await?;
    let row = totp_row(&mut tx, &me.user_id).await?;
    let left: i64 = tx
        .scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", args![&me.user_id])
        .await?;
    tx.commit().await?;
    Ok(MfaStatus {
        totp_enabled: row.as_ref().is_some_and(|r| r.confirmed_at.is_some()),
        totp_pending: row.as_ref().is_some_and(|r| r.confirmed_at.is_none()),
        recovery_codes_left: left,
    })
}

/// Start (or restart) an enrolment: a new secret, not used until a first code confirms it.
pub async fn start_totp(state: &FoundationState, ctx: &RequestContext, me: &UserPrincipal) -> Result<TotpEnrolment> {
    let secret = totp::new_secret();
    let mut tx = state.db.begin().await?;
    if totp_enabled(&mut tx, &me.user_id).await? {
        return Err(Error::Conflict("TOTP is already enabled; disable it first to enrol a new device".into()));
    }
    tx.execute("DELETE FROM user_totp WHERE user_id = $1", args![&me.user_id]).await?;
    tx.execute(
        "INSERT INTO user_totp (user_id, secret, created_at) VALUES ($1, $2, $3)",
        args![&me.user_id, state.totp_seal.seal(&me.user_id, &secret)?, kernel::time::now()],
    )
    .await?;
    audit_own(
        &mut tx,
        ctx,
        (&me.user_id, &me.email),
        actions::MFA_ENROLMENT_STARTED,
        Severity::Low,
        "user",
        "started enrolling an authenticator app",
    )
    .await?;
    tx.commit().await?;
    let encoded = totp::base32(&secret);
    let uri = totp::otpauth_uri(ISSUER, &me.email, &encoded);
    Ok(TotpEnrolment { qr_svg: totp::qr_svg(&uri)?, otpauth_uri: uri, secret: encoded })
}

fn code_field(v: &mut Validator, code: &str) {
    v.text("code", code, 64);
}

/// Confirm the pending enrolment with a first code; TOTP is on from now and the recovery
/// codes are returned, once.
pub async fn confirm_totp(
    state: &FoundationState,
    ctx: &RequestContext,
    me: &UserPrincipal,
    code: &str,
) -> Result<RecoveryCodes> {
    let mut v = Validator::new();
    code_field(&mut v, code);
    v.finish()?;
    let mut tx = state.db.begin().await?;
    let row = match totp_row(&mut tx, &me.user_id).await? {
        Some(row) if row.confirmed_at.is_none() => row,
        Some(_) => return Err(Error::Conflict("TOTP is already enabled".into())),
        None => return Err(Error::Conflict("no enrolment to confirm; start one first".into())),
    };
    let secret = state.totp_seal.open(&me.user_id, &row.secret)?;
    let now = kernel::time::now();
    let Some(step) = totp::verify(&secret, code, now.unix_timestamp(), None) else {
        return Err(Error::field("code", "incorrect", "the code does not match; check the device's clock"));
    };
    tx.execute(
        "UPDATE user_totp SET confirmed_at = $2, last_step = $3 WHERE user_id = $1",
        args![&me.user_id, now, step],
    )
    .await?;
    let codes = replace_recovery_codes(&mut tx, &me.user_id).await?;
    audit_own(
        &mut tx,
        ctx,
        (&me.user_id, &me.email),
        actions::MFA_ENABLED,
        Severity::Medium,
        "user",
        "enabled two-factor sign-in with an authenticator app",
    )
    .await?;
    tx.commit().await?;
    Ok(RecoveryCodes { recovery_codes: codes })
}

fn recovery_hash(user_id: &str, code: &str) -> String {
    let normalized: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    sha256_hex(&format!("{user_id}:{normalized}"))
}

/// `xxxxx-xxxxx`: 50 random bits in an alphabet without look-alikes.
fn new_recovery_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let mut code: String = (0..10).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    code.insert(5, '-');
    code
}

async fn replace_recovery_codes(tx: &mut Tx, user_id: &str) -> Result<Vec<String>> {
    tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", args![user_id]).await?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    for code in &codes {
        tx.execute(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
            args![user_id, recovery_hash(user_id, code)],
        )
        .await?;
    }
    Ok(codes)
}

/// Which second factor a code was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    RecoveryCode,
}

impl SecondFactor {
    fn as_str(self) -> &'static str {
        match self {
            SecondFactor::Totp => "totp",
            SecondFactor::RecoveryCode => "recovery_code",
        }
    }
}

/// Check `code` against the user's authenticator (six digits) or an unused recovery code,
/// and spend it; `None` when it is neither.
async fn spend_code(state: &FoundationState, tx: &mut Tx, user_id: &str, code: &str) -> Result<Option<SecondFactor>> {
    let Some(row) = totp_row(tx, user_id).await?.filter(|r| r.confirmed_at.is_some()) else {
        return Ok(None);
    };
    let secret = state.totp_seal.open(user_id, &row.secret)?;
    let now = kernel::time::now();
    if let Some(step) = totp::verify(&secret, code, now.unix_timestamp(), row.last_step) {
        // Conditional, so that two requests racing with one code spend it once.
        let spent = tx
            .execute(
                "UPDATE user_totp SET last_step = $2 WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)",
                args![user_id, step],
            )
            .await?;
        return Ok((spent == 1).then_some(SecondFactor::Totp));
    }
    let spent = tx
        .execute(
            "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
            args![user_id, recovery_hash(user_id, code), now],
        )
        .await?;
    Ok((spent == 1).then_some(SecondFactor::RecoveryCode))
}

/// The password and a current code, for changes that weaken or reset the second factor.
async fn reauthenticate(
    state: &FoundationState,
    tx: &mut Tx,
    me: &UserPrincipal,
    password: Option<&str>,
    code: &str,
) -> Result<SecondFactor> {
    if let Some(wait) = state.limits.mfa_failures_by_account.blocked_for(&mfa_key(&me.user_id)) {
        return Err(Error::TooManyRequests { retry_after_secs: wait, detail: "too many wrong codes".into() });
    }
    if let Some(password) = password {
        let user = find_by_id(&mut *tx, &me.user_id).await?.ok_or_else(|| Error::not_found("user"))?;
        if state.passwords.verify(password, &user.password_hash).await? == Verdict::Invalid {
            // A stolen session must not guess the password freely either.
            state.limits.mfa_failures_by_account.record(&mfa_key(&me.user_id));
            return Err(Error::field("password", "incorrect", "the password is incorrect"));
        }
    }
    match spend_code(state, tx, &me.user_id, code).await? {
        Some(factor) => Ok(factor),
        None => {
            state.limits.mfa_failures_by_account.record(&mfa_key(&me.user_id));
            Err(Error::field(
                "code",
                "incorrect",
                "the code is not a current authenticator code or an unused recovery code",
            ))
        }
    }
}

fn mfa_key(user_id: &str) -> String {
    user_id.to_string()
}

/// Turn TOTP off (password and a code required); the recovery codes go with it.
pub async fn disable_totp(
    state: &FoundationState,
    ctx: &RequestContext,
    me: &UserPrincipal,
    password: &str,
    code: &str,
) -> Result<()> {
    let mut v = Validator::new();
    v.text("password", password, 1024);
    code_field(&mut v, code);
    v.finish()?;
    let mut tx = state.db.begin().await?;
    if !totp_enabled(&mut tx, &me.user_id).await? {
        return Err(Error::Conflict("TOTP is not enabled".into()));
    }
    let factor = reauthenticate(state, &mut tx, me, Some(password), code).await?;
    tx.execute("DELETE FROM user_totp WHERE user_id = $1", args![&me.user_id]).await?;
    tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", args![&me.user_id]).await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::MFA_DISABLED, Severity::High, "user")
            .by_user(&me.user_id, &me.email)
            .target(&me.user_id)
            .describe("disabled two-factor sign-in")
            .meta(serde_json::json!({"confirmed_with": factor.as_str()})),
    )
    .await?;
    tx.commit().await
}

/// Ten new recovery codes (a current code required); the old ones stop working.
pub async fn regenerate_recovery_codes(
    state: &FoundationState,
    ctx: &RequestContext,
    me: &UserPrincipal,
    code: &str,
) -> Result<RecoveryCodes> {
    let mut v = Validator::new();
    code_field(&mut v, code);
    v.finish()?;
    let mut tx = state.db.begin().await?;
    if !totp_enabled(&mut tx, &me.user_id).await? {
        return Err(Error::Conflict("TOTP is not enabled".into()));
    }
    reauthenticate(state, &mut tx, me, None, code).await?;
    let codes = replace_recovery_codes(&mut tx, &me.user_id).await?;
    audit_own(
        &mut tx,
        ctx,
        (&me.user_id, &me.email),
        actions::MFA_RECOVERY_CODES_REGENERATED,
        Severity::Medium,
        "user",
        "generated new recovery codes",
    )
    .await?;
    tx.commit().await?;
    Ok(RecoveryCodes { recovery_codes: codes })
}

/// The first factor (`password`, `email_code`) was right and the account wants a second:
/// store a challenge in `tx` and return the error that carries it.
pub async fn challenge(tx: &mut Tx, ctx: &RequestContext, user: &UserRow, first_factor: &str) -> Result<Error> {
    let token = random_token(32);
    let now = kernel::time::now();
    tx.execute(
        "INSERT INTO mfa_challenges (token_hash, user_id, first_factor, attempts, created_at, expires_at)
         VALUES ($1, $2, $3, 0, $4, $5)",
        args![sha256_hex(&token), &user.id, first_factor, now, now + time::Duration::seconds(CHALLENGE_TTL_SECS)],
    )
    .await?;
    audit_own(
        tx,
        ctx,
        (&user.id, &user.email),
        actions::MFA_CHALLENGE_ISSUED,
        Severity::Low,
        "auth",
        format!("{first_factor} accepted; waiting for the second factor"),
    )
    .await?;
    Ok(Error::MfaRequired(MfaChallenge {
        mfa_token: token,
        methods: vec!["totp".into(), "recovery_code".into()],
        expires_in: CHALLENGE_TTL_SECS,
    }))
}

#[derive(sqlx::FromRow)]
struct ChallengeRow {
    user_id: String,
    first_factor: String,
    attempts: i64,
    expires_at: OffsetDateTime,
    used_at: Option<OffsetDateTime>,
}

/// The second step of a sign-in: the challenge's token and a code open the session.
pub async fn complete_challenge(
    state: &FoundationState,
    ctx: &RequestContext,
    mfa_token: &str,
    code: &str,
) -> Result<TokenResponse> {
    let mut v = Validator::new();
    v.text("mfa_token", mfa_token, 256);
    code_field(&mut v, code);
    v.finish()?;
    let expired = || Error::Unauthorized("the sign-in challenge is invalid or expired; sign in again".into());
    let hash = sha256_hex(mfa_token);
    let mut tx = state.db.begin().await?;
    let challenge: ChallengeRow = tx
        .fetch_optional(
            "SELECT user_id, first_factor, attempts, expires_at, used_at FROM mfa_challenges WHERE token_hash = $1",
            args![&hash],
        )
        .await?
        .ok_or_else(expired)?;
    let now = kernel::time::now();
    if challenge.used_at.is_some() || challenge.expires_at <= now || challenge.attempts >= CHALLENGE_ATTEMPTS {
        return Err(expired());
    }
    // The attempt is counted before the code is compared, in a statement that checks the
    // count: concurrent guesses cannot all pass the check (READ COMMITTED on PostgreSQL).
    let counted = tx
        .execute(
            "UPDATE mfa_challenges SET attempts = attempts + 1 WHERE token_hash = $1 AND attempts < $2 AND used_at IS NULL",
            args![&hash, CHALLENGE_ATTEMPTS],
        )
        .await?;
    if counted != 1 {
        return Err(expired());
    }
    if let Some(wait) = state.limits.mfa_failures_by_account.blocked_for(&mfa_key(&challenge.user_id)) {
        return Err(Error::TooManyRequests { retry_after_secs: wait, detail: "too many wrong codes".into() });
    }
    let user = find_by_id(&mut tx, &challenge.user_id).await?.ok_or_else(expired)?;
    if user.status() != UserStatus::Active || user.locked_at.is_some() {
        return Err(expired());
    }
    let Some(factor) = spend_code(state, &mut tx, &user.id, code).await? else {
        audit_own(
            &mut tx,
            ctx,
            (&user.id, &user.email),
            actions::MFA_CHALLENGE_FAILED,
            Severity::Medium,
            "auth",
            "a wrong second-factor code",
        )
        .await?;
        tx.commit().await?;
        state.limits.mfa_failures_by_account.record(&mfa_key(&user.id));
        return Err(Error::Unauthorized(
            "the code is not a current authenticator code or an unused recovery code".into(),
        ));
    };
    // Conditional: a token raced by two requests opens one session.
    let claimed = tx
        .execute("UPDATE mfa_challenges SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL", args![&hash, now])
        .await?;
    if claimed != 1 {
        return Err(expired());
    }
    tx.execute("UPDATE users SET failed_login_count = 0, last_login_at = $2 WHERE id = $1", args![&user.id, now])
        .await?;
    let response = open_session(state, &mut tx, ctx, &user).await?;
    if factor == SecondFactor::RecoveryCode {
        audit_own(
            &mut tx,
            ctx,
            (&user.id, &user.email),
            actions::MFA_RECOVERY_CODE_USED,
            Severity::High,
            "user",
            "signed in with a recovery code",
        )
        .await?;
    }
    let how = format!("signed in with {} and {}", challenge.first_factor, factor.as_str());
    audit_own(&mut tx, ctx, (&user.id, &user.email), actions::LOGIN_SUCCESS, Severity::Low, "auth", how).await?;
    tx.commit().await?;
    state.limits.mfa_failures_by_account.clear(&mfa_key(&user.id));
    metrics::counter!("socle_logins_total", "outcome" => "success").increment(1);
    Ok(response)
}

/// Drop a user's authenticator, recovery codes and pending challenges.
pub async fn forget_factors(tx: &mut Tx, user_id: &str) -> Result<()> {
    tx.execute("DELETE FROM user_totp WHERE user_id = $1", args![user_id]).await?;
    tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", args![user_id]).await?;
    tx.execute("DELETE FROM mfa_challenges WHERE user_id = $1", args![user_id]).await?;
    Ok(())
}

/// Forget a user's second factors and linked identities (erasure).
pub async fn forget(tx: &mut Tx, user_id: &str) -> Result<()> {
    forget_factors(tx, user_id).await?;
    tx.execute("DELETE FROM sign_in_codes WHERE user_id = $1", args![user_id]).await?;
    tx.execute("DELETE FROM user_identities WHERE user_id = $1", args![user_id]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_distinct_and_normalized_for_hashing() {
        let codes: std::collections::HashSet<String> = (0..100).map(|_| new_recovery_code()).collect();
        assert_eq!(codes.len(), 100);
        let code = codes.iter().next().expect("a code");
        assert_eq!(code.len(), 11);
        assert_eq!(recovery_hash("u", code), recovery_hash("u", &code.to_uppercase().replace('-', " ")));
        assert_ne!(recovery_hash("u", code), recovery_hash("v", code));
    }
}
