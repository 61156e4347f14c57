//! `POST /api/v1/payments/webhooks/{provider}`: the signature is checked on the raw bytes
//! (a bad or stale one is a 400 that changes nothing), every delivery is recorded, and each
//! event is stored once (its first valid delivery) with a job that applies it. The job is
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
    params(("provider" = String, Path, description = "stripe")),
    request_body(content = Object, description = "The provider's event, as it signed it"),
    responses((status = 200, body = Received), (status = 400, description = "bad or stale signature, or not an event"),
      (status = 404), (status = 503, description = "the provider's webhook secret is not configured")))]
pub async fn receive_webhook(
    State(state): State<CommerceState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Received>> {
    if provider != "stripe" {
        return Err(Error::NotFound(format!("no webhook receiver for {provider}")));
    }
    if state.stripe.webhook_secret.is_empty() {
        return Err(Error::Unavailable("Stripe webhooks are not configured (stripe.webhook_secret)".into()));
    }
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    let now = kernel::time::now().unix_timestamp();
    if let Err(e) = crate::stripe::verify_signature(signature, &body, &state.stripe.webhook_secret, now) {
        record_delivery(&state, &provider, None, false, false, Some(e.to_string())).await?;
        return Err(Error::BadRequest(format!("webhook refused: {e}")));
    }
    let event: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            record_delivery(&state, &provider, None, true, false, Some("not a JSON event".into())).await?;
            return Err(Error::BadRequest("webhook refused: the body is not a JSON event".into()));
        }
    };
    let (Some(event_id), Some(event_type)) = (event["id"].as_str(), event["type"].as_str()) else {
        record_delivery(&state, &provider, None, true, false, Some("no event id or type".into())).await?;
        return Err(Error::BadRequest("webhook refused: the event has no id or type".into()));
    };
    let mut tx = state.db.begin().await?;
    // The first delivery stores the event; a concurrent or later one finds it there.
    let stored = tx
        .execute(
            "INSERT INTO payment_webhook_events (provider, event_id, event_type, payload, received_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, event_id) DO NOTHING",
            args![&provider, event_id, event_type, String::from_utf8_lossy(&body).to_string(), kernel::time::now()],
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
        args![kernel::ids::new_id(), &provider, event_id, event_type, duplicate, kernel::time::now()],
    )
    .await?;
    tx.commit().await?;
    Ok(Json(Received { received: true, duplicate }))
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
            let outcome = match crate::stripe::interpret(&event) {
                None => "ignored".to_string(),
                Some((payment_id, outcome)) => {
                    let payment = crate::payments::service::find(&mut tx, &payment_id).await?;
                    match payment {
                        None => "unknown payment".to_string(),
                        Some(p) if p.provider != provider => "another provider's payment".to_string(),
                        // The session must be the one made for this payment: anyone can put a
                        // payment's id in a payment link's client_reference_id.
                        Some(p)
                            if event["data"]["object"]["object"] != "checkout.session"
                                || p.provider_ref.as_deref() != event["data"]["object"]["id"].as_str() =>
                        {
                            "another checkout session".to_string()
                        }
                        Some(p) => {
                            // What was paid must be what was asked.
                            let object = &event["data"]["object"];
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
                            let changed = crate::payments::service::settle(&mut tx, &payment_id, &outcome).await?;
                            if changed { format!("{outcome:?}") } else { "already settled".to_string() }
                        }
                    }
                }
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
