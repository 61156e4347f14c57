//! `/api/v1/automation/workflows`, `/executions`, project secrets and incoming hooks.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery};
use kernel::principal::Principal;
use kernel::{Error, OrgRole, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::engine::{Execution, ExecutionDetail};
use super::secrets::SecretInfo;
use super::{Version, Workflow, WorkflowInput};
use crate::AutomationState;

pub fn routes() -> OpenApiRouter<AutomationState> {
    OpenApiRouter::new()
        .routes(routes!(list_workflows, create_workflow))
        .routes(routes!(get_workflow, update_workflow, delete_workflow))
        .routes(routes!(list_versions))
        .routes(routes!(execute_workflow))
        .routes(routes!(list_executions))
}

pub fn execution_routes() -> OpenApiRouter<AutomationState> {
    OpenApiRouter::new()
        .routes(routes!(get_execution))
        .routes(routes!(cancel_execution))
        .routes(routes!(retry_execution))
        .routes(routes!(rerun_execution))
}

pub fn secret_routes() -> OpenApiRouter<AutomationState> {
    OpenApiRouter::new().routes(routes!(list_secrets)).routes(routes!(put_secret, delete_secret))
}

pub fn hook_routes() -> OpenApiRouter<AutomationState> {
    OpenApiRouter::new().routes(routes!(receive_hook))
}

pub fn schema_routes() -> OpenApiRouter<AutomationState> {
    OpenApiRouter::new().routes(routes!(workflow_schema))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkflowFilter {
    pub project_id: String,
}

/// A project's workflows (members of its organization).
#[utoipa::path(get, path = "", tag = "automation", params(WorkflowFilter, PageQuery),
    responses((status = 200, body = Page<Workflow>), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_workflows(
    State(s): State<AutomationState>,
    principal: Principal,
    Query(f): Query<WorkflowFilter>,
    Query(page): Query<PageQuery>,
) -> Result<axum::Json<Page<Workflow>>> {
    Ok(axum::Json(super::list(&s.db, &principal, &f.project_id, page.validate()?).await?))
}

/// Create a workflow: a trigger and steps, checked against the published JSON Schema
/// (`/api/v1/automation/schema/workflow.json`).
#[utoipa::path(post, path = "", tag = "automation", request_body = WorkflowInput,
    responses((status = 201, body = Workflow), (status = 400), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn create_workflow(
    State(s): State<AutomationState>,
    principal: Principal,
    Json(input): Json<WorkflowInput>,
) -> Result<(StatusCode, axum::Json<Workflow>)> {
    Ok((StatusCode::CREATED, axum::Json(super::create(&s.db, &principal, input).await?)))
}

/// One workflow.
#[utoipa::path(get, path = "/{id}", tag = "automation", params(("id" = String, Path)),
    responses((status = 200, body = Workflow), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_workflow(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<Workflow>> {
    Ok(axum::Json(super::get(&s.db, &principal, &id, OrgRole::Member).await?))
}

/// Change a workflow; a new definition adds a version.
#[utoipa::path(patch, path = "/{id}", tag = "automation", params(("id" = String, Path)), request_body = WorkflowInput,
    responses((status = 200, body = Workflow), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn update_workflow(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(input): Json<WorkflowInput>,
) -> Result<axum::Json<Workflow>> {
    Ok(axum::Json(super::update(&s.db, &principal, &id, input).await?))
}

/// Delete a workflow with its versions and executions.
#[utoipa::path(delete, path = "/{id}", tag = "automation", params(("id" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn delete_workflow(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    super::delete(&s.db, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A workflow's versions, newest first.
#[utoipa::path(get, path = "/{id}/versions", tag = "automation", operation_id = "list_workflow_versions", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Version>), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_versions(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<Version>>> {
    Ok(axum::Json(super::versions(&s.db, &principal, &id).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ExecuteInput {
    /// What the steps see as `input`.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub input: Value,
}

/// Run a workflow now with `input`; the execution runs in the background.
#[utoipa::path(post, path = "/{id}/execute", tag = "automation", params(("id" = String, Path)), request_body = ExecuteInput,
    responses((status = 202, body = Execution), (status = 400), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn execute_workflow(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(id): Path<String>,
    Json(input): Json<ExecuteInput>,
) -> Result<(StatusCode, axum::Json<Execution>)> {
    Ok((StatusCode::ACCEPTED, axum::Json(super::engine::execute(&s.db, &principal, &id, input.input).await?)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExecutionFilter {
    /// queued, running, waiting, succeeded, failed or cancelled.
    pub status: Option<String>,
}

/// A workflow's executions, newest first.
#[utoipa::path(get, path = "/{id}/executions", tag = "automation", params(("id" = String, Path), ExecutionFilter, PageQuery),
    responses((status = 200, body = Page<Execution>), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_executions(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(f): Query<ExecutionFilter>,
    Query(page): Query<PageQuery>,
) -> Result<axum::Json<Page<Execution>>> {
    Ok(axum::Json(super::engine::list(&s.db, &principal, &id, f.status.as_deref(), page.validate()?).await?))
}

/// One execution with every step attempt (input, output, error, duration).
#[utoipa::path(get, path = "/{id}", tag = "automation", params(("id" = String, Path)),
    responses((status = 200, body = ExecutionDetail), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_execution(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<ExecutionDetail>> {
    Ok(axum::Json(super::engine::detail(&s.db, &principal, &id).await?))
}

/// Cancel a queued, running or waiting execution.
#[utoipa::path(post, path = "/{id}/cancel", tag = "automation", params(("id" = String, Path)),
    responses((status = 200, body = Execution), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []), ("api_key" = [])))]
async fn cancel_execution(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<Execution>> {
    Ok(axum::Json(super::engine::cancel(&s.db, &principal, &id).await?))
}

/// Resume a failed execution at its failed step (not from the start).
#[utoipa::path(post, path = "/{id}/retry", tag = "automation", params(("id" = String, Path)),
    responses((status = 202, body = Execution), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []), ("api_key" = [])))]
async fn retry_execution(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<(StatusCode, axum::Json<Execution>)> {
    Ok((StatusCode::ACCEPTED, axum::Json(super::engine::retry(&s.db, &principal, &id).await?)))
}

/// Run the workflow again from the start with this execution's trigger and input.
#[utoipa::path(post, path = "/{id}/rerun", tag = "automation", params(("id" = String, Path)),
    responses((status = 202, body = Execution), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn rerun_execution(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<(StatusCode, axum::Json<Execution>)> {
    Ok((StatusCode::ACCEPTED, axum::Json(super::engine::rerun(&s.db, &principal, &id).await?)))
}

/// A project's workflow secrets: names only (organization admins).
#[utoipa::path(get, path = "/{project_id}/secrets", tag = "automation", params(("project_id" = String, Path)),
    responses((status = 200, body = Vec<SecretInfo>), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_secrets(
    State(s): State<AutomationState>,
    principal: Principal,
    Path(project_id): Path<String>,
) -> Result<axum::Json<Vec<SecretInfo>>> {
    Ok(axum::Json(super::list_secrets(&s.db, &principal, &project_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SecretInput {
    /// Stored encrypted; never returned.
    pub value: String,
}

/// Set a secret, referred to in steps as `{{ secrets.NAME }}`.
#[utoipa::path(put, path = "/{project_id}/secrets/{name}", tag = "automation",
    params(("project_id" = String, Path), ("name" = String, Path)), request_body = SecretInput,
    responses((status = 200, body = SecretInfo), (status = 400), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn put_secret(
    State(s): State<AutomationState>,
    principal: Principal,
    Path((project_id, name)): Path<(String, String)>,
    Json(input): Json<SecretInput>,
) -> Result<axum::Json<SecretInfo>> {
    Ok(axum::Json(super::put_secret(&s, &principal, &project_id, &name, &input.value).await?))
}

/// Delete a secret.
#[utoipa::path(delete, path = "/{project_id}/secrets/{name}", tag = "automation",
    params(("project_id" = String, Path), ("name" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn delete_secret(
    State(s): State<AutomationState>,
    principal: Principal,
    Path((project_id, name)): Path<(String, String)>,
) -> Result<StatusCode> {
    super::delete_secret(&s.db, &principal, &project_id, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Call a webhook-triggered workflow (no account: the token in the path is the credential;
/// with a secret, the body must be signed with `Socle-Signature` or `X-Hub-Signature-256`).
/// A JSON object body is also the execution's `input`. A signed call starts its workflow once:
/// the same call again (a replay, or the sender's retry: the same `Socle-Event-Id`,
/// `X-GitHub-Delivery` or `webhook-id`) answers 200 with the execution it started.
#[utoipa::path(post, path = "/{token}", tag = "automation", params(("token" = String, Path)),
    request_body(content = Object, description = "Any JSON (or text) body, up to 1 MiB"),
    responses((status = 202, description = "started", body = Execution),
        (status = 200, description = "the same signed call was received before: the execution it started", body = Execution),
        (status = 400), (status = 401), (status = 404), (status = 409), (status = 413)))]
async fn receive_hook(
    State(s): State<AutomationState>,
    Path(token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<Execution>)> {
    if body.len() > super::triggers::MAX_HOOK_BODY {
        return Err(Error::PayloadTooLarge("a webhook body is at most 1 MiB".into()));
    }
    let query: Map<String, Value> = query.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    let received = super::triggers::receive_hook(&s, &token, &headers, query, &body).await?;
    let status = if received.duplicate { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((status, axum::Json(received.execution)))
}

/// The JSON Schema of a workflow definition.
#[utoipa::path(get, path = "/workflow.json", tag = "automation", responses((status = 200, body = Object)))]
async fn workflow_schema() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(axum::http::header::CONTENT_TYPE, "application/schema+json")], super::definition::SCHEMA)
}
