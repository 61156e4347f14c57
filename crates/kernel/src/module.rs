//! The one front door of a module: everything `server` needs to mount it.
//!
//! Each crate exposes one `pub const MODULE: ModuleDef`: its name, its migrations and its
//! constructor `fn(&mut Deps) -> anyhow::Result<Module>`. The server lists them in order and
//! calls the constructors over one [`Deps`], which carries the shared handles (database,
//! configuration, mailer, keys) and the services earlier modules published with
//! [`Deps::provide`] (Foundation's state for the modules built on it, and so on). Adding a
//! module is one crate and one line in the server's list.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use utoipa_axum::router::OpenApiRouter;

use crate::jobs::Registry;
use crate::mail::Mailer;
use crate::migrate::Migration;
use crate::outbox::Listener;
use crate::{Config, Db};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A long-running loop of a module; it returns once `stop` turns true.
pub type TaskFn = Box<dyn FnOnce(watch::Receiver<bool>) -> BoxFuture<'static, ()> + Send>;

/// A background task and the process role it belongs to (`None`: every process).
pub struct Task {
    pub name: &'static str,
    pub role: Option<&'static str>,
    pub run: TaskFn,
}

impl Task {
    /// A task that runs in every process.
    pub fn always<F, Fut>(name: &'static str, run: F) -> Self
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Task { name, role: None, run: Box::new(move |stop| Box::pin(run(stop))) }
    }

    /// A task in every process that calls `tick` every `period` until the server stops.
    pub fn every(name: &'static str, period: Duration, tick: impl Fn() + Send + 'static) -> Self {
        Task::always(name, move |stop| every(period, stop, tick))
    }

    /// A task that runs only where the process has `role` (`worker`, `scheduler`, `api`).
    pub fn in_role<F, Fut>(name: &'static str, role: &'static str, run: F) -> Self
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Task { name, role: Some(role), run: Box::new(move |stop| Box::pin(run(stop))) }
    }
}

/// Call `tick` every `period` until `stop` changes (the server is stopping).
pub async fn every(period: Duration, mut stop: watch::Receiver<bool>, tick: impl Fn()) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => tick(),
            _ = stop.changed() => return,
        }
    }
}

/// Turns a request's credentials into a principal in its extensions. Foundation provides
/// it; the server's edge middleware calls it before every handler.
pub trait Authenticator: Send + Sync + 'static {
    fn attach<'a>(&'a self, req: &'a mut axum::extract::Request) -> BoxFuture<'a, ()>;
}

/// Refreshes gauges right before a metrics scrape (counts only a module can compute).
pub trait MetricsCollector: Send + Sync + 'static {
    fn collect<'a>(&'a self, db: &'a Db) -> BoxFuture<'a, ()>;
}

/// The collectors every module registered, read by Insights at each scrape.
#[derive(Clone, Default)]
pub struct Collectors(Arc<RwLock<Vec<Arc<dyn MetricsCollector>>>>);

impl Collectors {
    pub fn add(&self, collector: Arc<dyn MetricsCollector>) {
        if let Ok(mut all) = self.0.write() {
            all.push(collector);
        }
    }

    pub fn all(&self) -> Vec<Arc<dyn MetricsCollector>> {
        self.0.read().map(|all| all.clone()).unwrap_or_default()
    }
}

/// What a module contributes. Every part is optional but the name.
pub struct Module {
    pub name: &'static str,
    /// Routes mounted under `/api/v1` (the module chooses the paths below it, normally
    /// `/{name}/...`), documented in the platform's OpenAPI document.
    pub api: Option<OpenApiRouter>,
    /// Routes mounted at the root (`/health`, `/metrics`), documented too.
    pub root: Option<OpenApiRouter>,
    /// Routes of the apps' own API (`/apps/{slug}/...`), with their own documents.
    pub apps: Option<axum::Router>,
    /// Job kinds this module runs.
    pub jobs: Registry,
    /// Reactions to outbox events.
    pub listeners: Vec<Arc<dyn Listener>>,
    /// Loops started by `serve`.
    pub tasks: Vec<Task>,
    /// Tags and components of this module's part of the OpenAPI document.
    pub openapi: Option<utoipa::openapi::OpenApi>,
}

impl Module {
    pub fn new(name: &'static str) -> Self {
        Module {
            name,
            api: None,
            root: None,
            apps: None,
            jobs: Registry::new(),
            listeners: Vec::new(),
            tasks: Vec::new(),
            openapi: None,
        }
    }

    pub fn api(mut self, router: OpenApiRouter) -> Self {
        self.api = Some(router);
        self
    }

    pub fn root(mut self, router: OpenApiRouter) -> Self {
        self.root = Some(router);
        self
    }

    pub fn apps(mut self, router: axum::Router) -> Self {
        self.apps = Some(router);
        self
    }

    pub fn listener(mut self, listener: Arc<dyn Listener>) -> Self {
        self.listeners.push(listener);
        self
    }

    pub fn task(mut self, task: Task) -> Self {
        self.tasks.push(task);
        self
    }

    pub fn jobs(mut self, register: impl FnOnce(&mut Registry)) -> Self {
        register(&mut self.jobs);
        self
    }

    pub fn openapi(mut self, doc: utoipa::openapi::OpenApi) -> Self {
        self.openapi = Some(doc);
        self
    }
}

/// The shared handles and the services published by the modules built so far.
pub struct Deps {
    pub db: Db,
    pub config: Arc<Config>,
    pub mailer: Mailer,
    /// The signing secrets and the workflow secrets key (`server::secrets`).
    pub keys: Arc<crate::Keys>,
    pub collectors: Collectors,
    /// Turns true when the server begins to shut down: long-lived streams (SSE, WebSocket)
    /// end then, so that the graceful shutdown, which waits for every open connection, ends.
    pub stopping: watch::Receiver<bool>,
    services: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
}

impl Deps {
    pub fn new(
        db: Db,
        config: Arc<Config>,
        mailer: Mailer,
        keys: crate::Keys,
        stopping: watch::Receiver<bool>,
    ) -> Self {
        Deps {
            db,
            config,
            mailer,
            keys: Arc::new(keys),
            collectors: Collectors::default(),
            stopping,
            services: HashMap::new(),
        }
    }

    /// Publish a service (a module's state, a hook) for the modules built after this one.
    pub fn provide<T: Clone + Send + Sync + 'static>(&mut self, service: T) {
        self.services.insert(TypeId::of::<T>(), Box::new(service));
    }

    /// A service an earlier module published.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> anyhow::Result<T> {
        self.try_get().ok_or_else(|| {
            anyhow::anyhow!(
                "no {} was provided: the module that provides it must come earlier in the server's module list",
                std::any::type_name::<T>()
            )
        })
    }

    pub fn try_get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.services.get(&TypeId::of::<T>()).and_then(|s| s.downcast_ref::<T>()).cloned()
    }

    /// This module's own settings: the `[name]` section of `socle.toml` (and `SOCLE_NAME__*`),
    /// defaults for what is unset.
    pub fn section<T: serde::Serialize + serde::de::DeserializeOwned + Default>(
        &self,
        name: &str,
    ) -> anyhow::Result<T> {
        self.config.section(name)
    }
}

/// A module as the server lists it: its name, its migrations (which `socle migrate` runs
/// without building anything) and its constructor.
pub struct ModuleDef {
    pub name: &'static str,
    /// Its own tables, in order; applied before any module is built.
    pub migrations: fn() -> Vec<Migration>,
    pub build: fn(&mut Deps) -> anyhow::Result<Module>,
}

/// The kernel's own part: its tables (jobs, outbox, schedules), the mail job, and the job
/// counts for metrics.
pub const MODULE: ModuleDef = ModuleDef { name: "kernel", migrations: crate::migrations, build: module };

fn module(deps: &mut Deps) -> anyhow::Result<Module> {
    crate::describe_metrics();
    metrics::describe_gauge!("socle_jobs", "Jobs in the queue, by state.");
    deps.collectors.add(Arc::new(JobCounts));
    let usage: crate::usage::UsageConfig = deps.section("usage")?;
    deps.provide(crate::usage::Usage::new(usage.metering, usage.enforce));
    deps.provide(crate::ai::Ai::default());
    deps.provide(std::sync::Arc::new(crate::storage::Store::new(&deps.config.data_dir, Some(&deps.config.s3))));
    let mailer = deps.mailer.clone();
    Ok(Module::new("kernel").jobs(move |registry| {
        registry.register(crate::mail::JOB_KIND, mailer);
    }))
}

struct JobCounts;

impl MetricsCollector for JobCounts {
    fn collect<'a>(&'a self, db: &'a Db) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            match crate::jobs::admin::state_counts(db).await {
                Ok(counts) => {
                    for (state, n) in counts {
                        metrics::gauge!("socle_jobs", "state" => state).set(n as f64);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not count jobs"),
            }
        })
    }
}
