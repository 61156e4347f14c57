//! Invitations: an emailed single-use link that makes its recipient a member, either while
//! signed in with the invited address or by registering with it.

use kernel::context::RequestContext;
use kernel::principal::{Principal, UserPrincipal};
use kernel::validate::{Validator, normalize_email};
use kernel::{Db, Error, OrgRole, Result, Tx, args};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::require_org_role;
use crate::audit::{self, AuditEntry, Severity, actions};
use crate::state::FoundationState;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Invitation {
    pub id: String,
    pub organization_id: String,
    pub email: String,
    #[schema(value_type = OrgRole)]
    pub role: String,
    pub invited_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

const COLUMNS: &str = "id, organization_id, email, role, invited_by, created_at, expires_at";

pub async fn create(
    state: &FoundationState,
    ctx: &RequestContext,
    me: &UserPrincipal,
    org_id: &str,
    email: &str,
    role: OrgRole,
) -> Result<Invitation> {
    let (db, config) = (&state.db, &state.config);
    let principal = Principal::User(me.clone());
    require_org_role(db, &principal, org_id, OrgRole::Admin).await?;
    let email = normalize_email(email);
    let mut v = Validator::new();
    v.email("email", &email);
    v.finish()?;
    let seat_limit = state.usage.enforced_limit(org_id, kernel::Metric::Members).await?;
    let mut tx = db.begin().await?;
    super::hold_organization(&mut tx, org_id).await?;
    let my_role = super::require_held_role(&mut tx, &principal, org_id, OrgRole::Admin).await?;
    if role == OrgRole::Owner && my_role != OrgRole::Owner {
        return Err(Error::Forbidden("only an OWNER can invite another OWNER".into()));
    }
    let already: i64 = tx
        .scalar(
            "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.organization_id = $1 AND u.email = $2",
            args![org_id, &email],
        )
        .await?;
    if already > 0 {
        return Err(Error::Conflict("this person is already a member".into()));
    }
    // A pending invitation holds a seat: the plan's member limit counts both.
    let seats: i64 = tx
        .scalar(
            "SELECT (SELECT COUNT(*) FROM memberships WHERE organization_id = $1)
                  + (SELECT COUNT(*) FROM invitations WHERE organization_id = $1 AND email <> $2
                     AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3)",
            args![org_id, &email, kernel::time::now()],
        )
        .await?;
    kernel::Usage::allow_count_within(kernel::Metric::Members, seats, 1, seat_limit)?;
    let now = kernel::time::now();
    // A new invitation replaces any pending one for the same address.
    tx.execute(
        "UPDATE invitations SET revoked_at = $3 WHERE organization_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
        args![org_id, &email, now],
    )
    .await?;
    let org_name: Option<(String,)> =
        tx.fetch_optional("SELECT name FROM organizations WHERE id = $1", args![org_id]).await?;
    let org_name = org_name.map(|(n,)| n).unwrap_or_default();
    let (token, hash) = crate::tokens::new_secret();
    let id = kernel::ids::new_id();
    tx.execute(
        "INSERT INTO invitations (id, organization_id, email, role, token_hash, invited_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![
            &id,
            org_id,
            &email,
            role.as_str(),
            hash,
            &me.user_id,
            now,
            now + time::Duration::seconds(state.security.invitation_ttl_secs)
        ],
    )
    .await?;
    crate::emails::invitation(&mut tx, &config.public_url, &email, &org_name, &me.email, role.as_str(), &token).await?;
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::ORG_INVITATION_CREATED, Severity::Medium, "invitation")
            .by(&principal)
            .org(org_id)
            .target(&id)
            .describe(format!("invited {email} as {}", role.as_str()))
            .meta(serde_json::json!({ "email": email, "role": role.as_str() })),
    )
    .await?;
    let invitation = tx
        .fetch_one(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM invitations WHERE id = $1")), args![&id])
        .await?;
    tx.commit().await?;
    Ok(invitation)
}

pub async fn list_pending(db: &Db, principal: &Principal, org_id: &str) -> Result<Vec<Invitation>> {
    require_org_role(db, principal, org_id, OrgRole::Admin).await?;
    db.fetch_all(
        sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM invitations WHERE organization_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL
             AND expires_at > $2 ORDER BY created_at DESC"
        )),
        args![org_id, kernel::time::now()],
    )
    .await
}

pub async fn revoke(db: &Db, ctx: &RequestContext, principal: &Principal, org_id: &str, id: &str) -> Result<()> {
    require_org_role(db, principal, org_id, OrgRole::Admin).await?;
    let mut tx = db.begin().await?;
    let n = tx
        .execute(
            "UPDATE invitations SET revoked_at = $3 WHERE id = $1 AND organization_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
            args![id, org_id, kernel::time::now()],
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found("invitation"));
    }
    audit::record(
        &mut tx,
        ctx,
        AuditEntry::new(actions::ORG_INVITATION_REVOKED, Severity::Low, "invitation")
            .by(principal)
            .org(org_id)
            .target(id)
            .describe("invitation revoked"),
    )
    .await?;
    tx.commit().await
}

/// The pending, unexpired invitation behind `token`, in an organization that still exists.
pub async fn find_valid(tx: &mut Tx, token: &str) -> Result<Option<Invitation>> {
    if token.is_empty() || token.len() > 200 {
        return Ok(None);
    }
    tx.fetch_optional(
        "SELECT i.id, i.organization_id, i.email, i.role, i.invited_by, i.created_at, i.expires_at
         FROM invitations i JOIN organizations o ON o.id = i.organization_id
         WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2 AND o.deleted_at IS NULL",
        args![kernel::ids::sha256_hex(token), kernel::time::now()],
    )
    .await
}

/// Make `user_id` a member per the invitation and mark it accepted.
/// `token_field` names the request's field that carried the invitation's token.
pub async fn accept_for(
    tx: &mut Tx,
    ctx: &RequestContext,
    inv: &Invitation,
    (user_id, email): (&str, &str),
    token_field: &str,
) -> Result<()> {
    let now = kernel::time::now();
    // Claimed first, conditionally: of several accepts at once (two tabs, a double click)
    // one joins and the others are told it was used, not that a membership already exists.
    let claimed = tx
        .execute(
            "UPDATE invitations SET accepted_at = $2, accepted_by = $3
             WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL",
            args![&inv.id, now, user_id],
        )
        .await?;
    if claimed == 0 {
        return Err(Error::field(token_field, "invalid", "the invitation is invalid, expired or already used"));
    }
    let existing: i64 = tx
        .scalar(
            "SELECT COUNT(*) FROM memberships WHERE organization_id = $1 AND user_id = $2",
            args![&inv.organization_id, user_id],
        )
        .await?;
    if existing == 0 {
        tx.execute(
            "INSERT INTO memberships (organization_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
            args![&inv.organization_id, user_id, &inv.role, now],
        )
        .await?;
    }
    audit::record(
        tx,
        ctx,
        AuditEntry::new(actions::ORG_MEMBER_JOINED, Severity::Low, "user")
            .by_user(user_id, email)
            .org(&inv.organization_id)
            .target(user_id)
            .describe(format!("joined by invitation as {}", inv.role))
            .meta(serde_json::json!({ "invitation_id": inv.id })),
    )
    .await
}

/// Accept an invitation as the signed-in person, who must own the invited address.
pub async fn accept(db: &Db, ctx: &RequestContext, me: &UserPrincipal, token: &str) -> Result<String> {
    let mut tx = db.begin().await?;
    let inv = find_valid(&mut tx, token)
        .await?
        .ok_or_else(|| Error::field("token", "invalid", "the invitation is invalid, expired or already used"))?;
    if inv.email != me.email {
        return Err(Error::Forbidden("this invitation was sent to another email address".into()));
    }
    accept_for(&mut tx, ctx, &inv, (&me.user_id, &me.email), "token").await?;
    tx.commit().await?;
    Ok(inv.organization_id)
}
