//! Foundation: accounts, sessions, API keys, organizations and their members, invitations,
//! the audit log, GDPR export and erasure, and the admin's user management.
//!
//! Each concept is a module with its service functions (business rules over a database
//! handle) and its routes (thin handlers). Other modules use [`authn`] to turn credentials
//! into a principal, [`orgs::require_org_role`] to check organization access and
//! [`audit::record`] to write audit entries inside their own transactions.

pub mod accounts;
pub mod admin;
pub mod api_keys;
pub mod audit;
pub mod authn;
pub mod emails;
pub mod gdpr;
pub mod orgs;
pub mod passwords;
pub mod sessions;
pub mod state;
pub mod tokens;

pub use state::FoundationState;

use utoipa_axum::router::OpenApiRouter;

/// Every Foundation route, mounted by the server under `/api/v1`.
pub fn router(state: FoundationState) -> OpenApiRouter {
    OpenApiRouter::new()
        .nest("/foundation/auth", accounts::auth_routes())
        .nest("/foundation/users", accounts::user_routes().merge(sessions::routes()).merge(gdpr::routes()))
        .nest("/foundation/api-keys", api_keys::routes())
        .nest("/foundation/organizations", orgs::routes())
        .nest("/admin", admin::routes().merge(audit::admin_routes()))
        .with_state(state)
}

pub fn migrations() -> Vec<kernel::migrate::Migration> {
    vec![kernel::migrate::Migration {
        module: "foundation",
        version: 1,
        name: "accounts_orgs_audit",
        sqlite: include_str!("../migrations/0001_foundation.sqlite.sql"),
        postgres: include_str!("../migrations/0001_foundation.postgres.sql"),
    }]
}

/// The `# HELP` of the metrics Foundation records. Call once the metrics recorder is
/// installed; describing again is harmless.
pub fn describe_metrics() {
    metrics::describe_counter!("socle_audit_entries_total", "Audit log entries written, by severity.");
    metrics::describe_counter!("socle_signups_total", "Platform accounts registered.");
    metrics::describe_counter!(
        "socle_logins_total",
        "Platform sign-in attempts, by outcome (success, failure, refused, locked)."
    );
}
