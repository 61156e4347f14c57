//! Plans and subscriptions (`/api/v1/billing`): the plans on sale with their prices and
//! limits (FREE, PRO, BUSINESS, ENTERPRISE; editable by platform administrators), an
//! organization's plan bought through a payment (the `plan` purpose; an upgrade is prorated
//! against what is left of the current period), cancelled at the end of its period, and
//! `GET /billing/me` with usage against every limit and the next invoice; the plans' limits
//! for the usage meter (`usage`). Renewals and dunning are not built.

pub mod profile;
pub mod renewals;
pub mod routes;
pub mod service;
pub mod usage;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct PlanRow {
    pub code: String,
    pub name: String,
    pub position: i64,
    pub currency: String,
    pub price_month: i64,
    pub price_year: i64,
    pub limits: String,
}

/// A plan as the API shows it; prices in minor units.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Plan {
    pub code: String,
    pub name: String,
    pub currency: String,
    pub price_month: i64,
    pub price_year: i64,
    /// `projects`, `apps`, `records`, `storage_bytes`, `api_calls_per_day`,
    /// `ai_tokens_per_month`, `exports_per_month`, `members`: a number, or null for none.
    #[schema(value_type = Object)]
    pub limits: Value,
}

impl From<PlanRow> for Plan {
    fn from(r: PlanRow) -> Self {
        Plan {
            limits: serde_json::from_str(&r.limits).unwrap_or(Value::Null),
            code: r.code,
            name: r.name,
            currency: r.currency,
            price_month: r.price_month,
            price_year: r.price_year,
        }
    }
}

impl Plan {
    pub fn price(&self, period: &str) -> i64 {
        if period == "year" { self.price_year } else { self.price_month }
    }
}

/// What `GET /billing/me` answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BillingOverview {
    pub organization_id: String,
    pub plan: Plan,
    /// `month` or `year`; `month` for FREE.
    pub period: String,
    /// `active`, `canceled` (at the end of the period) or `past_due` (the renewal is not
    /// paid yet; the plan holds until `grace_until`).
    pub status: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub current_period_end: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
    /// What the next renewal will charge, and when (none on FREE or once cancelled).
    pub next_invoice: Option<NextInvoice>,
    /// Usage against every limit (`GET /billing/me` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub usage: Vec<kernel::usage::MetricUsage>,
}

/// The renewal to come: its date and amount (prices include VAT).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NextInvoice {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub date: OffsetDateTime,
    pub amount: i64,
    pub currency: String,
    pub plan: String,
    pub period: String,
}

/// One UTC day of an organization's metered usage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsageDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub api_calls: i64,
    pub ai_tokens: i64,
    pub exports: i64,
}

/// The seconds of a period.
pub fn period_secs(period: &str) -> i64 {
    if period == "year" { 365 * 24 * 3600 } else { 30 * 24 * 3600 }
}

/// What an upgrade costs now: the new price less the unused part of what was paid for the
/// current period (never below zero), in minor units, rounded down in the buyer's favour.
pub fn prorate(paid: i64, new_price: i64, remaining_secs: i64, period_secs: i64) -> i64 {
    if period_secs <= 0 {
        return new_price.max(0);
    }
    let remaining = remaining_secs.clamp(0, period_secs);
    let credit = (i128::from(paid) * i128::from(remaining) / i128::from(period_secs)) as i64;
    (new_price - credit).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrades_are_prorated() {
        let month = period_secs("month");
        // Half a month of PRO (19.00) left, moving to BUSINESS (79.00): 79.00 - 9.50.
        assert_eq!(prorate(1900, 7900, month / 2, month), 6950);
        // Nothing left: the full price; the whole period left: the difference.
        assert_eq!(prorate(1900, 7900, 0, month), 7900);
        assert_eq!(prorate(1900, 7900, month, month), 6000);
        // Time past the end counts as none; a credit larger than the price costs nothing.
        assert_eq!(prorate(1900, 7900, -5, month), 7900);
        assert_eq!(prorate(29900, 7900, month, month), 0);
        // A third of 1000 left: 333 credited (rounded down).
        assert_eq!(prorate(1000, 1000, month / 3, month), 667);
    }
}
