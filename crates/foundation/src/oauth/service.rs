//! A builder's sign-in with an OAuth2 / OpenID Connect provider: the authorization request
//! (a single-use `state` kept server-side with its PKCE verifier and `nonce`), the callback
//! (the code exchanged, the ID token verified, the account found by its linked identity,
//! linked by a verified e-mail, or created), and the identities of an account.

use kernel::context::RequestContext;
use kernel::ids::{new_id, random_token, sha256_hex};
use kernel::principal::UserPrincipal;
use kernel::validate::Validator;
use kernel::{Error, Result, Tx, args};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::client::pkce_challenge;
use super::settings::ProviderSettings;
use crate::accounts::service::{TokenResponse, open_session};
use crate::accounts::{UserRow, UserStatus, find_by_email, find_by_id};
use crate::audit::{self, AuditEntry, Severity, actions};
use crate::state::FoundationState;

/// How long the provider may take to send the browser back.
const STATE_TTL_SECS: i64 = 600;
/// The password hash of an account created by a provider: no password matches it.
pub const NO_PASSWORD: &str = "!no-password";

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderInfo {
    pub name: String,
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthStart {
    /// Send the browser here.
    pub authorization_url: String,
    /// Comes back with the code; the callback must present it.
    pub state: String,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct LinkedIdentity {
    pub provider: String,
    pub email: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

pub fn providers(state: &FoundationState) -> Vec<ProviderInfo> {
    state.oauth.providers.iter().map(|p| ProviderInfo { name: p.name.clone(), display_name: p.display() }).collect()
}

fn provider<'a>(state: &'a FoundationState, name: &str) -> Result<&'a ProviderSettings> {
    state.oauth.providers.iter().find(|p| p.name == name).ok_or_else(|| Error::not_found("sign-in provider"))
}

/// The console's callback screen, unless the client names another page of this server.
fn redirect_uri(state: &FoundationState, asked: Option<&str>) -> Result<String> {
    let base = state.config.public_url.trim_end_matches('/');
    match asked.filter(|a| !a.is_empty()) {
        None => Ok(format!("{base}/console/oauth2/callback")),
        // Only the console's pages: an app's pages (`/apps/...`) are builders' content.
        Some(uri) if uri.starts_with(&format!("{base}/console/")) && uri.len() <= 2000 && !uri.contains("..") => {
            Ok(uri.to_string())
        }
        Some(_) => {
            Err(Error::field("redirect_uri", "invalid_value", format!("redirect_uri must be a page of {base}/console")))
        }
    }
}

pub async fn start(state: &FoundationState, name: &str, asked_redirect: Option<&str>) -> Result<OAuthStart> {
    let settings = provider(state, name)?;
    let redirect = redirect_uri(state, asked_redirect)?;
    let client = settings.resolve(&state.oauth_http).await?;
    let (st, nonce, verifier) = (random_token(24), random_token(24), random_token(48));
    let url = client.authorization_url(&redirect, &st, Some(&nonce), &pkce_challenge(&verifier));
    let now = kernel::time::now();
    let mut tx = state.db.begin().await?;
    tx.execute(
        "INSERT INTO oauth_states (state_hash, provider, nonce, code_verifier, redirect_uri, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![sha256_hex(&st), name, nonce, verifier, redirect, now, now + time::Duration::seconds(STATE_TTL_SECS)],
    )
    .await?;
    tx.commit().await?;
    Ok(OAuthStart { authorization_url: url, state: st })
}

#[derive(sqlx::FromRow)]
struct StateRow {
    provider: String,
    nonce: String,
    code_verifier: String,
    redirect_uri: String,
    expires_at: OffsetDateTime,
    used_at: Option<OffsetDateTime>,
}

fn names(full: Option<&str>) -> (String, String) {
    let full = full.unwrap_or_default().trim();
    let (first, last) = full.split_once(' ').unwrap_or((full, ""));
    let cut = |s: &str| s.chars().take(100).collect::<String>();
    (cut(first), cut(last.trim()))
}

/// The provider sent the browser back with `code` and `state`: sign in (or answer the MFA
/// challenge when the account has a second factor).
pub async fn callback(
    state: &FoundationState,
    ctx: &RequestContext,
    name: &str,
    code: &str,
    st: &str,
) -> Result<TokenResponse> {
    let mut v = Validator::new();
    v.text("code", code, 2048);
    v.text("state", st, 256);
    v.finish()?;
    let settings = provider(state, name)?;
    let invalid = || Error::Unauthorized("the sign-in state is unknown, spent or expired; start again".into());
    let hash = sha256_hex(st);
    let now = kernel::time::now();
    // The state is spent first, whatever happens next: a code is tried once.
    let row: StateRow = {
        let mut tx = state.db.begin().await?;
        let row: StateRow = tx
            .fetch_optional(
                "SELECT provider, nonce, code_verifier, redirect_uri, expires_at, used_at FROM oauth_states
                 WHERE state_hash = $1",
                args![&hash],
            )
            .await?
            .ok_or_else(invalid)?;
        if row.provider != name || row.used_at.is_some() || row.expires_at <= now {
            return Err(invalid());
        }
        let claimed = tx
            .execute(
                "UPDATE oauth_states SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL",
                args![&hash, now],
            )
            .await?;
        tx.commit().await?;
        if claimed != 1 {
            return Err(invalid());
        }
        row
    };
    let client = settings.resolve(&state.oauth_http).await?;
    let (identity, _) =
        state.oauth_http.sign_in(&client, code, &row.code_verifier, &row.redirect_uri, Some(&row.nonce)).await?;

    let mut tx = state.db.begin().await?;
    let linked: Option<(String,)> = tx
        .fetch_optional(
            "SELECT user_id FROM user_identities WHERE provider = $1 AND subject = $2",
            args![name, &identity.subject],
        )
        .await?;
    let user = match linked {
        Some((user_id,)) => find_by_id(&mut tx, &user_id).await?.ok_or_else(invalid)?,
        None => {
            let email = identity.email.clone().filter(|_| identity.email_verified).ok_or_else(|| {
                Error::Unauthorized(format!(
                    "{} did not confirm an e-mail address for this account",
                    settings.display()
                ))
            })?;
            let user = match find_by_email(&mut tx, &email).await? {
                Some(existing) if existing.email_verified_at.is_none() => {
                    claim_unverified(&mut tx, ctx, &existing, name).await?
                }
                Some(existing) => existing,
                None => create_account(&mut tx, ctx, &email, identity.name.as_deref(), name).await?,
            };
            tx.execute(
                "INSERT INTO user_identities (provider, subject, user_id, email, created_at) VALUES ($1, $2, $3, $4, $5)",
                args![name, &identity.subject, &user.id, &email, now],
            )
            .await?;
            audit::record(
                &mut tx,
                ctx,
                AuditEntry::new(actions::OAUTH_IDENTITY_LINKED, Severity::Medium, "user")
                    .by_user(&user.id, &user.email)
                    .target(&user.id)
                    .describe(format!("linked a {} identity", settings.display()))
                    .meta(serde_json::json!({"provider": name})),
            )
            .await?;
            user
        }
    };
    match user.status() {
        UserStatus::Active => {}
        UserStatus::Pending => {
            // The provider vouched for the address: that is the activation.
            tx.execute(
                "UPDATE users SET status = 'active', email_verified_at = COALESCE(email_verified_at, $2) WHERE id = $1",
                args![&user.id, now],
            )
            .await?;
        }
        _ => return Err(Error::Forbidden("the account has been deactivated".into())),
    }
    if user.locked_at.is_some() {
        return Err(Error::Locked(
            "the account is locked after too many failed sign-ins; reset your password to unlock it".into(),
        ));
    }
    let first_factor = format!("oauth2:{name}");
    if crate::mfa::service::totp_enabled(&mut tx, &user.id).await? {
        let challenge = crate::mfa::service::challenge(&mut tx, ctx, &user, &first_factor).await?;
        tx.commit().await?;
        return Err(challenge);
    }
    tx.execute("UPDATE users SET last_login_at = $2 WHERE id = $1", args![&user.id, now]).await?;
    let response = open_session(state, &mut tx, ctx, &user).await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::LOGIN_SUCCESS, Severity::Low, "auth")
            .by_user(&user.id, &user.email)
            .target(&user.id)
            .describe(format!("signed in with {}", settings.display())),
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("socle_logins_total", "outcome" => "success").increment(1);
    Ok(response)
}

/// An account registered with this address but never confirmed may be someone else's
/// squat: the provider proves the address, so the account becomes its owner's. Whatever the
/// registrant set goes (password, second factor, sessions), as PocketBase does for records.
async fn claim_unverified(tx: &mut Tx, ctx: &RequestContext, user: &UserRow, provider: &str) -> Result<UserRow> {
    let now = kernel::time::now();
    tx.execute(
        "UPDATE users SET password_hash = $2, email_verified_at = $3, status = CASE WHEN status = 'pending' THEN 'active' ELSE status END,
           failed_login_count = 0, locked_at = NULL, updated_at = $3 WHERE id = $1",
        args![&user.id, NO_PASSWORD, now],
    )
    .await?;
    crate::sessions::revoke_all_for_user(tx, &user.id, None, "address_claimed").await?;
    crate::mfa::service::forget_factors(tx, &user.id).await?;
    audit::record(
        tx,
        ctx,
        AuditEntry::new(actions::OAUTH_IDENTITY_LINKED, Severity::High, "user")
            .by_email(&user.email)
            .target(&user.id)
            .describe(format!(
                "an unconfirmed account was claimed through {provider}: its password, second factor and sessions were reset"
            )),
    )
    .await?;
    find_by_id(&mut *tx, &user.id).await?.ok_or_else(|| Error::internal("the account vanished"))
}

async fn create_account(
    tx: &mut Tx,
    ctx: &RequestContext,
    email: &str,
    name: Option<&str>,
    provider: &str,
) -> Result<UserRow> {
    let id = new_id();
    let now = kernel::time::now();
    let (first, last) = names(name);
    tx.execute(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, role, status, email_verified_at,
           created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'user', 'active', $6, $6, $6)",
        args![&id, email, NO_PASSWORD, first, last, now],
    )
    .await?;
    audit::record(
        tx,
        ctx,
        AuditEntry::new(actions::USER_CREATED, Severity::Low, "user")
            .by_email(email)
            .target(&id)
            .describe(format!("account created by a first sign-in with {provider}")),
    )
    .await?;
    metrics::counter!("socle_signups_total").increment(1);
    find_by_id(&mut *tx, &id).await?.ok_or_else(|| Error::internal("the new account vanished"))
}

pub async fn identities(state: &FoundationState, me: &UserPrincipal) -> Result<Vec<LinkedIdentity>> {
    state
        .db
        .fetch_all(
            "SELECT provider, email, created_at FROM user_identities WHERE user_id = $1 ORDER BY created_at",
            args![&me.user_id],
        )
        .await
}

/// Unlink a provider while another way to sign in remains (a password or another provider).
pub async fn unlink(state: &FoundationState, ctx: &RequestContext, me: &UserPrincipal, name: &str) -> Result<()> {
    let mut tx = state.db.begin().await?;
    let user = find_by_id(&mut tx, &me.user_id).await?.ok_or_else(|| Error::not_found("user"))?;
    let others: i64 = tx
        .scalar("SELECT COUNT(*) FROM user_identities WHERE user_id = $1 AND provider <> $2", args![&me.user_id, name])
        .await?;
    if user.password_hash.starts_with('!') && others == 0 {
        return Err(Error::Conflict(
            "this is the account's only way to sign in: set a password (reset it by e-mail) or link another provider first"
                .into(),
        ));
    }
    let removed = tx
        .execute("DELETE FROM user_identities WHERE user_id = $1 AND provider = $2", args![&me.user_id, name])
        .await?;
    if removed == 0 {
        return Err(Error::not_found("linked identity"));
    }
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::OAUTH_IDENTITY_UNLINKED, Severity::Medium, "user")
            .by_user(&me.user_id, &me.email)
            .target(&me.user_id)
            .describe(format!("unlinked the {name} identity")),
    )
    .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_names_split_into_first_and_last() {
        assert_eq!(names(Some("Ada King Lovelace")), ("Ada".into(), "King Lovelace".into()));
        assert_eq!(names(Some("Ada")), ("Ada".into(), String::new()));
        assert_eq!(names(None), (String::new(), String::new()));
    }
}
