//! PayPal, Orders v2: an access token from the REST app's client credentials (kept until
//! shortly before it expires), an order created with the amount in the currency's decimals
//! and our payment id as `custom_id`, the buyer sent to its `payer-action` link, the order
//! captured when the buyer comes back, refunds of the capture, and webhooks checked by
//! PayPal's own verification call (PayPal signs with certificates; asking PayPal is the
//! documented way to verify).

use std::time::{Duration, Instant};

use kernel::{Error, Result};
use serde_json::{Value, json};

use crate::CommerceState;
use crate::payments::Outcome;
use crate::payments::service::CheckoutRequest;

/// The cached token: (token, valid until).
pub type TokenCache = tokio::sync::Mutex<Option<(String, Instant)>>;

async fn read(response: reqwest::Response) -> (reqwest::StatusCode, Value) {
    let status = response.status();
    let body =
        response.bytes().await.ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()).unwrap_or(Value::Null);
    (status, body)
}

fn refused(status: reqwest::StatusCode, body: &Value, what: &str) -> Error {
    let message = body["message"].as_str().or(body["error_description"].as_str()).unwrap_or("unknown error");
    let issue = body["details"][0]["issue"].as_str().unwrap_or_default();
    tracing::warn!(%status, %message, %issue, "PayPal refused {what}");
    if status.is_client_error() && status != reqwest::StatusCode::UNAUTHORIZED {
        Error::field("provider", "refused", format!("PayPal refused {what}: {message} {issue}").trim().to_string())
    } else {
        Error::Unavailable(format!("the payment provider refused {what}: {message}"))
    }
}

/// `POST /v1/oauth2/token` (client credentials), cached.
async fn token(state: &CommerceState) -> Result<String> {
    let mut cache = state.paypal_token.lock().await;
    if let Some((token, until)) = cache.as_ref()
        && Instant::now() < *until
    {
        return Ok(token.clone());
    }
    let config = &state.paypal;
    let response = state
        .http
        .post(format!("{}/v1/oauth2/token", config.api_base()))
        .basic_auth(&config.client_id, Some(&config.client_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .map_err(crate::unreachable("paypal"))?;
    let (status, body) = read(response).await;
    let Some(token) = body["access_token"].as_str().filter(|_| status.is_success()) else {
        tracing::warn!(%status, "PayPal refused the client credentials");
        return Err(Error::Unavailable("the payment provider refused our credentials (paypal.client_id)".into()));
    };
    // A minute early, so that a token never expires on the way.
    let lifetime = body["expires_in"].as_u64().unwrap_or(300).saturating_sub(60);
    *cache = Some((token.to_string(), Instant::now() + Duration::from_secs(lifetime)));
    Ok(token.to_string())
}

async fn call(
    state: &CommerceState,
    path: &str,
    idempotency: &str,
    body: &Value,
) -> Result<(reqwest::StatusCode, Value)> {
    let token = token(state).await?;
    let response = state
        .http
        .post(format!("{}{path}", state.paypal.api_base()))
        .bearer_auth(token)
        .header("paypal-request-id", idempotency)
        .header("prefer", "return=representation")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(crate::unreachable("paypal"))?;
    Ok(read(response).await)
}

/// Where PayPal sends the buyer back: Socle captures, then redirects to the merchant's URL.
fn return_url(state: &CommerceState, payment_id: &str, outcome: &str) -> String {
    format!("{}/api/v1/payments/paypal/{outcome}?payment_id={payment_id}", state.public_url.trim_end_matches('/'))
}

/// `POST /v2/checkout/orders`: (order id, the buyer's approval link).
pub async fn create_order(state: &CommerceState, payment_id: &str, req: &CheckoutRequest) -> Result<(String, String)> {
    let body = json!({
        "intent": "CAPTURE",
        "purchase_units": [{
            "reference_id": payment_id,
            "custom_id": payment_id,
            "description": req.description.trim().chars().take(127).collect::<String>(),
            "amount": {"currency_code": req.currency, "value": kernel::money::to_decimal(req.amount, &req.currency)}
        }],
        "payment_source": {"paypal": {"experience_context": {
            "user_action": "PAY_NOW",
            "shipping_preference": "NO_SHIPPING",
            "return_url": return_url(state, payment_id, "return"),
            "cancel_url": return_url(state, payment_id, "cancel")
        }}}
    });
    let (status, answer) = call(state, "/v2/checkout/orders", payment_id, &body).await?;
    if !status.is_success() {
        return Err(refused(status, &answer, "the order"));
    }
    let id = answer["id"].as_str().ok_or_else(|| Error::Unavailable("PayPal answered an order without id".into()))?;
    let link = answer["links"]
        .as_array()
        .and_then(|links| links.iter().find(|l| l["rel"] == "payer-action" || l["rel"] == "approve"))
        .and_then(|l| l["href"].as_str())
        .ok_or_else(|| Error::Unavailable("PayPal answered an order without an approval link".into()))?;
    Ok((id.to_string(), link.to_string()))
}

/// What a capture (or a captured order) says: the capture's id and the outcome for a
/// payment of `amount` `currency`.
pub fn capture_outcome(capture: &Value, amount: i64, currency: &str) -> Outcome {
    let paid = capture["amount"]["value"].as_str().and_then(|v| kernel::money::from_decimal(v, currency));
    let paid_currency = capture["amount"]["currency_code"].as_str().unwrap_or_default();
    match capture["status"].as_str() {
        Some("COMPLETED") if paid_currency != currency => {
            Outcome::NeedsReview(format!("paid in {paid_currency} where {currency} was due"))
        }
        Some("COMPLETED") if paid != Some(amount) => {
            Outcome::NeedsReview(format!("paid {:?} where {amount} was due", capture["amount"]["value"]))
        }
        Some("COMPLETED") => Outcome::Succeeded,
        Some("DECLINED") | Some("FAILED") => Outcome::Failed("PayPal declined the payment".into()),
        _ => Outcome::NeedsReview(format!("PayPal's capture is {}", capture["status"])),
    }
}

/// `POST /v2/checkout/orders/{id}/capture`: the capture id and the outcome.
pub async fn capture_order(
    state: &CommerceState,
    order_id: &str,
    amount: i64,
    currency: &str,
) -> Result<(Option<String>, Outcome)> {
    let path = format!("/v2/checkout/orders/{order_id}/capture");
    let (status, answer) = call(state, &path, &format!("capture-{order_id}"), &json!({})).await?;
    if status == reqwest::StatusCode::UNPROCESSABLE_ENTITY {
        // INSTRUMENT_DECLINED, ORDER_NOT_APPROVED…: the buyer did not pay.
        let issue = answer["details"][0]["issue"].as_str().unwrap_or("declined");
        return Ok((None, Outcome::Failed(format!("PayPal: {issue}"))));
    }
    if !status.is_success() {
        return Err(refused(status, &answer, "the capture"));
    }
    let capture = &answer["purchase_units"][0]["payments"]["captures"][0];
    Ok((capture["id"].as_str().map(str::to_string), capture_outcome(capture, amount, currency)))
}

/// `POST /v2/payments/captures/{id}/refund` for `amount`.
pub async fn refund_capture(
    state: &CommerceState,
    capture_id: &str,
    refund_id: &str,
    amount: i64,
    currency: &str,
    reason: &str,
) -> Result<()> {
    let mut body = json!({"amount": {"currency_code": currency, "value": kernel::money::to_decimal(amount, currency)}});
    if !reason.trim().is_empty() {
        body["note_to_payer"] = json!(reason.trim().chars().take(255).collect::<String>());
    }
    let (status, answer) = call(state, &format!("/v2/payments/captures/{capture_id}/refund"), refund_id, &body).await?;
    if !status.is_success() || answer["status"] == "FAILED" || answer["status"] == "CANCELLED" {
        return Err(refused(status, &answer, "the refund"));
    }
    Ok(())
}

/// `POST /v1/notifications/verify-webhook-signature` with the transmission headers and the
/// event exactly as received.
pub async fn verify_webhook(state: &CommerceState, headers: &axum::http::HeaderMap, event: &Value) -> Result<bool> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let transmission_id = header("paypal-transmission-id");
    if transmission_id.is_empty() {
        return Ok(false);
    }
    let body = json!({
        "auth_algo": header("paypal-auth-algo"),
        "cert_url": header("paypal-cert-url"),
        "transmission_id": transmission_id,
        "transmission_sig": header("paypal-transmission-sig"),
        "transmission_time": header("paypal-transmission-time"),
        "webhook_id": state.paypal.webhook_id,
        "webhook_event": event,
    });
    let (status, answer) =
        call(state, "/v1/notifications/verify-webhook-signature", &format!("verify-{transmission_id}"), &body).await?;
    if !status.is_success() {
        return Err(refused(status, &answer, "the webhook verification"));
    }
    Ok(answer["verification_status"] == "SUCCESS")
}

/// What a PayPal event means for a payment: its id (the capture's `custom_id`) and how it
/// ended, or `None`.
pub fn interpret(event: &Value) -> Option<(String, Value)> {
    let resource = &event["resource"];
    match event["event_type"].as_str()? {
        "PAYMENT.CAPTURE.COMPLETED" | "PAYMENT.CAPTURE.DENIED" => {
            let payment_id = resource["custom_id"].as_str().filter(|s| !s.is_empty())?;
            Some((payment_id.to_string(), resource.clone()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_must_pay_what_was_asked() {
        let capture = |status: &str, value: &str, currency: &str| json!({"id": "CAP1", "status": status, "amount": {"value": value, "currency_code": currency}});
        assert_eq!(capture_outcome(&capture("COMPLETED", "25.00", "EUR"), 2500, "EUR"), Outcome::Succeeded);
        assert!(matches!(capture_outcome(&capture("COMPLETED", "2.50", "EUR"), 2500, "EUR"), Outcome::NeedsReview(_)));
        assert!(matches!(capture_outcome(&capture("COMPLETED", "25.00", "USD"), 2500, "EUR"), Outcome::NeedsReview(_)));
        assert!(matches!(capture_outcome(&capture("DECLINED", "25.00", "EUR"), 2500, "EUR"), Outcome::Failed(_)));
        assert!(matches!(capture_outcome(&capture("PENDING", "25.00", "EUR"), 2500, "EUR"), Outcome::NeedsReview(_)));
    }

    #[test]
    fn capture_events_name_their_payment() {
        let event = json!({"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED",
            "resource": {"id": "CAP1", "custom_id": "p1", "status": "COMPLETED"}});
        assert_eq!(interpret(&event).map(|(id, _)| id), Some("p1".to_string()));
        assert_eq!(interpret(&json!({"event_type": "CHECKOUT.ORDER.APPROVED", "resource": {"custom_id": "p1"}})), None);
        assert_eq!(interpret(&json!({"event_type": "PAYMENT.CAPTURE.COMPLETED", "resource": {}})), None);
    }
}
