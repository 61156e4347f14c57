//! Single-use account tokens (activation, password reset), stored as SHA-256 hashes.

use kernel::{Result, Tx, args};

pub const ACTIVATION: &str = "activation";
pub const PASSWORD_RESET: &str = "password_reset";
pub const EMAIL_CHANGE: &str = "email_change";

/// Create a token for `purpose`, invalidating earlier unused ones; returns the secret.
pub async fn issue(tx: &mut Tx, user_id: &str, purpose: &str, ttl_secs: i64) -> Result<String> {
    issue_with(tx, user_id, purpose, ttl_secs, None).await
}

/// [`issue`] with what the token carries (an email change's new address).
pub async fn issue_with(
    tx: &mut Tx,
    user_id: &str,
    purpose: &str,
    ttl_secs: i64,
    payload: Option<&str>,
) -> Result<String> {
    let now = kernel::time::now();
    tx.execute(
        "UPDATE user_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        args![user_id, purpose, now],
    )
    .await?;
    let (secret, hash) = crate::tokens::new_secret();
    tx.execute(
        "INSERT INTO user_tokens (token_hash, user_id, purpose, created_at, expires_at, payload) VALUES ($1, $2, $3, $4, $5, $6)",
        args![hash, user_id, purpose, now, now + time::Duration::seconds(ttl_secs), payload],
    )
    .await?;
    Ok(secret)
}

#[derive(sqlx::FromRow)]
struct Consumed {
    user_id: String,
    payload: Option<String>,
}

/// Use a token once: the owner's id if it was valid, unused and unexpired.
pub async fn consume(tx: &mut Tx, secret: &str, purpose: &str) -> Result<Option<String>> {
    Ok(consume_with(tx, secret, purpose).await?.map(|(user, _)| user))
}

/// [`consume`], with what the token carries.
pub async fn consume_with(tx: &mut Tx, secret: &str, purpose: &str) -> Result<Option<(String, Option<String>)>> {
    if secret.is_empty() || secret.len() > 200 {
        return Ok(None);
    }
    let now = kernel::time::now();
    let row: Option<Consumed> = tx
        .fetch_optional(
            "UPDATE user_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id, payload",
            args![kernel::ids::sha256_hex(secret), purpose, now],
        )
        .await?;
    Ok(row.map(|r| (r.user_id, r.payload)))
}
