//! Workflows end to end, on both databases: a workflow that calls a local HTTP API, branches
//! on its answer, creates a record and sends an email that a real SMTP server (Python's
//! aiosmtpd) receives; every trigger (manual, record with filter, project with its default
//! workflow, schedule, signed incoming webhook) and step kind (condition, HTTP, email,
//! record, notification, delay, set, loop); retry from the failed step, re-run, cancel; the
//! guard rails (SSRF, step and loop limits, chains of workflows); secrets never shown; the
//! published JSON Schema checked by an independent validator.

use std::time::Duration;

use serde_json::{Value, json};

use crate::http_stub::{self, Hits};
use crate::studio_projects::project;
use crate::support::{Backend, Session, TestApp};
use crate::{eventually, on_both_backends};

/// A small JSON API answering the scripted `(status, body)` in turn (the last one again
/// once the script is done), recording each request.
pub(crate) async fn json_api(script: Vec<(u16, Value)>) -> (String, Hits) {
    let script: Vec<(u16, String)> = script.into_iter().map(|(status, body)| (status, body.to_string())).collect();
    let then = script.last().cloned().unwrap_or((200, "{}".into()));
    http_stub::start(script, then).await
}

/// A real SMTP server: Python's aiosmtpd writing what it receives to a maildir.
struct SmtpServer {
    port: u16,
    maildir: std::path::PathBuf,
    child: std::process::Child,
}

impl SmtpServer {
    async fn start() -> Self {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("addr").port()
        };
        let maildir = std::env::temp_dir().join(format!("socle-smtp-{}", uuid::Uuid::new_v4().simple()));
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (pip install aiosmtpd)");
        // Built before waiting, so that a server that never comes up is still killed.
        let server = SmtpServer { port, maildir, child };
        eventually!("the SMTP server to accept connections", {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok().map(|_| ())
        });
        server
    }

    /// The raw messages received so far.
    fn messages(&self) -> Vec<String> {
        std::fs::read_dir(self.maildir.join("new"))
            .map(|rd| rd.filter_map(|e| e.ok()).filter_map(|e| std::fs::read_to_string(e.path()).ok()).collect())
            .unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

/// Wait until an execution has finished (succeeded, failed or cancelled); returns it.
pub(crate) async fn finished(app: &TestApp, who: &Session, id: &str) -> Value {
    eventually!(&format!("execution {id} to finish"), {
        let e = app.get(&format!("/api/v1/automation/executions/{id}"), Some(&who.access)).await.expect(200).body;
        matches!(e["status"].as_str(), Some("succeeded" | "failed" | "cancelled")).then_some(e)
    })
}

fn step_ids(execution: &Value) -> Vec<String> {
    execution["steps"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|r| format!("{}:{}", r["step_id"].as_str().unwrap_or("?"), r["status"].as_str().unwrap_or("?")))
                .collect()
        })
        .unwrap_or_default()
}

/// An organization, a project with an `orders` collection, and its app, deployed.
/// Returns (organization, project, app id, app slug).
async fn shop(app: &TestApp, builder: &Session, slug: &str) -> (String, String, String) {
    let org = app.organization(builder, "Shop").await;
    let project_id = project(app, builder, &org, "Shop").await;
    app.post(
        &format!("/api/v1/studio/projects/{project_id}/collections"),
        Some(&builder.access),
        json!({"name": "orders", "fields": [
            {"name": "title", "type": "text", "required": true, "max": 100},
            {"name": "amount", "type": "number", "min": 0},
            {"name": "status", "type": "text"}
        ]}),
    )
    .await
    .expect(201);
    let created = app
        .post(
            "/api/v1/runtime/apps",
            Some(&builder.access),
            json!({"project_id": project_id, "slug": slug, "name": "Shop"}),
        )
        .await
        .expect(201);
    let app_id = created.body["id"].as_str().expect("app id").to_string();
    app.post(&format!("/api/v1/runtime/apps/{app_id}/deploy"), Some(&builder.access), json!({})).await.expect(201);
    (org, project_id, app_id)
}

pub(crate) async fn create_workflow(
    app: &TestApp,
    who: &Session,
    project_id: &str,
    name: &str,
    definition: Value,
) -> String {
    let r = app
        .post(
            "/api/v1/automation/workflows",
            Some(&who.access),
            json!({"project_id": project_id, "name": name, "definition": definition}),
        )
        .await
        .expect(201);
    r.body["id"].as_str().expect("workflow id").to_string()
}

pub(crate) async fn execute(app: &TestApp, who: &Session, workflow: &str, input: Value) -> String {
    let r = app
        .post(&format!("/api/v1/automation/workflows/{workflow}/execute"), Some(&who.access), json!({"input": input}))
        .await
        .expect(202);
    r.body["id"].as_str().expect("execution id").to_string()
}

async fn orders(app: &TestApp, who: &Session, slug: &str) -> Vec<Value> {
    let r = app.get(&format!("/apps/{slug}/api/collections/orders/records?sort=created"), Some(&who.access)).await;
    r.expect(200).body["items"].as_array().cloned().unwrap_or_default()
}

pub(crate) fn fast(c: &mut kernel::Config) {
    c.jobs.poll_ms = 50;
    c.update_section("automation", |s: &mut automation::settings::AutomationConfig| s.allow_private_network = true)
        .expect("automation settings");
}

on_both_backends!(
    a_workflow_calls_an_api_branches_creates_a_record_and_sends_an_email,
    failed_executions_resume_at_the_failed_step_and_can_be_cancelled,
    loops_delays_variables_and_limits,
    record_and_project_events_start_workflows,
    record_events_are_written_only_while_a_workflow_or_webhook_wants_them,
    an_upgrade_declares_the_interest_of_existing_workflows_and_webhooks,
    concurrent_webhook_changes_keep_the_interest_of_the_active_ones,
    schedules_and_signed_webhooks_start_workflows,
    workflows_are_checked_versioned_and_isolated,
    outgoing_requests_cannot_reach_private_addresses,
    records_written_by_workflow_steps_reach_realtime_subscribers,
    extreme_numbers_in_an_input_are_read_back,
);

async fn a_workflow_calls_an_api_branches_creates_a_record_and_sends_an_email(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with(backend, |c| {
        fast(c);
        c.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
    })
    .await;
    // An administrator signs in without an activation email (mail goes to SMTP here).
    let builder = app.admin("builder@flows.example").await;
    let (_, project_id, app_id) = shop(&app, &builder, "flow-shop").await;
    let (api, hits) = json_api(vec![
        (200, json!({"approved": true, "title": "Approved order"})),
        (200, json!({"approved": false, "title": "Refused"})),
    ])
    .await;
    app.put(
        &format!("/api/v1/automation/projects/{project_id}/secrets/API_TOKEN"),
        Some(&builder.access),
        json!({"value": "tok-123456"}),
    )
    .await
    .expect(200);
    let workflow = create_workflow(&app, &builder, &project_id, "Approve orders", json!({
        "trigger": {"type": "manual"},
        "steps": [
            {"id": "check", "type": "http", "method": "GET", "url": format!("{api}/check?order={{{{ input.order }}}}"),
             "headers": {"authorization": "Bearer {{ secrets.API_TOKEN }}"}},
            {"id": "decide", "type": "condition", "if": "steps.check.body.approved = true", "then": "create", "else": "refuse"},
            {"id": "create", "type": "record", "action": "create", "app_id": app_id, "collection": "orders",
             "data": {"title": "{{ steps.check.body.title }} #{{ input.order }}", "amount": "{{ input.order }}", "status": "approved"}},
            {"id": "mail", "type": "email", "to": "ops@flows.example",
             "subject": "Order {{ steps.create.id }} approved", "body": "Amount: {{ steps.create.amount }}", "next": "end"},
            {"id": "refuse", "type": "set", "values": {"reason": "refused by {{ steps.check.status }}"}}
        ]
    }))
    .await;

    let first = execute(&app, &builder, &workflow, json!({"order": 42})).await;
    let done = finished(&app, &builder, &first).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(step_ids(&done), ["check:succeeded", "decide:succeeded", "create:succeeded", "mail:succeeded"]);
    // The API got the secret; the log shows it masked.
    let hit = hits.lock().expect("hits")[0].clone();
    assert_eq!(hit.target, "/check?order=42");
    assert_eq!(hit.header("authorization"), Some("Bearer tok-123456"));
    assert_eq!(hit.header("socle-execution-id"), Some(first.as_str()));
    assert_eq!(done["steps"][0]["input"]["headers"]["authorization"], "Bearer ***");
    assert!(!done.to_string().contains("tok-123456"), "the secret never appears in the execution");
    // The record exists in the app, typed by its schema.
    let records = orders(&app, &builder, "flow-shop").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["title"], "Approved order #42");
    assert_eq!(records[0]["amount"], 42);
    let record_id = records[0]["id"].as_str().expect("record id").to_string();
    assert_eq!(done["context"]["steps"]["create"]["id"], record_id.as_str());
    // The email reached the SMTP server.
    let mail = eventually!("the email at the SMTP server", {
        smtp.messages().into_iter().find(|m| m.contains(&format!("Order {record_id} approved")))
    });
    assert!(mail.contains("ops@flows.example"));
    assert!(mail.contains("Amount: 42"));

    // The API refuses the second order: the other branch runs, nothing is created.
    let second = execute(&app, &builder, &workflow, json!({"order": 7})).await;
    let done = finished(&app, &builder, &second).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(step_ids(&done), ["check:succeeded", "decide:succeeded", "refuse:succeeded"]);
    assert_eq!(done["context"]["vars"]["reason"], "refused by 200");
    assert_eq!(orders(&app, &builder, "flow-shop").await.len(), 1);
    app.stop().await;
}

async fn failed_executions_resume_at_the_failed_step_and_can_be_cancelled(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast).await;
    let builder = app.signup("retry@flows.example").await;
    let (_, project_id, app_id) = shop(&app, &builder, "retry-shop").await;
    // The API is down (400: not retried) on the first call, then fine.
    let (api, hits) = json_api(vec![(400, json!({"error": "bad"})), (200, json!({"ok": true}))]).await;
    let workflow = create_workflow(&app, &builder, &project_id, "Sync", json!({
        "trigger": {"type": "manual"},
        "steps": [
            {"id": "first", "type": "record", "action": "create", "app_id": app_id, "collection": "orders",
             "data": {"title": "created once"}},
            {"id": "call", "type": "http", "method": "POST", "url": format!("{api}/sync"), "body": {"id": "{{ steps.first.id }}"}, "retries": 0},
            {"id": "last", "type": "set", "values": {"synced": "{{ steps.call.body.ok }}"}}
        ]
    }))
    .await;
    let id = execute(&app, &builder, &workflow, json!({})).await;
    let failed = finished(&app, &builder, &id).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap_or_default().starts_with("step call:"), "{}", failed["error"]);
    assert_eq!(failed["steps"][1]["output"]["status"], 400, "the failed answer is logged");
    assert_eq!(
        app.get(&format!("/api/v1/automation/workflows/{workflow}/executions?status=failed"), Some(&builder.access))
            .await
            .expect(200)
            .body["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Retry resumes at `call`: `first` does not run again (one record).
    let retried =
        app.post(&format!("/api/v1/automation/executions/{id}/retry"), Some(&builder.access), json!({})).await;
    // Queued, or already picked up by a worker by the time the answer is read.
    let status = retried.expect(202).body["status"].as_str().unwrap_or_default().to_string();
    assert!(matches!(status.as_str(), "queued" | "running"), "{status}");
    let done = finished(&app, &builder, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(step_ids(&done), ["first:succeeded", "call:failed", "call:succeeded", "last:succeeded"]);
    assert_eq!(done["context"]["vars"]["synced"], true);
    assert_eq!(orders(&app, &builder, "retry-shop").await.len(), 1);
    assert_eq!(hits.lock().expect("hits").len(), 2);
    // Only a failed execution can be retried.
    app.post(&format!("/api/v1/automation/executions/{id}/retry"), Some(&builder.access), json!({})).await.expect(409);

    // Re-run starts over as a new execution (a second record).
    let rerun = app.post(&format!("/api/v1/automation/executions/{id}/rerun"), Some(&builder.access), json!({})).await;
    let rerun = rerun.expect(202).body;
    assert_eq!(rerun["rerun_of"], id.as_str());
    let again = finished(&app, &builder, rerun["id"].as_str().expect("id")).await;
    assert_eq!(again["status"], "succeeded");
    assert_eq!(orders(&app, &builder, "retry-shop").await.len(), 2);

    // Cancel: a waiting execution stops and its next step never runs.
    let slow = create_workflow(&app, &builder, &project_id, "Slow", json!({
        "trigger": {"type": "manual"},
        "steps": [
            {"id": "wait", "type": "delay", "seconds": 3600},
            {"id": "after", "type": "record", "action": "create", "app_id": app_id, "collection": "orders", "data": {"title": "never"}}
        ]
    }))
    .await;
    let waiting = execute(&app, &builder, &slow, json!({})).await;
    eventually!("the execution to wait", {
        let e = app.get(&format!("/api/v1/automation/executions/{waiting}"), Some(&builder.access)).await.body;
        (e["status"] == "waiting").then_some(())
    });
    let cancelled =
        app.post(&format!("/api/v1/automation/executions/{waiting}/cancel"), Some(&builder.access), json!({})).await;
    assert_eq!(cancelled.expect(200).body["status"], "cancelled");
    app.post(&format!("/api/v1/automation/executions/{waiting}/cancel"), Some(&builder.access), json!({}))
        .await
        .expect(409);
    // Run the delayed step now: it sees the cancellation and does nothing.
    app.db
        .execute(
            "UPDATE jobs SET run_at = $1 WHERE kind = 'workflow.step' AND status = 'queued'",
            kernel::args![kernel::time::now()],
        )
        .await
        .expect("hurry");
    kernel::jobs::wake_workers();
    // Wait for that step's job to have run, not for a time that is enough on a fast machine.
    app.settled().await;
    let e = app.get(&format!("/api/v1/automation/executions/{waiting}"), Some(&builder.access)).await.expect(200).body;
    assert_eq!(e["status"], "cancelled");
    assert_eq!(step_ids(&e), ["wait:succeeded"]);
    assert!(orders(&app, &builder, "retry-shop").await.iter().all(|o| o["title"] != "never"));
    app.stop().await;
}

async fn loops_delays_variables_and_limits(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        fast(c);
        c.update_section("automation", |s: &mut automation::settings::AutomationConfig| {
            s.max_loop_items = 5;
            s.max_steps = 30;
        })
        .expect("automation settings");
    })
    .await;
    let builder = app.signup("loops@flows.example").await;
    let (_, project_id, app_id) = shop(&app, &builder, "loop-shop").await;
    let workflow = create_workflow(&app, &builder, &project_id, "Sum", json!({
        "trigger": {"type": "manual"},
        "steps": [
            {"id": "start", "type": "set", "values": {"total": 0}},
            {"id": "each", "type": "loop", "over": "{{ input.items }}", "steps": [
                {"id": "add", "type": "set", "values": {"total": "{{ vars.total + loop.item }}"}},
                {"id": "save", "type": "record", "action": "create", "app_id": app_id, "collection": "orders",
                 "data": {"title": "item {{ loop.index }}", "amount": "{{ loop.item }}"}},
                {"id": "remember", "type": "set", "values": {"first": "{{ vars.first or steps.save.id }}"}}
            ]},
            {"id": "rename", "type": "record", "action": "update", "app_id": app_id, "collection": "orders",
             "record_id": "{{ steps.save.id }}", "data": {"title": "last item"}},
            {"id": "drop", "type": "record", "action": "delete", "app_id": app_id, "collection": "orders",
             "record_id": "{{ vars.first }}"},
            {"id": "pause", "type": "delay", "seconds": 1},
            {"id": "done", "type": "set", "values": {"summary": "{{ vars.total }} over {{ steps.each.count }} items"}}
        ]
    }))
    .await;
    let started = std::time::Instant::now();
    let id = execute(&app, &builder, &workflow, json!({"items": [1, 2, 3]})).await;
    let done = finished(&app, &builder, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(started.elapsed() >= Duration::from_secs(1), "the delay waited");
    assert_eq!(done["context"]["vars"]["total"], 6);
    assert_eq!(done["context"]["vars"]["summary"], "6 over 3 items");
    assert_eq!(step_ids(&done).len(), 1 + 1 + 3 * 3 + 2 + 2);
    // Three created in the loop; the last renamed, the first deleted.
    let left = orders(&app, &builder, "loop-shop").await;
    let amounts: Vec<Value> = left.iter().map(|o| o["amount"].clone()).collect();
    assert_eq!(amounts, [json!(2), json!(3)]);
    assert_eq!(left[1]["title"], "last item");
    assert_eq!(done["context"]["steps"]["drop"]["amount"], 1, "a delete outputs the record it removed");

    // More items than the loop limit: the execution fails before iterating.
    let id = execute(&app, &builder, &workflow, json!({"items": [1, 2, 3, 4, 5, 6]})).await;
    let failed = finished(&app, &builder, &id).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap_or_default().contains("limit of 5"), "{}", failed["error"]);
    assert_eq!(orders(&app, &builder, "loop-shop").await.len(), 2);

    // A workflow that jumps back forever stops at the step limit.
    let forever = create_workflow(
        &app,
        &builder,
        &project_id,
        "Forever",
        json!({
            "trigger": {"type": "manual"},
            "steps": [{"id": "again", "type": "set", "values": {"n": "{{ (vars.n or 0) + 1 }}"}, "next": "again"}]
        }),
    )
    .await;
    let id = execute(&app, &builder, &forever, json!({})).await;
    let failed = finished(&app, &builder, &id).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap_or_default().contains("limit of 30 steps"), "{}", failed["error"]);
    assert_eq!(failed["context"]["vars"]["n"], 30);
    app.stop().await;
}

async fn record_and_project_events_start_workflows(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        fast(c);
        c.update_section("automation", |s: &mut automation::settings::AutomationConfig| s.max_chain_depth = 3)
            .expect("automation settings");
    })
    .await;
    let builder = app.signup("events@flows.example").await;
    let (_, project_id, app_id) = shop(&app, &builder, "event-shop").await;

    // The new project got its default workflow (made by the `project.created` listener, so
    // once the outbox is dispatched), which has already welcomed its creator.
    app.settled().await;
    let listed = app.get(&format!("/api/v1/automation/workflows?project_id={project_id}"), Some(&builder.access)).await;
    let defaults: Vec<Value> = listed.expect(200).body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0]["is_default"], true);
    assert_eq!(defaults[0]["trigger_type"], "project");
    let welcome = eventually!("the welcome notification", {
        let n = app.get("/api/v1/notifications", Some(&builder.access)).await.body;
        n["items"].as_array().and_then(|items| items.iter().find(|i| i["type"] == "project.ready").cloned())
    });
    assert_eq!(welcome["title"], "Your project Shop is ready");

    // Big orders notify the builder; small ones do not.
    create_workflow(&app, &builder, &project_id, "Big orders", json!({
        "trigger": {"type": "record", "app_id": app_id, "collection": "orders", "events": ["created"], "filter": "amount > 100"},
        "steps": [{"id": "tell", "type": "notification", "user_id": builder.user_id,
                   "title": "Big order: {{ trigger.record.title }}", "body": "{{ trigger.record.amount }}"}]
    }))
    .await;
    let base = "/apps/event-shop/api/collections/orders/records";
    app.post(base, Some(&builder.access), json!({"title": "small", "amount": 5})).await.expect(200);
    app.post(base, Some(&builder.access), json!({"title": "large", "amount": 500})).await.expect(200);
    let big = eventually!("the big-order notification", {
        let n = app.get("/api/v1/notifications", Some(&builder.access)).await.body;
        n["items"].as_array().and_then(|items| {
            items.iter().find(|i| i["title"].as_str().is_some_and(|t| t.starts_with("Big order"))).cloned()
        })
    });
    assert_eq!(big["title"], "Big order: large");
    // Both orders' events dispatched, and whatever they started finished: had the small one
    // matched, its notification would exist by now.
    app.settled().await;
    let n = app.get("/api/v1/notifications", Some(&builder.access)).await.body;
    let bigs = n["items"]
        .as_array()
        .map(|i| i.iter().filter(|x| x["title"].as_str().is_some_and(|t| t.starts_with("Big order"))).count());
    assert_eq!(bigs, Some(1), "the small order did not match the filter");

    // A workflow that creates a record in the collection it listens to stops at the chain
    // depth: the original order, then one per level (0..=3).
    let echo = create_workflow(&app, &builder, &project_id, "Echo", json!({
        "trigger": {"type": "record", "app_id": app_id, "collection": "orders", "events": ["created"], "filter": "status = 'echo'"},
        "steps": [{"id": "copy", "type": "record", "action": "create", "app_id": app_id, "collection": "orders",
                   "data": {"title": "echo of {{ trigger.record.id }}", "status": "echo"}}]
    }))
    .await;
    app.post(base, Some(&builder.access), json!({"title": "origin", "status": "echo"})).await.expect(200);
    eventually!("the chain to stop", {
        let r = app.get(&format!("/api/v1/automation/workflows/{echo}/executions"), Some(&builder.access)).await.body;
        let items = r["items"].as_array().cloned().unwrap_or_default();
        (items.len() == 4 && items.iter().all(|e| e["status"] == "succeeded")).then_some(())
    });
    // The last echo's own event dispatched too (refused at the depth limit, or a fifth run).
    app.settled().await;
    let echoes = orders(&app, &builder, "event-shop").await.iter().filter(|o| o["status"] == "echo").count();
    assert_eq!(echoes, 5);
    let r = app.get(&format!("/api/v1/automation/workflows/{echo}/executions"), Some(&builder.access)).await.body;
    let depths: Vec<i64> =
        r["items"].as_array().map(|i| i.iter().filter_map(|e| e["depth"].as_i64()).collect()).unwrap_or_default();
    assert_eq!(depths, [3, 2, 1, 0]);
    app.stop().await;
}

/// GitHub's scheme, computed by Python's hmac module (independent of ours).
/// `Socle-Signature` as another sender would compute it: HMAC-SHA256 of `"<t>.<body>"`.
fn python_socle_signature(secret: &str, t: i64, body: &str) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import hmac,hashlib,sys; print('t=%s,v1=%s' % (sys.argv[2], hmac.new(sys.argv[1].encode(), (sys.argv[2] + '.' + sys.argv[3]).encode(), hashlib.sha256).hexdigest()))",
            secret,
            &t.to_string(),
            body,
        ])
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn python_signature(secret: &str, body: &str) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import hmac,hashlib,sys; print('sha256=' + hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())",
            secret,
            body,
        ])
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

async fn schedules_and_signed_webhooks_start_workflows(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast).await;
    let builder = app.signup("hooks@flows.example").await;
    let (_, project_id, _) = shop(&app, &builder, "hook-shop").await;

    // Every second; then disabled, it stops.
    let ticking = create_workflow(
        &app,
        &builder,
        &project_id,
        "Tick",
        json!({
            "trigger": {"type": "schedule", "cron": "* * * * * *", "timezone": "Europe/Paris"},
            "steps": [{"id": "note", "type": "set", "values": {"at": "{{ trigger.scheduled_for }}"}}]
        }),
    )
    .await;
    let runs = format!("/api/v1/automation/workflows/{ticking}/executions?status=succeeded");
    let first = eventually!("a scheduled execution", {
        let r = app.get(&runs, Some(&builder.access)).await.body;
        r["items"].as_array().and_then(|i| i.first().cloned())
    });
    assert_eq!(first["trigger_type"], "schedule");
    assert!(first["context"]["vars"]["at"].as_str().is_some_and(|s| s.starts_with("20")), "{first}");
    app.patch(&format!("/api/v1/automation/workflows/{ticking}"), Some(&builder.access), json!({"enabled": false}))
        .await
        .expect(200);
    // Occurrences enqueued before the change committed run (and skip, or start a run if they
    // read the workflow before it): wait for them to finish, not for a time.
    app.settled().await;
    let count = |b: &Value| b["total_items"].as_i64().unwrap_or(-1);
    let before = count(
        &app.get(&format!("/api/v1/automation/workflows/{ticking}/executions"), Some(&builder.access)).await.body,
    );
    let schedules: i64 = app
        .db
        .scalar("SELECT COUNT(*) FROM schedules WHERE name = $1", kernel::args![format!("workflow:{ticking}")])
        .await
        .expect("schedules");
    assert_eq!(schedules, 0, "disabling the workflow removed its schedule");
    // Two of the scheduler's one-second ticks: a schedule still firing would start a run
    // (which `settled` waits for). A slow machine can only make this window see fewer ticks,
    // never make a disabled schedule look like it fired.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    app.settled().await;
    let after = count(
        &app.get(&format!("/api/v1/automation/workflows/{ticking}/executions"), Some(&builder.access)).await.body,
    );
    assert_eq!(before, after, "a disabled schedule does not fire");

    // A signed incoming webhook.
    let hooked = app
        .post(
            "/api/v1/automation/workflows",
            Some(&builder.access),
            json!({"project_id": project_id, "name": "Inbound", "definition": {
                "trigger": {"type": "webhook", "secret": "HOOK_SECRET"},
                "steps": [{"id": "greet", "type": "set", "values": {"hello": "{{ input.name }} via {{ trigger.headers['x-source'] }}"}}]
            }}),
        )
        .await
        .expect(201)
        .body;
    let hook = hooked["hook_url"].as_str().expect("hook url").to_string();
    app.put(
        &format!("/api/v1/automation/projects/{project_id}/secrets/HOOK_SECRET"),
        Some(&builder.access),
        json!({"value": "whsec-abc"}),
    )
    .await
    .expect(200);
    let body = r#"{"name":"Ada"}"#;
    let send = |signature: Option<String>| {
        let mut req = app
            .client
            .post(app.url(&hook))
            .header("content-type", "application/json")
            .header("x-source", "tests")
            .body(body);
        if let Some(s) = signature {
            req = req.header("x-hub-signature-256", s);
        }
        req.send()
    };
    let unsigned = TestApp::read(send(None).await.expect("send")).await;
    assert_eq!(unsigned.status, 401, "{}", unsigned.body);
    let forged = TestApp::read(send(Some(python_signature("wrong", body))).await.expect("send")).await;
    assert_eq!(forged.status, 401);
    let accepted = TestApp::read(send(Some(python_signature("whsec-abc", body))).await.expect("send")).await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let done = finished(&app, &builder, accepted.body["id"].as_str().expect("id")).await;
    assert_eq!(done["context"]["vars"]["hello"], "Ada via tests");
    assert_eq!(done["context"]["trigger"]["body"]["name"], "Ada");

    // A signed call starts its workflow once: replayed within the signature's tolerance
    // (whatever ids it claims), sent again by a sender that lost the answer (signed anew,
    // the same event id), or arriving several times at once.
    let signed = |signature: String, headers: Vec<(&'static str, String)>| {
        let mut req = app.client.post(app.url(&hook)).header("content-type", "application/json");
        req = req.header("socle-signature", signature);
        for (name, value) in headers {
            req = req.header(name, value);
        }
        async move { TestApp::read(req.body(body).send().await.expect("send")).await }
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let event = || vec![("socle-event-id", "evt_1".to_string())];
    let first = signed(python_socle_signature("whsec-abc", now, body), event()).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let started = first.body["id"].as_str().expect("id").to_string();
    let replayed =
        signed(python_socle_signature("whsec-abc", now, body), vec![("socle-event-id", "evt_2".into())]).await;
    let retried = signed(python_socle_signature("whsec-abc", now + 1, body), event()).await;
    // The same signature spelled otherwise (capitals, a decoy v1 first) is the same call.
    let spelled = python_socle_signature("whsec-abc", now, body);
    let (t, v1) = spelled.split_once(",v1=").expect("t and v1");
    let disguised = signed(format!("{t},v1=00,v1={}", v1.to_uppercase()), vec![]).await;
    for again in [&replayed, &retried, &disguised] {
        assert_eq!((again.status, again.body["id"].as_str()), (200, Some(started.as_str())), "{}", again.body);
    }
    let racing =
        futures_util::future::join_all((0..6).map(|_| {
            signed(python_socle_signature("whsec-abc", now + 2, body), vec![("socle-event-id", "evt_3".into())])
        }))
        .await;
    let mut statuses: Vec<u16> = racing.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 202], "{racing:?}");
    assert!(racing.iter().all(|r| r.body["id"] == racing[0].body["id"]), "one execution for the racing copies");
    let github = |delivery: &str| {
        let req = app
            .client
            .post(app.url(&hook))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", python_signature("whsec-abc", body))
            .header("x-github-delivery", delivery)
            .body(body);
        async move { TestApp::read(req.send().await.expect("send")).await.status }
    };
    assert_eq!((github("d-1").await, github("d-1").await, github("d-2").await), (202, 200, 202));
    app.settled().await;
    let workflow = hooked["id"].as_str().expect("workflow id");
    let executions = format!("/api/v1/automation/workflows/{workflow}/executions");
    assert_eq!(
        count(&app.get(&executions, Some(&builder.access)).await.body),
        5,
        "the first unsigned-scheme call, evt_1, evt_3, d-1 and d-2"
    );
    // Unknown hooks are 404; malformed JSON is a 400 naming the body.
    app.post("/api/v1/automation/hooks/wh_nothing", None, json!({})).await.expect(404);
    let bad = app
        .client
        .post(app.url(&hook))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", python_signature("whsec-abc", "{oops"))
        .body("{oops")
        .send()
        .await
        .expect("send");
    TestApp::read(bad).await.expect_field_error(422, "body");
    app.stop().await;
}

async fn workflows_are_checked_versioned_and_isolated(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast).await;
    let owner = app.signup("owner@flows.example").await;
    let (org, project_id, app_id) = shop(&app, &owner, "iso-shop").await;
    let valid = json!({"trigger": {"type": "manual"}, "steps": [{"id": "a", "type": "set", "values": {"x": 1}}]});

    // Malformed definitions name the field.
    let post = |body: Value| app.post("/api/v1/automation/workflows", Some(&owner.access), body);
    post(json!({"name": "x", "definition": valid})).await.expect_field_error(422, "project_id");
    post(json!({"project_id": project_id, "definition": valid})).await.expect_field_error(422, "name");
    post(json!({"project_id": project_id, "name": "x", "definition": {"trigger": {"type": "manual"}, "steps": [
        {"id": "a", "type": "http", "url": "ftp://nope"}]}}))
    .await
    .expect_field_error(422, "definition.steps[0].url");
    post(json!({"project_id": project_id, "name": "x", "definition": {"trigger": {"type": "manual"}, "steps": [
        {"id": "a", "type": "condition", "if": "x = = 1"}]}}))
    .await
    .expect_field_error(422, "definition.steps[0].if");
    post(json!({"project_id": project_id, "name": "x", "definition": {"trigger": {"type": "record", "app_id": "nope", "collection": "orders"}, "steps": []}}))
        .await
        .expect_field_error(422, "definition.trigger.app_id");
    let other_project = project(&app, &owner, &org, "Other").await;
    post(json!({"project_id": other_project, "name": "x", "definition": {"trigger": {"type": "manual"}, "steps": [
        {"id": "w", "type": "record", "action": "create", "app_id": app_id, "collection": "orders"}]}}))
    .await
    .expect_field_error(422, "definition.steps[0].app_id");
    let r = app.post("/api/v1/automation/workflows", Some(&owner.access), json!("not an object")).await;
    assert!(matches!(r.status, 400 | 422), "{}", r.body);

    // Versions: a new definition adds one; a rename does not.
    let id = create_workflow(&app, &owner, &project_id, "Versioned", valid.clone()).await;
    let path = format!("/api/v1/automation/workflows/{id}");
    let v2 = json!({"trigger": {"type": "manual"}, "steps": [{"id": "b", "type": "set", "values": {"y": 2}}]});
    assert_eq!(app.patch(&path, Some(&owner.access), json!({"definition": v2})).await.expect(200).body["version"], 2);
    assert_eq!(app.patch(&path, Some(&owner.access), json!({"name": "Renamed"})).await.expect(200).body["version"], 2);
    let versions = app.get(&format!("{path}/versions"), Some(&owner.access)).await.expect(200).body;
    assert_eq!(versions.as_array().map(Vec::len), Some(2));
    assert_eq!(versions[1]["definition"], valid);
    let run = execute(&app, &owner, &id, json!({})).await;
    let done = finished(&app, &owner, &run).await;
    assert_eq!(done["version"], 2);
    assert_eq!(done["context"]["vars"]["y"], 2);

    // Another tenant sees nothing; a plain member cannot touch secrets, and no one reads them.
    let outsider = app.signup("outsider@flows.example").await;
    app.organization(&outsider, "Elsewhere").await;
    app.get(&path, Some(&outsider.access)).await.expect(404);
    app.patch(&path, Some(&outsider.access), json!({"name": "mine"})).await.expect(404);
    app.post(&format!("{path}/execute"), Some(&outsider.access), json!({})).await.expect(404);
    app.get(&format!("/api/v1/automation/executions/{run}"), Some(&outsider.access)).await.expect(404);
    app.post(&format!("/api/v1/automation/executions/{run}/rerun"), Some(&outsider.access), json!({}))
        .await
        .expect(404);
    app.get(&format!("/api/v1/automation/workflows?project_id={project_id}"), Some(&outsider.access)).await.expect(404);
    app.get(&format!("/api/v1/automation/projects/{project_id}/secrets"), Some(&outsider.access)).await.expect(404);
    let member = app.signup("member@flows.example").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    app.get(&path, Some(&member.access)).await.expect(200);
    let secret = format!("/api/v1/automation/projects/{project_id}/secrets/API_KEY");
    app.put(&secret, Some(&member.access), json!({"value": "x"})).await.expect(403);
    app.put(&secret, Some(&owner.access), json!({"value": ""})).await.expect_field_error(422, "value");
    app.put(
        &format!("/api/v1/automation/projects/{project_id}/secrets/lower"),
        Some(&owner.access),
        json!({"value": "x"}),
    )
    .await
    .expect_field_error(422, "name");
    app.put(&secret, Some(&owner.access), json!({"value": "very-secret-value"})).await.expect(200);
    let listed = app.get(&format!("/api/v1/automation/projects/{project_id}/secrets"), Some(&owner.access)).await;
    let listed = listed.expect(200).body;
    assert_eq!(listed[0]["name"], "API_KEY");
    assert!(!listed.to_string().contains("very-secret-value"));
    let stored: String = app.db.scalar("SELECT value FROM workflow_secrets", kernel::args![]).await.expect("stored");
    assert!(!stored.contains("very-secret-value"), "secrets are encrypted at rest");
    app.delete(&secret, Some(&member.access)).await.expect(403);
    app.delete(&secret, Some(&owner.access)).await.expect(204);
    app.delete(&secret, Some(&owner.access)).await.expect(404);
    app.delete(&path, Some(&owner.access)).await.expect(204);
    app.get(&path, Some(&owner.access)).await.expect(404);

    // The published JSON Schema, checked by an independent validator (Python's jsonschema),
    // accepts what the API accepts and refuses what it refuses.
    let schema = app.get("/api/v1/automation/schema/workflow.json", None).await.expect(200).body;
    let examples = json!([
        [true, valid],
        [true, {"trigger": {"type": "record", "app_id": "a", "collection": "orders", "filter": "amount > 1"}, "steps": [
            {"id": "l", "type": "loop", "over": "{{ input.items }}", "steps": [
                {"id": "c", "type": "condition", "if": "x = 1", "then": "end"}]},
            {"id": "m", "type": "email", "to": "a@b.example", "subject": "s", "body": "b"},
            {"id": "d", "type": "delay", "until": "2030-01-01T00:00:00Z"}]}],
        [false, {"trigger": {"type": "manual"}}],
        [false, {"trigger": {"type": "manual"}, "steps": [{"id": "a", "type": "teleport"}]}],
        [false, {"trigger": {"type": "manual"}, "steps": [{"id": "a", "type": "http", "url": "x", "retries": 50}]}],
        [false, {"trigger": {"type": "schedule"}, "steps": []}],
        [false, {"trigger": {"type": "manual"}, "steps": [{"id": "Bad Id", "type": "set", "values": {"x": 1}}]}]
    ]);
    let script = r#"
import json, sys, jsonschema
schema, examples = json.loads(sys.argv[1]), json.loads(sys.argv[2])
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
print(json.dumps([v.is_valid(e) for _, e in examples]))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script, &schema.to_string(), &examples.to_string()])
        .output()
        .expect("python3 with jsonschema");
    let verdicts: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    for (i, example) in examples.as_array().expect("examples").iter().enumerate() {
        assert_eq!(verdicts[i], example[0], "the schema's verdict on example {i}");
        // The API agrees with the schema.
        let r = app
            .post(
                "/api/v1/automation/workflows",
                Some(&owner.access),
                json!({"project_id": project_id, "name": "s", "definition": example[1]}),
            )
            .await;
        let accepted = r.status == 201 || (r.status == 422 && r.body.to_string().contains("unknown_app"));
        assert_eq!(accepted, example[0] == true, "the API's verdict on example {i}: {}", r.body);
    }
    app.stop().await;
}

async fn outgoing_requests_cannot_reach_private_addresses(backend: Backend) {
    // The default configuration: private networks are off limits.
    let app = TestApp::spawn_with(backend, |c| c.jobs.poll_ms = 50).await;
    let builder = app.signup("ssrf@flows.example").await;
    let (_, project_id, _) = shop(&app, &builder, "ssrf-shop").await;
    let (api, hits) = json_api(vec![(200, json!({"secret": "internal"}))]).await;
    let workflow = create_workflow(
        &app,
        &builder,
        &project_id,
        "Probe",
        json!({
            "trigger": {"type": "manual"},
            "steps": [{"id": "probe", "type": "http", "url": "{{ input.url }}"}]
        }),
    )
    .await;
    for url in [format!("{api}/admin"), "http://169.254.169.254/latest/meta-data".to_string(), "http://[::1]:9/".into()]
    {
        let id = execute(&app, &builder, &workflow, json!({"url": url})).await;
        let failed = finished(&app, &builder, &id).await;
        assert_eq!(failed["status"], "failed", "{url}");
        assert!(
            failed["error"].as_str().unwrap_or_default().contains("private or local address"),
            "{}",
            failed["error"]
        );
        assert_eq!(step_ids(&failed), ["probe:failed"], "refused at once, not retried");
    }
    assert!(hits.lock().expect("hits").is_empty(), "nothing reached the private server");
    app.stop().await;
}

/// The record events appended to the outbox so far.
async fn record_events(app: &TestApp) -> i64 {
    app.db.scalar("SELECT COUNT(*) FROM outbox WHERE kind LIKE 'record.%'", kernel::args![]).await.expect("count")
}

async fn record_events_are_written_only_while_a_workflow_or_webhook_wants_them(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast).await;
    let builder = app.signup("quiet@flows.example").await;
    let (org, project_id, app_id) = shop(&app, &builder, "quiet-shop").await;
    let base = "/apps/quiet-shop/api/collections/orders/records";
    let order = |title: &str| json!({"title": title, "amount": 1});

    // Nobody listens: writes append no event.
    let first = app.post(base, Some(&builder.access), order("unheard")).await.expect(200);
    let first_id = first.body["id"].as_str().expect("id").to_string();
    app.patch(&format!("{base}/{first_id}"), Some(&builder.access), json!({"amount": 2})).await.expect(200);
    assert_eq!(record_events(&app).await, 0);

    // A webhook of the organization on project events only does not change that; one on
    // record events does, and receives them.
    let (url, hits) = http_stub::start(vec![], (200, "ok".into())).await;
    let hook = |events: Value| json!({"organization_id": org, "url": format!("{url}/hook"), "events": events});
    app.post("/api/v1/automation/webhooks", Some(&builder.access), hook(json!(["project.*"]))).await.expect(201);
    app.post(base, Some(&builder.access), order("still unheard")).await.expect(200);
    assert_eq!(record_events(&app).await, 0);
    let created = app.post("/api/v1/automation/webhooks", Some(&builder.access), hook(json!(["record.*"]))).await;
    let webhook_id = created.expect(201).body["id"].as_str().expect("id").to_string();
    let heard = app.post(base, Some(&builder.access), order("heard")).await.expect(200);
    let heard_id = heard.body["id"].as_str().expect("id").to_string();
    assert_eq!(record_events(&app).await, 1);
    eventually!("the webhook delivery", { hits.lock().ok()?.iter().find(|h| h.body.contains(&heard_id)).map(|_| ()) });

    // Switched off, the webhook withdraws its interest; a workflow on the app's records
    // declares its own, and deleting the workflow withdraws it.
    let path = format!("/api/v1/automation/webhooks/{webhook_id}");
    app.patch(&path, Some(&builder.access), json!({"active": false})).await.expect(200);
    app.delete(&format!("{base}/{heard_id}"), Some(&builder.access)).await.expect(204);
    assert_eq!(record_events(&app).await, 1);
    let workflow = create_workflow(&app, &builder, &project_id, "Count", json!({
        "trigger": {"type": "record", "app_id": app_id, "collection": "orders", "events": ["created"]},
        "steps": [{"id": "tell", "type": "notification", "user_id": builder.user_id, "title": "New order", "body": "x"}]
    }))
    .await;
    app.post(base, Some(&builder.access), order("seen by the workflow")).await.expect(200);
    assert_eq!(record_events(&app).await, 2);
    app.patch(&format!("/api/v1/automation/workflows/{workflow}"), Some(&builder.access), json!({"enabled": false}))
        .await
        .expect(200);
    app.post(base, Some(&builder.access), order("not seen")).await.expect(200);
    assert_eq!(record_events(&app).await, 2);
    app.patch(&format!("/api/v1/automation/workflows/{workflow}"), Some(&builder.access), json!({"enabled": true}))
        .await
        .expect(200);
    app.post(base, Some(&builder.access), order("seen again")).await.expect(200);
    assert_eq!(record_events(&app).await, 3);
    app.delete(&format!("/api/v1/automation/workflows/{workflow}"), Some(&builder.access)).await.expect(204);
    app.post(base, Some(&builder.access), order("after the workflow")).await.expect(200);
    assert_eq!(record_events(&app).await, 3);
    app.stop().await;
}

async fn an_upgrade_declares_the_interest_of_existing_workflows_and_webhooks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let now = kernel::time::now();
    // Made before interest was recorded: an enabled record workflow, a disabled one, a
    // workflow on another trigger, an active webhook and an inactive one.
    for (id, enabled, trigger, app_id) in
        [("w1", true, "record", Some("app-1")), ("w2", false, "record", Some("app-2")), ("w3", true, "manual", None)]
    {
        app.db
            .execute(
                "INSERT INTO workflows (id, organization_id, project_id, name, description, enabled, trigger_type,
                    trigger_app_id, is_default, version, definition, created_by, created_at, updated_at)
                 VALUES ($1, 'org', 'project', 'w', '', $2, $3, $4, $5, 1, '{}', 'u', $6, $6)",
                kernel::args![id, enabled, trigger, app_id, false, now],
            )
            .await
            .expect("workflow");
    }
    for (id, org, active) in [("h1", "org-1", true), ("h2", "org-2", false)] {
        app.db
            .execute(
                "INSERT INTO webhook_subscriptions (id, organization_id, url, events, secret, description, active,
                    created_by, created_at, updated_at)
                 VALUES ($1, $2, 'https://example.com', $3, 's', '', $4, 'u', $5, $5)",
                kernel::args![id, org, json!(["record.*"]), active, now],
            )
            .await
            .expect("webhook");
    }
    app.db
        .execute("DELETE FROM socle_migrations WHERE module = 'automation' AND version = 3", kernel::args![])
        .await
        .expect("forget the migration");
    kernel::migrate::run(&app.db, &server::migrations()).await.expect("upgrade");
    let scopes: Vec<(String, String)> = app
        .db
        .fetch_all("SELECT scope, listener FROM outbox_interest ORDER BY scope", kernel::args![])
        .await
        .expect("interest");
    let expected = [("records:app:app-1", "workflows"), ("records:org:org-1", "webhooks")];
    assert_eq!(scopes, expected.map(|(s, l)| (s.to_string(), l.to_string())));
    app.stop().await;
}

/// One webhook switched off while another is added, at the same time: the organization
/// keeps wanting record events, whichever transaction commits last.
async fn concurrent_webhook_changes_keep_the_interest_of_the_active_ones(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast).await;
    let owner = app.signup("busy@flows.example").await;
    let org = app.organization(&owner, "Busy").await;
    let hooks = "/api/v1/automation/webhooks";
    let hook = json!({"organization_id": org, "url": "https://example.com/hook", "events": ["record.*"]});
    let interest = async || -> i64 {
        app.db
            .scalar(
                "SELECT COUNT(*) FROM outbox_interest WHERE scope = $1",
                kernel::args![format!("records:org:{org}")],
            )
            .await
            .expect("interest")
    };
    let mut active = app.post(hooks, Some(&owner.access), hook.clone()).await.expect(201).body["id"]
        .as_str()
        .expect("id")
        .to_string();
    for _ in 0..8 {
        let off = format!("{hooks}/{active}");
        let (switched_off, added) = tokio::join!(
            app.patch(&off, Some(&owner.access), json!({"active": false})),
            app.post(hooks, Some(&owner.access), hook.clone()),
        );
        switched_off.expect(200);
        active = added.expect(201).body["id"].as_str().expect("id").to_string();
        assert_eq!(interest().await, 1, "one active webhook on record events");
    }
    app.patch(&format!("{hooks}/{active}"), Some(&owner.access), json!({"active": false})).await.expect(200);
    assert_eq!(interest().await, 0);
    app.stop().await;
}

/// The record a workflow step creates, updates and deletes reaches an SSE and a WebSocket
/// subscriber, as a write through the records API would: every record write publishes at
/// its commit.
async fn records_written_by_workflow_steps_reach_realtime_subscribers(backend: Backend) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    use crate::runtime::{Sse, Ws};
    let app = TestApp::spawn_with(backend, fast).await;
    let builder = app.admin("live@flows.example").await;
    let (_, project_id, app_id) = shop(&app, &builder, "live-shop").await;
    // The builder is a superuser of the app (the orders collection has no rules).
    let (mut sse, client) = Sse::open(&app, "live-shop").await;
    app.post(
        "/apps/live-shop/api/realtime",
        Some(&builder.access),
        json!({"clientId": client, "subscriptions": ["orders/*"]}),
    )
    .await
    .expect(204);
    let mut request = format!("{}/apps/live-shop/api/realtime/ws", app.base.replacen("http", "ws", 1))
        .into_client_request()
        .expect("request");
    request.headers_mut().insert("authorization", format!("Bearer {}", builder.access).parse().expect("header"));
    let (stream, _) = tokio_tungstenite::connect_async(request).await.expect("websocket");
    let mut ws = Ws(stream);
    assert_eq!(ws.next().await.expect("hello")["type"], "hello");
    ws.send(json!({"type": "subscribe", "id": "orders", "topic": "orders/*"})).await;
    assert_eq!(ws.next().await.expect("subscribed")["type"], "subscribed");
    let workflow = create_workflow(
        &app,
        &builder,
        &project_id,
        "Order lifecycle",
        json!({
            "trigger": {"type": "manual"},
            "steps": [
                {"id": "create", "type": "record", "action": "create", "app_id": app_id, "collection": "orders",
                 "data": {"title": "From a workflow", "amount": 5, "status": "new"}},
                {"id": "ship", "type": "record", "action": "update", "app_id": app_id, "collection": "orders",
                 "record_id": "{{ steps.create.id }}", "data": {"status": "shipped"}},
                {"id": "drop", "type": "record", "action": "delete", "app_id": app_id, "collection": "orders",
                 "record_id": "{{ steps.create.id }}"}
            ]
        }),
    )
    .await;
    let run = execute(&app, &builder, &workflow, json!({})).await;
    let done = finished(&app, &builder, &run).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let id = done["context"]["steps"]["create"]["id"].as_str().expect("created id").to_string();
    let mut sse_events = Vec::new();
    for _ in 0..3 {
        if let Some((topic, data)) = sse.next().await {
            sse_events.push((
                topic,
                data["action"].clone(),
                data["record"]["id"].clone(),
                data["record"]["status"].clone(),
            ));
        }
    }
    let expected = |topic: &str| {
        vec![
            (topic.to_string(), json!("create"), json!(id), json!("new")),
            (topic.to_string(), json!("update"), json!(id), json!("shipped")),
            (topic.to_string(), json!("delete"), json!(id), json!("shipped")),
        ]
    };
    assert_eq!(sse_events, expected("orders/*"), "SSE");
    let mut ws_events = Vec::new();
    for _ in 0..3 {
        if let Some(m) = ws.next().await {
            assert_eq!(m["type"], "event", "{m}");
            ws_events.push((
                "orders/*".to_string(),
                m["action"].clone(),
                m["record"]["id"].clone(),
                m["record"]["status"].clone(),
            ));
        }
    }
    assert_eq!(ws_events, expected("orders/*"), "WebSocket");
    drop((sse, ws));
    app.stop().await;
}

/// Found by schemathesis: an input holding the largest finite numbers was stored, then could
/// not be read back on PostgreSQL (jsonb writes 1.7976931348623157e308 out in 309 digits,
/// which serde_json's default float parser overflowed), so executing and every later read of
/// the execution answered 500.
async fn extreme_numbers_in_an_input_are_read_back(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast).await;
    let builder = app.signup("extreme@flows.example").await;
    let org = app.organization(&builder, "Extreme").await;
    let project_id = project(&app, &builder, &org, "Extreme").await;
    let workflow = create_workflow(
        &app,
        &builder,
        &project_id,
        "Echo",
        json!({
            "trigger": {"type": "manual"},
            "steps": [{"id": "echo", "type": "set", "values": {"seen": "{{ input.big }}"}}]
        }),
    )
    .await;
    let input = json!({"big": f64::MAX, "small": -f64::MAX, "tiny": 5e-324, "long": 2.596121246283633e-233});
    let id = execute(&app, &builder, &workflow, input.clone()).await;
    let done = finished(&app, &builder, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["context"]["input"], input, "the input is read back as it was given");
    app.get(&format!("/api/v1/automation/workflows/{workflow}/executions"), Some(&builder.access)).await.expect(200);
}
