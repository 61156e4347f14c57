//! Systematic checks driven by the OpenAPI document, so that a new endpoint is covered the
//! day it is added: every secured operation refuses missing and forged credentials with
//! 401, every admin operation refuses a plain user with 403, and every operation that takes
//! a JSON body answers malformed JSON with a 400 problem (never a 5xx), every upload 415.

use reqwest::Method;
use serde_json::Value;

use crate::on_both_databases;
use crate::support::TestApp;

on_both_databases!(
    every_secured_endpoint_refuses_missing_and_forged_credentials,
    every_body_endpoint_rejects_malformed_json
);

struct Operation {
    method: Method,
    path: String,
    secured: bool,
    has_body: bool,
    /// Its body is multipart (an upload): JSON is the wrong media type there.
    multipart: bool,
}

async fn operations(app: &TestApp) -> Vec<Operation> {
    let spec = app.get("/api/openapi.json", None).await.expect(200).body;
    let mut out = Vec::new();
    for (template, item) in spec["paths"].as_object().expect("paths") {
        // Path parameters get a well-formed id that names nothing.
        let path = template
            .split('/')
            .map(|segment| if segment.starts_with('{') { "0190f0f0-0000-7000-8000-000000000000" } else { segment })
            .collect::<Vec<_>>()
            .join("/");
        for (method, op) in item.as_object().expect("operations") {
            let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
            let secured = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            let multipart = op["requestBody"]["content"].get("multipart/form-data").is_some();
            let has_body = op.get("requestBody").is_some();
            out.push(Operation { method, path: path.clone(), secured, has_body, multipart });
        }
    }
    assert!(out.len() > 40, "the spec lists the endpoints");
    out
}

async fn every_secured_endpoint_refuses_missing_and_forged_credentials(app: TestApp) {
    let user = app.signup("plain@example.com").await;
    let mut secured = 0;
    for op in operations(&app).await {
        if !op.secured {
            continue;
        }
        secured += 1;
        let none = app.request(op.method.clone(), &op.path, None, None).await;
        assert_eq!(none.status, 401, "{} {} without credentials: {}", op.method, op.path, none.body);
        assert_eq!(none.header("content-type"), Some("application/problem+json"));
        let forged = app.request(op.method.clone(), &op.path, Some("eyJhbGciOiJIUzI1NiJ9.e30.forged"), None).await;
        assert_eq!(forged.status, 401, "{} {} with a forged token", op.method, op.path);
        let fake_key = app.request(op.method.clone(), &op.path, Some("sk_forged_key"), None).await;
        assert_eq!(fake_key.status, 401, "{} {} with a forged API key", op.method, op.path);
        if op.path.starts_with("/api/v1/admin/") {
            let r = app.request(op.method.clone(), &op.path, Some(&user.access), None).await;
            assert_eq!(r.status, 403, "{} {} as a plain user: {}", op.method, op.path, r.body);
        }
    }
    assert!(secured > 35, "{secured} secured operations checked");
}

async fn every_body_endpoint_rejects_malformed_json(app: TestApp) {
    let admin = app.admin("malformed-admin@example.com").await;
    let mut checked = 0;
    for op in operations(&app).await {
        if !op.has_body {
            continue;
        }
        checked += 1;
        let mut req =
            app.client.request(op.method.clone(), app.url(&op.path)).header("content-type", "application/json");
        if op.secured {
            req = req.bearer_auth(&admin.access);
        }
        let resp = TestApp::read(req.body("{\"unterminated\": ").send().await.expect("send")).await;
        // Uploads refuse JSON of any shape as the wrong media type, before reading it.
        let expected: &[u16] = if op.multipart { &[415, 404] } else { &[400, 404] };
        assert!(
            expected.contains(&resp.status),
            "{} {} answered {} to malformed JSON: {}",
            op.method,
            op.path,
            resp.status,
            resp.body
        );
        assert_eq!(resp.header("content-type"), Some("application/problem+json"), "{} {}", op.method, op.path);
    }
    assert!(checked >= 20, "{checked} operations with a body checked");
}

on_both_databases!(every_organization_endpoint_hides_other_tenants);

/// An outsider naming another tenant's organization, members, invitations or keys gets 404
/// from every organization-scoped operation, with a body that would otherwise be valid.
async fn every_organization_endpoint_hides_other_tenants(app: TestApp) {
    let owner = app.signup("tenant-a@example.com").await;
    let org = app.organization(&owner, "Tenant A").await;
    let invitation = app
        .post(
            &format!("/api/v1/foundation/organizations/{org}/invitations"),
            Some(&owner.access),
            serde_json::json!({"email": "guest@a.example"}),
        )
        .await
        .expect(201);
    let invitation_id = invitation.body["id"].as_str().expect("id").to_string();
    let key = app
        .post(
            "/api/v1/foundation/api-keys",
            Some(&owner.access),
            serde_json::json!({"organization_id": org, "name": "a"}),
        )
        .await
        .expect(201);
    let key_id = key.body["id"].as_str().expect("id").to_string();
    let outsider = app.signup("tenant-b@example.com").await;
    app.organization(&outsider, "Tenant B").await;
    let body = serde_json::json!({
        "name": "taken over", "description": "x", "email": "tenant-b@example.com", "role": "MEMBER",
        "user_id": outsider.user_id, "organization_id": org
    });

    let spec = app.get("/api/openapi.json", None).await.expect(200).body;
    let mut checked = 0;
    for (template, item) in spec["paths"].as_object().expect("paths") {
        if !template.starts_with("/api/v1/foundation/organizations/{id}") {
            continue;
        }
        let path = template
            .replace("{id}", &org)
            .replace("{user_id}", &owner.user_id)
            .replace("{invitation_id}", &invitation_id);
        for method in item.as_object().expect("operations").keys() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
            let r = app.request(method.clone(), &path, Some(&outsider.access), Some(body.clone())).await;
            assert_eq!(r.status, 404, "{method} {template} as an outsider: {}", r.body);
            checked += 1;
        }
    }
    assert!(checked >= 12, "{checked} organization operations checked");
    app.get(&format!("/api/v1/foundation/api-keys?organization_id={org}"), Some(&outsider.access)).await.expect(404);
    app.delete(&format!("/api/v1/foundation/api-keys/{key_id}"), Some(&outsider.access)).await.expect(404);
    app.post("/api/v1/foundation/api-keys", Some(&outsider.access), body).await.expect(404);
    // Nothing changed for the owner.
    let still = app.get(&format!("/api/v1/foundation/organizations/{org}"), Some(&owner.access)).await.expect(200);
    assert_eq!(still.body["name"], "Tenant A");
    assert_eq!(
        app.get(&format!("/api/v1/foundation/organizations/{org}/members"), Some(&owner.access)).await.body["total_items"],
        1
    );
}
