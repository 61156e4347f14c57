//! Organization API keys: shown once, stored hashed, scoped, revocable, expiring.

use serde_json::json;

use crate::support::TestApp;
use crate::{eventually, on_both_databases};

const KEYS: &str = "/api/v1/foundation/api-keys";

on_both_databases!(api_keys_authenticate_within_their_organization, api_key_rules);

async fn api_keys_authenticate_within_their_organization(app: TestApp) {
    let owner = app.signup("keys@example.com").await;
    let org = app.organization(&owner, "Keyed").await;
    let other_owner = app.signup("other-keys@example.com").await;
    let other_org = app.organization(&other_owner, "Elsewhere").await;

    let created = app
        .post(KEYS, Some(&owner.access), json!({"organization_id": org, "name": "CI deploys", "role": "ADMIN"}))
        .await
        .expect(201);
    let secret = created.body["secret"].as_str().expect("secret").to_string();
    let prefix = created.body["prefix"].as_str().expect("prefix").to_string();
    assert!(secret.starts_with(&prefix) && secret.starts_with("sk_"));
    let id = created.body["id"].as_str().expect("id").to_string();
    // Stored only as a hash.
    let (hash,): (String,) =
        app.db.fetch_one("SELECT key_hash FROM api_keys WHERE id = $1", kernel::args![&id]).await.expect("row");
    assert_eq!(hash.len(), 64);
    assert!(!hash.contains(&secret));

    // Both header forms work on organization endpoints of its own organization.
    let bearer = app.get(&format!("/api/v1/foundation/organizations/{org}"), Some(&secret)).await.expect(200);
    assert_eq!(bearer.body["name"], "Keyed");
    let header = app
        .client
        .get(app.url(&format!("/api/v1/foundation/organizations/{org}/members")))
        .header("x-api-key", &secret)
        .send()
        .await
        .expect("send");
    TestApp::read(header).await.expect(200);
    let renamed = app
        .patch(&format!("/api/v1/foundation/organizations/{org}"), Some(&secret), json!({"name": "Keyed Inc"}))
        .await
        .expect(200);
    assert_eq!(renamed.body["name"], "Keyed Inc");
    // An ADMIN key cannot delete the organization, see another organization, or act as a person.
    app.delete(&format!("/api/v1/foundation/organizations/{org}"), Some(&secret)).await.expect(403);
    app.get(&format!("/api/v1/foundation/organizations/{other_org}"), Some(&secret)).await.expect(404);
    app.get("/api/v1/foundation/users/me", Some(&secret)).await.expect(403);
    app.post(KEYS, Some(&secret), json!({"organization_id": org, "name": "escalate"})).await.expect(403);

    // Listed without secrets, with last use recorded (written in the background after a
    // request: waited for).
    let keys = eventually!("the key's last use to be recorded", {
        let listed = app.get(&format!("{KEYS}?organization_id={org}"), Some(&owner.access)).await.expect(200);
        let keys = listed.body.as_array().cloned().expect("array");
        keys.iter().all(|k| k["last_used_at"].is_string()).then_some(keys)
    });
    assert_eq!(keys.len(), 1);
    assert!(keys[0].get("secret").is_none());
    assert!(keys[0]["last_used_at"].is_string(), "{}", keys[0]);
    app.get(&format!("{KEYS}?organization_id={org}"), Some(&other_owner.access)).await.expect(404);
    app.delete(&format!("{KEYS}/{id}"), Some(&other_owner.access)).await.expect(404);

    // Revoked: refused at once.
    app.delete(&format!("{KEYS}/{id}"), Some(&owner.access)).await.expect(204);
    let refused = app.get(&format!("/api/v1/foundation/organizations/{org}"), Some(&secret)).await.expect(401);
    assert!(refused.body["detail"].as_str().is_some_and(|d| d.contains("API key")));
    app.delete(&format!("{KEYS}/{id}"), Some(&owner.access)).await.expect(404);
    let actions = app.audit_actions().await;
    assert!(actions.iter().any(|a| a == "API_KEY_CREATED") && actions.iter().any(|a| a == "API_KEY_REVOKED"));
}

async fn api_key_rules(app: TestApp) {
    let owner = app.signup("rules@example.com").await;
    let org = app.organization(&owner, "Rules").await;
    let member = app.signup("member-rules@example.com").await;
    let admin = app.signup("admin-rules@example.com").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    app.add_member(&org, &owner, &admin, "ADMIN").await;

    app.post(KEYS, None, json!({"organization_id": org, "name": "x"})).await.expect(401);
    app.post(KEYS, Some(&member.access), json!({"organization_id": org, "name": "x"})).await.expect(403);
    app.post(KEYS, Some(&admin.access), json!({"organization_id": org, "name": "x", "role": "OWNER"}))
        .await
        .expect(403);
    app.post(KEYS, Some(&admin.access), json!({"organization_id": org, "name": ""}))
        .await
        .expect_field_error(422, "name");
    app.post(KEYS, Some(&admin.access), json!({"organization_id": org, "name": "x", "role": "ROOT"}))
        .await
        .expect_field_error(422, "role");
    app.post(
        KEYS,
        Some(&admin.access),
        json!({"organization_id": org, "name": "x", "expires_at": "2001-01-01T00:00:00Z"}),
    )
    .await
    .expect_field_error(422, "expires_at");
    app.post(KEYS, Some(&admin.access), json!({"organization_id": org, "name": "x", "expires_at": "tomorrow"}))
        .await
        .expect_field_error(422, "expires_at");
    app.get(KEYS, Some(&admin.access)).await.expect_field_error(422, "organization_id");
    app.get(&format!("{KEYS}?organization_id={org}"), Some(&member.access)).await.expect(403);

    // Keys that expire work until then and are refused after. Two keys, so that nothing has
    // to happen before a deadline (a second is short on a loaded machine): one expiring in an
    // hour is used, one expiring in a second is used once that second has passed.
    let later = kernel::time::rfc3339(kernel::time::now() + time::Duration::hours(1));
    let created = app
        .post(KEYS, Some(&admin.access), json!({"organization_id": org, "name": "later", "expires_at": later}))
        .await
        .expect(201);
    let secret = created.body["secret"].as_str().expect("secret").to_string();
    assert_eq!(created.body["role"], "MEMBER", "default role");
    app.get(&format!("/api/v1/foundation/organizations/{org}"), Some(&secret)).await.expect(200);
    // Should the second pass before the server sees the request, the date is refused as past
    // (checked above): ask again.
    let (secret, soon) = eventually!("a key expiring in a second", {
        let soon = kernel::time::now() + time::Duration::seconds(1);
        let created = app
            .post(
                KEYS,
                Some(&admin.access),
                json!({"organization_id": org, "name": "short", "expires_at": kernel::time::rfc3339(soon)}),
            )
            .await;
        if created.status == 422 {
            created.expect_field_error(422, "expires_at");
            None
        } else {
            Some((created.expect(201).body["secret"].as_str().expect("secret").to_string(), soon))
        }
    });
    // Only a lower bound on time: a slower machine waits less.
    let left = std::time::Duration::try_from(soon - kernel::time::now()).unwrap_or_default();
    tokio::time::sleep(left + std::time::Duration::from_millis(100)).await;
    let expired = app.get(&format!("/api/v1/foundation/organizations/{org}"), Some(&secret)).await.expect(401);
    assert!(expired.body["detail"].as_str().is_some_and(|d| d.contains("expired")));
    // A MEMBER key cannot edit.
    let member_key =
        app.post(KEYS, Some(&admin.access), json!({"organization_id": org, "name": "reader"})).await.expect(201);
    let reader = member_key.body["secret"].as_str().expect("secret").to_string();
    app.patch(&format!("/api/v1/foundation/organizations/{org}"), Some(&reader), json!({"name": "no"}))
        .await
        .expect(403);
    // Deleting the organization kills its keys.
    app.delete(&format!("/api/v1/foundation/organizations/{org}"), Some(&owner.access)).await.expect(204);
    app.get(&format!("/api/v1/foundation/organizations/{org}"), Some(&reader)).await.expect(401);
}
