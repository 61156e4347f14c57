//! The audit log: who did what to what, from where, and how serious it is. Entries are
//! written by [`record`] inside the transaction of the change they describe, so a change
//! and its audit entry commit or roll back together.

mod routes;
pub mod service;

pub use routes::admin_routes;

use kernel::context::RequestContext;
use kernel::principal::Principal;
use kernel::{Result, Tx, args};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The action vocabulary (the Staka seed's, plus organization and API key actions).
pub mod actions {
    pub const LOGIN_SUCCESS: &str = "LOGIN_SUCCESS";
    pub const LOGIN_FAILED: &str = "LOGIN_FAILED";
    pub const LOGOUT: &str = "LOGOUT";
    pub const PASSWORD_CHANGE: &str = "PASSWORD_CHANGE";
    pub const EMAIL_CHANGE_REQUESTED: &str = "EMAIL_CHANGE_REQUESTED";
    pub const EMAIL_CHANGED: &str = "EMAIL_CHANGED";
    pub const PASSWORD_RESET_REQUEST: &str = "PASSWORD_RESET_REQUEST";
    pub const PASSWORD_RESET_SUCCESS: &str = "PASSWORD_RESET_SUCCESS";
    pub const PASSWORD_RESET_FAILED: &str = "PASSWORD_RESET_FAILED";
    pub const ACCOUNT_LOCKED: &str = "ACCOUNT_LOCKED";
    pub const USER_CREATED: &str = "USER_CREATED";
    pub const USER_UPDATED: &str = "USER_UPDATED";
    pub const USER_DELETED: &str = "USER_DELETED";
    pub const USER_DATA_EXPORTED: &str = "USER_DATA_EXPORTED";
    pub const USER_ROLE_CHANGED: &str = "USER_ROLE_CHANGED";
    pub const USER_STATUS_CHANGED: &str = "USER_STATUS_CHANGED";
    pub const SESSION_REVOKED: &str = "SESSION_REVOKED";
    pub const UNAUTHORIZED_ACCESS: &str = "UNAUTHORIZED_ACCESS";
    pub const ADMIN_ACCESS: &str = "ADMIN_ACCESS";
    pub const SUSPICIOUS_ACTIVITY: &str = "SUSPICIOUS_ACTIVITY";
    pub const AUDIT_CLEANUP: &str = "AUDIT_CLEANUP";
    pub const ORG_CREATED: &str = "ORG_CREATED";
    pub const ORG_UPDATED: &str = "ORG_UPDATED";
    pub const ORG_DELETED: &str = "ORG_DELETED";
    pub const ORG_MEMBER_JOINED: &str = "ORG_MEMBER_JOINED";
    pub const ORG_MEMBER_ROLE_CHANGED: &str = "ORG_MEMBER_ROLE_CHANGED";
    pub const ORG_MEMBER_REMOVED: &str = "ORG_MEMBER_REMOVED";
    pub const ORG_MEMBER_LEFT: &str = "ORG_MEMBER_LEFT";
    pub const ORG_OWNERSHIP_TRANSFERRED: &str = "ORG_OWNERSHIP_TRANSFERRED";
    pub const ORG_INVITATION_CREATED: &str = "ORG_INVITATION_CREATED";
    pub const ORG_INVITATION_REVOKED: &str = "ORG_INVITATION_REVOKED";
    pub const API_KEY_CREATED: &str = "API_KEY_CREATED";
    pub const API_KEY_REVOKED: &str = "API_KEY_REVOKED";
    pub const MFA_ENROLMENT_STARTED: &str = "MFA_ENROLMENT_STARTED";
    pub const MFA_ENABLED: &str = "MFA_ENABLED";
    pub const MFA_DISABLED: &str = "MFA_DISABLED";
    pub const MFA_CHALLENGE_ISSUED: &str = "MFA_CHALLENGE_ISSUED";
    pub const MFA_CHALLENGE_FAILED: &str = "MFA_CHALLENGE_FAILED";
    pub const MFA_RECOVERY_CODE_USED: &str = "MFA_RECOVERY_CODE_USED";
    pub const MFA_RECOVERY_CODES_REGENERATED: &str = "MFA_RECOVERY_CODES_REGENERATED";
    pub const SIGN_IN_CODE_REQUESTED: &str = "SIGN_IN_CODE_REQUESTED";
    pub const OAUTH_IDENTITY_LINKED: &str = "OAUTH_IDENTITY_LINKED";
    pub const OAUTH_IDENTITY_UNLINKED: &str = "OAUTH_IDENTITY_UNLINKED";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }
}

/// One entry to record; build with the methods, then pass to [`record`].
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub action: &'static str,
    pub severity: Severity,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub organization_id: Option<String>,
    pub target_type: &'static str,
    pub target_id: Option<String>,
    pub description: String,
    pub metadata: Option<Value>,
}

impl AuditEntry {
    pub fn new(action: &'static str, severity: Severity, target_type: &'static str) -> Self {
        Self {
            action,
            severity,
            actor_id: None,
            actor_email: None,
            organization_id: None,
            target_type,
            target_id: None,
            description: String::new(),
            metadata: None,
        }
    }

    pub fn by(mut self, principal: &Principal) -> Self {
        match principal {
            Principal::User(u) => {
                self.actor_id = Some(u.user_id.clone());
                self.actor_email = Some(u.email.clone());
            }
            Principal::ApiKey(k) => {
                self.actor_id = Some(k.key_id.clone());
                self.organization_id.get_or_insert_with(|| k.organization_id.clone());
            }
        }
        self
    }

    pub fn by_user(mut self, id: &str, email: &str) -> Self {
        self.actor_id = Some(id.to_string());
        self.actor_email = Some(email.to_string());
        self
    }

    pub fn by_email(mut self, email: &str) -> Self {
        self.actor_email = Some(email.to_string());
        self
    }

    pub fn target(mut self, id: &str) -> Self {
        self.target_id = Some(id.to_string());
        self
    }

    pub fn org(mut self, id: &str) -> Self {
        self.organization_id = Some(id.to_string());
        self
    }

    pub fn describe(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    pub fn meta(mut self, metadata: Value) -> Self {
        self.metadata = Some(metadata);
        self
    }
}

/// Append an entry in the caller's transaction.
pub async fn record(tx: &mut Tx, ctx: &RequestContext, entry: AuditEntry) -> Result<()> {
    tx.execute(
        "INSERT INTO audit_log (id, created_at, action, severity, actor_id, actor_email, organization_id,
           target_type, target_id, description, ip, user_agent, request_id, metadata)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        args![
            kernel::ids::new_id(),
            kernel::time::now(),
            entry.action,
            entry.severity.as_str(),
            entry.actor_id,
            entry.actor_email.clone(),
            entry.organization_id.clone(),
            entry.target_type,
            entry.target_id.clone(),
            entry.description.clone(),
            ctx.ip.clone(),
            ctx.user_agent.clone(),
            Some(ctx.request_id.clone()).filter(|s| !s.is_empty()),
            entry.metadata
        ],
    )
    .await?;
    metrics::counter!("socle_audit_entries_total", "severity" => entry.severity.as_str()).increment(1);
    if matches!(entry.severity, Severity::High | Severity::Critical) {
        // Administrators are told about serious entries (Automation's notifications listen).
        kernel::outbox::append(
            tx,
            kernel::outbox::NewEvent::new(
                AUDIT_ALERT_EVENT,
                entry.organization_id.as_deref(),
                serde_json::json!({
                    "action": entry.action,
                    "severity": entry.severity.as_str(),
                    "description": entry.description,
                    "actor_email": entry.actor_email,
                    "target_type": entry.target_type,
                    "target_id": entry.target_id,
                }),
            ),
        )
        .await?;
    }
    Ok(())
}

/// The outbox event appended for every HIGH or CRITICAL audit entry.
pub const AUDIT_ALERT_EVENT: &str = "audit.alert";

/// Record an entry in a transaction of its own (for events with no other write, such as a
/// refused access).
pub async fn record_now(db: &kernel::Db, ctx: &RequestContext, entry: AuditEntry) -> Result<()> {
    let mut tx = db.begin().await?;
    record(&mut tx, ctx, entry).await?;
    tx.commit().await
}
