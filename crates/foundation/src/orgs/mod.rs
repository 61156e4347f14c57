//! Organizations: the tenant every later resource hangs off. Members have a role (OWNER,
//! ADMIN, MEMBER); an organization always keeps at least one OWNER. Outsiders get 404, never
//! 403, so that ids of other tenants' organizations reveal nothing.

pub mod invitations;
mod routes;
pub mod service;

pub use routes::routes;

use std::sync::LazyLock;

use kernel::principal::Principal;
use kernel::recent::{ReadMark, RecentReads};
use kernel::{Db, Error, OrgRole, Result, args};

/// The role `user_id` has in organization `org_id`, if they are a member of it.
pub async fn member_role(tx: &mut kernel::Tx, org_id: &str, user_id: &str) -> Result<Option<OrgRole>> {
    let row: Option<(String,)> = tx
        .fetch_optional(
            "SELECT m.role FROM memberships m JOIN organizations o ON o.id = m.organization_id
             WHERE m.organization_id = $1 AND m.user_id = $2 AND o.deleted_at IS NULL",
            args![org_id, user_id],
        )
        .await?;
    Ok(row.and_then(|(r,)| OrgRole::parse(&r)))
}

/// Hold organization `org_id` until `tx` ends (a row lock on PostgreSQL; on SQLite the
/// write makes the transaction the writer). What counts against its plan (members,
/// projects, apps) is counted and added under it, and its owners are counted and changed
/// under it: concurrent requests cannot all pass a limit only one of them fits under, nor
/// each take away one of the last two OWNERs.
pub async fn hold_organization(tx: &mut kernel::Tx, org_id: &str) -> Result<()> {
    // A deleted organization is held by nobody: a request that passed its access check
    // before the deletion committed adds nothing to it after (404, as for an outsider).
    let held = tx
        .execute("UPDATE organizations SET updated_at = updated_at WHERE id = $1 AND deleted_at IS NULL", args![org_id])
        .await?;
    if held == 0 {
        return Err(Error::not_found("organization"));
    }
    Ok(())
}

/// The role `principal` holds in `org_id` now, read in `tx` after [`hold_organization`]: a
/// role checked before the hold may be stale by then (another OWNER demoted the caller
/// meanwhile). At least `min`, else 403.
pub async fn require_held_role(
    tx: &mut kernel::Tx,
    principal: &Principal,
    org_id: &str,
    min: OrgRole,
) -> Result<OrgRole> {
    let role = match principal {
        Principal::User(u) => member_role(tx, org_id, &u.user_id).await?,
        Principal::ApiKey(k) => (k.organization_id == org_id).then_some(k.role),
    };
    match role {
        Some(role) if role >= min => Ok(role),
        _ => Err(Error::Forbidden(format!("this action requires the {} role in the organization", min.as_str()))),
    }
}

/// Roles (or their absence) of users in organizations, by (organization, user). Process-wide
/// rather than per server: both ids are unique, and the writes that end an answer are counted
/// process-wide.
static RECENT_ROLES: LazyLock<RecentReads<(String, String), Option<OrgRole>>> = LazyLock::new(RecentReads::default);

/// Check that `principal` may act on organization `org_id` with at least `min` role;
/// returns the role it has there. Non-members (and keys of other organizations) get 404.
pub async fn require_org_role(db: &Db, principal: &Principal, org_id: &str, min: OrgRole) -> Result<OrgRole> {
    let role = match principal {
        Principal::User(u) => {
            // Asked on every request of a builder to an app: reused for a moment (see
            // `kernel::recent`), else read on the fast read path.
            let key = (org_id.to_string(), u.user_id.clone());
            match RECENT_ROLES.get(&key) {
                Some(role) => role,
                None => {
                    let mark = ReadMark::now();
                    let roles = db
                        .fetch_texts(
                            "SELECT m.role FROM memberships m JOIN organizations o ON o.id = m.organization_id
                             WHERE m.organization_id = $1 AND m.user_id = $2 AND o.deleted_at IS NULL",
                            args![org_id, &u.user_id],
                        )
                        .await?;
                    let role = roles.first().and_then(|r| OrgRole::parse(r));
                    RECENT_ROLES.put(key, mark, role);
                    role
                }
            }
        }
        Principal::ApiKey(k) => (k.organization_id == org_id).then_some(k.role),
    };
    let role = role.ok_or_else(|| Error::not_found("organization"))?;
    if role < min {
        return Err(Error::Forbidden(format!("this action requires the {} role in the organization", min.as_str())));
    }
    Ok(role)
}
