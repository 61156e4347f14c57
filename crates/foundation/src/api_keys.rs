//! API keys: machine credentials of an organization, carrying a role in it. The secret is
//! shown once at creation and stored only as a SHA-256 hash next to a visible prefix.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::principal::{CurrentUser, Principal, UserPrincipal};
use kernel::validate::Validator;
use kernel::{Db, Error, OrgRole, Result, args};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::audit::{self, AuditEntry, Severity, actions};
use crate::authn::API_KEY_PREFIX;
use crate::orgs::require_org_role;
use crate::state::FoundationState;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ApiKey {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    /// The first characters of the key, to recognize it.
    pub prefix: String,
    #[schema(value_type = OrgRole)]
    pub role: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<OffsetDateTime>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The secret. It is shown only now: store it safely.
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateApiKey {
    pub organization_id: String,
    pub name: String,
    /// Role the key acts with; at most the creator's own (default MEMBER).
    pub role: Option<OrgRole>,
    /// Optional expiry (RFC 3339, in the future).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
}

const COLUMNS: &str =
    "id, organization_id, name, prefix, role, created_by, created_at, expires_at, last_used_at, revoked_at";

pub async fn create(db: &Db, ctx: &RequestContext, me: &UserPrincipal, input: CreateApiKey) -> Result<CreatedApiKey> {
    let mut v = Validator::new();
    v.text("name", &input.name, 100);
    v.text("organization_id", &input.organization_id, 64);
    if input.expires_at.is_some_and(|t| t <= kernel::time::now()) {
        v.add("expires_at", "in_the_past", "expires_at must be in the future");
    }
    v.finish()?;
    let principal = Principal::User(me.clone());
    let my_role = require_org_role(db, &principal, &input.organization_id, OrgRole::Admin).await?;
    let role = input.role.unwrap_or(OrgRole::Member);
    if role > my_role {
        return Err(Error::Forbidden("a key cannot have a higher role than its creator".into()));
    }
    let id = kernel::ids::new_id();
    let visible = kernel::ids::random_token(6).replace(['-', '_'], "x");
    let secret = format!("{API_KEY_PREFIX}{visible}_{}", kernel::ids::random_token(32));
    let prefix = format!("{API_KEY_PREFIX}{visible}");
    let now = kernel::time::now();
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO api_keys (id, organization_id, name, prefix, key_hash, role, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![
            &id,
            &input.organization_id,
            input.name.trim(),
            &prefix,
            kernel::ids::sha256_hex(&secret),
            role.as_str(),
            &me.user_id,
            now,
            input.expires_at.map(kernel::time::truncate)
        ],
    )
    .await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::API_KEY_CREATED, Severity::Medium, "api_key")
            .by(&principal)
            .org(&input.organization_id)
            .target(&id)
            .describe(format!("API key \"{}\" created with role {}", input.name.trim(), role.as_str())),
    )
    .await?;
    let key =
        tx.fetch_one(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1")), args![&id]).await?;
    tx.commit().await?;
    Ok(CreatedApiKey { key, secret })
}

pub async fn list(db: &Db, principal: &Principal, org_id: &str) -> Result<Vec<ApiKey>> {
    require_org_role(db, principal, org_id, OrgRole::Admin).await?;
    db.fetch_all(
        sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM api_keys WHERE organization_id = $1 ORDER BY created_at DESC"
        )),
        args![org_id],
    )
    .await
}

pub async fn revoke(db: &Db, ctx: &RequestContext, principal: &Principal, id: &str) -> Result<()> {
    let org: Option<(String,)> =
        db.fetch_optional("SELECT organization_id FROM api_keys WHERE id = $1", args![id]).await?;
    let (org_id,) = org.ok_or_else(|| Error::not_found("API key"))?;
    require_org_role(db, principal, &org_id, OrgRole::Admin).await.map_err(|e| match e {
        Error::NotFound(_) => Error::not_found("API key"),
        other => other,
    })?;
    let mut tx = db.begin().await?;
    let n = tx
        .execute(
            "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            args![id, kernel::time::now()],
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found("API key"));
    }
    kernel::access_changes::announce(&mut tx, kernel::access_changes::Scope::ApiKey(id.to_string())).await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::API_KEY_REVOKED, Severity::Medium, "api_key")
            .by(principal)
            .org(&org_id)
            .target(id)
            .describe("API key revoked"),
    )
    .await?;
    tx.commit().await
}

pub fn routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new().routes(routes!(create_api_key, list_api_keys)).routes(routes!(revoke_api_key))
}

/// Create an API key for an organization (ADMIN+). The secret is in this response only.
#[utoipa::path(post, path = "", tag = "api-keys",
    request_body = CreateApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
async fn create_api_key(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Json(input): Json<CreateApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>)> {
    Ok((StatusCode::CREATED, Json(create(&state.db, &ctx, &me, input).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    organization_id: String,
}

/// An organization's API keys, without secrets (ADMIN+).
#[utoipa::path(get, path = "", tag = "api-keys",
    params(ListQuery),
    responses((status = 200, body = Vec<ApiKey>), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
async fn list_api_keys(
    State(state): State<FoundationState>,
    CurrentUser(me): CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<ApiKey>>> {
    Ok(Json(list(&state.db, &Principal::User(me), &q.organization_id).await?))
}

/// Revoke an API key (ADMIN+ of its organization).
#[utoipa::path(delete, path = "/{id}", tag = "api-keys",
    params(("id" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn revoke_api_key(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    revoke(&state.db, &ctx, &Principal::User(me), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
