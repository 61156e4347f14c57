//! `/apps/{slug}/api/collections/{collection}/records[/{id}]` and `/apps/{slug}/api/health`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::{DEFAULT_PER_PAGE, ListQuery, MAX_PER_PAGE, RequestData};
use crate::RuntimeState;
use crate::context::AppCtx;
use crate::extract::{App, PbQuery, read_json_object};
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

/// Whether the records go out as stored, neither expanded nor projected (so that rows SQL
/// builds whole need not be parsed).
fn sent_as_read(q: &Map<String, Value>) -> bool {
    text(q, "expand").is_none() && text(q, "fields").is_none()
}

fn text<'a>(q: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    q.get(key).and_then(Value::as_str)
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
    PbQuery(q): PbQuery,
    App(ctx): App,
    Path((_, collection)): Path<(String, String)>,
) -> PbResult<Response> {
    let number =
        |k: &str, default: i64| text(&q, k).and_then(|v| v.parse::<i64>().ok()).filter(|n| *n > 0).unwrap_or(default);
    if collection == crate::external_auths::COLLECTION {
        let (page, per_page) =
            (number("page", 1).min(1_000_000), number("perPage", DEFAULT_PER_PAGE).min(MAX_PER_PAGE));
        return Ok(Json(crate::external_auths::list(&state, &ctx, page, per_page).await?).into_response());
    }
    let c = ctx.collection(&collection)?;
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
    Ok(Json(result).into_response())
}

async fn view_record(
    State(state): State<RuntimeState>,
    PbQuery(q): PbQuery,
    App(ctx): App,
    Path((_, collection, id)): Path<(String, String, String)>,
) -> PbResult<Response> {
    if collection == crate::external_auths::COLLECTION {
        return Ok(Json(crate::external_auths::view(&state, &ctx, &id).await?).into_response());
    }
    let c = ctx.collection(&collection)?;
    let query_value = Value::Object(q.clone());
    let data = RequestData { body: &Value::Null, query: &query_value };
    if sent_as_read(&q)
        && let Some(record) = super::view_as_read(&ctx, c, &id, &data).await?
    {
        return Ok(Json(record).into_response());
    }
    let record = super::view(&ctx, c, &id, &data).await?;
    answer(&ctx, c, &q, record).await.map(IntoResponse::into_response)
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
    Ok((read_json_object(request).await?, Vec::new()))
}

/// One record as answered: `expand` and `fields` applied.
async fn answer(
    ctx: &AppCtx,
    c: &collections::model::Collection,
    q: &Map<String, Value>,
    record: Value,
) -> PbResult<Json<Value>> {
    let mut records = [record];
    finish(ctx, c, q, &mut records).await?;
    let [record] = records;
    Ok(Json(record))
}

async fn create_record(
    State(state): State<RuntimeState>,
    PbQuery(q): PbQuery,
    App(ctx): App,
    Path((_, collection)): Path<(String, String)>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> PbResult<Json<Value>> {
    let c = ctx.collection(&collection)?;
    let (body, uploads) = read_body(c, &headers, request).await?;
    let row = super::uploads::create_with_files(&ctx, &state, c, body, uploads, &Value::Object(q.clone())).await?;
    answer(&ctx, c, &q, super::present(&ctx, c, row)).await
}

async fn update_record(
    State(state): State<RuntimeState>,
    PbQuery(q): PbQuery,
    App(ctx): App,
    Path((_, collection, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> PbResult<Json<Value>> {
    let c = ctx.collection(&collection)?;
    let (body, uploads) = read_body(c, &headers, request).await?;
    let row = super::uploads::update_with_files(&ctx, &state, c, &id, body, uploads, &Value::Object(q.clone())).await?;
    answer(&ctx, c, &q, super::present(&ctx, c, row)).await
}

async fn delete_record(
    State(state): State<RuntimeState>,
    PbQuery(q): PbQuery,
    App(ctx): App,
    Path((_, collection, id)): Path<(String, String, String)>,
) -> PbResult<Response> {
    if collection == crate::external_auths::COLLECTION {
        crate::external_auths::delete(&state, &ctx, &id).await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let c = ctx.collection(&collection)?;
    super::uploads::delete_with_files(&ctx, &state, c, &id, &Value::Object(q)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
