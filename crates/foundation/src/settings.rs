//! Foundation's own settings: `[security]` (lockout, activation, token lifetimes) and
//! `[password_hash]` (argon2id parameters) in `socle.toml`, `SOCLE_SECURITY__*` and
//! `SOCLE_PASSWORD_HASH__*` in the environment.

use serde::{Deserialize, Serialize};

pub const SECURITY: &str = "security";
pub const PASSWORD_HASH: &str = "password_hash";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordHashConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityConfig {
    /// Consecutive failed logins that lock an account until a password reset.
    pub lockout_threshold: u32,
    /// Lifetime of activation tokens.
    pub activation_ttl_secs: i64,
    /// Lifetime of password-reset tokens.
    pub password_reset_ttl_secs: i64,
    /// Lifetime of organization invitations.
    pub invitation_ttl_secs: i64,
    /// Whether a new account must be activated by email before it can log in.
    pub require_email_activation: bool,
}

impl Default for PasswordHashConfig {
    /// OWASP's argon2id recommendation: m=19 MiB, t=2, p=1.
    fn default() -> Self {
        Self { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 }
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            lockout_threshold: 10,
            activation_ttl_secs: 48 * 3600,
            password_reset_ttl_secs: 3600,
            invitation_ttl_secs: 7 * 24 * 3600,
            require_email_activation: true,
        }
    }
}
