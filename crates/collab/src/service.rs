//! Collab's service functions: presence, time travel, restore, and writing a document into
//! the live page (REST writes, restores).

use kernel::context::RequestContext;
use kernel::principal::Principal;
use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use utoipa::ToSchema;

use crate::CollabState;
use crate::access::{self, PageRef};
use crate::room::{Command, Room};

#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceEntry {
    /// The Yjs awareness client id.
    pub client_id: u64,
    /// The account (or API key, or `share:…` viewer) behind it, when known.
    pub user_id: Option<String>,
    /// The awareness state the client published (name, color, cursor…).
    #[schema(value_type = Object)]
    pub state: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Presence {
    pub page_id: String,
    /// Connections to this page on this process.
    pub connections: usize,
    pub items: Vec<PresenceEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentAt {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub time: OffsetDateTime,
    #[schema(value_type = Object)]
    pub document: Value,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RestoreInput {
    /// Return to the page as it was at this time (RFC 3339)…
    pub time: Option<String>,
    /// …or to this Studio version of the page.
    pub version: Option<i64>,
}

/// The page, checked for `principal` (a member of its organization).
pub async fn page_for(state: &CollabState, principal: &Principal, page_id: &str) -> Result<PageRef> {
    let page = access::page(&state.foundation, page_id).await?;
    access::editor(&state.foundation, &page, principal).await?;
    Ok(page)
}

/// The room of `page`, opening it when this process has none.
pub async fn room_of(state: &CollabState, page: &PageRef) -> Result<std::sync::Arc<Room>> {
    room_with(state, page, |_| ()).await.map(|(room, ())| room)
}

/// The room of `page` (opened when this process has none) and what `enter` does with it
/// while the room list is locked: a room cannot be unloaded between being found and
/// `enter` registering a connection in it.
pub async fn room_with<T>(
    state: &CollabState,
    page: &PageRef,
    enter: impl FnOnce(&std::sync::Arc<Room>) -> T,
) -> Result<(std::sync::Arc<Room>, T)> {
    let mut rooms = state.rooms.lock().await;
    if state.stopping.load(std::sync::atomic::Ordering::Acquire) {
        return Err(Error::Unavailable("the server is shutting down".into()));
    }
    let room = match rooms.get(&page.page_id).filter(|r| !r.is_closed()) {
        Some(room) => room.clone(),
        None => {
            let room = crate::room::open(state, page).await?;
            rooms.insert(page.page_id.clone(), room.clone());
            room
        }
    };
    let entered = enter(&room);
    Ok((room, entered))
}

pub async fn presence(state: &CollabState, principal: &Principal, page_id: &str) -> Result<Presence> {
    let page = page_for(state, principal, page_id).await?;
    let room = state.rooms.lock().await.get(&page.page_id).cloned();
    let Some(room) = room else { return Ok(Presence { page_id: page.page_id, connections: 0, items: Vec::new() }) };
    let owners = room.owners.lock().map(|o| o.clone()).unwrap_or_default();
    let mut items: Vec<PresenceEntry> = room
        .awareness
        .lock()
        .map(|aw| {
            aw.iter()
                .filter_map(|(id, s)| {
                    let data = s.data?;
                    let state = serde_json::from_str(&data).unwrap_or(Value::Null);
                    Some(PresenceEntry { client_id: id.get(), user_id: owners.get(&id.get()).cloned(), state })
                })
                .collect()
        })
        .unwrap_or_default();
    items.sort_by_key(|e| e.client_id);
    Ok(Presence { page_id: page.page_id, connections: room.connection_count(), items })
}

/// Make the live page hold `document` as one change of `kind` by `author` (connected
/// editors receive it). A room that closes meanwhile is reopened.
pub async fn write_document(
    state: &CollabState,
    page: &PageRef,
    document: Value,
    author: &str,
    kind: &'static str,
) -> Result<()> {
    for _ in 0..3 {
        let room = room_of(state, page).await?;
        let (reply, answer) = oneshot::channel();
        let command = Command::Write { document: document.clone(), author: author.to_string(), kind, reply };
        if room.inbox.send(Box::new(command)).await.is_err() {
            continue;
        }
        if let Ok(result) = answer.await {
            return result;
        }
    }
    Err(Error::Unavailable("the page's live room is restarting; try again".into()))
}

pub fn parse_time(value: &str) -> Result<OffsetDateTime> {
    kernel::time::parse_rfc3339(value).ok_or_else(|| {
        Error::field("time", "invalid_format", "time is an RFC 3339 date and time, e.g. 2026-01-31T12:00:00Z")
    })
}

pub async fn document_at(state: &CollabState, principal: &Principal, page_id: &str, time: &str) -> Result<DocumentAt> {
    let time = parse_time(time)?;
    let page = page_for(state, principal, page_id).await?;
    let document = crate::store::document_at(&state.db, &page.page_id, time).await?;
    Ok(DocumentAt { time, document })
}

pub const PAGE_LIVE_RESTORED: &str = "PAGE_LIVE_RESTORED";

/// Return the page to an earlier time or version, as a new change (history is kept).
pub async fn restore(
    state: &CollabState,
    ctx: &RequestContext,
    principal: &Principal,
    page_id: &str,
    input: RestoreInput,
) -> Result<Value> {
    let page = page_for(state, principal, page_id).await?;
    let (document, what) = match (&input.time, input.version) {
        (Some(t), None) => {
            let time = parse_time(t)?;
            (crate::store::document_at(&state.db, &page.page_id, time).await?, format!("as it was at {t}"))
        }
        (None, Some(v)) => {
            let version =
                studio::pages::service::version(&state.db, principal, &page.project_id, &page.page_id, v).await?;
            (version.document.0, format!("to version {v}"))
        }
        _ => return Err(Error::field("time", "required", "give either time or version")),
    };
    if let Err(errors) = crate::validation::check(&document) {
        return Err(Error::Validation(errors));
    }
    write_document(state, &page, document, principal.actor_id(), "restore").await?;
    let mut tx = state.db.begin().await?;
    foundation::audit::record(
        &mut tx,
        ctx,
        foundation::audit::AuditEntry::new(PAGE_LIVE_RESTORED, foundation::audit::Severity::Medium, "page")
            .by(principal)
            .org(&page.organization_id)
            .target(&page.page_id)
            .describe(format!("live page restored {what}")),
    )
    .await?;
    tx.commit().await?;
    let room = room_of(state, &page).await?;
    Ok(room.document())
}
