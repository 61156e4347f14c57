//! Listing and revoking sessions.

use serde_json::json;

use crate::on_both_databases;
use crate::support::{PASSWORD, TestApp};

on_both_databases!(sessions_are_listed_and_revocable);

async fn sessions_are_listed_and_revocable(app: TestApp) {
    let first = app.signup("nina@example.com").await;
    let second = app
        .client
        .post(app.url("/api/v1/foundation/auth/login"))
        .header("user-agent", "SocleTest/2.0 (phone)")
        .json(&json!({"email": "nina@example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    let second = TestApp::read(second).await.expect(200);
    let second_access = second.body["access_token"].as_str().expect("token").to_string();
    let third = app.login("nina@example.com", PASSWORD).await;

    let list = app.get("/api/v1/foundation/users/me/sessions", Some(&first.access)).await.expect(200);
    let sessions = list.body.as_array().expect("array").clone();
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(sessions.iter().any(|s| s["user_agent"] == "SocleTest/2.0 (phone)"));
    assert!(sessions.iter().all(|s| s["ip"] == "127.0.0.1" && s["created_at"].is_string()));

    // Revoke the phone session from the first one.
    let phone_id = sessions
        .iter()
        .find(|s| s["user_agent"] == "SocleTest/2.0 (phone)")
        .and_then(|s| s["id"].as_str())
        .expect("id")
        .to_string();
    app.delete(&format!("/api/v1/foundation/users/me/sessions/{phone_id}"), Some(&first.access)).await.expect(204);
    app.get("/api/v1/foundation/users/me", Some(&second_access)).await.expect(401);
    app.delete(&format!("/api/v1/foundation/users/me/sessions/{phone_id}"), Some(&first.access)).await.expect(404);

    // Someone else cannot revoke my sessions, nor see them.
    let other = app.signup("oscar@example.com").await;
    let mine: Vec<String> = app
        .get("/api/v1/foundation/users/me/sessions", Some(&first.access))
        .await
        .body
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|s| s["id"].as_str().map(String::from))
        .collect();
    app.delete(&format!("/api/v1/foundation/users/me/sessions/{}", mine[0]), Some(&other.access)).await.expect(404);
    app.delete("/api/v1/foundation/users/me/sessions/not-an-id", Some(&other.access)).await.expect(404);
    let theirs = app.get("/api/v1/foundation/users/me/sessions", Some(&other.access)).await.expect(200);
    assert_eq!(theirs.body.as_array().map(Vec::len), Some(1));

    // Revoke all the others.
    let r = app
        .post("/api/v1/foundation/users/me/sessions/revoke-others", Some(&first.access), json!({}))
        .await
        .expect(200);
    assert_eq!(r.body["revoked"], 1);
    app.get("/api/v1/foundation/users/me", Some(&third.access)).await.expect(401);
    app.get("/api/v1/foundation/users/me", Some(&first.access)).await.expect(200);
    app.get("/api/v1/foundation/users/me/sessions", None).await.expect(401);
    assert!(app.audit_actions().await.iter().any(|a| a == "SESSION_REVOKED"));
}
