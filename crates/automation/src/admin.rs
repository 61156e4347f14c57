//! `/api/v1/admin/...` for platform administrators: the job queue (queues with counts by
//! state, jobs by state, a job's attempts, retry, discard), sent and failed emails, email
//! templates, and notifications to a user, a role or everyone.

use axum::extract::{Path, State};
use foundation::authn::AdminUser;
use kernel::jobs::admin::{self as jobs, JobDetail, JobFilter, JobSummary, QueueCounts};
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery};
use kernel::templates::{self, EmailTemplate};
use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AutomationState;
use crate::notifications::sent::{self, SentNotification};
use crate::notifications::{Audience, NewNotification};

pub fn routes() -> OpenApiRouter<AutomationState> {
    OpenApiRouter::new()
        .routes(routes!(list_queues))
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(retry_job))
        .routes(routes!(discard_job))
        .routes(routes!(list_emails))
        .routes(routes!(list_templates))
        .routes(routes!(get_template, put_template, reset_template))
        .routes(routes!(preview_template))
        .routes(routes!(list_sent_notifications, send_notification))
}

/// Queues with their job counts by state.
#[utoipa::path(get, path = "/jobs/queues", tag = "admin",
    responses((status = 200, body = Vec<QueueCounts>), (status = 401), (status = 403)),
    security(("bearer" = [])))]
async fn list_queues(State(s): State<AutomationState>, _a: AdminUser) -> Result<axum::Json<Vec<QueueCounts>>> {
    Ok(axum::Json(jobs::queue_counts(&s.db).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// queued, running, failed, succeeded, dead or discarded.
    pub state: Option<String>,
    pub queue: Option<String>,
    pub kind: Option<String>,
}

/// Jobs, newest first, by state, queue or kind.
#[utoipa::path(get, path = "/jobs", tag = "admin", params(JobQuery, PageQuery),
    responses((status = 200, body = Page<JobSummary>), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn list_jobs(
    State(s): State<AutomationState>,
    _a: AdminUser,
    Query(q): Query<JobQuery>,
    Query(page): Query<PageQuery>,
) -> Result<axum::Json<Page<JobSummary>>> {
    let filter = JobFilter { state: q.state, queue: q.queue, kind: q.kind };
    Ok(axum::Json(jobs::list(&s.db, &filter, page.validate()?).await?))
}

/// One job with its payload, result and every attempt.
#[utoipa::path(get, path = "/jobs/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = JobDetail), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn get_job(
    State(s): State<AutomationState>,
    _a: AdminUser,
    Path(id): Path<String>,
) -> Result<axum::Json<JobDetail>> {
    Ok(axum::Json(jobs::get(&s.db, &id).await?))
}

/// Run a failed, dead or discarded job again.
#[utoipa::path(post, path = "/jobs/{id}/retry", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = JobDetail), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = [])))]
async fn retry_job(
    State(s): State<AutomationState>,
    _a: AdminUser,
    Path(id): Path<String>,
) -> Result<axum::Json<JobDetail>> {
    Ok(axum::Json(jobs::retry(&s.db, &id).await?))
}

/// Give up on a job that has not succeeded.
#[utoipa::path(post, path = "/jobs/{id}/discard", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = JobDetail), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = [])))]
async fn discard_job(
    State(s): State<AutomationState>,
    _a: AdminUser,
    Path(id): Path<String>,
) -> Result<axum::Json<JobDetail>> {
    Ok(axum::Json(jobs::discard(&s.db, &id).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailQuery {
    /// `sent`, `failed` (dead after every retry), `pending` (queued or retrying).
    pub status: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailView {
    pub job_id: String,
    pub to: String,
    pub subject: String,
    /// sent, pending or failed.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// Emails sent, pending and failed (every email is an `email.send` job).
#[utoipa::path(get, path = "/emails", tag = "admin", params(EmailQuery, PageQuery),
    responses((status = 200, body = Page<EmailView>), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn list_emails(
    State(s): State<AutomationState>,
    _a: AdminUser,
    Query(q): Query<EmailQuery>,
    Query(page): Query<PageQuery>,
) -> Result<axum::Json<Page<EmailView>>> {
    let page = page.validate()?;
    let state = match q.status.as_deref() {
        None => None,
        Some("sent") => Some("succeeded"),
        Some("failed") => Some("dead"),
        Some("pending") => Some("queued"),
        Some(_) => return Err(Error::field("status", "invalid", "status is sent, failed or pending")),
    };
    let filter = JobFilter { state: state.map(str::to_string), queue: None, kind: Some(kernel::mail::JOB_KIND.into()) };
    let listed = jobs::list(&s.db, &filter, page).await?;
    let mut items = Vec::new();
    for j in &listed.items {
        let payload = jobs::payload(&s.db, &j.id).await?;
        items.push(EmailView {
            job_id: j.id.clone(),
            to: payload["to"].as_str().unwrap_or_default().to_string(),
            subject: payload["subject"].as_str().unwrap_or_default().to_string(),
            status: match j.status.as_str() {
                "succeeded" => "sent",
                "dead" | "discarded" => "failed",
                _ => "pending",
            }
            .into(),
            attempts: j.attempts,
            last_error: j.last_error.clone(),
            created_at: kernel::time::rfc3339(j.created_at),
            finished_at: j.finished_at.map(kernel::time::rfc3339),
        });
    }
    Ok(axum::Json(Page {
        items,
        page: listed.page,
        per_page: listed.per_page,
        total_items: listed.total_items,
        total_pages: listed.total_pages,
    }))
}

/// Every email template (the administrators' version where there is one).
#[utoipa::path(get, path = "/email-templates", tag = "admin",
    responses((status = 200, body = Vec<EmailTemplate>), (status = 401), (status = 403)),
    security(("bearer" = [])))]
async fn list_templates(State(s): State<AutomationState>, _a: AdminUser) -> Result<axum::Json<Vec<EmailTemplate>>> {
    Ok(axum::Json(templates::list(&s.db).await?))
}

/// One email template, with its variables.
#[utoipa::path(get, path = "/email-templates/{key}", tag = "admin", params(("key" = String, Path)),
    responses((status = 200, body = EmailTemplate), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn get_template(
    State(s): State<AutomationState>,
    _a: AdminUser,
    Path(key): Path<String>,
) -> Result<axum::Json<EmailTemplate>> {
    Ok(axum::Json(templates::get(&s.db, &key).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TemplateInput {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Replace a template (checked: it must compile and render with sample values).
#[utoipa::path(put, path = "/email-templates/{key}", tag = "admin", params(("key" = String, Path)),
    request_body = TemplateInput,
    responses((status = 200, body = EmailTemplate), (status = 400), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
async fn put_template(
    State(s): State<AutomationState>,
    AdminUser(me): AdminUser,
    Path(key): Path<String>,
    Json(input): Json<TemplateInput>,
) -> Result<axum::Json<EmailTemplate>> {
    Ok(axum::Json(templates::save(&s.db, &key, &input.subject, &input.html, &input.text, &me.user_id).await?))
}

/// Restore the shipped template.
#[utoipa::path(delete, path = "/email-templates/{key}", tag = "admin", params(("key" = String, Path)),
    responses((status = 200, body = EmailTemplate), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn reset_template(
    State(s): State<AutomationState>,
    _a: AdminUser,
    Path(key): Path<String>,
) -> Result<axum::Json<EmailTemplate>> {
    Ok(axum::Json(templates::reset(&s.db, &key).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewInput {
    /// Values for the template's variables (samples when absent).
    #[schema(value_type = Option<Object>)]
    pub variables: Option<Value>,
}

/// Render a template (current version) with given or sample values.
#[utoipa::path(post, path = "/email-templates/{key}/preview", tag = "admin", params(("key" = String, Path)),
    request_body = PreviewInput,
    responses((status = 200, body = Object), (status = 400), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
async fn preview_template(
    State(s): State<AutomationState>,
    _a: AdminUser,
    Path(key): Path<String>,
    Json(input): Json<PreviewInput>,
) -> Result<axum::Json<Value>> {
    let t = templates::get(&s.db, &key).await?;
    let vars = match input.variables {
        Some(v @ Value::Object(_)) => v,
        Some(_) => return Err(Error::field("variables", "invalid", "variables is an object")),
        None => templates::default_template(&key).map(|d| templates::sample(&d)).unwrap_or(Value::Null),
    };
    let email = templates::render(&t.subject, &t.html, &t.text, "preview@example.com", &vars)?;
    Ok(axum::Json(serde_json::json!({"subject": email.subject, "html": email.html, "text": email.text})))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AdminNotification {
    #[serde(flatten)]
    pub audience: Audience,
    #[serde(flatten)]
    pub notification: NewNotification,
}

/// What administrators sent, newest first, with how many were notified (null while a
/// fan-out runs).
#[utoipa::path(get, path = "/notifications", tag = "admin", params(PageQuery),
    responses((status = 200, body = Page<SentNotification>), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn list_sent_notifications(
    State(s): State<AutomationState>,
    _a: AdminUser,
    Query(page): Query<PageQuery>,
) -> Result<axum::Json<Page<SentNotification>>> {
    Ok(axum::Json(sent::list(&s.db, page.validate()?).await?))
}

/// Notify a user, everyone with a platform role, or everyone (the answer's `sent_id` names
/// it in the list of sent notifications).
#[utoipa::path(post, path = "/notifications", tag = "admin", request_body = AdminNotification,
    responses((status = 202, body = Object), (status = 400), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
async fn send_notification(
    State(s): State<AutomationState>,
    AdminUser(me): AdminUser,
    Json(input): Json<AdminNotification>,
) -> Result<(axum::http::StatusCode, axum::Json<Value>)> {
    let out = crate::notifications::notify_audience(&s, &me, &input.audience, &input.notification).await?;
    Ok((axum::http::StatusCode::ACCEPTED, axum::Json(out)))
}
