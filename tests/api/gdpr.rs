//! GDPR: export everything about me; erase my account.

use serde_json::json;

use crate::on_both_databases;
use crate::support::{PASSWORD, TestApp};

on_both_databases!(
    export_contains_all_my_data,
    erasure_anonymizes_and_blocks_sign_in,
    erasure_waits_for_ownership_transfer
);

async fn export_contains_all_my_data(app: TestApp) {
    let me = app.signup("sara@example.com").await;
    app.login("sara@example.com", PASSWORD).await;
    let org = app.organization(&me, "Sara's").await;
    app.post("/api/v1/foundation/api-keys", Some(&me.access), json!({"organization_id": org, "name": "mine"}))
        .await
        .expect(201);
    let other = app.signup("tom@example.com").await;

    let export = app.get("/api/v1/foundation/users/me/export", Some(&me.access)).await.expect(200);
    assert!(export.header("content-disposition").is_some_and(|d| d.contains("attachment")));
    let body = &export.body;
    assert_eq!(body["format"], "socle-gdpr-export/1");
    assert_eq!(body["profile"]["email"], "sara@example.com");
    assert_eq!(body["sessions"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["memberships"][0]["organization_name"], "Sara's");
    assert_eq!(body["memberships"][0]["role"], "OWNER");
    assert_eq!(body["api_keys"][0]["name"], "mine");
    assert!(body["api_keys"][0].get("secret").is_none());
    let actions: Vec<&str> =
        body["audit_entries"].as_array().expect("audit").iter().filter_map(|e| e["action"].as_str()).collect();
    for expected in ["USER_CREATED", "LOGIN_SUCCESS", "ORG_CREATED", "API_KEY_CREATED"] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    assert!(!body.to_string().contains(&other.user_id), "nobody else's data");
    assert!(!body.to_string().contains("password_hash"));
    assert!(app.audit_actions().await.iter().any(|a| a == "USER_DATA_EXPORTED"));
    app.get("/api/v1/foundation/users/me/export", None).await.expect(401);
}

async fn erasure_anonymizes_and_blocks_sign_in(app: TestApp) {
    let me = app.signup("uma@example.com").await;
    let org = app.organization(&me, "Alone").await;
    let key = app
        .post("/api/v1/foundation/api-keys", Some(&me.access), json!({"organization_id": org, "name": "k"}))
        .await
        .expect(201);
    let key = key.body["secret"].as_str().expect("secret").to_string();
    // Her identity papers, sent to verify the organization she is alone in.
    use crate::verification::{individual, valid_metadata};
    app.multipart(&format!("/api/v1/foundation/verification/{org}"), Some(&me.access), individual(valid_metadata()))
        .await
        .expect(201);
    let files: Vec<(String,)> = app
        .db
        .fetch_all("SELECT storage_key FROM org_verification_documents WHERE organization_id = $1", kernel::args![&org])
        .await
        .expect("documents");
    assert_eq!(files.len(), 2);
    let stored = |key: &str| app.data_dir.join("storage").join(key).exists();
    assert!(files.iter().all(|(k,)| stored(k)), "{files:?} stored");

    app.request(
        reqwest::Method::DELETE,
        "/api/v1/foundation/users/me",
        Some(&me.access),
        Some(json!({"password": "Wrong-password-1"})),
    )
    .await
    .expect_field_error(422, "password");
    app.request(reqwest::Method::DELETE, "/api/v1/foundation/users/me", Some(&me.access), Some(json!({})))
        .await
        .expect_field_error(422, "password");
    app.request(reqwest::Method::DELETE, "/api/v1/foundation/users/me", None, Some(json!({"password": PASSWORD})))
        .await
        .expect(401);
    app.request(
        reqwest::Method::DELETE,
        "/api/v1/foundation/users/me",
        Some(&me.access),
        Some(json!({"password": PASSWORD})),
    )
    .await
    .expect(204);

    // Nothing in storage names her any more; the audit trail is kept, pseudonymized.
    let (count,): (i64,) = app
        .db
        .fetch_one("SELECT COUNT(*) FROM audit_log WHERE actor_email = 'uma@example.com'", vec![])
        .await
        .expect("count");
    assert_eq!(count, 0);
    app.get("/api/v1/foundation/users/me", Some(&me.access)).await.expect(401);
    app.get(&format!("/api/v1/foundation/organizations/{org}"), Some(&key)).await.expect(401);
    app.post("/api/v1/foundation/auth/login", None, json!({"email": "uma@example.com", "password": PASSWORD}))
        .await
        .expect(401);
    let (count,): (i64,) =
        app.db.fetch_one("SELECT COUNT(*) FROM users WHERE email = 'uma@example.com'", vec![]).await.expect("count");
    assert_eq!(count, 0);
    let (kept,): (i64,) = app
        .db
        .fetch_one("SELECT COUNT(*) FROM audit_log WHERE actor_id = $1", kernel::args![&me.user_id])
        .await
        .expect("count");
    assert!(kept > 0);
    assert!(app.audit_actions().await.iter().any(|a| a == "USER_DELETED"));
    // The organization went with her, and her papers with it: rows and files.
    let (documents,): (i64,) = app
        .db
        .fetch_one("SELECT COUNT(*) FROM org_verification_documents WHERE organization_id = $1", kernel::args![&org])
        .await
        .expect("count");
    assert_eq!(documents, 0);
    assert!(files.iter().all(|(k,)| !stored(k)), "{files:?} deleted");
    // The address is free again.
    app.signup("uma@example.com").await;
}

async fn erasure_waits_for_ownership_transfer(app: TestApp) {
    let owner = app.signup("victor@example.com").await;
    let member = app.signup("wendy@example.com").await;
    let org = app.organization(&owner, "Shared").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let refused = app
        .request(
            reqwest::Method::DELETE,
            "/api/v1/foundation/users/me",
            Some(&owner.access),
            Some(json!({"password": PASSWORD})),
        )
        .await
        .expect(409);
    assert!(refused.body["detail"].as_str().is_some_and(|d| d.contains(&org)));
    app.post(
        &format!("/api/v1/foundation/organizations/{org}/transfer-ownership"),
        Some(&owner.access),
        json!({"user_id": member.user_id}),
    )
    .await
    .expect(204);
    app.request(
        reqwest::Method::DELETE,
        "/api/v1/foundation/users/me",
        Some(&owner.access),
        Some(json!({"password": PASSWORD})),
    )
    .await
    .expect(204);
    let members =
        app.get(&format!("/api/v1/foundation/organizations/{org}/members"), Some(&member.access)).await.expect(200);
    assert_eq!(members.body["total_items"], 1);
}
