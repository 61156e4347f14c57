//! Reading, exporting and pruning the audit log.

use std::collections::BTreeMap;

use kernel::context::RequestContext;
use kernel::db::Conditions;
use kernel::pagination::{Page, PageRequest};
use kernel::principal::Principal;
use kernel::{Db, Error, Exec, Result, args};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json as SqlJson;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::{AuditEntry, Severity, actions, record};

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Exact action, e.g. `LOGIN_FAILED`.
    pub action: Option<String>,
    /// The enum is inlined: query parameters do not register their types as components.
    #[param(inline)]
    pub severity: Option<Severity>,
    pub actor_id: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub organization_id: Option<String>,
    /// Entries at or after this time (RFC 3339).
    #[param(value_type = Option<String>)]
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    /// Entries strictly before this time (RFC 3339).
    #[param(value_type = Option<String>)]
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct AuditRecord {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub action: String,
    pub severity: String,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub organization_id: Option<String>,
    pub target_type: String,
    pub target_id: Option<String>,
    pub description: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<SqlJson<Value>>,
}

pub const COLUMNS: &str = "id, created_at, action, severity, actor_id, actor_email, organization_id, target_type, target_id, description, ip, user_agent, request_id, metadata";

fn conditions(filter: &AuditFilter) -> Conditions {
    let mut c = Conditions::new();
    if let Some(v) = &filter.action {
        c.add("action = {}", v);
    }
    if let Some(v) = filter.severity {
        c.add("severity = {}", v.as_str());
    }
    if let Some(v) = &filter.actor_id {
        c.add("actor_id = {}", v);
    }
    if let Some(v) = &filter.target_type {
        c.add("target_type = {}", v);
    }
    if let Some(v) = &filter.target_id {
        c.add("target_id = {}", v);
    }
    if let Some(v) = &filter.organization_id {
        c.add("organization_id = {}", v);
    }
    if let Some(v) = filter.from {
        c.add("created_at >= {}", v);
    }
    if let Some(v) = filter.to {
        c.add("created_at < {}", v);
    }
    c
}

pub async fn list(db: &Db, filter: &AuditFilter, page: PageRequest) -> Result<Page<AuditRecord>> {
    conditions(filter).fetch_page(db, COLUMNS, "audit_log", "created_at DESC, id DESC", page).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditStats {
    pub total: i64,
    pub last_24h: i64,
    pub by_severity: BTreeMap<String, i64>,
    pub by_action: BTreeMap<String, i64>,
}

#[derive(sqlx::FromRow)]
struct Count {
    key: String,
    n: i64,
}

pub async fn stats(db: &Db, filter: &AuditFilter) -> Result<AuditStats> {
    let c = conditions(filter);
    let where_sql = c.where_sql();
    let grouped =
        |column: &str| format!("SELECT {column} AS key, COUNT(*) AS n FROM audit_log {where_sql} GROUP BY {column}");
    let by_severity: Vec<Count> = db.fetch_all(sqlx::AssertSqlSafe(grouped("severity")), c.args.clone()).await?;
    let by_action: Vec<Count> = db.fetch_all(sqlx::AssertSqlSafe(grouped("action")), c.args.clone()).await?;
    let mut recent = conditions(filter);
    recent.add("created_at >= {}", kernel::time::now() - time::Duration::hours(24));
    let last_24h: i64 = db
        .scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM audit_log {}", recent.where_sql())), recent.args)
        .await?;
    let mut by_severity_map: BTreeMap<String, i64> =
        ["LOW", "MEDIUM", "HIGH", "CRITICAL"].iter().map(|s| (s.to_string(), 0)).collect();
    by_severity_map.extend(by_severity.into_iter().map(|c| (c.key, c.n)));
    Ok(AuditStats {
        total: by_severity_map.values().sum(),
        last_24h,
        by_severity: by_severity_map,
        by_action: by_action.into_iter().map(|c| (c.key, c.n)).collect(),
    })
}

/// At most this many rows per export; narrow the filter for more.
pub const EXPORT_LIMIT: i64 = 100_000;

pub async fn export_rows(db: &Db, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
    let c = conditions(filter);
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log {} ORDER BY created_at DESC, id DESC LIMIT {EXPORT_LIMIT}",
        c.where_sql()
    );
    db.fetch_all(sqlx::AssertSqlSafe(sql), c.args).await
}

/// RFC 4180 CSV; cells that a spreadsheet would run as a formula are prefixed with `'`.
pub fn to_csv(rows: &[AuditRecord]) -> String {
    let mut out = String::from(
        "id,created_at,action,severity,actor_id,actor_email,organization_id,target_type,target_id,description,ip,user_agent,request_id,metadata\r\n",
    );
    for r in rows {
        let cells = [
            r.id.clone(),
            kernel::time::rfc3339(r.created_at),
            r.action.clone(),
            r.severity.clone(),
            r.actor_id.clone().unwrap_or_default(),
            r.actor_email.clone().unwrap_or_default(),
            r.organization_id.clone().unwrap_or_default(),
            r.target_type.clone(),
            r.target_id.clone().unwrap_or_default(),
            r.description.clone(),
            r.ip.clone().unwrap_or_default(),
            r.user_agent.clone().unwrap_or_default(),
            r.request_id.clone().unwrap_or_default(),
            r.metadata.as_ref().map(|m| m.0.to_string()).unwrap_or_default(),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_cell(value: &str) -> String {
    let value =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

/// Parse a retention horizon: `90d`, `12h`, `30m` before now, or an RFC 3339 time.
pub fn parse_older_than(value: &str, now: OffsetDateTime) -> Result<OffsetDateTime> {
    let bad = || Error::field("older_than", "invalid_format", "use a duration like 90d, 12h, 30m or an RFC 3339 time");
    if let Some(t) = kernel::time::parse_rfc3339(value) {
        return Ok(t);
    }
    // The unit is the last character, which need not be one byte long (`5é`).
    let Some(unit) = value.chars().next_back() else { return Err(bad()) };
    let digits = &value[..value.len() - unit.len_utf8()];
    let n: i64 = digits.parse().map_err(|_| bad())?;
    if n <= 0 || n > 100_000 {
        return Err(bad());
    }
    let span = match unit {
        'd' => time::Duration::days(n),
        'h' => time::Duration::hours(n),
        'm' => time::Duration::minutes(n),
        _ => return Err(bad()),
    };
    Ok(now - span)
}

/// Delete entries older than `before`; the cleanup itself is recorded.
pub async fn cleanup(db: &Db, ctx: &RequestContext, by: &Principal, before: OffsetDateTime) -> Result<u64> {
    let mut tx = db.begin().await?;
    let deleted = apply_retention(&mut tx, before).await?;
    record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::AUDIT_CLEANUP, Severity::High, "system")
            .by(by)
            .describe(format!("deleted {deleted} audit entries older than {}", kernel::time::rfc3339(before)))
            .meta(serde_json::json!({ "deleted": deleted, "before": kernel::time::rfc3339(before) })),
    )
    .await?;
    tx.commit().await?;
    Ok(deleted)
}

/// Delete entries older than `before` (the retention policy, applied by the scheduler, or
/// inside an administrator's recorded cleanup).
pub async fn apply_retention(ex: impl Into<Exec<'_>>, before: OffsetDateTime) -> Result<u64> {
    ex.into().execute("DELETE FROM audit_log WHERE created_at < $1", args![before]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_horizons() {
        let now = time::macros::datetime!(2026-06-01 00:00:00 UTC);
        assert_eq!(parse_older_than("30d", now).ok(), Some(now - time::Duration::days(30)));
        assert_eq!(parse_older_than("2h", now).ok(), Some(now - time::Duration::hours(2)));
        assert!(parse_older_than("2026-01-01T00:00:00Z", now).is_ok());
        for bad in ["", "d", "-3d", "3w", "abc", "0d", "û", "3û", "ûd"] {
            assert!(parse_older_than(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn csv_escapes_and_defuses_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=cmd()"), "'=cmd()");
    }
}
