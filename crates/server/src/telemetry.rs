//! The help text of every metric the server exposes: this crate's own (HTTP traffic, rate
//! limit, sessions, jobs) and each module's, so that every family on `/metrics` has its
//! `# HELP` (checked by `promtool check metrics` in the tests).

/// Describe every metric. Call after the recorder is installed (descriptions given before
/// are lost); describing again is harmless.
pub fn describe_metrics() {
    metrics::describe_counter!("http_requests_total", "HTTP requests answered, by method, route template and status.");
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer an HTTP request, by method, route template and status."
    );
    metrics::describe_counter!("socle_rate_limited_total", "Requests refused by a rate limit, by scope.");
    metrics::describe_gauge!("socle_active_sessions", "Platform sessions that are neither expired nor revoked.");
    metrics::describe_gauge!("socle_jobs", "Jobs in the queue, by state.");
    kernel::describe_metrics();
    foundation::describe_metrics();
    automation::describe_metrics();
    insights::metrics_http::describe();
}
