//! Public share links: a read-only preview of a project's pages through an unguessable
//! token, optionally expiring, revocable. Only the token's SHA-256 is stored.

use kernel::context::RequestContext;
use kernel::principal::Principal;
use kernel::{Db, Error, OrgRole, Result, args};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::access;
use crate::audit::{self, entry};
use crate::pages;

/// Longest a link may live: one year.
const MAX_TTL_SECS: i64 = 365 * 24 * 3600;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ShareLink {
    pub id: String,
    pub project_id: String,
    /// The first characters of the token, to recognize it.
    pub token_prefix: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<OffsetDateTime>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedShareLink {
    #[serde(flatten)]
    pub link: ShareLink,
    /// Shown once: the token for `GET /api/v1/studio/share/{token}`.
    pub token: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NewShareLink {
    /// Lifetime in seconds (at most one year); none = until revoked.
    pub expires_in_secs: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SharedProject {
    pub name: String,
    pub description: String,
    pub pages: Vec<SharedPage>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SharedPage {
    pub name: String,
    pub slug: String,
    pub seo_title: String,
    pub seo_description: String,
    #[schema(value_type = Object)]
    pub document: Value,
}

const COLUMNS: &str = "id, project_id, token_prefix, created_by, created_at, expires_at, revoked_at";

pub async fn create(
    db: &Db,
    ai: &kernel::ai::Ai,
    ctx: &RequestContext,
    principal: &Principal,
    project_id: &str,
    input: NewShareLink,
) -> Result<CreatedShareLink> {
    let p = access(db, principal, project_id, OrgRole::Member).await?;
    if ai.configured() {
        // A link publishes the pages: their text is moderated first.
        let mut text = String::new();
        for page in crate::pages::service::all_current(db, project_id).await? {
            for t in crate::pages::document::texts(&page.document.0) {
                if text.len() + t.len() > 20_000 {
                    break;
                }
                text.push_str(&t);
                text.push('\n');
            }
        }
        ai.check(&p.organization_id, "pages", &text).await?;
    }
    let expires_at = match input.expires_in_secs {
        None => None,
        Some(s) if (60..=MAX_TTL_SECS).contains(&s) => Some(kernel::time::now() + time::Duration::seconds(s)),
        Some(_) => {
            return Err(Error::field(
                "expires_in_secs",
                "out_of_range",
                "expires_in_secs must be between 60 and 31536000",
            ));
        }
    };
    let token = format!("shr_{}", kernel::ids::random_token(24));
    let id = kernel::ids::new_id();
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO studio_share_links (id, project_id, token_hash, token_prefix, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            &id,
            project_id,
            kernel::ids::sha256_hex(&token),
            &token[..10],
            principal.actor_id(),
            kernel::time::now(),
            expires_at
        ],
    )
    .await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(
            audit::SHARE_LINK_CREATED,
            "share_link",
            principal,
            &p.organization_id,
            &id,
            format!("share link for project {project_id}"),
        ),
    )
    .await?;
    tx.commit().await?;
    let link = db
        .fetch_one(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM studio_share_links WHERE id = $1")), args![&id])
        .await?;
    Ok(CreatedShareLink { link, token })
}

pub async fn list(db: &Db, principal: &Principal, project_id: &str) -> Result<Vec<ShareLink>> {
    access(db, principal, project_id, OrgRole::Member).await?;
    db.fetch_all(
        sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM studio_share_links WHERE project_id = $1 ORDER BY created_at DESC, id"
        )),
        args![project_id],
    )
    .await
}

pub async fn revoke(
    db: &Db,
    ctx: &RequestContext,
    principal: &Principal,
    project_id: &str,
    link_id: &str,
) -> Result<()> {
    let p = access(db, principal, project_id, OrgRole::Member).await?;
    let mut tx = db.begin().await?;
    let n = tx
        .execute(
            "UPDATE studio_share_links SET revoked_at = $3 WHERE id = $1 AND project_id = $2 AND revoked_at IS NULL",
            args![link_id, project_id, kernel::time::now()],
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found("share link"));
    }
    kernel::access_changes::announce(&mut tx, kernel::access_changes::Scope::Project(project_id.to_string())).await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        entry(audit::SHARE_LINK_REVOKED, "share_link", principal, &p.organization_id, link_id, "share link revoked"),
    )
    .await?;
    tx.commit().await
}

/// The preview behind a token; unknown, revoked and expired tokens are all a 404.
pub async fn open(db: &Db, token: &str) -> Result<SharedProject> {
    let row: Option<(String, String, String)> = db
        .fetch_optional(
            "SELECT p.id, p.name, p.description FROM studio_share_links l JOIN studio_projects p ON p.id = l.project_id
              WHERE l.token_hash = $1 AND l.revoked_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > $2)
                AND p.deleted_at IS NULL",
            args![kernel::ids::sha256_hex(token), kernel::time::now()],
        )
        .await?;
    let (project_id, name, description) = row.ok_or_else(|| Error::not_found("share link"))?;
    let pages = pages::service::all_current(db, &project_id)
        .await?
        .into_iter()
        .map(|p| SharedPage {
            name: p.name,
            slug: p.slug,
            seo_title: p.seo_title,
            seo_description: p.seo_description,
            document: p.document.0,
        })
        .collect();
    Ok(SharedProject { name, description, pages })
}

/// The project a live share token opens, if it still does (read-only live viewers).
pub async fn project_of_token(db: &Db, token: &str) -> Result<Option<String>> {
    db.fetch_optional(
        "SELECT l.project_id FROM studio_share_links l JOIN studio_projects p ON p.id = l.project_id
          WHERE l.token_hash = $1 AND l.revoked_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > $2)
            AND p.deleted_at IS NULL",
        args![kernel::ids::sha256_hex(token), kernel::time::now()],
    )
    .await
    .map(|row: Option<(String,)>| row.map(|(id,)| id))
}
