//! Organization-level reusable components: a name, a JSON Schema of the props it takes and
//! a default document, used inside pages as `{"type": "component", "props": {"ref": ...}}`.

pub mod props;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::principal::Principal;
use kernel::validate::Validator;
use kernel::{Db, Error, OrgRole, Result, args};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::StudioState;
use crate::audit::{self, entry};
use crate::pages::document;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Component {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub description: String,
    /// JSON Schema of the props (an object schema).
    #[schema(value_type = Object)]
    pub props_schema: sqlx::types::Json<Value>,
    /// The component's default tree.
    #[schema(value_type = Object)]
    pub document: sqlx::types::Json<Value>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ComponentInput {
    /// Required when creating.
    pub organization_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub props_schema: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub document: Option<Value>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComponentFilter {
    pub organization_id: String,
}

const COLUMNS: &str =
    "id, organization_id, name, description, props_schema, document, created_by, created_at, updated_at";

fn validate(input: &ComponentInput, creating: bool) -> Result<()> {
    let mut v = Validator::new();
    match &input.name {
        Some(n) => {
            v.text("name", n, 80);
            if !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ' ') {
                v.add("name", "invalid_format", "name is letters, digits, spaces, - and _");
            }
        }
        None if creating => v.add("name", "required", "name is required"),
        None => {}
    }
    if let Some(d) = &input.description {
        v.max_len("description", d, 2000);
    }
    if let Some(schema) = &input.props_schema
        && (schema.get("type").and_then(Value::as_str) != Some("object")
            || schema.get("properties").is_some_and(|p| !p.is_object()))
    {
        v.add(
            "props_schema",
            "invalid_schema",
            "props_schema is a JSON Schema with type \"object\" and object properties",
        );
    }
    if creating && input.document.is_none() {
        v.add("document", "required", "document is required");
    }
    v.finish()?;
    if let Some(doc) = &input.document {
        let refs = document::validate(doc, "/document").map_err(Error::Validation)?;
        if !refs.components.is_empty() {
            return Err(Error::field("document", "nested_component", "a component cannot contain other components"));
        }
    }
    Ok(())
}

pub async fn list(db: &Db, principal: &Principal, organization_id: &str) -> Result<Vec<Component>> {
    foundation::orgs::require_org_role(db, principal, organization_id, OrgRole::Member).await?;
    db.fetch_all(
        sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM studio_components WHERE organization_id = $1 ORDER BY name"
        )),
        args![organization_id],
    )
    .await
}

async fn fetch(db: &Db, principal: &Principal, id: &str) -> Result<Component> {
    let c: Component = db
        .fetch_optional(
            sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM studio_components WHERE id = $1")),
            args![id],
        )
        .await?
        .ok_or_else(|| Error::not_found("component"))?;
    foundation::orgs::require_org_role(db, principal, &c.organization_id, OrgRole::Member)
        .await
        .map_err(|_| Error::not_found("component"))?;
    Ok(c)
}

pub async fn create(db: &Db, ctx: &RequestContext, principal: &Principal, input: ComponentInput) -> Result<Component> {
    let Some(org) = input.organization_id.clone() else {
        return Err(Error::field("organization_id", "required", "organization_id is required"));
    };
    validate(&input, true)?;
    foundation::orgs::require_org_role(db, principal, &org, OrgRole::Member).await?;
    let id = kernel::ids::new_id();
    let now = kernel::time::now();
    let name = input.name.as_deref().unwrap_or_default().trim().to_string();
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO studio_components (id, organization_id, name, description, props_schema, document, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        args![
            &id,
            &org,
            &name,
            input.description.unwrap_or_default(),
            input.props_schema.unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
            input.document.unwrap_or_else(document::empty_document),
            principal.actor_id(),
            now
        ],
    )
    .await
    .map_err(|e| match e {
        Error::Conflict(_) => Error::field("name", "taken", format!("the organization already has a component named {name:?}")),
        other => other,
    })?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(audit::COMPONENT_CREATED, "component", principal, &org, &id, format!("component \"{name}\" created")),
    )
    .await?;
    tx.commit().await?;
    fetch(db, principal, &id).await
}

pub async fn update(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    id: &str,
    input: ComponentInput,
) -> Result<Component> {
    validate(&input, false)?;
    let current = fetch(db, principal, id).await?;
    let mut tx = db.begin().await?;
    tx.execute(
        "UPDATE studio_components SET name = COALESCE($2, name), description = COALESCE($3, description),
                props_schema = COALESCE($4, props_schema), document = COALESCE($5, document), updated_at = $6 WHERE id = $1",
        args![id, input.name.as_deref().map(str::trim), input.description, input.props_schema, input.document, kernel::time::now()],
    )
    .await
    .map_err(|e| match e {
        Error::Conflict(_) => Error::field("name", "taken", "the organization already has a component with that name"),
        other => other,
    })?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(audit::COMPONENT_UPDATED, "component", principal, &current.organization_id, id, "component updated"),
    )
    .await?;
    tx.commit().await?;
    fetch(db, principal, id).await
}

pub async fn delete(db: &Db, ctx: &RequestContext, principal: &Principal, id: &str) -> Result<()> {
    let current = fetch(db, principal, id).await?;
    let mut tx = db.begin().await?;
    tx.execute("DELETE FROM studio_components WHERE id = $1", args![id]).await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(
            audit::COMPONENT_DELETED,
            "component",
            principal,
            &current.organization_id,
            id,
            format!("component \"{}\" deleted", current.name),
        ),
    )
    .await?;
    tx.commit().await
}

pub fn routes() -> OpenApiRouter<StudioState> {
    OpenApiRouter::new().routes(routes!(list_components, create_component)).routes(routes!(
        get_component,
        update_component,
        delete_component
    ))
}

/// Reusable components of an organization.
#[utoipa::path(get, path = "", tag = "studio", params(ComponentFilter),
    responses((status = 200, body = Vec<Component>), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_components(
    State(s): State<StudioState>,
    principal: Principal,
    Query(f): Query<ComponentFilter>,
) -> Result<axum::Json<Vec<Component>>> {
    Ok(axum::Json(list(&s.db, &principal, &f.organization_id).await?))
}

/// Create a reusable component in an organization.
#[utoipa::path(post, path = "", tag = "studio", request_body = ComponentInput,
    responses((status = 201, body = Component), (status = 401), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn create_component(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Json(input): Json<ComponentInput>,
) -> Result<(StatusCode, axum::Json<Component>)> {
    Ok((StatusCode::CREATED, axum::Json(create(&s.db, &ctx, &principal, input).await?)))
}

/// One component.
#[utoipa::path(get, path = "/{id}", tag = "studio", params(("id" = String, Path)),
    responses((status = 200, body = Component), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_component(
    State(s): State<StudioState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<Component>> {
    Ok(axum::Json(fetch(&s.db, &principal, &id).await?))
}

/// Change a component.
#[utoipa::path(patch, path = "/{id}", tag = "studio", params(("id" = String, Path)), request_body = ComponentInput,
    responses((status = 200, body = Component), (status = 401), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn update_component(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
    Json(input): Json<ComponentInput>,
) -> Result<axum::Json<Component>> {
    Ok(axum::Json(update(&s.db, &ctx, &principal, &id, input).await?))
}

/// Delete a component.
#[utoipa::path(delete, path = "/{id}", tag = "studio", params(("id" = String, Path)),
    responses((status = 204), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn delete_component(
    State(s): State<StudioState>,
    ctx: RequestContext,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    delete(&s.db, &ctx, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
