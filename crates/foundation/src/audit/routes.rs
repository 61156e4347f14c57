//! `/api/v1/admin/audit`: the audit log for platform administrators.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kernel::context::RequestContext;
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery};
use kernel::principal::Principal;
use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::service::{self, AuditFilter, AuditRecord, AuditStats};
use super::{AuditEntry, Severity, actions};
use crate::authn::AdminUser;
use crate::state::FoundationState;

pub fn admin_routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(audit_stats))
        .routes(routes!(export_audit))
        .routes(routes!(cleanup_audit))
}

/// List audit entries, newest first.
#[utoipa::path(get, path = "/audit", tag = "admin",
    params(AuditFilter, PageQuery),
    responses((status = 200, body = Page<AuditRecord>), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn list_audit(
    State(state): State<FoundationState>,
    _admin: AdminUser,
    Query(filter): Query<AuditFilter>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<AuditRecord>>> {
    Ok(Json(service::list(&state.db, &filter, page.validate()?).await?))
}

/// Counts by severity and action.
#[utoipa::path(get, path = "/audit/stats", tag = "admin",
    params(AuditFilter),
    responses((status = 200, body = AuditStats), (status = 401), (status = 403)),
    security(("bearer" = [])))]
async fn audit_stats(
    State(state): State<FoundationState>,
    _admin: AdminUser,
    Query(filter): Query<AuditFilter>,
) -> Result<Json<AuditStats>> {
    Ok(Json(service::stats(&state.db, &filter).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportQuery {
    /// `csv` or `json` (default).
    format: Option<String>,
}

/// Export the filtered audit entries as CSV or JSON (at most 100,000 rows).
#[utoipa::path(get, path = "/audit/export", tag = "admin",
    params(AuditFilter, ExportQuery),
    responses((status = 200, description = "text/csv or application/json", body = Vec<AuditRecord>), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn export_audit(
    State(state): State<FoundationState>,
    AdminUser(admin): AdminUser,
    ctx: RequestContext,
    Query(filter): Query<AuditFilter>,
    Query(export): Query<ExportQuery>,
) -> Result<Response> {
    let format = export.format.unwrap_or_else(|| "json".into());
    if format != "csv" && format != "json" {
        return Err(Error::field("format", "invalid_choice", "format must be csv or json"));
    }
    let rows = service::export_rows(&state.db, &filter).await?;
    let entry = AuditEntry::new(actions::ADMIN_ACCESS, Severity::Medium, "system")
        .by(&Principal::User(admin))
        .describe(format!("exported {} audit entries as {format}", rows.len()));
    super::record_now(&state.db, &ctx, entry).await?;
    let filename = format!("audit-{}.{format}", kernel::time::now().unix_timestamp());
    let disposition = format!("attachment; filename=\"{filename}\"");
    Ok(if format == "csv" {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
            service::to_csv(&rows),
        )
            .into_response()
    } else {
        ([(header::CONTENT_DISPOSITION, disposition)], axum::Json(rows)).into_response()
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CleanupQuery {
    /// Delete entries older than this: `90d`, `12h`, `30m`, or an RFC 3339 time.
    older_than: String,
}

#[derive(Debug, Serialize, ToSchema)]
struct CleanupResult {
    deleted: u64,
}

/// Delete audit entries older than the given horizon (retention).
#[utoipa::path(delete, path = "/audit/cleanup", tag = "admin",
    params(CleanupQuery),
    responses((status = 200, body = CleanupResult), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn cleanup_audit(
    State(state): State<FoundationState>,
    AdminUser(admin): AdminUser,
    ctx: RequestContext,
    Query(query): Query<CleanupQuery>,
) -> Result<Json<CleanupResult>> {
    let before = service::parse_older_than(&query.older_than, kernel::time::now())?;
    let deleted = service::cleanup(&state.db, &ctx, &Principal::User(admin), before).await?;
    Ok(Json(CleanupResult { deleted }))
}
