//! The admin audit log: filters, statistics, CSV/JSON export, retention cleanup.

use serde_json::json;

use crate::on_both_databases;
use crate::support::TestApp;

const AUDIT: &str = "/api/v1/admin/audit";

on_both_databases!(audit_log_is_queryable_exportable_and_prunable, audit_entries_carry_context);

async fn audit_log_is_queryable_exportable_and_prunable(app: TestApp) {
    let admin = app.admin("auditor-in-chief@example.com").await;
    let user = app.signup("subject@example.com").await;
    let _ = app
        .post(
            "/api/v1/foundation/auth/login",
            None,
            json!({"email": "subject@example.com", "password": "Wrong-password-1"}),
        )
        .await;

    let all = app.get(AUDIT, Some(&admin.access)).await.expect(200);
    let total = all.body["total_items"].as_i64().expect("total");
    assert!(total >= 5);
    let items = all.body["items"].as_array().expect("items");
    let times: Vec<&str> = items.iter().filter_map(|e| e["created_at"].as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let failed = app.get(&format!("{AUDIT}?action=LOGIN_FAILED"), Some(&admin.access)).await.expect(200);
    assert_eq!(failed.body["total_items"], 1);
    assert_eq!(failed.body["items"][0]["severity"], "MEDIUM");
    assert_eq!(failed.body["items"][0]["actor_email"], "subject@example.com");
    let by_actor = app.get(&format!("{AUDIT}?actor_id={}", user.user_id), Some(&admin.access)).await.expect(200);
    assert!(by_actor.body["items"].as_array().expect("items").iter().all(|e| e["actor_id"] == user.user_id.as_str()));
    let high = app.get(&format!("{AUDIT}?severity=HIGH"), Some(&admin.access)).await.expect(200);
    assert!(high.body["items"].as_array().expect("items").iter().all(|e| e["severity"] == "HIGH"));
    let future = app.get(&format!("{AUDIT}?from=2999-01-01T00:00:00Z"), Some(&admin.access)).await.expect(200);
    assert_eq!(future.body["total_items"], 0);
    app.get(&format!("{AUDIT}?severity=APOCALYPTIC"), Some(&admin.access)).await.expect_field_error(422, "severity");
    app.get(&format!("{AUDIT}?from=yesterday"), Some(&admin.access)).await.expect_field_error(422, "from");

    let stats = app.get(&format!("{AUDIT}/stats"), Some(&admin.access)).await.expect(200);
    assert_eq!(stats.body["total"], total);
    assert_eq!(stats.body["by_action"]["LOGIN_FAILED"], 1);
    for level in ["LOW", "MEDIUM", "HIGH", "CRITICAL"] {
        assert!(stats.body["by_severity"][level].is_i64());
    }

    let csv = app
        .client
        .get(app.url(&format!("{AUDIT}/export?format=csv&action=LOGIN_FAILED")))
        .bearer_auth(&admin.access)
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().is_ok_and(|c| c.starts_with("text/csv")));
    assert!(csv.headers()["content-disposition"].to_str().is_ok_and(|c| c.contains("attachment")));
    let body = csv.text().await.expect("text");
    let lines: Vec<&str> = body.lines().collect();
    assert!(lines[0].starts_with("id,created_at,action,severity"));
    assert_eq!(lines.len(), 2);
    assert!(lines[1].contains("LOGIN_FAILED") && lines[1].contains("subject@example.com"));
    let json_export =
        app.get(&format!("{AUDIT}/export?format=json&action=LOGIN_FAILED"), Some(&admin.access)).await.expect(200);
    assert_eq!(json_export.body.as_array().map(Vec::len), Some(1));
    app.get(&format!("{AUDIT}/export?format=xml"), Some(&admin.access)).await.expect_field_error(422, "format");
    assert!(app.audit_actions().await.iter().any(|a| a == "ADMIN_ACCESS"), "exports are audited");

    // Retention: nothing is 30 days old; everything is older than a future horizon.
    let kept = app.delete(&format!("{AUDIT}/cleanup?older_than=30d"), Some(&admin.access)).await.expect(200);
    assert_eq!(kept.body["deleted"], 0);
    app.delete(&format!("{AUDIT}/cleanup?older_than=soon"), Some(&admin.access))
        .await
        .expect_field_error(422, "older_than");
    app.delete(&format!("{AUDIT}/cleanup"), Some(&admin.access)).await.expect_field_error(422, "older_than");
    // Found by schemathesis: a unit of more than one byte (`û`) made the parser panic (500).
    for odd in ["%C3%BB", "3%C3%BB", "%C3%BBd"] {
        app.delete(&format!("{AUDIT}/cleanup?older_than={odd}"), Some(&admin.access))
            .await
            .expect_field_error(422, "older_than");
    }
    let pruned =
        app.delete(&format!("{AUDIT}/cleanup?older_than=2999-01-01T00:00:00Z"), Some(&admin.access)).await.expect(200);
    assert!(pruned.body["deleted"].as_i64().is_some_and(|n| n >= total));
    assert_eq!(app.audit_actions().await, vec!["AUDIT_CLEANUP".to_string()], "the cleanup records itself");
}

async fn audit_entries_carry_context(app: TestApp) {
    let admin = app.admin("context@example.com").await;
    let resp = app
        .client
        .post(app.url("/api/v1/foundation/organizations"))
        .bearer_auth(&admin.access)
        .header("user-agent", "AuditProbe/1.0")
        .header("x-request-id", "req-audit-42")
        .json(&json!({"name": "Traced"}))
        .send()
        .await
        .expect("send");
    let org = TestApp::read(resp).await.expect(201).body["id"].as_str().expect("id").to_string();
    let entries = app.get(&format!("{AUDIT}?action=ORG_CREATED"), Some(&admin.access)).await.expect(200);
    let e = &entries.body["items"][0];
    assert_eq!(e["actor_id"], admin.user_id.as_str());
    assert_eq!(e["actor_email"], "context@example.com");
    assert_eq!(e["organization_id"], org.as_str());
    assert_eq!(e["target_type"], "organization");
    assert_eq!(e["target_id"], org.as_str());
    assert_eq!(e["ip"], "127.0.0.1");
    assert_eq!(e["user_agent"], "AuditProbe/1.0");
    assert_eq!(e["request_id"], "req-audit-42");
    assert_eq!(e["severity"], "LOW");
}
