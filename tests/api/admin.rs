//! `/api/v1/admin/users`: listing, search, role and status changes, deletion, statistics.

use serde_json::json;

use crate::on_both_databases;
use crate::support::{PASSWORD, TestApp};

const USERS: &str = "/api/v1/admin/users";

on_both_databases!(only_admins_manage_users, admin_user_management, admin_input_is_validated);

async fn only_admins_manage_users(app: TestApp) {
    let user = app.signup("curious@example.com").await;
    let owner = app.signup("key-owner@example.com").await;
    let org = app.organization(&owner, "K").await;
    let key = app
        .post(
            "/api/v1/foundation/api-keys",
            Some(&owner.access),
            json!({"organization_id": org, "name": "k", "role": "OWNER"}),
        )
        .await
        .expect(201);
    let key = key.body["secret"].as_str().expect("secret").to_string();
    for path in [
        USERS.to_string(),
        format!("{USERS}/stats"),
        format!("{USERS}/{}", user.user_id),
        "/api/v1/admin/audit".to_string(),
    ] {
        app.get(&path, None).await.expect(401);
        app.get(&path, Some(&user.access)).await.expect(403);
        app.get(&path, Some(&key)).await.expect(403);
    }
    app.put(&format!("{USERS}/{}/role", user.user_id), Some(&user.access), json!({"role": "admin"})).await.expect(403);
    app.delete(&format!("{USERS}/{}", owner.user_id), Some(&user.access)).await.expect(403);
    let admin = app.admin("root@example.com").await;
    let refused = app
        .get(&format!("/api/v1/admin/audit?action=UNAUTHORIZED_ACCESS&actor_id={}", user.user_id), Some(&admin.access))
        .await
        .expect(200);
    assert!(
        refused.body["total_items"].as_i64().is_some_and(|n| n >= 4),
        "refused attempts are audited: {}",
        refused.body
    );
}

async fn admin_user_management(app: TestApp) {
    let admin = app.admin("boss@example.com").await;
    let quinn = app.signup("quinn@example.com").await;
    app.signup("rita@example.com").await;
    app.post(
        "/api/v1/foundation/auth/register",
        None,
        json!({"email": "pending@example.com", "password": PASSWORD, "first_name": "Pen", "last_name": "Ding"}),
    )
    .await
    .expect(202);

    let all = app.get(USERS, Some(&admin.access)).await.expect(200);
    assert_eq!(all.body["total_items"], 4);
    let page = app.get(&format!("{USERS}?per_page=2&page=2"), Some(&admin.access)).await.expect(200);
    assert_eq!(page.body["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(page.body["total_pages"], 2);
    let search = app.get(&format!("{USERS}?search=QUINN"), Some(&admin.access)).await.expect(200);
    assert_eq!(search.body["total_items"], 1);
    assert_eq!(search.body["items"][0]["email"], "quinn@example.com");
    let wildcard = app.get(&format!("{USERS}?search=%25"), Some(&admin.access)).await.expect(200);
    assert_eq!(wildcard.body["total_items"], 0, "LIKE wildcards are escaped");
    assert_eq!(app.get(&format!("{USERS}?status=pending"), Some(&admin.access)).await.body["total_items"], 1);
    assert_eq!(app.get(&format!("{USERS}?role=admin"), Some(&admin.access)).await.body["total_items"], 1);

    let got = app.get(&format!("{USERS}/{}", quinn.user_id), Some(&admin.access)).await.expect(200);
    assert_eq!(got.body["email"], "quinn@example.com");
    app.get(&format!("{USERS}/nope"), Some(&admin.access)).await.expect(404);
    let edited = app
        .patch(
            &format!("{USERS}/{}", quinn.user_id),
            Some(&admin.access),
            json!({"first_name": "Quinn", "email": "Quinn2@example.com"}),
        )
        .await
        .expect(200);
    assert_eq!(edited.body["email"], "quinn2@example.com");
    app.patch(&format!("{USERS}/{}", quinn.user_id), Some(&admin.access), json!({"email": "rita@example.com"}))
        .await
        .expect_field_error(422, "email");

    // Role changes take effect on the next request and are audited as HIGH.
    let promoted = app
        .put(&format!("{USERS}/{}/role", quinn.user_id), Some(&admin.access), json!({"role": "premium"}))
        .await
        .expect(200);
    assert_eq!(promoted.body["role"], "premium");
    assert_eq!(app.get("/api/v1/foundation/users/me", Some(&quinn.access)).await.body["role"], "premium");
    app.put(&format!("{USERS}/{}/role", admin.user_id), Some(&admin.access), json!({"role": "user"})).await.expect(403);

    // Deactivation revokes sessions and blocks sign-in; reactivation restores it.
    app.put(&format!("{USERS}/{}/status", quinn.user_id), Some(&admin.access), json!({"status": "deactivated"}))
        .await
        .expect(200);
    app.get("/api/v1/foundation/users/me", Some(&quinn.access)).await.expect(401);
    app.post("/api/v1/foundation/auth/login", None, json!({"email": "quinn2@example.com", "password": PASSWORD}))
        .await
        .expect(403);
    app.put(&format!("{USERS}/{}/status", quinn.user_id), Some(&admin.access), json!({"status": "active"}))
        .await
        .expect(200);
    app.login("quinn2@example.com", PASSWORD).await;

    let stats = app.get(&format!("{USERS}/stats"), Some(&admin.access)).await.expect(200);
    assert_eq!(stats.body["total"], 4);
    assert_eq!(stats.body["by_role"]["admin"], 1);
    assert_eq!(stats.body["by_status"]["pending"], 1);
    let days = stats.body["signups_last_30_days"].as_array().expect("days");
    assert_eq!(days.len(), 30);
    assert_eq!(days.iter().map(|d| d["count"].as_i64().unwrap_or(0)).sum::<i64>(), 4);
    assert_eq!(days[29]["count"], 4, "all signed up today");
    assert!(stats.body["active_last_7_days"].as_i64().is_some_and(|n| n >= 3));
    // Every account that signed in today counts once, however often it signed in (Quinn did
    // twice); the pending one never did.
    let active = stats.body["active_last_30_days"].as_array().expect("active days");
    assert_eq!(active.len(), 30);
    assert_eq!((&active[29]["day"], &active[29]["count"]), (&days[29]["day"], &stats.body["active_last_7_days"]));
    assert_eq!(active[..29].iter().filter_map(|d| d["count"].as_i64()).sum::<i64>(), 0);

    app.delete(&format!("{USERS}/{}", quinn.user_id), Some(&admin.access)).await.expect(204);
    app.post("/api/v1/foundation/auth/login", None, json!({"email": "quinn2@example.com", "password": PASSWORD}))
        .await
        .expect(401);
    app.delete(&format!("{USERS}/{}", quinn.user_id), Some(&admin.access)).await.expect(404);
    app.delete(&format!("{USERS}/{}", admin.user_id), Some(&admin.access)).await.expect(403);
    assert_eq!(app.get(USERS, Some(&admin.access)).await.body["total_items"], 3, "deleted accounts are hidden");
    let actions = app.audit_actions().await;
    for expected in ["USER_UPDATED", "USER_ROLE_CHANGED", "USER_STATUS_CHANGED", "USER_DELETED"] {
        assert!(actions.iter().any(|a| a == expected), "{expected}");
    }
}

async fn admin_input_is_validated(app: TestApp) {
    let admin = app.admin("strict@example.com").await;
    let user = app.signup("target@example.com").await;
    app.put(&format!("{USERS}/{}/role", user.user_id), Some(&admin.access), json!({"role": "superhero"}))
        .await
        .expect_field_error(422, "role");
    app.put(&format!("{USERS}/{}/status", user.user_id), Some(&admin.access), json!({"status": "deleted"}))
        .await
        .expect_field_error(422, "status");
    app.put(&format!("{USERS}/{}/status", user.user_id), Some(&admin.access), json!({}))
        .await
        .expect_field_error(422, "status");
    app.patch(&format!("{USERS}/{}", user.user_id), Some(&admin.access), json!({"email": "bad"}))
        .await
        .expect_field_error(422, "email");
    app.get(&format!("{USERS}?role=wizard"), Some(&admin.access)).await.expect_field_error(422, "role");
    app.get(&format!("{USERS}?per_page=0"), Some(&admin.access)).await.expect_field_error(422, "per_page");
    app.get(&format!("{USERS}?search={}", "s".repeat(101)), Some(&admin.access))
        .await
        .expect_field_error(422, "search");
    app.put(&format!("{USERS}/missing/role"), Some(&admin.access), json!({"role": "user"})).await.expect(404);
}

on_both_databases!(admins_list_every_organization_and_project);

/// The back-office sees every organization (members, first owner, deleted ones on request)
/// and every project (pages, by organization, the trash on request); nobody else does.
async fn admins_list_every_organization_and_project(app: TestApp) {
    let admin = app.admin("root@backoffice.example").await;
    let ada = app.signup("ada@backoffice.example").await;
    let bob = app.signup("bob@backoffice.example").await;
    let acme = app.organization(&ada, "Acme Books").await;
    let zeta = app.organization(&bob, "Zeta Films").await;
    app.add_member(&acme, &ada, &bob, "MEMBER").await;
    let shop = crate::studio_projects::project(&app, &ada, &acme, "Shop").await;
    app.post(
        &format!("/api/v1/studio/projects/{shop}/pages"),
        Some(&ada.access),
        json!({"name": "Home", "slug": "home", "document": {"type": "page", "children": []}}),
    )
    .await
    .expect(201);
    let reel = crate::studio_projects::project(&app, &bob, &zeta, "Reel").await;

    let orgs = app.get("/api/v1/admin/organizations", Some(&admin.access)).await.expect(200).body;
    let acme_row = orgs["items"].as_array().and_then(|i| i.iter().find(|o| o["id"] == acme.as_str())).cloned();
    let acme_row = acme_row.expect("Acme is listed");
    assert_eq!(
        (acme_row["members"].as_i64(), acme_row["owner_email"].as_str()),
        (Some(2), Some("ada@backoffice.example"))
    );
    let found = app.get("/api/v1/admin/organizations?search=ZETA", Some(&admin.access)).await.expect(200).body;
    assert_eq!((found["total_items"].as_i64(), found["items"][0]["id"].as_str()), (Some(1), Some(zeta.as_str())));
    let projects = app.get(&format!("/api/v1/admin/projects?organization_id={acme}"), Some(&admin.access)).await;
    let projects = projects.expect(200).body;
    assert_eq!((projects["total_items"].as_i64(), projects["items"][0]["pages"].as_i64()), (Some(1), Some(1)));
    app.delete(&format!("/api/v1/studio/projects/{reel}"), Some(&bob.access)).await.expect(204);
    let reels = app.get("/api/v1/admin/projects?search=reel", Some(&admin.access)).await.expect(200).body;
    assert_eq!(reels["total_items"], 0, "projects in the trash are hidden by default");
    let trash = app.get("/api/v1/admin/projects?search=reel&include_deleted=true", Some(&admin.access)).await;
    assert_eq!(trash.expect(200).body["items"][0]["id"], reel.as_str());

    app.delete(&format!("/api/v1/foundation/organizations/{zeta}"), Some(&bob.access)).await.expect(204);
    let live = app.get("/api/v1/admin/organizations?search=zeta", Some(&admin.access)).await.expect(200).body;
    assert_eq!(live["total_items"], 0, "deleted organizations are hidden by default");
    let all = app.get("/api/v1/admin/organizations?search=zeta&include_deleted=true", Some(&admin.access)).await;
    assert!(all.expect(200).body["items"][0]["deleted_at"].is_string());

    for path in ["/api/v1/admin/organizations", "/api/v1/admin/projects"] {
        app.get(path, None).await.expect(401);
        app.get(path, Some(&ada.access)).await.expect(403);
        app.get(&format!("{path}?per_page=0"), Some(&admin.access)).await.expect_field_error(422, "per_page");
        app.get(&format!("{path}?search={}", "x".repeat(101)), Some(&admin.access))
            .await
            .expect_field_error(422, "search");
    }
    app.stop().await;
}

on_both_databases!(admins_see_and_sign_out_an_accounts_sessions);

/// An administrator lists an account's open sessions and signs one device, then every
/// device, out: the revoked sessions' tokens stop working at once. Nobody else may.
async fn admins_see_and_sign_out_an_accounts_sessions(app: TestApp) {
    let admin = app.admin("root@sessions-admin.example").await;
    let laptop = app.signup("robin@sessions-admin.example").await;
    let phone = app.login("robin@sessions-admin.example", PASSWORD).await;
    let other = app.signup("sam@sessions-admin.example").await;
    let sessions_of = |id: &str| format!("{USERS}/{id}/sessions");

    let listed = app.get(&sessions_of(&laptop.user_id), Some(&admin.access)).await.expect(200).body;
    let ids: Vec<String> =
        listed.as_array().expect("sessions").iter().filter_map(|s| s["id"].as_str().map(str::to_string)).collect();
    assert_eq!(ids.len(), 2, "{listed}");
    assert!(listed.as_array().is_some_and(|s| s.iter().all(|s| s["current"] == false)));

    // One device: the most recently used (the phone's sign-in) goes; the laptop stays.
    let others = app.get(&sessions_of(&other.user_id), Some(&admin.access)).await.expect(200).body;
    let sams = others[0]["id"].as_str().expect("Sam's session").to_string();
    app.delete(&format!("{}/{sams}", sessions_of(&laptop.user_id)), Some(&admin.access)).await.expect(404);
    app.delete(&format!("{}/{}", sessions_of(&laptop.user_id), ids[0]), Some(&admin.access)).await.expect(204);
    app.get("/api/v1/foundation/users/me", Some(&phone.access)).await.expect(401);
    app.get("/api/v1/foundation/users/me", Some(&laptop.access)).await.expect(200);
    app.delete(&format!("{}/{}", sessions_of(&laptop.user_id), ids[0]), Some(&admin.access)).await.expect(404);

    // Every device.
    let all = app.post(&format!("{}/revoke-all", sessions_of(&laptop.user_id)), Some(&admin.access), json!({})).await;
    assert_eq!(all.expect(200).body["revoked"], 1);
    app.get("/api/v1/foundation/users/me", Some(&laptop.access)).await.expect(401);
    let left = app.get(&sessions_of(&laptop.user_id), Some(&admin.access)).await.expect(200).body;
    assert_eq!(left, json!([]));
    app.get("/api/v1/foundation/users/me", Some(&other.access)).await.expect(200);
    assert!(app.audit_actions().await.iter().filter(|a| *a == "SESSION_REVOKED").count() >= 2);

    app.get(&sessions_of("no-such-account"), Some(&admin.access)).await.expect(404);
    app.post(&format!("{}/revoke-all", sessions_of("no-such-account")), Some(&admin.access), json!({}))
        .await
        .expect(404);
    app.get(&sessions_of(&other.user_id), None).await.expect(401);
    app.get(&sessions_of(&other.user_id), Some(&other.access)).await.expect(403);
    app.post(&format!("{}/revoke-all", sessions_of(&admin.user_id)), Some(&other.access), json!({})).await.expect(403);
    app.get("/api/v1/foundation/users/me", Some(&admin.access)).await.expect(200);
}
