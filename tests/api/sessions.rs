//! Listing and revoking sessions.

use serde_json::json;

use crate::on_both_databases;
use crate::support::{Backend, PASSWORD, TestApp};

const ORGS: &str = "/api/v1/foundation/organizations";
const ME: &str = "/api/v1/foundation/users/me";

on_both_databases!(
    sessions_are_listed_and_revocable,
    changes_to_sessions_and_memberships_hold_from_the_next_request,
    a_change_written_by_another_process_holds_within_a_second,
);

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

/// Session and membership checks are answered from memory between writes
/// (`kernel::recent`): each change below comes right after answers that were reused.
async fn changes_to_sessions_and_memberships_hold_from_the_next_request(app: TestApp) {
    let owner = app.signup("olga@example.com").await;
    let member = app.signup("mel@example.com").await;
    let org = app.organization(&owner, "Recent").await;
    app.add_member(&org, &owner, &member, "ADMIN").await;
    let audit = format!("{ORGS}/{org}/audit");
    for _ in 0..3 {
        app.get(&audit, Some(&member.access)).await.expect(200);
    }

    // Demoted: the admin-only page refuses at once, the organization still answers.
    app.patch(&format!("{ORGS}/{org}/members/{}", member.user_id), Some(&owner.access), json!({"role": "MEMBER"}))
        .await
        .expect(204);
    app.get(&audit, Some(&member.access)).await.expect(403);
    for _ in 0..3 {
        app.get(&format!("{ORGS}/{org}"), Some(&member.access)).await.expect(200);
    }

    // Removed: the organization is gone for them at once.
    app.delete(&format!("{ORGS}/{org}/members/{}", member.user_id), Some(&owner.access)).await.expect(204);
    app.get(&format!("{ORGS}/{org}"), Some(&member.access)).await.expect(404);

    // Signed out from another session: refused at once.
    for _ in 0..3 {
        app.get(ME, Some(&member.access)).await.expect(200);
    }
    let other = app.login("mel@example.com", PASSWORD).await;
    app.post(&format!("{ME}/sessions/revoke-others"), Some(&other.access), json!({})).await.expect(200);
    app.get(ME, Some(&member.access)).await.expect(401);
    app.get(ME, Some(&other.access)).await.expect(200);
}

/// Another process sharing the database (a second `socle serve` on PostgreSQL, a command
/// on the SQLite file) does not tell this one what it changed: its change holds here within
/// `kernel::recent::TIME_TO_LIVE`.
async fn a_change_written_by_another_process_holds_within_a_second(app: TestApp) {
    let user = app.signup("pia@example.com").await;
    for _ in 0..3 {
        app.get(ME, Some(&user.access)).await.expect(200);
    }
    let deactivate = "UPDATE users SET status = 'deactivated' WHERE email = 'pia@example.com'";
    match app.backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", app.data_dir.join("socle.db").display());
            let pool = sqlx::SqlitePool::connect(&url).await.expect("a second connection");
            sqlx::query(deactivate).execute(&pool).await.expect("deactivate");
            pool.close().await;
        }
        Backend::Postgres => {
            let url = app.database_url.clone().expect("database url");
            let pool = sqlx::PgPool::connect(&url).await.expect("a second connection");
            sqlx::query(deactivate).execute(&pool).await.expect("deactivate");
            pool.close().await;
        }
    }
    tokio::time::sleep(kernel::recent::TIME_TO_LIVE + std::time::Duration::from_millis(100)).await;
    app.get(ME, Some(&user.access)).await.expect(401);
}
