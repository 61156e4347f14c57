//! `/api/v1/admin/activity`: requests, errors and job attempts over time, for the admin
//! dashboard's charts.
//!
//! Requests are counted in memory by the edge middleware ([`kernel::activity`]) and added to
//! `insights_request_hours` every minute by each process, so the table holds every
//! process's counts; the answer adds what this process has not written yet. Job attempts
//! are read from the job queue's own log (kept as long as its jobs, 30 days).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use foundation::FoundationState;
use foundation::authn::AdminUser;
use kernel::activity::{self, RequestCounts};
use kernel::json::{Json, Query};
use kernel::{Db, Result, args};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// How often each process writes its counts.
pub const FLUSH_EVERY: Duration = Duration::from_secs(60);
/// Hours older than this are deleted.
const RETENTION_DAYS: i64 = 90;

/// The period a chart covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub enum ActivityRange {
    /// The last 24 hours, by hour.
    #[default]
    #[serde(rename = "24h")]
    Day,
    /// The last 7 days (UTC), by day.
    #[serde(rename = "7d")]
    Week,
    /// The last 30 days (UTC), by day.
    #[serde(rename = "30d")]
    Month,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// `24h` (by hour, the default), `7d` or `30d` (by day).
    #[param(value_type = Option<String>)]
    pub range: Option<ActivityRange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BucketSize {
    Hour,
    Day,
}

/// One hour or day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ActivityBucket {
    /// Its first second (UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub start: OffsetDateTime,
    /// Requests answered, every status.
    pub requests: i64,
    /// Of which 4xx.
    pub client_errors: i64,
    /// Of which 5xx.
    pub server_errors: i64,
    /// Job attempts that succeeded.
    pub jobs_succeeded: i64,
    /// Job attempts that failed, or whose worker stopped, and may be retried.
    pub jobs_failed: i64,
    /// Job attempts that failed for good.
    pub jobs_dead: i64,
}

impl ActivityBucket {
    fn empty(start: OffsetDateTime) -> Self {
        ActivityBucket {
            start,
            requests: 0,
            client_errors: 0,
            server_errors: 0,
            jobs_succeeded: 0,
            jobs_failed: 0,
            jobs_dead: 0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Activity {
    pub range: ActivityRange,
    pub bucket: BucketSize,
    /// Oldest first, every bucket present (zeros included); the last one is the current.
    pub buckets: Vec<ActivityBucket>,
}

/// Counts drained but not written yet (their write failed), by hour: retried by the next
/// flush, under the hour they were counted in.
static UNSENT: Mutex<BTreeMap<i64, RequestCounts>> = Mutex::new(BTreeMap::new());

fn keep_unsent(counts: impl IntoIterator<Item = (i64, RequestCounts)>) {
    let mut unsent = UNSENT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for (hour, c) in counts {
        let kept = unsent.entry(hour).or_default();
        kept.requests += c.requests;
        kept.client_errors += c.client_errors;
        kept.server_errors += c.server_errors;
    }
}

/// Write what this process counted since the last flush, and forget hours past retention.
/// Counts whose write fails are kept for the next flush.
pub async fn flush(db: &Db) -> Result<()> {
    keep_unsent(activity::drain());
    // Taken out, so that a flush running at the same time cannot write them twice.
    let batch = std::mem::take(&mut *UNSENT.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let mut batch = batch.into_iter();
    while let Some((hour, counts)) = batch.next() {
        if let Err(e) = add_hour(db, hour, &counts).await {
            keep_unsent(std::iter::once((hour, counts)).chain(batch));
            return Err(e);
        }
    }
    let horizon = activity::hour_of(kernel::time::now().unix_timestamp()) - RETENTION_DAYS * 86_400;
    db.execute("DELETE FROM insights_request_hours WHERE hour < $1", args![horizon]).await?;
    Ok(())
}

async fn add_hour(db: &Db, hour: i64, counts: &RequestCounts) -> Result<()> {
    let n = saturating_i64;
    db.execute(
        "INSERT INTO insights_request_hours (hour, requests, client_errors, server_errors) VALUES ($1, $2, $3, $4)
         ON CONFLICT (hour) DO UPDATE SET requests = insights_request_hours.requests + excluded.requests,
             client_errors = insights_request_hours.client_errors + excluded.client_errors,
             server_errors = insights_request_hours.server_errors + excluded.server_errors",
        args![hour, n(counts.requests), n(counts.client_errors), n(counts.server_errors)],
    )
    .await?;
    Ok(())
}

/// Flush every [`FLUSH_EVERY`] until the server stops, then once more.
pub async fn flush_until_stopped(db: Db, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(FLUSH_EVERY) => false,
            _ = stop.changed() => true,
        };
        if let Err(e) = flush(&db).await {
            tracing::warn!(error = %e, "could not write the request counts");
        }
        if stopping {
            return;
        }
    }
}

/// The buckets of `range` ending now: their sizes and first seconds.
pub fn buckets_of(range: ActivityRange, now: OffsetDateTime) -> (BucketSize, Vec<i64>) {
    let this_hour = activity::hour_of(now.unix_timestamp());
    let today = now.date().midnight().assume_utc().unix_timestamp();
    let (size, last, step, count) = match range {
        ActivityRange::Day => (BucketSize::Hour, this_hour, 3600, 24),
        ActivityRange::Week => (BucketSize::Day, today, 86_400, 7),
        ActivityRange::Month => (BucketSize::Day, today, 86_400, 30),
    };
    (size, (0..count).rev().map(|i| last - i * step).collect())
}

/// Requests and job attempts per hour or day over `range`.
pub async fn activity(db: &Db, range: ActivityRange) -> Result<Activity> {
    let now = kernel::time::now();
    let (size, starts) = buckets_of(range, now);
    let first = starts.first().copied().unwrap_or(0);
    let step = if size == BucketSize::Hour { 3600 } else { 86_400 };
    let mut buckets: BTreeMap<i64, ActivityBucket> =
        starts.iter().map(|&s| (s, ActivityBucket::empty(at(s)))).collect();
    // The bucket an hour falls in (none before the range).
    let key_of = |hour: i64| (hour >= first).then(|| first + (hour - first) / step * step);
    let stored: Vec<(i64, i64, i64, i64)> = db
        .fetch_all(
            "SELECT hour, requests, client_errors, server_errors FROM insights_request_hours WHERE hour >= $1",
            args![first],
        )
        .await?;
    let pending = activity::pending().into_iter().map(|(hour, c)| {
        let n = saturating_i64;
        (hour, n(c.requests), n(c.client_errors), n(c.server_errors))
    });
    for (hour, requests, client_errors, server_errors) in stored.into_iter().chain(pending) {
        if let Some(b) = key_of(hour).and_then(|k| buckets.get_mut(&k)) {
            b.requests += requests;
            b.client_errors += client_errors;
            b.server_errors += server_errors;
        }
    }
    for (hour, outcome, n) in kernel::jobs::admin::attempts_by_hour(db, at(first)).await? {
        if let Some(b) = key_of(hour).and_then(|k| buckets.get_mut(&k)) {
            match outcome.as_str() {
                "succeeded" => b.jobs_succeeded += n,
                "dead" => b.jobs_dead += n,
                // `failed`, or `abandoned` (its worker stopped): the job may run again.
                _ => b.jobs_failed += n,
            }
        }
    }
    Ok(Activity { range, bucket: size, buckets: buckets.into_values().collect() })
}

/// A count as the database's BIGINT (no process counts past it).
fn saturating_i64(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

fn at(unix_seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix_seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub fn routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new().routes(routes!(admin_activity))
}

/// Requests (with 4xx and 5xx) and job attempts per hour over the last 24 hours, or per day
/// over the last 7 or 30 days (platform administrators). Requests of the last minute are
/// counted only for the process that answers.
#[utoipa::path(get, path = "/activity", tag = "admin",
    params(ActivityQuery),
    responses((status = 200, body = Activity), (status = 400), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn admin_activity(
    State(state): State<FoundationState>,
    _admin: AdminUser,
    Query(query): Query<ActivityQuery>,
) -> Result<Json<Activity>> {
    Ok(Json(activity(&state.db, query.range.unwrap_or_default()).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_24_hours_ending_with_the_current_one() {
        let now = at(1_796_648_400 + 1234); // 2026-12-07 13:20:34 UTC
        let (size, starts) = buckets_of(ActivityRange::Day, now);
        assert_eq!(size, BucketSize::Hour);
        assert_eq!(starts.len(), 24);
        assert_eq!(starts.last(), Some(&1_796_648_400));
        assert_eq!(starts[0], 1_796_648_400 - 23 * 3600);
    }

    #[test]
    fn weeks_and_months_are_whole_utc_days_ending_today() {
        let now = at(1_796_648_400 + 1234);
        let midnight = 1_796_648_400 - 13 * 3600;
        let (size, week) = buckets_of(ActivityRange::Week, now);
        assert_eq!((size, week.len(), week.last()), (BucketSize::Day, 7, Some(&midnight)));
        let (_, month) = buckets_of(ActivityRange::Month, now);
        assert_eq!((month.len(), month[0]), (30, midnight - 29 * 86_400));
    }
}
