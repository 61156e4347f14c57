//! CinetPay (mobile money and cards in West and Central Africa): a payment initialised with
//! `POST /v2/payment` (our payment id as `transaction_id`), the buyer sent to its
//! `payment_url`, and the outcome always read from `POST /v2/payment/check` — the
//! notification CinetPay posts to `notify_url` only tells us when to look, so a forged one
//! changes nothing.

use kernel::{Error, Result};
use serde_json::{Value, json};

use crate::CommerceState;
use crate::payments::Outcome;
use crate::payments::service::CheckoutRequest;

/// The currencies CinetPay takes.
pub const CURRENCIES: [&str; 5] = ["XOF", "XAF", "CDF", "GNF", "USD"];

/// Why CinetPay cannot take this amount (it wants whole units; francs CFA in multiples of 5).
pub fn amount_problem(amount: i64, currency: &str) -> Option<String> {
    if !CURRENCIES.contains(&currency) {
        return Some(format!("CinetPay takes {}", CURRENCIES.join(", ")));
    }
    let unit = 10i64.pow(kernel::money::exponent(currency));
    if amount % unit != 0 {
        return Some(format!("CinetPay takes whole amounts of {currency}"));
    }
    if matches!(currency, "XOF" | "XAF") && (amount / unit) % 5 != 0 {
        return Some(format!("CinetPay takes amounts of {currency} in multiples of 5"));
    }
    None
}

async fn post(state: &CommerceState, path: &str, body: &Value) -> Result<Value> {
    let response = state
        .http
        .post(format!("{}{path}", state.cinetpay.api_base()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(crate::unreachable("cinetpay"))?;
    let status = response.status();
    let answer: Value =
        response.bytes().await.ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()).unwrap_or(Value::Null);
    if status.is_server_error() || answer.is_null() {
        tracing::warn!(%status, "CinetPay answered oddly");
        return Err(Error::Unavailable("the payment provider answered oddly; try again".into()));
    }
    Ok(answer)
}

/// `POST /v2/payment`: the buyer's payment page.
pub async fn init_payment(state: &CommerceState, payment_id: &str, req: &CheckoutRequest) -> Result<String> {
    let base = state.public_url.trim_end_matches('/');
    let unit = 10i64.pow(kernel::money::exponent(&req.currency));
    let body = json!({
        "apikey": state.cinetpay.apikey,
        "site_id": state.cinetpay.site_id,
        "transaction_id": payment_id,
        "amount": req.amount / unit,
        "currency": req.currency,
        "description": req.description.trim().chars().filter(|c| c.is_alphanumeric() || *c == ' ').collect::<String>(),
        "notify_url": format!("{base}/api/v1/payments/webhooks/cinetpay"),
        "return_url": format!("{base}/api/v1/payments/cinetpay/return?payment_id={payment_id}"),
        "channels": "ALL",
        "metadata": payment_id,
    });
    let answer = post(state, "/v2/payment", &body).await?;
    match answer["data"]["payment_url"].as_str() {
        Some(url) if answer["code"] == "201" => Ok(url.to_string()),
        _ => {
            let message = answer["description"].as_str().or(answer["message"].as_str()).unwrap_or("refused");
            tracing::warn!(code = %answer["code"], %message, "CinetPay refused a payment");
            Err(Error::field("provider", "refused", format!("CinetPay refused the payment: {message}")))
        }
    }
}

/// `POST /v2/payment/check`: how the payment stands (`None` while the buyer has not paid).
pub async fn check(state: &CommerceState, payment_id: &str, amount: i64, currency: &str) -> Result<Option<Outcome>> {
    let body =
        json!({"apikey": state.cinetpay.apikey, "site_id": state.cinetpay.site_id, "transaction_id": payment_id});
    let answer = post(state, "/v2/payment/check", &body).await?;
    Ok(outcome(&answer, amount, currency))
}

/// Read a check's answer for a payment of `amount` `currency`.
pub fn outcome(answer: &Value, amount: i64, currency: &str) -> Option<Outcome> {
    let data = &answer["data"];
    let unit = 10i64.pow(kernel::money::exponent(currency));
    let paid = data["amount"].as_i64().or_else(|| data["amount"].as_str().and_then(|s| s.parse().ok()));
    match data["status"].as_str()? {
        "ACCEPTED" if data["currency"].as_str() != Some(currency) => {
            Some(Outcome::NeedsReview(format!("paid in {} where {currency} was due", data["currency"])))
        }
        "ACCEPTED" if paid.map(|p| p * unit) != Some(amount) => {
            Some(Outcome::NeedsReview(format!("paid {} where {amount} was due", data["amount"])))
        }
        "ACCEPTED" => Some(Outcome::Succeeded),
        "REFUSED" | "CANCELED" | "CANCELLED" => {
            Some(Outcome::Failed(format!("CinetPay: {}", answer["message"].as_str().unwrap_or("refused"))))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_whole_and_francs_go_by_five() {
        assert_eq!(amount_problem(5000, "XOF"), None);
        assert!(amount_problem(5002, "XOF").is_some());
        assert_eq!(amount_problem(1000, "USD"), None);
        assert!(amount_problem(1050, "USD").is_some(), "whole dollars");
        assert!(amount_problem(1000, "EUR").is_some());
    }

    #[test]
    fn checks_must_show_the_amount_asked() {
        let answer = |status: &str, amount: i64| json!({"code": "00", "message": "SUCCES", "data": {"status": status, "amount": amount, "currency": "XOF"}});
        assert_eq!(outcome(&answer("ACCEPTED", 5000), 5000, "XOF"), Some(Outcome::Succeeded));
        assert!(matches!(outcome(&answer("ACCEPTED", 100), 5000, "XOF"), Some(Outcome::NeedsReview(_))));
        assert!(matches!(outcome(&answer("REFUSED", 5000), 5000, "XOF"), Some(Outcome::Failed(_))));
        assert_eq!(outcome(&answer("WAITING_FOR_CUSTOMER_PAYMENT", 5000), 5000, "XOF"), None);
    }
}
