//! Renewals and dunning, run by the scheduler process every `renewal_check_secs`:
//!
//! - a subscription cancelled at period end ends when its period does (back to FREE, email);
//! - an active one whose period ended becomes `past_due`: a renewal checkout at the plan's
//!   full price is opened with the provider and its link emailed to the buyer; its limits
//!   stay until `grace_until` (`commerce.grace_days` after the period's end);
//! - paying the renewal starts the next period where the last one ended (`activate`);
//! - a `past_due` subscription still unpaid at `grace_until` ends (back to FREE, email) and
//!   its renewal checkout is cancelled.
//!
//! Each step claims its rows with a conditional update, so a second scheduler cannot act
//! twice on one subscription.

use std::time::Duration;

use kernel::context::RequestContext;
use kernel::outbox::{NewEvent, append};
use kernel::{Result, Tx, args};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::service::plan;
use crate::CommerceState;
use crate::payments::Outcome;
use crate::payments::service::{CheckoutRequest, Purpose, SYSTEM_ACTOR, default_provider, open_checkout, settle};
use foundation::audit::{self, AuditEntry, Severity};

fn system_ctx() -> RequestContext {
    RequestContext::internal("socle-renewals")
}

/// Every `period` until the server stops; failures are logged and retried at the next pass.
pub async fn renewal_loop(state: CommerceState, period: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = run(&state, kernel::time::now()).await {
            tracing::warn!(error = %e, "the renewal pass failed; retried at the next one");
        }
    }
}

/// One pass at `now`.
pub async fn run(state: &CommerceState, now: OffsetDateTime) -> Result<()> {
    let ended: Vec<(String, String)> = state
        .db
        .fetch_all(
            "SELECT organization_id, plan_code FROM billing_subscriptions
             WHERE cancel_at_period_end = TRUE AND current_period_end <= $1",
            args![now],
        )
        .await?;
    for (org, code) in ended {
        end(state, &org, &code, "cancel_at_period_end = TRUE", "Your plan was cancelled and its period has ended.")
            .await?;
    }
    let grace = time::Duration::days(state.settings.grace_days.max(0));
    let due: Vec<(String, OffsetDateTime)> = state
        .db
        .fetch_all(
            "SELECT organization_id, current_period_end FROM billing_subscriptions
             WHERE status = 'active' AND cancel_at_period_end = FALSE AND current_period_end <= $1",
            args![now],
        )
        .await?;
    for (org, period_end) in due {
        state
            .db
            .execute(
                "UPDATE billing_subscriptions SET status = 'past_due', grace_until = $2, updated_at = $3
                 WHERE organization_id = $1 AND status = 'active' AND cancel_at_period_end = FALSE",
                args![&org, period_end + grace, now],
            )
            .await?;
    }
    // Past due without a renewal checkout yet (just claimed, or the provider failed before).
    let unbilled: Vec<(String,)> = state
        .db
        .fetch_all(
            "SELECT organization_id FROM billing_subscriptions
             WHERE status = 'past_due' AND renewal_payment_id IS NULL AND grace_until > $1",
            args![now],
        )
        .await?;
    for (org,) in unbilled {
        if let Err(e) = bill_renewal(state, &org).await {
            tracing::warn!(error = %e, organization = %org, "could not open a renewal checkout");
        }
    }
    let lapsed: Vec<(String, String)> = state
        .db
        .fetch_all(
            "SELECT organization_id, plan_code FROM billing_subscriptions WHERE status = 'past_due' AND grace_until <= $1",
            args![now],
        )
        .await?;
    for (org, code) in lapsed {
        end(state, &org, &code, "status = 'past_due'", "Its renewal was not paid before the end of the grace period.")
            .await?;
    }
    Ok(())
}

/// Open the renewal checkout of a `past_due` subscription and email its link to the buyer.
async fn bill_renewal(state: &CommerceState, org: &str) -> Result<()> {
    let row: Option<(String, String, Option<OffsetDateTime>)> = state
        .db
        .fetch_optional(
            "SELECT plan_code, period, grace_until FROM billing_subscriptions WHERE organization_id = $1",
            args![org],
        )
        .await?;
    let Some((code, period, grace_until)) = row else { return Ok(()) };
    let Some(plan) = plan(&state.db, &code).await? else { return Ok(()) };
    let Some(provider) = default_provider(state) else {
        return Err(kernel::Error::Unavailable("no payment provider is configured".into()));
    };
    let back = format!("{}/", state.public_url.trim_end_matches('/'));
    let mut request = CheckoutRequest {
        organization_id: org.to_string(),
        amount: plan.price(&period),
        currency: plan.currency.clone(),
        description: format!("{} plan, renewal ({period})", plan.name),
        purpose: Some(Purpose { kind: "plan".into(), id: format!("{code}:{period}") }),
        success_url: back.clone(),
        cancel_url: back,
        provider: Some(provider.clone()),
    };
    // A saved default card on Stripe is charged off-session first; only if that needs the
    // buyer (authentication, a decline) does a checkout link go out.
    if provider == "stripe" && crate::payments::methods::customer_of(state, org).await?.is_some() {
        let id = kernel::ids::new_id();
        crate::payments::service::insert(state, &system_ctx(), None, &id, "stripe", None, &request).await?;
        // Claimed before charging: the next pass does not charge again, and the payment's
        // success (activation) clears it.
        let claimed = state
            .db
            .execute(
                "UPDATE billing_subscriptions SET renewal_payment_id = $2
                 WHERE organization_id = $1 AND status = 'past_due' AND renewal_payment_id IS NULL",
                args![org, &id],
            )
            .await?;
        if claimed == 0 {
            return Ok(());
        }
        if crate::payments::methods::charge_default(state, org, &id).await? {
            return Ok(());
        }
        let mut tx = state.db.begin().await?;
        settle(&mut tx, &id, &Outcome::Failed("the saved card needs the buyer".into())).await?;
        tx.execute(
            "UPDATE billing_subscriptions SET renewal_payment_id = NULL WHERE organization_id = $1 AND renewal_payment_id = $2",
            args![org, &id],
        )
        .await?;
        tx.commit().await?;
        request.description = format!("{} plan, renewal ({period}): the saved card was refused", plan.name);
    }
    let (payment, url) = open_checkout(state, &system_ctx(), None, provider, request).await?;
    let mut tx = state.db.begin().await?;
    tx.execute(
        "UPDATE billing_subscriptions SET renewal_payment_id = $2 WHERE organization_id = $1 AND renewal_payment_id IS NULL",
        args![org, &payment.id],
    )
    .await?;
    if let Some(to) = buyer_email(&mut tx, org).await? {
        let vars = json!({"plan": plan.name, "amount": payment.amount, "currency": payment.currency, "url": url,
            "grace_until": grace_until.map(kernel::time::rfc3339)});
        let mail = kernel::templates::render_email(&mut tx, "plan_renewal_due", &to, &vars).await?;
        kernel::mail::enqueue(&mut tx, &mail).await?;
    }
    append(
        &mut tx,
        NewEvent::new(
            "subscription.past_due",
            Some(org),
            json!({"organization_id": org, "plan": code, "payment_id": payment.id,
                "grace_until": grace_until.map(kernel::time::rfc3339)}),
        ),
    )
    .await?;
    tx.commit().await
}

/// Put the organization back on FREE if its subscription still matches `condition`.
async fn end(state: &CommerceState, org: &str, code: &str, condition: &'static str, reason: &str) -> Result<()> {
    let mut tx = state.db.begin().await?;
    let renewal: Option<(Option<String>,)> = tx
        .fetch_optional("SELECT renewal_payment_id FROM billing_subscriptions WHERE organization_id = $1", args![org])
        .await?;
    let removed = tx
        .execute(
            sqlx::AssertSqlSafe(format!(
                "DELETE FROM billing_subscriptions WHERE organization_id = $1 AND {condition}"
            )),
            args![org],
        )
        .await?;
    if removed == 0 {
        return Ok(());
    }
    if let Some((Some(payment),)) = renewal {
        // The renewal can no longer be paid for a plan that ended.
        settle(&mut tx, &payment, &Outcome::Canceled).await?;
    }
    let name = plan(&state.db, code).await?.map_or_else(|| code.to_string(), |p| p.name);
    if let Some(to) = buyer_email(&mut tx, org).await? {
        let mail =
            kernel::templates::render_email(&mut tx, "plan_ended", &to, &json!({"plan": name, "reason": reason}))
                .await?;
        kernel::mail::enqueue(&mut tx, &mail).await?;
    }
    audit::record(
        &mut tx,
        &system_ctx(),
        AuditEntry::new("PLAN_ENDED", Severity::Medium, "organization")
            .by_email(SYSTEM_ACTOR)
            .org(org)
            .target(org)
            .describe(format!("{code} ended: {reason}")),
    )
    .await?;
    append(&mut tx, NewEvent::new("subscription.ended", Some(org), json!({"organization_id": org, "plan": code})))
        .await?;
    let (usage, org_id) = (state.usage.clone(), org.to_string());
    tx.after_commit(move || usage.forget(&org_id));
    tx.commit().await
}

/// The address of whoever bought the organization's current plan.
async fn buyer_email(tx: &mut Tx, org: &str) -> Result<Option<String>> {
    let buyer: Option<(String,)> = tx
        .fetch_optional(
            "SELECT created_by FROM payments WHERE organization_id = $1 AND purpose_kind = 'plan'
               AND status IN ('succeeded', 'partially_refunded') AND created_by <> $2
             ORDER BY paid_at DESC LIMIT 1",
            args![org, SYSTEM_ACTOR],
        )
        .await?;
    let Some((user_id,)) = buyer else { return Ok(None) };
    Ok(foundation::accounts::find_by_id(&mut *tx, &user_id).await?.map(|u| u.email))
}
