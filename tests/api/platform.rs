//! Server basics: health, version, metrics, request ids, headers, limits, OpenAPI.

use serde_json::json;

use crate::on_both_databases;
use crate::support::{Backend, TestApp};

on_both_databases!(health_version_and_liveness, metrics_are_exposed, request_ids_are_generated_and_propagated, errors_are_problem_documents);

async fn health_version_and_liveness(app: TestApp) {
    let health = app.get("/health", None).await.expect(200);
    assert_eq!(health.body["status"], "ok");
    assert_eq!(health.body["database"]["status"], "ok");
    assert_eq!(app.get("/healthz", None).await.expect(200).body["status"], "ok");
    let version = app.get("/version", None).await.expect(200);
    assert_eq!(version.body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(version.body["database"], match app.backend { Backend::Sqlite => "sqlite", Backend::Postgres => "postgres" });
    assert!(version.body["git_commit"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(version.body["build_time"].as_str().is_some_and(|t| t.contains('T')));
}

async fn metrics_are_exposed(app: TestApp) {
    let session = app.signup("metrics@example.com").await;
    app.get("/api/v1/foundation/users/me", Some(&session.access)).await.expect(200);
    let _ = app.post("/api/v1/foundation/auth/login", None, json!({"email": "metrics@example.com", "password": "Wrong-password-1"})).await;
    let resp = app.client.get(app.url("/metrics")).send().await.expect("metrics");
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("text");
    for needle in [
        "http_requests_total{method=\"GET\",route=\"/api/v1/foundation/users/me\",status=\"200\"}",
        "http_request_duration_seconds_bucket",
        "socle_logins_total{outcome=\"success\"}",
        "socle_logins_total{outcome=\"failure\"}",
        "socle_signups_total",
        "socle_active_sessions",
        "socle_db_pool_connections",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    ] {
        assert!(text.contains(needle), "metrics lack {needle}");
    }
}

async fn request_ids_are_generated_and_propagated(app: TestApp) {
    let generated = app.get("/healthz", None).await;
    let id = generated.header("x-request-id").expect("generated id").to_string();
    assert!(!id.is_empty());
    let resp = app.client.get(app.url("/api/v1/foundation/users/me")).header("x-request-id", "trace-abc-123").send().await.expect("send");
    let resp = TestApp::read(resp).await.expect(401);
    assert_eq!(resp.header("x-request-id"), Some("trace-abc-123"));
    assert_eq!(resp.body["request_id"], "trace-abc-123", "the problem names the request");
    // A hostile id is replaced, not echoed.
    let resp = app.client.get(app.url("/healthz")).header("x-request-id", "bad id <script>").send().await.expect("send");
    assert_ne!(resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("bad id <script>"));
}

async fn errors_are_problem_documents(app: TestApp) {
    let not_found = app.get("/api/v1/nothing-here", None).await.expect(404);
    assert_eq!(not_found.header("content-type"), Some("application/problem+json"));
    assert_eq!(not_found.body["status"], 404);
    let wrong_method = app.request(reqwest::Method::PUT, "/health", None, None).await.expect(405);
    assert_eq!(wrong_method.header("content-type"), Some("application/problem+json"));
    let headers = app.get("/healthz", None).await;
    assert_eq!(headers.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(headers.header("x-frame-options"), Some("DENY"));
    assert!(headers.header("content-security-policy").is_some_and(|v| v.contains("default-src 'none'")));
    assert_eq!(headers.header("referrer-policy"), Some("no-referrer"));
    assert!(headers.header("strict-transport-security").is_none(), "no HSTS over plain HTTP");
}
