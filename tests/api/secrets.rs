//! The server's keys across processes and rotations: several processes on one database
//! accept each other's tokens; a rotated JWT secret keeps verifying the tokens of the
//! previous ones listed, and only those; workflow secrets survive a JWT rotation, follow a
//! secrets-key rotation, fail clearly under a key not listed, and values written before
//! `secrets_key` existed are read and re-encrypted at start.

use kernel::Config;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::studio_projects::project;
use crate::support::{Backend, PASSWORD, Session, TestApp};
use crate::workflows::{create_workflow, execute, fast, finished, json_api};

const OLD_JWT: &str = "the-old-jwt-secret-of-at-least-32-characters";
const NEW_JWT: &str = "the-new-jwt-secret-of-at-least-32-characters";
const KEY_1: &str = "the-first-secrets-key-of-32-characters-or-more";
const KEY_2: &str = "the-second-secrets-key-of-32-characters-or-more";
const KEY_3: &str = "the-third-secrets-key-of-32-characters-or-more";
const ME: &str = "/api/v1/foundation/users/me";

/// The first process: API only (the processes started after it run the steps), with its keys.
async fn first(backend: Backend, jwt: &str, key: &str) -> TestApp {
    let (jwt, key) = (jwt.to_string(), key.to_string());
    TestApp::spawn_with(backend, move |c| {
        fast(c);
        c.role = "api".into();
        c.jwt_secret = Some(jwt);
        c.secrets_key = Some(key);
    })
    .await
}

/// Another process on `first`'s database (its SQLite file, or its PostgreSQL schema).
async fn another(first: &TestApp, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let url = first.database_url.clone();
    let dir = first.data_dir.clone();
    let backend = first.backend;
    TestApp::spawn_with(backend, move |c| {
        fast(c);
        match backend {
            Backend::Postgres => c.database_url = url,
            Backend::Sqlite => c.data_dir = dir,
        }
        tweak(c);
    })
    .await
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| s.to_string()).collect()
}

on_both_backends!(
    processes_sharing_a_database_accept_each_others_tokens_and_rotation_keeps_the_listed_previous_secrets,
    workflow_secrets_survive_a_jwt_rotation_and_follow_the_secrets_key,
    secrets_written_before_secrets_key_are_read_and_reencrypted_at_start,
);

async fn processes_sharing_a_database_accept_each_others_tokens_and_rotation_keeps_the_listed_previous_secrets(
    backend: Backend,
) {
    let a = first(backend, OLD_JWT, KEY_1).await;
    let user = a.admin("rotate@keys.example").await;
    // A second process with the same keys: each accepts the other's tokens.
    let peer = another(&a, |c| {
        c.role = "api".into();
        c.jwt_secret = Some(OLD_JWT.into());
        c.secrets_key = Some(KEY_1.into());
    })
    .await;
    peer.get(ME, Some(&user.access)).await.expect(200);
    let from_peer = peer.login(&user.email, PASSWORD).await;
    a.get(ME, Some(&from_peer.access)).await.expect(200);
    peer.stop().await;

    // Rotated, with the old secret listed: old tokens verify, new ones are signed with the new secret.
    let rotated = another(&a, |c| {
        c.role = "api".into();
        c.jwt_secret = Some(NEW_JWT.into());
        c.jwt_previous_secrets = strings(&[OLD_JWT]);
        c.secrets_key = Some(KEY_1.into());
    })
    .await;
    rotated.get(ME, Some(&user.access)).await.expect(200);
    let fresh = rotated.login(&user.email, PASSWORD).await;
    rotated.get(ME, Some(&fresh.access)).await.expect(200);
    a.get(ME, Some(&fresh.access)).await.expect(401);
    rotated.stop().await;

    // The old secret dropped: its tokens are refused, the new ones still work.
    let dropped = another(&a, |c| {
        c.role = "api".into();
        c.jwt_secret = Some(NEW_JWT.into());
        c.secrets_key = Some(KEY_1.into());
    })
    .await;
    dropped.get(ME, Some(&user.access)).await.expect(401);
    dropped.get(ME, Some(&fresh.access)).await.expect(200);
    dropped.stop().await;
}

/// An admin, an organization and a project on `app`, and a workflow calling a recording API
/// with `Bearer {{ secrets.API_TOKEN }}`. Returns (admin, project, workflow, hits).
async fn calling_workflow(app: &TestApp) -> (Session, String, String, crate::http_stub::Hits) {
    let admin = app.admin("flows@keys.example").await;
    let org = app.organization(&admin, "Keys").await;
    let project_id = project(app, &admin, &org, "Keys").await;
    let (api, hits) = json_api(vec![(200, json!({"ok": true}))]).await;
    let workflow = create_workflow(
        app,
        &admin,
        &project_id,
        "Call",
        json!({
            "trigger": {"type": "manual"},
            "steps": [{"id": "call", "type": "http", "method": "GET", "url": format!("{api}/call"),
                       "headers": {"authorization": "Bearer {{ secrets.API_TOKEN }}"}}]
        }),
    )
    .await;
    (admin, project_id, workflow, hits)
}

/// Run the workflow on `app`; returns the finished execution.
async fn run(app: &TestApp, who: &Session, workflow: &str) -> Value {
    let id = execute(app, who, workflow, json!({})).await;
    finished(app, who, &id).await
}

fn last_authorization(hits: &crate::http_stub::Hits) -> Option<String> {
    hits.lock().ok()?.last().and_then(|h| h.header("authorization").map(String::from))
}

async fn stored(app: &TestApp, project_id: &str) -> String {
    app.db
        .scalar(
            "SELECT value FROM workflow_secrets WHERE project_id = $1 AND name = 'API_TOKEN'",
            kernel::args![project_id],
        )
        .await
        .expect("the stored value")
}

async fn workflow_secrets_survive_a_jwt_rotation_and_follow_the_secrets_key(backend: Backend) {
    let a = first(backend, OLD_JWT, KEY_1).await;
    let (admin, project_id, workflow, hits) = calling_workflow(&a).await;
    let secret = format!("/api/v1/automation/projects/{project_id}/secrets/API_TOKEN");
    a.put(&secret, Some(&admin.access), json!({"value": "tok-stored-first"})).await.expect(200);
    let first_value = stored(&a, &project_id).await;
    assert!(first_value.starts_with("v2:"), "{first_value}");

    // The JWT secret rotates; the secrets key does not: the secret still decrypts, in a step.
    let b = another(&a, |c| {
        c.jwt_secret = Some(NEW_JWT.into());
        c.jwt_previous_secrets = strings(&[OLD_JWT]);
        c.secrets_key = Some(KEY_1.into());
    })
    .await;
    let done = run(&b, &admin, &workflow).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(last_authorization(&hits).as_deref(), Some("Bearer tok-stored-first"));
    assert_eq!(stored(&b, &project_id).await, first_value, "nothing to re-encrypt");
    b.stop().await;

    // The secrets key rotates with the old one listed: it decrypts, and is re-encrypted at start.
    let c = another(&a, |c| {
        c.jwt_secret = Some(NEW_JWT.into());
        c.jwt_previous_secrets = strings(&[OLD_JWT]);
        c.secrets_key = Some(KEY_2.into());
        c.secrets_previous_keys = strings(&[KEY_1]);
    })
    .await;
    let second_value = stored(&c, &project_id).await;
    assert!(second_value.starts_with("v2:") && second_value != first_value, "re-encrypted under the new key");
    let done = run(&c, &admin, &workflow).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(last_authorization(&hits).as_deref(), Some("Bearer tok-stored-first"));
    c.stop().await;

    // A key that is not listed: the step fails with a clear reason, nothing leaks, no 500.
    let d = another(&a, |c| {
        c.jwt_secret = Some(NEW_JWT.into());
        c.jwt_previous_secrets = strings(&[OLD_JWT]);
        c.secrets_key = Some(KEY_3.into());
    })
    .await;
    let calls = hits.lock().map(|h| h.len()).unwrap_or_default();
    let done = run(&d, &admin, &workflow).await;
    assert_eq!(done["status"], "failed", "{done}");
    let error = done["error"].as_str().unwrap_or_default();
    assert!(error.contains("API_TOKEN cannot be decrypted") && error.contains("secrets_previous_keys"), "{error}");
    assert!(!done.to_string().contains(KEY_2) && !done.to_string().contains("tok-stored-first"));
    assert_eq!(hits.lock().map(|h| h.len()).unwrap_or_default(), calls, "the API was not called");
    // Setting it again under the current key mends it.
    d.put(&secret, Some(&admin.access), json!({"value": "tok-set-again"})).await.expect(200);
    let done = run(&d, &admin, &workflow).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(last_authorization(&hits).as_deref(), Some("Bearer tok-set-again"));
    d.stop().await;
}

async fn secrets_written_before_secrets_key_are_read_and_reencrypted_at_start(backend: Backend) {
    let a = first(backend, OLD_JWT, KEY_1).await;
    let (admin, project_id, workflow, hits) = calling_workflow(&a).await;
    // A value as the first format wrote it: keyed by the JWT secret, unprefixed.
    let legacy = automation::workflows::secrets::SecretBox::seal_legacy(
        OLD_JWT.as_bytes(),
        &format!("{project_id}/API_TOKEN"),
        "tok-from-before",
    )
    .expect("seal");
    let now = kernel::time::now();
    a.db.execute(
        "INSERT INTO workflow_secrets (project_id, name, value, created_by, created_at, updated_at)
         VALUES ($1, 'API_TOKEN', $2, $3, $4, $4)",
        kernel::args![&project_id, &legacy, &admin.user_id, now],
    )
    .await
    .expect("insert");

    // The upgraded server starts: the value is re-encrypted under secrets_key...
    let b = another(&a, |c| {
        c.jwt_secret = Some(OLD_JWT.into());
        c.secrets_key = Some(KEY_1.into());
    })
    .await;
    let upgraded = stored(&b, &project_id).await;
    assert!(upgraded.starts_with("v2:"), "{upgraded}");
    let done = run(&b, &admin, &workflow).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(last_authorization(&hits).as_deref(), Some("Bearer tok-from-before"));
    b.stop().await;

    // ...so a later JWT rotation, even without the old secret listed, leaves it readable.
    let c = another(&a, |c| {
        c.jwt_secret = Some(NEW_JWT.into());
        c.secrets_key = Some(KEY_1.into());
    })
    .await;
    let admin = c.login(&admin.email, PASSWORD).await;
    let done = run(&c, &admin, &workflow).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(last_authorization(&hits).as_deref(), Some("Bearer tok-from-before"));
    c.stop().await;
}
