//! The WebSocket realtime transport at `/apps/{slug}/api/realtime/ws`: the same topics and
//! rules as SSE, plus what SSE lacks. Messages are JSON text frames:
//!
//! - server: `{"type":"hello","clientId","epoch","seq","heartbeat":25}` on connect;
//! - client: `{"type":"subscribe","id":"s1","topic":"posts/*","options":{"filter","expand","fields"},
//!   "resume":{"epoch","seq"}}` → `{"type":"subscribed","id","seq"}`, or
//!   `{"type":"error","id","code":"invalid_subscription","message"}`;
//! - server: `{"type":"event","id","seq","action","record"}`; `seq` numbers the app's event
//!   stream, so a client that reconnects with `resume` gets what it missed, in order, or
//!   `{"type":"refetch","id","reason"}` when that is no longer possible (too long away,
//!   another process);
//! - client: `{"type":"unsubscribe","id"}`, `{"type":"ping"}` → `{"type":"pong"}`;
//! - server: `{"type":"ping"}` and a WebSocket ping every `heartbeat` seconds (25 by default,
//!   `realtime.ws_heartbeat_secs`); a client silent for three heartbeats (no message, no pong:
//!   a WebSocket client answers pings by itself as it reads) is disconnected, and so is one
//!   that leaves a write waiting a heartbeat (it stopped reading), or whose queue of events
//!   overflows (more than 1000 pending: closed with 1013, it resumes from its last `seq`).
//!
//! The token is given at connect (`?token=` or `Authorization`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use kernel::live_socket;

use crate::RuntimeState;
use crate::context::{AppCtx, resolve};
use crate::extract::MaybePrincipal;
use crate::pb::PbResult;
use crate::realtime::{AppStream, Change, Client, Sink, matches, send_if_allowed};

/// The `[realtime]` settings section.
pub const SECTION: &str = "realtime";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RealtimeConfig {
    /// Seconds between the WebSocket transport's heartbeats (at least 1); a client silent
    /// for three is disconnected.
    pub ws_heartbeat_secs: u64,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        RealtimeConfig { ws_heartbeat_secs: 25 }
    }
}

/// Heartbeats a client may stay silent for (no message, no pong).
const IDLE_HEARTBEATS: u32 = 3;
const MAX_SUBSCRIPTIONS: usize = 200;

pub fn routes() -> Router<RuntimeState> {
    Router::new().route("/apps/{slug}/api/realtime/ws", get(upgrade))
}

#[derive(Debug, Deserialize)]
struct ConnectQuery {
    token: Option<String>,
}

async fn upgrade(
    State(state): State<RuntimeState>,
    principal: MaybePrincipal,
    mut headers: HeaderMap,
    Path(slug): Path<String>,
    Query(q): Query<ConnectQuery>,
    ws: WebSocketUpgrade,
) -> PbResult<Response> {
    if let Some(token) = q.token.as_deref()
        && let Ok(v) = HeaderValue::from_str(token)
    {
        headers.insert(header::AUTHORIZATION, v);
    }
    let ctx = Arc::new(resolve(&state, &slug, principal.0.as_ref(), &headers).await?);
    crate::realtime::require_listening(&state).await?;
    if let Ok(mut streams) = state.realtime.streams.lock() {
        streams.entry(ctx.app.id.clone()).or_insert_with(AppStream::default);
    }
    Ok(ws.on_upgrade(move |socket| run(state, ctx, socket)))
}

fn current_seq(state: &RuntimeState, app: &str) -> u64 {
    state.realtime.streams.lock().ok().and_then(|s| s.get(app).map(|a| a.next)).unwrap_or(0)
}

async fn run(state: RuntimeState, ctx: Arc<AppCtx>, mut socket: WebSocket) {
    let id = kernel::ids::random_token(30);
    let (tx, mut rx) = mpsc::channel::<String>(crate::realtime::RESUME_BUFFER);
    let client = Arc::new(Client::new(ctx.app.id.clone(), Sink::Ws(tx.clone()), Some(ctx.clone())));
    state.realtime.add(&id, client.clone());
    let hello = json!({"type": "hello", "clientId": id, "epoch": state.realtime.epoch, "seq": current_seq(&state, &ctx.app.id), "heartbeat": state.ws_heartbeat.as_secs()});
    let limit = Some(state.ws_heartbeat);
    if send_text(&mut socket, limit, hello.to_string()).await.is_err() {
        state.realtime.remove(&id);
        return;
    }
    let mut heartbeat = tokio::time::interval(state.ws_heartbeat);
    heartbeat.tick().await;
    let mut last_heard = tokio::time::Instant::now();
    let mut stopping = state.stopping.clone();
    'connection: loop {
        tokio::select! {
            () = async { let _ = stopping.wait_for(|stop| *stop).await; } => {
                // 1001 Going Away: the client reconnects (and resumes) elsewhere or later.
                live_socket::close(&mut socket, 1001, "the server is shutting down").await;
                break;
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    last_heard = tokio::time::Instant::now();
                    for reply in handle(&state, &ctx, &client, &text).await {
                        if send_text(&mut socket, limit, reply).await.is_err() {
                            break 'connection;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => last_heard = tokio::time::Instant::now(),
            },
            () = client.overflowed.notified() => {
                // 1013 Try Again Later: it fell more than a resume buffer behind; it reconnects
                // and resumes from the last `seq` it got (or is told to refetch).
                live_socket::close(&mut socket, 1013, "fell too far behind: reconnect and resume").await;
                break;
            }
            Some(out) = rx.recv() => {
                if send_text(&mut socket, limit, out).await.is_err() {
                    break;
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > state.ws_heartbeat * IDLE_HEARTBEATS {
                    live_socket::close(&mut socket, 1000, "no message or pong for too long").await;
                    break;
                }
                let ping = live_socket::send(&mut socket, limit, Message::Ping(Default::default())).await;
                if ping.is_err() || send_text(&mut socket, limit, json!({"type": "ping"}).to_string()).await.is_err() {
                    break;
                }
            }
        }
    }
    state.realtime.remove(&id);
}

/// Write `text`, waiting at most `limit` (a heartbeat: the peer stopped reading past it).
async fn send_text(socket: &mut WebSocket, limit: Option<Duration>, text: String) -> Result<(), live_socket::Sent> {
    live_socket::send(socket, limit, Message::Text(text.into())).await
}

fn error(id: &Value, code: &str, message: impl Into<String>) -> String {
    json!({"type": "error", "id": id, "code": code, "message": message.into()}).to_string()
}

/// Answer one client message; events replayed by a resume are sent through the client's
/// queue after the `subscribed` reply.
async fn handle(state: &RuntimeState, ctx: &Arc<AppCtx>, client: &Arc<Client>, text: &str) -> Vec<String> {
    let Ok(msg) = serde_json::from_str::<Value>(text) else {
        return vec![error(&Value::Null, "invalid_message", "messages are JSON objects with a type")];
    };
    let id = msg.get("id").cloned().unwrap_or(Value::Null);
    match msg.get("type").and_then(Value::as_str) {
        Some("ping") => vec![json!({"type": "pong"}).to_string()],
        Some("unsubscribe") => {
            let key = id.as_str().unwrap_or_default();
            if let Ok(mut s) = client.subscriptions.write() {
                s.0.retain(|sub| sub.key != key);
            }
            vec![json!({"type": "unsubscribed", "id": id}).to_string()]
        }
        Some("subscribe") => subscribe(state, ctx, client, &msg, id).await,
        _ => vec![error(&id, "invalid_message", "type is subscribe, unsubscribe or ping")],
    }
}

async fn subscribe(
    state: &RuntimeState,
    ctx: &Arc<AppCtx>,
    client: &Arc<Client>,
    msg: &Value,
    id: Value,
) -> Vec<String> {
    let Some(key) = id.as_str().filter(|k| !k.is_empty() && k.len() <= 100).map(str::to_string) else {
        return vec![error(&id, "invalid_subscription", "a subscription needs an id (a short string)")];
    };
    let topic = msg.get("topic").and_then(Value::as_str).unwrap_or_default();
    let mut sub = match crate::realtime::parse_subscription(topic) {
        Ok(s) => s,
        Err(m) => return vec![error(&id, "invalid_subscription", format!("{topic:?}: {m}"))],
    };
    sub.key = key.clone();
    let Ok(collection) = ctx.collection(&sub.collection) else {
        return vec![error(&id, "invalid_subscription", format!("there is no collection {:?}", sub.collection))];
    };
    let options = msg.get("options").cloned().unwrap_or(Value::Null);
    if let Some(f) = options.get("filter").and_then(Value::as_str).filter(|f| !f.trim().is_empty()) {
        let checked = ctx.schema.checked(&collection.name);
        match expr::parse(f) {
            Err(e) => return vec![error(&id, "invalid_filter", e.to_string())],
            Ok(parsed) => {
                if let Some(me) = checked
                    && let Err(errors) = expr::check::check(&parsed, me, ctx.schema.as_ref())
                {
                    let message = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                    return vec![error(&id, "invalid_filter", message)];
                }
                sub.filter = Some(parsed);
            }
        }
    }
    sub.expand = options.get("expand").and_then(Value::as_str).map(str::to_string);
    sub.fields = options.get("fields").and_then(Value::as_str).map(str::to_string);
    let collection = collection.clone();
    // Registered, numbered and (on a resume) replayed under the stream's lock: an event is
    // numbered either before it (replayed, and skipped by its live fan-out, which may still
    // be queued) or after it (sent live, queued behind the replay on the app's ordered
    // fan-out), never both nor neither.
    let Ok(streams) = state.realtime.streams.lock() else { return Vec::new() };
    let seq = streams.get(&ctx.app.id).map_or(0, |a| a.next);
    sub.after_seq = seq;
    {
        let Ok(mut s) = client.subscriptions.write() else { return Vec::new() };
        s.0.retain(|old| old.key != key);
        if s.0.len() >= MAX_SUBSCRIPTIONS {
            return vec![error(
                &id,
                "invalid_subscription",
                format!("at most {MAX_SUBSCRIPTIONS} subscriptions per connection"),
            )];
        }
        s.0.push(sub.clone());
    }
    let mut replies =
        vec![json!({"type": "subscribed", "id": id, "seq": seq, "epoch": state.realtime.epoch}).to_string()];
    if let Some(resume) = msg.get("resume") {
        match replay_from(state, &streams, ctx, resume) {
            Err(reason) => replies.push(json!({"type": "refetch", "id": id, "reason": reason}).to_string()),
            Ok(missed) => {
                let (app_id, client, ctx) = (ctx.app.id.clone(), client.clone(), ctx.clone());
                let replay = async move {
                    for b in missed
                        .into_iter()
                        .filter(|b| b.collection_id == collection.id && matches(&sub, &collection, &b.row))
                    {
                        let mut change = Change::new(&collection, b.action, &b.row, Some(b.seq));
                        send_if_allowed(&client, &ctx, &sub, &mut change).await;
                    }
                };
                state.realtime.fanouts.run(&app_id, Box::pin(replay));
            }
        }
    }
    replies
}

/// The buffered events after the client's last `seq`, if nothing between is lost.
fn replay_from(
    state: &RuntimeState,
    streams: &HashMap<String, AppStream>,
    ctx: &AppCtx,
    resume: &Value,
) -> Result<Vec<crate::realtime::Buffered>, &'static str> {
    if resume.get("epoch").and_then(Value::as_str) != Some(state.realtime.epoch.as_str()) {
        return Err("the events were numbered by another server process; refetch");
    }
    let after = resume.get("seq").and_then(Value::as_u64).ok_or("resume needs the last seq received")?;
    let stream = streams.get(&ctx.app.id).ok_or("no events are buffered for this app; refetch")?;
    if after > stream.next {
        return Err("that seq was never sent; refetch");
    }
    let oldest = stream.buffer.front().map(|b| b.seq).unwrap_or(stream.next + 1);
    if after + 1 < oldest && after < stream.next {
        return Err("too many events were missed; refetch");
    }
    Ok(stream.buffer.iter().filter(|b| b.seq > after).cloned().collect())
}
