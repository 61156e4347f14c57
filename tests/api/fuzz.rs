//! Property test: random JSON (and random bytes) thrown at every auth, account and
//! organization endpoint never produces a 5xx. Runs on both databases.

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use reqwest::Method;
use serde_json::{Map, Value};

use crate::support::{Backend, TestApp};

/// Field names the endpoints read, so that random bodies often reach validation and
/// business rules instead of stopping at "missing field".
const KEYS: &[&str] = &[
    "email",
    "password",
    "first_name",
    "last_name",
    "token",
    "refresh_token",
    "invite_token",
    "name",
    "description",
    "role",
    "status",
    "organization_id",
    "user_id",
    "expires_at",
    "current_password",
    "new_password",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        ".{0,40}".prop_map(Value::String),
        "[a-zA-Z0-9._%+-]{1,20}@[a-z]{1,10}\\.[a-z]{2,4}".prop_map(Value::String),
        prop::sample::select(vec![
            "OWNER",
            "ADMIN",
            "MEMBER",
            "admin",
            "user",
            "premium",
            "active",
            "deactivated",
            "2030-01-01T00:00:00Z",
            "Correct-Horse-9-battery"
        ])
        .prop_map(|s| Value::String(s.into())),
        "\\PC{200,3000}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (prop_oneof![prop::sample::select(KEYS).prop_map(String::from), "[a-z_]{1,10}"], inner),
                0..6
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn body() -> impl Strategy<Value = Value> {
    // Mostly objects with known keys, sometimes anything at all.
    prop_oneof![
        3 => prop::collection::vec((prop::sample::select(KEYS).prop_map(String::from), json_value()), 0..8)
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        1 => json_value(),
    ]
}

fn endpoints(org: &str, user: &str) -> Vec<(Method, String, bool)> {
    let a = "/api/v1/foundation/auth";
    let o = format!("/api/v1/foundation/organizations/{org}");
    vec![
        (Method::POST, format!("{a}/register"), false),
        (Method::POST, format!("{a}/activate"), false),
        (Method::POST, format!("{a}/resend-activation"), false),
        (Method::POST, format!("{a}/login"), false),
        (Method::POST, format!("{a}/refresh"), false),
        (Method::POST, format!("{a}/request-password-reset"), false),
        (Method::POST, format!("{a}/reset-password"), false),
        (Method::PATCH, "/api/v1/foundation/users/me".into(), true),
        (Method::POST, "/api/v1/foundation/users/me/password".into(), true),
        (Method::DELETE, "/api/v1/foundation/users/me".into(), true),
        (Method::POST, "/api/v1/foundation/organizations".into(), true),
        (Method::PATCH, o.clone(), true),
        (Method::PATCH, format!("{o}/members/{user}"), true),
        (Method::POST, format!("{o}/transfer-ownership"), true),
        (Method::POST, format!("{o}/invitations"), true),
        (Method::POST, "/api/v1/foundation/organizations/invitations/accept".into(), true),
        (Method::POST, "/api/v1/foundation/api-keys".into(), true),
        (Method::PATCH, format!("/api/v1/admin/users/{user}"), true),
        (Method::PUT, format!("/api/v1/admin/users/{user}/role"), true),
        (Method::PUT, format!("/api/v1/admin/users/{user}/status"), true),
    ]
}

fn random_json_never_causes_a_server_error(backend: Backend) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (app, token, org, user) = rt.block_on(async {
        let app = TestApp::spawn_with(backend, |c| {
            c.rate_limit.global_per_minute = 0;
            c.rate_limit.register_per_hour = 1_000_000;
        })
        .await;
        let admin = app.admin("fuzz-admin@example.com").await;
        let org = app.organization(&admin, "Fuzzed").await;
        let victim = app.signup("fuzz-victim@example.com").await;
        (app, admin.access, org, victim.user_id)
    });
    let targets = endpoints(&org, &user);
    let cases = std::env::var("SOCLE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    let mut runner = TestRunner::new(RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() });
    let strategy = (0..targets.len(), body(), any::<bool>(), prop::collection::vec(any::<u8>(), 0..64));
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<u16, u32>::new());
    let result = runner.run(&strategy, |(index, json, raw, bytes)| {
        let (method, path, auth) = &targets[index];
        let status = rt.block_on(async {
            let mut req = app.client.request(method.clone(), app.url(path));
            if *auth {
                req = req.bearer_auth(&token);
            }
            req =
                if raw { req.header("content-type", "application/json").body(bytes.clone()) } else { req.json(&json) };
            req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
        });
        if let Ok(mut seen) = statuses.lock() {
            *seen.entry(status).or_default() += 1;
        }
        prop_assert!(status != 0, "no answer from {method} {path}");
        prop_assert!(
            status < 500,
            "{method} {path} answered {status} to {}",
            if raw { format!("{bytes:?}") } else { json.to_string() }
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let seen = statuses.into_inner().unwrap_or_default();
    let total: u32 = seen.values().sum();
    assert!(total >= cases, "every case sent a request: {seen:?}");
    assert!(seen.get(&401).copied().unwrap_or(0) < total / 2, "the fuzzer kept its session: {seen:?}");
    assert!(seen.contains_key(&422) && seen.contains_key(&400), "bodies reached validation: {seen:?}");
    eprintln!("status histogram: {seen:?}");
    rt.block_on(app.stop());
}

#[test]
fn random_json_never_causes_a_server_error_sqlite() {
    random_json_never_causes_a_server_error(Backend::Sqlite);
}

#[test]
fn random_json_never_causes_a_server_error_postgres() {
    random_json_never_causes_a_server_error(Backend::Postgres);
}
