//! The sandbox provider: every payment flow with no external account. Its hosted checkout
//! page is served by Socle; the card number decides the outcome, as Stripe's test cards do:
//!
//! - `4242 4242 4242 4242`: paid;
//! - `4000 0000 0000 0002`: declined;
//! - `4000 0000 0000 3220`: pending, settled (paid) `commerce.sandbox_settle_secs` later.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::jobs::{Job, JobContext, JobFuture, JobHandler, NewJob};
use kernel::{Error, Result};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::CommerceState;
use crate::payments::service::settle;
use crate::payments::{Outcome, Payment};

pub const SETTLE_JOB: &str = "commerce.sandbox.settle";
pub const CARD_PAID: &str = "4242424242424242";
pub const CARD_DECLINED: &str = "4000000000000002";
pub const CARD_PENDING: &str = "4000000000003220";

fn esc(s: &str) -> String {
    kernel::mail::html_escape(s)
}

fn page(status: StatusCode, p: &Payment, message: Option<&str>) -> Response {
    let amount = esc(&kernel::templates::format_price(p.amount, &p.currency));
    let body = if p.status == "pending" {
        format!(
            "<form method=\"post\"><p><label for=\"card_number\">Card number</label><br>\
             <input id=\"card_number\" name=\"card_number\" inputmode=\"numeric\" autocomplete=\"off\" required></p>\
             <p>Test cards: 4242 4242 4242 4242 (paid), 4000 0000 0000 0002 (declined), 4000 0000 0000 3220 (pending).</p>\
             <p><button type=\"submit\" name=\"action\" value=\"pay\">Pay {amount}</button> \
             <button type=\"submit\" name=\"action\" value=\"cancel\" formnovalidate>Cancel</button></p></form>"
        )
    } else {
        format!("<p>This payment is {}.</p>", esc(&p.status))
    };
    let notice = message.map(|m| format!("<p role=\"alert\"><strong>{}</strong></p>", esc(m))).unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sandbox checkout</title></head><body>\
         <h1>Sandbox checkout</h1><p>{}</p><p><strong>{amount}</strong></p>{notice}{body}\
         <p><small>Socle's sandbox payment provider: no money moves.</small></p></body></html>",
        esc(&p.description)
    );
    let mut response = (status, html).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

/// A sandbox payment, read without a write transaction (the page is public).
async fn sandbox_payment(state: &CommerceState, id: &str) -> Result<Payment> {
    let payment = crate::payments::service::find(&state.db, id).await?;
    payment.filter(|p| p.provider == "sandbox").ok_or_else(|| Error::not_found("payment"))
}

/// The hosted checkout page of a sandbox payment.
#[utoipa::path(get, path = "/sandbox/checkout/{id}", tag = "payments",
    params(("id" = String, Path)),
    responses((status = 200, description = "the checkout page", content_type = "text/html", body = String), (status = 404)))]
pub async fn checkout_page(State(state): State<CommerceState>, Path(id): Path<String>) -> Result<Response> {
    Ok(page(StatusCode::OK, &sandbox_payment(&state, &id).await?, None))
}

/// The hosted page's form (`application/x-www-form-urlencoded`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CardForm {
    card_number: String,
    /// `pay` (default) or `cancel`.
    action: String,
}

impl CardForm {
    /// Read leniently: unknown fields are ignored, missing ones are empty.
    fn parse(headers: &axum::http::HeaderMap, body: &[u8]) -> Result<Self> {
        let form_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return Err(Error::UnsupportedMediaType(
                "the checkout page posts application/x-www-form-urlencoded".into(),
            ));
        }
        let mut form = CardForm::default();
        for (key, value) in url::form_urlencoded::parse(body) {
            match key.as_ref() {
                "card_number" => form.card_number = value.chars().take(64).collect(),
                "action" => form.action = value.chars().take(16).collect(),
                _ => {}
            }
        }
        Ok(form)
    }
}

pub(crate) fn back(url: &str, id: &str, status: &str) -> Response {
    let sep = if url.contains('?') { '&' } else { '?' };
    let location = format!("{url}{sep}payment_id={id}&status={status}");
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Pay (or cancel) on the hosted page: then back to the buyer's page.
#[utoipa::path(post, path = "/sandbox/checkout/{id}", tag = "payments",
    params(("id" = String, Path)),
    request_body(content = CardForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "back to success_url or cancel_url"),
      (status = 404), (status = 409, description = "the payment is not pending", content_type = "text/html", body = String),
      (status = 415, description = "not a form"),
      (status = 422, description = "not a test card", content_type = "text/html", body = String)))]
pub async fn submit_card(
    State(state): State<CommerceState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response> {
    let payment = sandbox_payment(&state, &id).await?;
    let form = CardForm::parse(&headers, &body)?;
    if payment.status != "pending" {
        return Ok(page(StatusCode::CONFLICT, &payment, Some("This payment is no longer open.")));
    }
    let card: String = form.card_number.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut tx = state.db.begin().await?;
    let ended = |changed: bool, url: &str, status: &str| {
        // Another submission ended it first: say so rather than send the buyer on wrongly.
        if changed {
            back(url, &id, status)
        } else {
            page(StatusCode::CONFLICT, &payment, Some("This payment is no longer open."))
        }
    };
    let response = match (form.action.as_str(), card.as_str()) {
        ("cancel", _) => ended(settle(&mut tx, &id, &Outcome::Canceled).await?, &payment.cancel_url, "canceled"),
        (_, CARD_PAID) => ended(settle(&mut tx, &id, &Outcome::Succeeded).await?, &payment.success_url, "succeeded"),
        (_, CARD_DECLINED) => {
            let changed = settle(&mut tx, &id, &Outcome::Failed("card_declined".into())).await?;
            ended(changed, &payment.cancel_url, "failed")
        }
        (_, CARD_PENDING) => {
            let at = kernel::time::now() + time::Duration::seconds(state.settings.sandbox_settle_secs.max(0));
            kernel::jobs::enqueue(
                &mut tx,
                NewJob::new(SETTLE_JOB, json!({"payment_id": id}))
                    .run_at(at)
                    .idempotency_key(format!("sandbox-settle:{id}")),
            )
            .await?;
            back(&payment.success_url, &id, "pending")
        }
        _ => {
            return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, &payment, Some("Use one of the test cards below.")));
        }
    };
    tx.commit().await?;
    Ok(response)
}

/// A pending sandbox payment settles (paid).
pub struct SettleLater(pub CommerceState);

impl JobHandler for SettleLater {
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let id = job.payload["payment_id"].as_str().unwrap_or_default().to_string();
            let mut tx = self.0.db.begin().await?;
            let changed = settle(&mut tx, &id, &Outcome::Succeeded).await?;
            ctx.complete_in(tx, Some(json!({"settled": changed}))).await?;
            Ok(None)
        })
    }
}
