//! `POST /api/v1/payments/webhooks/{provider}`: Stripe's signature is checked on the raw
//! bytes, PayPal's by its verification call (a bad or stale one is a 400 that changes
//! nothing); every delivery is recorded, and each event is stored once (its first valid
//! delivery) with a job that applies it. CinetPay's notification only triggers a status
//! check with CinetPay. The job is
//! retried by the queue when applying fails, and applying is itself once per event.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use kernel::jobs::{Job, JobContext, JobError, JobFuture, JobHandler, NewJob};
use kernel::json::Json;
use kernel::{Error, Result, args};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::CommerceState;
use crate::payments::Outcome;

pub const PROCESS_JOB: &str = "commerce.webhook.process";

#[derive(Debug, Serialize, ToSchema)]
pub struct Received {
    pub received: bool,
    /// The event was delivered before: nothing more happens.
    pub duplicate: bool,
}

async fn record_delivery(
    state: &CommerceState,
    provider: &str,
    event: Option<(&str, &str)>,
    valid: bool,
    duplicate: bool,
    error: Option<String>,
) -> Result<()> {
    state
        .db
        .execute(
            "INSERT INTO payment_webhook_deliveries (id, provider, event_id, event_type, signature_valid, duplicate, error, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                kernel::ids::new_id(),
                provider,
                event.map(|e| e.0.to_string()),
                event.map(|e| e.1.to_string()),
                valid,
                duplicate,
                error,
                kernel::time::now()
            ],
        )
        .await?;
    Ok(())
}

/// Receive a provider's webhook.
#[utoipa::path(post, path = "/webhooks/{provider}", tag = "payments",
    params(("provider" = String, Path, description = "stripe, paypal or cinetpay")),
    request_body(content = Object, description = "The provider's event, as it signed it (CinetPay: its form)"),
    responses((status = 200, body = Received), (status = 400, description = "bad or stale signature, or not an event"),
      (status = 404), (status = 503, description = "the provider's webhooks are not configured, or it could not be asked")))]
pub async fn receive_webhook(
    State(state): State<CommerceState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Received>> {
    match provider.as_str() {
        "stripe" => receive_stripe(&state, &headers, &body).await,
        "paypal" => receive_paypal(&state, &headers, &body).await,
        "cinetpay" => receive_cinetpay(&state, &body).await,
        _ => Err(Error::NotFound(format!("no webhook receiver for {provider}"))),
    }
}

async fn receive_stripe(state: &CommerceState, headers: &HeaderMap, body: &[u8]) -> Result<Json<Received>> {
    let provider = "stripe";
    if state.stripe.webhook_secret.is_empty() {
        return Err(Error::Unavailable("Stripe webhooks are not configured (stripe.webhook_secret)".into()));
    }
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    let now = kernel::time::now().unix_timestamp();
    if let Err(e) = crate::stripe::verify_signature(signature, body, &state.stripe.webhook_secret, now) {
        record_delivery(state, provider, None, false, false, Some(e.to_string())).await?;
        return Err(Error::BadRequest(format!("webhook refused: {e}")));
    }
    let event = parse_event(state, provider, body).await?;
    let (Some(event_id), Some(event_type)) = (event["id"].as_str(), event["type"].as_str()) else {
        record_delivery(state, provider, None, true, false, Some("no event id or type".into())).await?;
        return Err(Error::BadRequest("webhook refused: the event has no id or type".into()));
    };
    store_event(state, provider, event_id, event_type, body).await
}

/// PayPal signs with certificates; its verification call says whether this delivery is one
/// of its own for our webhook id.
async fn receive_paypal(state: &CommerceState, headers: &HeaderMap, body: &[u8]) -> Result<Json<Received>> {
    let provider = "paypal";
    if !state.paypal.enabled() || state.paypal.webhook_id.is_empty() {
        return Err(Error::Unavailable("PayPal webhooks are not configured (paypal.webhook_id)".into()));
    }
    let event = parse_event(state, provider, body).await?;
    if !crate::paypal::verify_webhook(state, headers, &event).await? {
        record_delivery(state, provider, None, false, false, Some("PayPal did not verify the signature".into()))
            .await?;
        return Err(Error::BadRequest("webhook refused: PayPal did not verify its signature".into()));
    }
    let (Some(event_id), Some(event_type)) = (event["id"].as_str(), event["event_type"].as_str()) else {
        record_delivery(state, provider, None, true, false, Some("no event id or type".into())).await?;
        return Err(Error::BadRequest("webhook refused: the event has no id or event_type".into()));
    };
    store_event(state, provider, event_id, event_type, body).await
}

/// CinetPay's notification names a transaction; its status is read from CinetPay's check
/// call, so the notification itself is not trusted.
async fn receive_cinetpay(state: &CommerceState, body: &[u8]) -> Result<Json<Received>> {
    let provider = "cinetpay";
    if !state.cinetpay.enabled() {
        return Err(Error::Unavailable("CinetPay is not configured (cinetpay.apikey, cinetpay.site_id)".into()));
    }
    let transaction = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "cpm_trans_id")
        .map(|(_, v)| v.chars().take(100).collect::<String>())
        .or_else(|| {
            serde_json::from_slice::<Value>(body).ok().and_then(|v| v["cpm_trans_id"].as_str().map(str::to_string))
        });
    let Some(transaction) = transaction.filter(|t| !t.is_empty()) else {
        record_delivery(state, provider, None, false, false, Some("no cpm_trans_id".into())).await?;
        return Err(Error::BadRequest("webhook refused: no cpm_trans_id".into()));
    };
    let payment = crate::payments::service::find(&state.db, &transaction).await?.filter(|p| p.provider == provider);
    let Some(payment) = payment else {
        record_delivery(state, provider, Some((&transaction, "notification")), false, false, Some("unknown".into()))
            .await?;
        return Err(Error::BadRequest("webhook refused: no CinetPay payment has this transaction id".into()));
    };
    let was_pending = payment.status == "pending";
    crate::returns::check_cinetpay(state, &payment).await?;
    record_delivery(state, provider, Some((&transaction, "notification")), true, !was_pending, None).await?;
    Ok(Json(Received { received: true, duplicate: !was_pending }))
}

async fn parse_event(state: &CommerceState, provider: &str, body: &[u8]) -> Result<Value> {
    match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => {
            record_delivery(state, provider, None, true, false, Some("not a JSON event".into())).await?;
            Err(Error::BadRequest("webhook refused: the body is not a JSON event".into()))
        }
    }
}

/// Store a verified event once, with the job that applies it.
async fn store_event(
    state: &CommerceState,
    provider: &str,
    event_id: &str,
    event_type: &str,
    body: &[u8],
) -> Result<Json<Received>> {
    let mut tx = state.db.begin().await?;
    // The first delivery stores the event; a concurrent or later one finds it there.
    let stored = tx
        .execute(
            "INSERT INTO payment_webhook_events (provider, event_id, event_type, payload, received_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, event_id) DO NOTHING",
            args![provider, event_id, event_type, String::from_utf8_lossy(body).to_string(), kernel::time::now()],
        )
        .await?;
    let duplicate = stored == 0;
    if !duplicate {
        kernel::jobs::enqueue(
            &mut tx,
            NewJob::new(PROCESS_JOB, json!({"provider": provider, "event_id": event_id}))
                .idempotency_key(format!("{provider}:{event_id}")),
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO payment_webhook_deliveries (id, provider, event_id, event_type, signature_valid, duplicate, error, received_at)
         VALUES ($1, $2, $3, $4, TRUE, $5, NULL, $6)",
        args![kernel::ids::new_id(), provider, event_id, event_type, duplicate, kernel::time::now()],
    )
    .await?;
    tx.commit().await?;
    Ok(Json(Received { received: true, duplicate }))
}

/// Forget deliveries and processed events older than `days` (their effects stay: payments,
/// invoices). Returns how many rows went.
pub async fn purge(db: &kernel::Db, days: i64) -> Result<u64> {
    let before = kernel::time::now() - time::Duration::days(days.max(1));
    let deliveries = db.execute("DELETE FROM payment_webhook_deliveries WHERE received_at < $1", args![before]).await?;
    let events = db
        .execute(
            "DELETE FROM payment_webhook_events WHERE received_at < $1 AND processed_at IS NOT NULL",
            args![before],
        )
        .await?;
    Ok(deliveries + events)
}

/// Purge every hour, in the scheduler.
pub async fn purge_loop(state: CommerceState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = purge(&state.db, state.settings.webhook_retention_days).await {
            tracing::warn!(error = %e, "could not purge old webhook deliveries");
        }
    }
}

/// Apply a stored event to its payment, once.
pub struct ProcessEvent(pub CommerceState);

impl JobHandler for ProcessEvent {
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let provider = job.payload["provider"].as_str().unwrap_or_default().to_string();
            let event_id = job.payload["event_id"].as_str().unwrap_or_default().to_string();
            let mut tx = self.0.db.begin().await?;
            let row: Option<(String, Option<time::OffsetDateTime>)> = tx
                .fetch_optional(
                    "SELECT payload, processed_at FROM payment_webhook_events WHERE provider = $1 AND event_id = $2",
                    args![&provider, &event_id],
                )
                .await?;
            let Some((payload, processed_at)) = row else {
                return Err(JobError::Permanent("the event is not stored".into()));
            };
            if processed_at.is_some() {
                return Ok(Some(json!({"skipped": "already processed"})));
            }
            let event: Value = serde_json::from_str(&payload).map_err(|e| JobError::Permanent(e.to_string()))?;
            let object = &event["data"]["object"];
            let outcome = if provider == "paypal" {
                apply_paypal(&mut tx, &event).await?
            } else if event["type"].as_str().is_some_and(|t| t.starts_with("payment_intent.")) {
                crate::payments::methods::apply_intent_event(&mut tx, &event).await?
            } else if event["type"] == "checkout.session.completed" && object["mode"] == "setup" {
                // A saved card: Stripe is asked which one (outside the transaction's work).
                crate::payments::methods::setup_completed(&self.0, object).await?
            } else {
                apply_stripe(&mut tx, &provider, &event).await?
            };
            tx.execute(
                "UPDATE payment_webhook_events SET processed_at = $3, outcome = $4 WHERE provider = $1 AND event_id = $2",
                args![&provider, &event_id, kernel::time::now(), &outcome],
            )
            .await?;
            ctx.complete_in(tx, Some(json!({"outcome": outcome}))).await?;
            Ok(None)
        })
    }
}

/// A PayPal capture event settles the payment whose order it captured.
async fn apply_paypal(tx: &mut kernel::Tx, event: &Value) -> Result<String> {
    let Some((payment_id, capture)) = crate::paypal::interpret(event) else { return Ok("ignored".into()) };
    let Some(p) = crate::payments::service::find(&mut *tx, &payment_id).await? else {
        return Ok("unknown payment".into());
    };
    // The capture must be of this payment's order: a custom_id alone can be anyone's.
    if p.provider != "paypal"
        || p.provider_ref.as_deref() != capture["supplementary_data"]["related_ids"]["order_id"].as_str()
    {
        return Ok("another order".into());
    }
    let outcome = crate::paypal::capture_outcome(&capture, p.amount, &p.currency);
    if let Some(id) = capture["id"].as_str() {
        tx.execute(
            "UPDATE payments SET provider_capture = $2 WHERE id = $1 AND provider_capture IS NULL",
            args![&payment_id, id],
        )
        .await?;
    }
    let changed = crate::payments::service::settle(tx, &payment_id, &outcome).await?;
    Ok(if changed { format!("{outcome:?}") } else { "already settled".into() })
}

async fn apply_stripe(tx: &mut kernel::Tx, provider: &str, event: &Value) -> Result<String> {
    let Some((payment_id, outcome)) = crate::stripe::interpret(event) else { return Ok("ignored".into()) };
    let Some(p) = crate::payments::service::find(&mut *tx, &payment_id).await? else {
        return Ok("unknown payment".into());
    };
    if p.provider != provider {
        return Ok("another provider's payment".into());
    }
    // The session must be the one made for this payment: anyone can put a payment's id in a
    // payment link's client_reference_id.
    let object = &event["data"]["object"];
    if object["object"] != "checkout.session" || p.provider_ref.as_deref() != object["id"].as_str() {
        return Ok("another checkout session".into());
    }
    // What was paid must be what was asked.
    let paid = object["amount_total"].as_i64();
    let currency = object["currency"].as_str().map(str::to_uppercase);
    let outcome = match (&outcome, paid, currency) {
        (Outcome::Succeeded, Some(amount), _) if amount != p.amount => {
            Outcome::NeedsReview(format!("paid {amount} where {} was due", p.amount))
        }
        (Outcome::Succeeded, _, Some(c)) if c != p.currency => {
            Outcome::NeedsReview(format!("paid in {c} where {} was due", p.currency))
        }
        _ => outcome,
    };
    // The payment intent is what a refund names.
    if let Some(intent) = object["payment_intent"].as_str() {
        tx.execute(
            "UPDATE payments SET provider_capture = $2 WHERE id = $1 AND provider_capture IS NULL",
            args![&payment_id, intent],
        )
        .await?;
    }
    let changed = crate::payments::service::settle(tx, &payment_id, &outcome).await?;
    Ok(if changed { format!("{outcome:?}") } else { "already settled".into() })
}
