//! Organization and membership rules.

use kernel::context::RequestContext;
use kernel::pagination::{Page, PageRequest};
use kernel::principal::{Principal, UserPrincipal};
use kernel::validate::Validator;
use kernel::{Db, Error, OrgRole, Result, Tx, args};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{member_role, require_org_role};
use crate::audit::{self, AuditEntry, Severity, actions};

/// Organizations' names by id (deleted ones too; unknown ids are left out).
pub async fn names(db: &Db, ids: &[&str]) -> Result<std::collections::HashMap<String, String>> {
    kernel::db::names_by_id(db, "organizations", "name", ids).await
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// The caller's role in it (absent for API keys).
    #[sqlx(default)]
    #[schema(value_type = Option<OrgRole>)]
    pub my_role: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrganizationInput {
    pub name: Option<String>,
    pub description: Option<String>,
}

fn validate(input: &OrganizationInput, creating: bool) -> Result<()> {
    let mut v = Validator::new();
    match &input.name {
        Some(name) => v.text("name", name, 100),
        None if creating => v.add("name", "required", "name is required"),
        None => {}
    }
    if let Some(d) = &input.description {
        v.max_len("description", d, 2000);
    }
    v.finish()
}

pub async fn create(
    db: &Db,
    ctx: &RequestContext,
    me: &UserPrincipal,
    input: OrganizationInput,
) -> Result<Organization> {
    validate(&input, true)?;
    let id = kernel::ids::new_id();
    let now = kernel::time::now();
    let name = input.name.as_deref().unwrap_or_default().trim().to_string();
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO organizations (id, name, description, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
        args![&id, &name, input.description.unwrap_or_default(), &me.user_id, now],
    )
    .await?;
    tx.execute(
        "INSERT INTO memberships (organization_id, user_id, role, created_at) VALUES ($1, $2, 'OWNER', $3)",
        args![&id, &me.user_id, now],
    )
    .await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::ORG_CREATED, Severity::Low, "organization")
            .by(&Principal::User(me.clone()))
            .org(&id)
            .target(&id)
            .describe(format!("organization \"{name}\" created")),
    )
    .await?;
    let org = fetch(&mut tx, &id, Some(&me.user_id)).await?;
    tx.commit().await?;
    Ok(org)
}

/// One live organization with the caller's role in it (`$2`: the caller's user id, if any).
const SELECT_ORGANIZATION: &str = "SELECT o.id, o.name, o.description, o.created_by, o.created_at, o.updated_at,
       (SELECT m.role FROM memberships m WHERE m.organization_id = o.id AND m.user_id = $2) AS my_role
     FROM organizations o WHERE o.id = $1 AND o.deleted_at IS NULL";

/// The person behind a principal; API keys have none.
fn caller_id(principal: &Principal) -> Option<&str> {
    match principal {
        Principal::User(u) => Some(&u.user_id),
        Principal::ApiKey(_) => None,
    }
}

async fn fetch(tx: &mut Tx, id: &str, user_id: Option<&str>) -> Result<Organization> {
    tx.fetch_optional(SELECT_ORGANIZATION, args![id, user_id.map(str::to_string)])
        .await?
        .ok_or_else(|| Error::not_found("organization"))
}

pub async fn get(db: &Db, principal: &Principal, id: &str) -> Result<Organization> {
    require_org_role(db, principal, id, OrgRole::Member).await?;
    db.fetch_optional(SELECT_ORGANIZATION, args![id, caller_id(principal).map(str::to_string)])
        .await?
        .ok_or_else(|| Error::not_found("organization"))
}

pub async fn list_mine(db: &Db, me: &UserPrincipal, page: PageRequest) -> Result<Page<Organization>> {
    let total: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM memberships m JOIN organizations o ON o.id = m.organization_id WHERE m.user_id = $1 AND o.deleted_at IS NULL",
            args![&me.user_id],
        )
        .await?;
    let items = db
        .fetch_all(
            "SELECT o.id, o.name, o.description, o.created_by, o.created_at, o.updated_at, m.role AS my_role
             FROM memberships m JOIN organizations o ON o.id = m.organization_id
             WHERE m.user_id = $1 AND o.deleted_at IS NULL ORDER BY o.created_at DESC, o.id LIMIT $2 OFFSET $3",
            args![&me.user_id, page.limit(), page.offset()],
        )
        .await?;
    Ok(Page::new(items, page, total))
}

pub async fn update(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    id: &str,
    input: OrganizationInput,
) -> Result<Organization> {
    validate(&input, false)?;
    require_org_role(db, principal, id, OrgRole::Admin).await?;
    let mut tx = db.begin().await?;
    let before = fetch(&mut tx, id, None).await?;
    let name = input.name.as_deref().map(str::trim).unwrap_or(&before.name).to_string();
    let description = input.description.unwrap_or(before.description.clone());
    tx.execute(
        "UPDATE organizations SET name = $2, description = $3, updated_at = $4 WHERE id = $1",
        args![id, &name, &description, kernel::time::now()],
    )
    .await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::ORG_UPDATED, Severity::Low, "organization")
            .by(principal)
            .org(id)
            .target(id)
            .describe("organization updated")
            .meta(serde_json::json!({ "name": { "from": before.name, "to": name } })),
    )
    .await?;
    let org = fetch(&mut tx, id, caller_id(principal)).await?;
    tx.commit().await?;
    Ok(org)
}

/// Soft-delete: the organization disappears, its API keys and pending invitations are
/// revoked. Only an OWNER may do it.
pub async fn delete(db: &Db, ctx: &RequestContext, principal: &Principal, id: &str) -> Result<()> {
    require_org_role(db, principal, id, OrgRole::Owner).await?;
    let mut tx = db.begin().await?;
    let now = kernel::time::now();
    tx.execute(
        "UPDATE organizations SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL",
        args![id, now],
    )
    .await?;
    tx.execute("UPDATE api_keys SET revoked_at = $2 WHERE organization_id = $1 AND revoked_at IS NULL", args![id, now])
        .await?;
    tx.execute("UPDATE invitations SET revoked_at = $2 WHERE organization_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL", args![id, now]).await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::ORG_DELETED, Severity::High, "organization")
            .by(principal)
            .org(id)
            .target(id)
            .describe("organization deleted"),
    )
    .await?;
    tx.commit().await
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[schema(value_type = OrgRole)]
    pub role: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub joined_at: OffsetDateTime,
}

pub async fn members(db: &Db, principal: &Principal, org_id: &str, page: PageRequest) -> Result<Page<Member>> {
    require_org_role(db, principal, org_id, OrgRole::Member).await?;
    let total: i64 = db.scalar("SELECT COUNT(*) FROM memberships WHERE organization_id = $1", args![org_id]).await?;
    let items = db
        .fetch_all(
            "SELECT u.id AS user_id, u.email, u.first_name, u.last_name, m.role, m.created_at AS joined_at
             FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.organization_id = $1
             ORDER BY m.created_at, u.id LIMIT $2 OFFSET $3",
            args![org_id, page.limit(), page.offset()],
        )
        .await?;
    Ok(Page::new(items, page, total))
}

async fn owner_count(tx: &mut Tx, org_id: &str) -> Result<i64> {
    tx.scalar("SELECT COUNT(*) FROM memberships WHERE organization_id = $1 AND role = 'OWNER'", args![org_id]).await
}

/// Change a member's role. Only OWNERs grant or take away OWNER; the last OWNER cannot be
/// demoted.
pub async fn change_role(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    org_id: &str,
    user_id: &str,
    role: OrgRole,
) -> Result<()> {
    require_org_role(db, principal, org_id, OrgRole::Admin).await?;
    let mut tx = db.begin().await?;
    super::hold_organization(&mut tx, org_id).await?;
    let my_role = super::require_held_role(&mut tx, principal, org_id, OrgRole::Admin).await?;
    let current = member_role(&mut tx, org_id, user_id).await?.ok_or_else(|| Error::not_found("member"))?;
    if (current == OrgRole::Owner || role == OrgRole::Owner) && my_role != OrgRole::Owner {
        return Err(Error::Forbidden("only an OWNER can grant or remove the OWNER role".into()));
    }
    if current == role {
        return Ok(());
    }
    if current == OrgRole::Owner && owner_count(&mut tx, org_id).await? <= 1 {
        return Err(Error::Conflict("the last OWNER cannot be demoted; transfer ownership first".into()));
    }
    tx.execute(
        "UPDATE memberships SET role = $3 WHERE organization_id = $1 AND user_id = $2",
        args![org_id, user_id, role.as_str()],
    )
    .await?;
    kernel::access_changes::announce(&mut tx, kernel::access_changes::Scope::User(user_id.to_string())).await?;
    let severity = if role == OrgRole::Owner || current == OrgRole::Owner { Severity::High } else { Severity::Medium };
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::ORG_MEMBER_ROLE_CHANGED, severity, "user")
            .by(principal)
            .org(org_id)
            .target(user_id)
            .describe(format!("member role changed from {} to {}", current.as_str(), role.as_str()))
            .meta(serde_json::json!({ "from": current.as_str(), "to": role.as_str() })),
    )
    .await?;
    tx.commit().await
}

/// Remove a member (ADMIN+; removing an OWNER takes an OWNER; never the last OWNER).
pub async fn remove_member(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    org_id: &str,
    user_id: &str,
) -> Result<()> {
    require_org_role(db, principal, org_id, OrgRole::Admin).await?;
    let mut tx = db.begin().await?;
    super::hold_organization(&mut tx, org_id).await?;
    let my_role = super::require_held_role(&mut tx, principal, org_id, OrgRole::Admin).await?;
    let current = member_role(&mut tx, org_id, user_id).await?.ok_or_else(|| Error::not_found("member"))?;
    if current == OrgRole::Owner {
        if my_role != OrgRole::Owner {
            return Err(Error::Forbidden("only an OWNER can remove an OWNER".into()));
        }
        if owner_count(&mut tx, org_id).await? <= 1 {
            return Err(Error::Conflict("the last OWNER cannot be removed; transfer ownership first".into()));
        }
    }
    tx.execute("DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2", args![org_id, user_id]).await?;
    kernel::access_changes::announce(&mut tx, kernel::access_changes::Scope::User(user_id.to_string())).await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::ORG_MEMBER_REMOVED, Severity::Medium, "user")
            .by(principal)
            .org(org_id)
            .target(user_id)
            .describe("member removed"),
    )
    .await?;
    tx.commit().await
}

/// Leave an organization. The last OWNER must transfer ownership first.
pub async fn leave(db: &Db, ctx: &RequestContext, me: &UserPrincipal, org_id: &str) -> Result<()> {
    let principal = Principal::User(me.clone());
    require_org_role(db, &principal, org_id, OrgRole::Member).await?;
    let mut tx = db.begin().await?;
    super::hold_organization(&mut tx, org_id).await?;
    // The role now, under the hold (another request may have changed it since).
    let role = member_role(&mut tx, org_id, &me.user_id).await?.ok_or_else(|| Error::not_found("organization"))?;
    if role == OrgRole::Owner && owner_count(&mut tx, org_id).await? <= 1 {
        return Err(Error::Conflict(
            "the last OWNER cannot leave; transfer ownership or delete the organization".into(),
        ));
    }
    tx.execute("DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2", args![org_id, &me.user_id])
        .await?;
    kernel::access_changes::announce(&mut tx, kernel::access_changes::Scope::User(me.user_id.clone())).await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::ORG_MEMBER_LEFT, Severity::Low, "user")
            .by(&principal)
            .org(org_id)
            .target(&me.user_id)
            .describe("member left the organization"),
    )
    .await?;
    tx.commit().await
}

/// Make another member OWNER; the caller steps down to ADMIN.
pub async fn transfer_ownership(
    db: &Db,
    ctx: &RequestContext,
    me: &UserPrincipal,
    org_id: &str,
    new_owner: &str,
) -> Result<()> {
    let principal = Principal::User(me.clone());
    require_org_role(db, &principal, org_id, OrgRole::Owner).await?;
    if new_owner == me.user_id {
        return Err(Error::field("user_id", "invalid", "you already own this organization"));
    }
    let mut tx = db.begin().await?;
    super::hold_organization(&mut tx, org_id).await?;
    // Still an OWNER under the hold: one demoted meanwhile hands over nothing.
    if member_role(&mut tx, org_id, &me.user_id).await? != Some(OrgRole::Owner) {
        return Err(Error::Forbidden("only an OWNER can transfer ownership".into()));
    }
    if member_role(&mut tx, org_id, new_owner).await?.is_none() {
        return Err(Error::field("user_id", "not_a_member", "the new owner must already be a member"));
    }
    tx.execute(
        "UPDATE memberships SET role = 'OWNER' WHERE organization_id = $1 AND user_id = $2",
        args![org_id, new_owner],
    )
    .await?;
    tx.execute(
        "UPDATE memberships SET role = 'ADMIN' WHERE organization_id = $1 AND user_id = $2",
        args![org_id, &me.user_id],
    )
    .await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::ORG_OWNERSHIP_TRANSFERRED, Severity::High, "organization")
            .by(&principal)
            .org(org_id)
            .target(org_id)
            .describe("ownership transferred")
            .meta(serde_json::json!({ "from": me.user_id, "to": new_owner })),
    )
    .await?;
    tx.commit().await
}
