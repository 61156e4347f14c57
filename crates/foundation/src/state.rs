//! What Foundation's handlers and services need.

use std::sync::Arc;
use std::time::Duration;

use kernel::mail::Mailer;
use kernel::principal::{ApiKeyPrincipal, UserPrincipal};
use kernel::ratelimit::AttemptWindow;
use kernel::recent::RecentReads;
use kernel::{Config, Db};

use crate::passwords::PasswordHasher;
use crate::settings::{self, PasswordHashConfig, SecurityConfig};
use crate::tokens::JwtKeys;

/// Cheap to clone (one reference count): handlers receive it on every request.
#[derive(Clone)]
pub struct FoundationState(Arc<FoundationInner>);

impl std::ops::Deref for FoundationState {
    type Target = FoundationInner;

    fn deref(&self) -> &FoundationInner {
        &self.0
    }
}

pub struct FoundationInner {
    pub db: Db,
    pub config: Arc<Config>,
    /// The `[security]` section.
    pub security: SecurityConfig,
    pub mailer: Mailer,
    pub jwt: JwtKeys,
    pub passwords: PasswordHasher,
    /// Seals TOTP secrets at rest.
    pub totp_seal: crate::mfa::SecretSeal,
    /// The `[oauth]` section: the providers builders sign in with.
    pub oauth: crate::oauth::settings::OAuthConfig,
    /// For the operator's providers (trusted: any address).
    pub oauth_http: crate::oauth::client::OAuthHttp,
    pub limits: AuthLimits,
    /// Sessions found live by recent requests, by session id (see [`kernel::recent`]).
    pub recent_sessions: RecentReads<String, UserPrincipal>,
    /// API keys found valid by recent requests, by the key's hash.
    pub recent_api_keys: RecentReads<String, ApiKeyPrincipal>,
    /// The plans' quota on members.
    pub usage: kernel::Usage,
    /// Where files are kept (verification documents, forgotten on erasure).
    pub store: Arc<kernel::storage::Store>,
}

/// Per-process counters behind the 429s of login, password reset and registration.
pub struct AuthLimits {
    pub login_failures_by_ip: AttemptWindow,
    pub login_failures_by_account: AttemptWindow,
    pub reset_requests_by_ip: AttemptWindow,
    pub reset_requests_by_account: AttemptWindow,
    pub registrations_by_ip: AttemptWindow,
    /// Wrong second-factor codes per account (kept apart from the login window, whose keys
    /// are whatever a client sends as an address).
    pub mfa_failures_by_account: AttemptWindow,
}

impl AuthLimits {
    pub fn from_config(config: &Config) -> Self {
        let hour = Duration::from_secs(3600);
        let rl = &config.rate_limit;
        Self {
            login_failures_by_ip: AttemptWindow::new(rl.login_failures_per_hour, hour),
            login_failures_by_account: AttemptWindow::new(rl.login_failures_per_hour, hour),
            reset_requests_by_ip: AttemptWindow::new(rl.password_reset_per_hour, hour),
            reset_requests_by_account: AttemptWindow::new(rl.password_reset_per_hour, hour),
            registrations_by_ip: AttemptWindow::new(rl.register_per_hour, hour),
            mfa_failures_by_account: AttemptWindow::new(rl.login_failures_per_hour, hour),
        }
    }

    pub fn retain_recent(&self) {
        self.login_failures_by_ip.retain_recent();
        self.login_failures_by_account.retain_recent();
        self.reset_requests_by_ip.retain_recent();
        self.reset_requests_by_account.retain_recent();
        self.registrations_by_ip.retain_recent();
        self.mfa_failures_by_account.retain_recent();
    }
}

impl FoundationState {
    /// Reads Foundation's own sections (`[security]`, `[password_hash]`) from `config`.
    pub fn new(
        db: Db,
        config: Arc<Config>,
        mailer: Mailer,
        keys: &kernel::Keys,
        usage: kernel::Usage,
        store: Arc<kernel::storage::Store>,
    ) -> anyhow::Result<Self> {
        let security = config.section(settings::SECURITY)?;
        let password_hash: PasswordHashConfig = config.section(settings::PASSWORD_HASH)?;
        let oauth: crate::oauth::settings::OAuthConfig = config.section(crate::oauth::settings::OAUTH)?;
        Ok(Self(Arc::new(FoundationInner {
            jwt: JwtKeys::new(&keys.jwt, config.access_token_ttl_secs)
                .with_previous(keys.jwt_previous.iter().map(Vec::as_slice)),
            passwords: PasswordHasher::new(&password_hash),
            totp_seal: crate::mfa::SecretSeal::new(keys),
            oauth,
            oauth_http: crate::oauth::client::OAuthHttp::new(true)?,
            security,
            limits: AuthLimits::from_config(&config),
            recent_sessions: RecentReads::default(),
            recent_api_keys: RecentReads::default(),
            usage,
            store,
            db,
            config,
            mailer,
        })))
    }
}
