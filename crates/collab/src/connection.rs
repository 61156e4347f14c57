//! One editor's WebSocket: the Yjs sync and awareness protocol (one message per binary
//! frame, as the JavaScript client reads only the first message of a frame).
//!
//! On connect the server sends its sync step 1 and the room's awareness; it answers the
//! client's sync step 1 with a sync step 2; updates (and a sync step 2's content) go to the
//! room's task; awareness updates are relayed to everyone. A read-only connection's updates
//! are dropped. The connection's access is checked again every `recheck_secs`: a removed
//! member or a revoked link is closed with 4403.
//!
//! Liveness, as the reference y-websocket server does it: the connection is pinged every
//! `ping_secs`, and one that has not answered the last ping with a pong is dropped. A
//! client's WebSocket answers by itself as it reads, so this catches a client that vanished
//! (a laptop closed, a phone out of signal) and one that stopped reading, even while it
//! still sends. A write that waits that long (the socket's buffers are full) drops the
//! connection too. Without this such a client would hold its connection, its session and
//! its room open for as long as the operating system keeps the socket, and one that stopped
//! reading would stall its connection's task.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, WebSocket};
use tokio::sync::{broadcast, watch};
use yrs::encoding::read::Cursor;
use yrs::sync::{Message, MessageReader, SyncMessage};
use yrs::updates::decoder::DecoderV1;

use kernel::live_socket::{self, Liveness, Sent, Unresponsive};

use crate::CollabState;
use crate::access::{self, Credential, Grant, PageRef};
use crate::room::{Command, Conn, Frames, NEXT_CONN, Room};
use futures_util::SinkExt;

/// Join the room of `page` (loading it when needed) and register the connection.
async fn join(
    state: &CollabState,
    page: &PageRef,
) -> kernel::Result<(Arc<Room>, u64, watch::Receiver<Option<(u16, String)>>)> {
    let (room, (id, kicked)) = crate::service::room_with(state, page, |room| {
        let id = NEXT_CONN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (kick, kicked) = watch::channel(None);
        if let Ok(mut conns) = room.conns.lock() {
            let conn = Conn { client_ids: Default::default(), kick };
            conns.insert(id, conn);
        }
        (id, kicked)
    })
    .await?;
    Ok((room, id, kicked))
}

/// Write `message` within `limit`; whether the connection is still usable.
async fn send(socket: &mut WebSocket, limit: Option<Duration>, message: WsMessage) -> bool {
    usable(live_socket::send(socket, limit, message).await)
}

/// Whether the connection is still usable after a write (one that waited too long, or a
/// ping, found it unresponsive: counted).
fn usable(sent: Result<(), Sent>) -> bool {
    match sent {
        Ok(()) => true,
        Err(Sent::Closed) => false,
        Err(Sent::Unresponsive(why)) => {
            unresponsive(why);
            false
        }
    }
}

/// A connection dropped for not answering (no pong) or not reading (a write waited past
/// the limit).
fn unresponsive(why: Unresponsive) {
    tracing::debug!(why = why.as_str(), "dropping an unresponsive collab connection");
    metrics::counter!("socle_collab_unresponsive_total").increment(1);
}

/// Counts a connection's task for as long as it runs (see `CollabInner::connection_tasks`).
struct Running(CollabState);

impl Running {
    fn start(state: &CollabState) -> Running {
        state.connection_tasks.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Running(state.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.connection_tasks.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

pub async fn run(state: CollabState, page: PageRef, grant: Grant, credential: Credential, mut socket: WebSocket) {
    let _running = Running::start(&state);
    // The database calls are boxed: awaited inline they would make every open connection's
    // task as large as the largest of them for as long as it lives.
    let (room, conn, mut kicked) = match Box::pin(join(&state, &page)).await {
        Ok(joined) => joined,
        Err(e) => {
            tracing::warn!(error = %e, "could not open a collab room");
            live_socket::close(&mut socket, 1011, "the page could not be opened").await;
            return;
        }
    };
    metrics::gauge!("socle_collab_connections").increment(1.0);
    let session = if grant.read_only {
        None
    } else {
        match Box::pin(crate::replays::open(&state.db, &page, &grant.actor_id, "live")).await {
            Ok(session) => Some(session),
            Err(e) => {
                // Without a session its edits could not be logged: better closed than ignored
                // (the client reconnects).
                tracing::warn!(error = %e, "could not open a collab session");
                Box::pin(room.leave(conn)).await;
                live_socket::close(&mut socket, 1011, "the editing session could not be opened").await;
                metrics::gauge!("socle_collab_connections").decrement(1.0);
                return;
            }
        }
    };
    let mut relay = room.out.subscribe();
    let mut liveness = Liveness::new(Some(Duration::from_secs(state.settings.ping_secs)));
    let limit = liveness.write_limit();
    let (hello, presence) = room.greeting();
    let mut open = send(&mut socket, limit, WsMessage::Binary(hello.into())).await;
    if let Some(p) = presence {
        open = open && send(&mut socket, limit, WsMessage::Binary(p.into())).await;
    }
    // Checked on a task of its own: the connection never waits on its access check (a few
    // database reads) to relay or accept an edit.
    let recheck = AbortOnDrop(tokio::spawn(recheck_access(
        state.clone(),
        page.clone(),
        (credential, grant.actor_id.clone()),
        room.clone(),
        conn,
    )));
    while open {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Binary(bytes))) => {
                    match Box::pin(handle(&state, &room, conn, &grant, session.as_deref(), &bytes)).await {
                        Ok(replies) => {
                            for reply in replies {
                                let reply = WsMessage::Binary(reply.into());
                                if !send(&mut socket, limit, reply).await {
                                    open = false;
                                    break;
                                }
                            }
                        }
                        Err((code, reason)) => {
                            live_socket::close(&mut socket, code, reason).await;
                            open = false;
                        }
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => open = false,
                Some(Ok(WsMessage::Pong(_))) => liveness.answered(),
                // A ping is answered by the WebSocket layer; text is not part of the protocol.
                Some(Ok(_)) => {}
            },
            frame = relay.recv() => {
                match live_socket::within(limit, Box::pin(relay_frames(&mut socket, &mut relay, &room, conn, frame))).await {
                    Some(still_open) => open = still_open,
                    None => {
                        unresponsive(Unresponsive::WriteStalled);
                        open = false;
                    }
                }
            }
            () = liveness.ping_due() => open = usable(liveness.send_ping(&mut socket).await),
            _ = kicked.changed() => {
                let reason = kicked.borrow().clone();
                if let Some((code, reason)) = reason {
                    live_socket::close(&mut socket, code, &reason).await;
                }
                open = false;
            }
        }
    }
    drop(recheck);
    let ids = Box::pin(room.leave(conn)).await;
    // After the room logged every edit it sent: the session counts them all.
    if let Some(session) = session {
        let _ = Box::pin(crate::replays::close(&state.db, &session)).await;
    }
    if let Some(left) = room.forget_clients(&ids) {
        // Other processes drop this connection's presence now, not after its timeout.
        Box::pin(crate::fanout::announce_awareness(&state, &room.page.page_id, &grant.actor_id, &left)).await;
    }
    metrics::gauge!("socle_collab_connections").decrement(1.0);
}

/// Stops a task when dropped (the connection's access check ends with the connection,
/// however that ends).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Over how many milliseconds the connections' checks after an announced access change
/// are spread.
const SPREAD_MS: u64 = 100;

/// Check the connection's access again every `recheck_secs`, and whenever an access change
/// is announced (`kernel::access_changes`, from every process); when it is gone, close the
/// connection (through its kick channel) with 4401 (the token) or 4403 (the page or the
/// access to it).
async fn recheck_access(
    state: CollabState,
    page: PageRef,
    (credential, actor): (Credential, String),
    room: Arc<Room>,
    conn: u64,
) {
    use kernel::access_changes::Scope;
    let mut every = tokio::time::interval(Duration::from_secs(state.settings.recheck_secs.max(1)));
    every.tick().await;
    // A member removed, a link revoked…: checked at once, not at the next tick, when the
    // change concerns this connection's person or key, or its page's project.
    let mut changes = kernel::access_changes::subscribe();
    let concerns = |scope: &Scope| match scope {
        Scope::User(id) | Scope::ApiKey(id) => *id == actor,
        Scope::Project(id) => *id == page.project_id,
    };
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = changes.next_concerning(concerns) => {
                // Spread over a tenth of a second when a change concerns many connections
                // (a project's viewers).
                tokio::time::sleep(Duration::from_millis(conn % SPREAD_MS)).await;
            }
        }
        if room.is_closed() {
            return;
        }
        // Boxed: the task stays small between checks.
        let still = Box::pin(async {
            access::page(&state.foundation, &page.page_id).await?;
            access::authorize(&state.foundation, &page, &credential).await.map(|_| ())
        });
        let closing = match still.await {
            Ok(()) => continue,
            Err(kernel::Error::Unauthorized(_)) => (4401, "the token is no longer valid"),
            Err(kernel::Error::NotFound(_) | kernel::Error::Forbidden(_)) => {
                (4403, "access to this page was revoked, or the page is gone")
            }
            // A database hiccup is not a revocation: check again at the next tick.
            Err(_) => continue,
        };
        room.kick(conn, closing.0, closing.1);
        return;
    }
}

/// Frames relayed in one write: under load a connection sends what has queued up for it
/// with one flush (one system call) rather than one per frame.
const RELAY_BATCH: usize = 256;

/// Send the frames of `first` and of whatever else the room has relayed meanwhile (not this
/// connection's own edits), then flush. Returns whether the connection is still open.
async fn relay_frames(
    socket: &mut WebSocket,
    relay: &mut broadcast::Receiver<Frames>,
    room: &Room,
    conn: u64,
    first: Result<Frames, broadcast::error::RecvError>,
) -> bool {
    use broadcast::error::{RecvError, TryRecvError};
    let mut next = first;
    let mut fed = 0;
    loop {
        match next {
            Ok(frames) => {
                for frame in frames.iter().filter(|f| f.skip != Some(conn)) {
                    if socket.feed(WsMessage::Binary(frame.bytes.clone())).await.is_err() {
                        return false;
                    }
                    fed += 1;
                }
            }
            // Fell behind: send the whole document (the client keeps what it has).
            Err(RecvError::Lagged(_)) => {
                metrics::counter!("socle_collab_resyncs_total").increment(1);
                if socket.feed(WsMessage::Binary(room.full_update().into())).await.is_err() {
                    return false;
                }
                fed += 1;
            }
            Err(RecvError::Closed) => {
                let _ = socket.flush().await;
                return false;
            }
        }
        if fed >= RELAY_BATCH {
            // The rest waits for the next turn, after the flush.
            break;
        }
        next = match relay.try_recv() {
            Ok(frames) => Ok(frames),
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
        };
    }
    socket.flush().await.is_ok()
}

/// Handle one frame (which may hold several messages); what to answer this connection.
async fn handle(
    state: &CollabState,
    room: &Room,
    conn: u64,
    grant: &Grant,
    session: Option<&str>,
    bytes: &[u8],
) -> Result<Vec<Vec<u8>>, (u16, &'static str)> {
    let received = std::time::Instant::now();
    let mut replies = Vec::new();
    let mut edits = Vec::new();
    let mut awareness = Vec::new();
    {
        let mut decoder = DecoderV1::new(Cursor::new(bytes));
        for message in MessageReader::new(&mut decoder) {
            // 4400: the client sent what no client of the protocol sends, and is not to
            // reconnect (y-websocket stops on 4400–4499).
            match message.map_err(|_| (4400, "the message could not be read"))? {
                Message::Sync(SyncMessage::SyncStep1(sv)) => replies.push(room.diff(&sv)),
                Message::Sync(SyncMessage::SyncStep2(update)) | Message::Sync(SyncMessage::Update(update)) => {
                    if !grant.read_only && !crate::store::is_empty_update(&update) {
                        edits.push(update);
                    }
                }
                Message::Awareness(update) => awareness.push(update),
                Message::AwarenessQuery => replies.extend(room.presence_frame()),
                Message::Auth(_) | Message::Custom(..) => {}
            }
        }
    }
    if let Some(session) = session {
        for data in edits {
            let command =
                Command::Edit { conn, session: session.to_string(), author: grant.actor_id.clone(), data, received };
            if room.inbox.send(Box::new(command)).await.is_err() {
                // The room stopped (a shutdown) or failed: going away, the client reconnects.
                return Err((1001, "the room closed; reconnect"));
            }
        }
    }
    for update in awareness {
        let encoded = yrs::updates::encoder::Encode::encode_v1(&update);
        if room.awareness_update(Some(conn), &grant.actor_id, update).is_some() {
            crate::fanout::announce_awareness(state, &room.page.page_id, &grant.actor_id, &encoded).await;
        }
    }
    Ok(replies)
}
