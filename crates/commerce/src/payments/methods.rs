//! Saved cards on Stripe (`/api/v1/payments/methods`): an organization is a Stripe customer
//! (made on first use, kept in `billing_customers`); a card is saved through a Checkout
//! Session in `setup` mode, the first one becoming the default; cards are listed, one made
//! the default, others removed. Renewals charge the default card off-session with a
//! PaymentIntent (`charge_default`), falling back to a checkout link when it needs the buyer.

use kernel::context::RequestContext;
use kernel::principal::Principal;
use kernel::{Error, OrgRole, Result, args};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::CommerceState;
use crate::payments::Outcome;
use crate::payments::service::{find, settle};
use foundation::orgs::require_org_role;

async fn ok(state: &CommerceState, path: &str, form: Option<Vec<(&str, String)>>, key: Option<&str>) -> Result<Value> {
    let (status, body) = crate::stripe::call(state, path, form.as_deref(), key).await?;
    if status.is_success() {
        return Ok(body);
    }
    let message = body["error"]["message"].as_str().unwrap_or("refused").to_string();
    tracing::warn!(%status, %message, %path, "Stripe refused a call");
    Err(if status.is_client_error() {
        Error::Conflict(format!("Stripe refused: {message}"))
    } else {
        Error::Unavailable(format!("the payment provider failed: {message}"))
    })
}

fn require_stripe(state: &CommerceState) -> Result<()> {
    if state.stripe.enabled() {
        Ok(())
    } else {
        Err(Error::Unavailable("saved cards need Stripe (stripe.secret_key)".into()))
    }
}

/// The organization's Stripe customer, if it has one.
pub async fn customer_of(state: &CommerceState, organization_id: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = state
        .db
        .fetch_optional(
            "SELECT customer_ref FROM billing_customers WHERE organization_id = $1 AND provider = 'stripe'",
            args![organization_id],
        )
        .await?;
    Ok(row.map(|(c,)| c))
}

/// The organization's Stripe customer, made on first use (`POST /v1/customers`).
async fn ensure_customer(state: &CommerceState, principal: &Principal, organization_id: &str) -> Result<String> {
    if let Some(c) = customer_of(state, organization_id).await? {
        return Ok(c);
    }
    let email = match principal {
        Principal::User(u) => u.email.clone(),
        Principal::ApiKey(_) => String::new(),
    };
    let mut form = vec![("metadata[organization_id]", organization_id.to_string())];
    if !email.is_empty() {
        form.push(("email", email));
    }
    let created = ok(state, "/v1/customers", Some(form), Some(&format!("customer-{organization_id}"))).await?;
    let id = created["id"].as_str().ok_or_else(|| Error::Unavailable("Stripe made a customer without id".into()))?;
    state
        .db
        .execute(
            "INSERT INTO billing_customers (organization_id, provider, customer_ref, created_at) VALUES ($1, 'stripe', $2, $3)
             ON CONFLICT (organization_id, provider) DO NOTHING",
            args![organization_id, id, kernel::time::now()],
        )
        .await?;
    // Another request may have made one first: the stored one wins.
    customer_of(state, organization_id).await?.ok_or_else(|| Error::internal("the customer vanished"))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetupRequest {
    pub organization_id: String,
    pub success_url: String,
    pub cancel_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SetupStarted {
    /// Stripe's page where the buyer enters the card.
    pub checkout_url: String,
}

/// A Checkout Session in `setup` mode saving a card for the organization (OWNER or ADMIN).
pub async fn setup(state: &CommerceState, principal: &Principal, req: SetupRequest) -> Result<SetupStarted> {
    let mut v = kernel::validate::Validator::new();
    for (field, value) in [("success_url", &req.success_url), ("cancel_url", &req.cancel_url)] {
        if !kernel::validate::is_http_url(value, 2000) {
            v.add(field, "invalid_format", format!("{field} must be an absolute http(s) URL"));
        }
    }
    v.finish()?;
    require_org_role(&state.db, principal, &req.organization_id, OrgRole::Admin).await?;
    require_stripe(state)?;
    let customer = ensure_customer(state, principal, &req.organization_id).await?;
    let session = ok(
        state,
        "/v1/checkout/sessions",
        Some(vec![
            ("mode", "setup".into()),
            ("customer", customer),
            ("payment_method_types[0]", "card".into()),
            ("client_reference_id", req.organization_id.clone()),
            ("metadata[organization_id]", req.organization_id.clone()),
            ("success_url", req.success_url),
            ("cancel_url", req.cancel_url),
        ]),
        None,
    )
    .await?;
    let url = session["url"].as_str().ok_or_else(|| Error::Unavailable("Stripe made a session without url".into()))?;
    Ok(SetupStarted { checkout_url: url.to_string() })
}

/// A `checkout.session.completed` of a setup session: the card it saved becomes the
/// default when the customer has none.
pub async fn setup_completed(state: &CommerceState, session: &Value) -> Result<String> {
    let (Some(customer), Some(intent)) = (session["customer"].as_str(), session["setup_intent"].as_str()) else {
        return Ok("a setup session without customer or setup intent".into());
    };
    let known: Option<(String,)> = state
        .db
        .fetch_optional("SELECT organization_id FROM billing_customers WHERE customer_ref = $1", args![customer])
        .await?;
    if known.is_none() {
        return Ok("another customer".into());
    }
    let intent = ok(state, &format!("/v1/setup_intents/{intent}"), None, None).await?;
    let Some(method) = intent["payment_method"].as_str() else { return Ok("no payment method".into()) };
    let current = ok(state, &format!("/v1/customers/{customer}"), None, None).await?;
    if current["invoice_settings"]["default_payment_method"].is_null() {
        ok(
            state,
            &format!("/v1/customers/{customer}"),
            Some(vec![("invoice_settings[default_payment_method]", method.to_string())]),
            None,
        )
        .await?;
        return Ok("card saved as the default".into());
    }
    Ok("card saved".into())
}

#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct SavedCard {
    pub id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
    pub default: bool,
}

async fn cards_of(state: &CommerceState, customer: &str) -> Result<Vec<SavedCard>> {
    let listed =
        ok(state, &format!("/v1/customers/{customer}/payment_methods?type=card&limit=100"), None, None).await?;
    let current = ok(state, &format!("/v1/customers/{customer}"), None, None).await?;
    let default = current["invoice_settings"]["default_payment_method"].as_str().unwrap_or_default();
    Ok(listed["data"]
        .as_array()
        .map(|cards| {
            cards
                .iter()
                .filter_map(|c| {
                    let id = c["id"].as_str()?.to_string();
                    Some(SavedCard {
                        default: id == default,
                        id,
                        brand: c["card"]["brand"].as_str().unwrap_or_default().to_string(),
                        last4: c["card"]["last4"].as_str().unwrap_or_default().to_string(),
                        exp_month: c["card"]["exp_month"].as_i64().unwrap_or(0),
                        exp_year: c["card"]["exp_year"].as_i64().unwrap_or(0),
                    })
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The organization's saved cards (OWNER or ADMIN); none before the first is saved.
pub async fn list(state: &CommerceState, principal: &Principal, organization_id: &str) -> Result<Vec<SavedCard>> {
    require_org_role(&state.db, principal, organization_id, OrgRole::Admin).await?;
    require_stripe(state)?;
    match customer_of(state, organization_id).await? {
        Some(customer) => cards_of(state, &customer).await,
        None => Ok(Vec::new()),
    }
}

/// A card of this organization's customer, or 404.
async fn own_card(state: &CommerceState, principal: &Principal, organization_id: &str, id: &str) -> Result<String> {
    require_org_role(&state.db, principal, organization_id, OrgRole::Admin).await?;
    require_stripe(state)?;
    let customer = customer_of(state, organization_id).await?.ok_or_else(|| Error::not_found("card"))?;
    if !cards_of(state, &customer).await?.iter().any(|c| c.id == id) {
        return Err(Error::not_found("card"));
    }
    Ok(customer)
}

/// Make a saved card the one renewals charge (OWNER or ADMIN); audited.
pub async fn make_default(
    state: &CommerceState,
    ctx: &RequestContext,
    principal: &Principal,
    organization_id: &str,
    id: &str,
) -> Result<Vec<SavedCard>> {
    let customer = own_card(state, principal, organization_id, id).await?;
    ok(
        state,
        &format!("/v1/customers/{customer}"),
        Some(vec![("invoice_settings[default_payment_method]", id.to_string())]),
        None,
    )
    .await?;
    audit(state, ctx, principal, organization_id, "PAYMENT_METHOD_DEFAULT", id).await?;
    cards_of(state, &customer).await
}

/// Remove a saved card (OWNER or ADMIN); audited.
pub async fn remove(
    state: &CommerceState,
    ctx: &RequestContext,
    principal: &Principal,
    organization_id: &str,
    id: &str,
) -> Result<()> {
    own_card(state, principal, organization_id, id).await?;
    ok(state, &format!("/v1/payment_methods/{id}/detach"), Some(Vec::new()), None).await?;
    audit(state, ctx, principal, organization_id, "PAYMENT_METHOD_REMOVED", id).await
}

async fn audit(
    state: &CommerceState,
    ctx: &RequestContext,
    principal: &Principal,
    organization_id: &str,
    action: &'static str,
    card: &str,
) -> Result<()> {
    use foundation::audit::{AuditEntry, Severity};
    let mut tx = state.db.begin().await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(action, Severity::Medium, "payment_method").by(principal).org(organization_id).target(card),
    )
    .await?;
    tx.commit().await
}

/// Charge the organization's default card off-session for a pending payment of ours
/// (`POST /v1/payment_intents`, confirmed at once). `Ok(true)` when it was paid; `Ok(false)`
/// when the card needs the buyer (authentication, a decline): the caller falls back to a
/// checkout link.
pub async fn charge_default(state: &CommerceState, organization_id: &str, payment_id: &str) -> Result<bool> {
    if !state.stripe.enabled() {
        return Ok(false);
    }
    let Some(customer) = customer_of(state, organization_id).await? else { return Ok(false) };
    let current = ok(state, &format!("/v1/customers/{customer}"), None, None).await?;
    let Some(method) = current["invoice_settings"]["default_payment_method"].as_str().map(str::to_string) else {
        return Ok(false);
    };
    let payment = find(&state.db, payment_id).await?.ok_or_else(|| Error::not_found("payment"))?;
    let (status, intent) = crate::stripe::call(
        state,
        "/v1/payment_intents",
        Some(&[
            ("amount", payment.amount.to_string()),
            ("currency", payment.currency.to_lowercase()),
            ("customer", customer),
            ("payment_method", method),
            ("off_session", "true".into()),
            ("confirm", "true".into()),
            ("description", payment.description.clone()),
            ("metadata[payment_id]", payment.id.clone()),
        ]),
        Some(&format!("renewal-{payment_id}")),
    )
    .await?;
    // A decline answers 402 with the intent inside the error.
    let intent = if status.is_success() { intent } else { intent["error"]["payment_intent"].clone() };
    let Some(intent_id) = intent["id"].as_str() else {
        tracing::warn!(%status, "Stripe refused an off-session charge");
        return Ok(false);
    };
    let mut tx = state.db.begin().await?;
    tx.execute(
        "UPDATE payments SET provider_ref = $2, provider_capture = $2 WHERE id = $1 AND status = 'pending'",
        args![payment_id, intent_id],
    )
    .await?;
    let paid = intent["status"] == "succeeded" && intent["amount_received"].as_i64() == Some(payment.amount);
    if paid {
        settle(&mut tx, payment_id, &Outcome::Succeeded).await?;
    }
    tx.commit().await?;
    Ok(paid)
}

/// A `payment_intent.*` event of an off-session charge of ours.
pub async fn apply_intent_event(tx: &mut kernel::Tx, event: &Value) -> Result<String> {
    let intent = &event["data"]["object"];
    let Some(payment_id) = intent["metadata"]["payment_id"].as_str() else { return Ok("ignored".into()) };
    let Some(p) = find(&mut *tx, payment_id).await? else { return Ok("unknown payment".into()) };
    if p.provider != "stripe" || p.provider_ref.as_deref() != intent["id"].as_str() {
        return Ok("another payment intent".into());
    }
    let outcome = match event["type"].as_str() {
        Some("payment_intent.succeeded") if intent["amount_received"].as_i64() == Some(p.amount) => Outcome::Succeeded,
        Some("payment_intent.succeeded") => {
            Outcome::NeedsReview(format!("received {} where {} was due", intent["amount_received"], p.amount))
        }
        Some("payment_intent.payment_failed") => Outcome::Failed(
            intent["last_payment_error"]["code"].as_str().unwrap_or("the card was declined").to_string(),
        ),
        _ => return Ok("ignored".into()),
    };
    let changed = settle(tx, payment_id, &outcome).await?;
    Ok(if changed { format!("{outcome:?}") } else { "already settled".into() })
}
