//! Usage against the plans: the limits the kernel's meter enforces come from here (the
//! organization's current plan), and what it counted is written here in batches, one row
//! per organization, UTC day and metric.

use std::collections::HashMap;
use std::time::Duration;

use kernel::module::BoxFuture;
use kernel::principal::Principal;
use kernel::usage::{Metric, QuotaSource, StoredUsage, Usage};
use kernel::{Db, OrgRole, Result, args};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::UsageDay;
use foundation::orgs::require_org_role;

/// The organization's plan's limits and what the usage table holds for the current day
/// and month.
pub struct PlanQuotas(pub Db);

impl QuotaSource for PlanQuotas {
    fn load<'a>(&'a self, org: &'a str, now: OffsetDateTime) -> BoxFuture<'a, Result<StoredUsage>> {
        Box::pin(async move {
            let (overview, _) = super::service::current(&self.0, org).await?;
            let limits = match &overview.plan.limits {
                Value::Object(map) => {
                    map.iter().filter_map(|(k, v)| Some((Metric::from_key(k)?, v.as_i64()?))).collect::<HashMap<_, _>>()
                }
                _ => HashMap::new(),
            };
            let today = day_key(now.date());
            let rows: Vec<(String, String, i64)> = self
                .0
                .fetch_all(
                    "SELECT day, metric, amount FROM billing_usage_daily WHERE organization_id = $1 AND day >= $2",
                    args![org, month_start(now.date())],
                )
                .await?;
            let mut counted = [0i64; 3];
            for (day, metric, amount) in rows {
                let Some(metric) = Metric::from_key(&metric) else { continue };
                let Some(i) = Metric::COUNTERS.iter().position(|m| *m == metric) else { continue };
                if metric == Metric::ApiCallsPerDay && day != today {
                    continue;
                }
                counted[i] += amount;
            }
            Ok(StoredUsage { limits, counted })
        })
    }
}

pub fn day_key(date: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

fn month_start(date: time::Date) -> String {
    format!("{:04}-{:02}-01", date.year(), u8::from(date.month()))
}

/// Write what the meter counted since the last flush, in one transaction; on failure the
/// amounts go back to the meter for the next try.
pub async fn flush(db: &Db, usage: &Usage) -> Result<usize> {
    let drained = usage.drain();
    if drained.is_empty() {
        return Ok(0);
    }
    let day = day_key(OffsetDateTime::now_utc().date());
    let written = async {
        let mut tx = db.begin().await?;
        for (org, metric, amount) in &drained {
            tx.execute(
                "INSERT INTO billing_usage_daily (organization_id, day, metric, amount) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (organization_id, day, metric) DO UPDATE SET amount = billing_usage_daily.amount + excluded.amount",
                args![org, &day, metric.key(), *amount],
            )
            .await?;
        }
        tx.commit().await
    }
    .await;
    match written {
        Ok(()) => Ok(drained.len()),
        Err(e) => {
            usage.restore(drained);
            Err(e)
        }
    }
}

/// Flush every `period`, and once more when the server stops.
pub async fn flush_loop(db: Db, usage: Usage, period: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(period) => false,
            _ = stop.changed() => true,
        };
        if let Err(e) = flush(&db, &usage).await {
            tracing::warn!(error = %e, "could not write metered usage; kept for the next flush");
        }
        if stopping {
            return;
        }
    }
}

/// The last `days` UTC days of metered usage, oldest first, days without any included
/// (OWNER or ADMIN).
pub async fn history(db: &Db, principal: &Principal, organization_id: &str, days: i64) -> Result<Vec<UsageDay>> {
    require_org_role(db, principal, organization_id, OrgRole::Admin).await?;
    let today = OffsetDateTime::now_utc().date();
    let first = today - time::Duration::days(days - 1);
    let rows: Vec<(String, String, i64)> = db
        .fetch_all(
            "SELECT day, metric, amount FROM billing_usage_daily WHERE organization_id = $1 AND day >= $2",
            args![organization_id, day_key(first)],
        )
        .await?;
    let mut out: Vec<UsageDay> = (0..days)
        .map(|i| UsageDay { day: day_key(first + time::Duration::days(i)), api_calls: 0, ai_tokens: 0, exports: 0 })
        .collect();
    for (day, metric, amount) in rows {
        if let Some(d) = out.iter_mut().find(|d| d.day == day) {
            match Metric::from_key(&metric) {
                Some(Metric::ApiCallsPerDay) => d.api_calls += amount,
                Some(Metric::AiTokensPerMonth) => d.ai_tokens += amount,
                Some(Metric::ExportsPerMonth) => d.exports += amount,
                _ => {}
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_months_are_keyed_as_iso_dates() {
        let date = time::Date::from_calendar_date(2026, time::Month::March, 7).expect("a date");
        assert_eq!(day_key(date), "2026-03-07");
        assert_eq!(month_start(date), "2026-03-01");
        // Keys sort as dates do, which the `day >= $2` filters rely on.
        assert!(day_key(date) > month_start(date));
    }
}
