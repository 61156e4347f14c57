//! Property test: random filters, sorts, expansions, field lists, record bodies, batches and
//! subscriptions against an app's PocketBase API never produce a 5xx. Both databases.

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use reqwest::Method;
use serde_json::{Value, json};

use crate::runtime::{blog, end_user, urlencode};
use crate::support::{Backend, TestApp};

const WORDS: &[&str] = &[
    "title",
    "views",
    "published",
    "tags",
    "author",
    "author.name",
    "author.email",
    "cover",
    "id",
    "created",
    "@request.auth.id",
    "@request.query.x",
    "@request.body.title",
    "@collection.users.name",
    "@now",
    "@todayStart",
    "'x'",
    "\"y\"",
    "1",
    "-2.5",
    "true",
    "null",
    "=",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "~",
    "!~",
    "?=",
    "?~",
    "&&",
    "||",
    "(",
    ")",
    ":length",
    ":lower",
    ":each",
    ":isset",
    "'",
    "\\",
    "%",
    "//",
    "\n",
    "nope",
    "tags.x",
    "author.author",
    "1e999",
];

fn filter() -> impl Strategy<Value = String> {
    prop_oneof![prop::collection::vec(prop::sample::select(WORDS), 0..9).prop_map(|w| w.join(" ")), ".{0,60}",]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        ".{0,30}".prop_map(Value::String),
        prop::sample::select(&["news", "tech", "", "2026-01-01", "a@b.co"][..]).prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| prop::collection::vec(inner, 0..4).prop_map(Value::Array))
}

fn body() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            prop::sample::select(
                &["title", "views", "published", "tags", "author", "cover", "id", "expand", "password"][..],
            ),
            json_value(),
        ),
        0..6,
    )
    .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

#[derive(Debug, Clone)]
enum Step {
    List(String, String, String, String),
    Create(Value),
    Update(Value),
    Batch(Vec<(String, String, Value)>),
    Subscribe(Vec<String>),
}

fn step() -> impl Strategy<Value = Step> {
    let param = || prop_oneof![Just(String::new()), prop::sample::select(WORDS).prop_map(String::from), ".{0,20}"];
    prop_oneof![
        4 => (filter(), param(), param(), param()).prop_map(|(f, s, e, fl)| Step::List(f, s, e, fl)),
        2 => body().prop_map(Step::Create),
        2 => body().prop_map(Step::Update),
        1 => prop::collection::vec(
            (prop::sample::select(&["POST", "PATCH", "PUT", "DELETE", "GET"][..]).prop_map(String::from),
             prop::sample::select(&["/api/collections/posts/records", "/api/collections/posts/records/x", "/api/x", ""][..]).prop_map(String::from),
             body()),
            0..4,
        ).prop_map(Step::Batch),
        1 => prop::collection::vec(prop_oneof![filter(), Just("posts/*".to_string())], 0..3).prop_map(Step::Subscribe),
    ]
}

fn random_requests_never_cause_a_server_error(backend: Backend) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (app, token, author, record) = rt.block_on(async {
        let app = TestApp::spawn_with(backend, |c| c.rate_limit.global_per_minute = 0).await;
        blog(&app, "fuzz@runtime.example", "fuzz").await;
        let (token, author) = end_user(&app, "fuzz", "fuzz-user@runtime.example").await;
        let r = app
            .client
            .post(app.url("/apps/fuzz/api/collections/posts/records"))
            .header("authorization", &token)
            .json(&json!({"title": "Seed", "author": author, "published": true}))
            .send()
            .await
            .expect("seed");
        let id = r.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string();
        (app, token, author, id)
    });
    let cases = std::env::var("SOCLE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let mut runner = TestRunner::new(RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() });
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<u16, u32>::new());
    let base = "/apps/fuzz/api";
    let result = runner.run(&(step(), any::<bool>()), |(step, signed_in)| {
        let (method, path, body) = match &step {
            Step::List(f, s, e, fl) => (
                Method::GET,
                format!("{base}/collections/posts/records?filter={}&sort={}&expand={}&fields={}", urlencode(f), urlencode(s), urlencode(e), urlencode(fl)),
                None,
            ),
            Step::Create(b) => {
                let mut b = b.clone();
                if b.get("author").is_none() {
                    b["author"] = json!(author);
                }
                (Method::POST, format!("{base}/collections/posts/records"), Some(b))
            }
            Step::Update(b) => (Method::PATCH, format!("{base}/collections/posts/records/{record}"), Some(b.clone())),
            Step::Batch(reqs) => (
                Method::POST,
                format!("{base}/batch"),
                Some(json!({"requests": reqs.iter().map(|(m, u, b)| json!({"method": m, "url": u, "body": b})).collect::<Vec<_>>()})),
            ),
            Step::Subscribe(topics) => (Method::POST, format!("{base}/realtime"), Some(json!({"clientId": "none", "subscriptions": topics}))),
        };
        let status = rt.block_on(async {
            let mut req = app.client.request(method.clone(), app.url(&path));
            if signed_in {
                req = req.header("authorization", &token);
            }
            if let Some(b) = &body {
                req = req.json(b);
            }
            req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
        });
        if let Ok(mut seen) = statuses.lock() {
            *seen.entry(status).or_default() += 1;
        }
        prop_assert!(status != 0 && status < 500, "{method} {path} answered {status} to {body:?}");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let seen = statuses.into_inner().unwrap_or_default();
    assert!(
        seen.contains_key(&200) && seen.contains_key(&400),
        "requests reached both success and validation: {seen:?}"
    );
    eprintln!("status histogram: {seen:?}");
    rt.block_on(app.stop());
}

#[test]
fn random_requests_never_cause_a_server_error_sqlite() {
    random_requests_never_cause_a_server_error(Backend::Sqlite);
}

#[test]
fn random_requests_never_cause_a_server_error_postgres() {
    random_requests_never_cause_a_server_error(Backend::Postgres);
}
