//! Accounts: registration and activation, login, token refresh with reuse detection,
//! logout, password reset and change, lockout, and the profile of the signed-in person.

mod routes;
pub mod service;
pub mod tokens;

pub use routes::{auth_routes, user_routes};

use kernel::{Exec, PlatformRole, Result, Tx, args};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    /// Registered, email not confirmed yet.
    Pending,
    Active,
    /// Turned off by an administrator: cannot sign in.
    Deactivated,
    /// Erased (GDPR): anonymized, cannot sign in.
    Deleted,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Pending => "pending",
            UserStatus::Active => "active",
            UserStatus::Deactivated => "deactivated",
            UserStatus::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "active" => UserStatus::Active,
            "deactivated" => UserStatus::Deactivated,
            "deleted" => UserStatus::Deleted,
            _ => UserStatus::Pending,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub status: String,
    pub email_verified_at: Option<OffsetDateTime>,
    pub failed_login_count: i64,
    pub locked_at: Option<OffsetDateTime>,
    pub last_login_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

pub const USER_COLUMNS: &str = "id, email, password_hash, first_name, last_name, role, status, email_verified_at, failed_login_count, locked_at, last_login_at, created_at, updated_at";

impl UserRow {
    pub fn role(&self) -> PlatformRole {
        PlatformRole::parse(&self.role).unwrap_or(PlatformRole::User)
    }

    pub fn status(&self) -> UserStatus {
        UserStatus::parse(&self.status)
    }
}

/// An account as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: PlatformRole,
    pub status: UserStatus,
    pub email_verified: bool,
    /// Locked after too many failed logins; a password reset unlocks it.
    pub locked: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_login_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<&UserRow> for UserView {
    fn from(u: &UserRow) -> Self {
        UserView {
            id: u.id.clone(),
            email: u.email.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            role: u.role(),
            status: u.status(),
            email_verified: u.email_verified_at.is_some(),
            locked: u.locked_at.is_some(),
            last_login_at: u.last_login_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// The account with this email, in the caller's transaction or on its own.
pub async fn find_by_email(ex: impl Into<Exec<'_>>, email: &str) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
    ex.into().fetch_optional(sqlx::AssertSqlSafe(sql), args![email]).await
}

/// The account with this id, in the caller's transaction or on its own.
pub async fn find_by_id(ex: impl Into<Exec<'_>>, id: &str) -> Result<Option<UserRow>> {
    ex.into()
        .fetch_optional(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")), args![id])
        .await
}

/// Active accounts (id, email), all of them or those with one platform role: the
/// recipients of a broadcast notification.
pub async fn active_recipients(tx: &mut Tx, role: Option<PlatformRole>) -> Result<Vec<(String, String)>> {
    match role {
        Some(r) => {
            tx.fetch_all(
                "SELECT id, email FROM users WHERE status = 'active' AND role = $1 ORDER BY id",
                args![r.as_str()],
            )
            .await
        }
        None => tx.fetch_all("SELECT id, email FROM users WHERE status = 'active' ORDER BY id", args![]).await,
    }
}
