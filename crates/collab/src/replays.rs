//! Editing sessions ("replays"): who edited a page, when, how many changes, and the changes
//! themselves with their times and authors, so a client can play the editing back.

use std::io::Write;

use base64::Engine;
use kernel::db::Conditions;
use kernel::pagination::{Page, PageRequest};
use kernel::{Db, Error, Result, args};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::access::PageRef;

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Replay {
    pub id: String,
    pub page_id: String,
    pub project_id: String,
    pub organization_id: String,
    pub user_id: String,
    /// `live` (an editor's connection), `rest` (a REST write), `restore`, `seed`.
    pub kind: String,
    pub changes: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_change_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<OffsetDateTime>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct ReplayUpdate {
    pub id: i64,
    pub author_id: String,
    /// `edit`, `repair`, `rest`, `restore`, `seed`.
    pub kind: String,
    /// The Yjs update (v1 encoding), base64: apply them in order to play the session back.
    pub update: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayDetail {
    #[serde(flatten)]
    pub replay: Replay,
    /// The document just before the session's first change (the whole state as one Yjs
    /// update, v1, base64; null when the session changed nothing): apply it to an empty
    /// document, then `updates` in order, to play the session back on its own.
    pub base: Option<String>,
    pub updates: Vec<ReplayUpdate>,
}

/// A session's changes are counted from the log when read, so that logging a batch is one
/// statement.
const COLUMNS: &str = "id, page_id, project_id, organization_id, user_id, kind,
    (SELECT COUNT(*) FROM collab_updates u WHERE u.session_id = collab_sessions.id) AS changes, started_at,
    (SELECT MAX(u.created_at) FROM collab_updates u WHERE u.session_id = collab_sessions.id) AS last_change_at, ended_at";

/// Open a session of `kind` for `user_id` on the page; its id.
pub async fn open(db: &Db, page: &PageRef, user_id: &str, kind: &str) -> Result<String> {
    let id = kernel::ids::new_id();
    db.execute(
        "INSERT INTO collab_sessions (id, page_id, project_id, organization_id, user_id, kind, changes, started_at)
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
        args![&id, &page.page_id, &page.project_id, &page.organization_id, user_id, kind, kernel::time::now()],
    )
    .await?;
    Ok(id)
}

pub async fn close(db: &Db, session_id: &str) -> Result<()> {
    db.execute(
        "UPDATE collab_sessions SET ended_at = $2,
                changes = (SELECT COUNT(*) FROM collab_updates u WHERE u.session_id = $1),
                last_change_at = (SELECT MAX(u.created_at) FROM collab_updates u WHERE u.session_id = $1)
          WHERE id = $1",
        args![session_id, kernel::time::now()],
    )
    .await?;
    Ok(())
}

/// The page's sessions, newest first; with `with_changes`, only those that changed something
/// (an editor who only looked opened one too).
pub async fn list(db: &Db, page_id: &str, with_changes: bool, req: PageRequest) -> Result<Page<Replay>> {
    let mut c = Conditions::new();
    c.add("page_id = {}", page_id);
    if with_changes {
        c.add_fixed("EXISTS (SELECT 1 FROM collab_updates u WHERE u.session_id = collab_sessions.id)");
    }
    c.fetch_page(db, COLUMNS, "collab_sessions", "started_at DESC, id", req).await
}

/// A session in the platform admin's list, with the names of its page, project and
/// organization (none for those that are gone).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminReplay {
    #[serde(flatten)]
    pub replay: Replay,
    pub page_name: Option<String>,
    pub project_name: Option<String>,
    pub organization_name: Option<String>,
    /// The editor's name (none for `system` and accounts that are gone).
    pub user_name: Option<String>,
}

/// Every organization's sessions, newest first (the platform admin's view).
pub async fn list_all(db: &Db, organization_id: Option<&str>, req: PageRequest) -> Result<Page<AdminReplay>> {
    let mut c = Conditions::new();
    if let Some(organization_id) = organization_id {
        c.add("organization_id = {}", organization_id);
    }
    let sessions: Page<Replay> = c.fetch_page(db, COLUMNS, "collab_sessions", "started_at DESC, id", req).await?;
    let ids = |field: fn(&Replay) -> &str| sessions.items.iter().map(field).collect::<Vec<&str>>();
    let pages = studio::pages::service::names(db, &ids(|r| &r.page_id)).await?;
    let projects = studio::projects::service::names(db, &ids(|r| &r.project_id)).await?;
    let organizations = foundation::orgs::service::names(db, &ids(|r| &r.organization_id)).await?;
    let editors = foundation::accounts::service::display_names(db, &ids(|r| &r.user_id)).await?;
    Ok(sessions.map(|replay| AdminReplay {
        page_name: pages.get(&replay.page_id).cloned(),
        project_name: projects.get(&replay.project_id).cloned(),
        organization_name: organizations.get(&replay.organization_id).cloned(),
        user_name: editors.get(&replay.user_id).cloned(),
        replay,
    }))
}

pub async fn get(db: &Db, replay_id: &str) -> Result<Replay> {
    db.fetch_optional(
        sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM collab_sessions WHERE id = $1")),
        args![replay_id],
    )
    .await?
    .ok_or_else(|| Error::not_found("replay"))
}

#[derive(sqlx::FromRow)]
struct UpdateRow {
    id: i64,
    author_id: String,
    kind: String,
    data: Vec<u8>,
    created_at: OffsetDateTime,
}

fn encode(rows: Vec<UpdateRow>) -> Vec<ReplayUpdate> {
    rows.into_iter()
        .map(|r| ReplayUpdate {
            id: r.id,
            author_id: r.author_id,
            kind: r.kind,
            update: base64::engine::general_purpose::STANDARD.encode(&r.data),
            created_at: r.created_at,
        })
        .collect()
}

/// A session and its updates, in order.
pub async fn detail(db: &Db, page_id: &str, replay_id: &str) -> Result<ReplayDetail> {
    let replay = get(db, replay_id).await?;
    if replay.page_id != page_id {
        return Err(Error::not_found("replay"));
    }
    let rows: Vec<UpdateRow> = db
        .fetch_all(
            "SELECT id, author_id, kind, data, created_at FROM collab_updates WHERE session_id = $1 ORDER BY id",
            args![replay_id],
        )
        .await?;
    let base = match rows.first() {
        Some(first) => Some(crate::store::state_before(db, page_id, first.id).await?),
        None => None,
    };
    Ok(ReplayDetail {
        replay,
        base: base.map(|state| base64::engine::general_purpose::STANDARD.encode(state)),
        updates: encode(rows),
    })
}

/// The page's whole kept history (sessions and updates) as gzip-compressed JSON.
pub async fn export_history(db: &Db, page: &PageRef) -> Result<Vec<u8>> {
    let sessions: Vec<Replay> = db
        .fetch_all(
            sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM collab_sessions WHERE page_id = $1 ORDER BY started_at, id"
            )),
            args![&page.page_id],
        )
        .await?;
    let rows: Vec<UpdateRow> = db
        .fetch_all(
            "SELECT id, author_id, kind, data, created_at FROM collab_updates WHERE page_id = $1 ORDER BY id",
            args![&page.page_id],
        )
        .await?;
    let base: Option<(i64, Vec<u8>)> = db
        .fetch_optional(
            "SELECT upto_id, state FROM collab_snapshots WHERE page_id = $1 AND kind = 'base'",
            args![&page.page_id],
        )
        .await?;
    let doc = serde_json::json!({
        "format": "socle.collab.history/1",
        "page_id": page.page_id,
        "project_id": page.project_id,
        "exported_at": kernel::time::rfc3339(kernel::time::now()),
        "base": base.map(|(upto, state)| serde_json::json!({
            "upto_id": upto,
            "state": base64::engine::general_purpose::STANDARD.encode(state),
        })),
        "sessions": sessions,
        "updates": encode(rows),
    });
    let bytes = serde_json::to_vec(&doc).map_err(Error::internal)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&bytes).map_err(Error::internal)?;
    gz.finish().map_err(Error::internal)
}

/// Delete a replay. Its changes are part of the page, so they are not undone: the history
/// up to the end of this session is folded into the page's base (time travel and replays
/// then start after it) and the sessions left without changes go.
pub async fn delete(db: &Db, replay_id: &str) -> Result<Replay> {
    let replay = get(db, replay_id).await?;
    let last: Option<(OffsetDateTime,)> = db
        .fetch_optional(
            "SELECT created_at FROM collab_updates WHERE session_id = $1 ORDER BY id DESC LIMIT 1",
            args![replay_id],
        )
        .await?;
    if let Some((t,)) = last {
        crate::store::fold_history(db, &replay.page_id, t + time::Duration::microseconds(1)).await?;
    }
    db.execute("DELETE FROM collab_updates WHERE session_id = $1", args![replay_id]).await?;
    db.execute("DELETE FROM collab_sessions WHERE id = $1", args![replay_id]).await?;
    Ok(replay)
}
