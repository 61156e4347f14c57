//! Automation benchmarks (run by `bench/automation.sh`):
//!
//! - `jobs DATABASE_URL N WORKERS CONCURRENCY`: enqueue N no-op jobs, then start WORKERS
//!   workers (each with its own connection pool, as separate processes would have) and time
//!   how long they take to run them all: jobs per second, end to end through the real queue
//!   (claim, lease, completion, attempt log).
//! - `latency DATABASE_URL N`: a real server; an administrator listens on the notifications
//!   WebSocket. (a) an admin notification sent to themselves; (b) a record created in an app,
//!   whose `record.created` outbox event starts a workflow whose notification step notifies
//!   them. Reports the time from the HTTP call to the WebSocket message.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kernel::jobs::{FnHandler, NewJob, Registry, Worker, WorkerOptions};
use kernel::{Config, Db, args};
use serde_json::{Value, json};

fn config(url: &str) -> Config {
    let dir = std::env::temp_dir().join(format!("socle-bench-{}", uuid::Uuid::new_v4().simple()));
    let mut c = Config { bind: "127.0.0.1:0".into(), data_dir: dir, log_format: "json".into(), ..Config::default() };
    if url != "sqlite" {
        c.database_url = Some(url.to_string());
        // PostgreSQL takes its keys from the configuration.
        c.jwt_secret = Some(kernel::ids::random_token(32));
        c.secrets_key = Some(kernel::ids::random_token(32));
    }
    c.update_section("password_hash", |s: &mut foundation::settings::PasswordHashConfig| {
        s.memory_kib = 1024;
        s.iterations = 1;
    })
    .expect("password_hash settings");
    c
}

async fn jobs(url: &str, n: usize, workers: usize, concurrency: usize) -> anyhow::Result<()> {
    let base = config(url);
    let db = server::open_database(&base).await?;
    db.execute("DELETE FROM job_attempts WHERE job_id IN (SELECT id FROM jobs WHERE queue = 'bench')", args![]).await?;
    db.execute("DELETE FROM jobs WHERE queue = 'bench'", args![]).await?;
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut tx = db.begin().await?;
        for i in chunk {
            kernel::jobs::enqueue(&mut tx, NewJob::new("bench.noop", json!({"i": i})).queue("bench")).await?;
        }
        tx.commit().await?;
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut handles = Vec::new();
    let started = Instant::now();
    for w in 0..workers {
        let mut c = base.clone();
        c.db_max_connections = (concurrency as u32 + 2).max(4);
        let pool = Db::connect(&c).await?;
        let mut registry = Registry::new();
        registry.register("bench.noop", FnHandler(|_job, _db| async { Ok(None) }));
        let worker = Worker::new(
            pool,
            registry,
            WorkerOptions {
                concurrency,
                poll: Duration::from_millis(20),
                queues: vec!["bench".into()],
                name: format!("bench-{w}"),
            },
        );
        handles.push(tokio::spawn(worker.run(stop_rx.clone())));
    }
    loop {
        let done: i64 =
            db.scalar("SELECT COUNT(*) FROM jobs WHERE queue = 'bench' AND status = 'succeeded'", args![]).await?;
        if done as usize >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop_tx.send(true);
    for h in handles {
        let _ = h.await;
    }
    let twice: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM (SELECT job_id FROM job_attempts WHERE job_id IN (SELECT id FROM jobs WHERE queue = 'bench')
             GROUP BY job_id HAVING COUNT(*) > 1) t",
            args![],
        )
        .await?;
    println!(
        "jobs {} workers={workers} concurrency={concurrency} n={n} {:.0} jobs/s ({:.2} s) ran-twice={twice}",
        db.kind().as_str(),
        n as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    Ok(())
}

fn summary(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "latency {name} n={} p50={:.1}ms p95={:.1}ms p99={:.1}ms max={:.1}ms",
        ms.len(),
        at(0.5),
        at(0.95),
        at(0.99),
        at(1.0)
    );
}

async fn latency(url: &str, n: usize) -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut c = config(url);
    c.rate_limit.global_per_minute = 0;
    let kind = if url == "sqlite" { "sqlite" } else { "postgres" };
    let app = server::Application::build(c).await?;
    let base = format!("http://{}", app.local_addr()?);
    let foundation = app.service::<foundation::FoundationState>().expect("foundation");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stop_rx.await;
    }));
    let http = reqwest::Client::new();
    let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
    foundation::accounts::service::create_superuser(&foundation, &email, "Bench-Password-123")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let call = |method: reqwest::Method, path: String, token: Option<String>, body: Option<Value>| {
        let mut r = http.request(method, format!("{base}{path}"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move {
            let resp = r.send().await?;
            let status = resp.status();
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            anyhow::ensure!(status.is_success(), "{status}: {v}");
            Ok::<Value, anyhow::Error>(v)
        }
    };
    use reqwest::Method as M;
    let login = call(
        M::POST,
        "/api/v1/foundation/auth/login".into(),
        None,
        Some(json!({"email": email, "password": "Bench-Password-123"})),
    )
    .await?;
    let token = login["access_token"].as_str().unwrap_or_default().to_string();
    let user_id = login["user"]["id"].as_str().unwrap_or_default().to_string();
    let t = || Some(token.clone());
    let org = call(M::POST, "/api/v1/foundation/organizations".into(), t(), Some(json!({"name": "Bench"}))).await?;
    let project = call(
        M::POST,
        "/api/v1/studio/projects".into(),
        t(),
        Some(json!({"organization_id": org["id"], "name": "Bench"})),
    )
    .await?;
    let project_id = project["id"].as_str().unwrap_or_default().to_string();
    call(
        M::POST,
        format!("/api/v1/studio/projects/{project_id}/collections"),
        t(),
        Some(json!({"name": "orders", "fields": [{"name": "title", "type": "text"}]})),
    )
    .await?;
    let slug = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let created = call(
        M::POST,
        "/api/v1/runtime/apps".into(),
        t(),
        Some(json!({"project_id": project_id, "slug": slug, "name": "B"})),
    )
    .await?;
    let app_id = created["id"].as_str().unwrap_or_default().to_string();
    call(M::POST, format!("/api/v1/runtime/apps/{app_id}/deploy"), t(), Some(json!({}))).await?;
    call(
        M::POST,
        "/api/v1/automation/workflows".into(),
        t(),
        Some(json!({"project_id": project_id, "name": "Notify", "definition": {
            "trigger": {"type": "record", "app_id": app_id, "collection": "orders", "events": ["created"]},
            "steps": [{"id": "tell", "type": "notification", "user_id": user_id, "title": "{{ trigger.record.title }}"}]
        }})),
    )
    .await?;
    let ws_url = format!("{}/api/v1/notifications/ws?token={token}", base.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await?;
    let _hello = ws.next().await;
    let mut wait_for = async |title: &str| -> anyhow::Result<()> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
                .await
                .map_err(|_| anyhow::anyhow!("no notification within 10 s"))?;
            if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) = msg
                && text.contains(title)
            {
                return Ok(());
            }
        }
    };
    let mut direct = Vec::new();
    for i in 0..n {
        let title = format!("direct-{i}");
        let t0 = Instant::now();
        call(
            M::POST,
            "/api/v1/admin/notifications".into(),
            t(),
            Some(json!({"user_id": user_id, "type": "bench", "title": title})),
        )
        .await?;
        wait_for(&title).await?;
        direct.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let mut through_workflow = Vec::new();
    for i in 0..n {
        let title = format!("order-{i}");
        let t0 = Instant::now();
        call(M::POST, format!("/apps/{slug}/api/collections/orders/records"), t(), Some(json!({"title": title})))
            .await?;
        wait_for(&title).await?;
        through_workflow.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    summary(&format!("{kind} admin-notification->websocket"), direct);
    summary(&format!("{kind} record.created->workflow->notification->websocket"), through_workflow);
    let _ = stop_tx.send(());
    let _ = server.await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    match arg(1, "").as_str() {
        "jobs" => jobs(&arg(2, "sqlite"), arg(3, "5000").parse()?, arg(4, "1").parse()?, arg(5, "8").parse()?).await,
        "latency" => latency(&arg(2, "sqlite"), arg(3, "200").parse()?).await,
        _ => {
            eprintln!(
                "usage: automation jobs DATABASE_URL|sqlite N WORKERS CONCURRENCY | latency DATABASE_URL|sqlite N"
            );
            std::process::exit(2)
        }
    }
}
