//! Studio projects: lifecycle, filters, favorites, trash, duplicate, share links, roles and
//! tenancy.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{Session, TestApp};

on_both_databases!(
    a_project_lives_and_is_listed_by_status_favorite_and_search,
    a_deleted_project_goes_to_the_trash_and_comes_back,
    duplicate_copies_pages_and_collections,
    share_links_preview_pages_without_auth_until_revoked,
    every_project_endpoint_hides_other_tenants,
    api_keys_act_for_their_organization_only
);

pub async fn project(app: &TestApp, who: &Session, org: &str, name: &str) -> String {
    let r = app
        .post("/api/v1/studio/projects", Some(&who.access), json!({"organization_id": org, "name": name}))
        .await
        .expect(201);
    r.body["id"].as_str().expect("project id").to_string()
}

async fn a_project_lives_and_is_listed_by_status_favorite_and_search(app: TestApp) {
    let owner = app.signup("owner@studio.example").await;
    let org = app.organization(&owner, "Studio Org").await;
    let member = app.signup("member@studio.example").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;

    let created = app
        .post(
            "/api/v1/studio/projects",
            Some(&owner.access),
            json!({"organization_id": org, "name": "Bookshop", "description": "sells books"}),
        )
        .await
        .expect(201);
    assert_eq!(created.body["status"], "planned");
    assert_eq!(created.body["favorite"], false);
    let shop = created.body["id"].as_str().expect("id").to_string();
    let blog = project(&app, &member, &org, "Blog").await;
    // A member edits; the status takes the seed's three values.
    let updated = app
        .patch(&format!("/api/v1/studio/projects/{blog}"), Some(&member.access), json!({"status": "in_progress"}))
        .await
        .expect(200);
    assert_eq!(updated.body["status"], "in_progress");
    app.patch(&format!("/api/v1/studio/projects/{blog}"), Some(&member.access), json!({"status": "EN_COURS"}))
        .await
        .expect(422);
    app.patch(&format!("/api/v1/studio/projects/{blog}"), Some(&member.access), json!({"name": ""}))
        .await
        .expect_field_error(422, "name");
    app.post("/api/v1/studio/projects", Some(&owner.access), json!({"name": "no org"})).await.expect(422);

    // Favorites are per person.
    let fav =
        app.put(&format!("/api/v1/studio/projects/{shop}/favorite"), Some(&member.access), json!({})).await.expect(200);
    assert_eq!(fav.body["favorite"], true);
    let list = |query: &str| {
        let path = format!("/api/v1/studio/projects?organization_id={org}{query}");
        let token = member.access.clone();
        let app = &app;
        async move { app.get(&path, Some(&token)).await.expect(200).body }
    };
    let names = |body: &Value| -> Vec<String> {
        body["items"].as_array().expect("items").iter().map(|p| p["name"].as_str().unwrap_or("").to_string()).collect()
    };
    assert_eq!(list("").await["total_items"], 2);
    assert_eq!(names(&list("&favorite=true").await), vec!["Bookshop"]);
    assert_eq!(names(&list("&favorite=false").await), vec!["Blog"]);
    assert_eq!(names(&list("&status=in_progress").await), vec!["Blog"]);
    assert_eq!(names(&list("&search=BOOKS").await), vec!["Bookshop"]);
    assert_eq!(names(&list("&search=100%25").await).len(), 0);
    let paged = list("&per_page=1&page=2").await;
    assert_eq!(paged["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(paged["total_pages"], 2);
    let owners_view = app.get(&format!("/api/v1/studio/projects/{shop}"), Some(&owner.access)).await.expect(200);
    assert_eq!(owners_view.body["favorite"], false);
    app.delete(&format!("/api/v1/studio/projects/{shop}/favorite"), Some(&member.access)).await.expect(200);
    assert_eq!(names(&list("&favorite=true").await).len(), 0);
    app.get(&format!("/api/v1/studio/projects?organization_id={org}&status=nope"), Some(&member.access))
        .await
        .expect_field_error(422, "status");

    // A new project starts with PocketBase's users collection, and its table exists.
    let collections =
        app.get(&format!("/api/v1/studio/projects/{shop}/collections"), Some(&owner.access)).await.expect(200);
    assert_eq!(collections.body[0]["name"], "users");
    assert_eq!(collections.body[0]["type"], "auth");
    let actions = app.audit_actions().await;
    assert!(actions.iter().filter(|a| *a == "PROJECT_CREATED").count() == 2, "{actions:?}");
    assert!(actions.contains(&"PROJECT_UPDATED".to_string()));
}

async fn a_deleted_project_goes_to_the_trash_and_comes_back(app: TestApp) {
    let owner = app.signup("trash@studio.example").await;
    let org = app.organization(&owner, "Trash Org").await;
    let id = project(&app, &owner, &org, "Temporary").await;
    app.delete(&format!("/api/v1/studio/projects/{id}"), Some(&owner.access)).await.expect(204);
    app.get(&format!("/api/v1/studio/projects/{id}"), Some(&owner.access)).await.expect(404);
    app.get(&format!("/api/v1/studio/projects/{id}/pages"), Some(&owner.access)).await.expect(404);
    let listed =
        app.get(&format!("/api/v1/studio/projects?organization_id={org}"), Some(&owner.access)).await.expect(200);
    assert_eq!(listed.body["total_items"], 0);
    let trash =
        app.get(&format!("/api/v1/studio/projects?organization_id={org}&deleted=true"), Some(&owner.access)).await;
    assert_eq!(trash.body["items"][0]["id"], id.as_str());
    assert!(trash.body["items"][0]["deleted_at"].is_string());
    let back =
        app.post(&format!("/api/v1/studio/projects/{id}/restore"), Some(&owner.access), json!({})).await.expect(200);
    assert!(back.body["deleted_at"].is_null());
    app.post(&format!("/api/v1/studio/projects/{id}/restore"), Some(&owner.access), json!({})).await.expect(409);

    // Past 30 days the janitor removes it for good, tables included.
    app.delete(&format!("/api/v1/studio/projects/{id}"), Some(&owner.access)).await.expect(204);
    let long_ago = kernel::time::now() - time::Duration::days(31);
    app.db
        .execute("UPDATE studio_projects SET deleted_at = $1 WHERE id = $2", kernel::args![long_ago, &id])
        .await
        .expect("age the deletion");
    app.post(&format!("/api/v1/studio/projects/{id}/restore"), Some(&owner.access), json!({})).await.expect(409);
    assert_eq!(studio::projects::service::purge_deleted(&app.db).await.expect("purge"), 1);
    app.post(&format!("/api/v1/studio/projects/{id}/restore"), Some(&owner.access), json!({})).await.expect(404);
    let ns = collections::ddl::Namespace::for_project(app.db.kind(), &id);
    let table_gone =
        app.db.scalar::<i64>(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", ns.table("users"))), vec![]).await;
    assert!(table_gone.is_err(), "the users table was dropped");
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"PROJECT_DELETED".to_string()) && actions.contains(&"PROJECT_RESTORED".to_string()));
}

async fn duplicate_copies_pages_and_collections(app: TestApp) {
    let owner = app.signup("dup@studio.example").await;
    let org = app.organization(&owner, "Dup Org").await;
    let id = project(&app, &owner, &org, "Original").await;
    app.post(&format!("/api/v1/studio/projects/{id}/pages"), Some(&owner.access), json!({"name": "Home"}))
        .await
        .expect(201);
    app.post(
        &format!("/api/v1/studio/projects/{id}/collections"),
        Some(&owner.access),
        json!({"name": "posts", "fields": [{"name": "title", "type": "text"}]}),
    )
    .await
    .expect(201);
    let copy =
        app.post(&format!("/api/v1/studio/projects/{id}/duplicate"), Some(&owner.access), json!({})).await.expect(201);
    assert_eq!(copy.body["name"], "Original (copy)");
    let copy_id = copy.body["id"].as_str().expect("id");
    assert_ne!(copy_id, id);
    let pages = app.get(&format!("/api/v1/studio/projects/{copy_id}/pages"), Some(&owner.access)).await.expect(200);
    assert_eq!(pages.body[0]["slug"], "home");
    let cols =
        app.get(&format!("/api/v1/studio/projects/{copy_id}/collections"), Some(&owner.access)).await.expect(200);
    let names: Vec<&str> = cols.body.as_array().expect("array").iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, vec!["users", "posts"]);
    // The copy has tables of its own.
    let ns = collections::ddl::Namespace::for_project(app.db.kind(), copy_id);
    let n: i64 = app
        .db
        .scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", ns.table("posts"))), vec![])
        .await
        .expect("table");
    assert_eq!(n, 0);
}

async fn share_links_preview_pages_without_auth_until_revoked(app: TestApp) {
    let owner = app.signup("share@studio.example").await;
    let org = app.organization(&owner, "Share Org").await;
    let id = project(&app, &owner, &org, "Shared").await;
    app.post(
        &format!("/api/v1/studio/projects/{id}/pages"),
        Some(&owner.access),
        json!({"name": "Landing", "document": {"type": "page", "children": [{"type": "heading", "props": {"text": "Hello"}}]}}),
    )
    .await
    .expect(201);
    app.post(&format!("/api/v1/studio/projects/{id}/share-links"), Some(&owner.access), json!({"expires_in_secs": 5}))
        .await
        .expect_field_error(422, "expires_in_secs");
    let link = app
        .post(
            &format!("/api/v1/studio/projects/{id}/share-links"),
            Some(&owner.access),
            json!({"expires_in_secs": 3600}),
        )
        .await
        .expect(201);
    let token = link.body["token"].as_str().expect("token").to_string();
    let link_id = link.body["id"].as_str().expect("id").to_string();
    let preview = app.get(&format!("/api/v1/studio/share/{token}"), None).await.expect(200);
    assert_eq!(preview.body["name"], "Shared");
    assert_eq!(preview.body["pages"][0]["document"]["children"][0]["props"]["text"], "Hello");
    let listed = app.get(&format!("/api/v1/studio/projects/{id}/share-links"), Some(&owner.access)).await.expect(200);
    assert!(listed.body[0].get("token").is_none(), "the token is shown once");
    assert_eq!(listed.body[0]["token_prefix"], &token[..10]);
    app.get("/api/v1/studio/share/shr_not-a-real-token", None).await.expect(404);
    app.delete(&format!("/api/v1/studio/projects/{id}/share-links/{link_id}"), Some(&owner.access)).await.expect(204);
    app.get(&format!("/api/v1/studio/share/{token}"), None).await.expect(404);
    app.delete(&format!("/api/v1/studio/projects/{id}/share-links/{link_id}"), Some(&owner.access)).await.expect(404);
    // An expired link is a 404 too.
    let link = app
        .post(&format!("/api/v1/studio/projects/{id}/share-links"), Some(&owner.access), json!({}))
        .await
        .expect(201);
    let token = link.body["token"].as_str().expect("token").to_string();
    app.db
        .execute(
            "UPDATE studio_share_links SET expires_at = $1 WHERE id = $2",
            kernel::args![kernel::time::now() - time::Duration::seconds(1), link.body["id"].as_str().expect("id")],
        )
        .await
        .expect("expire");
    app.get(&format!("/api/v1/studio/share/{token}"), None).await.expect(404);
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"SHARE_LINK_CREATED".to_string()) && actions.contains(&"SHARE_LINK_REVOKED".to_string()));
}

/// An outsider naming another tenant's project, pages, collections, links or components
/// gets 404 from every Studio operation, and nothing changes.
async fn every_project_endpoint_hides_other_tenants(app: TestApp) {
    let owner = app.signup("tenant-a@studio.example").await;
    let org = app.organization(&owner, "A").await;
    let id = project(&app, &owner, &org, "Secret").await;
    let page = app
        .post(&format!("/api/v1/studio/projects/{id}/pages"), Some(&owner.access), json!({"name": "P"}))
        .await
        .expect(201);
    let page_id = page.body["id"].as_str().expect("id").to_string();
    let link = app
        .post(&format!("/api/v1/studio/projects/{id}/share-links"), Some(&owner.access), json!({}))
        .await
        .expect(201);
    let link_id = link.body["id"].as_str().expect("id").to_string();
    let component = app
        .post(
            "/api/v1/studio/components",
            Some(&owner.access),
            json!({"organization_id": org, "name": "hero", "document": {"type": "section"}}),
        )
        .await
        .expect(201);
    let component_id = component.body["id"].as_str().expect("id").to_string();
    let created_app = app
        .post("/api/v1/runtime/apps", Some(&owner.access), json!({"project_id": id, "slug": "secret-app", "name": "S"}))
        .await
        .expect(201);
    let app_id = created_app.body["id"].as_str().expect("id").to_string();
    let outsider = app.signup("tenant-b@studio.example").await;
    let other_org = app.organization(&outsider, "B").await;
    let body =
        json!({"name": "taken", "organization_id": org, "document": {"type": "page"}, "fields": [], "number": 1});

    let spec = app.get("/api/openapi.json", None).await.expect(200).body;
    let mut checked = 0;
    for (template, item) in spec["paths"].as_object().expect("paths") {
        let scoped = template.starts_with("/api/v1/studio/projects/{id}")
            || template.starts_with("/api/v1/studio/components/{id}");
        if !scoped {
            continue;
        }
        let project_or_component = if template.contains("/components/") {
            &component_id
        } else if template.contains("/runtime/apps/") {
            &app_id
        } else {
            &id
        };
        let path = template
            .replace("{id}", project_or_component)
            .replace("{page_id}", &page_id)
            .replace("{version}", "1")
            .replace("{collection}", "users")
            .replace("{link_id}", &link_id);
        let path = if path.ends_with("/diff") { format!("{path}?from=1&to=1") } else { path };
        for method in item.as_object().expect("operations").keys() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
            let payload = if path.ends_with("/collections/import") { json!([]) } else { body.clone() };
            let r = app.request(method.clone(), &path, Some(&outsider.access), Some(payload)).await;
            assert_eq!(r.status, 404, "{method} {template} as an outsider: {}", r.body);
            checked += 1;
        }
    }
    assert!(checked >= 25, "{checked} operations checked");
    for path in [
        format!("/api/v1/studio/projects?organization_id={org}"),
        format!("/api/v1/studio/components?organization_id={org}"),
    ] {
        app.get(&path, Some(&outsider.access)).await.expect(404);
    }
    app.post("/api/v1/studio/projects", Some(&outsider.access), json!({"organization_id": org, "name": "x"}))
        .await
        .expect(404);
    app.post(&format!("/api/v1/studio/projects/import?organization_id={org}"), Some(&outsider.access), json!({}))
        .await
        .expect(422);
    // Nothing changed for the owner, and the outsider's own organization sees nothing.
    let still = app.get(&format!("/api/v1/studio/projects/{id}"), Some(&owner.access)).await.expect(200);
    assert_eq!(still.body["name"], "Secret");
    assert!(still.body["deleted_at"].is_null());
    let theirs = app.get(&format!("/api/v1/studio/projects?organization_id={other_org}"), Some(&outsider.access)).await;
    assert_eq!(theirs.body["total_items"], 0);
    app.get(&format!("/api/v1/studio/share/{}", link.body["token"].as_str().expect("token")), None).await.expect(200);
}

async fn api_keys_act_for_their_organization_only(app: TestApp) {
    let owner = app.signup("keys@studio.example").await;
    let org = app.organization(&owner, "Keys Org").await;
    let other = app.organization(&owner, "Other Org").await;
    let key = app
        .post(
            "/api/v1/foundation/api-keys",
            Some(&owner.access),
            json!({"organization_id": org, "name": "ci", "role": "MEMBER"}),
        )
        .await
        .expect(201);
    let secret = key.body["secret"].as_str().expect("secret").to_string();
    let made = app
        .post("/api/v1/studio/projects", Some(&secret), json!({"organization_id": org, "name": "By key"}))
        .await
        .expect(201);
    let id = made.body["id"].as_str().expect("id");
    app.get(&format!("/api/v1/studio/projects/{id}"), Some(&secret)).await.expect(200);
    app.post("/api/v1/studio/projects", Some(&secret), json!({"organization_id": other, "name": "Elsewhere"}))
        .await
        .expect(404);
    // Favorites belong to people, not keys.
    app.put(&format!("/api/v1/studio/projects/{id}/favorite"), Some(&secret), json!({})).await.expect(403);
}
