//! Conformance to the standards the server publishes in: the platform's OpenAPI 3.1 document
//! and each app's, checked by invariants here and by the standard validator (PyPI
//! `openapi-spec-validator`, installed by `scripts/test`), and the Prometheus exposition
//! checked by `promtool check metrics` (Debian's `prometheus`, installed by `scripts/test`).
//! Neither tool is optional: a missing one fails the test.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::on_both_databases;
use crate::studio_projects::project;
use crate::support::TestApp;

on_both_databases!(
    platform_openapi_is_complete,
    platform_openapi_passes_the_standard_validator,
    app_openapi_describes_the_deployed_collections,
    metrics_pass_promtool
);

/// Every `$ref` in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// The value a local `$ref` (`#/a/b`) points at.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    doc.pointer(pointer)
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// (method, path template, operation) of every operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_string(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// Invariants a standard validator does not check and clients rely on: every response has a
/// description, every reference resolves, errors are declared as problems.
async fn platform_openapi_is_complete(app: TestApp) {
    let doc = app.get("/api/openapi.json", None).await.expect(200).body;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")));
    let mut all_refs = Vec::new();
    refs(&doc, &mut all_refs);
    let unresolved: BTreeSet<_> = all_refs.iter().filter(|r| resolve(&doc, r).is_none()).collect();
    assert!(unresolved.is_empty(), "references to nothing: {unresolved:?}");
    let problem = &doc["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "detail", "errors", "request_id"] {
        assert!(problem["properties"][field].is_object(), "Problem.{field}");
    }
    let ops = operations(&doc);
    assert!(ops.len() > 60, "{} operations", ops.len());
    let mut ids = BTreeSet::new();
    for (method, path, op) in &ops {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_string()), "operationId {id} ({method} {path}) is not unique");
    }
    for (method, path, op) in &ops {
        let responses = op["responses"].as_object().expect("responses");
        for (status, response) in responses {
            let response =
                if let Some(r) = response["$ref"].as_str() { resolve(&doc, r).expect("resolved") } else { response };
            assert!(
                response["description"].as_str().is_some_and(|d| !d.trim().is_empty()),
                "{method} {path} {status} has no description"
            );
        }
        let mut expected = vec!["400", "408", "413", "429", "500"];
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        if secured {
            expected.extend(["401", "403"]);
        }
        if path.contains('{') {
            expected.push("404");
        }
        let json_body = op["requestBody"]["content"].as_object().is_some_and(|c| c.keys().any(|k| k.contains("json")));
        if json_body {
            expected.push("415");
        }
        // Invalid fields of the body, or a missing, mistyped or out-of-range query parameter.
        let query = op["parameters"].as_array().is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
        if json_body || query {
            expected.push("422");
        }
        for status in expected {
            let declared =
                &responses.get(status).unwrap_or_else(|| panic!("{method} {path} does not declare {status}"));
            assert_eq!(
                declared["content"]["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem",
                "{method} {path} {status} is a problem"
            );
        }
    }
    // What the server answers is declared: a sample of real answers.
    let user = app.signup("conformance@example.com").await;
    let declared = |method: &str, path: &str, status: u16| {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        assert!(op["responses"][status.to_string()].is_object(), "{method} {path} declares the {status} it answers");
    };
    let r = app.get("/api/v1/foundation/users/me", None).await;
    declared("get", "/api/v1/foundation/users/me", r.status);
    let r = app.get("/api/v1/admin/users", Some(&user.access)).await;
    declared("get", "/api/v1/admin/users", r.status);
    let r = app.get("/api/v1/foundation/organizations/0190f0f0-0000-7000-8000-000000000000", Some(&user.access)).await;
    declared("get", "/api/v1/foundation/organizations/{id}", r.status);
    let r = TestApp::read(
        app.client
            .post(app.url("/api/v1/foundation/auth/login"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .expect("send"),
    )
    .await;
    declared("post", "/api/v1/foundation/auth/login", r.status);
    let r = TestApp::read(
        app.client
            .post(app.url("/api/v1/foundation/auth/login"))
            .header("content-type", "text/plain")
            .body("hello")
            .send()
            .await
            .expect("send"),
    )
    .await;
    declared("post", "/api/v1/foundation/auth/login", r.status);
    let r = app.post("/api/v1/foundation/auth/register", None, json!({"email": "not an email"})).await;
    declared("post", "/api/v1/foundation/auth/register", r.status);
}

/// Validate `doc` with the standard validator (`python3 -m openapi_spec_validator`); panics
/// with its report on any error, or when it cannot run.
fn validate_openapi(doc: &Value, what: &str) {
    let dir = std::env::temp_dir().join(format!("socle-openapi-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(doc).expect("json")).expect("write the document");
    let out = Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--schema", "3.1", "--validation-errors", "all"])
        .arg(&file)
        .output()
        .expect("python3 (scripts/test installs openapi-spec-validator)");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        !report.contains("No module named"),
        "openapi-spec-validator is not installed (pip install openapi-spec-validator; scripts/test does): {report}"
    );
    assert!(out.status.success(), "the {what} OpenAPI document is invalid:\n{report}");
    assert!(report.contains("OK"), "the validator did not say OK for the {what} document: {report}");
}

async fn platform_openapi_passes_the_standard_validator(app: TestApp) {
    let doc = app.get("/api/openapi.json", None).await.expect(200).body;
    validate_openapi(&doc, "platform");
    // Swagger UI's copy is the same document.
    assert_eq!(app.get("/api/docs/openapi.json", None).await.expect(200).body, doc);
}

/// A project with a collection of every field type and an auth collection, deployed: its
/// document validates, names the fields with their types, and shows a guest only what rules
/// open to guests.
async fn app_openapi_describes_the_deployed_collections(app: TestApp) {
    let owner = app.signup("openapi@apps.example").await;
    let org = app.organization(&owner, "Docs").await;
    let id = project(&app, &owner, &org, "Docs").await;
    let collections = format!("/api/v1/studio/projects/{id}/collections");
    app.post(
        &collections,
        Some(&owner.access),
        json!({"name": "members", "type": "auth", "fields": [
            {"name": "nickname", "type": "text"}
        ], "listRule": "id = @request.auth.id", "viewRule": "id = @request.auth.id",
           "createRule": "", "updateRule": "id = @request.auth.id", "deleteRule": null}),
    )
    .await
    .expect(201);
    app.post(
        &collections,
        Some(&owner.access),
        json!({"name": "things", "fields": [
            {"name": "title", "type": "text", "required": true},
            {"name": "score", "type": "number"},
            {"name": "done", "type": "bool"},
            {"name": "contact", "type": "email"},
            {"name": "site", "type": "url"},
            {"name": "body", "type": "editor"},
            {"name": "due", "type": "date"},
            {"name": "state", "type": "select", "values": ["new", "old"]},
            {"name": "labels", "type": "select", "values": ["x", "y", "z"], "maxSelect": 3},
            {"name": "owner", "type": "relation", "collectionId": "members"},
            {"name": "cover", "type": "file", "maxSelect": 1},
            {"name": "meta", "type": "json"},
            {"name": "place", "type": "geoPoint"},
            {"name": "notes", "type": "text", "hidden": true},
            {"name": "created", "type": "autodate", "onCreate": true}
        ], "listRule": "", "viewRule": "", "createRule": "", "updateRule": null, "deleteRule": null}),
    )
    .await
    .expect(201);
    crate::runtime::create_and_deploy(&app, &owner, &id, "documented").await;

    let doc = app.get("/apps/documented/api/openapi.json", Some(&owner.access)).await.expect(200).body;
    validate_openapi(&doc, "app (builder)");
    assert_eq!(doc["servers"][0]["url"], "/apps/documented");
    let record = &doc["components"]["schemas"]["things.record"]["properties"];
    let expected = [
        ("title", json!({"type": "string"})),
        ("score", json!({"type": "number"})),
        ("done", json!({"type": "boolean"})),
        ("contact", json!({"type": "string", "format": "email"})),
        ("site", json!({"type": "string", "format": "uri"})),
        ("body", json!({"type": "string"})),
        ("meta", json!({})),
    ];
    for (field, schema) in expected {
        assert_eq!(record[field], schema, "things.{field}");
    }
    assert_eq!(record["due"]["type"], "string");
    assert_eq!(record["created"]["type"], "string");
    assert_eq!(record["state"]["enum"], json!(["new", "old", ""]));
    assert_eq!(record["labels"]["type"], "array");
    assert_eq!(record["labels"]["items"]["enum"], json!(["x", "y", "z"]));
    assert_eq!(record["owner"]["type"], "string");
    assert_eq!(record["cover"]["type"], "string");
    assert_eq!(record["place"]["properties"]["lon"]["type"], "number");
    assert_eq!(record["notes"]["type"], "string", "a superuser sees hidden fields");
    assert_eq!(doc["components"]["schemas"]["things.create"]["required"], json!(["title"]));
    let members = &doc["components"]["schemas"]["members.record"]["properties"];
    assert_eq!(members["email"]["format"], "email");
    assert_eq!(members["nickname"]["type"], "string");
    assert!(members.get("password").is_none() && members.get("tokenKey").is_none(), "secrets are never sent");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in [
        ("/api/collections/things/records", &["get", "post"][..]),
        ("/api/collections/things/records/{id}", &["get", "patch", "delete"][..]),
        ("/api/collections/members/auth-with-password", &["post"][..]),
        ("/api/collections/members/auth-refresh", &["post"][..]),
        ("/api/collections/members/request-password-reset", &["post"][..]),
        ("/api/batch", &["post"][..]),
        ("/api/health", &["get"][..]),
    ] {
        for method in methods {
            assert!(paths[path][method].is_object(), "{method} {path}");
        }
    }
    let list = &paths["/api/collections/things/records"]["get"];
    let names: BTreeSet<&str> =
        list["parameters"].as_array().expect("parameters").iter().filter_map(|p| p["name"].as_str()).collect();
    for name in ["page", "perPage", "sort", "filter", "expand", "fields", "skipTotal"] {
        assert!(names.contains(name), "list takes {name}");
    }
    let envelope = &doc["components"]["schemas"]["things.list"]["properties"];
    for key in ["page", "perPage", "totalItems", "totalPages", "items"] {
        assert!(envelope[key].is_object(), "the list envelope has {key}");
    }
    for status in ["400", "403", "404"] {
        assert_eq!(
            list["responses"][status]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Error"
        );
    }

    // What the app really answers matches the document.
    let created = app
        .post(
            "/apps/documented/api/collections/things/records",
            None,
            json!({"title": "first", "labels": ["x"], "place": {"lon": 2.35, "lat": 48.85}}),
        )
        .await;
    assert_eq!(created.status, 200, "create: {}", created.body);
    for key in created.body.as_object().expect("record").keys() {
        assert!(record.get(key).is_some() || key == "id", "the record schema names {key}");
    }
    let missing = app.get("/apps/documented/api/collections/things/records/nothing", None).await;
    assert!(paths["/api/collections/things/records/{id}"]["get"]["responses"][missing.status.to_string()].is_object());
    let bad = app.get("/apps/documented/api/collections/things/records?filter=(((", None).await;
    assert!(list["responses"][bad.status.to_string()].is_object(), "a bad filter answers {}", bad.status);

    // A guest sees what guests may do, and no hidden field.
    let guest = app.get("/apps/documented/api/openapi.json", None).await.expect(200).body;
    validate_openapi(&guest, "app (guest)");
    let guest_paths = guest["paths"].as_object().expect("paths");
    assert!(guest_paths["/api/collections/things/records"]["post"].is_object());
    assert!(guest_paths["/api/collections/things/records/{id}"].get("patch").is_none(), "updateRule is null");
    assert!(guest["components"]["schemas"]["things.record"]["properties"].get("notes").is_none());
    // An app that does not exist has no document.
    app.get("/apps/nothing-here/api/openapi.json", None).await.expect(404);
}

/// Run `promtool check metrics` on `text`: (success, what it printed).
fn promtool(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (apt-get install prometheus; scripts/test installs it)");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write to promtool");
    let out = child.wait_with_output().expect("promtool");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

async fn metrics_pass_promtool(app: TestApp) {
    // Traffic of several kinds, so that most families have samples.
    let session = app.signup("promtool@example.com").await;
    app.get("/api/v1/foundation/users/me", Some(&session.access)).await.expect(200);
    app.get("/api/v1/no-such-endpoint", None).await.expect(404);
    app.post(
        "/api/v1/foundation/auth/login",
        None,
        json!({"email": "promtool@example.com", "password": "Wrong-1-pass"}),
    )
    .await
    .expect(401);
    app.login("promtool@example.com", crate::support::PASSWORD).await;
    app.get("/health", None).await.expect(200);
    let resp = app.client.get(app.url("/metrics")).send().await.expect("metrics");
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("text");
    let (ok, report) = promtool(&text);
    assert!(ok, "promtool check metrics failed:\n{report}\n--- exposition ---\n{text}");
    // Lint findings are printed even when promtool succeeds; none is tolerated.
    assert!(report.trim().is_empty(), "promtool check metrics found problems:\n{report}");
    assert!(text.contains("# TYPE process_cpu_seconds_total counter"), "CPU time is a counter");
    // Every family has its help.
    let families: BTreeSet<&str> =
        text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split_whitespace().next()).collect();
    for family in &families {
        assert!(text.contains(&format!("# HELP {family} ")), "{family} has no help");
    }
    for family in ["http_requests_total", "http_request_duration_seconds", "socle_logins_total", "socle_signups_total"]
    {
        assert!(families.contains(family), "{family} is exposed");
    }
    // promtool itself fails on what the test means to catch.
    let (ok, report) = promtool("# TYPE undescribed counter\nundescribed 1\n");
    assert!(!ok && report.contains("no help text"), "promtool reports a family without help: {report}");
}
