//! The payment rules, over a database handle.

use kernel::context::RequestContext;
use kernel::exec::Exec;
use kernel::outbox::{NewEvent, append};
use kernel::pagination::{Page, PageRequest};
use kernel::principal::Principal;
use kernel::validate::Validator;
use kernel::{Error, OrgRole, Result, Tx, args};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{COLUMNS, Outcome, Payment};
use crate::CommerceState;
use foundation::audit::{self, AuditEntry, Severity};
use foundation::orgs::require_org_role;

/// The most one payment may be (a million in major units).
pub const MAX_AMOUNT: i64 = 99_999_999;

#[derive(Debug, Deserialize, ToSchema)]
pub struct Purpose {
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckoutRequest {
    pub organization_id: String,
    /// In minor units, 1 to 100 000 000.
    pub amount: i64,
    /// ISO 4217 (`EUR`, `USD`, `XOF`…).
    pub currency: String,
    pub description: String,
    pub purpose: Option<Purpose>,
    /// Where the buyer goes after paying (`?payment_id=…&status=…` is added).
    pub success_url: String,
    /// Where the buyer goes after giving up or a decline.
    pub cancel_url: String,
    /// `sandbox`, `stripe`, `paypal` or `cinetpay` (when configured); the first configured
    /// of Stripe, PayPal, CinetPay by default, else the sandbox.
    pub provider: Option<String>,
}

fn validate(req: &CheckoutRequest, state: &CommerceState) -> Result<String> {
    let mut v = Validator::new();
    if !(1..=MAX_AMOUNT).contains(&req.amount) {
        v.add("amount", "out_of_range", format!("amount is in minor units, from 1 to {MAX_AMOUNT}"));
    }
    if !(req.currency.len() == 3 && req.currency.bytes().all(|b| b.is_ascii_uppercase())) {
        v.add("currency", "invalid_format", "currency is an ISO 4217 code in capitals, like EUR");
    }
    v.text("description", &req.description, 500);
    for (field, value) in [("success_url", &req.success_url), ("cancel_url", &req.cancel_url)] {
        if !kernel::validate::is_http_url(value, 2000) {
            v.add(field, "invalid_format", format!("{field} must be an absolute http(s) URL"));
        }
    }
    if let Some(p) = &req.purpose {
        v.text("purpose.kind", &p.kind, 64);
        v.text("purpose.id", &p.id, 128);
    }
    let provider = req.provider.clone().or_else(|| default_provider(state)).unwrap_or_else(|| "sandbox".into());
    let configured = match provider.as_str() {
        "sandbox" => state.sandbox_enabled(),
        "stripe" => state.stripe.enabled(),
        "paypal" => state.paypal.enabled(),
        "cinetpay" => state.cinetpay.enabled(),
        _ => {
            v.add("provider", "invalid_value", "provider is sandbox, stripe, paypal or cinetpay");
            true
        }
    };
    if !configured {
        v.add("provider", "not_configured", format!("{provider} is not configured on this server"));
    }
    if provider == "cinetpay"
        && let Some(problem) = crate::cinetpay::amount_problem(req.amount, &req.currency)
    {
        v.add("amount", "not_accepted", problem);
    }
    v.finish()?;
    Ok(provider)
}

/// Start a payment: the row, pending, and where to send the buyer.
pub async fn create_checkout(
    state: &CommerceState,
    ctx: &RequestContext,
    principal: &Principal,
    req: CheckoutRequest,
) -> Result<(Payment, String)> {
    let provider = validate(&req, state)?;
    require_org_role(&state.db, principal, &req.organization_id, OrgRole::Admin).await?;
    open_checkout(state, ctx, Some(principal), provider, req).await
}

/// Open a checkout already authorized (`by` None: the platform itself, for a renewal).
pub async fn open_checkout(
    state: &CommerceState,
    ctx: &RequestContext,
    by: Option<&Principal>,
    provider: String,
    req: CheckoutRequest,
) -> Result<(Payment, String)> {
    let id = kernel::ids::new_id();
    // Stripe's session is made first: no row for a payment Stripe never heard of.
    let (provider_ref, checkout_url) = match provider.as_str() {
        "stripe" => {
            let session = crate::stripe::create_checkout_session(state, &id, &req).await?;
            (Some(session.id), session.url)
        }
        "paypal" => {
            let (order, approve) = crate::paypal::create_order(state, &id, &req).await?;
            (Some(order), approve)
        }
        "cinetpay" => (Some(id.clone()), crate::cinetpay::init_payment(state, &id, &req).await?),
        _ => (None, format!("{}/api/v1/payments/sandbox/checkout/{id}", state.public_url.trim_end_matches('/'))),
    };
    let payment = insert(state, ctx, by, &id, &provider, provider_ref, &req).await?;
    Ok((payment, checkout_url))
}

/// Record a pending payment (its provider reference known, if any).
pub async fn insert(
    state: &CommerceState,
    ctx: &RequestContext,
    by: Option<&Principal>,
    id: &str,
    provider: &str,
    provider_ref: Option<String>,
    req: &CheckoutRequest,
) -> Result<Payment> {
    let now = kernel::time::now();
    let (kind, purpose_id) = req.purpose.as_ref().map(|p| (p.kind.clone(), p.id.clone())).unzip();
    let mut tx = state.db.begin().await?;
    tx.execute(
        "INSERT INTO payments (id, organization_id, provider, provider_ref, status, amount, amount_refunded, currency,
           description, purpose_kind, purpose_id, success_url, cancel_url, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, 0, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
        args![
            id,
            &req.organization_id,
            provider,
            provider_ref,
            req.amount,
            &req.currency,
            req.description.trim(),
            kind,
            purpose_id,
            &req.success_url,
            &req.cancel_url,
            by.map_or(SYSTEM_ACTOR, Principal::actor_id),
            now
        ],
    )
    .await?;
    audit::record(
        &mut tx,
        ctx,
        by.into_iter()
            .fold(AuditEntry::new("PAYMENT_STARTED", Severity::Low, "payment"), AuditEntry::by)
            .org(&req.organization_id)
            .target(id)
            .describe(format!("checkout of {} {} with {provider}", req.amount, req.currency)),
    )
    .await?;
    let payment = find(&mut tx, id).await?.ok_or_else(|| Error::internal("the new payment vanished"))?;
    tx.commit().await?;
    Ok(payment)
}

/// Who `created_by` names when the platform opened a checkout itself (renewals).
pub const SYSTEM_ACTOR: &str = "system";

/// Which provider takes a new payment: the first configured of Stripe, PayPal and CinetPay,
/// else the sandbox.
pub fn default_provider(state: &CommerceState) -> Option<String> {
    if state.stripe.enabled() {
        Some("stripe".into())
    } else if state.paypal.enabled() {
        Some("paypal".into())
    } else if state.cinetpay.enabled() {
        Some("cinetpay".into())
    } else if state.sandbox_enabled() {
        Some("sandbox".into())
    } else {
        None
    }
}

/// The payment with this id, in the caller's transaction or on its own.
pub async fn find(ex: impl Into<Exec<'_>>, id: &str) -> Result<Option<Payment>> {
    ex.into()
        .fetch_optional(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM payments WHERE id = $1")), args![id])
        .await
}

/// One payment, for an OWNER or ADMIN of its organization (404 otherwise).
pub async fn get(state: &CommerceState, principal: &Principal, id: &str) -> Result<Payment> {
    let payment = find(&state.db, id).await?.ok_or_else(|| Error::not_found("payment"))?;
    require_org_role(&state.db, principal, &payment.organization_id, OrgRole::Admin)
        .await
        .map_err(|e| if matches!(e, Error::NotFound(_)) { Error::not_found("payment") } else { e })?;
    Ok(payment)
}

pub async fn list(
    state: &CommerceState,
    principal: &Principal,
    organization_id: &str,
    status: Option<&str>,
    page: PageRequest,
) -> Result<Page<Payment>> {
    require_org_role(&state.db, principal, organization_id, OrgRole::Admin).await?;
    let status = status.unwrap_or_default();
    let total: i64 = state
        .db
        .scalar(
            "SELECT COUNT(*) FROM payments WHERE organization_id = $1 AND ($2 = '' OR status = $2)",
            args![organization_id, status],
        )
        .await?;
    let items: Vec<Payment> = state
        .db
        .fetch_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM payments WHERE organization_id = $1 AND ($2 = '' OR status = $2)
                 ORDER BY created_at DESC, id LIMIT $3 OFFSET $4"
            )),
            args![organization_id, status, page.limit(), page.offset()],
        )
        .await?;
    Ok(Page::new(items, page, total))
}

/// A pending payment ends: its status, and the event that announces it. A payment that
/// already ended is left as it is (`false`).
pub async fn settle(tx: &mut Tx, id: &str, outcome: &Outcome) -> Result<bool> {
    let now = kernel::time::now();
    let (status, reason, paid_at) = match outcome {
        Outcome::Succeeded => ("succeeded", None, Some(now)),
        Outcome::Failed(why) => ("failed", Some(why.clone()), None),
        Outcome::Canceled => ("canceled", None, None),
        Outcome::NeedsReview(why) => ("needs_review", Some(why.clone()), Some(now)),
    };
    let changed = tx
        .execute(
            "UPDATE payments SET status = $2, failure_reason = $3, paid_at = $4, updated_at = $5
             WHERE id = $1 AND status = 'pending'",
            args![id, status, reason, paid_at, now],
        )
        .await?;
    if changed == 0 {
        return Ok(false);
    }
    let payment = find(&mut *tx, id).await?.ok_or_else(|| Error::not_found("payment"))?;
    append(
        tx,
        NewEvent::new(
            &format!("payment.{status}"),
            Some(&payment.organization_id),
            json!({
                "payment_id": payment.id, "amount": payment.amount, "currency": payment.currency,
                "provider": payment.provider, "test": payment.provider == "sandbox",
                "purpose": {"kind": payment.purpose_kind, "id": payment.purpose_id},
                "failure_reason": payment.failure_reason,
            }),
        ),
    )
    .await?;
    Ok(true)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct RefundRequest {
    /// In minor units; the rest of the payment when absent.
    pub amount: Option<i64>,
    pub reason: String,
}

/// Refund a succeeded payment, in full or in part (several partial refunds add up).
pub async fn refund(
    state: &CommerceState,
    ctx: &RequestContext,
    principal: &Principal,
    id: &str,
    req: RefundRequest,
) -> Result<Payment> {
    let mut v = Validator::new();
    v.max_len("reason", &req.reason, 500);
    v.finish()?;
    let payment = get(state, principal, id).await?;
    refund_found(state, ctx, Some(principal), payment, req).await
}

/// Whether `provider`'s payments are refunded through its API (the others, by hand in its
/// back office).
pub(crate) fn refunds_through_api(provider: &str) -> bool {
    matches!(provider, "sandbox" | "paypal" | "stripe")
}

/// Refund `payment`, found and allowed: for `by`, or for the platform itself (`None`).
pub(crate) async fn refund_found(
    state: &CommerceState,
    ctx: &RequestContext,
    by: Option<&Principal>,
    payment: Payment,
    req: RefundRequest,
) -> Result<Payment> {
    let id = payment.id.as_str();
    if !refunds_through_api(&payment.provider) {
        return Err(Error::Conflict(format!(
            "{} takes no refunds through its API: refund it in its back office",
            payment.provider
        )));
    }
    if !matches!(payment.status.as_str(), "succeeded" | "partially_refunded") {
        return Err(Error::Conflict(format!("a {} payment cannot be refunded", payment.status)));
    }
    let left = payment.amount - payment.amount_refunded;
    let amount = req.amount.unwrap_or(left);
    if !(1..=left).contains(&amount) {
        return Err(Error::field("amount", "out_of_range", format!("the refund must be between 1 and {left}")));
    }
    let now = kernel::time::now();
    let mut tx = state.db.begin().await?;
    // Conditional on what was read: two refunds racing cannot exceed the payment.
    let changed = tx
        .execute(
            "UPDATE payments SET amount_refunded = amount_refunded + $2,
               status = CASE WHEN amount_refunded + $2 = amount THEN 'refunded' ELSE 'partially_refunded' END,
               updated_at = $3
             WHERE id = $1 AND amount_refunded = $4",
            args![id, amount, now, payment.amount_refunded],
        )
        .await?;
    if changed != 1 {
        return Err(Error::Conflict("the payment changed meanwhile; read it again".into()));
    }
    let refund_id = kernel::ids::new_id();
    tx.execute(
        "INSERT INTO payment_refunds (id, payment_id, amount, reason, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        args![&refund_id, id, amount, req.reason.trim(), by.map_or(SYSTEM_ACTOR, Principal::actor_id), now],
    )
    .await?;
    append(
        &mut tx,
        NewEvent::new(
            "payment.refunded",
            Some(&payment.organization_id),
            json!({"payment_id": id, "refund_id": refund_id, "amount": amount, "currency": payment.currency,
                "test": payment.provider == "sandbox"}),
        ),
    )
    .await?;
    audit::record(
        &mut tx,
        ctx,
        by.into_iter()
            .fold(AuditEntry::new("PAYMENT_REFUNDED", Severity::Medium, "payment"), AuditEntry::by)
            .org(&payment.organization_id)
            .target(id)
            .describe(format!("refunded {amount} {}", payment.currency)),
    )
    .await?;
    let updated = find(&mut tx, id).await?.ok_or_else(|| Error::not_found("payment"))?;
    if payment.provider != "sandbox" {
        // Last, inside the transaction: a refused refund rolls everything back, and the
        // refund id as the provider's idempotency key makes a retry of this call harmless.
        let (capture,): (Option<String>,) =
            tx.fetch_one("SELECT provider_capture FROM payments WHERE id = $1", args![id]).await?;
        let capture = capture.ok_or_else(|| {
            Error::Conflict(format!("{} has not confirmed what it captured for this payment", payment.provider))
        })?;
        if payment.provider == "paypal" {
            crate::paypal::refund_capture(state, &capture, &refund_id, amount, &payment.currency, &req.reason).await?;
        } else {
            crate::stripe::refund(state, &capture, &refund_id, amount, &req.reason).await?;
        }
    }
    if let Err(e) = tx.commit().await {
        if payment.provider != "sandbox" {
            tracing::error!(error = %e, payment = %id, refund = %refund_id, amount, "the provider refunded but the refund was not recorded");
        }
        return Err(e);
    }
    Ok(updated)
}
