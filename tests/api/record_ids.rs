//! Record ids: PocketBase's shape (15 characters of `[a-z0-9]`), ordered by creation time,
//! drawn again when a generated one is taken, refused when a given one is.

use collections::ddl::Namespace;
use collections::model::Collection;
use collections::rows;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{Session, TestApp};

on_both_databases!(
    generated_ids_follow_creation_order_and_a_taken_given_id_is_refused,
    a_taken_generated_id_is_drawn_again
);

/// An app `slug` with a public `items` collection of titles, deployed: (builder, project
/// id, app id).
async fn titles_app(app: &TestApp, slug: &str) -> (Session, String, String) {
    let fields = json!([{"name": "title", "type": "text"}]);
    crate::runtime_listing::app_with(app, &format!("owner@{slug}.example"), slug, fields).await
}

fn id_of(record: &Value) -> String {
    record["id"].as_str().expect("record id").to_string()
}

async fn generated_ids_follow_creation_order_and_a_taken_given_id_is_refused(app: TestApp) {
    titles_app(&app, "ordered").await;
    let records = "/apps/ordered/api/collections/items/records";
    let mut ids = Vec::new();
    for n in 0..5 {
        let created = app.post(records, None, json!({"title": format!("note {n}")})).await.expect(200);
        ids.push(id_of(&created.body));
        // Ids order by the millisecond; a few apart, each is after the one before.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    for id in &ids {
        assert_eq!(id.len(), 15, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{id}");
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "ids sort as they were created");
    assert!(ids.windows(2).all(|w| w[0] != w[1]));

    // A given id is kept; one that is taken is a field error and changes nothing.
    let given = app.post(records, None, json!({"id": "givenid12345678", "title": "mine"})).await.expect(200);
    assert_eq!(id_of(&given.body), "givenid12345678");
    let taken = app.post(records, None, json!({"id": ids[0], "title": "overwrite?"})).await.expect(400);
    assert_eq!(taken.body["data"]["id"]["code"], "validation_not_unique", "{}", taken.body);
    let kept = app.get(&format!("{records}/{}", ids[0]), None).await.expect(200);
    assert_eq!(kept.body["title"], "note 0");
    let all = app.get(records, None).await.expect(200);
    assert_eq!(all.body["totalItems"], 6);
}

async fn a_taken_generated_id_is_drawn_again(app: TestApp) {
    let (owner, project_id, app_id) = titles_app(&app, "redraw").await;
    let records = "/apps/redraw/api/collections/items/records";
    let taken = id_of(&app.post(records, None, json!({"title": "first"})).await.expect(200).body);
    let collections =
        app.get(&format!("/api/v1/studio/projects/{project_id}/collections"), Some(&owner.access)).await.expect(200);
    let collection = collections
        .body
        .as_array()
        .and_then(|all| all.iter().find(|c| c["name"] == "items"))
        .cloned()
        .expect("the items collection");
    let collection: Collection = serde_json::from_value(collection).expect("a collection");
    let ns = Namespace::for_app(app.db.kind(), &app_id);
    let statement: std::sync::Arc<str> = rows::insert_returning_statement(&ns, &collection).into();
    let values = serde_json::Map::from_iter([("title".to_string(), json!("second"))]);

    // The generator first draws the taken id: the insert draws again instead of failing.
    let mut draws = vec!["fresh0000000001".to_string(), taken.clone()];
    let mut tx = app.db.begin().await.expect("a transaction");
    let row = rows::insert_row_returning_with(&mut tx, statement.clone(), &collection, &values, &mut || {
        draws.pop().unwrap_or_default()
    })
    .await
    .expect("inserted under a second id");
    assert_eq!(id_of(&Value::Object(row)), "fresh0000000001");
    // A generator that keeps drawing taken ids gives up with a conflict, in a transaction
    // that can still commit (on PostgreSQL too).
    let always_taken =
        rows::insert_row_returning_with(&mut tx, statement.clone(), &collection, &values, &mut || taken.clone()).await;
    assert!(matches!(always_taken, Err(kernel::Error::Conflict(_))), "{always_taken:?}");
    tx.commit().await.expect("committed");

    let second = app.get(&format!("{records}/fresh0000000001"), None).await.expect(200);
    assert_eq!(second.body["title"], "second");
    let first = app.get(&format!("{records}/{taken}"), None).await.expect(200);
    assert_eq!(first.body["title"], "first");
    assert_eq!(app.get(records, None).await.expect(200).body["totalItems"], 2);
}
