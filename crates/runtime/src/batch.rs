//! `POST /apps/{slug}/api/batch`: several creates, updates, upserts and deletes in one
//! transaction, all or nothing, as PocketBase's batch API. Sub-request URLs are relative to
//! the app (`/api/collections/posts/records[/{id}]`).
//!
//! The body is JSON (`{"requests": [...]}`) or, as the official SDKs always send it,
//! multipart: the same JSON in a `@jsonPayload` part and each file in a part named
//! `requests.{N}.{field}` (repeated for several files; `field+` / `+field` append, as on a
//! single update, and `field-` in a request's body removes named files). Files are stored
//! before the transaction and removed again when it does not commit.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use axum::{Json, Router};
use collections::model::Collection;
use serde_json::{Map, Value, json};

use crate::RuntimeState;
use crate::context::AppCtx;
use crate::extract::{App, read_json_object};
use crate::files::{self, Upload};
use crate::pb::{PbError, PbResult};
use crate::realtime::Action;
use crate::records::{self, create_in, delete_in, update_in};

pub const MAX_REQUESTS: usize = 50;

pub fn routes() -> Router<RuntimeState> {
    Router::new().route("/apps/{slug}/api/batch", post(batch))
}

enum Op {
    Create,
    Update(String),
    Delete(String),
}

/// One sub-request, checked and ready to run: its uploads are stored under `record`.
struct Step {
    c: Collection,
    op: Op,
    body: Map<String, Value>,
    query: Value,
    uploads: Vec<Upload>,
    record: String,
}

/// Read `/api/collections/{c}/records[/{id}][?query]` into (collection, id, query).
fn parse_url(url: &str) -> Option<(String, Option<String>, Map<String, Value>)> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let rest = path.strip_prefix("/api/collections/")?;
    let mut parts = rest.split('/');
    let collection = parts.next().filter(|c| !c.is_empty())?.to_string();
    if parts.next()? != "records" {
        return None;
    }
    let id = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
    if parts.next().is_some() {
        return None;
    }
    let query = query
        .split('&')
        .filter_map(|pair| pair.split_once('=').map(|(k, v)| (k.to_string(), Value::String(v.to_string()))))
        .collect();
    Some((collection, id, query))
}

fn failed(index: usize, e: PbError) -> PbError {
    let mut data = Map::new();
    data.insert(
        "requests".into(),
        json!({ index.to_string(): {"code": "batch_request_failed", "message": "Batch request failed.",
            "response": {"status": e.status.as_u16(), "message": e.message, "data": e.data}}}),
    );
    PbError::with_fields("Batch transaction failed.", data)
}

type FilePart = (String, String, Option<String>, Bytes);

/// A multipart part name `requests.{N}.{field}` as (N, field), `+` modifiers dropped.
fn file_part_target(name: &str) -> Option<(usize, String)> {
    let (index, field) = name.strip_prefix("requests.")?.split_once('.')?;
    let field = field.trim_start_matches('+').trim_end_matches('+');
    if field.is_empty() {
        return None;
    }
    Some((index.parse().ok()?, field.to_string()))
}

fn bad_part(name: &str, code: &str, message: impl Into<String>) -> PbError {
    PbError::field("Failed to load the batch files.", name, code, message)
}

/// The batch JSON and the files of each request (by index), from a JSON or multipart body.
async fn read_batch(headers: &HeaderMap, request: Request) -> PbResult<(Map<String, Value>, Vec<Vec<FilePart>>)> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("multipart/form-data") {
        return Ok((read_json_object(request).await?, Vec::new()));
    }
    let form = files::read_multipart(request).await?;
    if let Some(name) = form.values.keys().find(|k| k.starts_with("requests.")) {
        return Err(bad_part(name, "validation_invalid_file", "A batch request's part must be a file."));
    }
    let count = match form.values.get("requests") {
        Some(Value::Array(r)) => r.len(),
        _ => 0,
    };
    let mut by_request: Vec<Vec<FilePart>> = (0..count).map(|_| Vec::new()).collect();
    for (name, original, content_type, bytes) in form.files {
        let Some((index, field)) = file_part_target(&name) else {
            return Err(bad_part(
                &name,
                "validation_invalid_file",
                "File parts of a batch are named requests.{index}.{field}.",
            ));
        };
        let Some(files) = by_request.get_mut(index) else {
            return Err(bad_part(
                &name,
                "validation_invalid_file",
                format!("There is no request {index} in this batch ({count} requests)."),
            ));
        };
        files.push((field, original, content_type, bytes));
    }
    Ok((form.values, by_request))
}

/// Check one sub-request and settle its files: the record id they are stored under, the
/// body naming them, what an upsert turns out to be.
async fn plan(ctx: &AppCtx, r: &Value, files: Vec<FilePart>) -> PbResult<Step> {
    let method = r.get("method").and_then(Value::as_str).unwrap_or("").to_ascii_uppercase();
    let url = r.get("url").and_then(Value::as_str).unwrap_or("");
    let Some((collection, id, query)) = parse_url(url) else {
        return Err(PbError::bad_request(format!("Unsupported batch URL {url:?}.")));
    };
    let c = ctx.collection(&collection)?.clone();
    let mut body = match r.get("body") {
        Some(Value::Object(b)) => b.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(PbError::bad_request("A batch request body is a JSON object.")),
    };
    let mut op = match (method.as_str(), id) {
        ("POST", None) => Op::Create,
        ("PUT", None) => {
            let id = body.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            if !id.is_empty() && records::load(ctx, &c, &id).await.is_ok() { Op::Update(id) } else { Op::Create }
        }
        ("PATCH", Some(id)) => Op::Update(id),
        ("DELETE", Some(id)) => Op::Delete(id),
        _ => return Err(PbError::bad_request(format!("Unsupported batch action {method} {url}."))),
    };
    let uploads = files::check_uploads(&c, files)?;
    let record = match &mut op {
        Op::Delete(id) => {
            if let Some(u) = uploads.first() {
                return Err(PbError::field(
                    "A delete takes no files.",
                    &u.field,
                    "validation_invalid_file",
                    "A delete takes no files.",
                ));
            }
            id.clone()
        }
        Op::Update(id) => {
            if !uploads.is_empty() || files::has_removals(&body) {
                let existing = records::load(ctx, &c, id).await?;
                files::apply_removals(&c, &mut body, Some(&existing));
                files::merge_uploads(&c, &mut body, Some(&existing), &uploads);
            }
            id.clone()
        }
        Op::Create => {
            files::apply_removals(&c, &mut body, None);
            if !uploads.is_empty() && body.get("id").and_then(Value::as_str).is_none_or(str::is_empty) {
                // Files are stored under the record's id, known before the insert.
                body.insert("id".into(), Value::String(collections::rows::new_record_id()));
            }
            files::merge_uploads(&c, &mut body, None, &uploads);
            body.get("id").and_then(Value::as_str).unwrap_or_default().to_string()
        }
    };
    Ok(Step { c, op, body, query: Value::Object(query), uploads, record })
}

/// Run every step in one transaction; the record id and the deleted row of each.
async fn run(
    state: &RuntimeState,
    ctx: &AppCtx,
    steps: &[Step],
) -> PbResult<Vec<(Action, String, Option<Map<String, Value>>)>> {
    let mut tx = ctx.db.begin_inline().await?;
    let mut done = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let new_files: Vec<String> = s.uploads.iter().map(|u| u.name.clone()).collect();
        let result = match &s.op {
            Op::Create => create_in(&mut tx, ctx, state, &s.c, &s.body, &s.query, &new_files).await.map(|row| {
                (Action::Create, row.get("id").and_then(Value::as_str).unwrap_or_default().to_string(), None)
            }),
            Op::Update(id) => update_in(&mut tx, ctx, state, &s.c, id, &s.body, &s.query, &new_files)
                .await
                .map(|_| (Action::Update, id.clone(), None)),
            Op::Delete(id) => delete_in(&mut tx, ctx, state, &s.c, id, &s.query)
                .await
                .map(|row| (Action::Delete, id.clone(), Some(row))),
        };
        done.push(result.map_err(|e| failed(i, e))?);
    }
    tx.commit().await?;
    Ok(done)
}

async fn discard_all(state: &RuntimeState, ctx: &AppCtx, steps: &[Step]) {
    for s in steps.iter().filter(|s| !s.uploads.is_empty()) {
        files::discard(state, &ctx.app.id, &s.c, &s.record, &s.uploads).await;
    }
}

async fn batch(
    State(state): State<RuntimeState>,
    App(ctx): App,
    headers: HeaderMap,
    request: Request,
) -> PbResult<Json<Value>> {
    let (body, mut files_of) = read_batch(&headers, request).await?;
    let requests = match body.get("requests") {
        Some(Value::Array(r)) if !r.is_empty() && r.len() <= MAX_REQUESTS => r,
        _ => {
            return Err(PbError::field(
                "Failed to process the batch.",
                "requests",
                "validation_length_out_of_range",
                format!("Send 1 to {MAX_REQUESTS} requests."),
            ));
        }
    };
    let mut steps = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        let files = files_of.get_mut(i).map(std::mem::take).unwrap_or_default();
        steps.push(plan(&ctx, r, files).await.map_err(|e| failed(i, e))?);
    }
    // Files first, outside the write transaction (which every write queues for).
    for (i, s) in steps.iter().enumerate().filter(|(_, s)| !s.uploads.is_empty()) {
        if let Err(e) = files::write(&state, &ctx.app.organization_id, &ctx.app.id, &s.c, &s.record, &s.uploads).await {
            // `write` may have stored some of this step's files too.
            discard_all(&state, &ctx, &steps[..=i]).await;
            return Err(e);
        }
    }
    let done = match run(&state, &ctx, &steps).await {
        Ok(done) => done,
        Err(e) => {
            discard_all(&state, &ctx, &steps).await;
            return Err(e);
        }
    };
    let mut responses = Vec::with_capacity(done.len());
    for (s, (action, id, deleted)) in steps.iter().zip(done) {
        match (action, deleted) {
            (Action::Delete, Some(_)) => {
                if files::has_file_fields(&s.c) {
                    files::prune(&state, &ctx.app.id, &s.c, &id, &[]).await;
                }
                responses.push(json!({"status": StatusCode::NO_CONTENT.as_u16(), "body": null}));
            }
            (action, _) => {
                let row = records::load(&ctx, &s.c, &id).await?;
                // Files an update replaced or removed leave the store.
                if matches!(action, Action::Update) && files::has_file_fields(&s.c) {
                    files::prune(&state, &ctx.app.id, &s.c, &id, &files::names(&s.c, &row)).await;
                }
                responses.push(json!({"status": 200, "body": records::present(&ctx, &s.c, row)}));
            }
        }
    }
    Ok(Json(Value::Array(responses)))
}

#[cfg(test)]
mod tests {
    use super::{file_part_target, parse_url};

    #[test]
    fn reads_file_part_names() {
        assert_eq!(file_part_target("requests.0.document"), Some((0, "document".into())));
        assert_eq!(file_part_target("requests.12.documents+"), Some((12, "documents".into())));
        assert_eq!(file_part_target("requests.3.+documents"), Some((3, "documents".into())));
        assert_eq!(file_part_target("requests.x.document"), None);
        assert_eq!(file_part_target("requests.1."), None);
        assert_eq!(file_part_target("document"), None);
    }

    #[test]
    fn reads_sub_request_urls() {
        let (c, id, q) = parse_url("/api/collections/posts/records/abc?expand=author").expect("url");
        assert_eq!((c.as_str(), id.as_deref()), ("posts", Some("abc")));
        assert_eq!(q["expand"], "author");
        assert!(parse_url("/api/collections/posts/auth-refresh").is_none());
        assert!(parse_url("/api/collections//records").is_none());
        assert!(parse_url("/other").is_none());
    }
}
