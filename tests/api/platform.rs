//! Server basics: health, version, metrics, request ids, headers, limits, OpenAPI.

use serde_json::json;

use crate::on_both_databases;
use crate::support::{Backend, TestApp};

on_both_databases!(
    health_version_and_liveness,
    metrics_are_exposed,
    request_ids_are_generated_and_propagated,
    errors_are_problem_documents,
    paths_with_a_trailing_slash_answer_as_without_it
);

async fn health_version_and_liveness(app: TestApp) {
    let health = app.get("/health", None).await.expect(200);
    assert_eq!(health.body["status"], "ok");
    assert_eq!(health.body["database"]["status"], "ok");
    assert_eq!(app.get("/healthz", None).await.expect(200).body["status"], "ok");
    let version = app.get("/version", None).await.expect(200);
    assert_eq!(version.body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        version.body["database"],
        match app.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    );
    assert!(version.body["git_commit"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(version.body["build_time"].as_str().is_some_and(|t| t.contains('T')));
}

async fn metrics_are_exposed(app: TestApp) {
    let session = app.signup("metrics@example.com").await;
    app.get("/api/v1/foundation/users/me", Some(&session.access)).await.expect(200);
    let _ = app
        .post(
            "/api/v1/foundation/auth/login",
            None,
            json!({"email": "metrics@example.com", "password": "Wrong-password-1"}),
        )
        .await;
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
    let resp = app
        .client
        .get(app.url("/api/v1/foundation/users/me"))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .expect("send");
    let resp = TestApp::read(resp).await.expect(401);
    assert_eq!(resp.header("x-request-id"), Some("trace-abc-123"));
    assert_eq!(resp.body["request_id"], "trace-abc-123", "the problem names the request");
    // A hostile id is replaced, not echoed.
    let resp =
        app.client.get(app.url("/healthz")).header("x-request-id", "bad id <script>").send().await.expect("send");
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

crate::on_both_backends!(
    health_reports_a_dead_database_with_503,
    cors_follows_the_allowlist,
    oversized_bodies_are_413,
    global_rate_limit_answers_429,
    hsts_only_behind_tls,
    in_flight_requests_finish_on_shutdown,
    slow_requests_time_out_with_408,
);
on_both_databases!(openapi_documents_every_endpoint);

async fn health_reports_a_dead_database_with_503(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.get("/health", None).await.expect(200);
    app.db.close().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let down = app.get("/health", None).await.expect(503);
    assert_eq!(down.body["status"], "unavailable");
    assert_eq!(down.body["database"]["status"], "unavailable");
    assert!(down.body["database"]["error"].is_string());
    app.get("/healthz", None).await.expect(200);
}

async fn cors_follows_the_allowlist(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.cors_allowed_origins = vec!["https://app.example".into()]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/foundation/auth/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,authorization")
            .send()
    };
    let allowed = preflight("https://app.example").await.expect("preflight");
    assert_eq!(
        allowed.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()),
        Some("https://app.example")
    );
    assert!(
        allowed
            .headers()
            .get("access-control-allow-methods")
            .is_some_and(|m| m.to_str().is_ok_and(|m| m.contains("POST")))
    );
    assert!(
        allowed
            .headers()
            .get("access-control-allow-headers")
            .is_some_and(|h| h.to_str().is_ok_and(|h| h.contains("authorization")))
    );
    let denied = preflight("https://evil.example").await.expect("preflight");
    assert!(denied.headers().get("access-control-allow-origin").is_none());
    // Simple requests: the allowed origin is echoed with the exposed headers; others get nothing.
    let simple = app.client.get(app.url("/healthz")).header("origin", "https://app.example").send().await.expect("get");
    assert_eq!(
        simple.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()),
        Some("https://app.example")
    );
    assert!(
        simple
            .headers()
            .get("access-control-expose-headers")
            .is_some_and(|v| v.to_str().is_ok_and(|v| v.contains("x-request-id")))
    );
    assert!(simple.headers().get_all("vary").iter().any(|v| v == "origin"));
    let other = app.client.get(app.url("/healthz")).header("origin", "https://evil.example").send().await.expect("get");
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

async fn slow_requests_time_out_with_408(backend: Backend) {
    let app = TestApp::spawn_with_modules(backend, |c| c.request_timeout_secs = 1, &[&crate::hold::MODULE]).await;
    // The handler waits until released, which this test never does: the only answer the
    // server can give is the timeout's.
    let key = uuid::Uuid::new_v4().to_string();
    let started = std::time::Instant::now();
    let r = app.get(&format!("/api/v1/test/hold/{key}"), None).await.expect(408);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "answered before the timeout");
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert!(r.body["request_id"].is_string());
    crate::hold::hold(&key).release();
}

async fn oversized_bodies_are_413(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.body_limit_bytes = 1024).await;
    let big = json!({"email": "a@example.com", "password": "x".repeat(4096)});
    let r = app.post("/api/v1/foundation/auth/login", None, big).await.expect(413);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    app.post("/api/v1/foundation/auth/login", None, json!({"email": "a@example.com", "password": "Small-enough-1"}))
        .await
        .expect(401);
}

async fn global_rate_limit_answers_429(backend: Backend) {
    // One request a minute past the burst: the eight requests would have to take minutes,
    // not the four seconds that 60 a minute allowed, for the bucket to refill in between.
    let mut app = TestApp::spawn_with(backend, |c| {
        c.rate_limit.global_per_minute = 1;
        c.rate_limit.global_burst = 4;
    })
    .await;
    // A client on the server's own machine is not limited.
    for _ in 0..8 {
        let local = app.get("/healthz", None).await.expect(200);
        assert!(local.header("ratelimit-limit").is_none());
    }
    // Whatever came through a proxy is, even a client that claims to be local.
    app.as_remote_client("127.0.0.1");
    let mut claimed = Vec::new();
    for _ in 0..8 {
        claimed.push(app.get("/healthz", None).await.status);
    }
    assert!(claimed.contains(&429), "{claimed:?}");
    // A remote client named by a proxy on the machine has a budget of its own.
    app.as_remote_client("203.0.113.9");
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(app.get("/healthz", None).await);
    }
    assert!(statuses[0].header("ratelimit-limit").is_some() && statuses[0].header("ratelimit-remaining").is_some());
    let limited = statuses.into_iter().find(|r| r.status == 429).expect("a 429 within 8 requests");
    assert!(limited.header("retry-after").and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| s >= 1));
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    assert_eq!(limited.header("content-type"), Some("application/problem+json"));
}

async fn hsts_only_behind_tls(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.trusted_proxies = vec!["127.0.0.1".into()]).await;
    let tls = app.client.get(app.url("/healthz")).header("x-forwarded-proto", "https").send().await.expect("send");
    assert!(tls.headers().get("strict-transport-security").is_some());
    let plain = app.client.get(app.url("/healthz")).send().await.expect("send");
    assert!(plain.headers().get("strict-transport-security").is_none());
    // Behind a trusted proxy the client address comes from X-Forwarded-For.
    let s = app.signup("proxied@example.com").await;
    let resp = app
        .client
        .get(app.url("/api/v1/foundation/users/me/sessions"))
        .bearer_auth(&s.access)
        .header("x-forwarded-for", "203.0.113.9, 10.0.0.1")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let login = app
        .client
        .post(app.url("/api/v1/foundation/auth/login"))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({"email": "proxied@example.com", "password": crate::support::PASSWORD}))
        .send()
        .await
        .expect("login");
    let token = TestApp::read(login).await.expect(200).body["access_token"].as_str().expect("token").to_string();
    let sessions = app.get("/api/v1/foundation/users/me/sessions", Some(&token)).await.expect(200);
    assert!(sessions.body.as_array().expect("sessions").iter().any(|s| s["ip"] == "203.0.113.9"));
    assert!(!sessions.body.to_string().contains("6.6.6.6"), "a client cannot choose its address");
}

async fn in_flight_requests_finish_on_shutdown(backend: Backend) {
    let app = TestApp::spawn_with_modules(backend, |_| {}, &[&crate::hold::MODULE]).await;
    let key = uuid::Uuid::new_v4().to_string();
    let hold = crate::hold::hold(&key);
    let in_flight = tokio::spawn(app.client.get(app.url(&format!("/api/v1/test/hold/{key}"))).send());
    hold.entered().await;
    let base = app.base.clone();
    let stopping = tokio::spawn(app.stop());
    // Shutdown has begun once the server no longer accepts connections.
    let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
    let mut closed = false;
    for _ in 0..400 {
        if fresh.get(format!("{base}/healthz")).send().await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(closed, "the server kept listening after shutdown began");
    assert!(!stopping.is_finished(), "shutdown did not wait for the request in flight");
    hold.release();
    let answer = in_flight.await.expect("join").expect("the request in flight was answered");
    assert_eq!(answer.status().as_u16(), 200);
    stopping.await.expect("shutdown finished");
}

async fn openapi_documents_every_endpoint(app: TestApp) {
    let spec = app.get("/api/openapi.json", None).await.expect(200);
    assert!(spec.body["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")));
    let paths = spec.body["paths"].as_object().expect("paths");
    let expected = [
        ("post", "/api/v1/foundation/auth/register"),
        ("post", "/api/v1/foundation/auth/activate"),
        ("post", "/api/v1/foundation/auth/resend-activation"),
        ("post", "/api/v1/foundation/auth/login"),
        ("post", "/api/v1/foundation/auth/refresh"),
        ("post", "/api/v1/foundation/auth/logout"),
        ("post", "/api/v1/foundation/auth/request-password-reset"),
        ("post", "/api/v1/foundation/auth/reset-password"),
        ("post", "/api/v1/foundation/auth/mfa"),
        ("post", "/api/v1/foundation/auth/sign-in-code"),
        ("post", "/api/v1/foundation/auth/sign-in-code/verify"),
        ("get", "/api/v1/foundation/auth/oauth2/providers"),
        ("post", "/api/v1/foundation/auth/oauth2/{provider}/start"),
        ("post", "/api/v1/foundation/auth/oauth2/{provider}/callback"),
        ("get", "/api/v1/foundation/users/me"),
        ("patch", "/api/v1/foundation/users/me"),
        ("delete", "/api/v1/foundation/users/me"),
        ("post", "/api/v1/foundation/users/me/password"),
        ("get", "/api/v1/foundation/users/me/export"),
        ("get", "/api/v1/foundation/users/me/sessions"),
        ("delete", "/api/v1/foundation/users/me/sessions/{id}"),
        ("post", "/api/v1/foundation/users/me/sessions/revoke-others"),
        ("get", "/api/v1/foundation/users/me/mfa"),
        ("post", "/api/v1/foundation/users/me/mfa/totp"),
        ("post", "/api/v1/foundation/users/me/mfa/totp/confirm"),
        ("post", "/api/v1/foundation/users/me/mfa/totp/disable"),
        ("post", "/api/v1/foundation/users/me/mfa/recovery-codes"),
        ("get", "/api/v1/foundation/users/me/identities"),
        ("delete", "/api/v1/foundation/users/me/identities/{provider}"),
        ("post", "/api/v1/payments/checkout"),
        ("post", "/api/v1/payments/methods/setup"),
        ("get", "/api/v1/payments/methods"),
        ("post", "/api/v1/payments/methods/{id}/default"),
        ("delete", "/api/v1/payments/methods/{id}"),
        ("get", "/api/v1/payments"),
        ("get", "/api/v1/payments/{id}"),
        ("post", "/api/v1/payments/{id}/refund"),
        ("post", "/api/v1/payments/webhooks/{provider}"),
        ("get", "/api/v1/payments/sandbox/checkout/{id}"),
        ("post", "/api/v1/payments/sandbox/checkout/{id}"),
        ("get", "/api/v1/payments/paypal/return"),
        ("get", "/api/v1/payments/paypal/cancel"),
        ("get", "/api/v1/payments/cinetpay/return"),
        ("post", "/api/v1/payments/cinetpay/return"),
        ("get", "/api/v1/billing/plans"),
        ("get", "/api/v1/billing/me"),
        ("get", "/api/v1/billing/usage"),
        ("get", "/api/v1/billing/profile"),
        ("put", "/api/v1/billing/profile"),
        ("post", "/api/v1/billing/subscribe"),
        ("post", "/api/v1/billing/cancel"),
        ("put", "/api/v1/admin/billing/plans/{code}"),
        ("get", "/api/v1/admin/billing/invoices"),
        ("put", "/api/v1/admin/billing/invoices/{id}/status"),
        ("post", "/api/v1/admin/billing/invoices/{id}/resend"),
        ("get", "/api/v1/admin/billing/revenue"),
        ("get", "/api/v1/marketplace/items"),
        ("post", "/api/v1/marketplace/items"),
        ("get", "/api/v1/marketplace/items/{id}"),
        ("post", "/api/v1/marketplace/items/{id}/purchase"),
        ("post", "/api/v1/marketplace/items/{id}/install"),
        ("get", "/api/v1/marketplace/items/{id}/reviews"),
        ("post", "/api/v1/marketplace/items/{id}/reviews"),
        ("get", "/api/v1/marketplace/seller"),
        ("get", "/api/v1/admin/marketplace/items"),
        ("post", "/api/v1/admin/marketplace/items/{id}/approve"),
        ("post", "/api/v1/admin/marketplace/items/{id}/reject"),
        ("post", "/api/v1/assistant/generate/page"),
        ("post", "/api/v1/assistant/generate/component"),
        ("post", "/api/v1/assistant/generate/collection"),
        ("post", "/api/v1/assistant/suggest"),
        ("post", "/api/v1/assistant/chat"),
        ("post", "/api/v1/assistant/coach"),
        ("post", "/api/v1/assistant/search"),
        ("post", "/api/v1/exports"),
        ("get", "/api/v1/exports"),
        ("get", "/api/v1/exports/{id}"),
        ("get", "/api/v1/exports/{id}/download"),
        ("post", "/api/v1/files"),
        ("get", "/api/v1/files"),
        ("get", "/api/v1/files/{id}"),
        ("patch", "/api/v1/files/{id}"),
        ("delete", "/api/v1/files/{id}"),
        ("get", "/api/v1/files/{id}/content"),
        ("get", "/api/v1/foundation/verification/{organization_id}"),
        ("post", "/api/v1/foundation/verification/{organization_id}"),
        ("get", "/api/v1/foundation/verification/{organization_id}/documents/{document_id}"),
        ("get", "/api/v1/admin/verifications"),
        ("get", "/api/v1/admin/organizations"),
        ("get", "/api/v1/admin/projects"),
        ("get", "/api/v1/admin/apps"),
        ("get", "/api/v1/admin/activity"),
        ("post", "/api/v1/foundation/users/me/email"),
        ("post", "/api/v1/foundation/auth/confirm-email-change"),
        ("get", "/api/v1/admin/verifications/{organization_id}"),
        ("post", "/api/v1/admin/verifications/{organization_id}/decision"),
        ("get", "/api/v1/billing/invoices"),
        ("get", "/api/v1/billing/invoices/{id}"),
        ("get", "/api/v1/billing/invoices/{id}/pdf"),
        ("post", "/api/v1/foundation/api-keys"),
        ("get", "/api/v1/foundation/api-keys"),
        ("delete", "/api/v1/foundation/api-keys/{id}"),
        ("post", "/api/v1/foundation/organizations"),
        ("get", "/api/v1/foundation/organizations"),
        ("get", "/api/v1/foundation/organizations/{id}"),
        ("patch", "/api/v1/foundation/organizations/{id}"),
        ("delete", "/api/v1/foundation/organizations/{id}"),
        ("get", "/api/v1/foundation/organizations/{id}/members"),
        ("patch", "/api/v1/foundation/organizations/{id}/members/{user_id}"),
        ("delete", "/api/v1/foundation/organizations/{id}/members/{user_id}"),
        ("post", "/api/v1/foundation/organizations/{id}/leave"),
        ("post", "/api/v1/foundation/organizations/{id}/transfer-ownership"),
        ("post", "/api/v1/foundation/organizations/{id}/invitations"),
        ("get", "/api/v1/foundation/organizations/{id}/invitations"),
        ("delete", "/api/v1/foundation/organizations/{id}/invitations/{invitation_id}"),
        ("post", "/api/v1/foundation/organizations/invitations/accept"),
        ("get", "/api/v1/foundation/organizations/{id}/audit"),
        ("get", "/api/v1/admin/users"),
        ("get", "/api/v1/admin/users/stats"),
        ("get", "/api/v1/admin/users/{id}"),
        ("patch", "/api/v1/admin/users/{id}"),
        ("delete", "/api/v1/admin/users/{id}"),
        ("put", "/api/v1/admin/users/{id}/role"),
        ("put", "/api/v1/admin/users/{id}/status"),
        ("get", "/api/v1/admin/users/{id}/sessions"),
        ("delete", "/api/v1/admin/users/{id}/sessions/{session_id}"),
        ("post", "/api/v1/admin/users/{id}/sessions/revoke-all"),
        ("get", "/api/v1/admin/audit"),
        ("get", "/api/v1/admin/audit/stats"),
        ("get", "/api/v1/admin/audit/export"),
        ("delete", "/api/v1/admin/audit/cleanup"),
        ("get", "/api/v1/studio/projects"),
        ("post", "/api/v1/studio/projects"),
        ("post", "/api/v1/studio/projects/import"),
        ("get", "/api/v1/studio/projects/{id}"),
        ("patch", "/api/v1/studio/projects/{id}"),
        ("delete", "/api/v1/studio/projects/{id}"),
        ("post", "/api/v1/studio/projects/{id}/restore"),
        ("post", "/api/v1/studio/projects/{id}/duplicate"),
        ("put", "/api/v1/studio/projects/{id}/favorite"),
        ("delete", "/api/v1/studio/projects/{id}/favorite"),
        ("get", "/api/v1/studio/projects/{id}/share-links"),
        ("post", "/api/v1/studio/projects/{id}/share-links"),
        ("delete", "/api/v1/studio/projects/{id}/share-links/{link_id}"),
        ("get", "/api/v1/studio/projects/{id}/export"),
        ("get", "/api/v1/studio/projects/{id}/pages"),
        ("post", "/api/v1/studio/projects/{id}/pages"),
        ("get", "/api/v1/studio/projects/{id}/pages/{page_id}"),
        ("patch", "/api/v1/studio/projects/{id}/pages/{page_id}"),
        ("delete", "/api/v1/studio/projects/{id}/pages/{page_id}"),
        ("get", "/api/v1/studio/projects/{id}/pages/{page_id}/versions"),
        ("get", "/api/v1/studio/projects/{id}/pages/{page_id}/versions/{version}"),
        ("post", "/api/v1/studio/projects/{id}/pages/{page_id}/versions/{version}/restore"),
        ("get", "/api/v1/studio/projects/{id}/pages/{page_id}/diff"),
        ("get", "/api/v1/studio/projects/{id}/collections"),
        ("post", "/api/v1/studio/projects/{id}/collections"),
        ("post", "/api/v1/studio/projects/{id}/add_table"),
        ("post", "/api/v1/studio/projects/{id}/collections/import"),
        ("get", "/api/v1/studio/projects/{id}/collections/migrations"),
        ("get", "/api/v1/studio/projects/{id}/collections/{collection}"),
        ("patch", "/api/v1/studio/projects/{id}/collections/{collection}"),
        ("delete", "/api/v1/studio/projects/{id}/collections/{collection}"),
        ("get", "/api/v1/studio/components"),
        ("post", "/api/v1/studio/components"),
        ("get", "/api/v1/studio/components/{id}"),
        ("patch", "/api/v1/studio/components/{id}"),
        ("delete", "/api/v1/studio/components/{id}"),
        ("get", "/api/v1/studio/share/{token}"),
        ("get", "/api/v1/studio/schema/page.json"),
        ("get", "/api/v1/runtime/apps"),
        ("post", "/api/v1/runtime/apps"),
        ("get", "/api/v1/runtime/apps/{id}"),
        ("delete", "/api/v1/runtime/apps/{id}"),
        ("post", "/api/v1/runtime/apps/{id}/deploy"),
        ("post", "/api/v1/runtime/apps/{id}/rollback"),
        ("get", "/api/v1/runtime/apps/{id}/deployments"),
        ("get", "/api/v1/automation/webhooks"),
        ("post", "/api/v1/automation/webhooks"),
        ("get", "/api/v1/automation/webhooks/{id}"),
        ("patch", "/api/v1/automation/webhooks/{id}"),
        ("delete", "/api/v1/automation/webhooks/{id}"),
        ("get", "/api/v1/automation/webhooks/{id}/deliveries"),
        ("post", "/api/v1/automation/webhooks/{id}/deliveries/{delivery_id}/redeliver"),
        ("get", "/api/v1/automation/workflows"),
        ("post", "/api/v1/automation/workflows"),
        ("get", "/api/v1/automation/workflows/{id}"),
        ("patch", "/api/v1/automation/workflows/{id}"),
        ("delete", "/api/v1/automation/workflows/{id}"),
        ("get", "/api/v1/automation/workflows/{id}/versions"),
        ("post", "/api/v1/automation/workflows/{id}/execute"),
        ("get", "/api/v1/automation/workflows/{id}/executions"),
        ("get", "/api/v1/automation/executions/{id}"),
        ("post", "/api/v1/automation/executions/{id}/cancel"),
        ("post", "/api/v1/automation/executions/{id}/retry"),
        ("post", "/api/v1/automation/executions/{id}/rerun"),
        ("get", "/api/v1/automation/projects/{project_id}/secrets"),
        ("put", "/api/v1/automation/projects/{project_id}/secrets/{name}"),
        ("delete", "/api/v1/automation/projects/{project_id}/secrets/{name}"),
        ("post", "/api/v1/automation/hooks/{token}"),
        ("get", "/api/v1/automation/schema/workflow.json"),
        ("get", "/api/v1/notifications"),
        ("get", "/api/v1/notifications/unread-count"),
        ("post", "/api/v1/notifications/read-all"),
        ("get", "/api/v1/notifications/preferences"),
        ("put", "/api/v1/notifications/preferences"),
        ("post", "/api/v1/notifications/{id}/read"),
        ("delete", "/api/v1/notifications/{id}"),
        ("get", "/api/v1/admin/jobs/queues"),
        ("get", "/api/v1/admin/jobs"),
        ("get", "/api/v1/admin/jobs/{id}"),
        ("post", "/api/v1/admin/jobs/{id}/retry"),
        ("post", "/api/v1/admin/jobs/{id}/discard"),
        ("get", "/api/v1/admin/emails"),
        ("get", "/api/v1/admin/email-templates"),
        ("get", "/api/v1/admin/email-templates/{key}"),
        ("put", "/api/v1/admin/email-templates/{key}"),
        ("delete", "/api/v1/admin/email-templates/{key}"),
        ("post", "/api/v1/admin/email-templates/{key}/preview"),
        ("get", "/api/v1/admin/notifications"),
        ("post", "/api/v1/admin/notifications"),
        ("get", "/api/v1/collab/pages/{page_id}"),
        ("get", "/api/v1/collab/pages/{page_id}/presence"),
        ("get", "/api/v1/collab/pages/{page_id}/replays"),
        ("get", "/api/v1/collab/pages/{page_id}/replays/{replay_id}"),
        ("get", "/api/v1/collab/pages/{page_id}/at"),
        ("post", "/api/v1/collab/pages/{page_id}/restore"),
        ("get", "/api/v1/collab/pages/{page_id}/history"),
        ("get", "/api/v1/admin/collab/replays"),
        ("delete", "/api/v1/admin/collab/replays/{replay_id}"),
        ("get", "/health"),
        ("get", "/healthz"),
        ("get", "/version"),
        ("get", "/metrics"),
    ];
    for (method, path) in expected {
        let op = &paths.get(path).unwrap_or_else(|| panic!("{path} is not documented"))[method];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert!(op["responses"].is_object(), "{method} {path} has no responses");
    }
    assert_eq!(
        paths.values().map(|p| p.as_object().map(|o| o.len()).unwrap_or(0)).sum::<usize>(),
        expected.len(),
        "no undocumented extras, no missing ones"
    );
    let schemes = &spec.body["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["name"], "X-API-Key");
    assert!(spec.body["components"]["schemas"]["TokenResponse"].is_object());
    // Large answers are compressed for clients that accept it.
    let gz = app.client.get(app.url("/api/openapi.json")).header("accept-encoding", "gzip").send().await.expect("gzip");
    assert_eq!(gz.headers().get("content-encoding").and_then(|v| v.to_str().ok()), Some("gzip"));
    let compressed = gz.bytes().await.expect("body").len();
    let plain = app.client.get(app.url("/api/openapi.json")).send().await.expect("plain");
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(compressed * 3 < plain.bytes().await.expect("body").len(), "gzip shrinks the document");
    let docs = app.client.get(app.url("/api/docs/")).send().await.expect("docs");
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.expect("html").contains("swagger"), "Swagger UI is served");
    // It loads the served document (the server keeps only its JSON, not a copy of its own).
    let init = app.client.get(app.url("/api/docs/swagger-initializer.js")).send().await.expect("initializer");
    assert_eq!(init.status(), 200);
    assert!(init.text().await.expect("js").contains("/api/docs/openapi.json"), "Swagger UI reads the served document");
}

/// The seeds write paths with a trailing slash (`/api/v1/foundation/auth/login/`): each
/// answers as the path without it, under the same route label; `/` stays `/`.
async fn paths_with_a_trailing_slash_answer_as_without_it(app: TestApp) {
    let (owner, _, _) = crate::runtime::blog(&app, "slash@example.com", "slash").await;
    let login = app
        .post(
            "/api/v1/foundation/auth/login/",
            None,
            json!({"email": "slash@example.com", "password": crate::support::PASSWORD}),
        )
        .await
        .expect(200);
    assert!(login.body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    let wrong = app
        .post(
            "/api/v1/foundation/auth/login/",
            None,
            json!({"email": "slash@example.com", "password": "Wrong-password-1"}),
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    app.get("/api/v1/foundation/users/me/", Some(&owner.access)).await.expect(200);
    app.post("/apps/slash/api/collections/posts/records", Some(&owner.access), json!({"title": "Slashed"}))
        .await
        .expect(200);
    let with = app.get("/apps/slash/api/collections/posts/records/?perPage=1", Some(&owner.access)).await.expect(200);
    let without = app.get("/apps/slash/api/collections/posts/records?perPage=1", Some(&owner.access)).await.expect(200);
    assert_eq!(with.body["totalItems"], 1);
    assert_eq!(with.body["items"], without.body["items"]);
    assert_eq!(with.body["perPage"], 1, "the query is kept");
    app.get("/healthz//", None).await.expect(200);
    assert_eq!(app.get("/", None).await.status, 404, "/ is not rewritten to anything else");
    let metrics = app.client.get(app.url("/metrics/")).send().await.expect("metrics");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.expect("text");
    assert!(text.contains(r#"route="/api/v1/foundation/auth/login",status="200""#), "{text}");
    assert!(text.contains(r#"route="/apps/{slug}/api/collections/{collection}/records",status="200""#), "{text}");
    assert!(!text.contains(r#"route="/api/v1/foundation/auth/login/""#));
    assert!(!text.contains(r#"records/""#));
}
