//! Reading and steering the queue, for the admin API (the seed's BullBoard) and metrics.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::args;
use crate::db::{Conditions, Db};
use crate::error::{Error, Result};
use crate::pagination::{Page, PageRequest};

pub const STATES: [&str; 6] = ["queued", "running", "failed", "succeeded", "dead", "discarded"];

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueCounts {
    pub queue: String,
    /// Jobs by state (every state is present, zero included).
    pub counts: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct JobSummary {
    pub id: String,
    pub kind: String,
    pub queue: String,
    pub status: String,
    pub priority: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub run_at: OffsetDateTime,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct JobAttempt {
    pub attempt: i64,
    pub worker: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    pub outcome: String,
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobDetail {
    #[serde(flatten)]
    pub job: JobSummary,
    pub payload: Value,
    pub result: Option<Value>,
    pub timeout_secs: i64,
    pub idempotency_key: Option<String>,
    pub attempt_log: Vec<JobAttempt>,
}

#[derive(sqlx::FromRow)]
struct JobExtra {
    #[sqlx(json)]
    payload: Value,
    #[sqlx(json(nullable))]
    result: Option<Value>,
    timeout_secs: i64,
    idempotency_key: Option<String>,
}

const SUMMARY: &str =
    "id, kind, queue, status, priority, run_at, attempts, max_attempts, last_error, created_at, finished_at";

pub fn check_state(state: &str) -> Result<()> {
    if STATES.contains(&state) {
        Ok(())
    } else {
        Err(Error::field("state", "invalid", format!("state must be one of {}", STATES.join(", "))))
    }
}

/// Counts by queue and state.
pub async fn queue_counts(db: &Db) -> Result<Vec<QueueCounts>> {
    let rows: Vec<(String, String, i64)> =
        db.fetch_all("SELECT queue, status, COUNT(*) FROM jobs GROUP BY queue, status ORDER BY queue", args![]).await?;
    let mut out: Vec<QueueCounts> = Vec::new();
    for (queue, status, n) in rows {
        if out.last().is_none_or(|q| q.queue != queue) {
            let counts = STATES.iter().map(|s| (s.to_string(), 0)).collect();
            out.push(QueueCounts { queue: queue.clone(), counts });
        }
        if let Some(q) = out.last_mut() {
            q.counts.insert(status, n);
        }
    }
    Ok(out)
}

/// Totals by state over every queue (for metrics).
pub async fn state_counts(db: &Db) -> Result<Vec<(String, i64)>> {
    let rows: Vec<(String, i64)> = db.fetch_all("SELECT status, COUNT(*) FROM jobs GROUP BY status", args![]).await?;
    Ok(STATES
        .iter()
        .map(|s| (s.to_string(), rows.iter().find(|(st, _)| st == s).map(|(_, n)| *n).unwrap_or(0)))
        .collect())
}

#[derive(Debug, Default)]
pub struct JobFilter {
    pub state: Option<String>,
    pub queue: Option<String>,
    pub kind: Option<String>,
}

pub async fn list(db: &Db, filter: &JobFilter, page: PageRequest) -> Result<Page<JobSummary>> {
    let mut c = Conditions::new();
    if let Some(s) = &filter.state {
        check_state(s)?;
        c.add("status = {}", s.as_str());
    }
    if let Some(q) = &filter.queue {
        c.add("queue = {}", q.as_str());
    }
    if let Some(k) = &filter.kind {
        c.add("kind = {}", k.as_str());
    }
    c.fetch_page(db, SUMMARY, "jobs", "created_at DESC, id", page).await
}

/// A job's payload alone.
pub async fn payload(db: &Db, id: &str) -> Result<Value> {
    let (payload,): (sqlx::types::Json<Value>,) = db
        .fetch_optional("SELECT payload FROM jobs WHERE id = $1", args![id])
        .await?
        .ok_or_else(|| Error::not_found("job"))?;
    Ok(payload.0)
}

pub async fn get(db: &Db, id: &str) -> Result<JobDetail> {
    let job: JobSummary = db
        .fetch_optional(sqlx::AssertSqlSafe(format!("SELECT {SUMMARY} FROM jobs WHERE id = $1")), args![id])
        .await?
        .ok_or_else(|| Error::not_found("job"))?;
    let extra: JobExtra = db
        .fetch_one("SELECT payload, result, timeout_secs, idempotency_key FROM jobs WHERE id = $1", args![id])
        .await?;
    let attempt_log: Vec<JobAttempt> = db
        .fetch_all(
            "SELECT attempt, worker, started_at, finished_at, outcome, error, duration_ms FROM job_attempts
             WHERE job_id = $1 ORDER BY attempt",
            args![id],
        )
        .await?;
    Ok(JobDetail {
        job,
        payload: extra.payload,
        result: extra.result,
        timeout_secs: extra.timeout_secs,
        idempotency_key: extra.idempotency_key,
        attempt_log,
    })
}

/// Run a failed, dead or discarded job again now, with a fresh set of attempts.
pub async fn retry(db: &Db, id: &str) -> Result<JobDetail> {
    let now = crate::time::now();
    let n = db
        .execute(
            "UPDATE jobs SET status = 'queued', run_at = $2, max_attempts = attempts + max_attempts,
                    finished_at = NULL, updated_at = $2
             WHERE id = $1 AND status IN ('failed', 'dead', 'discarded')",
            args![id, now],
        )
        .await?;
    if n == 0 {
        let job = get(db, id).await?;
        return Err(Error::Conflict(format!("a {} job cannot be retried", job.job.status)));
    }
    super::wake_workers();
    get(db, id).await
}

/// Give up on a job that has not finished: it will not run (again).
pub async fn discard(db: &Db, id: &str) -> Result<JobDetail> {
    let now = crate::time::now();
    let n = db
        .execute(
            "UPDATE jobs SET status = 'discarded', finished_at = $2, updated_at = $2, locked_until = NULL, lease = NULL
             WHERE id = $1 AND status IN ('queued', 'failed', 'dead', 'running')",
            args![id, now],
        )
        .await?;
    if n == 0 {
        let job = get(db, id).await?;
        return Err(Error::Conflict(format!("a {} job cannot be discarded", job.job.status)));
    }
    get(db, id).await
}

/// Delete succeeded and discarded jobs finished more than `keep` ago; returns how many.
pub async fn purge_finished(db: &Db, keep: time::Duration) -> Result<u64> {
    db.execute(
        "DELETE FROM jobs WHERE status IN ('succeeded', 'discarded') AND finished_at < $1",
        args![crate::time::now() - keep],
    )
    .await
}

/// Finished job attempts per hour (UTC) since `since`: `(hour, outcome, count)`, the hour as
/// its first second since the epoch, the outcome `succeeded`, `failed` (to be retried),
/// `dead` or `abandoned` (its worker stopped).
pub async fn attempts_by_hour(db: &Db, since: OffsetDateTime) -> Result<Vec<(i64, String, i64)>> {
    let sql = match db.kind() {
        crate::DbKind::Sqlite => {
            "SELECT substr(finished_at, 1, 13) AS hour, outcome, COUNT(*) FROM job_attempts
             WHERE finished_at >= $1 AND outcome <> 'running' GROUP BY hour, outcome"
        }
        crate::DbKind::Postgres => {
            "SELECT to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24') AS hour, outcome, COUNT(*)
             FROM job_attempts WHERE finished_at >= $1 AND outcome <> 'running' GROUP BY hour, outcome"
        }
    };
    let rows: Vec<(String, String, i64)> = db.fetch_all(sql, args![since]).await?;
    Ok(rows.into_iter().filter_map(|(hour, outcome, n)| Some((parse_hour(&hour)?, outcome, n))).collect())
}

/// `2026-12-07T13` as the hour's first second since the epoch.
fn parse_hour(text: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let month = time::Month::try_from(u8::try_from(number(5..7)?).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::try_from(number(0..4)?).ok()?, month, u8::try_from(number(8..10)?).ok()?)
            .ok()?;
    let hour = number(11..13)?;
    if !(0..24).contains(&hour) || text.len() != 13 {
        return None;
    }
    Some(date.midnight().assume_utc().unix_timestamp() + hour * 3600)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hours_are_read_back_as_epoch_seconds() {
        assert_eq!(super::parse_hour("1970-01-01T00"), Some(0));
        assert_eq!(super::parse_hour("2026-12-07T13"), Some(1_796_648_400));
        assert_eq!(super::parse_hour("2026-12-07T24"), None);
        assert_eq!(super::parse_hour("2026-13-07T01"), None);
        assert_eq!(super::parse_hour("2026-12-07"), None);
    }
}
