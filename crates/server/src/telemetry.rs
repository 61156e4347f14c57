//! The help text of the metrics this crate records (HTTP traffic, the global rate limit).
//! Each module describes its own in its constructor, after Insights (first in
//! [`crate::MODULES`]) has installed the recorder, so that every family on `/metrics` has its
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
}
