//! `/apps/{slug}/api/collections/{collection}/records[/{id}]` and `/apps/{slug}/api/health`.

use std::convert::Infallible;

use axum::body::Bytes;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kernel::principal::Principal;
use serde_json::{Map, Value, json};

use super::{DEFAULT_PER_PAGE, ListQuery, MAX_PER_PAGE, RequestData};
use crate::RuntimeState;
use crate::context::{AppCtx, resolve};
use crate::pb::{PbError, PbResult};

pub fn routes() -> Router<RuntimeState> {
    Router::new()
        .route("/apps/{slug}/api/health", get(health))
        .route("/apps/{slug}/api/collections/{collection}/records", get(list_records).post(create_record))
        .route(
            "/apps/{slug}/api/collections/{collection}/records/{id}",
            get(view_record).patch(update_record).delete(delete_record),
        )
}

/// The platform principal, if the request carried one (builders and API keys act as the
/// app's superusers).
pub struct MaybePrincipal(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybePrincipal {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybePrincipal(parts.extensions.get::<Principal>().cloned()))
    }
}

pub type Params = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

pub fn params(q: Params) -> PbResult<Map<String, Value>> {
    let Query(pairs) = q.map_err(|e| PbError::bad_request(format!("Invalid query string: {e}")))?;
    Ok(pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

/// Whether the records go out as stored, neither expanded nor projected (so that rows SQL
/// builds whole need not be parsed).
fn sent_as_read(q: &Map<String, Value>) -> bool {
    text(q, "expand").is_none() && text(q, "fields").is_none()
}

fn text<'a>(q: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    q.get(key).and_then(Value::as_str)
}

/// The JSON object of a create or update body.
pub fn json_body(headers: &HeaderMap, body: &Bytes) -> PbResult<Map<String, Value>> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("multipart/form-data") {
        return Err(PbError::bad_request("multipart/form-data (file uploads) is not supported yet; send JSON."));
    }
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(PbError::bad_request("The request body must be a JSON object.")),
        Err(e) => {
            Err(PbError::bad_request(format!("Failed to load the submitted data due to invalid formatting: {e}")))
        }
    }
}

async fn app(state: &RuntimeState, slug: &str, principal: &MaybePrincipal, headers: &HeaderMap) -> PbResult<AppCtx> {
    resolve(state, slug, principal.0.as_ref(), headers).await
}

/// `expand` then `fields`, as PocketBase applies them to every answer with records.
async fn finish(
    ctx: &AppCtx,
    c: &collections::model::Collection,
    q: &Map<String, Value>,
    records: &mut [Value],
) -> PbResult<()> {
    let paths = super::parse_expand(text(q, "expand"));
    super::expand(ctx, c, records, &paths, 0).await?;
    for r in records.iter_mut() {
        super::project_fields(r, text(q, "fields"));
    }
    Ok(())
}

async fn health(State(state): State<RuntimeState>, Path(slug): Path<String>) -> PbResult<Json<Value>> {
    let exists: i64 = state.db.count("SELECT COUNT(*) FROM runtime_apps WHERE slug = $1", kernel::args![&slug]).await?;
    if exists == 0 {
        return Err(PbError::not_found());
    }
    Ok(Json(json!({"code": 200, "message": "API is healthy.", "data": {}})))
}

async fn list_records(
    State(state): State<RuntimeState>,
    principal: MaybePrincipal,
    headers: HeaderMap,
    Path((slug, collection)): Path<(String, String)>,
    q: Params,
) -> PbResult<Json<super::ListResult>> {
    let q = params(q)?;
    let ctx = app(&state, &slug, &principal, &headers).await?;
    let c = ctx.collection(&collection)?;
    let number =
        |k: &str, default: i64| text(&q, k).and_then(|v| v.parse::<i64>().ok()).filter(|n| *n > 0).unwrap_or(default);
    let query = ListQuery {
        page: number("page", 1).min(1_000_000),
        per_page: number("perPage", DEFAULT_PER_PAGE).min(MAX_PER_PAGE),
        sort: text(&q, "sort").map(str::to_string),
        filter: text(&q, "filter").map(str::to_string),
        skip_total: matches!(text(&q, "skipTotal"), Some("1" | "true")),
        items_as_read: sent_as_read(&q),
    };
    let query_value = Value::Object(q.clone());
    let mut result = super::list(&ctx, c, &query, &RequestData { body: &Value::Null, query: &query_value }).await?;
    if let super::list::Items::Records(items) = &mut result.items {
        finish(&ctx, c, &q, items).await?;
    }
    // `fields` applies to the records; the envelope stays whole.
    Ok(Json(result))
}

async fn view_record(
    State(state): State<RuntimeState>,
    principal: MaybePrincipal,
    headers: HeaderMap,
    Path((slug, collection, id)): Path<(String, String, String)>,
    q: Params,
) -> PbResult<Response> {
    let q = params(q)?;
    let ctx = app(&state, &slug, &principal, &headers).await?;
    let c = ctx.collection(&collection)?;
    let query_value = Value::Object(q.clone());
    let data = RequestData { body: &Value::Null, query: &query_value };
    if sent_as_read(&q)
        && let Some(record) = super::view_as_read(&ctx, c, &id, &data).await?
    {
        return Ok(Json(record).into_response());
    }
    let record = super::view(&ctx, c, &id, &data).await?;
    let mut records = [record];
    finish(&ctx, c, &q, &mut records).await?;
    let [record] = records;
    Ok(Json(record).into_response())
}

/// The body of a create or update: JSON, or multipart with files (checked against their
/// fields, not yet stored).
async fn read_body(
    c: &collections::model::Collection,
    headers: &HeaderMap,
    request: axum::extract::Request,
) -> PbResult<(Map<String, Value>, Vec<crate::files::Upload>)> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("multipart/form-data") {
        let form = crate::files::read_multipart(request).await?;
        let uploads = crate::files::check_uploads(c, form.files)?;
        return Ok((form.values, uploads));
    }
    // Reading through the extractor keeps the body limit.
    let bytes = <Bytes as axum::extract::FromRequest<()>>::from_request(request, &()).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            PbError::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large.")
        } else {
            PbError::bad_request(format!("Could not read the request body: {e}"))
        }
    })?;
    Ok((json_body(headers, &bytes)?, Vec::new()))
}

async fn create_record(
    State(state): State<RuntimeState>,
    principal: MaybePrincipal,
    headers: HeaderMap,
    Path((slug, collection)): Path<(String, String)>,
    q: Params,
    request: axum::extract::Request,
) -> PbResult<Json<Value>> {
    let q = params(q)?;
    let ctx = app(&state, &slug, &principal, &headers).await?;
    let c = ctx.collection(&collection)?;
    let (mut body, uploads) = read_body(c, &headers, request).await?;
    let new_files: Vec<String> = uploads.iter().map(|u| u.name.clone()).collect();
    if !uploads.is_empty() && body.get("id").and_then(Value::as_str).is_none_or(str::is_empty) {
        // Files are stored under the record's id, known before the insert.
        body.insert("id".into(), Value::String(collections::rows::new_record_id()));
    }
    crate::files::merge_uploads(c, &mut body, None, &uploads);
    let id = body.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    crate::files::write(&state, &ctx.app.id, c, &id, &uploads).await?;
    let row = match super::create(&ctx, &state, c, &body, &Value::Object(q.clone()), &new_files).await {
        Ok(row) => row,
        Err(e) => {
            if !uploads.is_empty() {
                crate::files::prune(&state, &ctx.app.id, c, &id, &[]).await;
            }
            return Err(e);
        }
    };
    let mut records = [super::present(&ctx, c, row)];
    finish(&ctx, c, &q, &mut records).await?;
    let [record] = records;
    Ok(Json(record))
}

async fn update_record(
    State(state): State<RuntimeState>,
    principal: MaybePrincipal,
    headers: HeaderMap,
    Path((slug, collection, id)): Path<(String, String, String)>,
    q: Params,
    request: axum::extract::Request,
) -> PbResult<Json<Value>> {
    let q = params(q)?;
    let ctx = app(&state, &slug, &principal, &headers).await?;
    let c = ctx.collection(&collection)?;
    let (mut body, uploads) = read_body(c, &headers, request).await?;
    let new_files: Vec<String> = uploads.iter().map(|u| u.name.clone()).collect();
    if !uploads.is_empty() || crate::files::has_removals(&body) {
        let existing = super::load(&ctx, c, &id).await?;
        crate::files::apply_removals(c, &mut body, Some(&existing));
        crate::files::merge_uploads(c, &mut body, Some(&existing), &uploads);
        crate::files::write(&state, &ctx.app.id, c, &id, &uploads).await?;
    }
    let row = match super::update(&ctx, &state, c, &id, &body, &Value::Object(q.clone()), &new_files).await {
        Ok(row) => row,
        Err(e) => {
            if !uploads.is_empty()
                && let Ok(current) = super::load(&ctx, c, &id).await
            {
                crate::files::prune(&state, &ctx.app.id, c, &id, &crate::files::names(c, &current)).await;
            }
            return Err(e);
        }
    };
    // A listing of the file store per update is a network call on S3: only where files live.
    if crate::files::has_file_fields(c) {
        crate::files::prune(&state, &ctx.app.id, c, &id, &crate::files::names(c, &row)).await;
    }
    let mut records = [super::present(&ctx, c, row)];
    finish(&ctx, c, &q, &mut records).await?;
    let [record] = records;
    Ok(Json(record))
}

async fn delete_record(
    State(state): State<RuntimeState>,
    principal: MaybePrincipal,
    headers: HeaderMap,
    Path((slug, collection, id)): Path<(String, String, String)>,
    q: Params,
) -> PbResult<Response> {
    let q = params(q)?;
    let ctx = app(&state, &slug, &principal, &headers).await?;
    let c = ctx.collection(&collection)?;
    super::delete(&ctx, &state, c, &id, &Value::Object(q)).await?;
    crate::files::prune(&state, &ctx.app.id, c, &id, &[]).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
