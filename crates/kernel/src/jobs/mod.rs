//! The job queue every module uses: a job is a row (kind, payload, queue, priority, run-at)
//! written in the transaction of the change that needs it, and run after commit by a worker
//! with a lease, retries with exponential backoff and jitter, and a dead-letter state.
//!
//! States: `queued` → `running` → `succeeded`; a failed attempt goes to `failed` (waiting
//! for its retry at `run_at`) and after `max_attempts` to `dead`; an admin can `discard` a
//! job or retry a dead one. A worker that dies mid-run leaves its job `running` with an
//! expired lease: the next claim takes it again. Each claim gets a fresh lease token, and
//! completion is fenced by it, so a stale worker can never record a result over a newer
//! attempt; a handler whose effect is a database write makes it exactly once by committing
//! it together with the completion ([`JobContext::complete_in`]).

pub mod admin;
mod worker;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};

use rand::Rng;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::args;
use crate::db::{Db, Tx};
use crate::error::Result;

pub use worker::{Worker, WorkerOptions};

/// Wakes the workers of this process when a transaction that enqueued jobs commits.
pub(crate) static WAKE: LazyLock<crate::Wake> = LazyLock::new(crate::Wake::new);

pub const DEFAULT_MAX_ATTEMPTS: i64 = 5;
pub const DEFAULT_TIMEOUT_SECS: i64 = 60;

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub queue: String,
    pub payload: Value,
    pub priority: i64,
    pub run_at: Option<OffsetDateTime>,
    pub max_attempts: i64,
    pub timeout_secs: i64,
    /// A second enqueue with the same key is ignored (and returns `None`).
    pub idempotency_key: Option<String>,
}

impl NewJob {
    pub fn new(kind: &str, payload: Value) -> Self {
        NewJob {
            kind: kind.to_string(),
            queue: "default".into(),
            payload,
            priority: 0,
            run_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            idempotency_key: None,
        }
    }

    pub fn queue(mut self, queue: &str) -> Self {
        self.queue = queue.to_string();
        self
    }

    pub fn run_at(mut self, at: OffsetDateTime) -> Self {
        self.run_at = Some(at);
        self
    }

    pub fn max_attempts(mut self, n: i64) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    pub fn timeout_secs(mut self, secs: i64) -> Self {
        self.timeout_secs = secs.clamp(1, 24 * 3600);
        self
    }

    pub fn priority(mut self, priority: i64) -> Self {
        self.priority = priority;
        self
    }

    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// Enqueue `job` in the caller's transaction: it exists (and runs) only if that commits.
/// Returns the job id, or `None` when a job with the same idempotency key already exists.
pub async fn enqueue(tx: &mut Tx, job: NewJob) -> Result<Option<String>> {
    let now = crate::time::now();
    let id = crate::ids::new_id();
    let inserted: Option<(String,)> = tx
        .fetch_optional(
            "INSERT INTO jobs (id, kind, queue, payload, status, priority, run_at, attempts, max_attempts,
                               timeout_secs, idempotency_key, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'queued', $5, $6, 0, $7, $8, $9, $10, $10)
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            args![
                &id,
                job.kind,
                job.queue,
                job.payload,
                job.priority,
                job.run_at.unwrap_or(now),
                job.max_attempts,
                job.timeout_secs,
                job.idempotency_key,
                now
            ],
        )
        .await?;
    if inserted.is_some() {
        tx.after_commit(wake_workers);
    }
    Ok(inserted.map(|(id,)| id))
}

/// Enqueue one job in its own transaction.
pub async fn enqueue_now(db: &Db, job: NewJob) -> Result<Option<String>> {
    let mut tx = db.begin().await?;
    let id = enqueue(&mut tx, job).await?;
    tx.commit().await?;
    Ok(id)
}

/// Tell this process's workers that jobs are waiting.
pub fn wake_workers() {
    WAKE.wake();
}

/// A claimed job, as its handler sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub queue: String,
    #[sqlx(json)]
    pub payload: Value,
    /// This attempt's number, from 1.
    pub attempts: i64,
    pub max_attempts: i64,
    pub timeout_secs: i64,
    #[serde(skip)]
    pub lease: Option<String>,
}

/// Why an attempt failed.
#[derive(Debug)]
pub enum JobError {
    /// Try again later (after the backoff), until `max_attempts`.
    Retry(String),
    /// Try again at a given time (a rate-limited API's `Retry-After`).
    RetryAt(String, OffsetDateTime),
    /// Retrying cannot help (bad payload): dead at once.
    Permanent(String),
}

impl JobError {
    pub fn message(&self) -> &str {
        match self {
            JobError::Retry(m) | JobError::RetryAt(m, _) | JobError::Permanent(m) => m,
        }
    }
}

impl From<crate::Error> for JobError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::BadRequest(m) | crate::Error::NotFound(m) => JobError::Permanent(m),
            other => JobError::Retry(other.to_string()),
        }
    }
}

pub type JobResult = std::result::Result<Option<Value>, JobError>;
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = JobResult> + Send + 'a>>;

/// Runs jobs of one kind.
pub trait JobHandler: Send + Sync + 'static {
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a>;
}

/// What a handler gets besides its job: the database, and the lease that fences completion.
pub struct JobContext {
    pub db: Db,
    job_id: String,
    lease: String,
    completed: std::sync::atomic::AtomicBool,
}

impl JobContext {
    /// Mark the job succeeded inside `tx` (with the handler's own writes) and commit, so the
    /// writes and the completion happen together or not at all. Returns `false`, writing
    /// nothing, when this attempt's lease was lost to another worker.
    pub async fn complete_in(&self, mut tx: Tx, result: Option<Value>) -> Result<bool> {
        let done = worker::mark_succeeded(&mut tx, &self.job_id, &self.lease, result).await?;
        if !done {
            return Ok(false);
        }
        tx.commit().await?;
        self.completed.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(true)
    }

    fn already_completed(&self) -> bool {
        self.completed.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Handlers by job kind.
#[derive(Default, Clone)]
pub struct Registry {
    handlers: std::collections::HashMap<String, Arc<dyn JobHandler>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(&mut self, kind: &str, handler: impl JobHandler) -> &mut Self {
        self.handlers.insert(kind.to_string(), Arc::new(handler));
        self
    }

    /// Take every kind `other` registered (a later registration of a kind wins).
    pub fn merge(&mut self, other: Registry) {
        self.handlers.extend(other.handlers);
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }

    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.handlers.keys().cloned().collect();
        kinds.sort();
        kinds
    }
}

/// A handler from an async closure over the job and the database:
/// `FnHandler(|job, db| async move { ... })`.
pub struct FnHandler<F>(pub F);

impl<F, Fut> JobHandler for FnHandler<F>
where
    F: Fn(Job, Db) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = JobResult> + Send + 'static,
{
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin((self.0)(job.clone(), ctx.db.clone()))
    }
}

/// The wait before attempt `attempts + 1`: 10 s, 20 s, 40 s ... capped at one hour, plus up
/// to 20 % jitter so that jobs that failed together do not retry together.
pub fn backoff(attempts: i64) -> time::Duration {
    let exp = attempts.clamp(1, 20) - 1;
    let base = (10i64 << exp).min(3600);
    let jitter = rand::rng().random_range(0..=base / 5);
    time::Duration::seconds(base + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_ten_seconds_and_caps_at_an_hour() {
        for (attempt, base) in [(1, 10), (2, 20), (3, 40), (4, 80), (9, 2560), (10, 3600), (40, 3600)] {
            let wait = backoff(attempt).whole_seconds();
            assert!((base..=base + base / 5).contains(&wait), "attempt {attempt}: {wait}s, expected {base}s + 20%");
        }
    }
}
