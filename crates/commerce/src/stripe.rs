//! Stripe: Checkout Sessions created with inline `price_data` (no product to create first),
//! and the `Stripe-Signature` of its webhooks checked (`t=…,v1=…`: HMAC-SHA256 of
//! `"{t}.{raw body}"`, constant-time, five minutes of tolerance, any of several `v1`).

use hmac::{Hmac, KeyInit, Mac};
use kernel::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

use crate::CommerceState;
use crate::payments::Outcome;
use crate::payments::service::CheckoutRequest;

/// How old a signed webhook may be.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Malformed,
    Stale,
    Mismatch,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureError::Missing => "no Stripe-Signature header",
            SignatureError::Malformed => "the Stripe-Signature header is malformed",
            SignatureError::Stale => "the signature's timestamp is outside the tolerance",
            SignatureError::Mismatch => "no signature matches the body",
        })
    }
}

/// Check `header` (the `Stripe-Signature` value) against the raw `body` at `now`.
pub fn verify_signature(header: Option<&str>, body: &[u8], secret: &str, now: i64) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => signatures.push(hex::decode(sig).map_err(|_| SignatureError::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > TOLERANCE_SECS as u64 {
        return Err(SignatureError::Stale);
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| SignatureError::Mismatch)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    if signatures.iter().any(|s| kernel::ids::constant_time_eq(s, &expected)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[derive(Debug, Deserialize)]
pub struct Session {
    pub id: String,
    pub url: String,
}

fn encode(pairs: &[(&str, String)]) -> String {
    foundation::oauth::client::form_encode(&pairs.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>())
}

/// Call Stripe's API: a form `POST` (`form` given) or a `GET`, with an idempotency key when
/// given; the status and the JSON answer (Null when it was none). Only the network failing
/// is an error here: what Stripe answered is the caller's to read.
pub(crate) async fn call(
    state: &CommerceState,
    path: &str,
    form: Option<&[(&str, String)]>,
    idempotency: Option<&str>,
) -> Result<(reqwest::StatusCode, Value)> {
    let url = format!("{}{path}", state.stripe.api_base());
    let request = match form {
        Some(pairs) => {
            state.http.post(url).header("content-type", "application/x-www-form-urlencoded").body(encode(pairs))
        }
        None => state.http.get(url),
    };
    let request = match idempotency {
        Some(key) => request.header("idempotency-key", key),
        None => request,
    };
    let response = request.bearer_auth(&state.stripe.secret_key).send().await.map_err(crate::unreachable("stripe"))?;
    let status = response.status();
    let answer =
        response.bytes().await.ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()).unwrap_or(Value::Null);
    Ok((status, answer))
}

/// `POST /v1/checkout/sessions` with the amount inline; `client_reference_id` and
/// `metadata[payment_id]` name our payment, so its webhook settles it.
pub async fn create_checkout_session(
    state: &CommerceState,
    payment_id: &str,
    req: &CheckoutRequest,
) -> Result<Session> {
    let sep = |u: &str| if u.contains('?') { '&' } else { '?' };
    let success = format!("{}{}payment_id={payment_id}&status=succeeded", req.success_url, sep(&req.success_url));
    let cancel = format!("{}{}payment_id={payment_id}&status=canceled", req.cancel_url, sep(&req.cancel_url));
    let form = [
        ("mode", "payment".into()),
        ("client_reference_id", payment_id.into()),
        ("metadata[payment_id]", payment_id.into()),
        ("metadata[organization_id]", req.organization_id.clone()),
        ("line_items[0][quantity]", "1".into()),
        ("line_items[0][price_data][currency]", req.currency.to_lowercase()),
        ("line_items[0][price_data][unit_amount]", req.amount.to_string()),
        ("line_items[0][price_data][product_data][name]", req.description.trim().to_string()),
        ("success_url", success),
        ("cancel_url", cancel),
    ];
    let (status, answer) = call(state, "/v1/checkout/sessions", Some(&form), Some(payment_id)).await?;
    if !status.is_success() {
        let message = answer["error"]["message"].as_str().unwrap_or("unknown error").to_string();
        tracing::warn!(%status, %message, "Stripe refused a checkout session");
        // Stripe's 4xx are about the request (an amount under its minimum, a currency it
        // does not take): the client's to fix, not to retry.
        if status.is_client_error() {
            return Err(Error::field("provider", "refused", format!("Stripe refused the checkout: {message}")));
        }
        return Err(Error::Unavailable(format!("the payment provider refused the checkout: {message}")));
    }
    serde_json::from_value(answer).map_err(|e| Error::Unavailable(format!("the payment provider answered oddly: {e}")))
}

/// `POST /v1/refunds` of part or all of a payment intent; the refund id is the
/// idempotency key, so a retried call refunds once.
pub async fn refund(
    state: &CommerceState,
    payment_intent: &str,
    refund_id: &str,
    amount: i64,
    reason: &str,
) -> Result<()> {
    let form = [
        ("payment_intent", payment_intent.to_string()),
        ("amount", amount.to_string()),
        ("reason", "requested_by_customer".into()),
        ("metadata[refund_id]", refund_id.to_string()),
        ("metadata[reason]", reason.trim().chars().take(500).collect()),
    ];
    let (status, answer) = call(state, "/v1/refunds", Some(&form), Some(refund_id)).await?;
    if !status.is_success() || matches!(answer["status"].as_str(), Some("failed" | "canceled")) {
        let message = answer["error"]["message"].as_str().or(answer["failure_reason"].as_str()).unwrap_or("refused");
        tracing::warn!(%status, %message, "Stripe refused a refund");
        return Err(if status.is_client_error() || status.is_success() {
            Error::Conflict(format!("Stripe refused the refund: {message}"))
        } else {
            Error::Unavailable(format!("the payment provider refused the refund: {message}"))
        });
    }
    Ok(())
}

/// What a Stripe event means for a payment: its id and how it ended, or `None` when the
/// event concerns no payment of ours.
pub fn interpret(event: &Value) -> Option<(String, Outcome)> {
    let object = &event["data"]["object"];
    let payment_id = object["client_reference_id"]
        .as_str()
        .or_else(|| object["metadata"]["payment_id"].as_str())
        .filter(|s| !s.is_empty())?
        .to_string();
    let outcome = match event["type"].as_str()? {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded"
            if object["payment_status"] == "paid" =>
        {
            Outcome::Succeeded
        }
        "checkout.session.async_payment_failed" => Outcome::Failed("the payment failed at the bank".into()),
        "checkout.session.expired" => Outcome::Canceled,
        _ => return None,
    };
    Some((payment_id, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn signatures_are_checked_as_stripe_documents() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_700_000_000;
        let good = sign("whsec_x", now, body);
        let ok = |h: &str| verify_signature(Some(h), body, "whsec_x", now);
        assert_eq!(ok(&format!("t={now},v1={good}")), Ok(()));
        // Several v1 (a secret being rolled): any match.
        assert_eq!(ok(&format!("t={now},v1={},v1={good},v0=abc", "00".repeat(32))), Ok(()));
        assert_eq!(ok(&format!("t={now},v1={}", sign("whsec_other", now, body))), Err(SignatureError::Mismatch));
        assert_eq!(
            verify_signature(Some(&format!("t={now},v1={good}")), b"{\"id\":\"evt_2\"}", "whsec_x", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(ok(&format!("t={},v1={}", now - 301, sign("whsec_x", now - 301, body))), Err(SignatureError::Stale));
        assert_eq!(ok("v1=abcd"), Err(SignatureError::Malformed));
        assert_eq!(ok(&format!("t={now}")), Err(SignatureError::Malformed));
        assert_eq!(ok(&format!("t={now},v1=zz")), Err(SignatureError::Malformed));
        assert_eq!(verify_signature(None, body, "whsec_x", now), Err(SignatureError::Missing));
    }

    #[test]
    fn events_name_their_payment() {
        let done = serde_json::json!({"type": "checkout.session.completed",
            "data": {"object": {"client_reference_id": "p1", "payment_status": "paid"}}});
        assert_eq!(interpret(&done), Some(("p1".into(), Outcome::Succeeded)));
        let unpaid = serde_json::json!({"type": "checkout.session.completed",
            "data": {"object": {"metadata": {"payment_id": "p1"}, "payment_status": "unpaid"}}});
        assert_eq!(interpret(&unpaid), None);
        let expired = serde_json::json!({"type": "checkout.session.expired", "data": {"object": {"metadata": {"payment_id": "p2"}}}});
        assert_eq!(interpret(&expired), Some(("p2".into(), Outcome::Canceled)));
        assert_eq!(interpret(&serde_json::json!({"type": "customer.created", "data": {"object": {}}})), None);
    }
}
