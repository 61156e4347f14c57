//! `POST /apps/{slug}/api/batch`: several creates, updates, upserts and deletes in one
//! transaction, all or nothing, as PocketBase's batch API. Sub-request URLs are relative to
//! the app (`/api/collections/posts/records[/{id}]`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::RuntimeState;
use crate::context::resolve;
use crate::pb::{PbError, PbResult};
use crate::realtime::Action;
use crate::records::routes::{MaybePrincipal, json_body};
use crate::records::{self, create_in, delete_in, update_in};

pub const MAX_REQUESTS: usize = 50;

pub fn routes() -> Router<RuntimeState> {
    Router::new().route("/apps/{slug}/api/batch", post(batch))
}

enum Op {
    Create,
    Update(String),
    Upsert,
    Delete(String),
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

async fn batch(
    State(state): State<RuntimeState>,
    principal: MaybePrincipal,
    headers: HeaderMap,
    Path(slug): Path<String>,
    body: Bytes,
) -> PbResult<Json<Value>> {
    let body = json_body(&headers, &body)?;
    let ctx = resolve(&state, &slug, principal.0.as_ref(), &headers).await?;
    let requests = match body.get("requests") {
        Some(Value::Array(r)) if !r.is_empty() && r.len() <= MAX_REQUESTS => r.clone(),
        _ => {
            return Err(PbError::field(
                "Failed to process the batch.",
                "requests",
                "validation_length_out_of_range",
                format!("Send 1 to {MAX_REQUESTS} requests."),
            ));
        }
    };
    let mut plan = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let method = r.get("method").and_then(Value::as_str).unwrap_or("").to_ascii_uppercase();
        let url = r.get("url").and_then(Value::as_str).unwrap_or("");
        let Some((collection, id, query)) = parse_url(url) else {
            return Err(failed(i, PbError::bad_request(format!("Unsupported batch URL {url:?}."))));
        };
        let op = match (method.as_str(), id) {
            ("POST", None) => Op::Create,
            ("PUT", None) => Op::Upsert,
            ("PATCH", Some(id)) => Op::Update(id),
            ("DELETE", Some(id)) => Op::Delete(id),
            _ => return Err(failed(i, PbError::bad_request(format!("Unsupported batch action {method} {url}.")))),
        };
        let c = ctx.collection(&collection).map_err(|e| failed(i, e))?.clone();
        let body = match r.get("body") {
            Some(Value::Object(b)) => b.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(failed(i, PbError::bad_request("A batch request body is a JSON object."))),
        };
        plan.push((c, op, body, Value::Object(query)));
    }
    let mut tx = ctx.db.begin_inline().await?;
    let mut done = Vec::new();
    for (i, (c, op, body, query)) in plan.iter().enumerate() {
        let result = match op {
            Op::Create => create_in(&mut tx, &ctx, &state, c, body, query, &[]).await.map(|row| {
                (Action::Create, row.get("id").and_then(Value::as_str).unwrap_or_default().to_string(), None)
            }),
            Op::Update(id) => update_in(&mut tx, &ctx, &state, c, id, body, query, &[])
                .await
                .map(|_| (Action::Update, id.clone(), None)),
            Op::Upsert => {
                let id = body.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                let exists = !id.is_empty() && records::load(&ctx, c, &id).await.is_ok();
                if exists {
                    update_in(&mut tx, &ctx, &state, c, &id, body, query, &[]).await.map(|_| (Action::Update, id, None))
                } else {
                    create_in(&mut tx, &ctx, &state, c, body, query, &[]).await.map(|row| {
                        (Action::Create, row.get("id").and_then(Value::as_str).unwrap_or_default().to_string(), None)
                    })
                }
            }
            Op::Delete(id) => {
                delete_in(&mut tx, &ctx, &state, c, id, query).await.map(|row| (Action::Delete, id.clone(), Some(row)))
            }
        };
        done.push(result.map_err(|e| failed(i, e))?);
    }
    tx.commit().await?;
    let mut responses = Vec::new();
    for ((c, _, _, _), (action, id, deleted)) in plan.iter().zip(done) {
        match (action, deleted) {
            (Action::Delete, Some(_)) => {
                responses.push(json!({"status": StatusCode::NO_CONTENT.as_u16(), "body": null}));
            }
            (_, _) => {
                let row = records::load(&ctx, c, &id).await?;
                responses.push(json!({"status": 200, "body": records::present(&ctx, c, row)}));
            }
        }
    }
    Ok(Json(Value::Array(responses)))
}

#[cfg(test)]
mod tests {
    use super::parse_url;

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
