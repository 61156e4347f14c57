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
