//! Insights: health, liveness, version and Prometheus metrics, and the requests and jobs
//! over time that the admin dashboard charts.

pub mod activity;
pub mod metrics_http;
pub mod process;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::time::Instant;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::module::{Collectors, Task};
use kernel::{Db, Deps, Module};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Insights' front door: health, liveness, version and metrics at the root (served by
/// every process, whatever its role), and the upkeep of the metrics recorder.
pub const MODULE: kernel::module::ModuleDef =
    kernel::module::ModuleDef { name: "insights", migrations: Vec::new, build: module };

fn module(deps: &mut Deps) -> anyhow::Result<Module> {
    process::init();
    let prometheus = metrics_http::install();
    metrics_http::describe();
    let state = InsightsState::new(deps.db.clone(), prometheus.clone(), deps.collectors.clone());
    let mut module = Module::new("insights").root(router(state));
    // Fold recorded histogram samples into their buckets every few seconds. Without it the
    // exporter keeps every sample until the next scrape: memory grows with traffic when
    // nobody scrapes `/metrics` (measured: +60 MiB after a few million requests).
    if let Some(handle) = prometheus {
        module =
            module.task(Task::every("metrics upkeep", std::time::Duration::from_secs(5), move || handle.run_upkeep()));
    }
    Ok(module)
}

/// Insights' admin part: requests and job attempts over time (`/api/v1/admin/activity`) and
/// the task that writes the request counts. It needs Foundation (the admin check), so it
/// comes after it, while [`MODULE`] comes first to install the metrics recorder.
pub const ACTIVITY: kernel::module::ModuleDef =
    kernel::module::ModuleDef { name: "insights activity", migrations, build: activity_module };

fn activity_module(deps: &mut Deps) -> anyhow::Result<Module> {
    let foundation = deps.get::<foundation::FoundationState>()?;
    let db = deps.db.clone();
    let router = OpenApiRouter::new().nest("/admin", activity::routes()).with_state(foundation);
    Ok(Module::new("insights activity")
        .api(router)
        .task(Task::always("request counts", move |stop| activity::flush_until_stopped(db, stop))))
}

pub fn migrations() -> Vec<kernel::migrate::Migration> {
    vec![kernel::migrate::Migration {
        module: "insights",
        version: 1,
        name: "request_activity",
        script: include_str!("../migrations/0001_request_activity.sql"),
    }]
}

/// Cheap to clone (one reference count).
#[derive(Clone)]
pub struct InsightsState(Arc<InsightsInner>);

pub struct InsightsInner {
    pub db: Db,
    pub prometheus: Option<PrometheusHandle>,
    /// Every module's gauges refreshed at each scrape.
    pub collectors: Collectors,
    health: HealthCache,
}

impl std::ops::Deref for InsightsState {
    type Target = InsightsInner;

    fn deref(&self) -> &InsightsInner {
        &self.0
    }
}

/// The database is probed at most once per second; concurrent health checks share the
/// answer, so load-balancer probes cannot load the database.
#[derive(Default)]
struct HealthCache {
    checked_at_ms: AtomicI64,
    /// 0 unknown, 1 up, 2 down.
    state: AtomicU8,
    latency_us: AtomicI64,
}

impl InsightsState {
    pub fn new(db: Db, prometheus: Option<PrometheusHandle>, collectors: Collectors) -> Self {
        Self(Arc::new(InsightsInner { db, prometheus, collectors, health: HealthCache::default() }))
    }
}

pub fn router(state: InsightsState) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(healthz))
        .routes(routes!(version))
        .routes(routes!(metrics))
        .with_state(state)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    pub database: Check,
}

/// Deep health: checks the database. 503 names the failing part.
#[utoipa::path(get, path = "/health", tag = "insights",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn health(State(state): State<InsightsState>) -> Response {
    let cache = &state.health;
    let now_ms = kernel::time::now().unix_timestamp_nanos() as i64 / 1_000_000;
    let fresh = now_ms - cache.checked_at_ms.load(Ordering::Relaxed) < 1000;
    let mut error = None;
    if !fresh || cache.state.load(Ordering::Relaxed) == 0 {
        let started = Instant::now();
        let outcome = state.db.ping().await;
        cache.latency_us.store(started.elapsed().as_micros() as i64, Ordering::Relaxed);
        cache.state.store(if outcome.is_ok() { 1 } else { 2 }, Ordering::Relaxed);
        cache.checked_at_ms.store(now_ms, Ordering::Relaxed);
        error = outcome.err().map(|e| format!("{e}"));
    }
    let up = cache.state.load(Ordering::Relaxed) == 1;
    let database = Check {
        status: if up { "ok".into() } else { "unavailable".into() },
        latency_ms: Some(cache.latency_us.load(Ordering::Relaxed) as f64 / 1000.0),
        error: if up { None } else { Some(error.unwrap_or_else(|| "the database did not answer".into())) },
    };
    let body = Health { status: if up { "ok".into() } else { "unavailable".into() }, database };
    let status = if up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

#[derive(Debug, Serialize, ToSchema)]
struct Liveness {
    status: &'static str,
}

/// Liveness: the process serves requests.
#[utoipa::path(get, path = "/healthz", tag = "insights", responses((status = 200, body = Liveness)))]
async fn healthz() -> axum::Json<Liveness> {
    axum::Json(Liveness { status: "ok" })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Version {
    pub name: &'static str,
    pub version: &'static str,
    pub git_commit: &'static str,
    /// RFC 3339 build time.
    pub build_time: String,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
}

/// Version, git commit, build time and database kind.
#[utoipa::path(get, path = "/version", tag = "insights", responses((status = 200, body = Version)))]
async fn version(State(state): State<InsightsState>) -> axum::Json<Version> {
    let epoch: i64 = env!("SOCLE_BUILD_EPOCH").parse().unwrap_or(0);
    let build_time = time::OffsetDateTime::from_unix_timestamp(epoch).map(kernel::time::rfc3339).unwrap_or_default();
    axum::Json(Version {
        name: "socle",
        version: env!("CARGO_PKG_VERSION"),
        git_commit: env!("SOCLE_GIT_COMMIT"),
        build_time,
        database: state.db.kind().as_str(),
    })
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "insights",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(State(state): State<InsightsState>) -> Response {
    let Some(handle) = &state.prometheus else {
        return (StatusCode::NOT_FOUND, "metrics are disabled").into_response();
    };
    let (size, idle, max) = state.db.pool_stats();
    metrics::gauge!("socle_db_pool_connections").set(f64::from(size));
    metrics::gauge!("socle_db_pool_idle_connections").set(f64::from(idle));
    metrics::gauge!("socle_db_pool_max_connections").set(f64::from(max));
    for collector in state.collectors.all() {
        collector.collect(&state.db).await;
    }
    let mut text = handle.render();
    if !text.is_empty() && !text.ends_with("\n\n") {
        text.push('\n');
    }
    text.push_str(&process::sample().render());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}
