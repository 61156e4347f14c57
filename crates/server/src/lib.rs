//! Assembly: builds every module's state and router, wraps them in the middleware stack,
//! serves the OpenAPI document and Swagger UI, runs the background workers, and shuts down
//! gracefully.

pub mod cors;
pub mod middleware;
pub mod openapi;
pub mod proxy;
pub mod route_label;
pub mod secrets;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::serve::ListenerExt;
use foundation::FoundationState;
use insights::{InsightsState, MetricsCollector};
use kernel::mail::Mailer;
use kernel::ratelimit::RateLimiter;
use kernel::{Config, Db, Error};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::middleware::EdgeState;

/// Every module's migrations, in dependency order.
pub fn migrations() -> Vec<kernel::migrate::Migration> {
    let mut all = kernel::migrations();
    all.extend(foundation::migrations());
    all.extend(studio::migrations());
    all.extend(runtime::migrations());
    all.extend(automation::migrations());
    all
}

/// Open the database and bring its schema up to date.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(config).await?;
    let applied =
        kernel::migrate::run(&db, &migrations()).await.map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    tracing::info!(database = db.kind().as_str(), applied, "database ready");
    Ok(db)
}

struct ActiveSessions;

impl MetricsCollector for ActiveSessions {
    fn collect<'a>(&'a self, db: &'a Db) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            match foundation::sessions::count_active(db).await {
                Ok(n) => metrics::gauge!("socle_active_sessions").set(n as f64),
                Err(e) => tracing::warn!(error = %e, "could not count active sessions"),
            }
        })
    }
}

struct JobCounts;

impl MetricsCollector for JobCounts {
    fn collect<'a>(&'a self, db: &'a Db) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            match kernel::jobs::admin::state_counts(db).await {
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

/// A built, bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    db: Db,
    mailer: Mailer,
    foundation: FoundationState,
    runtime: runtime::RuntimeState,
    automation: automation::AutomationState,
    config: Arc<Config>,
    rate_limiter: Option<Arc<RateLimiter>>,
    prometheus: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let config = Arc::new(config);
        let db = open_database(&config).await?;
        let listener = TcpListener::bind(&config.bind).await?;
        Self::with_parts(config, db, listener).await
    }

    pub async fn with_parts(config: Arc<Config>, db: Db, listener: TcpListener) -> anyhow::Result<Self> {
        insights::process::init();
        let prometheus = insights::metrics_http::install();
        let mailer = Mailer::from_config(&config)?;
        let secret = secrets::jwt_secret(&config)?;
        let foundation = FoundationState::new(db.clone(), config.clone(), mailer.clone(), &secret);
        let runtime_state = runtime::RuntimeState::new(db.clone(), foundation.clone(), &secret);
        let runtime_state_for_run = runtime_state.clone();
        let automation = automation::AutomationState::new(
            db.clone(),
            config.clone(),
            foundation.clone(),
            runtime_state.clone(),
            &secret,
        );
        let insights =
            InsightsState::new(db.clone(), prometheus.clone(), vec![Arc::new(ActiveSessions), Arc::new(JobCounts)]);
        let rl = &config.rate_limit;
        let rate_limiter = (rl.global_per_minute > 0)
            .then(|| Arc::new(RateLimiter::new(rl.global_per_minute, Duration::from_secs(60), rl.global_burst)));
        let edge = EdgeState {
            proxies: Arc::new(proxy::TrustedProxies::parse(&config.trusted_proxies).map_err(|e| anyhow::anyhow!(e))?),
            cors: Arc::new(cors::CorsPolicy::new(&config.cors_allowed_origins)),
            request_timeout: Duration::from_secs(config.request_timeout_secs.max(1)),
            rate_limiter: rate_limiter.clone(),
            foundation: foundation.clone(),
        };

        let (api, spec) = if config.runs("api") {
            OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
                .nest("/api/v1", foundation::router(foundation.clone()))
                .nest("/api/v1", studio::router(studio::StudioState::new(db.clone())))
                .nest("/api/v1", runtime::router(runtime_state.clone()))
                .nest("/api/v1", automation::router(automation.clone()))
                .merge(insights::router(insights))
                .split_for_parts()
        } else {
            // A worker or scheduler process answers health and metrics only.
            OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()).merge(insights::router(insights)).split_for_parts()
        };
        let spec_json = Arc::new(serde_json::to_string(&spec)?);
        let mut router = api
            .route(
                "/api/openapi.json",
                axum::routing::get(move || {
                    let body = spec_json.clone();
                    async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], body.as_str().to_owned()) }
                }),
            )
            .merge(SwaggerUi::new("/api/docs").url("/api/docs/openapi.json", spec));
        if config.runs("api") {
            router = router.merge(runtime::app_router(runtime_state));
        }
        let router = router
            .route_layer(route_label::RouteLabelLayer)
            .fallback(|| async { Error::NotFound("no such endpoint".into()) })
            .layer(DefaultBodyLimit::max(config.body_limit_bytes))
            .layer(CompressionLayer::new())
            .layer(axum::middleware::from_fn_with_state(edge, middleware::edge))
            .layer(CatchPanicLayer::custom(middleware::panic_response));
        Ok(Self {
            listener,
            router,
            db,
            mailer,
            foundation,
            runtime: runtime_state_for_run,
            automation,
            config,
            rate_limiter,
            prometheus,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Foundation's state, for tools and tests that call its services directly.
    pub fn foundation(&self) -> FoundationState {
        self.foundation.clone()
    }

    /// The job worker with every module's job kinds.
    pub fn worker(&self) -> kernel::jobs::Worker {
        let mut registry = kernel::jobs::Registry::new();
        registry.register(kernel::mail::JOB_KIND, self.mailer.clone());
        automation::register_jobs(&mut registry, &self.automation);
        kernel::jobs::Worker::new(
            self.db.clone(),
            registry,
            kernel::jobs::WorkerOptions {
                concurrency: self.config.jobs.concurrency.max(1),
                poll: Duration::from_millis(self.config.jobs.poll_ms.max(50)),
                queues: self.config.jobs.queues.clone(),
                ..Default::default()
            },
        )
    }

    /// Automation's state, for tests that call its services directly.
    pub fn automation(&self) -> automation::AutomationState {
        self.automation.clone()
    }

    /// Serve until `shutdown` resolves, then let in-flight requests finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut background = Vec::new();
        if self.config.runs("worker") {
            background.push(tokio::spawn(self.worker().run(stop_rx.clone())));
            let listeners = automation::listeners(&self.automation);
            let dispatcher = kernel::outbox::Dispatcher::new(self.db.clone(), listeners)
                .poll(Duration::from_millis(self.config.jobs.poll_ms.max(50)));
            background.push(tokio::spawn(dispatcher.run(stop_rx.clone())));
        }
        if self.config.runs("scheduler") {
            if let Err(e) = automation::maintenance::ensure_schedules(&self.db).await {
                tracing::warn!(error = %e, "could not create the maintenance schedules");
            }
            background.push(tokio::spawn(automation::scheduler::run(self.db.clone(), stop_rx.clone())));
        }
        background.push(tokio::spawn(janitor(self.foundation.clone(), self.rate_limiter.clone(), stop_rx.clone())));
        background.push(tokio::spawn(runtime::realtime::listen(self.runtime.clone(), stop_rx.clone())));
        background.push(tokio::spawn(self.automation.live.clone().listen(self.db.clone(), stop_rx.clone())));
        background.push(tokio::spawn(metrics_upkeep(self.prometheus.clone(), stop_rx)));
        let service = middleware::service(self.router);
        // Answers are small and complete: send them at once instead of waiting on Nagle.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        axum::serve(listener, service).with_graceful_shutdown(shutdown).await?;
        tracing::info!("HTTP server stopped; stopping workers");
        let _ = stop_tx.send(true);
        for task in background {
            let _ = task.await;
        }
        self.db.close().await;
        Ok(())
    }
}

/// Fold recorded histogram samples into their buckets every few seconds. Without it the
/// exporter keeps every sample until the next scrape: memory grows with traffic when
/// nobody scrapes `/metrics` (measured: +60 MiB after a few million requests).
async fn metrics_upkeep(
    handle: Option<metrics_exporter_prometheus::PrometheusHandle>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(handle) = handle else { return };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => handle.run_upkeep(),
            _ = stop.changed() => return,
        }
    }
}

/// Per-process housekeeping: forget idle rate-limit keys. (Database maintenance is
/// scheduled: `automation::maintenance`.)
async fn janitor(foundation: FoundationState, limiter: Option<Arc<RateLimiter>>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = stop.changed() => return,
        }
        foundation.limits.retain_recent();
        if let Some(l) = &limiter {
            l.retain_recent();
        }
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
