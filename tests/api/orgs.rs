//! Organizations: CRUD, tenancy, roles, members, invitations, ownership.

use serde_json::json;

use crate::on_both_databases;
use crate::support::{PASSWORD, TestApp};

const ORGS: &str = "/api/v1/foundation/organizations";

on_both_databases!(
    organization_lifecycle_and_roles,
    members_of_one_organization_never_see_another,
    invitations_by_login_and_by_registration,
    the_last_owner_is_protected,
    organization_input_is_validated,
    organization_audit_trail,
);

async fn organization_lifecycle_and_roles(app: TestApp) {
    let owner = app.signup("owner@example.com").await;
    let created =
        app.post(ORGS, Some(&owner.access), json!({"name": "Acme", "description": "Rockets"})).await.expect(201);
    assert_eq!(created.body["name"], "Acme");
    assert_eq!(created.body["my_role"], "OWNER");
    let org = created.body["id"].as_str().expect("id").to_string();
    let listed = app.get(ORGS, Some(&owner.access)).await.expect(200);
    assert_eq!(listed.body["total_items"], 1);
    assert_eq!(listed.body["items"][0]["id"], org.as_str());

    let admin = app.signup("admin-member@example.com").await;
    let member = app.signup("plain-member@example.com").await;
    app.add_member(&org, &owner, &admin, "ADMIN").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let members = app.get(&format!("{ORGS}/{org}/members"), Some(&member.access)).await.expect(200);
    assert_eq!(members.body["total_items"], 3);

    // MEMBER reads but cannot edit; ADMIN edits but cannot delete; OWNER deletes.
    app.get(&format!("{ORGS}/{org}"), Some(&member.access)).await.expect(200);
    app.patch(&format!("{ORGS}/{org}"), Some(&member.access), json!({"name": "Hacked"})).await.expect(403);
    let renamed =
        app.patch(&format!("{ORGS}/{org}"), Some(&admin.access), json!({"name": "Acme Corp"})).await.expect(200);
    assert_eq!(renamed.body["name"], "Acme Corp");
    assert_eq!(renamed.body["description"], "Rockets");
    app.delete(&format!("{ORGS}/{org}"), Some(&admin.access)).await.expect(403);
    app.post(&format!("{ORGS}/{org}/invitations"), Some(&member.access), json!({"email": "x@example.com"}))
        .await
        .expect(403);
    // An ADMIN cannot hand out OWNER.
    app.patch(&format!("{ORGS}/{org}/members/{}", member.user_id), Some(&admin.access), json!({"role": "OWNER"}))
        .await
        .expect(403);
    app.patch(&format!("{ORGS}/{org}/members/{}", member.user_id), Some(&admin.access), json!({"role": "ADMIN"}))
        .await
        .expect(204);
    app.patch(&format!("{ORGS}/{org}/members/{}", member.user_id), Some(&admin.access), json!({"role": "MEMBER"}))
        .await
        .expect(204);
    // An ADMIN cannot remove the OWNER; can remove a MEMBER.
    app.delete(&format!("{ORGS}/{org}/members/{}", owner.user_id), Some(&admin.access)).await.expect(403);
    app.delete(&format!("{ORGS}/{org}/members/{}", member.user_id), Some(&admin.access)).await.expect(204);
    app.get(&format!("{ORGS}/{org}"), Some(&member.access)).await.expect(404);
    app.delete(&format!("{ORGS}/{org}/members/{}", member.user_id), Some(&admin.access)).await.expect(404);

    // The admin leaves; the owner deletes.
    app.request(reqwest::Method::POST, &format!("{ORGS}/{org}/leave"), Some(&admin.access), None).await.expect(204);
    app.get(&format!("{ORGS}/{org}"), Some(&admin.access)).await.expect(404);
    app.delete(&format!("{ORGS}/{org}"), Some(&owner.access)).await.expect(204);
    app.get(&format!("{ORGS}/{org}"), Some(&owner.access)).await.expect(404);
    assert_eq!(app.get(ORGS, Some(&owner.access)).await.body["total_items"], 0);
    let actions = app.audit_actions().await;
    for expected in [
        "ORG_CREATED",
        "ORG_UPDATED",
        "ORG_MEMBER_JOINED",
        "ORG_MEMBER_ROLE_CHANGED",
        "ORG_MEMBER_REMOVED",
        "ORG_MEMBER_LEFT",
        "ORG_DELETED",
    ] {
        assert!(actions.iter().any(|a| a == expected), "{expected} in {actions:?}");
    }
}

async fn members_of_one_organization_never_see_another(app: TestApp) {
    let alice = app.signup("alice@a.example").await;
    let bob = app.signup("bob@b.example").await;
    let org_a = app.organization(&alice, "A").await;
    let org_b = app.organization(&bob, "B").await;
    let bob_b = |path: &str| format!("{ORGS}/{org_b}{path}");
    for path in ["", "/members", "/invitations", "/audit"] {
        app.get(&bob_b(path), Some(&alice.access)).await.expect(404);
    }
    app.patch(&bob_b(""), Some(&alice.access), json!({"name": "mine now"})).await.expect(404);
    app.delete(&bob_b(""), Some(&alice.access)).await.expect(404);
    app.post(&bob_b("/invitations"), Some(&alice.access), json!({"email": "alice@a.example", "role": "OWNER"}))
        .await
        .expect(404);
    app.patch(&bob_b(&format!("/members/{}", bob.user_id)), Some(&alice.access), json!({"role": "MEMBER"}))
        .await
        .expect(404);
    app.delete(&bob_b(&format!("/members/{}", bob.user_id)), Some(&alice.access)).await.expect(404);
    app.post(&bob_b("/transfer-ownership"), Some(&alice.access), json!({"user_id": alice.user_id})).await.expect(404);
    app.request(reqwest::Method::POST, &bob_b("/leave"), Some(&alice.access), None).await.expect(404);
    let mine = app.get(ORGS, Some(&alice.access)).await.expect(200);
    assert_eq!(mine.body["total_items"], 1);
    assert_eq!(mine.body["items"][0]["id"], org_a.as_str());
    app.get(&format!("{ORGS}/not-a-real-id"), Some(&alice.access)).await.expect(404);
    app.get(ORGS, None).await.expect(401);
    app.get(&format!("{ORGS}/{org_a}"), None).await.expect(401);
}

async fn invitations_by_login_and_by_registration(app: TestApp) {
    let owner = app.signup("host@example.com").await;
    let org = app.organization(&owner, "Guild").await;
    let invited = app
        .post(
            &format!("{ORGS}/{org}/invitations"),
            Some(&owner.access),
            json!({"email": "Guest@Example.com", "role": "ADMIN"}),
        )
        .await
        .expect(201);
    assert_eq!(invited.body["email"], "guest@example.com");
    assert_eq!(invited.body["role"], "ADMIN");
    let pending = app.get(&format!("{ORGS}/{org}/invitations"), Some(&owner.access)).await.expect(200);
    assert_eq!(pending.body.as_array().map(Vec::len), Some(1));
    let mail = app.wait_for_email("guest@example.com", "invited").await;
    assert!(mail.text.contains("Guild"));
    let token = mail.token();
    assert!(
        mail.text.contains(&format!("http://socle.test/console/invitations/accept?token={token}")),
        "{}",
        mail.text
    );

    // Someone else signed in cannot use it.
    let intruder = app.signup("intruder@example.com").await;
    app.post(&format!("{ORGS}/invitations/accept"), Some(&intruder.access), json!({"token": token})).await.expect(403);
    app.post(&format!("{ORGS}/invitations/accept"), None, json!({"token": token})).await.expect(401);

    // Registering with the invitation joins at once, without an activation email.
    app.post(
        "/api/v1/foundation/auth/register",
        None,
        json!({"email": "guest@example.com", "password": PASSWORD, "first_name": "G", "last_name": "Uest", "invite_token": token}),
    )
    .await
    .expect(202);
    let guest = app.login("guest@example.com", PASSWORD).await;
    let orgs = app.get(ORGS, Some(&guest.access)).await.expect(200);
    assert_eq!(orgs.body["items"][0]["my_role"], "ADMIN");
    assert!(
        app.get(&format!("{ORGS}/{org}/invitations"), Some(&owner.access))
            .await
            .body
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    // Used up.
    app.post(&format!("{ORGS}/invitations/accept"), Some(&guest.access), json!({"token": token}))
        .await
        .expect_field_error(422, "token");
    app.post(&format!("{ORGS}/{org}/invitations"), Some(&owner.access), json!({"email": "guest@example.com"}))
        .await
        .expect(409);

    // Accepting while signed in; a revoked invitation is dead.
    let later = app.signup("later@example.com").await;
    let second = app
        .post(&format!("{ORGS}/{org}/invitations"), Some(&owner.access), json!({"email": "later@example.com"}))
        .await
        .expect(201);
    let second_token = app.wait_for_email("later@example.com", "invited").await.token();
    let id = second.body["id"].as_str().expect("id");
    app.delete(&format!("{ORGS}/{org}/invitations/{id}"), Some(&owner.access)).await.expect(204);
    app.post(&format!("{ORGS}/invitations/accept"), Some(&later.access), json!({"token": second_token}))
        .await
        .expect_field_error(422, "token");
    app.add_member(&org, &owner, &later, "MEMBER").await;
    assert_eq!(app.get(&format!("{ORGS}/{org}/members"), Some(&later.access)).await.body["total_items"], 3);
    // Wrong registration email for an invitation.
    app.post(&format!("{ORGS}/{org}/invitations"), Some(&owner.access), json!({"email": "third@example.com"}))
        .await
        .expect(201);
    let third_token = app.wait_for_email("third@example.com", "invited").await.token();
    app.post(
        "/api/v1/foundation/auth/register",
        None,
        json!({"email": "other@example.com", "password": PASSWORD, "first_name": "O", "last_name": "T", "invite_token": third_token}),
    )
    .await
    .expect_field_error(422, "email");
}

async fn the_last_owner_is_protected(app: TestApp) {
    let owner = app.signup("solo@example.com").await;
    let heir = app.signup("heir@example.com").await;
    let org = app.organization(&owner, "Solo").await;
    app.request(reqwest::Method::POST, &format!("{ORGS}/{org}/leave"), Some(&owner.access), None).await.expect(409);
    app.patch(&format!("{ORGS}/{org}/members/{}", owner.user_id), Some(&owner.access), json!({"role": "ADMIN"}))
        .await
        .expect(409);
    app.delete(&format!("{ORGS}/{org}/members/{}", owner.user_id), Some(&owner.access)).await.expect(409);
    // A refused change writes no audit entry.
    assert!(!app.audit_actions().await.iter().any(|a| a == "ORG_MEMBER_ROLE_CHANGED"));

    app.post(&format!("{ORGS}/{org}/transfer-ownership"), Some(&owner.access), json!({"user_id": heir.user_id}))
        .await
        .expect_field_error(422, "user_id");
    app.add_member(&org, &owner, &heir, "MEMBER").await;
    app.post(&format!("{ORGS}/{org}/transfer-ownership"), Some(&heir.access), json!({"user_id": heir.user_id}))
        .await
        .expect(403);
    app.post(&format!("{ORGS}/{org}/transfer-ownership"), Some(&owner.access), json!({"user_id": heir.user_id}))
        .await
        .expect(204);
    let members = app.get(&format!("{ORGS}/{org}/members"), Some(&owner.access)).await.expect(200);
    let role_of = |id: &str| {
        members.body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|m| m["user_id"] == id).map(|m| m["role"].clone()))
    };
    assert_eq!(role_of(&heir.user_id), Some(json!("OWNER")));
    assert_eq!(role_of(&owner.user_id), Some(json!("ADMIN")));
    app.request(reqwest::Method::POST, &format!("{ORGS}/{org}/leave"), Some(&owner.access), None).await.expect(204);
    app.request(reqwest::Method::POST, &format!("{ORGS}/{org}/leave"), Some(&heir.access), None).await.expect(409);
    assert!(app.audit_actions().await.iter().any(|a| a == "ORG_OWNERSHIP_TRANSFERRED"));
}

async fn organization_input_is_validated(app: TestApp) {
    let owner = app.signup("validator@example.com").await;
    app.post(ORGS, Some(&owner.access), json!({})).await.expect_field_error(422, "name");
    app.post(ORGS, Some(&owner.access), json!({"name": ""})).await.expect_field_error(422, "name");
    app.post(ORGS, Some(&owner.access), json!({"name": "n".repeat(101)})).await.expect_field_error(422, "name");
    app.post(ORGS, Some(&owner.access), json!({"name": 7})).await.expect_field_error(422, "name");
    app.post(ORGS, Some(&owner.access), json!({"name": "ok", "description": "d".repeat(2001)}))
        .await
        .expect_field_error(422, "description");
    app.post(ORGS, None, json!({"name": "ok"})).await.expect(401);
    let org = app.organization(&owner, "Valid").await;
    let member = app.signup("m@example.com").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    app.patch(&format!("{ORGS}/{org}/members/{}", member.user_id), Some(&owner.access), json!({"role": "GOD"}))
        .await
        .expect_field_error(422, "role");
    app.post(&format!("{ORGS}/{org}/invitations"), Some(&owner.access), json!({"email": "not-an-email"}))
        .await
        .expect_field_error(422, "email");
    app.post(
        &format!("{ORGS}/{org}/invitations"),
        Some(&owner.access),
        json!({"email": "x@example.com", "role": "KING"}),
    )
    .await
    .expect_field_error(422, "role");
    app.get(&format!("{ORGS}?page=0"), Some(&owner.access)).await.expect_field_error(422, "page");
    app.get(&format!("{ORGS}?per_page=1000"), Some(&owner.access)).await.expect_field_error(422, "per_page");
    app.get(&format!("{ORGS}?page=abc"), Some(&owner.access)).await.expect_field_error(422, "page");
}

async fn organization_audit_trail(app: TestApp) {
    let owner = app.signup("auditor@example.com").await;
    let member = app.signup("watched@example.com").await;
    let org = app.organization(&owner, "Audited").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let trail = app.get(&format!("{ORGS}/{org}/audit"), Some(&owner.access)).await.expect(200);
    let actions: Vec<String> = trail.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str().map(String::from))
        .collect();
    assert!(
        actions.contains(&"ORG_CREATED".to_string()) && actions.contains(&"ORG_MEMBER_JOINED".to_string()),
        "{actions:?}"
    );
    assert!(trail.body["items"].as_array().expect("items").iter().all(|e| e["organization_id"] == org.as_str()));
    let filtered = app.get(&format!("{ORGS}/{org}/audit?action=ORG_CREATED"), Some(&owner.access)).await.expect(200);
    assert_eq!(filtered.body["total_items"], 1);
    app.get(&format!("{ORGS}/{org}/audit"), Some(&member.access)).await.expect(403);
}
