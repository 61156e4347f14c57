//! The Prometheus recorder, installed once per process, and the help text of the metrics
//! this crate records.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process-wide recorder (installed on first call).
pub fn install() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_duration_seconds".into()), LATENCY_BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "could not install the metrics recorder");
                    None
                }
            }
        })
        .clone()
}

/// The `# HELP` of this crate's metrics (call after [`install`]; describing is idempotent).
pub fn describe() {
    metrics::describe_gauge!("socle_db_pool_connections", "Connections open in the database pool.");
    metrics::describe_gauge!("socle_db_pool_idle_connections", "Idle connections in the database pool.");
    metrics::describe_gauge!("socle_db_pool_max_connections", "Most connections the database pool may open.");
}
