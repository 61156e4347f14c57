//! Runtime: what end users of a built app talk to. Apps and their deployments
//! (`/api/v1/runtime/apps`), and under `/apps/{slug}` the PocketBase dialect: records CRUD
//! with rules, filters, sorting, expansion and field selection, end-user auth, health.
//!
//! An app's data lives in its own namespace, migrated by each deployment with the Studio's
//! schema-change engine; filters and rules are compiled by the expression language.

pub mod admin_apps;
pub mod apps;
pub mod auth;
pub mod auth_factors;
pub mod auth_flows;
pub mod auth_oauth2;
pub mod batch;
pub mod context;
pub mod external_auths;
pub mod extract;
pub mod files;
pub mod openapi;
mod ordered;
pub mod pb;
pub mod platform_files;
pub mod realtime;
pub mod records;
pub use kernel::storage;
pub mod thumbs;
pub mod usage;
pub mod ws;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use collections::ddl::Namespace;
use collections::schema::ProjectSchema;
use foundation::FoundationState;
use kernel::module::Task;
use kernel::{Db, Deps, Module};
use utoipa_axum::router::OpenApiRouter;

use crate::context::AppTokens;

/// An app as requests find it: (id, organization, current deployment).
pub type AppRow = (String, String, Option<i64>);

/// What the runtime's handlers need; cheap to clone.
#[derive(Clone)]
pub struct RuntimeState(Arc<RuntimeInner>);

pub struct RuntimeInner {
    pub db: Db,
    pub foundation: FoundationState,
    pub tokens: AppTokens,
    /// Signs verification, reset and email-change tokens (never valid as session tokens).
    pub flow_secret: Vec<u8>,
    /// The flow secrets of the previous signing secrets, accepted when verifying.
    pub flow_previous: Vec<Vec<u8>>,
    pub realtime: realtime::Hub,
    /// True once the server is shutting down.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// The realtime WebSocket's heartbeat (`realtime.ws_heartbeat_secs`).
    pub ws_heartbeat: std::time::Duration,
    pub store: Arc<storage::Store>,
    /// Metering and the plans' quotas (API calls, records, stored bytes).
    pub usage: kernel::Usage,
    /// Slug → (app id, organization, current deployment), kept one second: a deploy or a
    /// delete made through another process is seen within that second.
    slugs: RwLock<HashMap<String, (std::time::Instant, Option<AppRow>)>>,
    /// Parsed schemas by (app, deployment); deployments never change, so entries never go stale.
    schemas: RwLock<HashMap<(String, i64), Arc<ProjectSchema>>>,
}

impl std::ops::Deref for RuntimeState {
    type Target = RuntimeInner;

    fn deref(&self) -> &RuntimeInner {
        &self.0
    }
}

/// End-user tokens live as long as PocketBase's default (7 days); a password change or
/// `tokenKey` rotation ends them early.
pub const APP_TOKEN_TTL_SECS: i64 = 7 * 24 * 3600;

impl RuntimeState {
    /// `stopping` turns true when the server shuts down: realtime streams end then.
    pub fn new(
        db: Db,
        foundation: FoundationState,
        keys: &kernel::Keys,
        stopping: tokio::sync::watch::Receiver<bool>,
        usage: kernel::Usage,
        store: Arc<storage::Store>,
        realtime: ws::RealtimeConfig,
    ) -> Self {
        let flow_secret = |secret: &[u8]| [b"socle-app-flows:".as_slice(), secret].concat();
        Self(Arc::new(RuntimeInner {
            db,
            foundation,
            tokens: AppTokens::new(&keys.jwt, APP_TOKEN_TTL_SECS)
                .with_previous(keys.jwt_previous.iter().map(Vec::as_slice)),
            flow_secret: flow_secret(&keys.jwt),
            flow_previous: keys.jwt_previous.iter().map(|s| flow_secret(s)).collect(),
            realtime: realtime::Hub::default(),
            stopping,
            ws_heartbeat: std::time::Duration::from_secs(realtime.ws_heartbeat_secs.max(1)),
            store,
            usage,
            schemas: RwLock::new(HashMap::new()),
            slugs: RwLock::new(HashMap::new()),
        }))
    }

    /// Keys that verify flow and file tokens: the current flow secret's, then the previous ones'.
    pub fn flow_decoding_keys(&self) -> Vec<jsonwebtoken::DecodingKey> {
        std::iter::once(&self.flow_secret)
            .chain(&self.flow_previous)
            .map(|s| jsonwebtoken::DecodingKey::from_secret(s))
            .collect()
    }

    pub async fn schema(&self, app_id: &str, deployment: i64) -> kernel::Result<Arc<ProjectSchema>> {
        let key = (app_id.to_string(), deployment);
        if let Ok(cache) = self.schemas.read()
            && let Some(s) = cache.get(&key)
        {
            return Ok(s.clone());
        }
        let collections = apps::snapshot(&self.db, app_id, deployment).await?;
        let schema = Arc::new(ProjectSchema::new(Namespace::for_app(self.db.kind(), app_id), collections));
        if let Ok(mut cache) = self.schemas.write() {
            // Older deployments of the app are not needed any more.
            cache.retain(|(app, _), _| app != app_id);
            cache.insert(key, schema.clone());
        }
        Ok(schema)
    }

    pub fn forget(&self, app_id: &str) {
        if let Ok(mut cache) = self.schemas.write() {
            cache.retain(|(app, _), _| app != app_id);
        }
        if let Ok(mut slugs) = self.slugs.write() {
            slugs.retain(|_, (_, app)| app.as_ref().is_none_or(|(id, _, _)| id != app_id));
        }
    }

    /// Whether `password` matches a stored hash (argon2id or imported bcrypt).
    pub async fn password_matches(&self, password: &str, stored: &str) -> bool {
        matches!(
            self.foundation.passwords.verify(password, stored).await,
            Ok(foundation::passwords::Verdict::Valid { .. })
        )
    }

    pub fn forget_slug(&self, slug: &str) {
        if let Ok(mut slugs) = self.slugs.write() {
            slugs.remove(slug);
        }
    }

    /// The app behind a slug: (id, organization, current deployment).
    pub async fn app_by_slug(&self, slug: &str) -> kernel::Result<Option<(String, String, Option<i64>)>> {
        const FRESH: std::time::Duration = std::time::Duration::from_secs(1);
        if let Ok(cache) = self.slugs.read()
            && let Some((at, app)) = cache.get(slug)
            && at.elapsed() < FRESH
        {
            return Ok(app.clone());
        }
        let row: Option<(String, String, Option<i64>)> = self
            .db
            .fetch_optional(
                "SELECT id, organization_id, current_deployment FROM runtime_apps WHERE slug = $1",
                kernel::args![slug],
            )
            .await?;
        if let Ok(mut cache) = self.slugs.write() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(slug.to_string(), (std::time::Instant::now(), row.clone()));
        }
        Ok(row)
    }
}

/// Runtime's front door: apps and deployments under `/api/v1/runtime`, the apps' own API
/// under `/apps/{slug}`, and the realtime listener (PostgreSQL NOTIFY from other processes).
pub const MODULE: kernel::module::ModuleDef = kernel::module::ModuleDef { name: "runtime", migrations, build: module };

fn module(deps: &mut Deps) -> anyhow::Result<Module> {
    let usage = deps.get::<kernel::Usage>()?;
    let store = deps.get::<Arc<storage::Store>>()?;
    let state = RuntimeState::new(
        deps.db.clone(),
        deps.get::<FoundationState>()?,
        &deps.keys,
        deps.stopping.clone(),
        usage,
        store,
        deps.section(ws::SECTION)?,
    );
    state.usage.add_probe(Arc::new(usage::AppsProbe(state.clone())));
    deps.provide(state.clone());
    let files =
        platform_files::FilesState::new(state.clone(), deps.section(platform_files::settings::SECTION)?, &deps.keys)?;
    state.usage.add_probe(Arc::new(platform_files::FilesProbe(files.clone())));
    deps.provide(files.clone());
    let listening = state.clone();
    Ok(Module::new("runtime")
        .api(router(state.clone()).merge(platform_files::routes::router(files)))
        .apps(app_router(state))
        .task(Task::always("realtime listener", move |stop| realtime::listen(listening, stop))))
}

/// The platform routes, mounted under `/api/v1`.
pub fn router(state: RuntimeState) -> OpenApiRouter {
    let admin = OpenApiRouter::new().nest("/admin", admin_apps::routes()).with_state(state.foundation.clone());
    OpenApiRouter::new().nest("/runtime/apps", apps::routes()).with_state(state).merge(admin)
}

/// The apps' own API, mounted under `/apps/{slug}` (PocketBase's paths, not in the platform's
/// OpenAPI document: each app publishes its own at `/apps/{slug}/api/openapi.json`).
pub fn app_router(state: RuntimeState) -> axum::Router {
    records::routes()
        .merge(auth::routes())
        .merge(auth_factors::routes())
        .merge(auth_oauth2::routes())
        .merge(realtime::routes())
        .merge(batch::routes())
        .merge(auth_flows::routes())
        .merge(files::routes())
        .merge(ws::routes())
        .merge(openapi::routes())
        .layer(axum::extract::DefaultBodyLimit::max(state.foundation.config.upload_limit_bytes))
        .with_state(state)
}

pub fn migrations() -> Vec<kernel::migrate::Migration> {
    vec![
        kernel::migrate::Migration {
            module: "runtime",
            version: 1,
            name: "apps_deployments",
            script: include_str!("../migrations/0001_runtime.sql"),
        },
        kernel::migrate::Migration {
            module: "runtime",
            version: 2,
            name: "otps_mfas",
            script: include_str!("../migrations/0002_otps_mfas.sql"),
        },
        kernel::migrate::Migration {
            module: "runtime",
            version: 3,
            name: "external_auths",
            script: include_str!("../migrations/0003_external_auths.sql"),
        },
        kernel::migrate::Migration {
            module: "runtime",
            version: 4,
            name: "platform_files",
            script: include_str!("../migrations/0004_platform_files.sql"),
        },
    ]
}
