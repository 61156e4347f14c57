//! A room: the live Y.Doc of one page, the connections editing it, and the one task that
//! changes it. Edits go through the room's task in arrival order: it applies a batch,
//! checks the page is still valid (repairing what is not), logs the batch in one
//! transaction, and only then relays it. Reads (a client's sync step 1, awareness) take
//! the document's lock briefly and never across an `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use yrs::sync::{Awareness, AwarenessUpdate, Message, SyncMessage};
use yrs::updates::encoder::Encode;
use yrs::{ReadTxn, StateVector, Transact};

use kernel::error::FieldError;

use crate::access::PageRef;
use crate::store::{self, NewUpdate};
use crate::{CollabState, mapping, touched, validation};

/// Batches of frames a slow connection may fall behind before it is resynchronised (with
/// the whole document). The buffer is allocated with the room, so it is kept small.
const RELAY_BUFFER: usize = 32;
/// Edits the room's task takes in one batch (one transaction).
const BATCH: usize = 256;
/// Awareness client ids one connection may speak for (a client has one; a few tabs sharing
/// a connection is the most a real client does).
const MAX_CLIENTS_PER_CONNECTION: usize = 4;
/// The largest awareness state relayed (bytes of JSON).
const MAX_AWARENESS_STATE: usize = 8 * 1024;

/// A frame for the room's connections; `skip` is the connection it came from. The bytes are
/// shared: relaying a frame to many connections copies none of it.
pub struct Frame {
    pub skip: Option<u64>,
    pub bytes: Bytes,
}

/// What the room relays at once: the frames of one batch, in order (one message on the
/// room's channel, one wake-up per connection, however many edits the batch held).
pub type Frames = Arc<[Frame]>;

impl Frame {
    fn to_all(bytes: Vec<u8>) -> Frames {
        Arc::from(vec![Frame { skip: None, bytes: bytes.into() }])
    }
}

/// What the room's task is asked to do.
pub enum Command {
    /// A live editor's update, and when its connection received it.
    Edit { conn: u64, session: String, author: String, data: Vec<u8>, received: Instant },
    /// Make the document hold `document` (a REST write, a restore), as one logged change.
    Write { document: Value, author: String, kind: &'static str, reply: oneshot::Sender<kernel::Result<()>> },
    /// Another process logged rows `first` to `id`: apply them (inline, or read from the
    /// log).
    Remote { data: Option<Vec<u8>>, first: i64, id: i64 },
    /// A connection left; `done` is told once the edits it sent before are logged (its
    /// editing session is closed then, so that it counts them all).
    Left { done: oneshot::Sender<()> },
    /// The process is shutting down: store the page, take a version and a checkpoint, close
    /// the connections, and tell `done`.
    Stop { done: oneshot::Sender<()> },
}

/// A connection in the room.
pub struct Conn {
    /// The awareness client ids this connection announced.
    pub client_ids: HashSet<u64>,
    /// Closes the connection with a WebSocket close code and reason.
    pub kick: watch::Sender<Option<(u16, String)>>,
}

pub struct Room {
    pub page: PageRef,
    pub awareness: Mutex<Awareness>,
    /// Boxed: a channel allocates room for its first block of messages with the room.
    pub inbox: mpsc::Sender<Box<Command>>,
    pub out: broadcast::Sender<Frames>,
    pub conns: Mutex<HashMap<u64, Conn>>,
    /// Awareness client id → the actor behind it (this process's connections and others').
    pub owners: Mutex<HashMap<u64, String>>,
    /// The last log row this room's document holds.
    pub last_id: AtomicI64,
    closed: AtomicBool,
    last_left: Mutex<Instant>,
}

pub fn sync_frame(msg: SyncMessage) -> Vec<u8> {
    Message::Sync(msg).encode_v1()
}

pub fn awareness_frame(update: AwarenessUpdate) -> Vec<u8> {
    Message::Awareness(update).encode_v1()
}

impl Room {
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The document's state vector and, when anyone is present, the awareness states: what
    /// a joining client is greeted with.
    pub fn greeting(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        let Ok(aw) = self.awareness.lock() else { return (Vec::new(), None) };
        let sv = aw.doc().transact().state_vector();
        let presence = aw.update().ok().filter(|u| !u.clients.is_empty()).map(awareness_frame);
        (sync_frame(SyncMessage::SyncStep1(sv)), presence)
    }

    /// What `sv` lacks of the document (the answer to a client's sync step 1).
    pub fn diff(&self, sv: &StateVector) -> Vec<u8> {
        let Ok(aw) = self.awareness.lock() else { return Vec::new() };
        let update = aw.doc().transact().encode_diff_v1(sv);
        sync_frame(SyncMessage::SyncStep2(update))
    }

    /// The whole document as one update message (for a connection that fell behind).
    pub fn full_update(&self) -> Vec<u8> {
        self.diff(&StateVector::default())
    }

    /// The whole document as one v1 update (a checkpoint); none if its lock is poisoned.
    fn whole_state(&self) -> Option<Vec<u8>> {
        let aw = self.awareness.lock().ok()?;
        Some(store::whole_state(&aw.doc().transact()))
    }

    pub fn presence_frame(&self) -> Option<Vec<u8>> {
        let aw = self.awareness.lock().ok()?;
        aw.update().ok().map(awareness_frame)
    }

    pub fn document(&self) -> Value {
        self.awareness.lock().map(|aw| mapping::to_json(aw.doc())).unwrap_or(Value::Null)
    }

    /// Apply an awareness update from connection `conn` (or another process when `conn` is
    /// `None`) and relay it to every connection, its sender included (a client alone in the
    /// room hears its own heartbeat, which keeps it from reconnecting).
    pub fn awareness_update(&self, conn: Option<u64>, actor: &str, update: AwarenessUpdate) -> Option<Vec<u8>> {
        let mut update = update;
        // No state larger than a presence needs travels (it is relayed to everyone).
        update.clients.retain(|_, entry| entry.json.len() <= MAX_AWARENESS_STATE);
        if let Some(conn) = conn
            && let Ok(mut conns) = self.conns.lock()
        {
            // A connection speaks only for its own clients, and for a few: states of client ids
            // another connection (of this process or another) announced are dropped, so no one
            // can remove or impersonate others, nor flood the room with made-up clients.
            let known: HashSet<u64> = self.owners.lock().map(|o| o.keys().copied().collect()).unwrap_or_default();
            let mine: HashSet<u64> = conns.get(&conn).map(|c| c.client_ids.clone()).unwrap_or_default();
            let mut room_for = MAX_CLIENTS_PER_CONNECTION.saturating_sub(mine.len());
            update.clients.retain(|client, _| {
                let id = client.get();
                if mine.contains(&id) {
                    return true;
                }
                if known.contains(&id) || room_for == 0 {
                    return false;
                }
                room_for -= 1;
                true
            });
            if let Some(c) = conns.get_mut(&conn) {
                c.client_ids.extend(update.clients.keys().map(|c| c.get()));
            }
        }
        if update.clients.is_empty() {
            return None;
        }
        if let Ok(mut owners) = self.owners.lock() {
            for (client, entry) in &update.clients {
                // A null state is a client leaving: its id is free again.
                if &*entry.json == "null" {
                    owners.remove(&client.get());
                } else {
                    owners.insert(client.get(), actor.to_string());
                }
            }
        }
        let frame = awareness_frame(update.clone());
        if let Ok(mut aw) = self.awareness.lock()
            && aw.apply_update(update).is_err()
        {
            return None;
        }
        let _ = self.out.send(Frame::to_all(frame.clone()));
        Some(frame)
    }

    /// Remove awareness `ids` (a connection left, or went quiet) and tell the room.
    /// Returns the awareness update (v1), for other processes.
    pub fn forget_clients(&self, ids: &[u64]) -> Option<Vec<u8>> {
        if ids.is_empty() {
            return None;
        }
        let update = {
            let mut aw = self.awareness.lock().ok()?;
            let mut removed = Vec::new();
            for id in ids {
                let client = yrs::block::ClientID::new(*id);
                if aw.meta(client).is_some() {
                    aw.remove_state(client);
                    removed.push(client);
                }
            }
            if removed.is_empty() {
                return None;
            }
            aw.update_with_clients(removed).ok()?
        };
        let encoded = update.encode_v1();
        let frame = awareness_frame(update);
        if let Ok(mut owners) = self.owners.lock() {
            for id in ids {
                owners.remove(id);
            }
        }
        let _ = self.out.send(Frame::to_all(frame));
        Some(encoded)
    }

    /// Close the room: its connections are closed with `code` and its task stops writing.
    pub fn close(&self, code: u16, reason: &str) {
        self.closed.store(true, Ordering::Release);
        self.kick_all(code, reason);
    }

    /// Close connection `conn` with a WebSocket close code and reason.
    pub fn kick(&self, conn: u64, code: u16, reason: &str) {
        if let Ok(conns) = self.conns.lock()
            && let Some(c) = conns.get(&conn)
        {
            let _ = c.kick.send(Some((code, reason.to_string())));
        }
    }

    /// Close every connection not already being closed (one expelled keeps its own reason).
    fn kick_all(&self, code: u16, reason: &str) {
        if let Ok(conns) = self.conns.lock() {
            for c in conns.values().filter(|c| c.kick.borrow().is_none()) {
                let _ = c.kick.send(Some((code, reason.to_string())));
            }
        }
    }

    pub fn connection_count(&self) -> usize {
        self.conns.lock().map(|c| c.len()).unwrap_or(0)
    }
}

/// A live edit waiting in a batch.
struct LiveEdit {
    conn: u64,
    /// When its connection received it (the relay's delay is measured from then).
    received: Instant,
    update: NewUpdate,
}

/// The room's task state.
struct Worker {
    state: CollabState,
    room: Arc<Room>,
    /// What the document's transactions changed (recorded by an observer).
    touched: touched::Recorder,
    /// The page JSON's size when the document was last found valid (none while it is not
    /// known valid), and the free texts edited since (their largest size in the page JSON):
    /// with it, a bound on its size now.
    valid_size: Option<usize>,
    texts_since: HashMap<String, usize>,
    /// Who changed the page since its last save point (a Studio version).
    unsaved_by: Option<String>,
    /// The last log row this process wrote for the page (decides which process repairs
    /// what two processes' edits made invalid together).
    own_last_id: i64,
    rows_since_checkpoint: usize,
    /// When the page JSON was last stored, and who made the logged changes it does not hold
    /// yet (it is materialised from the document when written).
    document_written: Instant,
    document_pending: Option<String>,
}

/// How long a leaving connection waits for the room to log the edits it sent.
const LEAVE_WAIT: Duration = Duration::from_secs(10);

/// While edits stream in, the page JSON is stored at most this often (the log, which is
/// the truth, takes every batch).
const DOCUMENT_EVERY: Duration = Duration::from_millis(500);

/// Load the page's room from its log (seeding it from the page JSON the first time) and
/// start its task.
pub async fn open(state: &CollabState, page: &PageRef) -> kernel::Result<Arc<Room>> {
    let db = &state.db;
    let loaded = store::load(db, &page.page_id).await?;
    let studio_page =
        studio::pages::service::locate(db, &page.page_id).await?.ok_or_else(|| kernel::Error::not_found("page"))?;
    let doc = loaded.doc;
    let mut last_id = loaded.last_id;
    let mut seed = None;
    let mut stale_document = None;
    let last_at = loaded.last_change.as_ref().map(|(at, _)| *at);
    // The document as page JSON while it is what the log holds: compared with the page row,
    // then validated (materialised once; it walks every item of the document).
    let mut logged_json = None;
    if last_id == 0 && last_at.is_none() {
        // Never edited live: the page JSON becomes the first logged change, the same bytes
        // in every process (see `mapping::seed_update`).
        let data = mapping::seed_update(&studio_page.document.0);
        store::apply(&doc, &data);
        seed = Some(("seed", data));
    } else {
        let json = mapping::to_json(&doc);
        let differs = json != studio_page.document.0;
        if differs && last_at.is_some_and(|t| studio_page.updated_at > t) {
            // The page was written (an import, a write whose event this process missed)
            // after the last logged change: the page row wins, as one more change.
            seed = Some(("rest", mapping::write_json(&doc, &studio_page.document.0)));
        } else {
            if differs
                && let Some((at, author)) = &loaded.last_change
                && studio_page.updated_at < *at
            {
                // The page JSON is older than the log and not what it holds: the process
                // that logged the last changes stopped before storing it (it is stored at
                // most every 500 ms while edits stream in). The room's first tick stores
                // it, as the last change's author's.
                stale_document = Some(author.clone());
            }
            logged_json = Some(json);
        }
    }
    if let Some((kind, data)) = seed
        && !data.is_empty()
    {
        let session = crate::replays::open(db, page, "system", kind).await?;
        let mut tx = db.begin().await?;
        let id = store::append(
            &mut tx,
            &page.page_id,
            &[NewUpdate { session_id: session.clone(), author_id: "system".into(), kind, data }],
            kernel::time::now(),
        )
        .await?;
        tx.commit().await?;
        crate::replays::close(db, &session).await?;
        last_id = id.max(last_id);
    }
    let valid_size = validation::check(&logged_json.unwrap_or_else(|| mapping::to_json(&doc))).ok();
    let touched = touched::observe(&doc);
    let (inbox, commands) = mpsc::channel(BATCH * 4);
    let (out, _) = broadcast::channel(RELAY_BUFFER);
    let room = Arc::new(Room {
        page: page.clone(),
        awareness: Mutex::new(Awareness::new(doc)),
        inbox,
        out,
        conns: Mutex::new(HashMap::new()),
        owners: Mutex::new(HashMap::new()),
        last_id: AtomicI64::new(last_id),
        closed: AtomicBool::new(false),
        last_left: Mutex::new(Instant::now()),
    });
    let worker = Worker {
        state: state.clone(),
        room: room.clone(),
        touched,
        valid_size,
        texts_since: HashMap::new(),
        unsaved_by: None,
        own_last_id: 0,
        rows_since_checkpoint: loaded.rows_after_checkpoint,
        document_written: Instant::now().checked_sub(DOCUMENT_EVERY).unwrap_or_else(Instant::now),
        document_pending: stale_document,
    };
    let failed = (state.clone(), room.clone());
    tokio::spawn(async move {
        use futures_util::FutureExt;
        // A panic (a bug of yrs's on some malformed update, or ours) must not leave the page
        // with a room that takes editors in and never answers them.
        if std::panic::AssertUnwindSafe(worker.run(commands)).catch_unwind().await.is_err() {
            let (state, room) = failed;
            tracing::error!(page_id = %room.page.page_id, "collab room panicked; its editors reconnect");
            metrics::gauge!("socle_collab_rooms").decrement(1.0);
            room.retire(&state, 1011, "the room failed; reconnecting").await;
        }
    });
    metrics::gauge!("socle_collab_rooms").increment(1.0);
    Ok(room)
}

/// Connection numbers, unique in the process.
pub static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

impl Worker {
    async fn run(mut self, mut commands: mpsc::Receiver<Box<Command>>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                first = commands.recv() => {
                    let Some(first) = first else { break };
                    if self.room.is_closed() {
                        // Closed from outside (its page was deleted): nothing more is written.
                        break;
                    }
                    let mut batch = vec![*first];
                    while batch.len() < BATCH {
                        match commands.try_recv() {
                            Ok(c) => batch.push(*c),
                            Err(_) => break,
                        }
                    }
                    if let Err(e) = Box::pin(self.handle(batch)).await {
                        tracing::error!(error = %e, page_id = %self.room.page.page_id, "collab room failed; its editors reconnect");
                        Box::pin(self.shut(1011, "the room failed; reconnecting")).await;
                        break;
                    }
                    if self.room.is_closed() {
                        // Stopped for the process's shutdown, or closed from outside.
                        break;
                    }
                }
                _ = tick.tick() => {
                    if self.document_written.elapsed() >= DOCUMENT_EVERY && self.document_pending.is_some() {
                        // Boxed, like every database call of this loop: the room's task stays
                        // small while it waits.
                        Box::pin(self.flush_document()).await;
                    }
                    self.expire_awareness();
                    if Box::pin(self.idle_long_enough()).await {
                        break;
                    }
                }
            }
        }
        metrics::gauge!("socle_collab_rooms").decrement(1.0);
    }

    async fn handle(&mut self, batch: Vec<Command>) -> kernel::Result<()> {
        let mut edits = Vec::new();
        let mut stop = Vec::new();
        for command in batch {
            match command {
                Command::Edit { conn, session, author, data, received } => edits.push(LiveEdit {
                    conn,
                    received,
                    update: NewUpdate { session_id: session, author_id: author, kind: "edit", data },
                }),
                Command::Write { document, author, kind, reply } => {
                    // Edits queued before the write go first.
                    self.apply_edits(std::mem::take(&mut edits)).await?;
                    let result = self.write(document, author, kind).await;
                    let failed = result.is_err();
                    let _ = reply.send(result);
                    if failed {
                        return Err(kernel::Error::Unavailable("a write failed".into()));
                    }
                }
                Command::Remote { data, first, id } => {
                    self.apply_edits(std::mem::take(&mut edits)).await?;
                    self.apply_remote(data, first, id).await?;
                }
                Command::Left { done } => {
                    self.apply_edits(std::mem::take(&mut edits)).await?;
                    let _ = done.send(());
                    if self.room.connection_count() == 0 {
                        self.save_point().await;
                    }
                }
                // Edits that arrived with it are still applied and logged first.
                Command::Stop { done } => stop.push(done),
            }
        }
        self.apply_edits(edits).await?;
        if !stop.is_empty() {
            self.stop().await;
            for done in stop {
                let _ = done.send(());
            }
        }
        Ok(())
    }

    /// Apply live edits, repair the page if they made it invalid, log them, then relay.
    async fn apply_edits(&mut self, edits: Vec<LiveEdit>) -> kernel::Result<()> {
        if edits.is_empty() {
            return Ok(());
        }
        let mut accepted: Vec<(u64, NewUpdate)> = Vec::with_capacity(edits.len());
        let mut received = Vec::with_capacity(edits.len());
        let checked = {
            let aw = self.room.awareness.lock().map_err(|_| kernel::Error::internal("room lock poisoned"))?;
            let doc = aw.doc();
            // What other transactions (a write, a repair) changed is not this batch's.
            touched::take(&self.touched);
            {
                // One document transaction for the batch: its cleanup (merging, observers)
                // runs once, not once per edit.
                let mut txn = doc.transact_mut();
                for LiveEdit { conn, received: at, update } in edits {
                    let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        store::apply_in(&mut txn, &update.data)
                    }));
                    match applied {
                        Ok(true) => {
                            accepted.push((conn, update));
                            received.push(at);
                        }
                        Ok(false) => self.room.kick(conn, 4400, "an update could not be read"),
                        Err(_) => {
                            // yrs panicked half-way through it: the document can no longer be
                            // trusted. Its sender is expelled (4400: not to reconnect and send it
                            // again), and the room closes without logging the batch; the others
                            // reconnect to the page as the log holds it.
                            self.room.kick(conn, 4400, "an update could not be applied");
                            // Nor is the page JSON stored from it (the next room stores it).
                            self.document_pending = None;
                            drop(txn);
                            return Err(kernel::Error::internal("an update could not be applied"));
                        }
                    }
                }
            }
            let touched = touched::take(&self.touched);
            let free_texts = self.valid_size.and_then(|valid_size| {
                touched::free_texts_within_limits(&doc.transact(), touched)
                    .filter(|texts| self.size_bound(valid_size, texts) <= studio::pages::document::MAX_BYTES)
            });
            match free_texts {
                // Keystrokes in free text, within limits: the page is still valid, and is
                // not materialised.
                Some(texts) => {
                    for t in texts {
                        self.texts_since.insert(t.pointer, t.json_bytes);
                    }
                    None
                }
                None => {
                    let json = mapping::to_json(doc);
                    let result = validation::check(&json);
                    Some((json, result))
                }
            }
        };
        let (json, repair) = match checked {
            None => (None, None),
            Some((json, Ok(size))) => (Some((json, size)), None),
            Some((json, Err(errors))) => {
                let (json, size, update) = self.repair(json, &errors).await?;
                (Some((json, size)), Some(update))
            }
        };
        if accepted.is_empty() && repair.is_none() {
            return Ok(());
        }
        let author = accepted.last().map(|(_, u)| u.author_id.clone()).unwrap_or_default();
        let edited = accepted.len();
        let (conns, mut rows): (Vec<u64>, Vec<NewUpdate>) = accepted.into_iter().unzip();
        if let Some(data) = repair {
            // A repair with no accepted edit (the page was already invalid) is the system's.
            let (session, by) = match rows.last() {
                Some(u) => (u.session_id.clone(), author.clone()),
                None => {
                    (crate::replays::open(&self.state.db, &self.room.page, "system", "repair").await?, "system".into())
                }
            };
            rows.push(NewUpdate { session_id: session, author_id: by, kind: "repair", data });
        }
        let repaired = rows.len() > edited;
        let author = if author.is_empty() { "system".to_string() } else { author };
        let due = self.document_due(&rows);
        let json = match json {
            Some(j) => Some(j),
            // The page JSON is due: materialised now (the document is valid, as checked above,
            // so only its size is measured).
            None if due => {
                let json = self.room.document();
                let size = studio::pages::document::encoded_len(&json);
                Some((json, size))
            }
            None => None,
        };
        self.log(&rows, json.as_ref().filter(|_| due).map(|(j, _)| j), &author).await?;
        metrics::counter!("socle_collab_updates_total").increment(edited as u64);
        if repaired {
            // Everyone, the authors included, receives the edits and their repair as one
            // update: nobody ever holds the invalid state.
            let merged = yrs::merge_updates_v1(rows.iter().map(|u| u.data.as_slice()))
                .map_err(|e| kernel::Error::internal(format!("merging updates: {e}")))?;
            let _ = self.room.out.send(Frame::to_all(sync_frame(SyncMessage::Update(merged))));
        } else {
            let frames: Vec<Frame> = conns
                .into_iter()
                .zip(rows)
                .map(|(conn, u)| Frame { skip: Some(conn), bytes: sync_frame(SyncMessage::Update(u.data)).into() })
                .collect();
            let _ = self.room.out.send(Arc::from(frames));
        }
        let relay_delay = metrics::histogram!("socle_collab_relay_seconds");
        for at in received {
            relay_delay.record(at.elapsed().as_secs_f64());
        }
        if let Some((_, size)) = json {
            self.valid_now(size);
        }
        self.unsaved_by = Some(author);
        Ok(())
    }

    /// The most bytes the page JSON, `valid_size` bytes when last measured, can hold now
    /// that `texts` changed (and those changed since it was measured).
    fn size_bound(&self, valid_size: usize, texts: &[touched::TextLength]) -> usize {
        let others: usize = self
            .texts_since
            .iter()
            .filter(|(pointer, _)| !texts.iter().any(|t| &t.pointer == *pointer))
            .map(|(_, bytes)| bytes)
            .sum();
        valid_size.saturating_add(others).saturating_add(texts.iter().map(|t| t.json_bytes).sum())
    }

    /// The document is valid, its page JSON `size` bytes long.
    fn valid_now(&mut self, size: usize) {
        self.valid_size = Some(size).filter(|s| *s <= studio::pages::document::MAX_BYTES);
        self.texts_since.clear();
    }

    /// Put the faulty values of `json` (the document now) back as they were in the last
    /// valid document; returns the repaired page JSON, its size and the repairing update.
    ///
    /// The last valid document is read back from the log (every batch a process logs left
    /// the page valid in its eyes) rather than kept: a room would otherwise hold a second
    /// copy of its page, as JSON, for the rare edit that needs repairing. Should the log not
    /// end on a valid page (it was loaded invalid, or two processes' edits made it invalid
    /// together), the Studio page's stored JSON, validated when written, is it.
    async fn repair(&self, json: Value, errors: &[FieldError]) -> kernel::Result<(Value, usize, Vec<u8>)> {
        let db = &self.state.db;
        let page_id = &self.room.page.page_id;
        let mut last_valid = store::document_upto(db, page_id, self.room.last_id.load(Ordering::Acquire)).await?;
        if validation::check(&last_valid).is_err() {
            last_valid = studio::pages::service::locate(db, page_id)
                .await?
                .map(|p| p.document.0)
                .ok_or_else(|| kernel::Error::not_found("page"))?;
        }
        let aw = self.room.awareness.lock().map_err(|_| kernel::Error::internal("room lock poisoned"))?;
        let doc = aw.doc();
        let fixed = validation::repair(&json, &last_valid, errors);
        let mut update = mapping::write_json(doc, &fixed);
        let mut json = mapping::to_json(doc);
        let size = match validation::check(&json) {
            Ok(size) => size,
            Err(_) => {
                let again = mapping::write_json(doc, &last_valid);
                update = yrs::merge_updates_v1([update.as_slice(), again.as_slice()]).unwrap_or(again);
                json = mapping::to_json(doc);
                validation::check(&json).unwrap_or(usize::MAX)
            }
        };
        metrics::counter!("socle_collab_repairs_total").increment(1);
        Ok((json, size, update))
    }

    /// Whether logging `rows` stores the page JSON too: a change other than live edits
    /// does, and live edits do once the last store is [`DOCUMENT_EVERY`] old.
    fn document_due(&self, rows: &[NewUpdate]) -> bool {
        rows.iter().any(|r| r.kind != "edit") || self.document_written.elapsed() >= DOCUMENT_EVERY
    }

    /// Log `rows` in one transaction (on PostgreSQL the other processes hear of it when it
    /// commits). The same transaction stores `document`, the page JSON, when it is due (see
    /// [`Self::document_due`]; otherwise it stays pending: the log is the truth, the page
    /// JSON its materialised form), and checkpoints the document when enough rows were
    /// logged since the last checkpoint: nothing else is written between the batches, which
    /// wait for no other transaction.
    async fn log(&mut self, rows: &[NewUpdate], document: Option<&Value>, author: &str) -> kernel::Result<()> {
        let db = &self.state.db;
        let page_id = &self.room.page.page_id;
        let store_document = document.is_some();
        let checkpoint = if self.rows_since_checkpoint + rows.len() >= self.state.settings.checkpoint_every {
            Some(self.room.whole_state().ok_or_else(|| kernel::Error::internal("room lock poisoned"))?)
        } else {
            None
        };
        // Inline on SQLite: the statements run on this thread, with no hand-off to a
        // connection's thread per statement, and commit together with other writers'.
        let mut tx = db.begin_inline().await?;
        let (first, last) = store::append_rows(&mut tx, page_id, rows, kernel::time::now()).await?;
        if let Some(json) = document {
            studio::pages::service::write_live_document(&mut tx, page_id, json, author).await?;
        }
        let checkpointed = checkpoint.is_some();
        if let Some(state) = checkpoint {
            let upto = last.max(self.room.last_id.load(Ordering::Acquire));
            store::checkpoint_in(&mut tx, page_id, state, upto).await?;
        }
        if db.kind() == kernel::DbKind::Postgres {
            let merged = if rows.len() == 1 {
                rows[0].data.clone()
            } else {
                yrs::merge_updates_v1(rows.iter().map(|u| u.data.as_slice())).unwrap_or_default()
            };
            crate::fanout::announce_update(&mut tx, &self.state.process_id, page_id, (first, last), &merged).await?;
        }
        tx.commit().await?;
        if store_document {
            self.document_written = Instant::now();
            self.document_pending = None;
        } else {
            self.document_pending = Some(author.to_string());
        }
        self.room.last_id.fetch_max(last, Ordering::AcqRel);
        self.own_last_id = self.own_last_id.max(last);
        self.rows_since_checkpoint = if checkpointed { 0 } else { self.rows_since_checkpoint + rows.len() };
        Ok(())
    }

    /// Write the page JSON the last batches left pending: the document as it is now (every
    /// change it holds is logged, since only this task changes it and logs before going on).
    async fn flush_document(&mut self) {
        let Some(author) = self.document_pending.take() else { return };
        let json = self.room.document();
        if json.is_null() {
            // The document's lock is poisoned: nothing sound to store.
            self.document_pending = Some(author);
            return;
        }
        let written = async {
            let mut tx = self.state.db.begin_inline().await?;
            studio::pages::service::write_live_document(&mut tx, &self.room.page.page_id, &json, &author).await?;
            tx.commit().await
        };
        match written.await {
            Ok(()) => self.document_written = Instant::now(),
            Err(e) => {
                tracing::warn!(error = %e, "could not store a live page's document");
                self.document_pending = Some(author);
            }
        }
    }

    async fn write(&mut self, document: Value, author: String, kind: &'static str) -> kernel::Result<()> {
        let (update, json) = {
            let aw = self.room.awareness.lock().map_err(|_| kernel::Error::internal("room lock poisoned"))?;
            let update = mapping::write_json(aw.doc(), &document);
            (update, mapping::to_json(aw.doc()))
        };
        if store::is_empty_update(&update) {
            return Ok(());
        }
        self.log_change(&author, kind, update, &json).await?;
        self.checked(&json);
        self.unsaved_by = Some(author);
        Ok(())
    }

    /// Log `update`, a change made by the room itself (a write, a repair), as a session of
    /// its own with `json`, the page it leaves, and relay it to everyone.
    async fn log_change(
        &mut self,
        author: &str,
        kind: &'static str,
        update: Vec<u8>,
        json: &Value,
    ) -> kernel::Result<()> {
        let session = crate::replays::open(&self.state.db, &self.room.page, author, kind).await?;
        let row = NewUpdate { session_id: session.clone(), author_id: author.to_string(), kind, data: update.clone() };
        self.log(std::slice::from_ref(&row), Some(json), author).await?;
        crate::replays::close(&self.state.db, &session).await?;
        let _ = self.room.out.send(Frame::to_all(sync_frame(SyncMessage::Update(update))));
        Ok(())
    }

    async fn apply_remote(&mut self, data: Option<Vec<u8>>, first: i64, id: i64) -> kernel::Result<()> {
        let db = &self.state.db;
        let page_id = &self.room.page.page_id;
        let updates = match data {
            Some(d) => vec![(id, d)],
            // The announced rows (applying one this room already holds changes nothing).
            None if first > 0 => store::updates_between(db, page_id, first, id).await?,
            None => store::updates_after(db, page_id, self.room.last_id.load(Ordering::Acquire)).await?,
        };
        let mut newest = 0;
        for (id, data) in updates {
            let applied = self.room.awareness.lock().map(|aw| store::apply(aw.doc(), &data)).unwrap_or(false);
            if applied {
                let _ = self.room.out.send(Frame::to_all(sync_frame(SyncMessage::Update(data))));
            }
            self.room.last_id.fetch_max(id, Ordering::AcqRel);
            newest = newest.max(id);
        }
        let json = self.room.document();
        // Edits valid alone, logged at the same time by two processes, made the page invalid
        // together (two texts each within its limit, past it once merged). The process whose
        // own edit was logged last repairs it: the other one's own edit is older than what it
        // just received, so exactly one repair is written.
        if let Some(errors) = self.checked(&json)
            && newest < self.own_last_id
        {
            let (json, size, update) = self.repair(json, &errors).await?;
            self.log_change("system", "repair", update, &json).await?;
            self.valid_now(size);
        }
        Ok(())
    }

    /// After a change not checked edit by edit (a write, another process's updates):
    /// whether the document, whose page JSON is `json`, is valid; what is wrong if not.
    fn checked(&mut self, json: &Value) -> Option<Vec<FieldError>> {
        match validation::check(json) {
            Ok(size) => {
                self.valid_now(size);
                None
            }
            Err(errors) => {
                self.valid_size = None;
                Some(errors)
            }
        }
    }

    /// Save the whole state so that the next load reads it instead of the log.
    async fn checkpoint(&mut self) {
        let upto = self.room.last_id.load(Ordering::Acquire);
        let Some(state) = self.room.whole_state() else { return };
        match store::checkpoint(&self.state.db, &self.room.page.page_id, state, upto).await {
            Ok(()) => self.rows_since_checkpoint = 0,
            Err(e) => tracing::warn!(error = %e, "could not checkpoint a collab room"),
        }
    }

    /// The end of a stretch of editing: the page's current document becomes a Studio version.
    async fn save_point(&mut self) {
        self.flush_document().await;
        let Some(author) = self.unsaved_by.take() else { return };
        if let Err(e) =
            studio::pages::service::save_live_version(&self.state.db, &self.room.page.page_id, &author).await
        {
            tracing::warn!(error = %e, "could not save a version of a live page");
            self.unsaved_by = Some(author);
        }
    }

    /// Awareness states not renewed within the timeout are removed (clients renew theirs
    /// every 15 s).
    fn expire_awareness(&self) {
        let timeout = Duration::from_secs(self.state.settings.awareness_timeout_secs);
        let now = yrs::sync::time::Clock::now(&yrs::sync::time::SystemClock);
        let stale: Vec<u64> = match self.room.awareness.lock() {
            Ok(aw) => aw
                .iter()
                .filter(|(_, s)| s.data.is_some() && now.saturating_sub(s.last_updated) > timeout.as_millis() as u64)
                .map(|(id, _)| id.get())
                .collect(),
            Err(_) => return,
        };
        self.room.forget_clients(&stale);
    }

    /// With nobody connected for `unload_after_secs`, checkpoint and leave memory. Returns
    /// whether the room is gone.
    async fn idle_long_enough(&mut self) -> bool {
        let idle = self.room.last_left.lock().map(|t| t.elapsed()).unwrap_or_default();
        if idle < Duration::from_secs(self.state.settings.unload_after_secs) || self.room.connection_count() > 0 {
            return false;
        }
        {
            let mut rooms = self.state.rooms.lock().await;
            if self.room.connection_count() > 0 {
                return false;
            }
            self.room.closed.store(true, Ordering::Release);
            rooms.remove(&self.room.page.page_id);
        }
        self.save_all().await;
        true
    }

    /// The room leaves memory: store the page JSON and a version (a save point), and
    /// checkpoint what was logged since the last checkpoint.
    async fn save_all(&mut self) {
        self.save_point().await;
        if self.rows_since_checkpoint > 0 {
            self.checkpoint().await;
        }
    }

    /// The process is shutting down: save everything, and close the connections with 1001
    /// (their clients reconnect, to another process if there is one). Without this the last
    /// half second of edits would be missing from the page JSON (the log has them) until the
    /// page is edited again.
    async fn stop(&mut self) {
        self.save_all().await;
        self.shut(1001, "the server is shutting down").await;
    }

    async fn shut(&mut self, code: u16, reason: &str) {
        self.flush_document().await;
        self.room.retire(&self.state, code, reason).await;
    }
}

impl Room {
    /// Take the room out of service: closed, out of the process's room list (when it is
    /// still the one listed for its page), and its connections closed with `code`.
    async fn retire(self: &Arc<Self>, state: &CollabState, code: u16, reason: &str) {
        {
            let mut rooms = state.rooms.lock().await;
            self.closed.store(true, Ordering::Release);
            if rooms.get(&self.page.page_id).is_some_and(|r| Arc::ptr_eq(r, self)) {
                rooms.remove(&self.page.page_id);
            }
        }
        self.kick_all(code, reason);
    }

    /// Record that a connection left (the room's task saves a version when it was the
    /// last), once the edits it sent before are logged. Returns its awareness client ids.
    pub async fn leave(&self, conn: u64) -> Vec<u64> {
        let ids = self
            .conns
            .lock()
            .ok()
            .and_then(|mut conns| conns.remove(&conn))
            .map(|c| c.client_ids.into_iter().collect())
            .unwrap_or_default();
        if let Ok(mut t) = self.last_left.lock() {
            *t = Instant::now();
        }
        let (done, logged) = oneshot::channel();
        // A room that stopped (or failed) answers at once: its sender or its task is gone.
        if self.inbox.send(Box::new(Command::Left { done })).await.is_ok() {
            // Bounded: a room stuck on its database does not hold its connections' tasks.
            let _ = tokio::time::timeout(LEAVE_WAIT, logged).await;
        }
        ids
    }
}
