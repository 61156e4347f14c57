//! Outgoing webhooks: an organization subscribes a URL to event types (`record.created`,
//! `record.*`, `*`...). Each matching outbox event becomes a delivery and a job that POSTs
//! it as JSON, signed, retried with backoff, and logged (status, response code, duration);
//! any delivery can be sent again.
//!
//! Signature: `Socle-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
//! (the scheme Stripe uses). Receivers recompute it over the raw body, compare in constant
//! time and refuse timestamps older than a few minutes. `Socle-Event-Id` and
//! `Socle-Event-Type` name the event; `Socle-Delivery-Id` the attempt series.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use hmac::{Hmac, KeyInit, Mac};
use kernel::jobs::{Job, JobContext, JobError, JobFuture, JobHandler, NewJob, Registry};
use kernel::json::{Json, Query};
use kernel::outbox::{Event, Listener, ListenerFuture};
use kernel::pagination::{Page, PageQuery, PageRequest};
use kernel::principal::Principal;
use kernel::{Db, Error, OrgRole, Result, Tx, args};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AutomationState;
use crate::http::HttpError;

pub const DELIVER_JOB: &str = "webhook.deliver";
const MAX_ATTEMPTS: i64 = 8;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Subscription {
    pub id: String,
    pub organization_id: String,
    pub url: String,
    #[schema(value_type = Vec<String>)]
    pub events: sqlx::types::Json<Vec<String>>,
    pub description: String,
    pub active: bool,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// A new subscription with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSubscription {
    #[serde(flatten)]
    pub subscription: Subscription,
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Delivery {
    pub id: String,
    pub subscription_id: String,
    pub event_id: String,
    pub event_kind: String,
    /// pending, succeeded or failed.
    pub status: String,
    pub attempts: i64,
    pub response_code: Option<i64>,
    pub response_body: Option<String>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<OffsetDateTime>,
}

const SUB_COLUMNS: &str = "id, organization_id, url, events, description, active, created_by, created_at, updated_at";
const DELIVERY_COLUMNS: &str = "id, subscription_id, event_id, event_kind, status, attempts, response_code, response_body, duration_ms, error, created_at, delivered_at";

/// The signature header value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(), // HMAC accepts keys of any length
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `pattern` (`*`, `record.*`, `record.created`) covers `kind`.
pub fn matches(pattern: &str, kind: &str) -> bool {
    pattern == "*"
        || pattern == kind
        || pattern
            .strip_suffix(".*")
            .is_some_and(|prefix| kind.strip_prefix(prefix).is_some_and(|r| r.starts_with('.')))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SubscriptionInput {
    /// Required when creating.
    pub organization_id: Option<String>,
    pub url: Option<String>,
    /// Event types or patterns (`record.created`, `record.*`, `project.created`, `*`).
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub active: Option<bool>,
}

fn validate(s: &AutomationState, input: &SubscriptionInput, creating: bool) -> Result<()> {
    let mut v = kernel::validate::Validator::new();
    match &input.url {
        Some(u) => {
            if u.len() > 2000 {
                v.add("url", "too_long", "url is at most 2000 characters");
            } else if let Err(e) = s.http.check_url(u) {
                v.add("url", "invalid", e.to_string());
            }
        }
        None if creating => v.add("url", "required", "url is required"),
        None => {}
    }
    match &input.events {
        Some(events) if events.is_empty() || events.len() > 50 => {
            v.add("events", "invalid", "events lists 1 to 50 event types")
        }
        Some(events) => {
            for (i, e) in events.iter().enumerate() {
                let ok = !e.is_empty()
                    && e.len() <= 100
                    && e.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '*'))
                    && (!e.contains('*') || e == "*" || (e.ends_with(".*") && e.matches('*').count() == 1));
                if !ok {
                    v.add(&format!("events[{i}]"), "invalid", "an event type is like record.created, record.* or *");
                }
            }
        }
        None if creating => v.add("events", "required", "events is required"),
        None => {}
    }
    if let Some(d) = &input.description {
        v.max_len("description", d, 500);
    }
    v.finish()
}

async fn fetch(db: &Db, principal: &Principal, id: &str) -> Result<Subscription> {
    let sub: Subscription = db
        .fetch_optional(
            sqlx::AssertSqlSafe(format!("SELECT {SUB_COLUMNS} FROM webhook_subscriptions WHERE id = $1")),
            args![id],
        )
        .await?
        .ok_or_else(|| Error::not_found("webhook"))?;
    // Webhooks carry the organization's data out: its admins manage them.
    foundation::orgs::require_org_role(db, principal, &sub.organization_id, OrgRole::Admin).await.map_err(
        |e| match e {
            Error::NotFound(_) => Error::not_found("webhook"),
            other => other,
        },
    )?;
    Ok(sub)
}

pub async fn create(
    s: &AutomationState,
    principal: &Principal,
    input: SubscriptionInput,
) -> Result<CreatedSubscription> {
    let Some(org) = input.organization_id.clone() else {
        return Err(Error::field("organization_id", "required", "organization_id is required"));
    };
    validate(s, &input, true)?;
    foundation::orgs::require_org_role(&s.db, principal, &org, OrgRole::Admin).await?;
    let id = kernel::ids::new_id();
    let secret = format!("whsec_{}", kernel::ids::random_token(24));
    let now = kernel::time::now();
    let mut tx = s.db.begin().await?;
    tx.execute(
        "INSERT INTO webhook_subscriptions (id, organization_id, url, events, secret, description, active, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        args![
            &id,
            &org,
            input.url.unwrap_or_default(),
            json!(input.events.unwrap_or_default()),
            &secret,
            input.description.unwrap_or_default(),
            input.active.unwrap_or(true),
            principal.actor_id(),
            now
        ],
    )
    .await?;
    refresh_record_interest(&mut tx, &org).await?;
    tx.commit().await?;
    Ok(CreatedSubscription { subscription: fetch(&s.db, principal, &id).await?, secret })
}

pub async fn update(
    s: &AutomationState,
    principal: &Principal,
    id: &str,
    input: SubscriptionInput,
) -> Result<Subscription> {
    validate(s, &input, false)?;
    let before = fetch(&s.db, principal, id).await?;
    let mut tx = s.db.begin().await?;
    tx.execute(
        "UPDATE webhook_subscriptions SET url = COALESCE($2, url), events = COALESCE($3, events),
                description = COALESCE($4, description), active = COALESCE($5, active), updated_at = $6 WHERE id = $1",
        args![id, input.url, input.events.map(|e| json!(e)), input.description, input.active, kernel::time::now()],
    )
    .await?;
    refresh_record_interest(&mut tx, &before.organization_id).await?;
    tx.commit().await?;
    fetch(&s.db, principal, id).await
}

/// Delete a subscription and its delivery log.
pub async fn delete(db: &Db, principal: &Principal, id: &str) -> Result<()> {
    let sub = fetch(db, principal, id).await?;
    let mut tx = db.begin().await?;
    tx.execute("DELETE FROM webhook_deliveries WHERE subscription_id = $1", args![id]).await?;
    tx.execute("DELETE FROM webhook_subscriptions WHERE id = $1", args![id]).await?;
    refresh_record_interest(&mut tx, &sub.organization_id).await?;
    tx.commit().await
}

/// Record events of an organization's apps are appended to the outbox only while one of its
/// active webhooks subscribes to them: declare or withdraw that interest after any change
/// to its webhooks.
async fn refresh_record_interest(tx: &mut Tx, organization_id: &str) -> Result<()> {
    let scope = runtime::records::organization_events_scope(organization_id);
    kernel::outbox::lock_interest(tx, &scope).await?;
    let subscribed: Vec<(sqlx::types::Json<Vec<String>>,)> = tx
        .fetch_all(
            "SELECT events FROM webhook_subscriptions WHERE organization_id = $1 AND active = $2",
            args![organization_id, true],
        )
        .await?;
    let wanted = subscribed
        .iter()
        .flat_map(|(events,)| events.0.iter())
        .any(|pattern| runtime::records::RECORD_EVENT_KINDS.iter().any(|kind| matches(pattern, kind)));
    kernel::outbox::set_interest(tx, "webhooks", &scope, wanted).await
}

pub async fn list(db: &Db, principal: &Principal, organization_id: &str) -> Result<Vec<Subscription>> {
    foundation::orgs::require_org_role(db, principal, organization_id, OrgRole::Admin).await?;
    db.fetch_all(
        sqlx::AssertSqlSafe(format!(
            "SELECT {SUB_COLUMNS} FROM webhook_subscriptions WHERE organization_id = $1 ORDER BY created_at, id"
        )),
        args![organization_id],
    )
    .await
}

pub async fn deliveries(db: &Db, principal: &Principal, id: &str, page: PageRequest) -> Result<Page<Delivery>> {
    fetch(db, principal, id).await?;
    let total: i64 = db.scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE subscription_id = $1", args![id]).await?;
    let items: Vec<Delivery> = db
        .fetch_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM webhook_deliveries WHERE subscription_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
                DELIVERY_COLUMNS
            )),
            args![id, page.limit(), page.offset()],
        )
        .await?;
    Ok(Page::new(items, page, total))
}

/// Send a delivery again (a new series of attempts with the same body).
pub async fn redeliver(db: &Db, principal: &Principal, id: &str, delivery_id: &str) -> Result<Delivery> {
    fetch(db, principal, id).await?;
    let mut tx = db.begin().await?;
    let n = tx
        .execute(
            "UPDATE webhook_deliveries SET status = 'pending', error = NULL WHERE id = $1 AND subscription_id = $2",
            args![delivery_id, id],
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found("delivery"));
    }
    kernel::jobs::enqueue(
        &mut tx,
        NewJob::new(DELIVER_JOB, json!({"delivery_id": delivery_id})).queue("webhooks").max_attempts(MAX_ATTEMPTS),
    )
    .await?;
    tx.commit().await?;
    db.fetch_one(
        sqlx::AssertSqlSafe(format!("SELECT {} FROM webhook_deliveries WHERE id = $1", DELIVERY_COLUMNS)),
        args![delivery_id],
    )
    .await
}

/// Turns every outbox event of an organization into deliveries for its matching
/// subscriptions, in the dispatch transaction. The database handle answers "has this
/// organization any subscription?" on the fast read path, so that the common answer (no)
/// costs the dispatch transaction (the single writer, on SQLite) nothing.
pub struct WebhookFanout(pub kernel::Db);

impl Listener for WebhookFanout {
    fn name(&self) -> &'static str {
        "webhooks.fanout"
    }

    fn on_event<'a>(&'a self, event: &'a Event, tx: &'a mut Tx) -> ListenerFuture<'a> {
        Box::pin(async move {
            let Some(org) = &event.organization_id else { return Ok(()) };
            let any = tx
                .count_committed(
                    &self.0,
                    "SELECT COUNT(*) FROM webhook_subscriptions WHERE organization_id = $1 AND active = $2",
                    args![org, true],
                )
                .await?;
            if any == 0 {
                return Ok(());
            }
            let subs: Vec<(String, sqlx::types::Json<Vec<String>>)> = tx
                .fetch_all(
                    "SELECT id, events FROM webhook_subscriptions WHERE organization_id = $1 AND active = $2",
                    args![org, true],
                )
                .await?;
            for (sub_id, events) in subs {
                if !events.0.iter().any(|p| matches(p, &event.kind)) {
                    continue;
                }
                let body = json!({
                    "id": event.id,
                    "type": event.kind,
                    "created_at": kernel::time::rfc3339(event.created_at),
                    "organization_id": org,
                    "data": event.payload,
                })
                .to_string();
                let delivery_id = kernel::ids::new_id();
                tx.execute(
                    "INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_kind, body, status, attempts, created_at)
                     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6)",
                    args![&delivery_id, &sub_id, &event.id, &event.kind, body, kernel::time::now()],
                )
                .await?;
                kernel::jobs::enqueue(
                    tx,
                    NewJob::new(DELIVER_JOB, json!({"delivery_id": delivery_id}))
                        .queue("webhooks")
                        .max_attempts(MAX_ATTEMPTS)
                        .idempotency_key(format!("webhook:{sub_id}:{}", event.id)),
                )
                .await?;
            }
            Ok(())
        })
    }
}

#[derive(sqlx::FromRow)]
struct Pending {
    body: String,
    url: String,
    secret: String,
    event_id: String,
    event_kind: String,
    active: bool,
}

struct Deliver(AutomationState);

impl JobHandler for Deliver {
    fn run<'a>(&'a self, job: &'a Job, _ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let db = &self.0.db;
            let delivery_id = job.payload["delivery_id"].as_str().unwrap_or_default().to_string();
            let pending: Option<Pending> = db
                .fetch_optional(
                    "SELECT d.body, s.url, s.secret, d.event_id, d.event_kind, s.active FROM webhook_deliveries d
                     JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE d.id = $1",
                    args![&delivery_id],
                )
                .await?;
            let Some(p) = pending else { return Err(JobError::Permanent("the delivery no longer exists".into())) };
            if !p.active {
                record(db, &delivery_id, "failed", None, None, None, Some("the webhook is disabled")).await?;
                return Ok(Some(json!({"skipped": "disabled"})));
            }
            let timestamp = kernel::time::now().unix_timestamp();
            let headers = vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("socle-signature".to_string(), sign(&p.secret, timestamp, p.body.as_bytes())),
                ("socle-event-id".to_string(), p.event_id.clone()),
                ("socle-event-type".to_string(), p.event_kind.clone()),
                ("socle-delivery-id".to_string(), delivery_id.clone()),
            ];
            let last = job.attempts >= job.max_attempts;
            match self.0.http.send("POST", &p.url, &headers, Some(p.body.into_bytes()), None).await {
                Ok(r) if (200..300).contains(&r.status) => {
                    let body: String = r.body.chars().take(2000).collect();
                    record(db, &delivery_id, "succeeded", Some(r.status as i64), Some(body), Some(r.duration_ms), None)
                        .await?;
                    Ok(Some(json!({"status": r.status})))
                }
                Ok(r) => {
                    let body: String = r.body.chars().take(2000).collect();
                    let error = format!("the endpoint answered {}", r.status);
                    let status = if last { "failed" } else { "pending" };
                    record(
                        db,
                        &delivery_id,
                        status,
                        Some(r.status as i64),
                        Some(body),
                        Some(r.duration_ms),
                        Some(&error),
                    )
                    .await?;
                    Err(JobError::Retry(error))
                }
                Err(HttpError::Refused(e)) => {
                    record(db, &delivery_id, "failed", None, None, None, Some(&e)).await?;
                    Err(JobError::Permanent(e))
                }
                Err(HttpError::Failed(e)) => {
                    record(db, &delivery_id, if last { "failed" } else { "pending" }, None, None, None, Some(&e))
                        .await?;
                    Err(JobError::Retry(e))
                }
            }
        })
    }
}

async fn record(
    db: &Db,
    id: &str,
    status: &str,
    code: Option<i64>,
    body: Option<String>,
    ms: Option<i64>,
    error: Option<&str>,
) -> Result<()> {
    let delivered = (status == "succeeded").then(kernel::time::now);
    db.execute(
        "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, response_code = $3, response_body = $4,
                duration_ms = $5, error = $6, delivered_at = COALESCE($7, delivered_at) WHERE id = $1",
        args![id, status, code, body, ms, error, delivered],
    )
    .await?;
    metrics::counter!("socle_webhook_attempts_total", "outcome" => status.to_string()).increment(1);
    Ok(())
}

pub fn register_jobs(registry: &mut Registry, state: &AutomationState) {
    registry.register(DELIVER_JOB, Deliver(state.clone()));
}

pub fn routes() -> OpenApiRouter<AutomationState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver_delivery))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebhookFilter {
    pub organization_id: String,
}

/// An organization's webhooks (organization admins).
#[utoipa::path(get, path = "", tag = "automation", params(WebhookFilter),
    responses((status = 200, body = Vec<Subscription>), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_webhooks(
    State(s): State<AutomationState>,
    principal: Principal,
    Query(f): Query<WebhookFilter>,
) -> Result<axum::Json<Vec<Subscription>>> {
    Ok(axum::Json(list(&s.db, &principal, &f.organization_id).await?))
}

/// Subscribe a URL to event types; the signing secret is in this answer only.
#[utoipa::path(post, path = "", tag = "automation", request_body = SubscriptionInput,
    responses((status = 201, body = CreatedSubscription), (status = 400), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn create_webhook(
    State(s): State<AutomationState>,
    principal: Principal,
    Json(input): Json<SubscriptionInput>,
) -> Result<(StatusCode, axum::Json<CreatedSubscription>)> {
    Ok((StatusCode::CREATED, axum::Json(create(&s, &principal, input).await?)))
}

/// One webhook.
#[utoipa::path(get, path = "/{id}", tag = "automation", params(("id" = String, Path)),
    responses((status = 200, body = Subscription), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_webhook(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<Subscription>> {
    Ok(axum::Json(fetch(&s.db, &principal, &id).await?))
}

/// Change a webhook's URL, events, description or state.
#[utoipa::path(patch, path = "/{id}", tag = "automation", params(("id" = String, Path)), request_body = SubscriptionInput,
    responses((status = 200, body = Subscription), (status = 400), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn update_webhook(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(input): Json<SubscriptionInput>,
) -> Result<axum::Json<Subscription>> {
    Ok(axum::Json(update(&s, &principal, &id, input).await?))
}

/// Delete a webhook and its delivery log.
#[utoipa::path(delete, path = "/{id}", tag = "automation", params(("id" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn delete_webhook(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    delete(&s.db, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A webhook's deliveries, newest first.
#[utoipa::path(get, path = "/{id}/deliveries", tag = "automation", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Page<Delivery>), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_deliveries(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<axum::Json<Page<Delivery>>> {
    Ok(axum::Json(deliveries(&s.db, &principal, &id, page.validate()?).await?))
}

/// Send a delivery again.
#[utoipa::path(post, path = "/{id}/deliveries/{delivery_id}/redeliver", tag = "automation",
    params(("id" = String, Path), ("delivery_id" = String, Path)),
    responses((status = 202, body = Delivery), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn redeliver_delivery(
    State(s): State<AutomationState>,
    principal: Principal,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, axum::Json<Delivery>)> {
    Ok((StatusCode::ACCEPTED, axum::Json(redeliver(&s.db, &principal, &id, &delivery_id).await?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(matches("*", "record.created"));
        assert!(matches("record.*", "record.created"));
        assert!(matches("record.created", "record.created"));
        assert!(!matches("record.*", "records.created"));
        assert!(!matches("record.*", "record"));
        assert!(!matches("project.created", "record.created"));
    }

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        // Known answer computed independently: HMAC-SHA256("secret", "1700000000.{}").
        let sig = sign("secret", 1_700_000_000, b"{}");
        assert!(sig.starts_with("t=1700000000,v1="));
        assert_eq!(sig.len(), "t=1700000000,v1=".len() + 64);
    }
}
