//! Projects: what a builder makes inside an organization. A project owns its pages, its
//! collections (real tables in its own namespace), favorites and public share links.
//! Deleting is soft for 30 days; the janitor then drops the project and its tables.

pub mod admin;
mod routes;
pub mod service;
pub mod share;

pub use routes::{routes, share_routes};

use kernel::principal::Principal;
use kernel::{Db, Error, OrgRole, Result, args};

use collections::ddl::Namespace;

/// Days a deleted project can be restored.
pub const RESTORE_DAYS: i64 = 30;

/// A project the caller may act on, with the role they have in its organization.
#[derive(Debug, Clone)]
pub struct ProjectAccess {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub namespace: Namespace,
    pub role: OrgRole,
}

/// What a hold on a project row is for.
pub enum Hold {
    /// Its pages' order: pages added, moved or deleted at the same moment would otherwise
    /// each compute positions from the same order (PostgreSQL gave three pages position 0).
    PageOrder,
    /// Its schema: the version goes up, so readers of a cached schema see the change.
    Schema,
}

/// Hold project `id` until `tx` ends (a row lock on PostgreSQL; on SQLite the write makes
/// the transaction the writer). A project deleted meanwhile is not held (404): a request
/// that passed its access check before the deletion adds nothing to it after.
pub async fn hold(tx: &mut kernel::Tx, id: &str, what: Hold) -> Result<()> {
    let set = match what {
        Hold::PageOrder => "updated_at = updated_at",
        Hold::Schema => "schema_version = schema_version + 1",
    };
    let sql = format!("UPDATE studio_projects SET {set} WHERE id = $1 AND deleted_at IS NULL");
    if tx.execute(sqlx::AssertSqlSafe(sql), kernel::args![id]).await? == 0 {
        return Err(kernel::Error::not_found("project"));
    }
    Ok(())
}

/// Check that `principal` may act on project `id` with at least `min`; a project that does
/// not exist, is deleted, or belongs to an organization the caller is not in is a 404.
pub async fn access(db: &Db, principal: &Principal, id: &str, min: OrgRole) -> Result<ProjectAccess> {
    let row: Option<(String, String, String)> = db
        .fetch_optional(
            "SELECT organization_id, name, namespace FROM studio_projects WHERE id = $1 AND deleted_at IS NULL",
            args![id],
        )
        .await?;
    let (organization_id, name, key) = row.ok_or_else(|| Error::not_found("project"))?;
    let role = foundation::orgs::require_org_role(db, principal, &organization_id, min).await.map_err(|e| match e {
        Error::NotFound(_) => Error::not_found("project"),
        other => other,
    })?;
    Ok(ProjectAccess { id: id.to_string(), organization_id, name, namespace: Namespace::new(db.kind(), &key), role })
}
