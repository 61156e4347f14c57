//! Foundation: accounts, sessions, API keys, organizations and their members, invitations,
//! the audit log, GDPR export and erasure, and the admin's user management.
//!
//! Each concept is a module with its service functions (business rules over a database
//! handle) and its routes (thin handlers). Other modules use [`authn`] to turn credentials
//! into a principal, [`orgs::require_org_role`] to check organization access and
//! [`audit::record`] to write audit entries inside their own transactions.

pub mod accounts;
pub mod admin;
pub mod admin_orgs;
pub mod admin_sessions;
pub mod api_keys;
pub mod audit;
pub mod authn;
pub mod emails;
pub mod gdpr;
pub mod mfa;
pub mod oauth;
pub mod orgs;
pub mod passwords;
pub mod sessions;
pub mod settings;
pub mod state;
pub mod tokens;
pub mod verification;

pub use state::FoundationState;

use std::sync::Arc;
use std::time::Duration;

use kernel::module::{Authenticator, BoxFuture, MetricsCollector, Task};
use kernel::{Db, Deps, Module};
use utoipa_axum::router::OpenApiRouter;

/// Foundation's front door: accounts, organizations, API keys, audit and admin under
/// `/api/v1`; it publishes its state and the request authenticator for the modules after it.
pub const MODULE: kernel::module::ModuleDef =
    kernel::module::ModuleDef { name: "foundation", migrations, build: module };

fn module(deps: &mut Deps) -> anyhow::Result<Module> {
    let state = FoundationState::new(
        deps.db.clone(),
        deps.config.clone(),
        deps.mailer.clone(),
        &deps.keys,
        deps.get::<kernel::Usage>()?,
        deps.get::<Arc<kernel::storage::Store>>()?,
    )?;
    state.usage.add_probe(Arc::new(kernel::usage::CountProbe {
        db: deps.db.clone(),
        metric: kernel::Metric::Members,
        sql: "SELECT COUNT(*) FROM memberships WHERE organization_id = $1",
    }));
    deps.provide(state.clone());
    deps.provide::<Arc<dyn Authenticator>>(Arc::new(CredentialsAuthenticator(state.clone())));
    describe_metrics();
    metrics::describe_gauge!("socle_active_sessions", "Platform sessions that are neither expired nor revoked.");
    deps.collectors.add(Arc::new(ActiveSessions));
    let limits = state.clone();
    let verification_state = state.clone();
    let upload_limit = deps.config.upload_limit_bytes;
    let api = router(state).merge(
        OpenApiRouter::new()
            .nest("/foundation/verification", verification::routes::routes(upload_limit))
            .nest("/admin", verification::routes::admin_routes())
            .with_state(verification_state),
    );
    Ok(Module::new("foundation").api(api).task(Task::every(
        "forget idle login limits",
        Duration::from_secs(60),
        move || limits.limits.retain_recent(),
    )))
}

/// Bearer tokens and API keys into a principal ([`authn::attach_principal`]).
struct CredentialsAuthenticator(FoundationState);

impl Authenticator for CredentialsAuthenticator {
    fn attach<'a>(&'a self, req: &'a mut axum::extract::Request) -> BoxFuture<'a, ()> {
        Box::pin(authn::attach_principal(&self.0, req))
    }
}

struct ActiveSessions;

impl MetricsCollector for ActiveSessions {
    fn collect<'a>(&'a self, db: &'a Db) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            match sessions::count_active(db).await {
                Ok(n) => metrics::gauge!("socle_active_sessions").set(n as f64),
                Err(e) => tracing::warn!(error = %e, "could not count active sessions"),
            }
        })
    }
}

/// Every Foundation route, mounted by the server under `/api/v1`.
pub fn router(state: FoundationState) -> OpenApiRouter {
    OpenApiRouter::new()
        .nest(
            "/foundation/auth",
            accounts::auth_routes().merge(mfa::routes::auth_routes()).merge(oauth::routes::auth_routes()),
        )
        .nest(
            "/foundation/users",
            accounts::user_routes()
                .merge(sessions::routes())
                .merge(gdpr::routes())
                .merge(mfa::routes::user_routes())
                .merge(oauth::routes::user_routes()),
        )
        .nest("/foundation/api-keys", api_keys::routes())
        .nest("/foundation/organizations", orgs::routes())
        .nest(
            "/admin",
            admin::routes().merge(admin_orgs::routes()).merge(admin_sessions::routes()).merge(audit::admin_routes()),
        )
        .with_state(state)
}

pub fn migrations() -> Vec<kernel::migrate::Migration> {
    vec![
        kernel::migrate::Migration {
            module: "foundation",
            version: 1,
            name: "accounts_orgs_audit",
            script: include_str!("../migrations/0001_foundation.sql"),
        },
        kernel::migrate::Migration {
            module: "foundation",
            version: 2,
            name: "second_factors",
            script: include_str!("../migrations/0002_second_factors.sql"),
        },
        kernel::migrate::Migration {
            module: "foundation",
            version: 3,
            name: "oauth_identities",
            script: include_str!("../migrations/0003_oauth_identities.sql"),
        },
        kernel::migrate::Migration {
            module: "foundation",
            version: 4,
            name: "verification",
            script: include_str!("../migrations/0004_verification.sql"),
        },
        kernel::migrate::Migration {
            module: "foundation",
            version: 5,
            name: "token_payload",
            script: include_str!("../migrations/0005_token_payload.sql"),
        },
        kernel::migrate::Migration {
            module: "foundation",
            version: 6,
            name: "active_user_days",
            script: include_str!("../migrations/0006_active_user_days.sql"),
        },
    ]
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
