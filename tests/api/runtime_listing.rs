//! Runtime listings: pages walked in sort order with ties and mixed values, and records that
//! read the same whether the server sends them as SQL built them or through its own JSON.

use serde_json::{Value, json};

use crate::on_both_databases;
use crate::studio_projects::project;
use crate::support::{Session, TestApp};

on_both_databases!(
    pages_hold_every_record_once_in_sort_order,
    records_read_the_same_on_every_path,
    field_modifiers_add_append_and_remove
);

/// An app `slug` with one public collection `items` of `fields`, deployed: the builder, the
/// project id and the app id.
pub async fn app_with(app: &TestApp, email: &str, slug: &str, fields: Value) -> (Session, String, String) {
    let owner = app.signup(email).await;
    let org = app.organization(&owner, "Lists").await;
    let id = project(app, &owner, &org, "Lists").await;
    let collection = json!({"name": "items", "fields": fields,
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": ""});
    app.post(&format!("/api/v1/studio/projects/{id}/collections"), Some(&owner.access), collection).await.expect(201);
    let app_id = crate::runtime::create_and_deploy(app, &owner, &id, slug).await;
    (owner, id, app_id)
}

fn fields_of_paths(secret_hidden: bool) -> Value {
    json!([
        {"name": "title", "type": "text"},
        {"name": "score", "type": "number"},
        {"name": "done", "type": "bool"},
        {"name": "meta", "type": "json"},
        {"name": "kinds", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
        {"name": "secret", "type": "text", "hidden": secret_hidden}
    ])
}

fn ids(items: &Value) -> Vec<String> {
    items.as_array().expect("items").iter().map(|r| r["id"].as_str().expect("id").to_string()).collect()
}

async fn pages_hold_every_record_once_in_sort_order(app: TestApp) {
    app_with(
        &app,
        "pages@lists.example",
        "pages",
        json!([{"name": "rank", "type": "number"}, {"name": "label", "type": "text"}]),
    )
    .await;
    let base = "/apps/pages/api/collections/items/records";
    // Ties on purpose, and whole and fractional numbers mixed: the id breaks ties.
    let ranks: [f64; 23] = [
        3.0, 1.0, 2.5, 3.0, 0.0, 2.0, 3.0, 1.0, 2.5, 4.0, 2.0, 0.0, 3.0, 1.5, 2.0, 4.0, 1.0, 3.0, 2.0, 0.5, 2.0, 1.0,
        3.0,
    ];
    let mut records = Vec::new();
    for (i, rank) in ranks.iter().enumerate() {
        let label = ["b", "a", "c"][i % 3];
        let r = app.post(base, None, json!({"rank": rank, "label": label})).await.expect(200);
        records.push((r.body["id"].as_str().expect("id").to_string(), *rank, label));
    }
    let mut expected = records.clone();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut walked = Vec::new();
    for page in 1..=6 {
        let r = app.get(&format!("{base}?sort=-rank&perPage=4&page={page}"), None).await.expect(200);
        assert_eq!((r.body["totalItems"].as_i64(), r.body["totalPages"].as_i64()), (Some(23), Some(6)));
        walked.extend(ids(&r.body["items"]));
    }
    assert_eq!(walked, expected.iter().map(|r| r.0.clone()).collect::<Vec<_>>(), "pages in -rank, id order");

    // Two keys, a filter, and the page past the end.
    let mut filtered: Vec<_> = records.iter().filter(|r| r.1 >= 2.0).cloned().collect();
    filtered.sort_by(|a, b| a.2.cmp(b.2).then_with(|| b.1.total_cmp(&a.1)).then_with(|| a.0.cmp(&b.0)));
    let filter = crate::runtime::urlencode("rank >= 2");
    let r = app.get(&format!("{base}?filter={filter}&sort=label,-rank&perPage=5&page=2"), None).await.expect(200);
    assert_eq!(r.body["totalItems"].as_i64(), Some(filtered.len() as i64));
    assert_eq!(ids(&r.body["items"]), filtered.iter().skip(5).take(5).map(|r| r.0.clone()).collect::<Vec<_>>());
    let r = app.get(&format!("{base}?filter={filter}&perPage=5&page=9"), None).await.expect(200);
    assert_eq!(r.body["items"], json!([]));
    assert_eq!(r.body["totalItems"].as_i64(), Some(filtered.len() as i64), "a page past the end still counts");
    let r = app.get(&format!("{base}?sort=-rank&perPage=3&skipTotal=1"), None).await.expect(200);
    assert_eq!((r.body["totalItems"].as_i64(), r.body["totalPages"].as_i64()), (Some(-1), Some(-1)));
    assert_eq!(ids(&r.body["items"]), expected.iter().take(3).map(|r| r.0.clone()).collect::<Vec<_>>());
    // Ascending by id alone, and a random order that still holds every record once.
    let r = app.get(&format!("{base}?sort=id&perPage=100"), None).await.expect(200);
    let mut by_id: Vec<String> = records.iter().map(|r| r.0.clone()).collect();
    by_id.sort();
    assert_eq!(ids(&r.body["items"]), by_id);
    let r = app.get(&format!("{base}?sort=@random&perPage=100"), None).await.expect(200);
    let mut random = ids(&r.body["items"]);
    random.sort();
    assert_eq!(random, by_id);
}

async fn records_read_the_same_on_every_path(app: TestApp) {
    let (owner, project_id, app_id) = app_with(&app, "paths@lists.example", "paths", fields_of_paths(false)).await;
    let base = "/apps/paths/api/collections/items/records";
    let title = "quote \" backslash \\ é 😀 line\nbreak\ttab \u{1} </script>";
    let created = app
        .post(
            base,
            None,
            json!({"title": title, "score": 2.5, "done": true, "meta": {"a": [1, null, "x"], "b": 1e21},
                   "kinds": ["c", "a"], "secret": "s"}),
        )
        .await
        .expect(200);
    let id = created.body["id"].as_str().expect("id").to_string();
    assert_eq!(created.body["title"], title);
    let viewed = app.get(&format!("{base}/{id}"), None).await.expect(200);
    assert_eq!(viewed.body, created.body, "a view as SQL built it equals the record as created");
    let listed = app.get(base, None).await.expect(200);
    assert_eq!(listed.body["items"], json!([created.body.clone()]));
    // `fields` and `expand` take the parsed path: the same record.
    let projected = app.get(&format!("{base}/{id}?fields=*"), None).await.expect(200);
    assert_eq!(projected.body, created.body);
    let expanded = app.get(&format!("{base}?expand=kinds"), None).await.expect(200);
    assert_eq!(expanded.body["items"], listed.body["items"]);

    // A hidden field: left out for end users, on the list and the view; builders see it.
    app.patch(
        &format!("/api/v1/studio/projects/{project_id}/collections/items"),
        Some(&owner.access),
        json!({"fields": fields_of_paths(true)}),
    )
    .await
    .expect(200);
    app.post(&format!("/api/v1/runtime/apps/{app_id}/deploy"), Some(&owner.access), json!({})).await.expect(201);
    let viewed = app.get(&format!("{base}/{id}"), None).await.expect(200);
    assert!(viewed.body.get("secret").is_none(), "hidden from end users: {}", viewed.body);
    assert_eq!(viewed.body["title"], title);
    let listed = app.get(base, None).await.expect(200);
    assert!(listed.body["items"][0].get("secret").is_none(), "hidden from end users' lists");
    let builder = format!("Bearer {}", owner.access);
    let mut req = app.client.get(app.url(&format!("{base}/{id}")));
    req = req.header("authorization", builder);
    let as_builder = TestApp::read(req.send().await.expect("send")).await.expect(200);
    assert_eq!(as_builder.body["secret"], "s", "builders act as superusers");
}

/// PocketBase's modifiers: `views+` / `views-` add and subtract, `tags+` appends, `+tags`
/// prepends, `tags-` removes; on create they start from the field's zero. A modifier's value
/// is validated like any value.
async fn field_modifiers_add_append_and_remove(app: TestApp) {
    let fields = json!([
        {"name": "views", "type": "number", "max": 100},
        {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
        {"name": "title", "type": "text"}
    ]);
    app_with(&app, "modifiers@lists.example", "modifiers", fields).await;
    let base = "/apps/modifiers/api/collections/items/records";
    let created = app.post(base, None, json!({"views+": 3, "tags+": "b", "title": "x"})).await.expect(200);
    assert_eq!((&created.body["views"], &created.body["tags"]), (&json!(3), &json!(["b"])));
    let path = format!("{base}/{}", created.body["id"].as_str().expect("id"));
    app.patch(&path, None, json!({"views+": 10, "tags+": ["c", "b"]})).await.expect(200);
    let after = app.patch(&path, None, json!({"views-": 1, "+tags": "a", "tags-": "c"})).await.expect(200);
    assert_eq!((&after.body["views"], &after.body["tags"]), (&json!(12), &json!(["a", "b"])));
    // The result is validated: past the field's max, or a value not allowed.
    app.patch(&path, None, json!({"views+": 100})).await.expect(400);
    app.patch(&path, None, json!({"tags+": "z"})).await.expect(400);
    let kept = app.get(&path, None).await.expect(200);
    assert_eq!((&kept.body["views"], &kept.body["tags"]), (&json!(12), &json!(["a", "b"])));
}
