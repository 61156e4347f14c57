//! Where PayPal and CinetPay send the buyer back (`/api/v1/payments/{paypal,cinetpay}/...`):
//! Socle asks the provider how the payment stands — captures a PayPal order, checks a
//! CinetPay transaction — settles it, and redirects to the merchant's `success_url` or
//! `cancel_url` with `payment_id` and `status`. Nothing in these requests is trusted but the
//! payment id; the outcome always comes from the provider's API.

use axum::extract::State;
use axum::response::Response;
use kernel::json::Query;
use kernel::{Error, Result, args};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::CommerceState;
use crate::payments::service::{find, settle};
use crate::payments::{Outcome, Payment};
use crate::sandbox::back;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReturnQuery {
    pub payment_id: String,
}

async fn payment_of(state: &CommerceState, id: &str, provider: &str) -> Result<Payment> {
    find(&state.db, id).await?.filter(|p| p.provider == provider).ok_or_else(|| Error::not_found("payment"))
}

/// Where the buyer goes for an outcome.
fn redirect(payment: &Payment, outcome: Option<&Outcome>) -> Response {
    match outcome {
        Some(Outcome::Succeeded) => back(&payment.success_url, &payment.id, "succeeded"),
        Some(Outcome::NeedsReview(_)) => back(&payment.success_url, &payment.id, "needs_review"),
        Some(Outcome::Failed(_)) => back(&payment.cancel_url, &payment.id, "failed"),
        Some(Outcome::Canceled) => back(&payment.cancel_url, &payment.id, "canceled"),
        None => back(&payment.success_url, &payment.id, "pending"),
    }
}

/// Status of an already settled payment as an outcome, to redirect the same way again.
fn settled(payment: &Payment) -> Option<Outcome> {
    match payment.status.as_str() {
        "pending" => None,
        "failed" => Some(Outcome::Failed(String::new())),
        "canceled" => Some(Outcome::Canceled),
        "needs_review" => Some(Outcome::NeedsReview(String::new())),
        _ => Some(Outcome::Succeeded),
    }
}

/// Capture a pending PayPal payment's order and settle it; idempotent.
pub async fn capture_paypal(state: &CommerceState, payment: &Payment) -> Result<Option<Outcome>> {
    if payment.status != "pending" {
        return Ok(settled(payment));
    }
    let order = payment.provider_ref.as_deref().ok_or_else(|| Error::internal("a PayPal payment without order"))?;
    let (capture, outcome) = crate::paypal::capture_order(state, order, payment.amount, &payment.currency).await?;
    let mut tx = state.db.begin().await?;
    if let Some(capture) = &capture {
        tx.execute("UPDATE payments SET provider_capture = $2 WHERE id = $1", args![&payment.id, capture]).await?;
    }
    settle(&mut tx, &payment.id, &outcome).await?;
    tx.commit().await?;
    Ok(Some(outcome))
}

/// Check a pending CinetPay payment and settle it once decided; idempotent.
pub async fn check_cinetpay(state: &CommerceState, payment: &Payment) -> Result<Option<Outcome>> {
    if payment.status != "pending" {
        return Ok(settled(payment));
    }
    let outcome = crate::cinetpay::check(state, &payment.id, payment.amount, &payment.currency).await?;
    if let Some(outcome) = &outcome {
        let mut tx = state.db.begin().await?;
        settle(&mut tx, &payment.id, outcome).await?;
        tx.commit().await?;
    }
    Ok(outcome)
}

/// The buyer approved the PayPal order: capture it, then back to the merchant.
#[utoipa::path(get, path = "/paypal/return", tag = "payments", params(ReturnQuery),
    responses((status = 303, description = "to success_url, or cancel_url when PayPal declined"), (status = 404),
      (status = 422), (status = 503)))]
pub async fn paypal_return(State(state): State<CommerceState>, Query(q): Query<ReturnQuery>) -> Result<Response> {
    let payment = payment_of(&state, &q.payment_id, "paypal").await?;
    let outcome = capture_paypal(&state, &payment).await?;
    Ok(redirect(&payment, outcome.as_ref()))
}

/// The buyer gave up on PayPal's page.
#[utoipa::path(get, path = "/paypal/cancel", tag = "payments", params(ReturnQuery),
    responses((status = 303, description = "to cancel_url"), (status = 404), (status = 422)))]
pub async fn paypal_cancel(State(state): State<CommerceState>, Query(q): Query<ReturnQuery>) -> Result<Response> {
    let payment = payment_of(&state, &q.payment_id, "paypal").await?;
    if payment.status == "pending" {
        let mut tx = state.db.begin().await?;
        settle(&mut tx, &payment.id, &Outcome::Canceled).await?;
        tx.commit().await?;
        return Ok(redirect(&payment, Some(&Outcome::Canceled)));
    }
    Ok(redirect(&payment, settled(&payment).as_ref()))
}

/// Back from CinetPay's page: check, then to the merchant (`status=pending` while mobile
/// money is still being confirmed; its notification settles it later).
#[utoipa::path(get, path = "/cinetpay/return", tag = "payments", params(ReturnQuery),
    responses((status = 303, description = "to success_url or cancel_url"), (status = 404), (status = 422),
      (status = 503)))]
pub async fn cinetpay_return(State(state): State<CommerceState>, Query(q): Query<ReturnQuery>) -> Result<Response> {
    let payment = payment_of(&state, &q.payment_id, "cinetpay").await?;
    let outcome = check_cinetpay(&state, &payment).await?;
    Ok(redirect(&payment, outcome.as_ref()))
}

/// The same, for CinetPay's form POST back to `return_url`.
#[utoipa::path(post, path = "/cinetpay/return", tag = "payments", params(ReturnQuery),
    responses((status = 303, description = "to success_url or cancel_url"), (status = 404), (status = 422),
      (status = 503)))]
pub async fn cinetpay_return_post(state: State<CommerceState>, q: Query<ReturnQuery>) -> Result<Response> {
    cinetpay_return(state, q).await
}
