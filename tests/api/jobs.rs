//! The kernel's outbox and job queue on a real database: events exist only for committed
//! changes, a job whose worker dies runs again after its lease and has its effect once,
//! failures back off and end dead, two workers never run the same job, and the admin API
//! shows and steers all of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kernel::jobs::{
    FnHandler, Job, JobContext, JobError, JobFuture, JobHandler, NewJob, Registry, Worker, WorkerOptions,
};
use kernel::outbox::{Dispatcher, Event, Listener, ListenerFuture, NewEvent};
use kernel::{Db, Tx, args};
use serde_json::json;

use crate::support::{Backend, PATIENCE, TestApp};
use crate::{eventually, on_both_backends};

/// An app whose own worker leaves the `test` queue alone.
async fn app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.jobs.queues = ["default", "email", "webhooks", "notifications", "maintenance"].map(String::from).to_vec();
    })
    .await
}

fn worker(db: &Db, registry: Registry, name: &str) -> Worker {
    Worker::new(
        db.clone(),
        registry,
        WorkerOptions { concurrency: 4, queues: vec!["test".into()], name: name.into(), ..Default::default() },
    )
}

async fn effects(db: &Db) -> i64 {
    db.scalar("SELECT COUNT(*) FROM socle_test_effects", args![]).await.unwrap_or(-1)
}

async fn effects_table(db: &Db) {
    db.execute("CREATE TABLE socle_test_effects (job_id TEXT NOT NULL, worker TEXT NOT NULL)", args![])
        .await
        .expect("effects table");
}

struct RecordingListener;

impl Listener for RecordingListener {
    fn name(&self) -> &'static str {
        "test.recording"
    }

    fn on_event<'a>(&'a self, event: &'a Event, tx: &'a mut Tx) -> ListenerFuture<'a> {
        Box::pin(async move {
            if event.kind == "test.happened" {
                tx.execute("INSERT INTO socle_test_effects (job_id, worker) VALUES ($1, 'listener')", args![&event.id])
                    .await?;
            }
            Ok(())
        })
    }
}

on_both_backends!(
    events_exist_only_for_committed_changes,
    a_dead_workers_job_runs_again_and_its_effect_happens_once,
    failures_back_off_then_go_dead,
    two_workers_never_run_the_same_job,
    admins_see_and_steer_the_queue,
);

async fn events_exist_only_for_committed_changes(backend: Backend) {
    let app = app(backend).await;
    effects_table(&app.db).await;
    let mut rolled_back = app.db.begin().await.expect("tx");
    kernel::outbox::append(&mut rolled_back, NewEvent::new("test.happened", None, json!({"n": 1})))
        .await
        .expect("append");
    drop(rolled_back);
    let mut committed = app.db.begin().await.expect("tx");
    let id = kernel::outbox::append(&mut committed, NewEvent::new("test.happened", None, json!({"n": 2})))
        .await
        .expect("append");
    committed.commit().await.expect("commit");
    // A dispatcher of our own delivers to our listener (the app's has its own listeners).
    let dispatcher = Dispatcher::new(app.db.clone(), vec![Arc::new(RecordingListener)]);
    // Until ours delivered it, or the app's own dispatcher did (it has no listener for the
    // kind); on PostgreSQL the app's may hold it locked for a while, skipped by ours.
    let delivered = eventually!("the committed event to be dispatched", {
        dispatcher.dispatch_pending(100).await.expect("dispatch");
        let rows: Vec<(String,)> = app
            .db
            .fetch_all("SELECT job_id FROM socle_test_effects WHERE worker = 'listener'", args![])
            .await
            .expect("effects");
        let events = kernel::outbox::recent(&app.db, 100).await.expect("events");
        let ours: Vec<&Event> = events.iter().filter(|e| e.kind == "test.happened").collect();
        assert_eq!(ours.len(), 1, "the rolled-back change left no event");
        assert_eq!(ours[0].payload["n"], 2);
        if let Some((first,)) = rows.first() {
            assert_eq!(first, &id);
            Some(rows.len())
        } else {
            let pending: i64 =
                app.db.scalar("SELECT COUNT(*) FROM outbox WHERE dispatched_at IS NULL", args![]).await.expect("count");
            (pending == 0).then_some(0)
        }
    });
    let dispatched: i64 = app
        .db
        .scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'test.happened' AND dispatched_at IS NOT NULL", args![])
        .await
        .expect("count");
    assert_eq!(dispatched, 1, "the committed event was dispatched once");
    assert!(delivered <= 1);
    app.stop().await;
}

/// Says it started, then waits until told to finish: stands for a worker that hangs or
/// dies mid-run.
struct Stuck {
    started: Arc<tokio::sync::Notify>,
    release: Arc<tokio::sync::Notify>,
}

impl JobHandler for Stuck {
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            // `notify_one` keeps a permit when nobody waits yet: neither side can miss the other.
            self.started.notify_one();
            self.release.notified().await;
            // It wakes up after its lease was taken over: its write must not land.
            let mut tx = ctx.db.begin().await?;
            tx.execute("INSERT INTO socle_test_effects (job_id, worker) VALUES ($1, 'stale')", args![&job.id]).await?;
            let landed = ctx.complete_in(tx, None).await?;
            Ok(Some(json!({"landed": landed})))
        })
    }
}

struct Effect;

impl JobHandler for Effect {
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let mut tx = ctx.db.begin().await?;
            tx.execute("INSERT INTO socle_test_effects (job_id, worker) VALUES ($1, 'second')", args![&job.id]).await?;
            ctx.complete_in(tx, Some(json!({"done": true}))).await?;
            Ok(None)
        })
    }
}

async fn a_dead_workers_job_runs_again_and_its_effect_happens_once(backend: Backend) {
    let app = app(backend).await;
    effects_table(&app.db).await;
    let id = kernel::jobs::enqueue_now(&app.db, NewJob::new("test.effect", json!({})).queue("test").timeout_secs(60))
        .await
        .expect("enqueue")
        .expect("new job");
    // The first worker claims it and hangs.
    let started = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let mut first = Registry::new();
    first.register("test.effect", Stuck { started: started.clone(), release: release.clone() });
    let first = worker(&app.db, first, "first");
    let claimed = first.claim(1).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    let hung = tokio::spawn({
        let first = first.clone();
        let job = claimed[0].clone();
        async move { first.execute(job).await }
    });
    // Its lease (timeout + 30 s margin) has not expired: nobody else may take the job.
    let mut second_registry = Registry::new();
    second_registry.register("test.effect", Effect);
    let second = worker(&app.db, second_registry, "second");
    assert!(second.claim(1).await.expect("claim").is_empty(), "a leased job is not claimed twice");
    // The first worker is inside the job and stops answering; its lease runs out.
    tokio::time::timeout(PATIENCE, started.notified()).await.expect("the first worker started the job");
    app.db
        .execute(
            "UPDATE jobs SET status = 'running', locked_until = $2 WHERE id = $1",
            args![&id, kernel::time::now() - time::Duration::seconds(1)],
        )
        .await
        .expect("expire the lease");
    assert_eq!(second.drain().await.expect("drain"), 1, "the expired job runs again");
    // The stale worker wakes up: its write and its completion are refused (fenced).
    release.notify_one();
    let _ = hung.await;
    let detail = kernel::jobs::admin::get(&app.db, &id).await.expect("job");
    assert_eq!(detail.job.status, "succeeded");
    assert_eq!(detail.job.attempts, 2);
    assert_eq!(detail.attempt_log.len(), 2);
    assert_ne!(detail.attempt_log[0].outcome, "succeeded", "the first attempt did not finish");
    assert_eq!(detail.attempt_log[1].outcome, "succeeded");
    assert_eq!(effects(&app.db).await, 1, "the effect happened once");
    app.stop().await;
}

async fn failures_back_off_then_go_dead(backend: Backend) {
    let app = app(backend).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let mut registry = Registry::new();
    let counter = calls.clone();
    registry.register(
        "test.flaky",
        FnHandler(move |_job: Job, _db: Db| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Err::<Option<serde_json::Value>, _>(JobError::Retry("the remote service is down".into()))
            }
        }),
    );
    let w = worker(&app.db, registry, "flaky");
    let id = kernel::jobs::enqueue_now(&app.db, NewJob::new("test.flaky", json!({})).queue("test").max_attempts(3))
        .await
        .expect("enqueue")
        .expect("id");
    let mut waits = Vec::new();
    for attempt in 1..=3 {
        let before = kernel::time::now();
        assert_eq!(w.drain().await.expect("drain"), 1, "attempt {attempt} ran");
        let after = kernel::time::now();
        let d = kernel::jobs::admin::get(&app.db, &id).await.expect("job");
        assert_eq!(d.job.attempts, attempt);
        if attempt < 3 {
            assert_eq!(d.job.status, "failed");
            // The failure happened between `before` and `after`, however long the drain took.
            waits.push((d.job.run_at - after, d.job.run_at - before));
            assert_eq!(w.drain().await.expect("drain"), 0, "not before its backoff");
            app.db
                .execute("UPDATE jobs SET run_at = $2 WHERE id = $1", args![&id, kernel::time::now()])
                .await
                .expect("due");
        } else {
            assert_eq!(d.job.status, "dead", "dead after max attempts");
            assert!(d.job.last_error.as_deref().is_some_and(|e| e.contains("down")));
            assert!(d.job.finished_at.is_some());
        }
    }
    let secs = time::Duration::seconds;
    let within = |(least, most): (time::Duration, time::Duration), base: i64| {
        least <= secs(base + base / 5) && most >= secs(base)
    };
    assert!(within(waits[0], 10), "first wait 10 s + up to 20 %: {waits:?}");
    assert!(within(waits[1], 20), "second wait 20 s + up to 20 %: {waits:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // A permanent error is dead at once.
    let mut registry = Registry::new();
    registry.register(
        "test.bad",
        FnHandler(|_job: Job, _db: Db| async {
            Err::<Option<serde_json::Value>, _>(JobError::Permanent("bad payload".into()))
        }),
    );
    let bad = kernel::jobs::enqueue_now(&app.db, NewJob::new("test.bad", json!({})).queue("test"))
        .await
        .expect("enqueue")
        .expect("id");
    worker(&app.db, registry, "bad").drain().await.expect("drain");
    assert_eq!(kernel::jobs::admin::get(&app.db, &bad).await.expect("job").job.status, "dead");
    // An idempotency key makes a second enqueue a no-op.
    let first =
        kernel::jobs::enqueue_now(&app.db, NewJob::new("test.bad", json!({})).queue("test").idempotency_key("k1"))
            .await
            .expect("enqueue");
    let again =
        kernel::jobs::enqueue_now(&app.db, NewJob::new("test.bad", json!({})).queue("test").idempotency_key("k1"))
            .await
            .expect("enqueue");
    assert!(first.is_some() && again.is_none());
    app.stop().await;
}

async fn two_workers_never_run_the_same_job(backend: Backend) {
    let app = app(backend).await;
    effects_table(&app.db).await;
    const JOBS: usize = 300;
    let mut tx = app.db.begin().await.expect("tx");
    for i in 0..JOBS {
        kernel::jobs::enqueue(&mut tx, NewJob::new("test.count", json!({"i": i})).queue("test"))
            .await
            .expect("enqueue");
    }
    tx.commit().await.expect("commit");
    // Two workers with their own connection pools, as two processes would have.
    let second_db = match &app.database_url {
        Some(url) => {
            let config =
                kernel::Config { database_url: Some(url.clone()), db_max_connections: 4, ..Default::default() };
            Db::connect(&config).await.expect("second pool")
        }
        None => app.db.clone(), // SQLite: one process, one writer
    };
    let make = |db: &Db, name: &'static str| {
        let mut registry = Registry::new();
        registry.register(
            "test.count",
            FnHandler(move |job: Job, db: Db| async move {
                db.execute("INSERT INTO socle_test_effects (job_id, worker) VALUES ($1, $2)", args![job.id, name])
                    .await?;
                Ok(None)
            }),
        );
        worker(db, registry, name)
    };
    let (a, b) = (make(&app.db, "a"), make(&second_db, "b"));
    let (ra, rb) = tokio::join!(a.drain(), b.drain());
    let (ra, rb) = (ra.expect("a"), rb.expect("b"));
    assert_eq!(ra + rb, JOBS, "every job ran once in all (a ran {ra}, b ran {rb})");
    let (total, distinct): (i64, i64) = app
        .db
        .fetch_one("SELECT COUNT(*), COUNT(DISTINCT job_id) FROM socle_test_effects", args![])
        .await
        .expect("counts");
    assert_eq!((total, distinct), (JOBS as i64, JOBS as i64), "no job ran twice");
    if backend == Backend::Postgres {
        assert!(ra > 0 && rb > 0, "both workers took a share (a {ra}, b {rb})");
        second_db.close().await;
    }
    app.stop().await;
}

async fn admins_see_and_steer_the_queue(backend: Backend) {
    let app = app(backend).await;
    let admin = app.admin("root@example.com").await;
    let user = app.signup("someone@example.com").await;
    let mut registry = Registry::new();
    registry.register(
        "test.fail",
        FnHandler(|_job: Job, _db: Db| async {
            Err::<Option<serde_json::Value>, _>(JobError::Permanent("no such thing".into()))
        }),
    );
    let id = kernel::jobs::enqueue_now(&app.db, NewJob::new("test.fail", json!({"x": 1})).queue("test"))
        .await
        .expect("enqueue")
        .expect("id");
    worker(&app.db, registry, "admin-test").drain().await.expect("drain");

    let queues = app.get("/api/v1/admin/jobs/queues", Some(&admin.access)).await.expect(200);
    let test =
        queues.body.as_array().and_then(|q| q.iter().find(|q| q["queue"] == "test")).cloned().expect("test queue");
    assert_eq!(test["counts"]["dead"], 1);
    assert_eq!(test["counts"]["queued"], 0);
    let dead = app.get("/api/v1/admin/jobs?state=dead&queue=test", Some(&admin.access)).await.expect(200);
    assert_eq!(dead.body["total_items"], 1);
    assert_eq!(dead.body["items"][0]["id"], id.as_str());
    let detail = app.get(&format!("/api/v1/admin/jobs/{id}"), Some(&admin.access)).await.expect(200);
    assert_eq!(detail.body["payload"]["x"], 1);
    assert_eq!(detail.body["attempt_log"][0]["error"], "no such thing");
    let retried = app.post(&format!("/api/v1/admin/jobs/{id}/retry"), Some(&admin.access), json!({})).await.expect(200);
    assert_eq!(retried.body["status"], "queued");
    let discarded =
        app.post(&format!("/api/v1/admin/jobs/{id}/discard"), Some(&admin.access), json!({})).await.expect(200);
    assert_eq!(discarded.body["status"], "discarded");
    app.post(&format!("/api/v1/admin/jobs/{id}/discard"), Some(&admin.access), json!({})).await.expect(409);
    app.get("/api/v1/admin/jobs?state=bogus", Some(&admin.access)).await.expect_field_error(422, "state");
    app.get("/api/v1/admin/jobs/nope", Some(&admin.access)).await.expect(404);
    // Only administrators.
    app.get("/api/v1/admin/jobs", Some(&user.access)).await.expect(403);
    app.get("/api/v1/admin/jobs", None).await.expect(401);
    // Sent emails are listed (the sign-up's activation). Its file is written before its job
    // is marked succeeded: wait for that, not for the time it usually takes.
    eventually!("the activation email to be listed as sent", {
        let emails = app.get("/api/v1/admin/emails?status=sent", Some(&admin.access)).await.expect(200);
        let items = emails.body["items"].as_array().cloned().unwrap_or_default();
        items.iter().any(|e| e["to"] == "someone@example.com").then_some(())
    });
    app.get("/api/v1/admin/emails?status=lost", Some(&admin.access)).await.expect_field_error(422, "status");
    app.stop().await;
}
