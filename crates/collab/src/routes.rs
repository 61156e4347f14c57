//! `/api/v1/collab/pages/{page_id}` (the WebSocket room) and its REST companions, and the
//! admin's view of replays under `/api/v1/admin/collab`.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use foundation::authn::AdminUser;
use kernel::context::RequestContext;
use kernel::json::Json;
use kernel::pagination::{Page, PageQuery};
use kernel::principal::Principal;
use kernel::{Error, Result};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::CollabState;
use crate::access::{self, Credential};
use crate::replays::{self, Replay, ReplayDetail};
use crate::service::{self, DocumentAt, Presence, RestoreInput};

pub fn routes() -> OpenApiRouter<CollabState> {
    OpenApiRouter::new()
        .routes(routes!(connect))
        .routes(routes!(presence))
        .routes(routes!(list_replays))
        .routes(routes!(get_replay))
        .routes(routes!(document_at))
        .routes(routes!(restore))
        .routes(routes!(export_history))
}

pub fn admin_routes() -> OpenApiRouter<CollabState> {
    OpenApiRouter::new().routes(routes!(admin_list_replays)).routes(routes!(admin_delete_replay))
}

#[derive(Debug, Deserialize, IntoParams)]
struct ConnectQuery {
    /// A platform access token or API key (read-write for members of the page's organization).
    token: Option<String>,
    /// A Studio share link token of the page's project (read-only).
    share: Option<String>,
}

/// The page's Yjs room (WebSocket). Speaks the Yjs sync and awareness protocol, so
/// `new WebsocketProvider("ws://HOST/api/v1/collab/pages", pageId, doc, { params: { token } })`
/// connects unchanged. Close codes: 4400 unreadable message, 4401 token no longer valid,
/// 4403 access revoked (the client does not reconnect on 4400–4499), 1001 the server is
/// shutting down, 1011 the room failed (the client reconnects on both). A connection that
/// does not answer a ping within `ping_secs` is dropped.
#[utoipa::path(get, path = "/pages/{page_id}", tag = "collab",
    params(("page_id" = String, Path), ConnectQuery),
    responses((status = 101, description = "switching to the Yjs WebSocket protocol"),
        (status = 400, description = "not a WebSocket request"), (status = 401), (status = 404), (status = 503)),
    security((), ("bearer" = []), ("api_key" = [])))]
async fn connect(
    State(s): State<CollabState>,
    Path(page_id): Path<String>,
    Query(q): Query<ConnectQuery>,
    headers: HeaderMap,
    ws: std::result::Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::to_string)
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::to_string));
    let credential = match (q.token.filter(|t| !t.is_empty()).or(bearer), q.share.filter(|t| !t.is_empty())) {
        (Some(token), _) => Credential::Token(token),
        (None, Some(share)) => Credential::Share(share),
        (None, None) => return Err(Error::Unauthorized("a token or a share link is required".into())),
    };
    if let Credential::Token(token) = &credential {
        // A bad token is a 401 whether or not the page exists.
        access::principal_of(&s.foundation, token).await?;
    }
    let page = access::page(&s.foundation, &page_id).await?;
    let grant = access::authorize(&s.foundation, &page, &credential).await?;
    let Ok(ws) = ws else {
        return Err(Error::BadRequest("this is a WebSocket endpoint: send an upgrade request".into()));
    };
    if !s.listening.wait(std::time::Duration::from_secs(10)).await {
        return Err(Error::Unavailable("live editing is starting; try again".into()));
    }
    let state = s.clone();
    Ok(ws
        .max_message_size(s.settings.max_message_bytes)
        .max_frame_size(s.settings.max_message_bytes)
        // Yjs messages are small (an edit is tens of bytes): a small read buffer, allocated
        // with every connection, keeps an idle one cheap; a large message (a first sync)
        // is read in more calls.
        .read_buffer_size(2 * 1024)
        .write_buffer_size(8 * 1024)
        .on_upgrade(move |socket| crate::connection::run(state, page, grant, credential, socket)))
}

/// Who is in the page's room (this process's view): awareness states and their accounts.
#[utoipa::path(get, path = "/pages/{page_id}/presence", tag = "collab", params(("page_id" = String, Path)),
    responses((status = 200, body = Presence), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn presence(
    State(s): State<CollabState>,
    principal: Principal,
    Path(page_id): Path<String>,
) -> Result<Json<Presence>> {
    Ok(Json(service::presence(&s, &principal, &page_id).await?))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReplayFilter {
    /// Only sessions that changed the page (default false: every connection opens one).
    #[serde(default)]
    pub with_changes: bool,
}

/// The page's editing sessions, newest first.
#[utoipa::path(get, path = "/pages/{page_id}/replays", tag = "collab",
    params(("page_id" = String, Path), ReplayFilter, PageQuery),
    responses((status = 200, body = Page<Replay>), (status = 400), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_replays(
    State(s): State<CollabState>,
    principal: Principal,
    Path(page_id): Path<String>,
    kernel::json::Query(filter): kernel::json::Query<ReplayFilter>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<Replay>>> {
    let req = q.validate()?;
    let page = service::page_for(&s, &principal, &page_id).await?;
    Ok(Json(replays::list(&s.db, &page.page_id, filter.with_changes, req).await?))
}

/// One editing session and its updates (base64 Yjs v1 updates, in order, with their times
/// and authors).
#[utoipa::path(get, path = "/pages/{page_id}/replays/{replay_id}", tag = "collab",
    params(("page_id" = String, Path), ("replay_id" = String, Path)),
    responses((status = 200, body = ReplayDetail), (status = 401), (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_replay(
    State(s): State<CollabState>,
    principal: Principal,
    Path((page_id, replay_id)): Path<(String, String)>,
) -> Result<Json<ReplayDetail>> {
    let page = service::page_for(&s, &principal, &page_id).await?;
    Ok(Json(replays::detail(&s.db, &page.page_id, &replay_id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
struct AtQuery {
    /// RFC 3339 date and time.
    time: Option<String>,
}

/// The page document as it was at `time`.
#[utoipa::path(get, path = "/pages/{page_id}/at", tag = "collab", params(("page_id" = String, Path), AtQuery),
    responses((status = 200, body = DocumentAt), (status = 401), (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn document_at(
    State(s): State<CollabState>,
    principal: Principal,
    Path(page_id): Path<String>,
    Query(q): Query<AtQuery>,
) -> Result<Json<DocumentAt>> {
    let time = q.time.ok_or_else(|| Error::field("time", "required", "time is required"))?;
    Ok(Json(service::document_at(&s, &principal, &page_id, &time).await?))
}

/// Return the live page to an earlier time or Studio version, as a new change (history is
/// kept; connected editors see it). Audited.
#[utoipa::path(post, path = "/pages/{page_id}/restore", tag = "collab", params(("page_id" = String, Path)),
    request_body = RestoreInput,
    responses((status = 200, description = "the page document now", body = Object), (status = 400), (status = 401),
        (status = 404), (status = 422)),
    security(("bearer" = []), ("api_key" = [])))]
async fn restore(
    State(s): State<CollabState>,
    ctx: RequestContext,
    principal: Principal,
    Path(page_id): Path<String>,
    Json(input): Json<RestoreInput>,
) -> Result<Json<Value>> {
    Ok(Json(service::restore(&s, &ctx, &principal, &page_id, input).await?))
}

/// The page's kept editing history (sessions, base, updates) as gzip-compressed JSON.
#[utoipa::path(get, path = "/pages/{page_id}/history", tag = "collab", params(("page_id" = String, Path)),
    responses((status = 200, description = "gzip-compressed JSON", content_type = "application/gzip"), (status = 401),
        (status = 404)),
    security(("bearer" = []), ("api_key" = [])))]
async fn export_history(
    State(s): State<CollabState>,
    principal: Principal,
    Path(page_id): Path<String>,
) -> Result<Response> {
    let page = service::page_for(&s, &principal, &page_id).await?;
    let body = replays::export_history(&s.db, &page).await?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/gzip"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"page-{}-history.json.gz\"", page.page_id)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[derive(Debug, Deserialize, IntoParams)]
struct AdminReplayQuery {
    organization_id: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Every editing session on the platform, newest first (platform admins).
#[utoipa::path(get, path = "/collab/replays", tag = "admin", params(AdminReplayQuery),
    responses((status = 200, body = Page<replays::AdminReplay>), (status = 400), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
async fn admin_list_replays(
    State(s): State<CollabState>,
    _admin: AdminUser,
    Query(q): Query<AdminReplayQuery>,
) -> Result<Json<Page<replays::AdminReplay>>> {
    let req = PageQuery { page: q.page, per_page: q.per_page }.validate()?;
    Ok(Json(replays::list_all(&s.db, q.organization_id.as_deref(), req).await?))
}

/// Delete a replay: the history up to its end is folded into the page's base (the page
/// itself does not change). Audited.
#[utoipa::path(delete, path = "/collab/replays/{replay_id}", tag = "admin", params(("replay_id" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
async fn admin_delete_replay(
    State(s): State<CollabState>,
    ctx: RequestContext,
    AdminUser(admin): AdminUser,
    Path(replay_id): Path<String>,
) -> Result<axum::http::StatusCode> {
    let replay = replays::delete(&s.db, &replay_id).await?;
    let mut tx = s.db.begin().await?;
    foundation::audit::record(
        &mut tx,
        &ctx,
        foundation::audit::AuditEntry::new("COLLAB_REPLAY_DELETED", foundation::audit::Severity::Medium, "replay")
            .by(&Principal::User(admin))
            .org(&replay.organization_id)
            .target(&replay.id)
            .describe(format!("replay of page {} deleted", replay.page_id)),
    )
    .await?;
    tx.commit().await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
