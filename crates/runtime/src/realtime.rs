//! PocketBase's realtime protocol over SSE, at `/apps/{slug}/api/realtime`.
//!
//! `GET` opens the stream and sends `PB_CONNECT` with the client id; `POST {clientId,
//! subscriptions}` sets the client's topics (`collection/*`, `collection/RECORD_ID`, each
//! optionally with `?options={"query": {"filter", "expand", "fields"}}`) under the caller's
//! authorization. Every record change is sent to the subscribers allowed to see it by the
//! collection's list rule (`*` topics) or view rule (record topics) and matching their
//! filter — evaluated in memory when the rule allows it, by a query otherwise.
//!
//! On PostgreSQL every change goes through `NOTIFY socle_realtime` and each process
//! (including the writer) delivers it to its own subscribers, so several `socle serve`
//! processes behind a load balancer share one event stream. On SQLite (one process) events
//! are delivered directly. Notifications are sent after commit: a crash in between loses the
//! event (the durable outbox is the Automation module's). Each app's events are notified and
//! fanned out in commit order (one ordered worker per app), so a subscriber never sees a
//! later change before an earlier one.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use collections::model::{Collection, CollectionType};
use kernel::args;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::RuntimeState;
use crate::context::AppCtx;
use crate::extract::{App, JsonObject};
use crate::ordered::OrderedTasks;
use crate::pb::{PbError, PbResult};

/// Events an SSE client may have pending; one more and its stream is ended (see
/// [`Client::queue`]). As many as a WebSocket client's, so that a burst (a batch of creates)
/// does not cut off a subscriber that is keeping up; a queue takes memory only as it fills.
const CLIENT_BUFFER: usize = RESUME_BUFFER;
/// An SSE comment sent after this long without an event, so that proxies keep the stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
const MAX_SUBSCRIPTIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

#[derive(Clone)]
pub(crate) struct Subscription {
    /// As the client sent it: the SSE event name, or the WebSocket subscription id.
    pub(crate) key: String,
    pub(crate) collection: String,
    pub(crate) record: Option<String>,
    pub(crate) filter: Option<expr::Expr>,
    pub(crate) expand: Option<String>,
    pub(crate) fields: Option<String>,
    /// The app's event sequence number when it was made: events up to it are not sent live
    /// (a WebSocket resume replays those it missed, ahead of any later event).
    pub(crate) after_seq: u64,
}

/// Where a client's events go.
pub(crate) enum Sink {
    /// Encoded SSE frames, one buffer shared by every subscriber that gets the same frame.
    Sse(mpsc::Sender<Bytes>),
    /// WebSocket text frames.
    Ws(mpsc::Sender<String>),
}

pub(crate) struct Client {
    pub(crate) app_id: String,
    pub(crate) sink: Sink,
    pub(crate) subscriptions: RwLock<(Vec<Subscription>, Option<Arc<AppCtx>>)>,
    /// Subscribed to `@oauth2`: waits for an OAuth2 redirect whose `state` is its id.
    pub(crate) oauth2: std::sync::atomic::AtomicBool,
    /// Set when an event did not fit in the client's queue: it is sent nothing more and is
    /// no longer found by its id; its transport, woken by `overflowed`, ends the connection
    /// (see [`Client::queue`]).
    lagging: std::sync::atomic::AtomicBool,
    pub(crate) overflowed: tokio::sync::Notify,
}

impl Client {
    pub(crate) fn new(app_id: String, sink: Sink, ctx: Option<Arc<AppCtx>>) -> Self {
        Client {
            app_id,
            sink,
            subscriptions: RwLock::new((Vec::new(), ctx)),
            oauth2: std::sync::atomic::AtomicBool::new(false),
            lagging: std::sync::atomic::AtomicBool::new(false),
            overflowed: tokio::sync::Notify::new(),
        }
    }

    /// Queue an event for the client. One that cannot keep up does not stall the others, and
    /// is not left to miss events without knowing either: when its queue is full its
    /// connection is ended, so that it reconnects and refetches (PocketBase's SDK resubscribes
    /// on its own; a WebSocket client resumes from its last `seq`).
    fn queue<T>(&self, sender: &mpsc::Sender<T>, event: T) {
        if self.is_lagging() {
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = sender.try_send(event) {
            self.lagging.store(true, std::sync::atomic::Ordering::Relaxed);
            self.overflowed.notify_one();
        }
    }

    fn is_lagging(&self) -> bool {
        self.lagging.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Recent events of an app, numbered, so that a WebSocket client can resume after a short
/// disconnection without losing any.
#[derive(Default)]
pub(crate) struct AppStream {
    pub(crate) next: u64,
    pub(crate) buffer: std::collections::VecDeque<Buffered>,
}

#[derive(Clone)]
pub(crate) struct Buffered {
    pub(crate) seq: u64,
    pub(crate) collection_id: String,
    pub(crate) action: Action,
    pub(crate) row: Map<String, Value>,
}

/// Events kept per app for resuming.
pub const RESUME_BUFFER: usize = 1000;

pub struct Hub {
    clients: RwLock<HashMap<String, Arc<Client>>>,
    pub(crate) streams: std::sync::Mutex<HashMap<String, AppStream>>,
    /// Sequence numbers are this process's; a resume on another process is told to refetch.
    pub epoch: String,
    /// Fan-outs to this process's subscribers, in event order per app.
    pub(crate) fanouts: OrderedTasks,
    /// NOTIFYs to the other processes (PostgreSQL), in commit order per app.
    notifies: OrderedTasks,
    /// Whether events reach this process's subscribers: on PostgreSQL every event, this
    /// process's own included, arrives through its LISTEN, so a client is greeted only once
    /// that is in place (an event written after the greeting cannot miss it).
    listening: kernel::listen::Readiness,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            clients: RwLock::default(),
            streams: std::sync::Mutex::default(),
            epoch: kernel::ids::random_token(9),
            fanouts: OrderedTasks::default(),
            notifies: OrderedTasks::default(),
            listening: kernel::listen::Readiness::default(),
        }
    }
}

impl Hub {
    /// Number this event in its app's stream (if the app keeps one) and remember it.
    fn record(&self, app_id: &str, collection_id: &str, action: Action, row: &Map<String, Value>) -> Option<u64> {
        let mut streams = self.streams.lock().ok()?;
        let stream = streams.get_mut(app_id)?;
        stream.next += 1;
        let seq = stream.next;
        stream.buffer.push_back(Buffered { seq, collection_id: collection_id.into(), action, row: row.clone() });
        while stream.buffer.len() > RESUME_BUFFER {
            stream.buffer.pop_front();
        }
        Some(seq)
    }

    fn keeps_stream(&self, app_id: &str) -> bool {
        self.streams.lock().map(|s| s.contains_key(app_id)).unwrap_or(false)
    }

    pub(crate) fn add(&self, id: &str, client: Arc<Client>) {
        if let Ok(mut c) = self.clients.write() {
            c.insert(id.to_string(), client);
        }
    }

    pub(crate) fn remove(&self, id: &str) {
        if let Ok(mut c) = self.clients.write() {
            c.remove(id);
        }
    }

    fn get(&self, id: &str) -> Option<Arc<Client>> {
        self.clients.read().ok().and_then(|c| c.get(id).filter(|cl| !cl.is_lagging()).cloned())
    }

    fn of_app(&self, app_id: &str) -> Vec<Arc<Client>> {
        self.clients
            .read()
            .map(|c| c.values().filter(|cl| cl.app_id == app_id && !cl.is_lagging()).cloned().collect())
            .unwrap_or_default()
    }

    pub fn connected(&self) -> usize {
        self.clients.read().map(|c| c.len()).unwrap_or(0)
    }
}

pub fn routes() -> Router<RuntimeState> {
    Router::new().route("/apps/{slug}/api/realtime", get(connect).post(set_subscriptions))
}

/// Removes the client when its stream is dropped (the connection closed).
struct Disconnect {
    hub: RuntimeState,
    id: String,
}

impl Drop for Disconnect {
    fn drop(&mut self) {
        self.hub.realtime.remove(&self.id);
    }
}

async fn connect(State(state): State<RuntimeState>, App(ctx): App) -> PbResult<Response> {
    require_listening(&state).await?;
    let id = kernel::ids::random_token(30);
    let (sender, receiver) = mpsc::channel(CLIENT_BUFFER);
    let client = Arc::new(Client::new(ctx.app.id.clone(), Sink::Sse(sender), None));
    state.realtime.add(&id, client.clone());
    let hello = sse_frame(Some(&id), "PB_CONNECT", &json!({"clientId": id}).to_string());
    let guard = Disconnect { hub: state.clone(), id };
    // The stream ends when the server shuts down (graceful shutdown waits for it), and when
    // the client fell too far behind (it reconnects).
    let stopping = state.stopping.clone();
    let initial = (Some(hello), receiver, guard, stopping, client);
    let stream = futures_util::stream::unfold(initial, |(first, mut rx, guard, mut stopping, client)| async move {
        if let Some(frame) = first {
            return Some((Ok::<_, Infallible>(frame), (None, rx, guard, stopping, client)));
        }
        let next = tokio::select! {
            frame = rx.recv() => frame,
            () = tokio::time::sleep(KEEP_ALIVE) => Some(Bytes::from_static(b":\n\n")),
            () = async { let _ = stopping.wait_for(|stop| *stop).await; } => None,
            () = client.overflowed.notified() => None,
        };
        next.map(|frame| (Ok(frame), (None, rx, guard, stopping, client)))
    });
    let mut response = Body::from_stream(stream).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// One SSE frame. Neither `event` (a checked topic) nor `data` (compact JSON) holds a
/// line break.
fn sse_frame(id: Option<&str>, event: &str, data: &str) -> Bytes {
    let mut frame = String::with_capacity(event.len() + data.len() + id.map_or(0, str::len) + 24);
    if let Some(id) = id {
        frame.push_str("id: ");
        frame.push_str(id);
        frame.push('\n');
    }
    frame.push_str("event: ");
    frame.push_str(event);
    frame.push_str("\ndata: ");
    frame.push_str(data);
    frame.push_str("\n\n");
    Bytes::from(frame)
}

/// SSE frames already encoded during one event's fan-out, by what makes them differ: the
/// topic as sent, the `fields` option and whether the subscriber is a superuser (hidden
/// fields). A thousand subscribers of `posts/*` share one buffer instead of a thousand
/// copies queued per client.
#[derive(Default)]
struct SharedFrames(Vec<SharedFrame>);

struct SharedFrame {
    topic: String,
    fields: Option<String>,
    superuser: bool,
    frame: Bytes,
}

/// Distinct frames kept per change: most changes have a handful; past this (many distinct
/// filters), further subscribers are encoded for themselves, so a lookup stays short.
const MAX_SHARED_FRAMES: usize = 32;

impl SharedFrames {
    fn get(&self, sub: &Subscription, superuser: bool) -> Option<&Bytes> {
        self.0
            .iter()
            .find(|f| f.superuser == superuser && f.topic == sub.key && f.fields == sub.fields)
            .map(|f| &f.frame)
    }

    fn keep(&mut self, sub: &Subscription, superuser: bool, frame: &Bytes) {
        if self.0.len() < MAX_SHARED_FRAMES {
            let (topic, fields) = (sub.key.clone(), sub.fields.clone());
            self.0.push(SharedFrame { topic, fields, superuser, frame: frame.clone() });
        }
    }
}

pub(crate) fn parse_subscription(key: &str) -> Result<Subscription, String> {
    let (topic, options) = match key.split_once('?') {
        Some((t, q)) => (t, Some(q)),
        None => (key, None),
    };
    if key.contains(['\n', '\r']) {
        return Err("a topic cannot contain a line break".into());
    }
    let (collection, record) = topic.split_once('/').ok_or("a topic is collection/* or collection/RECORD_ID")?;
    if collection.is_empty() || record.is_empty() {
        return Err("a topic is collection/* or collection/RECORD_ID".into());
    }
    let mut sub = Subscription {
        key: key.to_string(),
        collection: collection.to_string(),
        record: (record != "*").then(|| record.to_string()),
        filter: None,
        expand: None,
        fields: None,
        after_seq: 0,
    };
    if let Some(q) = options {
        for pair in q.split('&') {
            let Some(raw) = pair.strip_prefix("options=") else { continue };
            let decoded = percent_decode(raw);
            let options: Value = serde_json::from_str(&decoded).map_err(|e| format!("invalid options: {e}"))?;
            let query = options.get("query").cloned().unwrap_or(Value::Null);
            if let Some(f) = query.get("filter").and_then(Value::as_str).filter(|f| !f.trim().is_empty()) {
                sub.filter = Some(expr::parse(f).map_err(|e| format!("invalid filter: {e}"))?);
            }
            sub.expand = query.get("expand").and_then(Value::as_str).map(str::to_string);
            sub.fields = query.get("fields").and_then(Value::as_str).map(str::to_string);
        }
    }
    Ok(sub)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn set_subscriptions(
    State(state): State<RuntimeState>,
    App(ctx): App,
    JsonObject(body): JsonObject,
) -> PbResult<Response> {
    let client_id = body.get("clientId").and_then(Value::as_str).unwrap_or_default();
    let client = state.realtime.get(client_id).filter(|c| c.app_id == ctx.app.id).ok_or_else(PbError::not_found)?;
    let keys: Vec<String> = match body.get("subscriptions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(_) => {
            return Err(PbError::field(
                "Failed to set subscriptions.",
                "subscriptions",
                "validation_invalid_value",
                "Must be a list of topics.",
            ));
        }
    };
    if keys.len() > MAX_SUBSCRIPTIONS {
        return Err(PbError::field(
            "Failed to set subscriptions.",
            "subscriptions",
            "validation_too_many_values",
            "Too many topics.",
        ));
    }
    // `@oauth2` is not a collection topic: the SDK's all-in-one OAuth2 flow waits on it.
    let (oauth2, keys): (Vec<String>, Vec<String>) = keys.into_iter().partition(|k| k == OAUTH2_TOPIC);
    client.oauth2.store(!oauth2.is_empty(), std::sync::atomic::Ordering::Relaxed);
    let mut subs = Vec::new();
    for key in keys {
        let sub = parse_subscription(&key).map_err(|m| {
            PbError::field(
                "Failed to set subscriptions.",
                "subscriptions",
                "validation_invalid_value",
                format!("{key}: {m}"),
            )
        })?;
        ctx.collection(&sub.collection).map_err(|_| {
            PbError::field(
                "Failed to set subscriptions.",
                "subscriptions",
                "validation_invalid_value",
                format!("{key}: no such collection"),
            )
        })?;
        subs.push(sub);
    }
    if let Ok(mut s) = client.subscriptions.write() {
        *s = (subs, Some(Arc::new(ctx)));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Refuse (503) a realtime client this process could not yet deliver events to: it has
/// just started and its PostgreSQL LISTEN is not in place within a few seconds.
pub(crate) async fn require_listening(state: &RuntimeState) -> PbResult<()> {
    if state.realtime.listening.wait(Duration::from_secs(10)).await {
        Ok(())
    } else {
        Err(PbError::new(StatusCode::SERVICE_UNAVAILABLE, "Realtime is not available yet; retry shortly."))
    }
}

/// PostgreSQL's NOTIFY payload limit is 8000 bytes; larger rows are re-read by id.
const MAX_NOTIFY_ROW: usize = 7000;
pub const CHANNEL: &str = "socle_realtime";

/// Announce a record change: through PostgreSQL to every process, or directly on SQLite.
pub fn publish(state: &RuntimeState, app_id: &str, collection: &Collection, action: Action, row: Map<String, Value>) {
    let kernel::Db::Postgres(pool) = &state.db else {
        dispatch(state, app_id, collection, action, row);
        return;
    };
    let pool = pool.clone();
    let mut payload =
        json!({"app": app_id, "collection": collection.id, "action": action.as_str(), "id": row.get("id")});
    let row_value = Value::Object(row);
    if row_value.to_string().len() <= MAX_NOTIFY_ROW {
        payload["row"] = row_value;
    }
    state.realtime.notifies.run(
        app_id,
        Box::pin(async move {
            if let Err(e) =
                sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload.to_string()).execute(&pool).await
            {
                tracing::warn!(error = %e, "could not publish a realtime event");
            }
        }),
    );
}

/// Deliver the events of every process to this process's subscribers, until `stop`.
pub async fn listen(state: RuntimeState, stop: tokio::sync::watch::Receiver<bool>) {
    let ready = state.realtime.listening.clone();
    kernel::listen::listen(&state.db, CHANNEL, "realtime", &ready, stop, |payload| {
        let state = state.clone();
        async move { deliver(&state, &payload).await }
    })
    .await;
}

/// The topic of OAuth2 redirects (PocketBase's all-in-one `authWithOAuth2` flow).
pub const OAUTH2_TOPIC: &str = "@oauth2";

/// Pass what a provider sent back to `/api/oauth2-redirect` (`state`, `code`, `error`) to
/// the realtime client whose id is its `state`, on whichever process holds it.
pub(crate) fn pass_oauth2_redirect(state: &RuntimeState, app_id: &str, redirect: Value) {
    let message = json!({"app": app_id, "oauth2": redirect});
    match &state.db {
        kernel::Db::Postgres(pool) => {
            let pool = pool.clone();
            tokio::spawn(async move {
                if let Err(e) =
                    sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(message.to_string()).execute(&pool).await
                {
                    tracing::warn!(error = %e, "could not pass on an OAuth2 redirect");
                }
            });
        }
        _ => deliver_oauth2(state, &message),
    }
}

/// Send an OAuth2 redirect to its client, if it is connected to this process and waits for one.
fn deliver_oauth2(state: &RuntimeState, message: &Value) {
    let app_id = message["app"].as_str().unwrap_or_default();
    let redirect = &message["oauth2"];
    let Some(client) = state.realtime.get(redirect["state"].as_str().unwrap_or_default()) else { return };
    if client.app_id != app_id || !client.oauth2.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let data = json!({"state": redirect["state"], "code": redirect["code"], "error": redirect["error"]}).to_string();
    match &client.sink {
        Sink::Sse(sender) => client.queue(sender, sse_frame(None, OAUTH2_TOPIC, &data)),
        Sink::Ws(sender) => client.queue(
            sender,
            json!({"type": "oauth2", "state": redirect["state"], "code": redirect["code"], "error": redirect["error"]})
                .to_string(),
        ),
    }
}

async fn deliver(state: &RuntimeState, payload: &str) {
    let Ok(event) = serde_json::from_str::<Value>(payload) else { return };
    if event.get("oauth2").is_some() {
        deliver_oauth2(state, &event);
        return;
    }
    let app_id = event["app"].as_str().unwrap_or_default();
    if state.realtime.of_app(app_id).is_empty() && !state.realtime.keeps_stream(app_id) {
        return;
    }
    let action = match event["action"].as_str() {
        Some("create") => Action::Create,
        Some("update") => Action::Update,
        Some("delete") => Action::Delete,
        _ => return,
    };
    let deployment: Option<(Option<i64>,)> = state
        .db
        .fetch_optional("SELECT current_deployment FROM runtime_apps WHERE id = $1", args![app_id])
        .await
        .ok()
        .flatten();
    let Some((Some(number),)) = deployment else { return };
    let Ok(schema) = state.schema(app_id, number).await else { return };
    let Some(collection) = schema.collections.iter().find(|c| Some(c.id.as_str()) == event["collection"].as_str())
    else {
        return;
    };
    let row = match &event["row"] {
        Value::Object(row) => row.clone(),
        _ => {
            let id = event["id"].as_str().unwrap_or_default();
            match collections::rows::read_rows(
                &state.db,
                &schema.ns,
                collection,
                Some(("r.\"id\" = $1".into(), args![id])),
            )
            .await
            {
                Ok(rows) => match rows.into_iter().next() {
                    Some(r) => r,
                    None => return,
                },
                Err(_) => return,
            }
        }
    };
    dispatch(state, app_id, collection, action, row);
}

/// Send a record change to every subscriber of this process allowed to see it.
fn dispatch(state: &RuntimeState, app_id: &str, collection: &Collection, action: Action, row: Map<String, Value>) {
    let seq = state.realtime.record(app_id, &collection.id, action, &row);
    let clients = state.realtime.of_app(app_id);
    if clients.is_empty() {
        return;
    }
    let collection = collection.clone();
    state.realtime.fanouts.run(
        app_id,
        Box::pin(async move {
            let mut change = Change::new(&collection, action, &row, seq);
            for client in clients {
                let (wanted, ctx): (Vec<Subscription>, _) = match client.subscriptions.read() {
                    Ok(s) => (
                        s.0.iter()
                            .filter(|sub| matches(sub, &collection, &row) && seq.is_none_or(|n| n > sub.after_seq))
                            .cloned()
                            .collect(),
                        s.1.clone(),
                    ),
                    Err(_) => continue,
                };
                let Some(ctx) = ctx else { continue };
                for sub in wanted {
                    send_if_allowed(&client, &ctx, &sub, &mut change).await;
                }
            }
        }),
    );
}

pub(crate) fn matches(sub: &Subscription, collection: &Collection, row: &Map<String, Value>) -> bool {
    (sub.collection == collection.name || sub.collection == collection.id)
        && sub.record.as_deref().is_none_or(|r| Some(r) == row.get("id").and_then(Value::as_str))
}

/// A rule as parsed once per change for all its subscribers.
enum ParsedRule {
    /// No rule: superusers only (also a rule that no longer parses).
    SuperusersOnly,
    /// `""`: anyone.
    Anyone,
    Expr(expr::Expr),
}

impl ParsedRule {
    fn new(rule: Option<&str>) -> Self {
        match rule {
            None => ParsedRule::SuperusersOnly,
            Some(r) if r.trim().is_empty() => ParsedRule::Anyone,
            Some(r) => expr::parse(r).map_or(ParsedRule::SuperusersOnly, ParsedRule::Expr),
        }
    }
}

/// One record change being fanned out, with what every subscriber's check shares built
/// once: the record as rules see it, the parsed list and view rules, the encoded frames.
pub(crate) struct Change<'a> {
    collection: &'a Collection,
    action: Action,
    row: &'a Map<String, Value>,
    seq: Option<u64>,
    record: Value,
    list_rule: ParsedRule,
    view_rule: ParsedRule,
    now: time::OffsetDateTime,
    frames: SharedFrames,
}

impl<'a> Change<'a> {
    pub(crate) fn new(
        collection: &'a Collection,
        action: Action,
        row: &'a Map<String, Value>,
        seq: Option<u64>,
    ) -> Self {
        Change {
            collection,
            action,
            row,
            seq,
            record: Value::Object(row.clone()),
            list_rule: ParsedRule::new(collection.rules.list_rule.as_deref()),
            view_rule: ParsedRule::new(collection.rules.view_rule.as_deref()),
            now: kernel::time::now(),
            frames: SharedFrames::default(),
        }
    }
}

/// Send one change to one subscription if its owner may see the record.
pub(crate) async fn send_if_allowed(client: &Client, ctx: &AppCtx, sub: &Subscription, change: &mut Change<'_>) {
    let collection = change.collection;
    let rule = if sub.record.is_some() { &change.view_rule } else { &change.list_rule };
    if !allowed(ctx, change, rule, sub.filter.as_ref()).await {
        return;
    }
    // The frame is the same for every subscriber with the same topic and options, unless it
    // expands relations (under each one's rules) or shows an auth record (its owner sees
    // more).
    let superuser = ctx.is_superuser();
    let shareable = sub.expand.is_none() && (collection.kind != CollectionType::Auth || superuser);
    if let Sink::Sse(sender) = &client.sink
        && shareable
        && let Some(frame) = change.frames.get(sub, superuser)
    {
        client.queue(sender, frame.clone());
        return;
    }
    let mut record = vec![crate::records::present(ctx, collection, change.row.clone())];
    let paths = crate::records::parse_expand(sub.expand.as_deref());
    if crate::records::expand(ctx, collection, &mut record, &paths, 0).await.is_err() {
        return;
    }
    crate::records::project_fields(&mut record[0], sub.fields.as_deref());
    let action = change.action.as_str();
    match &client.sink {
        Sink::Sse(sender) => {
            let data = json!({"action": action, "record": record[0]});
            let frame = sse_frame(None, &sub.key, &data.to_string());
            if shareable {
                change.frames.keep(sub, superuser, &frame);
            }
            client.queue(sender, frame);
        }
        Sink::Ws(sender) => {
            let data =
                json!({"type": "event", "id": sub.key, "seq": change.seq, "action": action, "record": record[0]});
            client.queue(sender, data.to_string());
        }
    }
}

/// Whether the subscriber may see the changed record: superusers always; others by the rule
/// and filter, in memory, or by a query when they need other records (not possible once
/// deleted).
async fn allowed(ctx: &AppCtx, change: &Change<'_>, rule: &ParsedRule, filter: Option<&expr::Expr>) -> bool {
    let rule_expr = match rule {
        _ if ctx.is_superuser() => None,
        ParsedRule::SuperusersOnly => return false,
        ParsedRule::Anyone => None,
        ParsedRule::Expr(e) => Some(e),
    };
    let auth = ctx.auth_value();
    let eval_ctx = expr::eval::Context {
        record: &change.record,
        auth: auth.as_ref(),
        body: &Value::Null,
        query: &Value::Null,
        now: change.now,
    };
    let c = change.collection;
    for e in [rule_expr, filter].into_iter().flatten() {
        match expr::eval::evaluate(e, &eval_ctx) {
            Ok(true) => {}
            Ok(false) => return false,
            Err(expr::eval::EvalError::NeedsQuery(_)) if change.action != Action::Delete => {
                let id = change.row.get("id").and_then(Value::as_str).unwrap_or_default();
                let dialect = ctx.db.kind();
                let Ok((sql, a)) = collections::schema::compile_filter_from(
                    &ctx.schema,
                    &c.name,
                    &e.to_string(),
                    &eval_ctx,
                    dialect,
                    2,
                ) else {
                    return false;
                };
                if !matches!(collections::records::row_matches(&ctx.db, ctx.ns(), c, id, &sql, a).await, Ok(true)) {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
    true
}
