//! Studio pages and components: validated documents, versions, concurrency, diff, restore.

use serde_json::json;

use crate::on_both_databases;
use crate::studio_projects::project;
use crate::support::TestApp;

on_both_databases!(
    pages_keep_versions_and_refuse_conflicting_saves,
    documents_are_validated_with_pointers,
    components_are_reusable_in_pages
);

async fn pages_keep_versions_and_refuse_conflicting_saves(app: TestApp) {
    let owner = app.signup("pages@studio.example").await;
    let org = app.organization(&owner, "Pages Org").await;
    let id = project(&app, &owner, &org, "Site").await;
    let base = format!("/api/v1/studio/projects/{id}/pages");
    let home =
        app.post(&base, Some(&owner.access), json!({"name": "Home Page", "seo_title": "Welcome"})).await.expect(201);
    assert_eq!(home.body["slug"], "home-page");
    assert_eq!(home.body["version"], 1);
    assert_eq!(home.header("etag"), Some("\"1\""));
    let page_id = home.body["id"].as_str().expect("id").to_string();
    let about = app.post(&base, Some(&owner.access), json!({"name": "About", "position": 0})).await.expect(201);
    let listed = app.get(&base, Some(&owner.access)).await.expect(200);
    assert_eq!(listed.body[0]["name"], "About", "inserted first");
    assert_eq!(listed.body[1]["position"], 1);
    app.post(&base, Some(&owner.access), json!({"name": "Other", "slug": "about"}))
        .await
        .expect_field_error(422, "slug");
    app.post(&base, Some(&owner.access), json!({"name": "Bad", "slug": "Not A Slug"}))
        .await
        .expect_field_error(422, "slug");

    let page = format!("{base}/{page_id}");
    let doc_v2 = json!({"type": "page", "children": [{"type": "heading", "props": {"text": "Hi", "level": 1}}]});
    let v2 = app
        .client
        .patch(app.url(&page))
        .bearer_auth(&owner.access)
        .header("if-match", "\"1\"")
        .json(&json!({"document": doc_v2}))
        .send()
        .await
        .expect("save");
    assert_eq!(v2.status(), 200);
    // A save made from version 1 after version 2 exists is refused.
    let stale = app
        .client
        .patch(app.url(&page))
        .bearer_auth(&owner.access)
        .header("if-match", "\"1\"")
        .json(&json!({"name": "Mine"}))
        .send()
        .await
        .expect("stale");
    assert_eq!(stale.status(), 409);
    app.patch(&page, Some(&owner.access), json!({"name": "Mine", "version": 1})).await.expect(409);
    app.client
        .patch(app.url(&page))
        .bearer_auth(&owner.access)
        .header("if-match", "version-one")
        .json(&json!({}))
        .send()
        .await
        .map(|r| assert_eq!(r.status(), 422))
        .expect("bad if-match");
    let doc_v3 = json!({"type": "page", "children": [{"type": "heading", "props": {"text": "Hello", "level": 2}}, {"type": "text", "props": {"text": "Body"}}]});
    let v3 = app.patch(&page, Some(&owner.access), json!({"document": doc_v3, "version": 2})).await.expect(200);
    assert_eq!(v3.body["version"], 3);
    app.patch(&page, Some(&owner.access), json!({"slug": about.body["slug"]})).await.expect_field_error(422, "slug");

    let versions = app.get(&format!("{page}/versions"), Some(&owner.access)).await.expect(200);
    let numbers: Vec<i64> =
        versions.body.as_array().expect("array").iter().filter_map(|v| v["version"].as_i64()).collect();
    assert_eq!(numbers, vec![3, 2, 1]);
    assert_eq!(versions.body[0]["author_id"], owner.user_id.as_str());
    assert!(versions.body[0]["size_bytes"].as_i64().unwrap_or(0) > 20);
    let one = app.get(&format!("{page}/versions/2"), Some(&owner.access)).await.expect(200);
    assert_eq!(one.body["document"], doc_v2);
    app.get(&format!("{page}/versions/9"), Some(&owner.access)).await.expect(404);

    // The diff is a JSON Patch that turns v2 into v3.
    let diff = app.get(&format!("{page}/diff?from=2&to=3"), Some(&owner.access)).await.expect(200);
    let ops = diff.body["patch"].as_array().expect("ops");
    assert!(ops.iter().any(|o| o["op"] == "replace" && o["path"] == "/children/0/props/text" && o["value"] == "Hello"));
    assert!(ops.iter().any(|o| o["op"] == "add" && o["path"] == "/children/1"));
    app.get(&format!("{page}/diff?from=2"), Some(&owner.access)).await.expect_field_error(422, "to");

    // Restoring version 2 makes it current as version 4.
    let restored = app.post(&format!("{page}/versions/2/restore"), Some(&owner.access), json!({})).await.expect(200);
    assert_eq!(restored.body["version"], 4);
    assert_eq!(restored.body["document"], doc_v2);
    app.delete(&page, Some(&owner.access)).await.expect(204);
    app.get(&page, Some(&owner.access)).await.expect(404);
    let left = app.get(&base, Some(&owner.access)).await.expect(200);
    assert_eq!(left.body.as_array().map(Vec::len), Some(1));
    let actions = app.audit_actions().await;
    for action in ["PAGE_CREATED", "PAGE_UPDATED", "PAGE_VERSION_RESTORED", "PAGE_DELETED"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
}

async fn documents_are_validated_with_pointers(app: TestApp) {
    let owner = app.signup("docs@studio.example").await;
    let org = app.organization(&owner, "Docs Org").await;
    let id = project(&app, &owner, &org, "Docs").await;
    let base = format!("/api/v1/studio/projects/{id}/pages");
    let schema = app.get("/api/v1/studio/schema/page.json", None).await.expect(200);
    assert_eq!(schema.header("content-type"), Some("application/schema+json"));
    assert!(schema.body["$defs"]["form"].is_object());
    let cases = [
        (json!({"type": "page", "children": [{"type": "blink"}]}), "/document/children/0/type"),
        (
            json!({"type": "page", "children": [{"type": "heading", "props": {"text": "x", "level": "big"}}]}),
            "/document/children/0/props/level",
        ),
        (json!({"type": "page", "children": [{"type": "image", "props": {}}]}), "/document/children/0/props/src"),
        (
            json!({"type": "page", "children": [{"type": "section", "props": {"padding": "huge"}}]}),
            "/document/children/0/props/padding",
        ),
        (
            json!({"type": "page", "children": [{"type": "list", "props": {"collection": "nope"}}]}),
            "/document/children/0/props/collection",
        ),
        (
            json!({"type": "page", "children": [{"type": "table", "props": {"collection": "users", "filter": "nmae = 'x'"}}]}),
            "/document/children/0/props/filter",
        ),
        (
            json!({"type": "page", "children": [{"type": "component", "props": {"ref": "missing"}}]}),
            "/document/children/0/props/ref",
        ),
        (json!([1, 2]), "/document"),
        // Free text is limited in characters, as the schema's maxLength says: one too many.
        (
            json!({"type": "page", "children": [{"type": "text", "props": {"text": "é".repeat(10_001)}}]}),
            "/document/children/0/props/text",
        ),
    ];
    for (doc, pointer) in cases {
        app.post(&base, Some(&owner.access), json!({"name": "X", "document": doc}))
            .await
            .expect_field_error(422, pointer);
    }
    let mut deep = json!({"type": "text", "props": {"text": "x"}});
    for _ in 0..40 {
        deep = json!({"type": "container", "children": [deep]});
    }
    let r = app.post(&base, Some(&owner.access), json!({"name": "Deep", "document": deep})).await.expect(422);
    assert!(r.body["errors"][0]["code"] == "too_deep", "{}", r.body);
    // A form bound to a collection, a list with a valid filter: accepted.
    let ok = json!({"type": "page", "children": [
        {"type": "form", "props": {"collection": "users", "mode": "create"}, "children": [{"type": "input", "props": {"field": "email", "input_type": "email"}}]},
        {"type": "list", "props": {"collection": "users", "filter": "verified = true", "per_page": 10}},
        {"type": "navbar", "props": {"links": [{"label": "Home", "href": "/"}]}}
    ]});
    app.post(&base, Some(&owner.access), json!({"name": "Signup", "document": ok})).await.expect(201);
    // 10,000 characters of two bytes each: within the schema's maxLength, so accepted.
    assert_eq!(
        schema.body["$defs"]["text"]["properties"]["props"]["properties"]["text"]["maxLength"], 10_000,
        "{}",
        schema.body["$defs"]["text"]
    );
    let long = json!({"type": "page", "children": [{"type": "text", "props": {"text": "é".repeat(10_000)}}]});
    app.post(&base, Some(&owner.access), json!({"name": "Long", "document": long})).await.expect(201);
    assert!(
        app.audit_actions().await.iter().filter(|a| *a == "PAGE_CREATED").count() == 2,
        "failed writes left nothing"
    );
}

async fn components_are_reusable_in_pages(app: TestApp) {
    let owner = app.signup("comp@studio.example").await;
    let org = app.organization(&owner, "Comp Org").await;
    let id = project(&app, &owner, &org, "With components").await;
    let hero = app
        .post(
            "/api/v1/studio/components",
            Some(&owner.access),
            json!({"organization_id": org, "name": "hero", "props_schema": {"type": "object", "properties": {"title": {"type": "string"}}},
                   "document": {"type": "section", "children": [{"type": "heading", "props": {"text": "Default"}}]}}),
        )
        .await
        .expect(201);
    let hero_id = hero.body["id"].as_str().expect("id").to_string();
    app.post(
        "/api/v1/studio/components",
        Some(&owner.access),
        json!({"organization_id": org, "name": "hero", "document": {"type": "section"}}),
    )
    .await
    .expect_field_error(422, "name");
    app.post("/api/v1/studio/components", Some(&owner.access), json!({"organization_id": org, "name": "bad", "props_schema": {"type": "string"}, "document": {"type": "section"}}))
        .await
        .expect_field_error(422, "props_schema");
    let listed =
        app.get(&format!("/api/v1/studio/components?organization_id={org}"), Some(&owner.access)).await.expect(200);
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1));
    let page = json!({"type": "page", "children": [{"type": "component", "props": {"ref": hero_id, "props": {"title": "Hi"}}},
                                                    {"type": "component", "props": {"ref": "hero"}}]});
    app.post(
        &format!("/api/v1/studio/projects/{id}/pages"),
        Some(&owner.access),
        json!({"name": "Home", "document": page}),
    )
    .await
    .expect(201);
    // A placed component's props follow its props_schema.
    let wrong =
        json!({"type": "page", "children": [{"type": "component", "props": {"ref": "hero", "props": {"title": 3}}}]});
    app.post(
        &format!("/api/v1/studio/projects/{id}/pages"),
        Some(&owner.access),
        json!({"name": "Wrong", "document": wrong}),
    )
    .await
    .expect_field_error(422, "/document/children/0/props/props/title");
    let renamed = app
        .patch(
            &format!("/api/v1/studio/components/{hero_id}"),
            Some(&owner.access),
            json!({"description": "big banner"}),
        )
        .await
        .expect(200);
    assert_eq!(renamed.body["description"], "big banner");
    app.delete(&format!("/api/v1/studio/components/{hero_id}"), Some(&owner.access)).await.expect(204);
    app.get(&format!("/api/v1/studio/components/{hero_id}"), Some(&owner.access)).await.expect(404);
}
