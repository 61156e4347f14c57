//! The worker: claims due jobs (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several processes
//! never take the same job; SQLite: through the single writer), runs them concurrently
//! under their timeout, and records each attempt.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;

use super::{Job, JobContext, JobError, Registry, WAKE, backoff};
use crate::args;
use crate::db::{Db, DbKind, Tx};
use crate::error::Result;

/// Extra time a lease lasts beyond the job's timeout, so a live worker never loses it.
const LEASE_MARGIN_SECS: i64 = 30;

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Jobs run at the same time by this worker.
    pub concurrency: usize,
    /// How often to look for due jobs when nothing wakes the worker (other processes'
    /// jobs, retries coming due).
    pub poll: Duration,
    /// Only these queues (all when empty).
    pub queues: Vec<String>,
    /// A name for logs and the attempts table.
    pub name: String,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            concurrency: 8,
            poll: Duration::from_millis(500),
            queues: Vec::new(),
            name: format!("{}-{}", std::process::id(), crate::ids::random_token(4)),
        }
    }
}

#[derive(Clone)]
pub struct Worker {
    db: Db,
    registry: Arc<Registry>,
    options: Arc<WorkerOptions>,
}

impl Worker {
    pub fn new(db: Db, registry: Registry, options: WorkerOptions) -> Self {
        Worker { db, registry: Arc::new(registry), options: Arc::new(options) }
    }

    /// Run jobs until `shutdown` turns true; jobs already running are finished first.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut running: JoinSet<()> = JoinSet::new();
        let mut wake = WAKE.subscribe();
        loop {
            while running.try_join_next().is_some() {}
            let free = self.options.concurrency.saturating_sub(running.len());
            let mut claimed = 0;
            if free > 0 {
                match self.claim(free).await {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        for job in jobs {
                            let worker = self.clone();
                            running.spawn(async move { worker.execute(job).await });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "the job worker could not claim jobs"),
                }
            }
            if claimed > 0 && claimed == free {
                // There may be more: claim again as soon as a slot frees up.
                tokio::select! {
                    _ = running.join_next() => {}
                    _ = shutdown.changed() => break,
                }
                continue;
            }
            tokio::select! {
                _ = wake.changed() => {}
                _ = tokio::time::sleep(self.options.poll) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
                _ = shutdown.changed() => break,
            }
        }
        while running.join_next().await.is_some() {}
    }

    /// Claim and run due jobs until none is left; returns how many ran. For tests and tools.
    pub async fn drain(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let jobs = self.claim(self.options.concurrency.max(1)).await?;
            if jobs.is_empty() {
                return Ok(total);
            }
            total += jobs.len();
            let mut set = JoinSet::new();
            for job in jobs {
                let worker = self.clone();
                set.spawn(async move { worker.execute(job).await });
            }
            while set.join_next().await.is_some() {}
        }
    }

    /// Take up to `limit` due jobs: queued or failed ones whose time has come, and running
    /// ones whose lease has expired (their worker died).
    pub async fn claim(&self, limit: usize) -> Result<Vec<Job>> {
        let now = crate::time::now();
        let lease = crate::ids::random_token(12);
        // Queue names come from configuration; they are still bound, one placeholder each,
        // numbered from `first`.
        let queues = |first: usize| {
            if self.options.queues.is_empty() {
                return String::new();
            }
            let marks: Vec<String> = (0..self.options.queues.len()).map(|i| format!("${}", i + first)).collect();
            format!("AND queue IN ({})", marks.join(", "))
        };
        let due = "((status IN ('queued', 'failed') AND run_at <= $1) OR (status = 'running' AND locked_until < $1))";
        // An idle queue (the usual case) is answered by a read: the claim's write transaction
        // took the single writer twice a second, and every other write waited behind it.
        let mut probe = args![now];
        probe.extend(self.options.queues.iter().map(crate::db::Arg::from));
        let anything_due: Option<(String,)> = self
            .db
            .fetch_optional(
                sqlx::AssertSqlSafe(format!("SELECT id FROM jobs WHERE {due} {} LIMIT 1", queues(2))),
                probe,
            )
            .await?;
        if anything_due.is_none() {
            return Ok(Vec::new());
        }
        let lock = match self.db.kind() {
            DbKind::Postgres => "FOR UPDATE SKIP LOCKED",
            DbKind::Sqlite => "",
        };
        // The lease lasts the job's own timeout plus a margin: computed per row.
        let lease_until = match self.db.kind() {
            DbKind::Postgres => format!("$1::timestamptz + make_interval(secs => timeout_secs + {LEASE_MARGIN_SECS})"),
            DbKind::Sqlite => format!(
                "strftime('%Y-%m-%dT%H:%M:%f000Z', $1, '+' || (timeout_secs + {LEASE_MARGIN_SECS}) || ' seconds')"
            ),
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease = $2, locked_until = {lease_until},
                    updated_at = $1
             WHERE id IN (
               SELECT id FROM jobs WHERE {due} {queues}
               ORDER BY priority DESC, run_at LIMIT $3 {lock})
             RETURNING id, kind, queue, payload, attempts, max_attempts, timeout_secs, lease",
            queues = queues(4)
        );
        let mut args = args![now, &lease, limit as i64];
        args.extend(self.options.queues.iter().map(crate::db::Arg::from));
        let mut tx = self.db.begin().await?;
        let jobs: Vec<Job> = tx.fetch_all(sqlx::AssertSqlSafe(sql), args).await?;
        for job in &jobs {
            // An attempt left open by a worker that died is closed as abandoned.
            tx.execute(
                "UPDATE job_attempts SET outcome = 'abandoned', finished_at = $2, error = 'the worker stopped before finishing (lease expired)'
                 WHERE job_id = $1 AND outcome = 'running'",
                args![&job.id, now],
            )
            .await?;
            tx.execute(
                "INSERT INTO job_attempts (job_id, attempt, worker, started_at, outcome) VALUES ($1, $2, $3, $4, 'running')
                 ON CONFLICT (job_id, attempt) DO UPDATE SET worker = $3, started_at = $4, outcome = 'running'",
                args![&job.id, job.attempts, &self.options.name, now],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(jobs)
    }

    /// Run one claimed job and record the outcome (fenced by its lease).
    pub async fn execute(&self, job: Job) {
        let started = Instant::now();
        let ctx = JobContext {
            db: self.db.clone(),
            job_id: job.id.clone(),
            lease: job.lease.clone().unwrap_or_default(),
            completed: Default::default(),
        };
        let outcome = if job.attempts > job.max_attempts {
            // Its last attempt's worker died: nothing left to try.
            Err(JobError::Permanent("the last attempt's worker stopped before finishing".into()))
        } else {
            match self.registry.get(&job.kind) {
                None => Err(JobError::Permanent(format!("no handler for job kind {:?}", job.kind))),
                Some(handler) => {
                    let timeout = Duration::from_secs(job.timeout_secs.max(1) as u64);
                    let result = match tokio::time::timeout(timeout, handler.run(&job, &ctx)).await {
                        Ok(r) => r,
                        Err(_) => Err(JobError::Retry(format!("timed out after {} s", job.timeout_secs))),
                    };
                    if ctx.already_completed() {
                        record_attempt(&self.db, &job, "succeeded", None, started).await;
                        observe(&job, "succeeded", started);
                        return;
                    }
                    result
                }
            }
        };
        let recorded = match &outcome {
            // The same fenced completion a handler uses, with no writes of its own.
            Ok(result) => match self.db.begin().await {
                Ok(tx) => ctx.complete_in(tx, result.clone()).await,
                Err(e) => Err(e),
            },
            Err(error) => self.mark_failed(&job, &ctx.lease, error).await,
        };
        let label = match &outcome {
            Ok(_) => "succeeded",
            Err(JobError::Permanent(_)) => "dead",
            Err(_) if job.attempts >= job.max_attempts => "dead",
            Err(_) => "failed",
        };
        match recorded {
            Ok(true) => {
                record_attempt(&self.db, &job, label, outcome.as_ref().err().map(JobError::message), started).await;
                observe(&job, label, started);
                if let Err(e) = &outcome {
                    tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = e.message(), state = label, "job attempt failed");
                }
            }
            Ok(false) => {
                tracing::warn!(job = %job.id, "a job's lease was lost to another worker; its outcome is dropped")
            }
            Err(e) => tracing::warn!(job = %job.id, error = %e, "could not record a job's outcome"),
        }
    }

    async fn mark_failed(&self, job: &Job, lease: &str, error: &JobError) -> Result<bool> {
        let now = crate::time::now();
        let dead = matches!(error, JobError::Permanent(_)) || job.attempts >= job.max_attempts;
        let next = match error {
            JobError::RetryAt(_, at) => *at,
            _ => now + backoff(job.attempts),
        };
        let n = self
            .db
            .execute(
                "UPDATE jobs SET status = $3, run_at = $4, last_error = $5, locked_until = NULL, lease = NULL,
                        updated_at = $6, finished_at = $7
                 WHERE id = $1 AND lease = $2 AND status = 'running'",
                args![
                    &job.id,
                    lease,
                    if dead { "dead" } else { "failed" },
                    next,
                    error.message(),
                    now,
                    dead.then_some(now)
                ],
            )
            .await?;
        Ok(n == 1)
    }
}

/// Mark a running job succeeded if `lease` is still its lease.
pub(super) async fn mark_succeeded(tx: &mut Tx, job_id: &str, lease: &str, result: Option<Value>) -> Result<bool> {
    let now = crate::time::now();
    let n = tx
        .execute(
            "UPDATE jobs SET status = 'succeeded', result = $3, last_error = NULL, locked_until = NULL, lease = NULL,
                    updated_at = $4, finished_at = $4
             WHERE id = $1 AND lease = $2 AND status = 'running'",
            args![job_id, lease, result, now],
        )
        .await?;
    Ok(n == 1)
}

async fn record_attempt(db: &Db, job: &Job, outcome: &str, error: Option<&str>, started: Instant) {
    let ms = started.elapsed().as_millis() as i64;
    if let Err(e) = db
        .execute(
            "UPDATE job_attempts SET outcome = $3, error = $4, finished_at = $5, duration_ms = $6
             WHERE job_id = $1 AND attempt = $2",
            args![&job.id, job.attempts, outcome, error, crate::time::now(), ms],
        )
        .await
    {
        tracing::debug!(job = %job.id, error = %e, "could not record a job attempt");
    }
}

fn observe(job: &Job, outcome: &'static str, started: Instant) {
    metrics::histogram!("socle_job_duration_seconds", "kind" => job.kind.clone(), "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
}
