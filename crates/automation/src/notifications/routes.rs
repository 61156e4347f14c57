//! `/api/v1/notifications`: a signed-in user's notifications, preferences and live stream.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use kernel::json::{Json, Query};
use kernel::pagination::{Page, PageQuery};
use kernel::principal::{CurrentUser, Principal};
use kernel::{Error, Result};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Notification, Preference};
use crate::AutomationState;

pub fn routes() -> OpenApiRouter<AutomationState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(count_unread))
        .routes(routes!(read_all))
        .routes(routes!(get_preferences, put_preferences))
        .routes(routes!(read_one))
        .routes(routes!(delete_one))
        .route("/ws", axum::routing::get(live))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationFilter {
    /// Only unread notifications.
    pub unread: Option<bool>,
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "", tag = "notifications", params(NotificationFilter, PageQuery),
    responses((status = 200, body = Page<Notification>), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn list_notifications(
    State(s): State<AutomationState>,
    CurrentUser(me): CurrentUser,
    Query(f): Query<NotificationFilter>,
    Query(page): Query<PageQuery>,
) -> Result<axum::Json<Page<Notification>>> {
    Ok(axum::Json(super::list(&s.db, &me.user_id, f.unread.unwrap_or(false), page.validate()?).await?))
}

/// How many notifications the caller has not read (the bell's badge).
#[utoipa::path(get, path = "/unread-count", tag = "notifications",
    responses((status = 200, body = Object), (status = 401), (status = 403)),
    security(("bearer" = [])))]
async fn count_unread(State(s): State<AutomationState>, CurrentUser(me): CurrentUser) -> Result<axum::Json<Value>> {
    Ok(axum::Json(json!({"unread": super::unread_count(&s.db, &me.user_id).await?})))
}

/// Mark every notification read.
#[utoipa::path(post, path = "/read-all", tag = "notifications",
    responses((status = 200, body = Object), (status = 401), (status = 403)),
    security(("bearer" = [])))]
async fn read_all(State(s): State<AutomationState>, CurrentUser(me): CurrentUser) -> Result<axum::Json<Value>> {
    Ok(axum::Json(json!({"marked": super::mark_all_read(&s.db, &me.user_id).await?})))
}

/// Mark one notification read.
#[utoipa::path(post, path = "/{id}/read", tag = "notifications", params(("id" = String, Path)),
    responses((status = 200, body = Notification), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn read_one(
    State(s): State<AutomationState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
) -> Result<axum::Json<Notification>> {
    Ok(axum::Json(super::mark_read(&s.db, &me.user_id, &id).await?))
}

/// Delete one notification.
#[utoipa::path(delete, path = "/{id}", tag = "notifications", params(("id" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn delete_one(
    State(s): State<AutomationState>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    super::delete(&s.db, &me.user_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PreferencesInput {
    pub preferences: Vec<Preference>,
}

/// Which notification types the caller also receives by email.
#[utoipa::path(get, path = "/preferences", tag = "notifications",
    responses((status = 200, body = Vec<Preference>), (status = 401), (status = 403)),
    security(("bearer" = [])))]
async fn get_preferences(
    State(s): State<AutomationState>,
    CurrentUser(me): CurrentUser,
) -> Result<axum::Json<Vec<Preference>>> {
    Ok(axum::Json(super::preferences(&s.db, &me.user_id).await?))
}

/// Set email delivery per notification type.
#[utoipa::path(put, path = "/preferences", tag = "notifications", request_body = PreferencesInput,
    responses((status = 200, body = Vec<Preference>), (status = 400), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn put_preferences(
    State(s): State<AutomationState>,
    CurrentUser(me): CurrentUser,
    Json(input): Json<PreferencesInput>,
) -> Result<axum::Json<Vec<Preference>>> {
    Ok(axum::Json(super::set_preferences(&s.db, &me.user_id, &input.preferences).await?))
}

#[derive(Debug, Deserialize)]
struct WsQuery {
    token: Option<String>,
}

/// The live stream: `GET /api/v1/notifications/ws?token=ACCESS_TOKEN` (browsers cannot set
/// headers on a WebSocket) or with the usual `Authorization` header. Sends
/// `{"type":"hello","unread":N}`, then `{"type":"notification","notification":{...}}` as
/// they happen, and `{"type":"ping"}` every 25 s.
async fn live(
    State(s): State<AutomationState>,
    principal: Option<Principal>,
    axum::extract::Query(q): axum::extract::Query<WsQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response> {
    let principal = match (principal, q.token) {
        (Some(p), _) => p,
        (None, Some(token)) => {
            let mut headers = HeaderMap::new();
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| Error::Unauthorized("the token is malformed".into()))?;
            headers.insert(axum::http::header::AUTHORIZATION, value);
            foundation::authn::authenticate(&s.foundation, &headers)
                .await
                .map_err(|f| Error::Unauthorized(f.0))?
                .ok_or_else(|| Error::Unauthorized("authentication required".into()))?
        }
        (None, None) => {
            return Err(Error::Unauthorized("authentication required: pass ?token= or a bearer token".into()));
        }
    };
    let Principal::User(user) = principal else {
        return Err(Error::Forbidden("notifications belong to people, not API keys".into()));
    };
    // Greeted only once live delivery is in place (a process just started may still be
    // setting up its LISTEN): after the hello, no notification is missed.
    if !s.live.listening.wait(Duration::from_secs(10)).await {
        return Err(Error::Unavailable("live notifications are not available yet; retry shortly".into()));
    }
    let unread = super::unread_count(&s.db, &user.user_id).await?;
    let subscription = s.live.subscribe(&user.user_id);
    let stopping = s.runtime.stopping.clone();
    let ping_every = Duration::from_secs(s.settings.notification_ping_secs);
    let session = (s.db.clone(), user.user_id.clone(), user.session_id.clone());
    Ok(ws
        .max_message_size(16 * 1024)
        .on_upgrade(move |socket| stream(socket, subscription, unread, (stopping, ping_every), session)))
}

/// The stream of one signed-in person; it ends with 4401 once their session (`session`,
/// checked when an access change is announced) is revoked: signing out everywhere stops
/// the notifications an open tab was still receiving. Besides its `{"type":"ping"}` text
/// (for scripts), the stream is pinged at the WebSocket level every `ping_every`
/// (`automation.notification_ping_secs`): a peer that has not answered the last ping, or
/// leaves a write waiting that long, is dropped
/// (`kernel::live_socket`), so a vanished tab does not hold its stream for as long as the
/// operating system keeps the socket.
async fn stream(
    mut socket: WebSocket,
    mut sub: super::live::Subscription,
    unread: i64,
    (mut stopping, ping_every): (tokio::sync::watch::Receiver<bool>, Duration),
    (db, user_id, session_id): (kernel::Db, String, String),
) {
    use kernel::live_socket::{self, Liveness};
    let mut liveness = Liveness::new(Some(ping_every));
    let limit = liveness.write_limit();
    let hello = Message::Text(json!({"type": "hello", "unread": unread}).to_string().into());
    if live_socket::send(&mut socket, limit, hello).await.is_err() {
        return;
    }
    let mut changes = kernel::access_changes::subscribe();
    let mine = |scope: &kernel::access_changes::Scope| matches!(scope, kernel::access_changes::Scope::User(id) if *id == user_id);
    loop {
        let sent = tokio::select! {
            () = changes.next_concerning(mine) => {
                // A database hiccup is not a revocation: checked again at the next change.
                if matches!(foundation::sessions::is_active(&db, &session_id).await, Ok(false)) {
                    live_socket::close(&mut socket, 4401, "the session was revoked").await;
                    return;
                }
                Ok(())
            }
            () = async { let _ = stopping.wait_for(|stop| *stop).await; } => {
                live_socket::close(&mut socket, 1001, "the server is shutting down").await;
                return;
            }
            msg = sub.receiver.recv() => match msg {
                Some(text) => live_socket::send(&mut socket, limit, Message::Text(text.into())).await,
                None => {
                    // Let go for falling behind (see `Hub::deliver_local`): 1013, try again.
                    live_socket::close(&mut socket, 1013, "fell too far behind: reconnect and list what was missed").await;
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(Message::Pong(_))) => {
                    liveness.answered();
                    Ok(())
                }
                Some(Ok(_)) => Ok(()),
            },
            () = liveness.ping_due() => {
                let text = Message::Text(json!({"type": "ping"}).to_string().into());
                match liveness.send_ping(&mut socket).await {
                    Ok(()) => live_socket::send(&mut socket, limit, text).await,
                    failed => failed,
                }
            }
        };
        if let Err(why) = sent {
            tracing::debug!(?why, "notification stream dropped");
            return;
        }
    }
}
