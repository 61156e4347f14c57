//! API fuzzing with schemathesis (PyPI `schemathesis` 4.x, installed by `scripts/test`; a
//! missing one fails the test) against the platform's OpenAPI document, as a signed-in
//! platform administrator: no operation answers a 5xx, a status its document does not
//! declare, or a body its declared schema does not describe.
//!
//! Before the run, the administrator creates one of each resource (organization, member,
//! project, page, collection, app, workflow, execution, webhook, ...); schemathesis draws path,
//! query and body identifiers from these most of the time (a "dictionary" with a probability),
//! so that requests reach the handlers behind the lookups, and generates them the rest of the
//! time. Generation is reproducible: a fixed `--seed` (override with `SOCLE_SCHEMATHESIS_SEED`)
//! and a bounded `--max-examples` per operation (`SOCLE_SCHEMATHESIS_EXAMPLES`, for a longer
//! run by hand).
//!
//! Runs one after the other, so that what one destroys does not starve the others:
//! 1. every operation but deletions and those that end the caller's own session; leaving an
//!    organization and handing it over act on a spare one, so the administrator keeps the
//!    fixtures;
//! 2. deletions (each fixture goes once; later requests meet 404s, which are declared), the
//!    organization and project deletions on spare ones;
//! 3. each operation that ends the caller's session (logout, revoking sessions, changing the
//!    password, deleting the account), with an account of its own.

use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, PASSWORD, Session, TestApp};

on_both_backends!(schemathesis_finds_no_failure);

/// Operations that end the session they are called with (or may, given the right id or
/// password): run last, with their own account.
const SESSION_ENDING: &[(&str, &str)] = &[
    ("POST", "/api/v1/foundation/auth/logout"),
    ("POST", "/api/v1/foundation/users/me/password"),
    ("DELETE", "/api/v1/foundation/users/me"),
    ("POST", "/api/v1/foundation/users/me/sessions/revoke-others"),
    ("DELETE", "/api/v1/foundation/users/me/sessions/{id}"),
    // The fixtures' account id is the administrator's own.
    ("POST", "/api/v1/admin/users/{id}/sessions/revoke-all"),
    ("DELETE", "/api/v1/admin/users/{id}/sessions/{session_id}"),
];

/// Operations that answer the documented 503 once their input is valid, because this run
/// has no AI provider and no Stripe (`tests/api/assistant.rs` and `tests/api/cards.rs` drive
/// them against local servers speaking those APIs).
const NEEDS_PROVIDER: &[(&str, &str)] = &[
    ("POST", "/api/v1/payments/methods/setup"),
    ("GET", "/api/v1/payments/methods"),
    ("POST", "/api/v1/payments/methods/{id}/default"),
    ("DELETE", "/api/v1/payments/methods/{id}"),
    ("POST", "/api/v1/assistant/generate/page"),
    ("POST", "/api/v1/assistant/generate/component"),
    ("POST", "/api/v1/assistant/generate/collection"),
    ("POST", "/api/v1/assistant/suggest"),
    ("POST", "/api/v1/assistant/chat"),
    ("POST", "/api/v1/assistant/coach"),
    ("POST", "/api/v1/assistant/search"),
];

/// What the administrator created before the run, for schemathesis to use.
struct Fixtures {
    admin: Session,
    organization: String,
    /// An organization of the administrator's with the member in it, to leave, hand over
    /// and delete.
    spare_organization: String,
    member: String,
    invitation: String,
    api_key: String,
    project: String,
    /// A project to delete.
    spare_project: String,
    page: String,
    collection: String,
    share_link: String,
    share_token: String,
    component: String,
    secret: String,
    app: String,
    workflow: String,
    execution: String,
    hook_token: String,
    webhook: String,
    delivery: Option<String>,
    notification: String,
    job: String,
    email_template: String,
}

fn id_of(body: &Value) -> String {
    body["id"].as_str().unwrap_or_else(|| panic!("an id in {body}")).to_string()
}

async fn fixtures(app: &TestApp) -> Fixtures {
    let admin = app.admin("fuzz-admin@example.com").await;
    let token = Some(admin.access.as_str());
    let organization = app.organization(&admin, "Fuzzed").await;
    let member = app.signup("fuzz-member@example.com").await;
    app.add_member(&organization, &admin, &member, "MEMBER").await;
    let spare_organization = app.organization(&admin, "Spare").await;
    app.add_member(&spare_organization, &admin, &member, "MEMBER").await;
    let orgs = format!("/api/v1/foundation/organizations/{organization}");
    let invitation = id_of(
        &app.post(
            &format!("{orgs}/invitations"),
            token,
            json!({"email": "fuzz-invitee@example.com", "role": "MEMBER"}),
        )
        .await
        .expect(201)
        .body,
    );
    let api_key = id_of(
        &app.post("/api/v1/foundation/api-keys", token, json!({"organization_id": organization, "name": "fuzz"}))
            .await
            .expect(201)
            .body,
    );
    // Created first, so that the events of what follows are delivered (or tried) to it.
    let webhook = id_of(
        &app.post(
            "/api/v1/automation/webhooks",
            token,
            json!({"organization_id": organization, "url": "https://hooks.example.invalid/socle", "events": ["*"]}),
        )
        .await
        .expect(201)
        .body,
    );
    let project = crate::studio_projects::project(app, &admin, &organization, "Fuzzed").await;
    let spare_project = crate::studio_projects::project(app, &admin, &organization, "Spare").await;
    let studio = format!("/api/v1/studio/projects/{project}");
    let page = id_of(&app.post(&format!("{studio}/pages"), token, json!({"name": "Home"})).await.expect(201).body);
    let collection = "notes".to_string();
    app.post(
        &format!("{studio}/collections"),
        token,
        json!({"name": collection, "fields": [{"name": "title", "type": "text"}, {"name": "done", "type": "bool"}],
               "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": ""}),
    )
    .await
    .expect(201);
    let link = app.post(&format!("{studio}/share-links"), token, json!({})).await.expect(201).body;
    let share_link = id_of(&link);
    let share_token = link["token"].as_str().unwrap_or_else(|| panic!("a share token in {link}")).to_string();
    let component = id_of(
        &app.post(
            "/api/v1/studio/components",
            token,
            json!({"organization_id": organization, "name": "Card", "document": {"type": "section"}}),
        )
        .await
        .expect(201)
        .body,
    );
    let secret = "FUZZ_SECRET".to_string();
    app.put(&format!("/api/v1/automation/projects/{project}/secrets/{secret}"), token, json!({"value": "s3cret"}))
        .await
        .expect(200);
    let app_id = crate::runtime::create_and_deploy(app, &admin, &project, "fuzzed").await;
    let workflow = id_of(
        &app.post(
            "/api/v1/automation/workflows",
            token,
            json!({"project_id": project, "name": "Manual", "definition": {
                "trigger": {"type": "manual"},
                "steps": [{"id": "greet", "type": "set", "values": {"hello": "{{ input.name }}"}}]
            }}),
        )
        .await
        .expect(201)
        .body,
    );
    let execution = id_of(
        &app.post(
            &format!("/api/v1/automation/workflows/{workflow}/execute"),
            token,
            json!({"input": {"name": "fuzz"}}),
        )
        .await
        .expect(202)
        .body,
    );
    let hooked = app
        .post(
            "/api/v1/automation/workflows",
            token,
            json!({"project_id": project, "name": "Hooked", "definition": {
                "trigger": {"type": "webhook"},
                "steps": [{"id": "greet", "type": "set", "values": {"hello": "{{ input.name }}"}}]
            }}),
        )
        .await
        .expect(201)
        .body;
    let hook_url = hooked["hook_url"].as_str().unwrap_or_else(|| panic!("a hook url in {hooked}"));
    let hook_token = hook_url.rsplit('/').next().unwrap_or_default().to_string();
    app.post(
        "/api/v1/admin/notifications",
        token,
        json!({"user_id": admin.user_id, "type": "fuzz.hello", "title": "Hello"}),
    )
    .await
    .expect(202);
    // Deliveries, notifications and jobs come from the outbox and the workers.
    app.settled().await;
    let first = |body: &Value| body["items"][0]["id"].as_str().map(str::to_string);
    let delivery = first(&app.get(&format!("/api/v1/automation/webhooks/{webhook}/deliveries"), token).await.body);
    let notification = first(&app.get("/api/v1/notifications", token).await.expect(200).body)
        .unwrap_or_else(|| panic!("the administrator has a notification"));
    let job = first(&app.get("/api/v1/admin/jobs", token).await.expect(200).body)
        .unwrap_or_else(|| panic!("a job was queued"));
    let templates = app.get("/api/v1/admin/email-templates", token).await.expect(200).body;
    let email_template =
        templates[0]["key"].as_str().unwrap_or_else(|| panic!("a template in {templates}")).to_string();
    Fixtures {
        admin,
        organization,
        spare_organization,
        member: member.user_id,
        invitation,
        api_key,
        project,
        spare_project,
        page,
        collection,
        share_link,
        share_token,
        component,
        secret,
        app: app_id,
        workflow,
        execution,
        hook_token,
        webhook,
        delivery,
        notification,
        job,
        email_template,
    }
}

/// A TOML string.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The schemathesis configuration: a dictionary per fixture, and which parameters of which
/// operations draw from it (80% of the time; the rest is generated). `session`: the caller's
/// own session, for the run that may revoke it.
fn config(f: &Fixtures, session: Option<&str>) -> String {
    // Each dictionary's one value, as a TOML literal (the page version is an integer).
    let mut dictionaries = vec![
        ("organization", quoted(&f.organization)),
        ("spare_organization", quoted(&f.spare_organization)),
        ("member", quoted(&f.member)),
        ("invitation", quoted(&f.invitation)),
        ("api_key", quoted(&f.api_key)),
        ("project", quoted(&f.project)),
        ("spare_project", quoted(&f.spare_project)),
        ("page", quoted(&f.page)),
        ("version", "1".to_string()),
        ("collection", quoted(&f.collection)),
        ("share_link", quoted(&f.share_link)),
        ("share_token", quoted(&f.share_token)),
        ("component", quoted(&f.component)),
        ("secret", quoted(&f.secret)),
        ("app", quoted(&f.app)),
        ("workflow", quoted(&f.workflow)),
        ("execution", quoted(&f.execution)),
        ("hook_token", quoted(&f.hook_token)),
        ("webhook", quoted(&f.webhook)),
        ("notification", quoted(&f.notification)),
        ("job", quoted(&f.job)),
        ("email_template", quoted(&f.email_template)),
        ("password", quoted(PASSWORD)),
    ];
    if let Some(delivery) = &f.delivery {
        dictionaries.push(("delivery", quoted(delivery)));
    }
    if let Some(session) = session {
        dictionaries.push(("session", quoted(session)));
    }
    let mut out = String::new();
    for (name, value) in &dictionaries {
        out.push_str(&format!("[dictionaries.{name}]\nvalues = [{value}]\n\n"));
    }
    // `"query.x" = { dictionary = "d", probability = 0.8 }` for each binding whose dictionary exists.
    let bindings = |pairs: &[(&str, &str)]| -> Vec<String> {
        pairs
            .iter()
            .filter(|(_, d)| dictionaries.iter().any(|(name, _)| name == d))
            .map(|(param, d)| format!("{} = {{ dictionary = {}, probability = 0.8 }}", quoted(param), quoted(d)))
            .collect()
    };
    // Everywhere: the organization, project and member a query or a body names, and the
    // password a body asks for.
    let everywhere = bindings(&[
        ("query.organization_id", "organization"),
        ("body.organization_id", "organization"),
        ("body.project_id", "project"),
        ("body.user_id", "member"),
        ("body.current_password", "password"),
        ("body.password", "password"),
    ]);
    out.push_str(&format!("[parameters]\n{}\n\n", everywhere.join("\n")));
    // By operation name (`METHOD /path`), in regular expressions that do not overlap: an
    // operation takes one binding per parameter.
    let operations: &[(&str, &[(&str, &str)])] = &[
        (
            "^POST /api/v1/foundation/organizations/\\{id\\}/(leave|transfer-ownership)$",
            &[("path.id", "spare_organization")],
        ),
        ("^DELETE /api/v1/foundation/organizations/\\{id\\}$", &[("path.id", "spare_organization")]),
        ("^(GET|PATCH) /api/v1/foundation/organizations/\\{id\\}$", &[("path.id", "organization")]),
        (
            "^[A-Z]+ /api/v1/foundation/organizations/\\{id\\}/(?!leave$|transfer-ownership$)",
            &[("path.id", "organization"), ("path.user_id", "member"), ("path.invitation_id", "invitation")],
        ),
        ("^[A-Z]+ /api/v1/foundation/users/me/sessions/\\{id\\}", &[("path.id", "session")]),
        ("^[A-Z]+ /api/v1/foundation/api-keys/\\{id\\}", &[("path.id", "api_key")]),
        ("^[A-Z]+ /api/v1/admin/users/\\{id\\}", &[("path.id", "member")]),
        ("^[A-Z]+ /api/v1/admin/jobs/\\{id\\}", &[("path.id", "job")]),
        ("^[A-Z]+ /api/v1/admin/email-templates/\\{key\\}", &[("path.key", "email_template")]),
        ("^DELETE /api/v1/studio/projects/\\{id\\}$", &[("path.id", "spare_project")]),
        ("^(GET|PATCH) /api/v1/studio/projects/\\{id\\}$", &[("path.id", "project")]),
        (
            "^[A-Z]+ /api/v1/studio/projects/\\{id\\}/",
            &[
                ("path.id", "project"),
                ("path.page_id", "page"),
                ("path.version", "version"),
                ("query.from", "version"),
                ("query.to", "version"),
                ("path.collection", "collection"),
                ("path.link_id", "share_link"),
            ],
        ),
        ("^[A-Z]+ /api/v1/studio/share/\\{token\\}", &[("path.token", "share_token")]),
        ("^[A-Z]+ /api/v1/studio/components/\\{id\\}", &[("path.id", "component")]),
        (
            "^[A-Z]+ /api/v1/automation/projects/\\{project_id\\}",
            &[("path.project_id", "project"), ("path.name", "secret")],
        ),
        ("^[A-Z]+ /api/v1/runtime/apps/\\{id\\}", &[("path.id", "app")]),
        ("^[A-Z]+ /api/v1/automation/workflows/\\{id\\}", &[("path.id", "workflow")]),
        ("^[A-Z]+ /api/v1/automation/executions/\\{id\\}", &[("path.id", "execution")]),
        ("^[A-Z]+ /api/v1/automation/hooks/\\{token\\}", &[("path.token", "hook_token")]),
        ("^[A-Z]+ /api/v1/automation/webhooks/\\{id\\}", &[("path.id", "webhook"), ("path.delivery_id", "delivery")]),
        ("^[A-Z]+ /api/v1/notifications/\\{id\\}", &[("path.id", "notification")]),
    ];
    for (name, pairs) in operations {
        let parameters = bindings(pairs).join(", ");
        out.push_str(&format!(
            "[[operations]]\ninclude-name-regex = {}\nparameters = {{ {parameters} }}\n\n",
            quoted(name)
        ));
    }
    out
}

/// One schemathesis run: its exit status, console output and report of events.
struct Run {
    success: bool,
    console: String,
    events: Vec<Value>,
}

/// Run schemathesis on `app`'s document with `config` and `token`, restricted by `filters`;
/// its report is written next to `config`.
async fn schemathesis(app: &TestApp, config: &Path, name: &str, token: &str, filters: &[String]) -> Run {
    let dir = config.parent().unwrap_or(Path::new("."));
    let examples = std::env::var("SOCLE_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "10".into());
    let seed = std::env::var("SOCLE_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261206".into());
    let report = dir.join(format!("{name}.ndjson"));
    // `python3 -m`, as for openapi-spec-validator: pip's `st` script need not be on the PATH.
    let mut command = tokio::process::Command::new("python3");
    command
        .current_dir(dir)
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(config)
        .arg("run")
        .arg(app.url("/api/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // The document offers an API key header too; generating one would only get 401s.
        .args(["--generation-with-security-parameters", "false"])
        // Response schema conformance holds: every JSON answer is checked against its schema
        // (the project export is gzip, which schemathesis cannot read, and says so).
        .args(["--checks", "not_a_server_error,status_code_conformance,response_schema_conformance"])
        .args(["--max-examples", &examples, "--seed", &seed])
        .args(["--generation-database", "none", "--no-color", "--report", "ndjson"])
        .arg("--report-ndjson-path")
        .arg(&report)
        .args(filters)
        .kill_on_drop(true);
    let install = "python3 -m pip install 'schemathesis>=4,<5' (scripts/test does)";
    let out = match command.output().await {
        Ok(out) => out,
        Err(e) => panic!("python3 could not run schemathesis: {e}; {install}"),
    };
    let console = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!console.contains("No module named schemathesis"), "schemathesis is not installed: {install}");
    let events = std::fs::read_to_string(&report)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    Run { success: out.status.success(), console, events }
}

/// Every failed check and every error of a run, one line each.
fn failures(run: &Run) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    for event in &run.events {
        if let Some(finished) = event.get("ScenarioFinished") {
            let checks = finished["recorder"]["checks"].as_object().into_iter().flat_map(|c| c.values());
            for check in checks.filter_map(Value::as_array).flatten() {
                if check["status"] != "success" {
                    let failure = &check["failure_info"]["failure"];
                    let message = failure["message"].as_str().unwrap_or_default().replace('\n', "; ");
                    out.insert(format!(
                        "{} {} {}: {message}",
                        failure["operation"].as_str().unwrap_or_default(),
                        failure["code"].as_str().unwrap_or_default(),
                        failure["title"].as_str().unwrap_or_default(),
                    ));
                }
            }
        } else if let Some(error) = event.get("NonFatalError").or_else(|| event.get("FatalError")) {
            let text = error.to_string();
            out.insert(format!("error: {}", text.chars().take(600).collect::<String>()));
        }
    }
    out.into_iter().collect()
}

/// The requests a run sent and the statuses they got, to check that it reached the handlers.
fn statuses(run: &Run) -> std::collections::BTreeMap<u16, usize> {
    let mut out = std::collections::BTreeMap::new();
    for event in &run.events {
        let interactions = event["ScenarioFinished"]["recorder"]["interactions"].as_object();
        for interaction in interactions.into_iter().flat_map(|i| i.values()) {
            if let Some(status) = interaction["response"]["status_code"].as_u64() {
                *out.entry(status as u16).or_default() += 1;
            }
        }
    }
    out
}

#[track_caller]
fn assert_clean(name: &str, run: &Run) {
    let found = failures(run);
    if run.success && found.is_empty() {
        return;
    }
    // The console's own account (with a curl command per failure) follows the list.
    let details = ["ERRORS", "FAILURES"].iter().filter_map(|s| run.console.find(s)).min().unwrap_or(0);
    panic!(
        "schemathesis ({name}) found {} problem(s):\n{}\n\n{}",
        found.len(),
        found.join("\n"),
        run.console[details..].chars().take(20_000).collect::<String>()
    );
}

fn operation_filters(ops: &[(&str, &str)], flag: &str) -> Vec<String> {
    // `--include-name` / `--exclude-name` match an operation's label, `METHOD /path`, exactly.
    ops.iter().flat_map(|(method, path)| [format!("--{flag}-name"), format!("{method} {path}")]).collect()
}

async fn schemathesis_finds_no_failure(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        // The fuzzer is one client sending thousands of requests: the per-IP limits would
        // answer most of them 429 (declared, but then the handlers behind are not reached).
        c.rate_limit.global_per_minute = 0;
        c.rate_limit.register_per_hour = 1_000_000;
        c.rate_limit.login_failures_per_hour = 1_000_000;
        c.rate_limit.password_reset_per_hour = 1_000_000;
    })
    .await;
    let f = fixtures(&app).await;
    let dir = std::env::temp_dir().join(format!("socle-schemathesis-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let shared = dir.join("schemathesis.toml");
    std::fs::write(&shared, config(&f, None)).expect("write the configuration");
    let started = Instant::now();

    let mut main = operation_filters(SESSION_ENDING, "exclude");
    main.extend(operation_filters(NEEDS_PROVIDER, "exclude"));
    main.extend(["--exclude-method".to_string(), "DELETE".to_string()]);
    let run = schemathesis(&app, &shared, "main", &f.admin.access, &main).await;
    let seen = statuses(&run);
    assert_clean("every operation but deletions", &run);
    let total: usize = seen.values().sum();
    let success: usize = seen.range(200..300).map(|(_, n)| n).sum();
    assert!(total > 1000, "schemathesis sent {total} requests: {seen:?}");
    // Most cases are negative (invalid on purpose), so most answers are 4xx.
    assert!(success * 10 > total, "a tenth of the requests reached a handler and succeeded: {seen:?}");
    assert!(seen.get(&401).copied().unwrap_or(0) * 10 < total, "the administrator stayed signed in: {seen:?}");

    let mut deletions = operation_filters(SESSION_ENDING, "exclude");
    deletions.extend(operation_filters(NEEDS_PROVIDER, "exclude"));
    deletions.extend(["--include-method".to_string(), "DELETE".to_string()]);
    let run = schemathesis(&app, &shared, "deletions", &f.admin.access, &deletions).await;
    assert_clean("deletions", &run);
    let deleted = statuses(&run);
    assert!(deleted.contains_key(&204), "a deletion reached its handler: {deleted:?}");

    // Each operation that ends the caller's session with an account of its own, created now
    // so that the runs before cannot touch it.
    for (i, (method, path)) in SESSION_ENDING.iter().enumerate() {
        let own = app.signup(&format!("fuzz-session-{i}@example.com")).await;
        let sessions = app.get("/api/v1/foundation/users/me/sessions", Some(&own.access)).await.expect(200).body;
        let current = sessions.as_array().into_iter().flatten().find(|s| s["current"] == true);
        let config = dir.join(format!("session-{i}.toml"));
        std::fs::write(&config, self::config(&f, current.and_then(|s| s["id"].as_str()))).expect("write");
        let name = format!("session-{i}");
        let run =
            schemathesis(&app, &config, &name, &own.access, &operation_filters(&[(*method, *path)], "include")).await;
        assert_clean(&format!("{method} {path}"), &run);
    }

    eprintln!(
        "schemathesis ({backend:?}): done in {:.0?}; main run {seen:?}; deletions {deleted:?}",
        started.elapsed()
    );
    // `SOCLE_SCHEMATHESIS_KEEP=1` keeps the configuration and the reports to look at.
    if std::env::var_os("SOCLE_SCHEMATHESIS_KEEP").is_some() {
        eprintln!("schemathesis configuration and reports: {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    app.stop().await;
}
