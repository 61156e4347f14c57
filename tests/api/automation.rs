//! Automation end to end: outgoing webhooks signed and verified by an independent HMAC
//! (Python's), retried and redelivered, refused towards private addresses; notifications
//! arriving live over WebSocket; serious audit entries notifying administrators; email
//! templates edited by an administrator and used by the next email; schedules firing once.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::http_stub::{self, Hits};
use crate::support::{Backend, PATIENCE, TestApp};
use crate::{eventually, on_both_backends};

/// A receiver answering the statuses in `script` in turn (then 200), recording every request.
async fn receiver(script: Vec<u16>) -> (String, Hits) {
    let script = script.into_iter().map(|status| (status, "ok".to_string())).collect();
    let (base, hits) = http_stub::start(script, (200, "ok".into())).await;
    (format!("{base}/hook"), hits)
}

/// Verify a signature with Python's hmac module: an implementation independent of ours.
fn python_verifies(secret: &str, header: &str, body: &str) -> bool {
    let script = r#"
import hmac, hashlib, sys
secret, header, body = sys.argv[1], sys.argv[2], sys.stdin.read()
parts = dict(p.split("=", 1) for p in header.split(","))
expected = hmac.new(secret.encode(), (parts["t"] + "." + body).encode(), hashlib.sha256).hexdigest()
sys.exit(0 if hmac.compare_digest(expected, parts["v1"]) else 1)
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, secret, header])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin.write_all(body.as_bytes()).expect("write body");
    }
    child.wait().map(|s| s.success()).unwrap_or(false)
}

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON message other than a keep-alive ping, or None if the socket ends or stays
/// silent for [`PATIENCE`] (a safety net: a message that is coming arrives long before).
pub async fn next_json(ws: &mut Ws) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) => {
                let v = serde_json::from_str::<Value>(&t).ok()?;
                if v["type"] != "ping" {
                    return Some(v);
                }
            }
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

on_both_backends!(
    webhooks_are_signed_retried_and_redelivered,
    webhooks_refuse_private_addresses_by_default,
    notifications_arrive_live_and_are_managed,
    a_vanished_notification_client_is_dropped,
    admins_edit_email_templates,
    a_schedule_fires_once_per_occurrence,
);

async fn webhooks_are_signed_retried_and_redelivered(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.update_section("automation", |s: &mut automation::settings::AutomationConfig| s.allow_private_network = true)
            .expect("automation settings");
        c.jobs.poll_ms = 50;
    })
    .await;
    let owner = app.signup("owner@example.com").await;
    let outsider = app.signup("outsider@example.com").await;
    let member = app.signup("member@example.com").await;
    let org = app.organization(&owner, "Hooks Inc").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let (url, hits) = receiver(vec![500]).await;

    // Validation, tenancy and roles.
    app.post("/api/v1/automation/webhooks", None, json!({})).await.expect(401);
    app.post(
        "/api/v1/automation/webhooks",
        Some(&owner.access),
        json!({"organization_id": org, "url": "ftp://x", "events": ["*"]}),
    )
    .await
    .expect_field_error(422, "url");
    app.post(
        "/api/v1/automation/webhooks",
        Some(&owner.access),
        json!({"organization_id": org, "url": url, "events": ["re*cord"]}),
    )
    .await
    .expect_field_error(422, "events[0]");
    app.post(
        "/api/v1/automation/webhooks",
        Some(&owner.access),
        json!({"organization_id": org, "url": url, "events": "x"}),
    )
    .await
    .expect(422);
    app.post(
        "/api/v1/automation/webhooks",
        Some(&outsider.access),
        json!({"organization_id": org, "url": url, "events": ["*"]}),
    )
    .await
    .expect(404);
    app.post(
        "/api/v1/automation/webhooks",
        Some(&member.access),
        json!({"organization_id": org, "url": url, "events": ["*"]}),
    )
    .await
    .expect(403);
    let created = app
        .post(
            "/api/v1/automation/webhooks",
            Some(&owner.access),
            json!({"organization_id": org, "url": url, "events": ["project.*"], "description": "CI"}),
        )
        .await
        .expect(201);
    let id = created.body["id"].as_str().expect("id").to_string();
    let secret = created.body["secret"].as_str().expect("secret shown once").to_string();
    let shown = app.get(&format!("/api/v1/automation/webhooks/{id}"), Some(&owner.access)).await.expect(200);
    assert!(shown.body.get("secret").is_none(), "the secret is not shown again");
    app.get(&format!("/api/v1/automation/webhooks/{id}"), Some(&outsider.access)).await.expect(404);
    app.get(&format!("/api/v1/automation/webhooks?organization_id={org}"), Some(&outsider.access)).await.expect(404);

    // A project created in the organization is an event: delivered, first answered 500, retried.
    let project = app
        .post("/api/v1/studio/projects", Some(&owner.access), json!({"organization_id": org, "name": "Hooked"}))
        .await
        .expect(201);
    let first = eventually!("the first attempt", { hits.lock().ok().filter(|h| !h.is_empty()).map(|h| h[0].clone()) });
    let body: Value = serde_json::from_str(&first.body).expect("json body");
    assert_eq!(body["type"], "project.created");
    assert_eq!(body["data"]["project_id"], project.body["id"]);
    let signature = first.header("socle-signature").expect("signature header").to_string();
    assert!(python_verifies(&secret, &signature, &first.body), "Python's HMAC agrees with {signature}");
    assert!(!python_verifies("whsec_wrong", &signature, &first.body));
    assert_eq!(first.header("socle-event-type"), Some("project.created"));
    // The retry comes after the backoff: make it due now.
    let deliveries =
        app.get(&format!("/api/v1/automation/webhooks/{id}/deliveries"), Some(&owner.access)).await.expect(200);
    let delivery = deliveries.body["items"][0].clone();
    assert_eq!(delivery["status"], "pending");
    assert_eq!(delivery["response_code"], 500);
    app.db
        .execute(
            "UPDATE jobs SET run_at = $1 WHERE kind = 'webhook.deliver' AND status = 'failed'",
            vec![kernel::time::now().into()],
        )
        .await
        .expect("due");
    let delivered = eventually!("the retry", { hits.lock().ok().filter(|h| h.len() >= 2).map(|h| h[1].clone()) });
    assert_eq!(delivered.body, first.body, "the same event is retried");
    let status = eventually!("the delivery to succeed", {
        let d = app.get(&format!("/api/v1/automation/webhooks/{id}/deliveries"), Some(&owner.access)).await.expect(200);
        let status = d.body["items"][0].clone();
        (status["status"] == "succeeded").then_some(status)
    });
    assert_eq!(status["attempts"], 2);
    assert_eq!(status["response_code"], 200);
    // Redeliver on demand.
    let delivery_id = status["id"].as_str().expect("delivery id");
    app.post(
        &format!("/api/v1/automation/webhooks/{id}/deliveries/{delivery_id}/redeliver"),
        Some(&owner.access),
        json!({}),
    )
    .await
    .expect(202);
    eventually!("the redelivery", { hits.lock().ok().filter(|h| h.len() >= 3).map(|_| ()) });
    app.post(&format!("/api/v1/automation/webhooks/{id}/deliveries/nope/redeliver"), Some(&owner.access), json!({}))
        .await
        .expect(404);
    // Events it does not subscribe to are not delivered; a disabled webhook gets nothing.
    app.patch(&format!("/api/v1/automation/webhooks/{id}"), Some(&owner.access), json!({"active": false}))
        .await
        .expect(200);
    app.post("/api/v1/studio/projects", Some(&owner.access), json!({"organization_id": org, "name": "Quiet"}))
        .await
        .expect(201);
    // Its event dispatched and any delivery job it caused finished: nothing more arrived.
    app.settled().await;
    assert_eq!(hits.lock().map(|h| h.len()).unwrap_or(0), 3);
    app.delete(&format!("/api/v1/automation/webhooks/{id}"), Some(&member.access)).await.expect(403);
    app.delete(&format!("/api/v1/automation/webhooks/{id}"), Some(&owner.access)).await.expect(204);
    app.stop().await;
}

async fn webhooks_refuse_private_addresses_by_default(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.jobs.poll_ms = 50).await;
    let owner = app.signup("owner@example.com").await;
    let org = app.organization(&owner, "Careful").await;
    let (url, hits) = receiver(vec![]).await;
    let created = app
        .post(
            "/api/v1/automation/webhooks",
            Some(&owner.access),
            json!({"organization_id": org, "url": url, "events": ["*"]}),
        )
        .await
        .expect(201);
    let id = created.body["id"].as_str().expect("id").to_string();
    app.post("/api/v1/studio/projects", Some(&owner.access), json!({"organization_id": org, "name": "P"}))
        .await
        .expect(201);
    let failed = eventually!("the delivery to fail", {
        let d = app.get(&format!("/api/v1/automation/webhooks/{id}/deliveries"), Some(&owner.access)).await.expect(200);
        let failed = d.body["items"][0].clone();
        (failed["status"] == "failed").then_some(failed)
    });
    assert!(failed["error"].as_str().is_some_and(|e| e.contains("private or local")), "{failed}");
    assert!(hits.lock().map(|h| h.is_empty()).unwrap_or(false), "nothing reached the loopback server");
    app.stop().await;
}

/// A tab that vanished (its socket open, nothing read) is dropped once it leaves a ping
/// unanswered; a tab that reads answers every ping and stays.
async fn a_vanished_notification_client_is_dropped(backend: Backend) {
    const PING_SECS: u64 = 1;
    let app = TestApp::spawn_with(backend, |c| {
        c.update_section("automation", |s: &mut automation::settings::AutomationConfig| {
            s.notification_ping_secs = PING_SECS
        })
        .expect("automation settings");
    })
    .await;
    let alice = app.signup("alice@example.com").await;
    let url = format!("{}/api/v1/notifications/ws?token={}", app.base.replace("http://", "ws://"), alice.access);
    let (mut vanished, _) = tokio_tungstenite::connect_async(&url).await.expect("websocket");
    let (mut reading, _) = tokio_tungstenite::connect_async(&url).await.expect("websocket");
    assert_eq!(next_json(&mut vanished).await.expect("hello")["type"], "hello");
    assert_eq!(next_json(&mut reading).await.expect("hello")["type"], "hello");
    // The reading tab reads (and so answers pings) for four ping periods while the other
    // reads nothing: past two periods, its first ping went unanswered.
    let pinged = crate::support::pings_while_reading(&mut reading, Duration::from_secs(4 * PING_SECS)).await;
    assert!(pinged >= 1, "the stream is pinged");
    // The vanished tab finds its stream ended, after the pings it never answered.
    crate::support::until_it_ends(&mut vanished).await;
    // The reading tab still gets what is sent.
    let admin = app.admin("root@example.com").await;
    app.post(
        "/api/v1/admin/notifications",
        Some(&admin.access),
        json!({"user_id": alice.user_id, "type": "admin.message", "title": "Still here"}),
    )
    .await
    .expect(202);
    let live = next_json(&mut reading).await.expect("a live notification");
    assert_eq!(live["notification"]["title"], "Still here");
}

async fn notifications_arrive_live_and_are_managed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin("root@example.com").await;
    let alice = app.signup("alice@example.com").await;
    let bob = app.signup("bob@example.com").await;
    // Unauthenticated and bad tokens are refused before the upgrade.
    let ws_url = app.base.replace("http://", "ws://");
    assert!(tokio_tungstenite::connect_async(format!("{ws_url}/api/v1/notifications/ws")).await.is_err());
    assert!(tokio_tungstenite::connect_async(format!("{ws_url}/api/v1/notifications/ws?token=bad")).await.is_err());
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("{ws_url}/api/v1/notifications/ws?token={}", alice.access))
            .await
            .expect("websocket");
    let hello = next_json(&mut ws).await.expect("hello");
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["unread"], 0);
    // An administrator notifies Alice: it arrives live.
    app.post(
        "/api/v1/admin/notifications",
        Some(&alice.access),
        json!({"user_id": alice.user_id, "type": "x", "title": "t"}),
    )
    .await
    .expect(403);
    app.post("/api/v1/admin/notifications", Some(&admin.access), json!({"type": "x", "title": "t"}))
        .await
        .expect_field_error(422, "user_id");
    app.post(
        "/api/v1/admin/notifications",
        Some(&admin.access),
        json!({"user_id": alice.user_id, "type": "bad type!", "title": "t"}),
    )
    .await
    .expect_field_error(422, "type");
    app.post(
        "/api/v1/admin/notifications",
        Some(&admin.access),
        json!({"user_id": alice.user_id, "type": "admin.message", "title": "Maintenance tonight", "body": "From 22:00 UTC."}),
    )
    .await
    .expect(202);
    let live = next_json(&mut ws).await.expect("a live notification");
    assert_eq!(live["type"], "notification");
    assert_eq!(live["notification"]["title"], "Maintenance tonight");
    // It came live: the socket only carries pushes (no polling fallback), and the client
    // asked nothing after the POST. How fast it came is the machine's business.
    // The bell.
    assert_eq!(app.get("/api/v1/notifications/unread-count", Some(&alice.access)).await.expect(200).body["unread"], 1);
    assert_eq!(app.get("/api/v1/notifications/unread-count", Some(&bob.access)).await.expect(200).body["unread"], 0);
    let id = live["notification"]["id"].as_str().expect("id").to_string();
    app.post(&format!("/api/v1/notifications/{id}/read"), Some(&bob.access), json!({})).await.expect(404);
    app.delete(&format!("/api/v1/notifications/{id}"), Some(&bob.access)).await.expect(404);
    let read = app.post(&format!("/api/v1/notifications/{id}/read"), Some(&alice.access), json!({})).await.expect(200);
    assert!(read.body["read_at"].is_string());
    // Everyone with a role: fanned out by a job; Alice asks for these by email too.
    app.put(
        "/api/v1/notifications/preferences",
        Some(&alice.access),
        json!({"preferences": [{"type": "admin.broadcast", "email": true}]}),
    )
    .await
    .expect(200);
    app.put("/api/v1/notifications/preferences", Some(&alice.access), json!({"preferences": "no"})).await.expect(422);
    app.post(
        "/api/v1/admin/notifications",
        Some(&admin.access),
        json!({"role": "user", "type": "admin.broadcast", "title": "Hello all"}),
    )
    .await
    .expect(202);
    let broadcast = next_json(&mut ws).await.expect("the broadcast, live");
    assert_eq!(broadcast["notification"]["title"], "Hello all");
    // The back-office lists what was sent, newest first, with who was notified once the
    // fan-out has run; only administrators read it.
    let sent = eventually!("the broadcast's recipients to be counted", {
        let sent = app.get("/api/v1/admin/notifications", Some(&admin.access)).await.expect(200).body;
        sent["items"][0]["recipients"].is_i64().then_some(sent)
    });
    assert_eq!(sent["total_items"], 2, "{sent}");
    let (latest, first) = (&sent["items"][0], &sent["items"][1]);
    assert_eq!(latest["title"], "Hello all");
    assert_eq!(latest["audience"], "role");
    assert_eq!(latest["audience_value"], "user");
    assert!(latest["job_id"].is_string() && latest["delivered_at"].is_string(), "{latest}");
    // Alice and Bob have the role `user`; the administrator does not.
    assert_eq!(latest["recipients"], 2, "{latest}");
    assert_eq!(latest["sent_by"], admin.user_id.as_str());
    assert_eq!(latest["sent_by_email"], "root@example.com");
    assert_eq!(first["title"], "Maintenance tonight");
    assert_eq!(first["audience"], "user");
    assert_eq!(first["audience_value"], "alice@example.com");
    assert_eq!(first["recipients"], 1);
    assert_eq!(first["type"], "admin.message");
    assert_eq!(first["body"], "From 22:00 UTC.");
    let paged = app.get("/api/v1/admin/notifications?per_page=1&page=2", Some(&admin.access)).await.expect(200).body;
    assert_eq!(paged["items"][0]["title"], "Maintenance tonight");
    app.get("/api/v1/admin/notifications", None).await.expect(401);
    app.get("/api/v1/admin/notifications", Some(&bob.access)).await.expect(403);
    app.get("/api/v1/admin/notifications?per_page=0", Some(&admin.access)).await.expect_field_error(422, "per_page");
    app.wait_for_email("alice@example.com", "Hello all").await;
    let bobs = app.get("/api/v1/notifications?unread=true", Some(&bob.access)).await.expect(200);
    assert_eq!(bobs.body["total_items"], 1);
    app.post("/api/v1/notifications/read-all", Some(&bob.access), json!({})).await.expect(200);
    assert_eq!(app.get("/api/v1/notifications/unread-count", Some(&bob.access)).await.expect(200).body["unread"], 0);
    let bob_id = bobs.body["items"][0]["id"].as_str().expect("id").to_string();
    app.delete(&format!("/api/v1/notifications/{bob_id}"), Some(&bob.access)).await.expect(204);
    assert_eq!(app.get("/api/v1/notifications", Some(&bob.access)).await.expect(200).body["total_items"], 0);
    app.get("/api/v1/notifications", None).await.expect(401);
    app.get("/api/v1/notifications?per_page=0", Some(&bob.access)).await.expect_field_error(422, "per_page");
    // A HIGH audit entry (an administrator changes a role) notifies administrators.
    app.put(&format!("/api/v1/admin/users/{}/role", bob.user_id), Some(&admin.access), json!({"role": "premium"}))
        .await
        .expect(200);
    eventually!("administrators to be told about HIGH audit entries", {
        let alerts = app.get("/api/v1/notifications", Some(&admin.access)).await.expect(200).body;
        alerts["items"].as_array().is_some_and(|a| a.iter().any(|n| n["type"] == "audit.alert")).then_some(())
    });
    // Signing out everywhere else (from another session) ends the stream an open tab still
    // had, at once: the revocation is announced, the stream checks its session.
    let elsewhere = app.login("alice@example.com", crate::support::PASSWORD).await;
    app.post("/api/v1/foundation/users/me/sessions/revoke-others", Some(&elsewhere.access), json!({}))
        .await
        .expect(200);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let closed = loop {
        match tokio::time::timeout_at(deadline, ws.next()).await.expect("the stream to end in time") {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => {
                break frame.map(|f| u16::from(f.code));
            }
            Some(Ok(_)) => continue,
            other => panic!("the stream ended without a close frame: {other:?}"),
        }
    };
    assert_eq!(closed, Some(4401), "the revoked session's stream is closed");
    app.stop().await;
}

async fn admins_edit_email_templates(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin("root@example.com").await;
    let user = app.signup("plain@example.com").await;
    let list = app.get("/api/v1/admin/email-templates", Some(&admin.access)).await.expect(200);
    let keys: Vec<&str> = list.body.as_array().expect("list").iter().filter_map(|t| t["key"].as_str()).collect();
    for key in [
        "activation",
        "password_reset",
        "invite",
        "welcome",
        "notification",
        "invoice",
        "export_ready",
        "workflow_email",
    ] {
        assert!(keys.contains(&key), "{key} ships by default");
    }
    app.get("/api/v1/admin/email-templates", Some(&user.access)).await.expect(403);
    app.get("/api/v1/admin/email-templates/nope", Some(&admin.access)).await.expect(404);
    app.put(
        "/api/v1/admin/email-templates/activation",
        Some(&admin.access),
        json!({"subject": "Bienvenue {{ first_name | upper }}", "html": "<p>{% if %}</p>", "text": "x"}),
    )
    .await
    .expect_field_error(422, "html");
    app.put("/api/v1/admin/email-templates/activation", Some(&admin.access), json!({"subject": 3})).await.expect(422);
    let saved = app
        .put(
            "/api/v1/admin/email-templates/activation",
            Some(&admin.access),
            json!({"subject": "Bienvenue {{ first_name | upper }}", "html": "<p>Bonjour {{ first_name }}</p><a href=\"{{ url }}\">Activer</a>", "text": "Bonjour {{ first_name }}\n{{ url }}\nActivation token: {{ token }}\n"}),
        )
        .await
        .expect(200);
    assert_eq!(saved.body["customized"], true);
    let preview = app
        .post("/api/v1/admin/email-templates/invoice/preview", Some(&admin.access), json!({"variables": {"number": "F-1", "amount": 12345, "currency": "EUR", "issued_at": "2026-02-03T00:00:00Z", "url": "u"}}))
        .await
        .expect(200);
    assert!(
        preview.body["text"].as_str().is_some_and(|t| t.contains("123.45 EUR") && t.contains("2026-02-03")),
        "{}",
        preview.body
    );
    // The next sign-up gets the edited template, and its token still works.
    app.post(
        "/api/v1/foundation/auth/register",
        None,
        json!({"email": "edited@example.com", "password": crate::support::PASSWORD, "first_name": "Zoé", "last_name": "T"}),
    )
    .await
    .expect(202);
    let mail = app.wait_for_email("edited@example.com", "Bienvenue").await;
    assert!(mail.subject.contains("ZOÉ") || mail.subject.contains("Bienvenue"), "{}", mail.subject);
    app.post("/api/v1/foundation/auth/activate", None, json!({"token": mail.token()})).await.expect(200);
    let reset = app.delete("/api/v1/admin/email-templates/activation", Some(&admin.access)).await.expect(200);
    assert_eq!(reset.body["customized"], false);
    assert_eq!(reset.body["subject"], "Activate your Socle account");
    app.stop().await;
}

async fn a_schedule_fires_once_per_occurrence(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.role = "api".into()).await;
    // Once a minute, at a second just ahead: when the two ticks below run, the next
    // occurrence is a minute away, so however far apart the ticks start (on a loaded
    // machine, the second may begin between them) only one of them can find it due. Every
    // second would let the second tick find the next occurrence due already.
    let second = (kernel::time::now() + time::Duration::seconds(2)).second();
    let mut tx = app.db.begin().await.expect("tx");
    automation::scheduler::upsert(
        &mut tx,
        "test.every_minute",
        &format!("{second} * * * * *"),
        "Europe/Paris",
        "test.tick",
        "test",
        json!({"k": 1}),
    )
    .await
    .expect("schedule");
    tx.commit().await.expect("commit");
    let mut tx = app.db.begin().await.expect("tx");
    let bad = automation::scheduler::upsert(&mut tx, "bad", "every day", "UTC", "x", "test", json!({})).await;
    assert!(matches!(bad, Err(kernel::Error::Validation(_))));
    drop(tx);
    // Wait until the first occurrence is due: only a lower bound on time.
    let first = next_run_at(&app.db).await;
    let until_due = std::time::Duration::try_from(first - kernel::time::now()).unwrap_or_default();
    tokio::time::sleep(until_due + Duration::from_millis(50)).await;
    // Two schedulers tick at once (as two processes would): the occurrence fires once.
    let (a, b) = tokio::join!(automation::scheduler::tick(&app.db), automation::scheduler::tick(&app.db));
    assert_eq!(a.expect("tick a") + b.expect("tick b"), 1);
    let jobs: Vec<(String, String)> = app
        .db
        .fetch_all("SELECT kind, idempotency_key FROM jobs WHERE kind = 'test.tick'", vec![])
        .await
        .expect("jobs");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].1, format!("schedule:test.every_minute:{}", kernel::time::rfc3339(first)));
    let next = next_run_at(&app.db).await;
    assert!(next > first && next > kernel::time::now(), "advanced to the next occurrence: {first} then {next}");
    app.stop().await;
}

async fn next_run_at(db: &kernel::Db) -> time::OffsetDateTime {
    let (next,): (time::OffsetDateTime,) =
        db.fetch_one("SELECT next_run_at FROM schedules WHERE name = 'test.every_minute'", vec![]).await.expect("next");
    next
}
