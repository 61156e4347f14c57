//! `/api/v1/admin/users`: user management for platform administrators.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kernel::context::RequestContext;
use kernel::db::Conditions;
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery, PageRequest};
use kernel::principal::{Principal, UserPrincipal};
use kernel::validate::{Validator, normalize_email};
use kernel::{Db, DbKind, Error, PlatformRole, Result, args};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::accounts::{USER_COLUMNS, UserRow, UserStatus, UserView, find_by_id};
use crate::audit::{self, AuditEntry, Severity, actions};
use crate::authn::AdminUser;
use crate::state::FoundationState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Matches email, first or last name (case-insensitive substring).
    pub search: Option<String>,
    pub role: Option<PlatformRole>,
    pub status: Option<UserStatus>,
}

pub async fn list_users(db: &Db, filter: &UserFilter, page: PageRequest) -> Result<Page<UserView>> {
    let mut c = Conditions::new();
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if search.chars().count() > 100 {
            return Err(Error::field("search", "too_long", "search must be at most 100 characters"));
        }
        c.add(
            "(LOWER(email) LIKE {} ESCAPE '\\' OR LOWER(first_name) LIKE {} ESCAPE '\\' OR LOWER(last_name) LIKE {} ESCAPE '\\')",
            kernel::db::like_contains(&search.to_lowercase()),
        );
    }
    if let Some(role) = filter.role {
        c.add("role = {}", role.as_str());
    }
    match filter.status {
        Some(status) => c.add("status = {}", status.as_str()),
        None => c.add_fixed("status <> 'deleted'"),
    };
    let rows: Page<UserRow> = c.fetch_page(db, USER_COLUMNS, "users", "created_at DESC, id", page).await?;
    Ok(rows.map(|r| UserView::from(&r)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserStats {
    pub total: i64,
    pub by_role: BTreeMap<String, i64>,
    pub by_status: BTreeMap<String, i64>,
    /// Accounts that signed in during the last 7 days.
    pub active_last_7_days: i64,
    /// Sign-ups per day (UTC) for the last 30 days, oldest first, days without sign-ups included.
    pub signups_last_30_days: Vec<DayCount>,
    /// Accounts that signed in or renewed a session, per day (UTC) for the last 30 days,
    /// oldest first, every day included.
    pub active_last_30_days: Vec<DayCount>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct DayCount {
    pub day: String,
    pub count: i64,
}

#[derive(sqlx::FromRow)]
struct KeyCount {
    key: String,
    n: i64,
}

pub async fn user_stats(db: &Db) -> Result<UserStats> {
    let now = kernel::time::now();
    let by_role: Vec<KeyCount> = db
        .fetch_all("SELECT role AS key, COUNT(*) AS n FROM users WHERE status <> 'deleted' GROUP BY role", args![])
        .await?;
    let by_status: Vec<KeyCount> =
        db.fetch_all("SELECT status AS key, COUNT(*) AS n FROM users GROUP BY status", args![]).await?;
    let active: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM users WHERE status = 'active' AND last_login_at >= $1",
            args![now - time::Duration::days(7)],
        )
        .await?;
    let since = (now - time::Duration::days(29)).replace_time(time::Time::MIDNIGHT);
    let day_sql = match db.kind() {
        DbKind::Sqlite => {
            "SELECT substr(created_at, 1, 10) AS day, COUNT(*) AS count FROM users WHERE created_at >= $1 GROUP BY day"
        }
        DbKind::Postgres => {
            "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, COUNT(*) AS count FROM users WHERE created_at >= $1 GROUP BY day"
        }
    };
    let days: Vec<DayCount> = db.fetch_all(day_sql, args![since]).await?;
    let signups = every_day(since, days);
    let active_days: Vec<DayCount> = db
        .fetch_all(
            "SELECT day, COUNT(*) AS count FROM active_user_days WHERE day >= $1 GROUP BY day",
            args![since.date().to_string()],
        )
        .await?;
    let active_per_day = every_day(since, active_days);
    let by_role: BTreeMap<String, i64> = by_role.into_iter().map(|c| (c.key, c.n)).collect();
    Ok(UserStats {
        total: by_role.values().sum(),
        by_role,
        by_status: by_status.into_iter().map(|c| (c.key, c.n)).collect(),
        active_last_7_days: active,
        signups_last_30_days: signups,
        active_last_30_days: active_per_day,
    })
}

/// The 30 days from `since`, with the counts found (zero for the others).
fn every_day(since: time::OffsetDateTime, found: Vec<DayCount>) -> Vec<DayCount> {
    let counted: BTreeMap<String, i64> = found.into_iter().map(|d| (d.day, d.count)).collect();
    (0..30)
        .map(|i| {
            let day = (since + time::Duration::days(i)).date().to_string();
            DayCount { count: counted.get(&day).copied().unwrap_or(0), day }
        })
        .collect()
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AdminUserUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

pub async fn update_user(
    db: &Db,
    ctx: &RequestContext,
    admin: &UserPrincipal,
    id: &str,
    update: AdminUserUpdate,
) -> Result<UserView> {
    let mut v = Validator::new();
    if let Some(f) = &update.first_name {
        v.text("first_name", f, crate::accounts::service::NAME_MAX);
    }
    if let Some(l) = &update.last_name {
        v.text("last_name", l, crate::accounts::service::NAME_MAX);
    }
    let email = update.email.as_deref().map(normalize_email);
    if let Some(e) = &email {
        v.email("email", e);
    }
    v.finish()?;
    let mut tx = db.begin().await?;
    let before = live_user(&mut tx, id).await?;
    let first = update.first_name.as_deref().map(str::trim).unwrap_or(&before.first_name).to_string();
    let last = update.last_name.as_deref().map(str::trim).unwrap_or(&before.last_name).to_string();
    let email = email.unwrap_or(before.email.clone());
    tx.execute(
        "UPDATE users SET first_name = $2, last_name = $3, email = $4, updated_at = $5 WHERE id = $1",
        args![id, &first, &last, &email, kernel::time::now()],
    )
    .await
    .map_err(|e| match e {
        Error::Conflict(_) => Error::field("email", "taken", "another account uses this email"),
        other => other,
    })?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::USER_UPDATED, Severity::Medium, "user")
            .by(&Principal::User(admin.clone()))
            .target(id)
            .describe("account updated by an administrator")
            .meta(serde_json::json!({ "email_changed": email != before.email })),
    )
    .await?;
    let user = live_user(&mut tx, id).await?;
    tx.commit().await?;
    Ok(UserView::from(&user))
}

async fn live_user(tx: &mut kernel::Tx, id: &str) -> Result<UserRow> {
    find_by_id(tx, id).await?.filter(|u| u.status != "deleted").ok_or_else(|| Error::not_found("user"))
}

/// Hold user `id`'s row until `tx` ends (a row lock on PostgreSQL; on SQLite the write makes
/// the transaction the writer).
pub(crate) async fn hold_user(tx: &mut kernel::Tx, id: &str) -> Result<()> {
    tx.execute("UPDATE users SET updated_at = updated_at WHERE id = $1", args![id]).await?;
    Ok(())
}

/// Hold the acting administrator's row and the target's, in id order (two administrators
/// acting on each other at once wait in one order, not in a cycle), then check that the
/// actor is still an active administrator: one demoted, deactivated or deleted while the
/// request waited acts no more. Two administrators could otherwise demote, deactivate or
/// delete each other at once and leave the platform with none.
pub(crate) async fn hold_acting_admin(tx: &mut kernel::Tx, admin_id: &str, target_id: &str) -> Result<()> {
    let mut ids = [admin_id, target_id];
    ids.sort_unstable();
    for id in ids {
        hold_user(tx, id).await?;
    }
    let actor: Option<(String, String)> =
        tx.fetch_optional("SELECT role, status FROM users WHERE id = $1", args![admin_id]).await?;
    match actor {
        Some((role, status)) if role == PlatformRole::Admin.as_str() && status == "active" => Ok(()),
        _ => Err(Error::Forbidden("this action requires the admin role".into())),
    }
}

pub async fn change_role(
    db: &Db,
    ctx: &RequestContext,
    admin: &UserPrincipal,
    id: &str,
    role: PlatformRole,
) -> Result<UserView> {
    if id == admin.user_id {
        return Err(Error::Forbidden("administrators cannot change their own role".into()));
    }
    let mut tx = db.begin().await?;
    hold_acting_admin(&mut tx, &admin.user_id, id).await?;
    let before = live_user(&mut tx, id).await?;
    tx.execute(
        "UPDATE users SET role = $2, updated_at = $3 WHERE id = $1",
        args![id, role.as_str(), kernel::time::now()],
    )
    .await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::USER_ROLE_CHANGED, Severity::High, "user")
            .by(&Principal::User(admin.clone()))
            .target(id)
            .describe(format!("role changed from {} to {}", before.role, role.as_str()))
            .meta(serde_json::json!({ "from": before.role, "to": role.as_str() })),
    )
    .await?;
    let user = live_user(&mut tx, id).await?;
    tx.commit().await?;
    Ok(UserView::from(&user))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SettableStatus {
    Active,
    Deactivated,
}

/// Activate or deactivate an account. Deactivation revokes every session; activation also
/// clears a lockout.
pub async fn change_status(
    db: &Db,
    ctx: &RequestContext,
    admin: &UserPrincipal,
    id: &str,
    status: SettableStatus,
) -> Result<UserView> {
    if id == admin.user_id {
        return Err(Error::Forbidden("administrators cannot change their own status".into()));
    }
    let mut tx = db.begin().await?;
    hold_acting_admin(&mut tx, &admin.user_id, id).await?;
    let before = live_user(&mut tx, id).await?;
    let now = kernel::time::now();
    let to = match status {
        SettableStatus::Active => {
            tx.execute(
                "UPDATE users SET status = 'active', locked_at = NULL, failed_login_count = 0,
                   email_verified_at = COALESCE(email_verified_at, $2), updated_at = $2 WHERE id = $1",
                args![id, now],
            )
            .await?;
            "active"
        }
        SettableStatus::Deactivated => {
            tx.execute("UPDATE users SET status = 'deactivated', updated_at = $2 WHERE id = $1", args![id, now])
                .await?;
            crate::sessions::revoke_all_for_user(&mut tx, id, None, "account_deactivated").await?;
            "deactivated"
        }
    };
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::USER_STATUS_CHANGED, Severity::High, "user")
            .by(&Principal::User(admin.clone()))
            .target(id)
            .describe(format!("status changed from {} to {to}", before.status))
            .meta(serde_json::json!({ "from": before.status, "to": to })),
    )
    .await?;
    let user = live_user(&mut tx, id).await?;
    tx.commit().await?;
    Ok(UserView::from(&user))
}

pub fn routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new()
        .routes(routes!(admin_list_users))
        .routes(routes!(admin_user_stats))
        .routes(routes!(admin_get_user, admin_update_user, admin_delete_user))
        .routes(routes!(admin_change_role))
        .routes(routes!(admin_change_status))
}

/// List accounts with search, filters and pagination.
#[utoipa::path(get, path = "/users", tag = "admin",
    params(UserFilter, PageQuery),
    responses((status = 200, body = Page<UserView>), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn admin_list_users(
    State(state): State<FoundationState>,
    _admin: AdminUser,
    Query(filter): Query<UserFilter>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<UserView>>> {
    Ok(Json(list_users(&state.db, &filter, page.validate()?).await?))
}

/// Totals, sign-ups per day over 30 days, accounts active in the last 7 days.
#[utoipa::path(get, path = "/users/stats", tag = "admin",
    responses((status = 200, body = UserStats), (status = 401), (status = 403)),
    security(("bearer" = [])))]
async fn admin_user_stats(State(state): State<FoundationState>, _admin: AdminUser) -> Result<Json<UserStats>> {
    Ok(Json(user_stats(&state.db).await?))
}

/// One account.
#[utoipa::path(get, path = "/users/{id}", tag = "admin",
    params(("id" = String, Path)),
    responses((status = 200, body = UserView), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn admin_get_user(
    State(state): State<FoundationState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<Json<UserView>> {
    let user = crate::accounts::find_by_id(&state.db, &id).await?.ok_or_else(|| Error::not_found("user"))?;
    Ok(Json(UserView::from(&user)))
}

/// Edit an account's names or email.
#[utoipa::path(patch, path = "/users/{id}", tag = "admin",
    params(("id" = String, Path)),
    request_body = AdminUserUpdate,
    responses((status = 200, body = UserView), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
async fn admin_update_user(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    Json(update): Json<AdminUserUpdate>,
) -> Result<Json<UserView>> {
    Ok(Json(update_user(&state.db, &ctx, &admin, &id, update).await?))
}

/// Delete (anonymize) an account.
#[utoipa::path(delete, path = "/users/{id}", tag = "admin",
    params(("id" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = [])))]
async fn admin_delete_user(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    if id == admin.user_id {
        return Err(Error::Forbidden(
            "administrators cannot delete their own account here; use DELETE /users/me".into(),
        ));
    }
    crate::gdpr::erase(&state.db, &state.store, &ctx, &Principal::User(admin), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
struct RoleBody {
    role: PlatformRole,
}

/// Change an account's platform role.
#[utoipa::path(put, path = "/users/{id}/role", tag = "admin",
    params(("id" = String, Path)),
    request_body = RoleBody,
    responses((status = 200, body = UserView), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
async fn admin_change_role(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    Json(body): Json<RoleBody>,
) -> Result<Json<UserView>> {
    Ok(Json(change_role(&state.db, &ctx, &admin, &id, body.role).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
struct StatusBody {
    status: SettableStatus,
}

/// Activate or deactivate an account.
#[utoipa::path(put, path = "/users/{id}/status", tag = "admin",
    params(("id" = String, Path)),
    request_body = StatusBody,
    responses((status = 200, body = UserView), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
async fn admin_change_status(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    Json(body): Json<StatusBody>,
) -> Result<Json<UserView>> {
    Ok(Json(change_status(&state.db, &ctx, &admin, &id, body.status).await?))
}
