//! Property test: random collection definitions, schema changes, imports, page documents and
//! deployments of the schema to an app never produce a 5xx, and leave the schema readable.
//! Runs on both databases.

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::studio_projects::project;
use crate::support::{Backend, TestApp};

const NAMES: &[&str] =
    &["posts", "users", "tags", "a", "Posts", "x_1", "_sys", "bad name", "", "id", "expand", "created"];
const TYPES: &[&str] = &[
    "text", "number", "bool", "email", "url", "editor", "date", "autodate", "select", "json", "relation", "file",
    "password", "geoPoint", "nope",
];

fn option_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..20).prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        prop::sample::select(NAMES).prop_map(|s| Value::String(s.into())),
        prop::collection::vec(prop::sample::select(NAMES).prop_map(|s| Value::String(s.into())), 0..4)
            .prop_map(Value::Array),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn field() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(NAMES),
        prop::sample::select(TYPES),
        prop::collection::vec(
            (
                prop::sample::select(
                    &[
                        "required",
                        "unique",
                        "min",
                        "max",
                        "pattern",
                        "values",
                        "maxSelect",
                        "collectionId",
                        "mimeTypes",
                        "onCreate",
                        "default",
                        "options",
                        "id",
                    ][..],
                ),
                option_value(),
            ),
            0..5,
        ),
    )
        .prop_map(|(name, ty, opts)| {
            let mut f = Map::new();
            f.insert("name".into(), json!(name));
            f.insert("type".into(), json!(ty));
            for (k, v) in opts {
                f.insert(k.into(), v);
            }
            Value::Object(f)
        })
}

fn collection() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(NAMES),
        prop::sample::select(&["base", "auth", "view", "other"][..]),
        prop::collection::vec(field(), 0..6),
        prop::collection::vec(
            prop_oneof![
                prop::sample::select(&["title = 'x'", "views > 1", "", "@request.auth.id != ''", "nope ~ 1", "(", "a.b.c = 1"][..])
                    .prop_map(|s| json!(s)),
                Just(Value::Null),
            ],
            5,
        ),
        prop_oneof![
            Just(Value::Null),
            Just(json!(["CREATE INDEX i ON posts (title)"])),
            Just(json!([{"name": "u", "fields": ["a"], "unique": true}])),
            Just(json!(["DROP TABLE users"])),
        ],
        prop_oneof![Just(Value::Null), Just(json!("SELECT id, a FROM posts")), Just(json!("SELECT * FROM users; DROP TABLE x"))],
    )
        .prop_map(|(name, ty, fields, rules, indexes, view)| {
            json!({"name": name, "type": ty, "fields": fields, "listRule": rules[0], "viewRule": rules[1],
                   "createRule": rules[2], "updateRule": rules[3], "deleteRule": rules[4], "indexes": indexes, "viewQuery": view})
        })
}

/// A definition that usually passes validation, so that DDL and conversions run.
fn plausible_collection() -> impl Strategy<Value = Value> {
    let field = (
        prop::sample::select(&["title", "views", "flag", "kind", "owner", "meta", "when"][..]),
        prop::sample::select(&["text", "number", "bool", "select", "relation", "json", "date", "email", "file"][..]),
        1u32..4,
        any::<bool>(),
    )
        .prop_map(|(name, ty, max, unique)| match ty {
            "select" => json!({"name": name, "type": ty, "values": ["a", "b", "c"], "maxSelect": max}),
            "relation" => json!({"name": name, "type": ty, "collectionId": "users", "maxSelect": max}),
            "file" => json!({"name": name, "type": ty, "maxSelect": max, "mimeTypes": ["image/png"]}),
            _ => json!({"name": name, "type": ty, "unique": unique && ty == "text"}),
        });
    (
        prop::sample::select(&["posts", "notes", "tags"][..]),
        prop::collection::btree_map(
            prop::sample::select(&["title", "views", "flag", "kind", "owner", "meta", "when"][..]),
            field,
            0..5,
        ),
        prop::sample::select(&["", "title != ''", "@request.auth.id != ''"][..]),
    )
        .prop_map(|(name, fields, rule)| {
            let fields: Vec<Value> = fields
                .into_iter()
                .map(|(k, mut f)| {
                    f["name"] = json!(k);
                    f
                })
                .collect();
            json!({"name": name, "fields": fields, "listRule": rule})
        })
}

fn document() -> impl Strategy<Value = Value> {
    let leaf = (
        prop::sample::select(&["text", "heading", "image", "button", "blink", "component", "list"][..]),
        option_value(),
    )
        .prop_map(|(ty, v)| json!({"type": ty, "props": {"text": v, "src": v, "ref": v, "collection": v, "level": v}}));
    leaf.prop_recursive(4, 30, 4, |inner| {
        (prop::sample::select(&["page", "section", "grid", "text", "form"][..]), prop::collection::vec(inner, 0..4))
            .prop_map(|(ty, children)| json!({"type": ty, "props": {"columns": 2}, "children": children}))
    })
}

#[derive(Debug, Clone)]
enum Step {
    Create(Value),
    Change(usize, Value, bool),
    Import(Vec<Value>, bool),
    Drop(usize, bool),
    Page(Value),
    Bundle(Value),
    /// Deploy the project's schema, as it now is, to its app (forced or not).
    Deploy(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => collection().prop_map(Step::Create),
        3 => plausible_collection().prop_map(Step::Create),
        2 => (0..NAMES.len(), collection(), any::<bool>()).prop_map(|(i, c, f)| Step::Change(i, c, f)),
        4 => (0..3usize, plausible_collection(), any::<bool>())
            .prop_map(|(i, c, f)| Step::Change(NAMES.iter().position(|n| *n == ["posts", "tags", "a"][i]).unwrap_or(0), c, f)),
        1 => (prop::collection::vec(collection(), 0..4), any::<bool>()).prop_map(|(c, f)| Step::Import(c, f)),
        1 => (0..NAMES.len(), any::<bool>()).prop_map(|(i, f)| Step::Drop(i, f)),
        2 => document().prop_map(Step::Page),
        1 => collection().prop_map(|c| Step::Bundle(json!({"format": "socle.project", "format_version": 1,
            "project": {"name": "F", "status": "planned"}, "pages": [], "collections": [c]}))),
        2 => any::<bool>().prop_map(Step::Deploy),
    ]
}

fn random_schemas_never_cause_a_server_error(backend: Backend) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (app, token, org, id, app_id) = rt.block_on(async {
        let app = TestApp::spawn_with(backend, |c| c.rate_limit.global_per_minute = 0).await;
        let owner = app.signup("fuzz-studio@example.com").await;
        let org = app.organization(&owner, "Fuzz").await;
        let id = project(&app, &owner, &org, "Fuzzed").await;
        let app_id = crate::runtime::create_and_deploy(&app, &owner, &id, "fuzzed").await;
        (app, owner.access, org, id, app_id)
    });
    let cases = std::env::var("SOCLE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let mut runner = TestRunner::new(RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() });
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<u16, u32>::new());
    let base = format!("/api/v1/studio/projects/{id}");
    let result = runner.run(&step(), |step| {
        let (method, path, body) = match &step {
            Step::Create(c) => (Method::POST, format!("{base}/collections"), c.clone()),
            Step::Change(i, c, force) => (
                Method::PATCH,
                format!("{base}/collections/{}?force={force}", NAMES[*i].replace(' ', "%20")),
                c.clone(),
            ),
            Step::Import(cs, force) => (Method::POST, format!("{base}/collections/import?force={force}"), json!(cs)),
            Step::Drop(i, force) => (
                Method::DELETE,
                format!("{base}/collections/{}?force={force}", NAMES[*i].replace(' ', "%20")),
                Value::Null,
            ),
            Step::Page(doc) => (Method::POST, format!("{base}/pages"), json!({"name": "Fuzz", "document": doc})),
            Step::Bundle(b) => {
                (Method::POST, format!("/api/v1/studio/projects/import?organization_id={org}"), b.clone())
            }
            Step::Deploy(force) => {
                (Method::POST, format!("/api/v1/runtime/apps/{app_id}/deploy"), json!({"force": force}))
            }
        };
        let status = rt.block_on(async {
            let req = app.client.request(method.clone(), app.url(&path)).bearer_auth(&token).json(&body);
            req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
        });
        if let Ok(mut seen) = statuses.lock() {
            *seen.entry(status).or_default() += 1;
        }
        prop_assert!(status != 0 && status < 500, "{method} {path} answered {status} to {body}");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let seen = statuses.into_inner().unwrap_or_default();
    assert!(seen.contains_key(&422), "definitions reached validation: {seen:?}");
    assert!(seen.keys().any(|s| (200..300).contains(s)), "some definitions were accepted: {seen:?}");
    eprintln!("status histogram: {seen:?}");
    // Whatever happened, the project's schema still reads back.
    rt.block_on(async {
        app.get(&format!("{base}/collections"), Some(&token)).await.expect(200);
        app.get(&format!("{base}/collections/migrations"), Some(&token)).await.expect(200);
        app.stop().await;
    });
}

#[test]
fn random_schemas_never_cause_a_server_error_sqlite() {
    random_schemas_never_cause_a_server_error(Backend::Sqlite);
}

#[test]
fn random_schemas_never_cause_a_server_error_postgres() {
    random_schemas_never_cause_a_server_error(Backend::Postgres);
}
