//! Runtime: apps, deployments and rollbacks, and the PocketBase-compatible records API with
//! rules, filters, sorting, expansion, field selection, end-user auth and tenancy.

use serde_json::{Value, json};

use crate::on_both_databases;
use crate::studio_projects::project;
use crate::support::{PATIENCE, Session, TestApp};

/// How long a realtime client listens to conclude that nothing (else) was delivered. Such a
/// check cannot fail falsely: a correct server sends nothing however long one listens, and a
/// slow machine can only make the window miss a wrong event. Positive waits use
/// [`PATIENCE`] and end when the event comes.
const QUIET: std::time::Duration = std::time::Duration::from_millis(1500);

on_both_databases!(
    deployments_migrate_app_data_and_roll_back,
    a_deployment_swapping_collection_names_keeps_each_ones_records,
    records_follow_rules_and_the_pocketbase_dialect,
    apps_are_isolated
);

/// A project with `posts` (rules for a small blog), an app for it, deployed. Returns the
/// builder, the project id and the app id.
pub async fn blog(app: &TestApp, email: &str, slug: &str) -> (Session, String, String) {
    let owner = app.signup(email).await;
    let org = app.organization(&owner, "Apps").await;
    let id = project(app, &owner, &org, "Blog").await;
    app.post(
        &format!("/api/v1/studio/projects/{id}/collections"),
        Some(&owner.access),
        json!({"name": "posts", "fields": [
            {"name": "title", "type": "text", "required": true, "max": 100},
            {"name": "views", "type": "number", "min": 0},
            {"name": "published", "type": "bool"},
            {"name": "tags", "type": "select", "values": ["news", "tech"], "maxSelect": 2},
            {"name": "author", "type": "relation", "collectionId": "users"},
            {"name": "cover", "type": "file", "maxSelect": 1, "maxSize": 100000, "mimeTypes": ["image/png"]}
        ],
        "listRule": "published = true || author = @request.auth.id",
        "viewRule": "published = true || author = @request.auth.id",
        "createRule": "@request.auth.id != '' && author = @request.auth.id",
        "updateRule": "author = @request.auth.id",
        "deleteRule": null}),
    )
    .await
    .expect(201);
    let app_id = create_and_deploy(app, &owner, &id, slug).await;
    (owner, id, app_id)
}

/// An app `slug` of project `project_id`, created and deployed by `owner`: its id.
pub async fn create_and_deploy(app: &TestApp, owner: &Session, project_id: &str, slug: &str) -> String {
    let created = app
        .post(
            "/api/v1/runtime/apps",
            Some(&owner.access),
            json!({"project_id": project_id, "slug": slug, "name": slug}),
        )
        .await
        .expect(201);
    let app_id = created.body["id"].as_str().expect("app id").to_string();
    app.post(&format!("/api/v1/runtime/apps/{app_id}/deploy"), Some(&owner.access), json!({})).await.expect(201);
    app_id
}

/// Sign an end user up and in through the app's own API; returns (token, record id).
pub async fn end_user(app: &TestApp, slug: &str, email: &str) -> (String, String) {
    let base = format!("/apps/{slug}/api/collections/users");
    let password = "secret-pass-123";
    app.post(
        &format!("{base}/records"),
        None,
        json!({"email": email, "password": password, "passwordConfirm": password, "name": "U"}),
    )
    .await
    .expect(200);
    let auth = app
        .post(&format!("{base}/auth-with-password"), None, json!({"identity": email, "password": password}))
        .await
        .expect(200);
    (
        auth.body["token"].as_str().expect("token").to_string(),
        auth.body["record"]["id"].as_str().expect("id").to_string(),
    )
}

async fn pb(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> crate::support::Resp {
    // PocketBase's SDK sends the token bare, without "Bearer".
    let mut req = app.client.request(method, app.url(path));
    if let Some(t) = token {
        req = req.header("authorization", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    TestApp::read(req.send().await.expect("send")).await
}

/// Renames that pass through each other's names between two deployments (`a` and `b`
/// swapped, `a` renamed and a new `a` created) are applied as one deployment: each table
/// first moves aside, so no rename or creation meets a table still holding its new name.
async fn a_deployment_swapping_collection_names_keeps_each_ones_records(app: TestApp) {
    let owner = app.signup("swap@runtime.example").await;
    let org = app.organization(&owner, "Swaps").await;
    let project_id = project(&app, &owner, &org, "Swaps").await;
    let studio = format!("/api/v1/studio/projects/{project_id}/collections");
    for name in ["a", "b"] {
        let collection = json!({"name": name, "fields": [{"name": "title", "type": "text"}]});
        app.post(&studio, Some(&owner.access), collection).await.expect(201);
    }
    let app_id = create_and_deploy(&app, &owner, &project_id, "swaps").await;
    let records = |name: &str| format!("/apps/swaps/api/collections/{name}/records");
    for name in ["a", "b"] {
        app.post(&records(name), Some(&owner.access), json!({"title": format!("was in {name}")})).await.expect(200);
    }
    let titles = |name: &'static str| {
        let (app, owner) = (&app, &owner);
        async move {
            let list = app.get(&format!("/apps/swaps/api/collections/{name}/records"), Some(&owner.access)).await;
            let items = list.expect(200).body["items"].clone();
            items.as_array().expect("items").iter().map(|r| r["title"].clone()).collect::<Vec<_>>()
        }
    };
    let deploy_path = format!("/api/v1/runtime/apps/{app_id}/deploy");
    let deploy = || app.post(&deploy_path, Some(&owner.access), json!({}));
    // `a` and `b` swapped.
    for (from, to) in [("a", "tmp"), ("b", "a"), ("tmp", "b")] {
        app.patch(&format!("{studio}/{from}"), Some(&owner.access), json!({"name": to})).await.expect(200);
    }
    deploy().await.expect(201);
    assert_eq!(titles("b").await, vec![json!("was in a")]);
    assert_eq!(titles("a").await, vec![json!("was in b")]);
    // `a` renamed to `c`, and a new `a`.
    app.patch(&format!("{studio}/a"), Some(&owner.access), json!({"name": "c"})).await.expect(200);
    app.post(&studio, Some(&owner.access), json!({"name": "a", "fields": [{"name": "title", "type": "text"}]}))
        .await
        .expect(201);
    deploy().await.expect(201);
    assert_eq!(titles("c").await, vec![json!("was in b")]);
    assert_eq!(titles("a").await, Vec::<Value>::new());
    assert_eq!(titles("b").await, vec![json!("was in a")]);
}

async fn deployments_migrate_app_data_and_roll_back(app: TestApp) {
    let (owner, project_id, app_id) = blog(&app, "deploy@runtime.example", "deploys").await;
    let records = "/apps/deploys/api/collections/posts/records";
    let mine = app.post(records, Some(&owner.access), json!({"title": "Kept", "views": 3})).await.expect(200);
    assert_eq!(mine.body["collectionName"], "posts");
    // A change in the Studio is not live until deployed.
    let posts = app
        .get(&format!("/api/v1/studio/projects/{project_id}/collections/posts"), Some(&owner.access))
        .await
        .expect(200);
    let mut fields = posts.body["fields"].as_array().expect("fields").clone();
    fields.push(json!({"name": "summary", "type": "text"}));
    app.patch(
        &format!("/api/v1/studio/projects/{project_id}/collections/posts"),
        Some(&owner.access),
        json!({"fields": fields}),
    )
    .await
    .expect(200);
    let before = app.get(records, Some(&owner.access)).await.expect(200);
    assert!(before.body["items"][0].get("summary").is_none());
    let d2 =
        app.post(&format!("/api/v1/runtime/apps/{app_id}/deploy"), Some(&owner.access), json!({})).await.expect(201);
    assert_eq!(d2.body["number"], 2);
    assert!(d2.body["operations"].as_array().expect("ops").iter().any(|o| o == "add field summary"));
    let after = app.get(records, Some(&owner.access)).await.expect(200);
    assert_eq!(after.body["items"][0]["title"], "Kept");
    assert_eq!(after.body["items"][0]["summary"], "");
    let id = after.body["items"][0]["id"].as_str().expect("id").to_string();
    app.patch(&format!("{records}/{id}"), Some(&owner.access), json!({"summary": "now used"})).await.expect(200);
    // Rolling back would drop a field that holds data: refused unless forced.
    app.post(&format!("/api/v1/runtime/apps/{app_id}/rollback"), Some(&owner.access), json!({"number": 1}))
        .await
        .expect(409);
    let d3 = app
        .post(
            &format!("/api/v1/runtime/apps/{app_id}/rollback"),
            Some(&owner.access),
            json!({"number": 1, "force": true}),
        )
        .await
        .expect(201);
    assert_eq!(d3.body["source"], "rollback to 1");
    let rolled = app.get(&format!("{records}/{id}"), Some(&owner.access)).await.expect(200);
    assert!(rolled.body.get("summary").is_none());
    assert_eq!(rolled.body["views"], 3);
    let list = app.get(&format!("/api/v1/runtime/apps/{app_id}/deployments"), Some(&owner.access)).await.expect(200);
    let numbers: Vec<i64> = list.body.as_array().expect("array").iter().filter_map(|d| d["number"].as_i64()).collect();
    assert_eq!(numbers, vec![3, 2, 1]);
    app.post(&format!("/api/v1/runtime/apps/{app_id}/rollback"), Some(&owner.access), json!({"number": 9}))
        .await
        .expect_field_error(422, "number");
    // Slugs are unique and well-formed.
    app.post(
        "/api/v1/runtime/apps",
        Some(&owner.access),
        json!({"project_id": project_id, "slug": "deploys", "name": "Again"}),
    )
    .await
    .expect_field_error(422, "slug");
    app.post(
        "/api/v1/runtime/apps",
        Some(&owner.access),
        json!({"project_id": project_id, "slug": "Bad Slug", "name": "x"}),
    )
    .await
    .expect_field_error(422, "slug");
    // An app without a deployment has no API yet; deleting an app deletes its data.
    let fresh = app
        .post(
            "/api/v1/runtime/apps",
            Some(&owner.access),
            json!({"project_id": project_id, "slug": "fresh", "name": "F"}),
        )
        .await
        .expect(201);
    app.get("/apps/fresh/api/collections/posts/records", Some(&owner.access)).await.expect(404);
    app.delete(&format!("/api/v1/runtime/apps/{}", fresh.body["id"].as_str().expect("id")), Some(&owner.access))
        .await
        .expect(204);
    app.delete(&format!("/api/v1/runtime/apps/{app_id}"), Some(&owner.access)).await.expect(204);
    app.get(records, Some(&owner.access)).await.expect(404);
}

async fn records_follow_rules_and_the_pocketbase_dialect(app: TestApp) {
    let (owner, _, _) = blog(&app, "rules@runtime.example", "rules").await;
    let records = "/apps/rules/api/collections/posts/records";
    let health = app.get("/apps/rules/api/health", None).await.expect(200);
    assert_eq!(health.body["message"], "API is healthy.");
    let (alice, alice_id) = end_user(&app, "rules", "alice@users.example").await;
    let (bob, bob_id) = end_user(&app, "rules", "bob@users.example").await;
    // Creating needs a signed-in author who is the caller.
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    let r = pb(&app, post.clone(), records, None, Some(json!({"title": "x", "author": alice_id}))).await;
    assert_eq!(r.status, 400);
    let r = pb(&app, post.clone(), records, Some(&bob), Some(json!({"title": "x", "author": alice_id}))).await;
    assert_eq!(r.status, 400, "bob cannot write as alice: {}", r.body);
    for (title, views, published, tags) in [
        ("Hello", 10, true, json!(["news"])),
        ("Draft", 2, false, json!([])),
        ("Tech", 7, true, json!(["tech", "news"])),
    ] {
        pb(
            &app,
            post.clone(),
            records,
            Some(&alice),
            Some(json!({"title": title, "views": views, "published": published, "tags": tags, "author": alice_id})),
        )
        .await
        .expect(200);
    }
    // Field validation in PocketBase's shape.
    let bad = pb(
        &app,
        post.clone(),
        records,
        Some(&alice),
        Some(json!({"title": "", "views": -1, "tags": ["other"], "author": alice_id})),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["data"]["title"]["code"], "validation_required");
    assert_eq!(bad.body["data"]["views"]["code"], "validation_min_number_constraint");
    assert_eq!(bad.body["data"]["tags"]["code"], "validation_invalid_value");
    let missing = pb(&app, post.clone(), records, Some(&alice), Some(json!({"title": "x", "author": "nope"}))).await;
    assert_eq!(missing.body["data"]["author"]["code"], "validation_missing_rel_records");
    // Guests see published posts only; the author sees her draft too.
    let guest = pb(&app, get.clone(), &format!("{records}?sort=-views"), None, None).await.expect(200);
    let titles = |b: &Value| {
        b["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["title"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(titles(&guest.body), vec!["Hello", "Tech"]);
    assert_eq!(guest.body["totalItems"], 2);
    assert_eq!(guest.body["perPage"], 30);
    let own = pb(&app, get.clone(), &format!("{records}?sort=title"), Some(&alice), None).await.expect(200);
    assert_eq!(titles(&own.body), vec!["Draft", "Hello", "Tech"]);
    // filter, paging, skipTotal, expand, fields.
    let filtered = pb(
        &app,
        get.clone(),
        &format!("{records}?sort=title&filter={}", urlencode("views > 5 && tags ?= 'news'")),
        None,
        None,
    )
    .await
    .expect(200);
    assert_eq!(titles(&filtered.body), vec!["Hello", "Tech"]);
    let paged =
        pb(&app, get.clone(), &format!("{records}?sort=title&perPage=1&page=2&skipTotal=1"), Some(&alice), None)
            .await
            .expect(200);
    assert_eq!(titles(&paged.body), vec!["Hello"]);
    assert_eq!(paged.body["totalItems"], -1);
    let expanded = pb(
        &app,
        get.clone(),
        &format!("{records}?filter={}&expand=author&fields=id,title,expand.author.name", urlencode("title = 'Hello'")),
        Some(&alice),
        None,
    )
    .await
    .expect(200);
    let item = &expanded.body["items"][0];
    assert_eq!(item["title"], "Hello");
    assert_eq!(item["expand"]["author"]["name"], "U");
    assert!(item.get("views").is_none() && item["expand"]["author"].get("email").is_none());
    let bad_filter = pb(&app, get.clone(), &format!("{records}?filter={}", urlencode("title = ")), None, None).await;
    assert_eq!(bad_filter.status, 400);
    assert!(
        bad_filter.body["data"]["filter"]["message"].as_str().is_some_and(|m| m.contains("position")),
        "{}",
        bad_filter.body
    );
    assert_eq!(pb(&app, get.clone(), &format!("{records}?sort=nope"), None, None).await.status, 400);
    // A guest's email is hidden unless visible; the owner sees their own.
    let users =
        pb(&app, get.clone(), &format!("/apps/rules/api/collections/users/records/{alice_id}"), Some(&alice), None)
            .await
            .expect(200);
    assert_eq!(users.body["email"], "alice@users.example");
    assert!(users.body.get("password").is_none() && users.body.get("tokenKey").is_none());
    // view/update/delete answer as PocketBase does.
    let draft = own.body["items"][0]["id"].as_str().expect("id").to_string();
    assert_eq!(pb(&app, get.clone(), &format!("{records}/{draft}"), Some(&bob), None).await.status, 404);
    assert_eq!(
        pb(&app, reqwest::Method::PATCH, &format!("{records}/{draft}"), Some(&bob), Some(json!({"title": "hacked"})))
            .await
            .status,
        404
    );
    let edited = pb(
        &app,
        reqwest::Method::PATCH,
        &format!("{records}/{draft}"),
        Some(&alice),
        Some(json!({"title": "Draft 2"})),
    )
    .await
    .expect(200);
    assert_eq!(edited.body["title"], "Draft 2");
    assert_eq!(pb(&app, reqwest::Method::DELETE, &format!("{records}/{draft}"), Some(&alice), None).await.status, 403);
    // The builder is the app's superuser.
    app.delete(&format!("{records}/{draft}"), Some(&owner.access)).await;
    assert_eq!(pb(&app, get.clone(), &format!("{records}/{draft}"), Some(&alice), None).await.status, 404);
    // Unknown collections and records, malformed bodies.
    assert_eq!(pb(&app, get.clone(), "/apps/rules/api/collections/nope/records", None, None).await.status, 404);
    let r = app
        .client
        .post(app.url(records))
        .header("authorization", &alice)
        .header("content-type", "application/json")
        .body("{\"title\":")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    // Token refresh; wrong passwords fail without saying why; a password change ends sessions.
    let refreshed =
        pb(&app, post.clone(), "/apps/rules/api/collections/users/auth-refresh", Some(&bob), None).await.expect(200);
    assert!(refreshed.body["token"].is_string());
    assert_eq!(pb(&app, post.clone(), "/apps/rules/api/collections/users/auth-refresh", None, None).await.status, 401);
    let wrong = pb(
        &app,
        post.clone(),
        "/apps/rules/api/collections/users/auth-with-password",
        None,
        Some(json!({"identity": "bob@users.example", "password": "nope-nope-nope"})),
    )
    .await;
    assert_eq!(wrong.status, 400);
    pb(&app, reqwest::Method::PATCH, &format!("/apps/rules/api/collections/users/records/{bob_id}"), Some(&bob),
        Some(json!({"password": "another-pass-456", "passwordConfirm": "another-pass-456", "oldPassword": "secret-pass-123"}))).await.expect(200);
    assert_eq!(
        pb(&app, post.clone(), "/apps/rules/api/collections/users/auth-refresh", Some(&bob), None).await.status,
        401
    );
    let methods = pb(&app, get, "/apps/rules/api/collections/users/auth-methods", None, None).await.expect(200);
    assert_eq!(methods.body["password"]["identityFields"], json!(["email"]));
}

async fn apps_are_isolated(app: TestApp) {
    let (owner_a, _, _) = blog(&app, "a@runtime.example", "app-a").await;
    let (owner_b, _, app_b) = blog(&app, "b@runtime.example", "app-b").await;
    let (alice, alice_id) = end_user(&app, "app-a", "alice@a.example").await;
    pb(
        &app,
        reqwest::Method::POST,
        "/apps/app-a/api/collections/posts/records",
        Some(&alice),
        Some(json!({"title": "A only", "published": true, "author": alice_id})),
    )
    .await
    .expect(200);
    // App A's token means nothing to app B; app B's data does not show A's records.
    let r = pb(&app, reqwest::Method::POST, "/apps/app-b/api/collections/users/auth-refresh", Some(&alice), None).await;
    assert_eq!(r.status, 401);
    let b = app.get("/apps/app-b/api/collections/posts/records", Some(&owner_b.access)).await.expect(200);
    assert_eq!(b.body["totalItems"], 0);
    // A builder of another organization is a guest in app A and cannot manage app B.
    let listed = app.get("/apps/app-a/api/collections/users/records", Some(&owner_b.access)).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["totalItems"], 0, "users' listRule hides them from guests");
    app.post(&format!("/api/v1/runtime/apps/{app_b}/deploy"), Some(&owner_a.access), json!({})).await.expect(404);
    app.get(&format!("/api/v1/runtime/apps/{app_b}"), Some(&owner_a.access)).await.expect(404);
    app.get(&format!("/api/v1/runtime/apps/{app_b}/deployments"), None).await.expect(401);
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

on_both_databases!(realtime_events_reach_only_allowed_subscribers, realtime_events_arrive_in_commit_order);

/// An SSE client: reads `event:`/`data:` frames from a live response.
pub(crate) struct Sse {
    resp: reqwest::Response,
    buffer: String,
}

impl Sse {
    pub(crate) async fn open(app: &TestApp, slug: &str) -> (Sse, String) {
        let resp = app.client.get(app.url(&format!("/apps/{slug}/api/realtime"))).send().await.expect("connect");
        assert_eq!(resp.status(), 200);
        let mut sse = Sse { resp, buffer: String::new() };
        let (name, data) = sse.next().await.expect("PB_CONNECT");
        assert_eq!(name, "PB_CONNECT");
        (sse, data["clientId"].as_str().expect("clientId").to_string())
    }

    /// The next event; None if the stream ends or stays silent for [`PATIENCE`].
    pub(crate) async fn next(&mut self) -> Option<(String, Value)> {
        self.next_within(PATIENCE).await
    }

    /// Whether no event comes within [`QUIET`].
    async fn quiet(&mut self) -> bool {
        self.next_within(QUIET).await.is_none()
    }

    async fn next_within(&mut self, wait: std::time::Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let (mut name, mut data) = (String::new(), String::new());
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if name.is_empty() {
                    continue; // keep-alive comment
                }
                return Some((name, serde_json::from_str(&data).unwrap_or(Value::Null)));
            }
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }
}

/// Set an SSE client's topics through the app's API, as the caller `token` (or a guest).
pub(crate) async fn subscribe(app: &TestApp, slug: &str, client: &str, topics: Value, token: Option<&str>) {
    let r = pb(
        app,
        reqwest::Method::POST,
        &format!("/apps/{slug}/api/realtime"),
        token,
        Some(json!({"clientId": client, "subscriptions": topics})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
}

async fn realtime_events_reach_only_allowed_subscribers(app: TestApp) {
    let (owner, _, _) = blog(&app, "rt@runtime.example", "live").await;
    let (alice, alice_id) = end_user(&app, "live", "alice@live.example").await;
    let (mut guest, guest_id) = Sse::open(&app, "live").await;
    let (mut author, author_id) = Sse::open(&app, "live").await;
    let (mut filtered, filtered_id) = Sse::open(&app, "live").await;
    // Two more guests: one with the same topic (the encoded event is shared between them),
    // one with a `fields` option (it must not get the others' frame).
    let (mut guest_again, guest_again_id) = Sse::open(&app, "live").await;
    let (mut titles_only, titles_only_id) = Sse::open(&app, "live").await;
    subscribe(&app, "live", &guest_id, json!(["posts/*"]), None).await;
    subscribe(&app, "live", &author_id, json!(["posts/*"]), Some(&alice)).await;
    let options = urlencode(&json!({"query": {"filter": "views > 5"}}).to_string());
    let filtered_key = format!("posts/*?options={options}");
    subscribe(&app, "live", &filtered_id, json!([filtered_key.clone()]), Some(&alice)).await;
    subscribe(&app, "live", &guest_again_id, json!(["posts/*"]), None).await;
    let titles_key = format!("posts/*?options={}", urlencode(&json!({"query": {"fields": "title"}}).to_string()));
    subscribe(&app, "live", &titles_only_id, json!([titles_key.clone()]), None).await;
    // A topic with a line break would break the stream's framing.
    let broken = pb(
        &app,
        reqwest::Method::POST,
        "/apps/live/api/realtime",
        None,
        Some(json!({"clientId": guest_id, "subscriptions": ["posts/*\nevent: forged"]})),
    )
    .await;
    assert_eq!(broken.status, 400, "{}", broken.body);
    let bad = pb(
        &app,
        reqwest::Method::POST,
        "/apps/live/api/realtime",
        None,
        Some(json!({"clientId": guest_id, "subscriptions": ["nope/*"]})),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        pb(
            &app,
            reqwest::Method::POST,
            "/apps/live/api/realtime",
            None,
            Some(json!({"clientId": "unknown", "subscriptions": []}))
        )
        .await
        .status,
        404
    );

    let records = "/apps/live/api/collections/posts/records";
    let draft = pb(
        &app,
        reqwest::Method::POST,
        records,
        Some(&alice),
        Some(json!({"title": "Draft", "views": 9, "published": false, "author": alice_id})),
    )
    .await
    .expect(200);
    pb(
        &app,
        reqwest::Method::POST,
        records,
        Some(&alice),
        Some(json!({"title": "Public", "views": 1, "published": true, "author": alice_id})),
    )
    .await
    .expect(200);
    // The guest sees only the published post; the author both; the filtered client only views > 5.
    let (name, data) = guest.next().await.expect("guest event");
    assert_eq!((name.as_str(), data["record"]["title"].as_str()), ("posts/*", Some("Public")));
    assert_eq!(data["action"], "create");
    let (name, again) = guest_again.next().await.expect("second guest event");
    assert_eq!((name.as_str(), &again), ("posts/*", &data));
    let (name, titles) = titles_only.next().await.expect("fields event");
    assert_eq!(name, titles_key);
    assert_eq!(titles["record"], json!({"title": "Public"}));
    let first = author.next().await.expect("author event 1");
    let second = author.next().await.expect("author event 2");
    assert_eq!(
        (first.1["record"]["title"].as_str(), second.1["record"]["title"].as_str()),
        (Some("Draft"), Some("Public"))
    );
    let (name, data) = filtered.next().await.expect("filtered event");
    assert_eq!(name, filtered_key);
    assert_eq!(data["record"]["title"], "Draft");
    // Updates and deletes are events too.
    let id = draft.body["id"].as_str().expect("id");
    pb(&app, reqwest::Method::PATCH, &format!("{records}/{id}"), Some(&alice), Some(json!({"published": true})))
        .await
        .expect(200);
    let (_, data) = guest.next().await.expect("update event");
    assert_eq!((data["action"].as_str(), data["record"]["title"].as_str()), (Some("update"), Some("Draft")));
    app.delete(&format!("{records}/{id}"), Some(&owner.access)).await.expect(204);
    let (_, data) = guest.next().await.expect("delete event");
    assert_eq!(data["action"], "delete");
    assert!(guest.quiet().await, "nothing else for the guest");
    assert!(filtered.next().await.is_some(), "the update matched the filter");
}

/// Changes reach a subscriber in commit order, also when many are published at once (the
/// records of one batch, then a second batch right behind it).
async fn realtime_events_arrive_in_commit_order(app: TestApp) {
    let (owner, _, _) = blog(&app, "order@runtime.example", "order").await;
    let (mut guest, guest_id) = Sse::open(&app, "order").await;
    subscribe(&app, "order", &guest_id, json!(["posts/*"]), None).await;
    let titles: Vec<String> = (0..40).map(|n| format!("post {n}")).collect();
    for chunk in titles.chunks(20) {
        let requests: Vec<Value> = chunk
            .iter()
            .map(|t| {
                let body = json!({"title": t, "published": true});
                json!({"method": "POST", "url": "/api/collections/posts/records", "body": body})
            })
            .collect();
        app.post("/apps/order/api/batch", Some(&owner.access), json!({ "requests": requests })).await.expect(200);
    }
    let mut received = Vec::new();
    while received.len() < titles.len() {
        let (_, data) = guest.next().await.expect("an event for every post");
        received.push(data["record"]["title"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(received, titles);
}

/// Two `socle serve` processes on one PostgreSQL database: a subscriber connected to one
/// receives a record written through the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_reaches_subscribers_of_another_process() {
    const SECRET: &str = "a-shared-secret-of-at-least-32-characters";
    let a = TestApp::spawn_with(crate::support::Backend::Postgres, |c| c.jwt_secret = Some(SECRET.into())).await;
    let url = a.database_url.clone().expect("postgres url");
    // B serves the API only: with a worker it could take A's email jobs and write them to
    // its own data dir's mail folder, where A's test helpers do not look.
    // B's connections carry a name of their own, to find its realtime listener below.
    let b_name = format!("socle-test-b-{}", uuid::Uuid::new_v4().simple());
    let b = TestApp::spawn_with(crate::support::Backend::Postgres, |c| {
        c.database_url = Some(format!("{url}&application_name={b_name}"));
        c.jwt_secret = Some(SECRET.into());
        c.role = "api".into();
    })
    .await;
    // B hears A's writes once its LISTEN is in place, which starting B does not wait for:
    // wait until its listener's connection has run it, rather than count on the setup
    // below taking longer than that.
    crate::eventually!("process B's realtime listener", {
        let listening: i64 =
            a.db.scalar(
                "SELECT COUNT(*) FROM pg_stat_activity
                 WHERE application_name = $1 AND state = 'idle' AND query = $2",
                // runtime::realtime::CHANNEL, as sqlx's PgListener sends it.
                kernel::args![&b_name, "LISTEN \"socle_realtime\""],
            )
            .await
            .expect("pg_stat_activity");
        (listening > 0).then_some(())
    });
    let (_, _, _) = blog(&a, "two@runtime.example", "two").await;
    let (alice, alice_id) = end_user(&a, "two", "alice@two.example").await;
    let (mut on_b, client) = Sse::open(&b, "two").await;
    subscribe(&b, "two", &client, json!(["posts/*"]), None).await;
    pb(
        &a,
        reqwest::Method::POST,
        "/apps/two/api/collections/posts/records",
        Some(&alice),
        Some(json!({"title": "Through A", "published": true, "author": alice_id})),
    )
    .await
    .expect(200);
    let (name, data) = on_b.next().await.expect("the event crossed processes");
    assert_eq!(name, "posts/*");
    assert_eq!(data["record"]["title"], "Through A");
    assert!(on_b.quiet().await, "delivered once");
    // The token issued by A works on B.
    pb(&b, reqwest::Method::POST, "/apps/two/api/collections/users/auth-refresh", Some(&alice), None).await.expect(200);
}

on_both_databases!(batches_are_all_or_nothing);

async fn batches_are_all_or_nothing(app: TestApp) {
    let (owner, _, _) = blog(&app, "batch@runtime.example", "batch").await;
    let (alice, alice_id) = end_user(&app, "batch", "alice@batch.example").await;
    let records = "/apps/batch/api/collections/posts/records";
    let count = |token: String| {
        let app = &app;
        async move {
            pb(app, reqwest::Method::GET, records, Some(&token), None).await.expect(200).body["totalItems"].clone()
        }
    };
    let post = |title: &str| json!({"method": "POST", "url": "/api/collections/posts/records", "body": {"title": title, "author": alice_id}});
    // The third request fails validation: nothing is written.
    let r = pb(
        &app,
        reqwest::Method::POST,
        "/apps/batch/api/batch",
        Some(&alice),
        Some(json!({"requests": [post("One"), post("Two"), post("")]})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["data"]["requests"]["2"]["response"]["data"]["title"]["code"], "validation_required");
    assert_eq!(count(alice.clone()).await, 0);
    let ok = pb(
        &app,
        reqwest::Method::POST,
        "/apps/batch/api/batch",
        Some(&alice),
        Some(json!({"requests": [post("One"), post("Two")]})),
    )
    .await
    .expect(200);
    assert_eq!(ok.body[0]["status"], 200);
    assert_eq!(ok.body[1]["body"]["title"], "Two");
    assert_eq!(count(alice.clone()).await, 2);
    let one = ok.body[0]["body"]["id"].as_str().expect("id").to_string();
    // Updates and deletes in one go (the builder may delete).
    let mixed = app
        .post("/apps/batch/api/batch", Some(&owner.access), json!({"requests": [
            {"method": "PATCH", "url": format!("/api/collections/posts/records/{one}"), "body": {"title": "One!"}},
            {"method": "DELETE", "url": format!("/api/collections/posts/records/{}", ok.body[1]["body"]["id"].as_str().expect("id"))},
            {"method": "PUT", "url": "/api/collections/posts/records", "body": {"id": one, "views": 5}}
        ]}))
        .await
        .expect(200);
    assert_eq!(mixed.body[0]["body"]["title"], "One!");
    assert_eq!(mixed.body[1]["status"], 204);
    assert_eq!(mixed.body[2]["body"]["views"], 5);
    assert_eq!(count(alice.clone()).await, 1);
    // Malformed batches.
    for body in [
        json!({}),
        json!({"requests": []}),
        json!({"requests": [{"method": "GET", "url": "/api/collections/posts/records"}]}),
        json!({"requests": [{"method": "POST", "url": "/api/other"}]}),
    ] {
        assert_eq!(
            pb(&app, reqwest::Method::POST, "/apps/batch/api/batch", Some(&alice), Some(body)).await.status,
            400
        );
    }
}

on_both_databases!(multipart_batches_store_files_only_when_they_commit);

/// Every file under the app's storage (the data dir's `storage/`).
fn stored_files(app: &TestApp) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![app.data_dir.join("storage")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// A batch as the official SDKs send it: `@jsonPayload` and `requests.N.field` file parts.
async fn multipart_batch(
    app: &TestApp,
    token: &str,
    payload: String,
    files: &[(&str, &[u8], &str)],
) -> crate::support::Resp {
    let mut form = reqwest::multipart::Form::new();
    for (name, bytes, file_name) in files {
        form = form
            .part(name.to_string(), reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(file_name.to_string()));
    }
    form = form.text("@jsonPayload", payload);
    let req = app.client.post(app.url("/apps/mbatch/api/batch")).header("authorization", token).multipart(form);
    TestApp::read(req.send().await.expect("batch")).await
}

async fn multipart_batches_store_files_only_when_they_commit(app: TestApp) {
    blog(&app, "mbatch@runtime.example", "mbatch").await;
    let (alice, alice_id) = end_user(&app, "mbatch", "alice@mbatch.example").await;
    let records = "/apps/mbatch/api/collections/posts/records";
    let count = || async {
        pb(&app, reqwest::Method::GET, records, Some(&alice), None).await.expect(200).body["totalItems"].clone()
    };
    let create = |title: &str| json!({"method": "POST", "url": "/api/collections/posts/records", "body": {"title": title, "author": alice_id}});
    // Several creates in one batch, one of them with a file (the parts come before the
    // payload, as the SDK sends them).
    let payload = json!({"requests": [create("One"), create("Two"), create("Three")]}).to_string();
    let ok = multipart_batch(&app, &alice, payload, &[("requests.1.cover", PNG, "Two.png")]).await.expect(200);
    assert_eq!(ok.body.as_array().map(Vec::len), Some(3), "{}", ok.body);
    assert_eq!(ok.body[0]["body"]["cover"], "");
    let two = ok.body[1]["body"].clone();
    let cover = two["cover"].as_str().expect("cover").to_string();
    assert!(cover.starts_with("two_") && cover.ends_with(".png"), "{cover}");
    let file_url = |id: &str, name: &str| app.url(&format!("/apps/mbatch/api/files/posts/{id}/{name}"));
    let two_id = two["id"].as_str().expect("id").to_string();
    let got = app.client.get(file_url(&two_id, &cover)).send().await.expect("download");
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.expect("bytes").as_ref(), PNG);
    assert_eq!(count().await, 3);
    assert_eq!(stored_files(&app).len(), 1);
    // An update with a new file replaces the single file (the old one leaves the store); a
    // `field-` removes one.
    let one_id = ok.body[0]["body"]["id"].as_str().expect("id").to_string();
    let update = |id: &str, body: serde_json::Value| json!({"method": "PATCH", "url": format!("/api/collections/posts/records/{id}"), "body": body});
    let payload =
        json!({"requests": [update(&two_id, json!({"title": "Two!"})), update(&one_id, json!({"cover-": ""}))]});
    let r = multipart_batch(&app, &alice, payload.to_string(), &[("requests.0.cover+", PNG, "again.png")])
        .await
        .expect(200);
    let again = r.body[0]["body"]["cover"].as_str().expect("cover").to_string();
    assert!(again.starts_with("again_"), "{}", r.body);
    assert_eq!(app.client.get(file_url(&two_id, &cover)).send().await.expect("old").status(), 404);
    assert_eq!(app.client.get(file_url(&two_id, &again)).send().await.expect("new").status(), 200);
    let payload = json!({"requests": [update(&two_id, json!({"cover-": [again]}))]});
    let r = multipart_batch(&app, &alice, payload.to_string(), &[]).await.expect(200);
    assert_eq!(r.body[0]["body"]["cover"], "");
    assert_eq!(app.client.get(file_url(&two_id, &again)).send().await.expect("removed").status(), 404);
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));

    // A failing request: no records, no stored files.
    let before = stored_files(&app);
    let payload = json!({"requests": [create("Four"), create("")]}).to_string();
    let r = multipart_batch(&app, &alice, payload, &[("requests.0.cover", PNG, "four.png")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["data"]["requests"]["1"]["response"]["data"]["title"]["code"], "validation_required");
    assert_eq!(count().await, 3);
    assert_eq!(stored_files(&app), before, "the batch's file was removed");
    // A file its field refuses fails its request, naming the field.
    let payload = json!({"requests": [create("Five")]}).to_string();
    let r = multipart_batch(&app, &alice, payload, &[("requests.0.cover", b"plain text", "five.txt")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["data"]["requests"]["0"]["response"]["data"]["cover"]["code"], "validation_invalid_mime_type");
    // Malformed payloads and parts.
    for payload in ["{not json", "[1, 2]"] {
        let r = multipart_batch(&app, &alice, payload.into(), &[]).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.body["data"]["@jsonPayload"]["code"], "validation_invalid_json", "{}", r.body);
    }
    let payload = json!({"requests": [create("Six")]}).to_string();
    let r = multipart_batch(&app, &alice, payload.clone(), &[("requests.3.cover", PNG, "six.png")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["data"]["requests.3.cover"]["code"], "validation_invalid_file", "{}", r.body);
    let r = multipart_batch(&app, &alice, payload, &[("requests.x.cover", PNG, "six.png")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = multipart_batch(&app, &alice, json!({"requests": []}).to_string(), &[]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["data"]["requests"]["code"], "validation_length_out_of_range");
    assert_eq!(count().await, 3);
    assert_eq!(stored_files(&app), before);
    // Plain JSON batches still work.
    pb(
        &app,
        reqwest::Method::POST,
        "/apps/mbatch/api/batch",
        Some(&alice),
        Some(json!({"requests": [create("Seven")]})),
    )
    .await
    .expect(200);
    assert_eq!(count().await, 4);
}

on_both_databases!(end_users_verify_reset_and_change_their_email);

async fn end_users_verify_reset_and_change_their_email(app: TestApp) {
    blog(&app, "flows@runtime.example", "flows").await;
    let (token, id) = end_user(&app, "flows", "carol@flows.example").await;
    let users = "/apps/flows/api/collections/users";
    let post = reqwest::Method::POST;
    // Carol watches her own record: the flows write through the records' one path.
    let (mut watch, client) = Sse::open(&app, "flows").await;
    subscribe(&app, "flows", &client, json!([format!("users/{id}")]), Some(&token)).await;
    // Verification.
    pb(
        &app,
        post.clone(),
        &format!("{users}/request-verification"),
        None,
        Some(json!({"email": "carol@flows.example"})),
    )
    .await
    .expect(204);
    pb(
        &app,
        post.clone(),
        &format!("{users}/request-verification"),
        None,
        Some(json!({"email": "nobody@flows.example"})),
    )
    .await
    .expect(204);
    let mail = app.wait_for_email("carol@flows.example", "Verify your email").await;
    assert_eq!(
        pb(&app, post.clone(), &format!("{users}/confirm-verification"), None, Some(json!({"token": "forged"})))
            .await
            .status,
        400
    );
    pb(&app, post.clone(), &format!("{users}/confirm-verification"), None, Some(json!({"token": mail.token()})))
        .await
        .expect(204);
    // On PostgreSQL the sign-up's own event (NOTIFY) may still be on its way: skip to the update.
    let (topic, event) = loop {
        let (topic, event) = watch.next().await.expect("the verification reached realtime");
        if event["action"] != "create" {
            break (topic, event);
        }
    };
    assert_eq!((topic, event["action"].as_str()), (format!("users/{id}"), Some("update")));
    assert_eq!(event["record"]["verified"], true);
    assert!(event["record"].get("password").is_none() && event["record"].get("tokenKey").is_none(), "{event}");
    let me = pb(&app, reqwest::Method::GET, &format!("{users}/records/{id}"), Some(&token), None).await.expect(200);
    assert_eq!(me.body["verified"], true);
    // Password reset: single use, ends sessions.
    pb(
        &app,
        post.clone(),
        &format!("{users}/request-password-reset"),
        None,
        Some(json!({"email": "carol@flows.example"})),
    )
    .await
    .expect(204);
    let reset = app.wait_for_email("carol@flows.example", "Reset your password").await.token();
    let body = json!({"token": reset, "password": "brand-new-pass-1", "passwordConfirm": "brand-new-pass-1"});
    let mismatch = json!({"token": reset, "password": "brand-new-pass-1", "passwordConfirm": "other"});
    assert_eq!(
        pb(&app, post.clone(), &format!("{users}/confirm-password-reset"), None, Some(mismatch)).await.body["data"]["passwordConfirm"]
            ["code"],
        "validation_values_mismatch"
    );
    // Spent once, even by requests racing with it (four at once: one resets, the others
    // are told the token is invalid, as they would be one after the other).
    let confirm = format!("{users}/confirm-password-reset");
    let racing =
        futures_util::future::join_all((0..4).map(|_| pb(&app, post.clone(), &confirm, None, Some(body.clone()))))
            .await;
    let mut statuses: Vec<u16> = racing.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [204, 400, 400, 400]);
    assert_eq!(
        pb(&app, post.clone(), &format!("{users}/confirm-password-reset"), None, Some(body)).await.status,
        400,
        "single use"
    );
    assert_eq!(pb(&app, post.clone(), &format!("{users}/auth-refresh"), Some(&token), None).await.status, 401);
    let signed = pb(
        &app,
        post.clone(),
        &format!("{users}/auth-with-password"),
        None,
        Some(json!({"identity": "carol@flows.example", "password": "brand-new-pass-1"})),
    )
    .await
    .expect(200);
    let token = signed.body["token"].as_str().expect("token").to_string();
    // Email change: needs the session, then the password.
    assert_eq!(
        pb(
            &app,
            post.clone(),
            &format!("{users}/request-email-change"),
            None,
            Some(json!({"newEmail": "c2@flows.example"}))
        )
        .await
        .status,
        401
    );
    pb(
        &app,
        post.clone(),
        &format!("{users}/request-email-change"),
        Some(&token),
        Some(json!({"newEmail": "c2@flows.example"})),
    )
    .await
    .expect(204);
    let change = app.wait_for_email("c2@flows.example", "Confirm your new email").await.token();
    let wrong = pb(
        &app,
        post.clone(),
        &format!("{users}/confirm-email-change"),
        None,
        Some(json!({"token": change, "password": "nope-nope-1"})),
    )
    .await;
    assert_eq!(wrong.body["data"]["password"]["code"], "validation_invalid_password");
    let confirm = format!("{users}/confirm-email-change");
    let racing = futures_util::future::join_all((0..3).map(|_| {
        pb(&app, post.clone(), &confirm, None, Some(json!({"token": change, "password": "brand-new-pass-1"})))
    }))
    .await;
    let mut statuses: Vec<u16> = racing.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [204, 400, 400], "the email change is confirmed once");
    pb(
        &app,
        post,
        &format!("{users}/auth-with-password"),
        None,
        Some(json!({"identity": "c2@flows.example", "password": "brand-new-pass-1"})),
    )
    .await
    .expect(200);
}

on_both_databases!(files_upload_serve_and_protect);

/// A 40x20 RGB PNG.
const REAL_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAACgAAAAUCAIAAABwJOjsAAAFcElEQVR4nA3NEduqMQCA4ZeiUTSKRtEoGkWjaBSNolE06npgFL0UjaLRR6NoFI2iUTTqV5xz/4F7WRY2C2JhuyAXdgtqYb+gFw4LZuG4YBdOC27hvOAXLgth4boQF24LaeG+sC48FvLCc6Es/C3UhddCW3gv9IXPwlj4LsyF38KyCDYCIdgKpGAnUIK9QAsOAiM4CqzgJHCCs8ALLoIguAqi4CZIgrtgFTwEWfAUFMGfoApegiZ4C7rgIxiCr2AKfuJ/LNlIhGQrkZKdREn2Ei05SIzkKLGSk8RJzhIvuUiC5CqJkpskSe6SVfKQZMlTUiR/kip5SZrkLemSj2RIvpIp+cn/sWKjEIqtQip2CqXYK7TioDCKo8IqTgqnOCu84qIIiqsiKm6KpLgrVsVDkRVPRVH8KaripWiKt6IrPoqh+Cqm4qf+x5qNRmi2GqnZaZRmr9Gag8ZojhqrOWmc5qzxmosmaK6aqLlpkuauWTUPTdY8NUXzp6mal6Zp3pqu+WiG5quZmp/+Hxs2BmHYGqRhZ1CGvUEbDgZjOBqs4WRwhrPBGy6GYLgaouFmSIa7YTU8DNnwNBTDn6EaXoZmeBu64WMYhq9hGn7mf2zZWIRla5GWnUVZ9hZtOViM5WixlpPFWc4Wb7lYguVqiZabJVnultXysGTL01Isf5ZqeVma5W3plo9lWL6WafnZ/7Fj4xCOrUM6dg7l2Du04+AwjqPDOk4O5zg7vOPiCI6rIzpujuS4O1bHw5EdT0dx/Dmq4+VojrejOz6O4fg6puPn/seejUd4th7p2XmUZ+/RnoPHeI4e6zl5nOfs8Z6LJ3iunui5eZLn7lk9D0/2PD3F8+epnpened6e7vl4hufrmZ6f/x8HNgER2AZkYBdQgX1ABw4BEzgGbOAUcIFzwAcugRC4BmLgFkiBe2ANPAI58AyUwF+gBl6BFngHeuATGIFvYAZ+4X8c2UREZBuRkV1ERfYRHTlETOQYsZFTxEXOER+5RELkGomRWyRF7pE18ojkyDNSIn+RGnlFWuQd6ZFPZES+kRn5xf9xYpMQiW1CJnYJldgndOKQMIljwiZOCZc4J3zikgiJayImbomUuCfWxCORE89ESfwlauKVaIl3oic+iZH4Jmbil/7HK5sVsbJdkSu7FbWyX9ErhxWzclyxK6cVt3Je8SuXlbByXYkrt5W0cl9ZVx4reeW5Ulb+VurKa6WtvFf6ymdlrHxX5spv/R9nNhmR2WZkZpdRmX1GZw4ZkzlmbOaUcZlzxmcumZC5ZmLmlkmZe2bNPDI588yUzF+mZl6ZlnlneuaTGZlvZmZ++X9c2BREYVuQhV1BFfYFXTgUTOFYsIVTwRXOBV+4FELhWoiFWyEV7oW18CjkwrNQCn+FWngVWuFd6IVPYRS+hVn4lf9xZVMRlW1FVnYVVdlXdOVQMZVjxVZOFVc5V3zlUgmVayVWbpVUuVfWyqOSK89KqfxVauVVaZV3pVc+lVH5VmblV//HjU1DNLYN2dg1VGPf0I1DwzSODds4NVzj3PCNSyM0ro3YuDVS495YG49GbjwbpfHXqI1XozXejd74NEbj25iNX/sfdzYd0dl2ZGfXUZ19R3cOHdM5dmzn1HGdc8d3Lp3QuXZi59ZJnXtn7Tw6ufPslM5fp3ZendZ5d3rn0xmdb2d2fv1/PNgMxGA7kIPdQA32Az04DMzgOLCD08ANzgM/uAzC4DqIg9sgDe6DdfAY5MFzUAZ/gzp4DdrgPeiDz2AMvoM5+I3/8WQzEZPtRE52EzXZT/TkMDGT48ROThM3OU/85DIJk+skTm6TNLlP1sljkifPSZn8TerkNWmT96RPPpMx+U7m5Df5B/cYYh0XsBHwAAAAAElFTkSuQmCC";

const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];

async fn files_upload_serve_and_protect(app: TestApp) {
    files_upload_serve_and_protect_on(&app, None).await;
}

async fn list_bucket(url: &str) -> String {
    reqwest::get(url).await.expect("list").text().await.expect("text")
}

/// The file scenario; with an S3 bucket listing URL, also checks that the objects are there.
async fn files_upload_serve_and_protect_on(app: &TestApp, s3_listing: Option<&str>) {
    let owner = app.signup("files@runtime.example").await;
    let org = app.organization(&owner, "Files").await;
    let id = project(app, &owner, &org, "Files").await;
    app.post(
        &format!("/api/v1/studio/projects/{id}/collections"),
        Some(&owner.access),
        json!({"name": "docs", "fields": [
            {"name": "title", "type": "text"},
            {"name": "cover", "type": "file", "maxSelect": 1, "maxSize": 1000, "mimeTypes": ["image/png"]},
            {"name": "attachments", "type": "file", "maxSelect": 3},
            {"name": "secret", "type": "file", "maxSelect": 1, "protected": true}
        ], "listRule": "", "viewRule": "@request.auth.id != ''", "createRule": "", "updateRule": ""}),
    )
    .await
    .expect(201);
    let created = app
        .post("/api/v1/runtime/apps", Some(&owner.access), json!({"project_id": id, "slug": "files", "name": "F"}))
        .await
        .expect(201);
    app.post(
        &format!("/api/v1/runtime/apps/{}/deploy", created.body["id"].as_str().expect("id")),
        Some(&owner.access),
        json!({}),
    )
    .await
    .expect(201);
    let records = "/apps/files/api/collections/docs/records";
    let part = |bytes: &[u8], name: &str| reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string());
    let form = reqwest::multipart::Form::new()
        .text("title", "With files")
        .part("cover", part(PNG, "Cover Image.PNG"))
        .part("attachments", part(b"one", "a.txt"))
        .part("attachments", part(b"two", "b.txt"))
        .part("secret", part(b"classified", "s.txt"));
    let r = TestApp::read(app.client.post(app.url(records)).multipart(form).send().await.expect("upload"))
        .await
        .expect(200);
    let cover = r.body["cover"].as_str().expect("cover").to_string();
    assert!(cover.starts_with("cover_image_") && cover.ends_with(".png"), "{cover}");
    let attachments: Vec<String> =
        r.body["attachments"].as_array().expect("list").iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
    assert_eq!(attachments.len(), 2);
    let rid = r.body["id"].as_str().expect("id").to_string();
    let file_url = |name: &str| app.url(&format!("/apps/files/api/files/docs/{rid}/{name}"));
    if let Some(url) = s3_listing {
        let keys = list_bucket(url).await;
        assert!(keys.contains(&format!("/{rid}/{cover}</Key>")), "the cover is in the bucket: {keys}");
    }
    let got = app.client.get(file_url(&cover)).send().await.expect("get");
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("image/png"));
    assert_eq!(got.bytes().await.expect("bytes").as_ref(), PNG);
    // Thumbnails: a real image is resized; a listed or the default size only.
    use base64::Engine;
    let real = base64::engine::general_purpose::STANDARD.decode(REAL_PNG).expect("png");
    let form = reqwest::multipart::Form::new().part("attachments", part(&real, "photo.png"));
    let photo = TestApp::read(
        app.client
            .patch(app.url(&format!("{records}/{}", r.body["id"].as_str().expect("id"))))
            .multipart(form)
            .send()
            .await
            .expect("photo"),
    )
    .await
    .expect(200);
    let photo_name = photo.body["attachments"]
        .as_array()
        .and_then(|a| a.last())
        .and_then(|v| v.as_str())
        .expect("photo")
        .to_string();
    let thumb = app
        .client
        .get(format!(
            "{}?thumb=10x10",
            app.url(&format!("/apps/files/api/files/docs/{}/{photo_name}", r.body["id"].as_str().expect("id")))
        ))
        .send()
        .await
        .expect("thumb");
    assert_eq!(thumb.status(), 200);
    let thumb_bytes = thumb.bytes().await.expect("bytes");
    assert!(thumb_bytes.as_ref() == real.as_slice(), "10x10 is not listed: the original is served");
    let thumb = app
        .client
        .get(format!(
            "{}?thumb=100x100",
            app.url(&format!("/apps/files/api/files/docs/{}/{photo_name}", r.body["id"].as_str().expect("id")))
        ))
        .send()
        .await
        .expect("thumb");
    let t = thumb.bytes().await.expect("bytes");
    assert!(t.len() > 24 && t[16..24] == [0, 0, 0, 100, 0, 0, 0, 100], "a 100x100 PNG");
    // Limits: size, type (by content, not by name), unknown fields.
    let big = reqwest::multipart::Form::new().part("cover", part(&[PNG, &[0u8; 2000][..]].concat(), "big.png"));
    let r = TestApp::read(app.client.post(app.url(records)).multipart(big).send().await.expect("big")).await;
    assert_eq!(r.body["data"]["cover"]["code"], "validation_file_size_limit");
    let fake = reqwest::multipart::Form::new().part("cover", part(b"not an image", "fake.png"));
    let r = TestApp::read(app.client.post(app.url(records)).multipart(fake).send().await.expect("fake")).await;
    assert_eq!(r.body["data"]["cover"]["code"], "validation_invalid_mime_type");
    let r =
        pb(app, reqwest::Method::POST, records, None, Some(json!({"title": "x", "cover": "../../etc/passwd"}))).await;
    assert_eq!(r.body["data"]["cover"]["code"], "validation_invalid_file");
    // Keeping one attachment removes the other from storage.
    pb(app, reqwest::Method::PATCH, &format!("{records}/{rid}"), None, Some(json!({"attachments": [attachments[0]]})))
        .await
        .expect(200);
    assert_eq!(app.client.get(file_url(&attachments[1])).send().await.expect("gone").status(), 404);
    assert_eq!(app.client.get(file_url(&attachments[0])).send().await.expect("kept").status(), 200);
    // A protected file needs a file token whose owner passes the view rule.
    let secret = r#"secret"#;
    let record = app.get(&format!("{records}/{rid}"), Some(&owner.access)).await.expect(200);
    let secret_name = record.body[secret].as_str().expect("secret").to_string();
    assert_eq!(app.client.get(file_url(&secret_name)).send().await.expect("no token").status(), 403);
    assert_eq!(
        app.client.get(format!("{}?token=forged", file_url(&secret_name))).send().await.expect("forged").status(),
        403
    );
    let (user, _) = end_user(app, "files", "reader@files.example").await;
    let token = pb(app, reqwest::Method::POST, "/apps/files/api/files/token", Some(&user), None).await.expect(200);
    let t = token.body["token"].as_str().expect("token");
    let ok = app.client.get(format!("{}?token={t}", file_url(&secret_name))).send().await.expect("with token");
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.bytes().await.expect("bytes").as_ref(), b"classified");
    assert_eq!(pb(app, reqwest::Method::POST, "/apps/files/api/files/token", None, None).await.status, 401);
    // Deleting the record deletes its files.
    app.delete(&format!("{records}/{rid}"), Some(&owner.access)).await.expect(204);
    assert_eq!(app.client.get(file_url(&cover)).send().await.expect("deleted").status(), 404);
}

on_both_databases!(websocket_subscribers_resume_without_loss);

pub(crate) struct Ws(
    pub(crate) tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
);

impl Ws {
    pub(crate) async fn open(app: &TestApp, slug: &str, token: Option<&str>) -> (Ws, Value) {
        let url = format!(
            "{}/apps/{slug}/api/realtime/ws{}",
            app.base.replacen("http", "ws", 1),
            token.map(|t| format!("?token={t}")).unwrap_or_default()
        );
        let (stream, _) = tokio_tungstenite::connect_async(url).await.expect("websocket");
        let mut ws = Ws(stream);
        let hello = ws.next().await.expect("hello");
        assert_eq!(hello["type"], "hello");
        (ws, hello)
    }

    pub(crate) async fn send(&mut self, v: Value) {
        use futures_util::SinkExt;
        self.0.send(tokio_tungstenite::tungstenite::Message::Text(v.to_string().into())).await.expect("send");
    }

    /// The next JSON message other than a heartbeat; None if the socket ends or stays
    /// silent for [`PATIENCE`].
    pub(crate) async fn next(&mut self) -> Option<Value> {
        self.next_within(PATIENCE).await
    }

    /// Whether no message other than a heartbeat comes within [`QUIET`].
    async fn quiet(&mut self) -> bool {
        self.next_within(QUIET).await.is_none()
    }

    async fn next_within(&mut self, wait: std::time::Duration) -> Option<Value> {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.0.next()).await {
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(&t).expect("json");
                    if v["type"] != "ping" {
                        return Some(v);
                    }
                }
                Ok(Some(Ok(_))) => continue,
                _ => return None,
            }
        }
    }
}

async fn websocket_subscribers_resume_without_loss(app: TestApp) {
    blog(&app, "ws@runtime.example", "sockets").await;
    let (alice, alice_id) = end_user(&app, "sockets", "alice@ws.example").await;
    let (mut ws, hello) = Ws::open(&app, "sockets", Some(&alice)).await;
    let epoch = hello["epoch"].as_str().expect("epoch").to_string();
    // Clear errors for bad subscriptions.
    ws.send(json!({"type": "subscribe", "id": "bad", "topic": "nope/*"})).await;
    let e = ws.next().await.expect("error");
    assert_eq!((e["type"].as_str(), e["code"].as_str()), (Some("error"), Some("invalid_subscription")));
    ws.send(json!({"type": "subscribe", "id": "f", "topic": "posts/*", "options": {"filter": "titel = 1"}})).await;
    let e = ws.next().await.expect("error");
    assert!(e["message"].as_str().is_some_and(|m| m.contains("titel") && m.contains("position 0")), "{e}");
    ws.send(json!({"hello": 1})).await;
    assert_eq!(ws.next().await.expect("error")["code"], "invalid_message");
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await.expect("pong")["type"], "pong");

    ws.send(json!({"type": "subscribe", "id": "all", "topic": "posts/*"})).await;
    assert_eq!(ws.next().await.expect("subscribed")["type"], "subscribed");
    let records = "/apps/sockets/api/collections/posts/records";
    let create = |title: &str| {
        let app = &app;
        let token = alice.clone();
        let body = json!({"title": title, "published": true, "author": alice_id});
        async move { pb(app, reqwest::Method::POST, records, Some(&token), Some(body)).await.expect(200) }
    };
    create("First").await;
    let first = ws.next().await.expect("event");
    assert_eq!(
        (first["type"].as_str(), first["id"].as_str(), first["record"]["title"].as_str()),
        (Some("event"), Some("all"), Some("First"))
    );
    let last_seq = first["seq"].as_u64().expect("seq");
    // Disconnected while two posts are written; resuming replays them in order.
    drop(ws);
    create("Second").await;
    create("Third").await;
    let (mut ws, _) = Ws::open(&app, "sockets", Some(&alice)).await;
    ws.send(json!({"type": "subscribe", "id": "all", "topic": "posts/*", "resume": {"epoch": epoch, "seq": last_seq}}))
        .await;
    assert_eq!(ws.next().await.expect("subscribed")["type"], "subscribed");
    let (a, b) = (ws.next().await.expect("replay 1"), ws.next().await.expect("replay 2"));
    assert_eq!((a["record"]["title"].as_str(), b["record"]["title"].as_str()), (Some("Second"), Some("Third")));
    assert_eq!((a["seq"].as_u64(), b["seq"].as_u64()), (Some(last_seq + 1), Some(last_seq + 2)));
    assert!(ws.quiet().await, "nothing twice");
    // A resume the server cannot honour says so.
    ws.send(
        json!({"type": "subscribe", "id": "other", "topic": "posts/*", "resume": {"epoch": "elsewhere", "seq": 1}}),
    )
    .await;
    assert_eq!(ws.next().await.expect("subscribed")["type"], "subscribed");
    assert_eq!(ws.next().await.expect("refetch")["type"], "refetch");
    ws.send(json!({"type": "unsubscribe", "id": "other"})).await;
    assert_eq!(ws.next().await.expect("unsubscribed")["type"], "unsubscribed");
    // Guests get only what the rules allow: a draft reaches no guest.
    let (mut guest, _) = Ws::open(&app, "sockets", None).await;
    guest.send(json!({"type": "subscribe", "id": "g", "topic": "posts/*"})).await;
    assert_eq!(guest.next().await.expect("subscribed")["type"], "subscribed");
    pb(
        &app,
        reqwest::Method::POST,
        records,
        Some(&alice),
        Some(json!({"title": "Hidden", "published": false, "author": alice_id})),
    )
    .await
    .expect(200);
    // The author's copy first: the draft's event has been fanned out when it arrives.
    assert_eq!(ws.next().await.expect("author sees the draft")["record"]["title"], "Hidden");
    assert!(guest.quiet().await, "the guest does not see drafts");
}

on_both_databases!(nul_characters_are_refused_not_crashed_on);

/// PostgreSQL cannot store NUL characters; both databases answer 400 instead of failing.
async fn nul_characters_are_refused_not_crashed_on(app: TestApp) {
    let (owner, project_id, _) = blog(&app, "nul@runtime.example", "nul").await;
    let (alice, alice_id) = end_user(&app, "nul", "alice@nul.example").await;
    let r = pb(
        &app,
        reqwest::Method::POST,
        "/apps/nul/api/collections/posts/records",
        Some(&alice),
        Some(json!({"title": "a\u{0}b", "author": alice_id})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        pb(&app, reqwest::Method::GET, "/apps/nul/api/collections/posts/records/%00", None, None).await.status,
        400
    );
    assert_eq!(
        pb(
            &app,
            reqwest::Method::GET,
            &format!("/apps/nul/api/collections/posts/records?filter={}", urlencode("title = 'a\u{0}'")),
            None,
            None
        )
        .await
        .status,
        400
    );
    app.post(
        &format!("/api/v1/studio/projects/{project_id}/pages"),
        Some(&owner.access),
        json!({"name": "P", "document": {"type": "page", "props": {"title": "x\u{0}"}}}),
    )
    .await
    .expect(400);
}

on_both_databases!(view_collections_read_through_their_query);

async fn view_collections_read_through_their_query(app: TestApp) {
    let owner = app.signup("views@runtime.example").await;
    let org = app.organization(&owner, "Views").await;
    let id = project(&app, &owner, &org, "Views").await;
    let base = format!("/api/v1/studio/projects/{id}/collections");
    app.post(&base, Some(&owner.access), json!({"name": "posts", "fields": [{"name": "title", "type": "text"}, {"name": "views", "type": "number"}, {"name": "published", "type": "bool"}], "listRule": "", "viewRule": "", "createRule": ""}))
        .await
        .expect(201);
    app.post(&base, Some(&owner.access), json!({"name": "popular", "type": "view", "viewQuery": "SELECT id, title AS name, views FROM posts WHERE published = true && views > 10", "listRule": "", "viewRule": "views > 100"}))
        .await
        .expect(201);
    let created = app
        .post("/api/v1/runtime/apps", Some(&owner.access), json!({"project_id": id, "slug": "views", "name": "V"}))
        .await
        .expect(201);
    app.post(
        &format!("/api/v1/runtime/apps/{}/deploy", created.body["id"].as_str().expect("id")),
        Some(&owner.access),
        json!({}),
    )
    .await
    .expect(201);
    let mut ids = Vec::new();
    for (title, views, published) in
        [("Hit", 500, true), ("Hidden hit", 900, false), ("Small", 3, true), ("Fine", 50, true)]
    {
        let r = pb(
            &app,
            reqwest::Method::POST,
            "/apps/views/api/collections/posts/records",
            None,
            Some(json!({"title": title, "views": views, "published": published})),
        )
        .await
        .expect(200);
        ids.push(r.body["id"].as_str().expect("id").to_string());
    }
    let list = pb(
        &app,
        reqwest::Method::GET,
        "/apps/views/api/collections/popular/records?sort=-views&filter=name%20~%20'i'",
        None,
        None,
    )
    .await
    .expect(200);
    let names: Vec<&str> =
        list.body["items"].as_array().expect("items").iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(names, vec!["Hit", "Fine"]);
    assert_eq!(list.body["totalItems"], 2);
    assert!(list.body["items"][0].get("title").is_none(), "only the view's columns");
    assert_eq!(list.body["items"][0]["collectionName"], "popular");
    // The view's own rule applies, and it is read-only.
    pb(&app, reqwest::Method::GET, &format!("/apps/views/api/collections/popular/records/{}", ids[0]), None, None)
        .await
        .expect(200);
    assert_eq!(
        pb(&app, reqwest::Method::GET, &format!("/apps/views/api/collections/popular/records/{}", ids[3]), None, None)
            .await
            .status,
        404
    );
    assert_eq!(
        pb(
            &app,
            reqwest::Method::POST,
            "/apps/views/api/collections/popular/records",
            Some(&owner.access),
            Some(json!({"name": "x"}))
        )
        .await
        .status,
        400
    );
}

crate::on_both_backends!(files_go_to_an_s3_compatible_store);

/// The same file scenario with `s3.bucket` set, against a local S3 (moto, from PyPI; the
/// test suite installs it): objects land in the bucket, and leave it with their record.
async fn files_go_to_an_s3_compatible_store(backend: crate::support::Backend) {
    let (endpoint, mut moto) = crate::support::start_moto("socle-files").await;
    let app = TestApp::spawn_with(backend, |c| {
        c.s3.endpoint = endpoint.clone();
        c.s3.bucket = "socle-files".into();
        c.s3.access_key = "test".into();
        c.s3.secret_key = "test".into();
    })
    .await;
    let url = format!("{endpoint}/socle-files?list-type=2");
    files_upload_serve_and_protect_on(&app, Some(&url)).await;
    assert!(!list_bucket(&url).await.contains("<Key>"), "every object left with its record");
    let _ = moto.kill().await;
}

on_both_databases!(shutdown_ends_open_realtime_streams);

/// A server asked to stop does not wait forever for its realtime clients: their SSE streams
/// end and their WebSockets are closed with 1001 (going away), then the server stops.
async fn shutdown_ends_open_realtime_streams(app: TestApp) {
    blog(&app, "bye@runtime.example", "closing").await;
    let (mut sse, _) = Sse::open(&app, "closing").await;
    let (mut ws, _) = Ws::open(&app, "closing", None).await;
    let stopped = tokio::time::timeout(PATIENCE, app.stop()).await;
    assert!(stopped.is_ok(), "the server was still waiting for its realtime clients after {PATIENCE:?}");
    assert!(sse.next().await.is_none(), "the SSE stream ended");
    use futures_util::StreamExt;
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.0.next().await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => {
                    return frame.map(|f| u16::from(f.code));
                }
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("the WebSocket was closed");
    assert_eq!(closed, Some(1001));
}

on_both_databases!(multiple_relations_are_written_read_and_cleaned_up);

/// A relation field that holds several ids (`maxSelect` > 1): records are created with and
/// without it, read back with it expanded, and deleting a target drops it from the list;
/// deleting a note deletes its comments (a cascading relation) and then theirs. Realtime
/// subscribers see those consequences as updates and deletions.
async fn multiple_relations_are_written_read_and_cleaned_up(app: TestApp) {
    let owner = app.signup("multi@runtime.example").await;
    let org = app.organization(&owner, "Multi").await;
    let id = project(&app, &owner, &org, "Multi").await;
    let base = format!("/api/v1/studio/projects/{id}/collections");
    let tags = app
        .post(
            &base,
            Some(&owner.access),
            json!({"name": "tags", "fields": [{"name": "label", "type": "text"}],
            "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": ""}),
        )
        .await
        .expect(201);
    let tags_id = tags.body["id"].as_str().expect("collection id").to_string();
    app.post(
        &base,
        Some(&owner.access),
        json!({"name": "notes", "fields": [
            {"name": "title", "type": "text"},
            {"name": "labels", "type": "relation", "collectionId": tags_id, "maxSelect": 3}],
            "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": ""}),
    )
    .await
    .expect(201);
    let notes_id = app.get(&format!("{base}/notes"), Some(&owner.access)).await.expect(200).body["id"]
        .as_str()
        .expect("notes id")
        .to_string();
    let comments = app
        .post(
            &base,
            Some(&owner.access),
            json!({"name": "comments", "fields": [
            {"name": "body", "type": "text"},
            {"name": "note", "type": "relation", "collectionId": notes_id, "maxSelect": 1, "cascadeDelete": true}],
            "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": ""}),
        )
        .await
        .expect(201);
    let comments_id = comments.body["id"].as_str().expect("comments id").to_string();
    app.post(&base, Some(&owner.access), json!({"name": "replies", "fields": [
            {"name": "comment", "type": "relation", "collectionId": comments_id, "maxSelect": 1, "cascadeDelete": true}],
            "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": ""}))
        .await
        .expect(201);
    create_and_deploy(&app, &owner, &id, "multi").await;
    let api = "/apps/multi/api/collections";
    let (mut watch, client) = Sse::open(&app, "multi").await;
    subscribe(&app, "multi", &client, json!(["notes/*", "comments/*", "replies/*"]), None).await;
    let none = app.post(&format!("{api}/notes/records"), None, json!({"title": "none"})).await.expect(200);
    assert_eq!(none.body["labels"], json!([]));
    let mut tag_ids = Vec::new();
    for label in ["red", "blue"] {
        let tag = app.post(&format!("{api}/tags/records"), None, json!({"label": label})).await.expect(200);
        tag_ids.push(tag.body["id"].as_str().expect("tag id").to_string());
    }
    let both =
        app.post(&format!("{api}/notes/records"), None, json!({"title": "both", "labels": tag_ids})).await.expect(200);
    assert_eq!(both.body["labels"], json!(tag_ids));
    let note = both.body["id"].as_str().expect("note id");
    let read = app.get(&format!("{api}/notes/records/{note}?expand=labels"), None).await.expect(200);
    let labels: Vec<&str> = read.body["expand"]["labels"]
        .as_array()
        .expect("expanded")
        .iter()
        .filter_map(|t| t["label"].as_str())
        .collect();
    assert_eq!(labels, ["red", "blue"]);
    let comment =
        app.post(&format!("{api}/comments/records"), None, json!({"body": "first", "note": note})).await.expect(200);
    let comment_id = comment.body["id"].as_str().expect("comment id").to_string();
    let reply = app.post(&format!("{api}/replies/records"), None, json!({"comment": comment_id})).await.expect(200);
    let reply_id = reply.body["id"].as_str().expect("reply id").to_string();
    app.delete(&format!("{api}/tags/records/{}", tag_ids[0]), None).await.expect(204);
    let read = app.get(&format!("{api}/notes/records/{note}"), None).await.expect(200);
    assert_eq!(read.body["labels"], json!([tag_ids[1]]));
    let listed = app.get(&format!("{api}/notes/records?filter=labels~'{}'", tag_ids[1]), None).await.expect(200);
    assert_eq!(listed.body["totalItems"], 1);
    // Deleting the note takes its comment, and the comment its reply.
    app.delete(&format!("{api}/notes/records/{note}"), None).await.expect(204);
    for (collection, id) in [("comments", &comment_id), ("replies", &reply_id)] {
        app.get(&format!("{api}/{collection}/records/{id}"), None).await.expect(404);
    }
    // What the subscriber saw after the creates: the note losing a label, then the three
    // deletions (in the order the cascade reached them).
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let (topic, event) = watch.next().await.expect("a change from the deletions");
        if event["action"] == "create" {
            continue;
        }
        let id = event["record"]["id"].as_str().unwrap_or_default().to_string();
        seen.push((topic, event["action"].as_str().unwrap_or_default().to_string(), id));
    }
    let expected = |topic: &str, action: &str, id: &str| (topic.to_string(), action.to_string(), id.to_string());
    assert_eq!(seen[0], expected("notes/*", "update", note));
    let mut deletions = seen[1..].to_vec();
    deletions.sort();
    let mut wanted = vec![
        expected("comments/*", "delete", &comment_id),
        expected("notes/*", "delete", note),
        expected("replies/*", "delete", &reply_id),
    ];
    wanted.sort();
    assert_eq!(deletions, wanted);
}

on_both_databases!(records_deleted_by_a_cascade_lose_their_files);

/// A photo belongs to an album (cascading relation) and has an image: deleting the album
/// deletes the photo and, once that commits, its stored file.
async fn records_deleted_by_a_cascade_lose_their_files(app: TestApp) {
    let owner = app.signup("albums@runtime.example").await;
    let org = app.organization(&owner, "Albums").await;
    let id = project(&app, &owner, &org, "Albums").await;
    let base = format!("/api/v1/studio/projects/{id}/collections");
    let open = json!({"listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": ""});
    let mut albums = json!({"name": "albums", "fields": [{"name": "name", "type": "text"}]});
    albums.as_object_mut().expect("object").extend(open.as_object().expect("rules").clone());
    let albums_id = app.post(&base, Some(&owner.access), albums).await.expect(201).body["id"]
        .as_str()
        .expect("albums id")
        .to_string();
    let mut photos = json!({"name": "photos", "fields": [
        {"name": "album", "type": "relation", "collectionId": albums_id, "maxSelect": 1, "cascadeDelete": true},
        {"name": "image", "type": "file", "maxSelect": 1, "mimeTypes": ["image/png"]}]});
    photos.as_object_mut().expect("object").extend(open.as_object().expect("rules").clone());
    app.post(&base, Some(&owner.access), photos).await.expect(201);
    create_and_deploy(&app, &owner, &id, "albums").await;
    let api = "/apps/albums/api/collections";
    let album = app.post(&format!("{api}/albums/records"), None, json!({"name": "Summer"})).await.expect(200);
    let album_id = album.body["id"].as_str().expect("album id").to_string();
    let form = reqwest::multipart::Form::new()
        .text("album", album_id.clone())
        .part("image", reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("beach.png"));
    let req = app.client.post(app.url(&format!("{api}/photos/records"))).multipart(form);
    let photo = TestApp::read(req.send().await.expect("upload")).await.expect(200);
    let photo_id = photo.body["id"].as_str().expect("photo id").to_string();
    assert_eq!(stored_files(&app).len(), 1);
    app.delete(&format!("{api}/albums/records/{album_id}"), None).await.expect(204);
    app.get(&format!("{api}/photos/records/{photo_id}"), None).await.expect(404);
    crate::eventually!("the cascaded photo's file to leave the store", {
        async { stored_files(&app).is_empty().then_some(()) }.await
    });
}

crate::on_both_backends!(realtime_websocket_keeps_listeners_and_drops_vanished_clients);

/// The realtime WebSocket's heartbeat (one second here): a client that only listens (it
/// reads, and so answers the pings, but never sends) stays past three heartbeats and still
/// gets events; one that vanished (its socket open, nothing read) is disconnected.
async fn realtime_websocket_keeps_listeners_and_drops_vanished_clients(backend: crate::support::Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.update_section("realtime", |s: &mut runtime::ws::RealtimeConfig| s.ws_heartbeat_secs = 1)
            .expect("realtime settings");
    })
    .await;
    blog(&app, "listener@example.com", "listened").await;
    let (alice, alice_id) = end_user(&app, "listened", "alice@listener.example").await;
    let (mut listener, hello) = Ws::open(&app, "listened", Some(&alice)).await;
    assert_eq!(hello["heartbeat"], 1);
    let (mut vanished, _) = Ws::open(&app, "listened", Some(&alice)).await;
    listener.send(json!({"type": "subscribe", "id": "s1", "topic": "posts/*"})).await;
    assert_eq!(listener.next().await.expect("subscribed")["type"], "subscribed");
    // Five heartbeats of listening: pings come and are answered; nothing ends the stream.
    let pinged = crate::support::pings_while_reading(&mut listener.0, std::time::Duration::from_secs(5)).await;
    assert!(pinged >= 3, "the stream is pinged every heartbeat ({pinged} pings)");
    // The vanished client finds its stream ended.
    crate::support::until_it_ends(&mut vanished.0).await;
    // The listener still gets events.
    let post = json!({"title": "Still listening", "published": true, "author": alice_id});
    pb(&app, reqwest::Method::POST, "/apps/listened/api/collections/posts/records", Some(&alice), Some(post))
        .await
        .expect(200);
    let event = listener.next().await.expect("an event");
    assert_eq!((event["type"].as_str(), event["record"]["title"].as_str()), (Some("event"), Some("Still listening")));
}
