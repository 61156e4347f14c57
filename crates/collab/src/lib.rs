//! Collab: real-time collaborative editing of Studio pages over the Yjs protocol.
//!
//! Each page is a room (`/api/v1/collab/pages/{page_id}`, WebSocket) holding the page's
//! live Y.Doc ([`mapping`] documents how the page JSON maps to Yjs types). Every accepted
//! change is validated against the page schema ([`validation`]), logged with its author and
//! time ([`store`]) before it is relayed, and written back to the Studio page, so a REST
//! read sees it; Studio versions are taken at save points (the last editor leaves, the
//! room unloads). REST writes of a page reach the room through the outbox. Editing
//! sessions can be replayed ([`replays`]), the page read as it was at any kept time and
//! restored ([`service`]). With several processes on PostgreSQL, changes and presence fan
//! out through `pg_notify` ([`fanout`]).

pub mod access;
mod connection;
pub mod fanout;
pub mod mapping;
pub mod replays;
pub mod room;
mod routes;
pub mod service;
pub mod settings;
pub mod store;
mod touched;
pub mod validation;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use foundation::FoundationState;
use kernel::outbox::{Event, Listener, ListenerFuture};
use kernel::{Db, Deps, Module, Tx};
use tokio::sync::Mutex;
use utoipa_axum::router::OpenApiRouter;

#[derive(Clone)]
pub struct CollabState(Arc<CollabInner>);

pub struct CollabInner {
    pub db: Db,
    pub settings: settings::CollabConfig,
    pub foundation: FoundationState,
    /// This process's open rooms, by page id.
    pub rooms: Mutex<HashMap<String, Arc<room::Room>>>,
    /// Names this process in the fan-out, so it ignores its own announcements.
    pub process_id: String,
    /// Whether this process hears other processes' changes (PostgreSQL: LISTEN in place).
    pub listening: kernel::listen::Readiness,
    /// REST writes to apply to live rooms, in the order their events were dispatched.
    rest_writes: tokio::sync::mpsc::UnboundedSender<RestWrite>,
    rest_queue: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<RestWrite>>>,
    /// Set when the process shuts down: no room opens any more.
    pub stopping: AtomicBool,
    /// Connection tasks running (a shutdown waits for them: each closes its editing
    /// session on its way out).
    pub connection_tasks: AtomicUsize,
}

/// A page document written through Studio, on its way to the page's room.
struct RestWrite {
    page_id: String,
    author: String,
    document: serde_json::Value,
}

impl std::ops::Deref for CollabState {
    type Target = CollabInner;

    fn deref(&self) -> &CollabInner {
        &self.0
    }
}

impl axum::extract::FromRef<CollabState> for FoundationState {
    fn from_ref(s: &CollabState) -> FoundationState {
        s.foundation.clone()
    }
}

impl CollabState {
    pub fn new(db: Db, settings: settings::CollabConfig, foundation: FoundationState) -> Self {
        let (rest_writes, queue) = tokio::sync::mpsc::unbounded_channel();
        CollabState(Arc::new(CollabInner {
            db,
            settings,
            foundation,
            rooms: Mutex::new(HashMap::new()),
            process_id: kernel::ids::random_token(16),
            listening: kernel::listen::Readiness::default(),
            rest_writes,
            rest_queue: std::sync::Mutex::new(Some(queue)),
            stopping: AtomicBool::new(false),
            connection_tasks: AtomicUsize::new(0),
        }))
    }
}

/// Collab's front door: the rooms and their REST companions under `/api/v1/collab`, the
/// admin's replays, the fan-out listener, the history retention, and the reaction to REST
/// writes of pages.
pub const MODULE: kernel::module::ModuleDef = kernel::module::ModuleDef { name: "collab", migrations, build: module };

fn module(deps: &mut Deps) -> anyhow::Result<Module> {
    let state = CollabState::new(deps.db.clone(), deps.section(settings::SECTION)?, deps.get::<FoundationState>()?);
    deps.provide(state.clone());
    describe_metrics();
    let (fanout, retention, writer, rooms) = (state.clone(), state.clone(), state.clone(), state.clone());
    let mut module = Module::new("collab")
        .api(router(state.clone()))
        .task(kernel::module::Task::always("collab fan-out", move |stop| async move {
            let ready = fanout.listening.clone();
            let db = fanout.db.clone();
            kernel::listen::listen(&db, fanout::CHANNEL, "collab", &ready, stop, |payload| {
                let state = fanout.clone();
                async move { fanout::receive(&state, &payload).await }
            })
            .await;
        }))
        .task(kernel::module::Task::always("collab REST writes", move |stop| apply_rest_writes(writer, stop)))
        .task(kernel::module::Task::always("collab rooms at shutdown", move |stop| stop_rooms(rooms, stop)))
        .task(kernel::module::Task::in_role("collab history retention", "scheduler", move |stop| {
            keep_history(retention, stop)
        }));
    module.listeners = vec![Arc::new(RestWrites(state))];
    Ok(module)
}

pub fn router(state: CollabState) -> OpenApiRouter {
    OpenApiRouter::new().nest("/collab", routes::routes()).nest("/admin", routes::admin_routes()).with_state(state)
}

/// Once an hour, fold editing history older than `history_days` into each page's base.
async fn keep_history(state: CollabState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
        if state.settings.history_days <= 0 {
            continue;
        }
        let before = kernel::time::now() - time::Duration::days(state.settings.history_days);
        match store::pages_with_history_before(&state.db, before).await {
            Ok(pages) => {
                for page in pages {
                    use futures_util::FutureExt;
                    // One page that makes yrs panic must not end the folding of every page for
                    // the life of the process.
                    let folded = std::panic::AssertUnwindSafe(store::fold_history(&state.db, &page, before));
                    match folded.catch_unwind().await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::warn!(error = %e, page_id = %page, "could not fold old collab history"),
                        Err(_) => tracing::error!(page_id = %page, "folding old collab history panicked"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list collab history to fold"),
        }
    }
}

/// How long a shutdown waits for the rooms to store their pages and their connections to
/// close.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// When the process shuts down, every open room stores its page JSON, a version and a
/// checkpoint, and closes its connections (1001), before the database closes (the process
/// waits for its tasks, this one included, first).
async fn stop_rooms(state: CollabState, mut stop: tokio::sync::watch::Receiver<bool>) {
    if stop.wait_for(|stopping| *stopping).await.is_err() {
        return;
    }
    let stopped = async {
        let rooms: Vec<Arc<room::Room>> = {
            let rooms = state.rooms.lock().await;
            // Under the rooms' lock: no room opens after this list is taken.
            state.stopping.store(true, Ordering::Release);
            rooms.values().cloned().collect()
        };
        let mut waits = Vec::with_capacity(rooms.len());
        for room in &rooms {
            let (done, stopped) = tokio::sync::oneshot::channel();
            if room.inbox.send(Box::new(room::Command::Stop { done })).await.is_ok() {
                waits.push(stopped);
            }
        }
        for stopped in waits {
            let _ = stopped.await;
        }
        // The closed connections end their editing sessions on their way out.
        while state.connection_tasks.load(Ordering::Acquire) > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    if tokio::time::timeout(STOP_WAIT, stopped).await.is_err() {
        tracing::warn!("some collab rooms had not stopped after {} s", STOP_WAIT.as_secs());
    }
}

/// Apply REST writes to their rooms one at a time, in the order they were dispatched (two
/// quick writes of one page land in their order).
async fn apply_rest_writes(state: CollabState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let Some(mut queue) = state.rest_queue.lock().ok().and_then(|mut q| q.take()) else { return };
    loop {
        let write = tokio::select! {
            w = queue.recv() => match w { Some(w) => w, None => return },
            _ = stop.changed() => return,
        };
        let Ok(page) = access::page(&state.foundation, &write.page_id).await else { continue };
        if let Err(e) = service::write_document(&state, &page, write.document, &write.author, "rest").await {
            tracing::warn!(error = %e, page_id = %write.page_id, "could not apply a REST write to the live page");
        }
    }
}

/// A page's document written through Studio's REST API reaches its live room (and from
/// there its editors, on every process); a deleted page's live history goes with it.
struct RestWrites(CollabState);

impl Listener for RestWrites {
    fn name(&self) -> &'static str {
        "collab.rest_writes"
    }

    fn on_event<'a>(&'a self, event: &'a Event, tx: &'a mut Tx) -> ListenerFuture<'a> {
        Box::pin(async move {
            if event.kind == studio::pages::service::PAGE_DELETED_EVENT {
                // The page is gone: so is its live history (in this transaction), and its
                // room in this process.
                if let Some(page_id) = event.payload["page_id"].as_str() {
                    store::forget_page(tx, page_id).await?;
                    let room = self.0.rooms.lock().await.remove(page_id);
                    if let Some(room) = room {
                        room.close(4403, "the page was deleted");
                    }
                }
                return Ok(());
            }
            if event.kind != studio::pages::service::PAGE_DOCUMENT_WRITTEN {
                return Ok(());
            }
            let p = &event.payload;
            let (Some(page_id), Some(author)) = (p["page_id"].as_str(), p["author_id"].as_str()) else { return Ok(()) };
            // The room's own transaction must not wait for this one (SQLite has one writer):
            // the write is queued, applied once the event is marked delivered, in order. A
            // crash in between is caught up when the room next loads (the page row is newer
            // than its log).
            let _ = self.0.rest_writes.send(RestWrite {
                page_id: page_id.to_string(),
                author: author.to_string(),
                document: p["document"].clone(),
            });
            Ok(())
        })
    }
}

pub fn migrations() -> Vec<kernel::migrate::Migration> {
    vec![kernel::migrate::Migration {
        module: "collab",
        version: 1,
        name: "collab",
        script: include_str!("../migrations/0001_collab.sql"),
    }]
}

pub fn describe_metrics() {
    metrics::describe_gauge!("socle_collab_rooms", "Collab rooms open in this process.");
    metrics::describe_gauge!("socle_collab_connections", "Open collab WebSocket connections.");
    metrics::describe_counter!("socle_collab_updates_total", "Live editing updates accepted.");
    metrics::describe_counter!(
        "socle_collab_repairs_total",
        "Batches of live edits repaired because they made a page invalid."
    );
    metrics::describe_counter!(
        "socle_collab_resyncs_total",
        "Connections that fell behind their room's relay and were sent the whole document."
    );
    metrics::describe_counter!(
        "socle_collab_unresponsive_total",
        "Connections dropped for not answering a ping, or for not reading what was sent to them."
    );
    metrics::describe_histogram!(
        "socle_collab_relay_seconds",
        metrics::Unit::Seconds,
        "Time from a live edit's arrival to its relay (applied, checked and logged), in seconds."
    );
}
