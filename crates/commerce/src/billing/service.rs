//! Plans and an organization's subscription.

use kernel::context::RequestContext;
use kernel::outbox::{Event, Listener, ListenerFuture, NewEvent, append};
use kernel::principal::Principal;
use kernel::validate::Validator;
use kernel::{Error, OrgRole, PlatformRole, Result, Tx, args};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{BillingOverview, NextInvoice, Plan, PlanRow, period_secs, prorate};
use crate::CommerceState;
use crate::payments::Payment;
use crate::payments::service::{CheckoutRequest, Purpose, create_checkout};
use foundation::audit::{self, AuditEntry, Severity};
use foundation::orgs::require_org_role;

pub const FREE: &str = "FREE";
const LIMIT_KEYS: [&str; 8] = [
    "projects",
    "apps",
    "records",
    "storage_bytes",
    "api_calls_per_day",
    "ai_tokens_per_month",
    "exports_per_month",
    "members",
];

pub async fn plans(db: &kernel::Db) -> Result<Vec<Plan>> {
    let rows: Vec<PlanRow> = db
        .fetch_all(
            "SELECT code, name, position, currency, price_month, price_year, limits FROM billing_plans ORDER BY position",
            vec![],
        )
        .await?;
    Ok(rows.into_iter().map(Plan::from).collect())
}

pub(crate) async fn plan(db: &kernel::Db, code: &str) -> Result<Option<Plan>> {
    Ok(plans(db).await?.into_iter().find(|p| p.code == code))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct PlanUpdate {
    pub name: Option<String>,
    pub currency: Option<String>,
    pub price_month: Option<i64>,
    pub price_year: Option<i64>,
    /// Limits to change (others keep their value); null for no limit.
    #[schema(value_type = Option<Object>)]
    pub limits: Option<serde_json::Map<String, Value>>,
}

/// Change a plan's name, prices or limits (platform administrators).
pub async fn update_plan(
    state: &CommerceState,
    ctx: &RequestContext,
    principal: &Principal,
    code: &str,
    update: PlanUpdate,
) -> Result<Plan> {
    principal.authorize(PlatformRole::Admin)?;
    let mut current = plan(&state.db, code).await?.ok_or_else(|| Error::not_found("plan"))?;
    let mut v = Validator::new();
    if let Some(name) = &update.name {
        v.text("name", name, 100);
        current.name = name.trim().to_string();
    }
    if let Some(c) = &update.currency {
        if !(c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())) {
            v.add("currency", "invalid_format", "currency is an ISO 4217 code in capitals");
        }
        current.currency = c.clone();
    }
    for (field, value, slot) in [
        ("price_month", update.price_month, &mut current.price_month),
        ("price_year", update.price_year, &mut current.price_year),
    ] {
        if let Some(price) = value {
            if !(0..=crate::payments::service::MAX_AMOUNT).contains(&price) {
                v.add(field, "out_of_range", "a price is in minor units, from 0");
            }
            *slot = price;
        }
    }
    if let Some(limits) = &update.limits {
        for (key, value) in limits {
            if !LIMIT_KEYS.contains(&key.as_str()) {
                v.add(&format!("limits.{key}"), "unknown", format!("the limits are {}", LIMIT_KEYS.join(", ")));
            } else if !(value.is_null() || value.as_i64().is_some_and(|n| n >= 0)) {
                v.add(&format!("limits.{key}"), "invalid_type", "a limit is a whole number from 0, or null for none");
            } else if let Value::Object(all) = &mut current.limits {
                all.insert(key.clone(), value.clone());
            }
        }
    }
    v.finish()?;
    let mut tx = state.db.begin().await?;
    tx.execute(
        "UPDATE billing_plans SET name = $2, currency = $3, price_month = $4, price_year = $5, limits = $6 WHERE code = $1",
        args![code, &current.name, &current.currency, current.price_month, current.price_year, current.limits.to_string()],
    )
    .await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new("PLAN_UPDATED", Severity::High, "plan").by(principal).target(code).describe("plan changed"),
    )
    .await?;
    tx.commit().await?;
    state.usage.forget_all();
    Ok(current)
}

#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    plan_code: String,
    period: String,
    status: String,
    current_period_end: Option<OffsetDateTime>,
    cancel_at_period_end: bool,
    grace_until: Option<OffsetDateTime>,
}

/// The organization's plan now (FREE when none, or once a period ended).
pub(crate) async fn current(db: &kernel::Db, organization_id: &str) -> Result<(BillingOverview, Option<i64>)> {
    let row: Option<SubscriptionRow> = db
        .fetch_optional(
            "SELECT plan_code, period, status, current_period_end, cancel_at_period_end, grace_until
             FROM billing_subscriptions WHERE organization_id = $1",
            args![organization_id],
        )
        .await?;
    let now = kernel::time::now();
    // A renewal not paid yet keeps the plan until its grace period ends.
    let live = row.filter(|r| {
        r.current_period_end.is_none_or(|end| end > now)
            || (r.status == "past_due" && r.grace_until.is_some_and(|until| until > now))
    });
    let (code, period) =
        live.as_ref().map_or((FREE.to_string(), "month".to_string()), |r| (r.plan_code.clone(), r.period.clone()));
    let plan = plan(db, &code).await?.ok_or_else(|| Error::internal("a subscription names no plan"))?;
    let remaining = live.as_ref().and_then(|r| r.current_period_end).map(|end| (end - now).whole_seconds());
    Ok((
        BillingOverview {
            organization_id: organization_id.to_string(),
            period,
            status: live.as_ref().map_or("active".into(), |r| r.status.clone()),
            current_period_end: live.as_ref().and_then(|r| r.current_period_end),
            cancel_at_period_end: live.as_ref().is_some_and(|r| r.cancel_at_period_end),
            next_invoice: live.as_ref().filter(|r| !r.cancel_at_period_end && plan.price(&r.period) > 0).and_then(
                |r| {
                    Some(NextInvoice {
                        date: r.current_period_end?,
                        amount: plan.price(&r.period),
                        currency: plan.currency.clone(),
                        plan: plan.code.clone(),
                        period: r.period.clone(),
                    })
                },
            ),
            usage: Vec::new(),
            plan,
        },
        remaining,
    ))
}

/// `GET /billing/me`: the plan, its period and limits (OWNER or ADMIN).
pub async fn overview(state: &CommerceState, principal: &Principal, organization_id: &str) -> Result<BillingOverview> {
    require_org_role(&state.db, principal, organization_id, OrgRole::Admin).await?;
    let mut overview = current(&state.db, organization_id).await?.0;
    overview.usage = state.usage.report(organization_id).await?;
    Ok(overview)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SubscribeRequest {
    pub organization_id: String,
    /// `FREE`, `PRO`, `BUSINESS`, `ENTERPRISE`.
    pub plan: String,
    /// `month` or `year`.
    pub period: String,
    pub success_url: String,
    pub cancel_url: String,
    /// The payment provider (the default one when absent).
    #[serde(default)]
    pub provider: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Subscribed {
    /// The plan now (unchanged until the payment succeeds).
    pub subscription: BillingOverview,
    /// The payment to make, when the change costs something.
    pub payment: Option<Payment>,
    pub checkout_url: Option<String>,
}

/// Move to `plan`: FREE ends the current plan at the end of its period; a paid plan is
/// bought through a checkout, less the unused part of the current period.
pub async fn subscribe(
    state: &CommerceState,
    ctx: &RequestContext,
    principal: &Principal,
    req: SubscribeRequest,
) -> Result<Subscribed> {
    let target = plan(&state.db, &req.plan).await?;
    let mut v = Validator::new();
    if target.is_none() {
        v.add("plan", "invalid_value", "plan is FREE, PRO, BUSINESS or ENTERPRISE");
    }
    if !matches!(req.period.as_str(), "month" | "year") {
        v.add("period", "invalid_value", "period is month or year");
    }
    v.finish()?;
    let Some(target) = target else { return Err(Error::not_found("plan")) };
    require_org_role(&state.db, principal, &req.organization_id, OrgRole::Admin).await?;
    let (now_on, remaining) = current(&state.db, &req.organization_id).await?;
    if target.code == FREE {
        if now_on.plan.code != FREE {
            state
                .db
                .execute(
                    "UPDATE billing_subscriptions SET cancel_at_period_end = TRUE, status = 'canceled', updated_at = $2
                     WHERE organization_id = $1",
                    args![&req.organization_id, kernel::time::now()],
                )
                .await?;
        }
        return Ok(Subscribed {
            subscription: current(&state.db, &req.organization_id).await?.0,
            payment: None,
            checkout_url: None,
        });
    }
    if now_on.plan.code == target.code && now_on.period == req.period && !now_on.cancel_at_period_end {
        return Err(Error::Conflict(format!("the organization is on {} already", target.name)));
    }
    let paid = if now_on.plan.code == FREE { 0 } else { now_on.plan.price(&now_on.period) };
    let amount = prorate(paid, target.price(&req.period), remaining.unwrap_or(0), period_secs(&now_on.period));
    if amount == 0 {
        let mut tx = state.db.begin().await?;
        activate(&mut tx, &req.organization_id, &target.code, &req.period).await?;
        audit::record(
            &mut tx,
            ctx,
            AuditEntry::new("PLAN_CHANGED", Severity::Medium, "organization")
                .by(principal)
                .org(&req.organization_id)
                .target(&req.organization_id)
                .describe(format!("moved to {} (nothing to pay)", target.name)),
        )
        .await?;
        tx.commit().await?;
        return Ok(Subscribed {
            subscription: current(&state.db, &req.organization_id).await?.0,
            payment: None,
            checkout_url: None,
        });
    }
    let checkout = CheckoutRequest {
        organization_id: req.organization_id.clone(),
        amount,
        currency: target.currency.clone(),
        description: format!("{} plan, one {}", target.name, req.period),
        purpose: Some(Purpose { kind: "plan".into(), id: format!("{}:{}", target.code, req.period) }),
        success_url: req.success_url,
        cancel_url: req.cancel_url,
        provider: req.provider,
    };
    let (payment, url) = create_checkout(state, ctx, principal, checkout).await?;
    Ok(Subscribed { subscription: now_on, payment: Some(payment), checkout_url: Some(url) })
}

/// The organization is on `code` from now, for one `period`.
async fn activate(tx: &mut Tx, organization_id: &str, code: &str, period: &str) -> Result<()> {
    let now = kernel::time::now();
    // A renewal paid late continues where the last period ended (the grace days were lent,
    // not given). So does a payment for the plan and period the organization is on and
    // keeps: a second checkout paid (two tabs, a double click) buys the next period, where
    // it used to restart the one already paid for. Anything else starts now.
    let renewed: Option<(Option<OffsetDateTime>,)> = tx
        .fetch_optional(
            "SELECT current_period_end FROM billing_subscriptions
             WHERE organization_id = $1 AND plan_code = $2 AND period = $3
               AND (status = 'past_due'
                    OR (status = 'active' AND NOT cancel_at_period_end AND current_period_end > $4))",
            args![organization_id, code, period, now],
        )
        .await?;
    let start = renewed.and_then(|(end,)| end).unwrap_or(now);
    let end = start + time::Duration::seconds(period_secs(period));
    tx.execute(
        "INSERT INTO billing_subscriptions (organization_id, plan_code, period, status, current_period_start,
           current_period_end, cancel_at_period_end, updated_at)
         VALUES ($1, $2, $3, 'active', $4, $5, FALSE, $6)
         ON CONFLICT (organization_id) DO UPDATE SET plan_code = $2, period = $3, status = 'active',
           current_period_start = $4, current_period_end = $5, cancel_at_period_end = FALSE, updated_at = $6,
           grace_until = NULL, renewal_payment_id = NULL",
        args![organization_id, code, period, start, end, now],
    )
    .await?;
    append(
        tx,
        NewEvent::new(
            "subscription.activated",
            Some(organization_id),
            json!({"organization_id": organization_id, "plan": code, "period": period, "current_period_end": kernel::time::rfc3339(end)}),
        ),
    )
    .await?;
    Ok(())
}

/// Stop renewing at the end of the period (OWNER or ADMIN).
pub async fn cancel(
    state: &CommerceState,
    ctx: &RequestContext,
    principal: &Principal,
    organization_id: &str,
) -> Result<BillingOverview> {
    require_org_role(&state.db, principal, organization_id, OrgRole::Admin).await?;
    let mut tx = state.db.begin().await?;
    let changed = tx
        .execute(
            "UPDATE billing_subscriptions SET cancel_at_period_end = TRUE, status = 'canceled', updated_at = $2
             WHERE organization_id = $1 AND cancel_at_period_end = FALSE",
            args![organization_id, kernel::time::now()],
        )
        .await?;
    if changed == 0 {
        return Err(Error::Conflict("there is no paid plan to cancel".into()));
    }
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new("PLAN_CANCELED", Severity::Medium, "organization")
            .by(principal)
            .org(organization_id)
            .target(organization_id)
            .describe("the plan ends at the end of its period"),
    )
    .await?;
    tx.commit().await?;
    Ok(current(&state.db, organization_id).await?.0)
}

/// A paid `plan` payment puts the organization on its plan.
pub struct Activation(pub kernel::Usage);

impl Listener for Activation {
    fn name(&self) -> &'static str {
        "commerce.plan_activation"
    }

    fn on_event<'a>(&'a self, event: &'a Event, tx: &'a mut Tx) -> ListenerFuture<'a> {
        Box::pin(async move {
            if event.kind != "payment.succeeded" || event.payload["purpose"]["kind"] != "plan" {
                return Ok(());
            }
            let (Some(org), Some((code, period))) = (
                event.organization_id.as_deref(),
                event.payload["purpose"]["id"].as_str().and_then(|id| id.split_once(':')),
            ) else {
                return Ok(());
            };
            activate(tx, org, code, period).await?;
            // The new plan's limits apply at once in this process (others within a refresh).
            let (usage, org) = (self.0.clone(), org.to_string());
            tx.after_commit(move || usage.forget(&org));
            Ok(())
        })
    }
}
