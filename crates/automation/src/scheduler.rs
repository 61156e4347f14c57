//! The scheduler: named cron schedules (seconds optional, any IANA time zone) stored in the
//! `schedules` table. Each tick, a due schedule is advanced with a compare-and-set on its
//! `next_run_at` and its job enqueued with an idempotency key naming that occurrence, in one
//! transaction, so that with several scheduler processes each occurrence fires exactly once.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use kernel::jobs::NewJob;
use kernel::{Db, Error, Result, Tx, args};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// A parsed cron expression with its time zone.
#[derive(Debug, Clone)]
pub struct CronSpec {
    cron: Cron,
    tz: Tz,
}

impl CronSpec {
    /// Parse `expr` (5 fields, or 6 with seconds first) in time zone `tz` (IANA name).
    pub fn parse(expr: &str, tz: &str) -> std::result::Result<Self, String> {
        if expr.len() > 200 {
            return Err("the cron expression is too long".into());
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(expr)
            .map_err(|e| format!("invalid cron expression {expr:?}: {e}"))?;
        let tz = Tz::from_str(tz)
            .map_err(|_| format!("unknown time zone {tz:?} (use an IANA name such as Europe/Paris)"))?;
        Ok(CronSpec { cron, tz })
    }

    /// The first occurrence strictly after `after`.
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        let utc = DateTime::<Utc>::from_timestamp(after.unix_timestamp(), after.nanosecond())?;
        let local = utc.with_timezone(&self.tz);
        let next = self.cron.find_next_occurrence(&local, false).ok()?;
        OffsetDateTime::from_unix_timestamp(next.timestamp()).ok()
    }
}

/// Create or replace a schedule. Its first occurrence is computed from now.
pub async fn upsert(
    tx: &mut Tx,
    name: &str,
    expr: &str,
    tz: &str,
    job_kind: &str,
    queue: &str,
    payload: Value,
) -> Result<OffsetDateTime> {
    let spec = CronSpec::parse(expr, tz).map_err(|m| Error::field("cron", "invalid", m))?;
    let now = kernel::time::now();
    let next = spec.next_after(now).ok_or_else(|| Error::field("cron", "never", "the cron expression never fires"))?;
    tx.execute(
        "INSERT INTO schedules (name, cron, timezone, job_kind, queue, payload, enabled, next_run_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (name) DO UPDATE SET cron = $2, timezone = $3, job_kind = $4, queue = $5, payload = $6,
             enabled = $7, next_run_at = $8, updated_at = $9",
        args![name, expr, tz, job_kind, queue, payload, true, next, now],
    )
    .await?;
    Ok(next)
}

pub async fn remove(tx: &mut Tx, name: &str) -> Result<()> {
    tx.execute("DELETE FROM schedules WHERE name = $1", args![name]).await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct DueSchedule {
    name: String,
    cron: String,
    timezone: String,
    job_kind: String,
    queue: String,
    #[sqlx(json)]
    payload: Value,
    next_run_at: OffsetDateTime,
}

/// Fire every due schedule once; returns how many occurrences were enqueued by this call.
pub async fn tick(db: &Db) -> Result<usize> {
    let now = kernel::time::now();
    let due: Vec<DueSchedule> = db
        .fetch_all(
            "SELECT name, cron, timezone, job_kind, queue, payload, next_run_at FROM schedules
             WHERE enabled = $1 AND next_run_at <= $2 ORDER BY next_run_at LIMIT 100",
            args![true, now],
        )
        .await?;
    let mut fired = 0;
    for s in due {
        let spec = match CronSpec::parse(&s.cron, &s.timezone) {
            Ok(spec) => spec,
            Err(e) => {
                tracing::warn!(schedule = %s.name, error = %e, "a schedule cannot be parsed; disabling it");
                db.execute("UPDATE schedules SET enabled = $2 WHERE name = $1", args![&s.name, false]).await?;
                continue;
            }
        };
        // Missed occurrences (the scheduler was down) fire once, then the schedule resumes.
        let Some(next) = spec.next_after(now.max(s.next_run_at)) else { continue };
        let mut tx = db.begin().await?;
        let advanced = tx
            .execute(
                "UPDATE schedules SET next_run_at = $3, last_run_at = $4, updated_at = $4
                 WHERE name = $1 AND next_run_at = $2",
                args![&s.name, s.next_run_at, next, now],
            )
            .await?;
        if advanced == 0 {
            continue; // another scheduler fired it
        }
        let occurrence = kernel::time::rfc3339(s.next_run_at);
        let mut payload = s.payload.clone();
        if let Value::Object(map) = &mut payload {
            map.insert("scheduled_for".into(), json!(occurrence));
        }
        kernel::jobs::enqueue(
            &mut tx,
            NewJob::new(&s.job_kind, payload)
                .queue(&s.queue)
                .idempotency_key(format!("schedule:{}:{occurrence}", s.name)),
        )
        .await?;
        tx.commit().await?;
        fired += 1;
    }
    Ok(fired)
}

/// Tick every second until `shutdown`.
pub async fn run(db: Db, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(e) = tick(&db).await {
            tracing::warn!(error = %e, "the scheduler could not fire schedules");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_with_seconds_and_time_zone() {
        let at = time::macros::datetime!(2026-11-21 10:00:00 UTC);
        let every_ten_seconds = CronSpec::parse("*/10 * * * * *", "UTC").map(|s| s.next_after(at));
        assert_eq!(every_ten_seconds, Ok(Some(time::macros::datetime!(2026-11-21 10:00:10 UTC))));
        // 09:00 in Paris is 08:00 UTC in November (CET, UTC+1).
        let paris = CronSpec::parse("0 9 * * *", "Europe/Paris").map(|s| s.next_after(at));
        assert_eq!(paris, Ok(Some(time::macros::datetime!(2026-11-22 08:00:00 UTC))));
        assert!(CronSpec::parse("61 * * * *", "UTC").is_err());
        assert!(CronSpec::parse("* * * * *", "Mars/Olympus").is_err());
    }
}
