//! Assembly: builds every module's state and router, wraps them in the middleware stack,
//! serves the OpenAPI document and Swagger UI, runs the background workers, and shuts down
//! gracefully.

pub mod cors;
pub mod listen;
pub mod middleware;
pub mod openapi;
pub mod proxy;
pub mod route_label;
pub mod secrets;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use kernel::jobs::Registry;
use kernel::mail::Mailer;
use kernel::module::{Authenticator, ModuleDef, Task};
use kernel::outbox::Listener;
use kernel::ratelimit::RateLimiter;
use kernel::{Config, Db, Deps, Error};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::middleware::EdgeState;

/// Every module, in dependency order: each one may use what the ones before it provide.
/// Adding a module is one crate and one line here.
/// Insights comes first: it installs the metrics recorder, so that the metric descriptions
/// every later module gives are kept.
pub const MODULES: &[&ModuleDef] = &[
    &insights::MODULE,
    &kernel::module::MODULE,
    &foundation::MODULE,
    &insights::ACTIVITY,
    &studio::MODULE,
    &runtime::MODULE,
    &automation::MODULE,
    &collab::MODULE,
    &commerce::MODULE,
    &assistant::MODULE,
    &exports::MODULE,
    &console::MODULE,
];

/// The migrations of `modules`, in their order.
pub fn migrations_of(modules: &[&ModuleDef]) -> Vec<kernel::migrate::Migration> {
    modules.iter().flat_map(|m| (m.migrations)()).collect()
}

/// Every module's migrations, in dependency order.
pub fn migrations() -> Vec<kernel::migrate::Migration> {
    migrations_of(MODULES)
}

/// Open the database and bring its schema up to date.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    open_database_with(config, MODULES).await
}

async fn open_database_with(config: &Config, modules: &[&ModuleDef]) -> anyhow::Result<Db> {
    let db = Db::connect(config).await?;
    let applied = kernel::migrate::run(&db, &migrations_of(modules))
        .await
        .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    tracing::info!(database = db.kind().as_str(), applied, "database ready");
    Ok(db)
}

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    db: Db,
    config: Arc<Config>,
    /// The services the modules published (their states), for tools and tests.
    deps: Deps,
    jobs: Registry,
    listeners: Vec<Arc<dyn Listener>>,
    tasks: Vec<Task>,
    rate_limiter: Option<Arc<RateLimiter>>,
    /// Flipped when shutdown begins: background loops stop and open streams end.
    stop_tx: watch::Sender<bool>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, &[]).await
    }

    /// [`MODULES`] and then `extra` (tools and tests mount their own routes this way).
    pub async fn build_with(config: Config, extra: &[&ModuleDef]) -> anyhow::Result<Self> {
        let modules: Vec<&ModuleDef> = MODULES.iter().chain(extra).copied().collect();
        let config = Arc::new(config);
        let db = open_database_with(&config, &modules).await?;
        let listener = TcpListener::bind(&config.bind).await?;
        Self::with_parts(config, db, listener, &modules).await
    }

    pub async fn with_parts(
        config: Arc<Config>,
        db: Db,
        listener: TcpListener,
        modules: &[&ModuleDef],
    ) -> anyhow::Result<Self> {
        let mailer = Mailer::from_config(&config)?;
        let keys = secrets::start(&config, &db).await?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut deps = Deps::new(db.clone(), config.clone(), mailer, keys, stop_rx.clone());
        let serves_api = config.runs("api");
        let mut api = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi());
        let mut apps = Router::new();
        let mut jobs = Registry::new();
        let mut listeners = Vec::new();
        // Other processes' access changes reach this process's long-lived connections (collab
        // editors, notification streams), whichever modules hold them.
        let access_db = db.clone();
        let mut tasks =
            vec![Task::always("access changes", move |stop| kernel::access_changes::listen(access_db, stop))];
        for def in modules {
            let module = (def.build)(&mut deps).map_err(|e| anyhow::anyhow!("module {}: {e}", def.name))?;
            if let Some(root) = module.root {
                api = api.merge(root);
            }
            // A worker or scheduler process answers health and metrics only.
            if serves_api {
                if let Some(routes) = module.api {
                    api = api.nest("/api/v1", routes);
                }
                if let Some(routes) = module.apps {
                    apps = apps.merge(routes);
                }
            }
            if let Some(doc) = module.openapi {
                api.get_openapi_mut().merge(doc);
            }
            jobs.merge(module.jobs);
            listeners.extend(module.listeners);
            tasks.extend(module.tasks);
        }
        telemetry::describe_metrics();
        let (api, spec) = api.split_for_parts();

        let rl = &config.rate_limit;
        let rate_limiter = (rl.global_per_minute > 0)
            .then(|| Arc::new(RateLimiter::new(rl.global_per_minute, Duration::from_secs(60), rl.global_burst)));
        let edge = EdgeState {
            proxies: Arc::new(proxy::TrustedProxies::parse(&config.trusted_proxies).map_err(|e| anyhow::anyhow!(e))?),
            cors: Arc::new(cors::CorsPolicy::new(&config.cors_allowed_origins)),
            request_timeout: Duration::from_secs(config.request_timeout_secs.max(1)),
            rate_limiter: rate_limiter.clone(),
            authenticator: deps.try_get::<Arc<dyn Authenticator>>(),
        };
        // Only the document's JSON is kept: the assembled structure is about ten times its
        // size in memory (measured: 10.8 MB of heap, for the life of the process).
        let spec_json = axum::body::Bytes::from(serde_json::to_vec(&openapi::complete(spec))?);
        let serve_spec = move || {
            let body = spec_json.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], body) }
        };
        let router = api
            .route("/api/openapi.json", axum::routing::get(serve_spec.clone()))
            .route("/api/docs/openapi.json", axum::routing::get(serve_spec))
            .merge(SwaggerUi::new("/api/docs").config(utoipa_swagger_ui::Config::new(["/api/docs/openapi.json"])))
            .merge(apps)
            .route_layer(route_label::RouteLabelLayer)
            .fallback(|| async { Error::NotFound("no such endpoint".into()) })
            .layer(DefaultBodyLimit::max(config.body_limit_bytes))
            .layer(CompressionLayer::new())
            .layer(axum::middleware::from_fn_with_state(edge, middleware::edge))
            .layer(CatchPanicLayer::custom(middleware::panic_response));
        Ok(Self { listener, router, db, config, deps, jobs, listeners, tasks, rate_limiter, stop_tx })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A service a module published (its state), for tools and tests that call its service
    /// functions directly: `app.service::<foundation::FoundationState>()`.
    pub fn service<T: Clone + Send + Sync + 'static>(&self) -> anyhow::Result<T> {
        self.deps.get()
    }

    /// The job worker with every module's job kinds.
    pub fn worker(&self) -> kernel::jobs::Worker {
        kernel::jobs::Worker::new(
            self.db.clone(),
            self.jobs.clone(),
            kernel::jobs::WorkerOptions {
                concurrency: self.config.jobs.concurrency.max(1),
                poll: Duration::from_millis(self.config.jobs.poll_ms.max(50)),
                queues: self.config.jobs.queues.clone(),
                ..Default::default()
            },
        )
    }

    /// Serve until `shutdown` resolves, then let in-flight requests finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = (self.stop_tx.clone(), self.stop_tx.subscribe());
        let mut background = Vec::new();
        if self.config.runs("worker") {
            background.push(tokio::spawn(self.worker().run(stop_rx.clone())));
            let dispatcher = kernel::outbox::Dispatcher::new(self.db.clone(), self.listeners)
                .poll(Duration::from_millis(self.config.jobs.poll_ms.max(50)));
            background.push(tokio::spawn(dispatcher.run(stop_rx.clone())));
        }
        for task in self.tasks {
            if task.role.is_none_or(|role| self.config.runs(role)) {
                tracing::debug!(task = task.name, "starting");
                background.push(tokio::spawn((task.run)(stop_rx.clone())));
            }
        }
        if let Some(limiter) = self.rate_limiter {
            // Forget the global rate limiter's idle addresses every minute.
            let forget = move || limiter.retain_recent();
            background.push(tokio::spawn(kernel::module::every(Duration::from_secs(60), stop_rx, forget)));
        }
        let service = middleware::service(self.router);
        // Streams (SSE, WebSocket) end when shutdown begins; in-flight requests finish.
        let stopping = stop_tx.clone();
        let header_read_timeout = (self.config.header_read_timeout_secs > 0)
            .then(|| Duration::from_secs(self.config.header_read_timeout_secs));
        listen::serve(self.listener, service, header_read_timeout, async move {
            shutdown.await;
            stopping.send_replace(true);
        })
        .await?;
        tracing::info!("HTTP server stopped; stopping workers");
        stop_tx.send_replace(true);
        for task in background {
            let _ = task.await;
        }
        // The requests answered while shutting down, after the counts' task stopped.
        if let Err(e) = insights::activity::flush(&self.db).await {
            tracing::warn!(error = %e, "could not write the last request counts");
        }
        self.db.close().await;
        Ok(())
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
