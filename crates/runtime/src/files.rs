//! Files of file fields: multipart uploads on create and update (size and MIME limits from
//! the field), stored on the local disk under the data dir, served at
//! `/apps/{slug}/api/files/{collection}/{record}/{filename}`; protected fields need a
//! short-lived file token from `POST /apps/{slug}/api/files/token` and the view rule.

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use collections::model::{Collection, Field, FieldKind};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, encode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use kernel::storage::sniff;

use crate::RuntimeState;
use crate::context::{AppCtx, Requester};
use crate::extract::App;
use crate::pb::{PbError, PbResult};

/// PocketBase's default when a field sets no `maxSize`.
pub const DEFAULT_MAX_SIZE: u64 = 5 * 1024 * 1024;
const FILE_TOKEN_AUDIENCE: &str = "socle-app-file";
const FILE_TOKEN_TTL_SECS: i64 = 120;

/// One uploaded file, checked against its field, not yet on disk.
#[derive(Debug, Clone)]
pub struct Upload {
    pub field: String,
    pub name: String,
    pub bytes: axum::body::Bytes,
}

/// A multipart body: its values (PocketBase's SDK sends them in `@jsonPayload`, or as plain
/// form fields) and its files.
pub struct FormBody {
    pub values: Map<String, Value>,
    pub files: Vec<(String, String, Option<String>, axum::body::Bytes)>,
}

pub async fn read_multipart(request: Request) -> PbResult<FormBody> {
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| PbError::bad_request(format!("Invalid multipart body: {e}")))?;
    let mut values = Map::new();
    let mut files = Vec::new();
    while let Some(field) =
        multipart.next_field().await.map_err(|e| PbError::bad_request(format!("Invalid multipart body: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(str::to_string);
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                PbError::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large.")
            } else {
                PbError::bad_request(format!("Invalid multipart body: {e}"))
            }
        })?;
        match file_name {
            // `field+` and `+field` add files to those the record keeps, as uploads here always do.
            Some(original) => files.push((name.trim_end_matches('+').to_string(), original, content_type, bytes)),
            None if name == "@jsonPayload" => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => values.extend(map),
                Ok(_) => {
                    return Err(PbError::field(
                        "@jsonPayload must be a JSON object.",
                        "@jsonPayload",
                        "validation_invalid_json",
                        "Must be a JSON object.",
                    ));
                }
                Err(e) => {
                    return Err(PbError::field(
                        "@jsonPayload must be a JSON object.",
                        "@jsonPayload",
                        "validation_invalid_json",
                        format!("Invalid JSON: {e}."),
                    ));
                }
            },
            None => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                match values.get_mut(&name) {
                    Some(Value::Array(items)) => items.push(Value::String(text)),
                    Some(existing) => *existing = Value::Array(vec![existing.take(), Value::String(text)]),
                    None => {
                        values.insert(name, Value::String(text));
                    }
                }
            }
        }
    }
    Ok(FormBody { values, files })
}

/// A stored name like PocketBase's: the sanitized original name and a random suffix.
fn stored_name(original: &str) -> String {
    let (stem, ext) = match original.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{}", e.to_ascii_lowercase())),
        _ => (original, String::new()),
    };
    let clean: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).take(100).collect();
    let ext: String = ext.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.').take(20).collect();
    let suffix = crate::records::validate::random_suffix();
    format!("{}_{suffix}{ext}", if clean.is_empty() { "file" } else { &clean })
}

/// Check uploads against their fields; returns the uploads with their stored names.
pub fn check_uploads(
    c: &Collection,
    files: Vec<(String, String, Option<String>, axum::body::Bytes)>,
) -> PbResult<Vec<Upload>> {
    let mut errors = Map::new();
    let mut out = Vec::new();
    for (field, original, _declared, bytes) in files {
        let Some(f) = c.field(&field).filter(|f| f.kind == FieldKind::File) else {
            errors.insert(
                field.clone(),
                json!({"code": "validation_unknown_file_field", "message": "Not a file field."}),
            );
            continue;
        };
        let max = f.max_size.filter(|m| *m > 0).unwrap_or(DEFAULT_MAX_SIZE);
        if bytes.len() as u64 > max {
            errors.insert(field.clone(), json!({"code": "validation_file_size_limit", "message": format!("Failed to upload {original:?} - the maximum allowed file size is {max} bytes.")}));
            continue;
        }
        let mime = sniff(&bytes, &original);
        if let Some(types) = f.mime_types.as_ref().filter(|t| !t.is_empty())
            && !types.iter().any(|t| t == mime)
        {
            errors.insert(field.clone(), json!({"code": "validation_invalid_mime_type", "message": format!("{original:?} mime type must be one of: {}.", types.join(", "))}));
            continue;
        }
        out.push(Upload { field, name: stored_name(&original), bytes });
    }
    if errors.is_empty() { Ok(out) } else { Err(PbError::with_fields("Failed to upload the files.", errors)) }
}

/// Put uploaded names into the body: a single file field takes the new file, a multiple one
/// appends to what the record has (or what the body says it keeps).
pub fn merge_uploads(
    c: &Collection,
    body: &mut Map<String, Value>,
    existing: Option<&Map<String, Value>>,
    uploads: &[Upload],
) {
    let mut by_field: HashMap<&str, Vec<String>> = HashMap::new();
    for u in uploads {
        by_field.entry(u.field.as_str()).or_default().push(u.name.clone());
    }
    for (field, names) in by_field {
        let Some(f) = c.field(field) else { continue };
        if f.multiple() {
            let mut kept: Vec<Value> = match body.get(field).or_else(|| existing.and_then(|e| e.get(field))) {
                Some(Value::Array(items)) => items.clone(),
                Some(Value::String(s)) if !s.is_empty() => vec![Value::String(s.clone())],
                _ => Vec::new(),
            };
            kept.extend(names.into_iter().map(Value::String));
            body.insert(field.to_string(), Value::Array(kept));
        } else if let Some(last) = names.into_iter().last() {
            body.insert(field.to_string(), Value::String(last));
        }
    }
}

/// Apply PocketBase's `field-` modifier of an update body (`{"documents-": ["a.txt"]}`):
/// the named files leave the field's value (the body's, else the record's). Other fields'
/// `-` modifiers are the records module's (`records::modifiers`).
pub fn apply_removals(c: &Collection, body: &mut Map<String, Value>, existing: Option<&Map<String, Value>>) {
    let modifiers: Vec<String> = body.keys().filter(|k| k.len() > 1 && k.ends_with('-')).cloned().collect();
    for key in modifiers {
        let field = &key[..key.len() - 1];
        let Some(f) = c.field(field).filter(|f| f.kind == FieldKind::File) else { continue };
        let Some(removed) = body.remove(&key) else { continue };
        let removed: Vec<&str> = match &removed {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let current: Vec<Value> = match body.get(field).or_else(|| existing.and_then(|e| e.get(field))) {
            Some(Value::Array(items)) => items.clone(),
            Some(Value::String(s)) if !s.is_empty() => vec![Value::String(s.clone())],
            _ => Vec::new(),
        };
        let kept: Vec<Value> =
            current.into_iter().filter(|v| v.as_str().is_none_or(|n| !removed.contains(&n))).collect();
        let value = if f.multiple() {
            Value::Array(kept)
        } else {
            kept.into_iter().next().unwrap_or_else(|| Value::String(String::new()))
        };
        body.insert(field.to_string(), value);
    }
}

/// Whether an update body uses the `field-` modifier (the record must then be read first).
pub fn has_removals(body: &Map<String, Value>) -> bool {
    body.keys().any(|k| k.len() > 1 && k.ends_with('-'))
}

fn key(app: &str, collection: &str, record: &str, name: &str) -> String {
    format!("{app}/{collection}/{record}/{name}")
}

/// Store a record's new files, after charging their size to the organization's storage.
pub async fn write(
    state: &RuntimeState,
    organization: &str,
    app: &str,
    c: &Collection,
    record: &str,
    uploads: &[Upload],
) -> PbResult<()> {
    let bytes: i64 = uploads.iter().map(|u| u.bytes.len() as i64).sum();
    if bytes > 0 {
        state.usage.charge(organization, kernel::Metric::StorageBytes, bytes).await?;
    }
    for u in uploads {
        state.store.put(&key(app, &c.id, record, &u.name), &u.bytes).await.map_err(kernel::Error::from)?;
    }
    Ok(())
}

/// Remove files this process stored for a write that did not commit (nothing refers to
/// them, and nothing has made thumbnails of them yet).
pub async fn discard(state: &RuntimeState, app: &str, c: &Collection, record: &str, uploads: &[Upload]) {
    for u in uploads {
        let k = key(app, &c.id, record, &u.name);
        if let Err(e) = state.store.delete(&k).await {
            tracing::warn!(error = %e, key = %k, "could not delete an uncommitted file");
        }
    }
}

/// Names of files a record refers to.
pub fn names(c: &Collection, row: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for f in c.fields.iter().filter(|f| f.kind == FieldKind::File) {
        match row.get(&f.name) {
            Some(Value::String(s)) if !s.is_empty() => out.push(s.clone()),
            Some(Value::Array(items)) => out.extend(items.iter().filter_map(Value::as_str).map(str::to_string)),
            _ => {}
        }
    }
    out
}

/// Whether a collection stores files (an update elsewhere has nothing to prune).
pub fn has_file_fields(c: &Collection) -> bool {
    c.fields.iter().any(|f| f.kind == FieldKind::File)
}

/// Remove the stored files (and their thumbnails) a record no longer refers to; all of them
/// when `keep` is empty (the record was deleted).
pub async fn prune(state: &RuntimeState, app: &str, c: &Collection, record: &str, keep: &[String]) {
    let prefix = format!("{app}/{}/{record}/", c.id);
    let Ok(keys) = state.store.list(&prefix).await else { return };
    for k in keys {
        let rest = k.strip_prefix(&prefix).unwrap_or(&k);
        // Thumbnails live under `thumbs_{file}/`.
        let owner = rest.split('/').next().unwrap_or(rest);
        let owner = owner.strip_prefix("thumbs_").unwrap_or(owner);
        if !keep.iter().any(|name| name == owner)
            && let Err(e) = state.store.delete(&k).await
        {
            tracing::warn!(error = %e, key = %k, "could not delete a stored file");
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct FileClaims {
    app: String,
    /// The end user the token was issued to, or empty for a superuser.
    id: String,
    #[serde(rename = "collectionId")]
    collection_id: String,
    #[serde(rename = "type")]
    kind: String,
    aud: String,
    exp: i64,
}

pub fn routes() -> Router<RuntimeState> {
    Router::new()
        .route("/apps/{slug}/api/files/token", post(file_token))
        .route("/apps/{slug}/api/files/{collection}/{record}/{filename}", get(serve))
}

fn file_keys(state: &RuntimeState) -> (EncodingKey, Vec<DecodingKey>) {
    (EncodingKey::from_secret(&state.flow_secret), state.flow_decoding_keys())
}

async fn file_token(State(state): State<RuntimeState>, App(ctx): App) -> PbResult<Json<Value>> {
    let (id, collection_id, kind) = match &ctx.requester {
        Requester::Superuser => (String::new(), String::new(), "superuser"),
        Requester::User { collection, record } => {
            (record.get("id").and_then(Value::as_str).unwrap_or_default().to_string(), collection.id.clone(), "file")
        }
        Requester::Guest => {
            return Err(PbError::new(
                StatusCode::UNAUTHORIZED,
                "The request requires valid record authorization token.",
            ));
        }
    };
    let claims = FileClaims {
        app: ctx.app.id.clone(),
        id,
        collection_id,
        kind: kind.into(),
        aud: FILE_TOKEN_AUDIENCE.into(),
        exp: kernel::time::now().unix_timestamp() + FILE_TOKEN_TTL_SECS,
    };
    let token =
        encode(&Header::new(Algorithm::HS256), &claims, &file_keys(&state).0).map_err(kernel::Error::internal)?;
    Ok(Json(json!({"token": token})))
}

#[derive(Debug, Deserialize)]
struct ServeQuery {
    token: Option<String>,
    download: Option<String>,
    thumb: Option<String>,
}

/// The requester a file token stands for.
async fn requester_of(state: &RuntimeState, ctx: &AppCtx, token: &str) -> Option<Requester> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[FILE_TOKEN_AUDIENCE]);
    let claims = foundation::tokens::decode_with_any::<FileClaims>(token, &file_keys(state).1, &validation).ok()?;
    if claims.app != ctx.app.id {
        return None;
    }
    if claims.kind == "superuser" {
        return Some(Requester::Superuser);
    }
    let collection = ctx.schema.collections.iter().find(|c| c.id == claims.collection_id)?;
    let rows = collections::rows::read_rows(
        &ctx.db,
        ctx.ns(),
        collection,
        Some(("r.\"id\" = $1".into(), kernel::args![&claims.id])),
    )
    .await
    .ok()?;
    rows.into_iter().next().map(|record| Requester::User { collection: Box::new(collection.clone()), record })
}

async fn serve(
    State(state): State<RuntimeState>,
    App(mut ctx): App,
    Path((_, collection, record, filename)): Path<(String, String, String, String)>,
    Query(q): Query<ServeQuery>,
) -> PbResult<Response> {
    let c = ctx.collection(&collection)?.clone();
    let row = crate::records::load(&ctx, &c, &record).await?;
    let field: Option<&Field> =
        c.fields.iter().filter(|f| f.kind == FieldKind::File).find(|f| match row.get(&f.name) {
            Some(Value::String(s)) => *s == filename,
            Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some(&filename)),
            _ => false,
        });
    let field = field.ok_or_else(PbError::not_found)?;
    if field.protected == Some(true) {
        // Protected files need a file token, and the view rule for whoever it names.
        let requester = match q.token.as_deref() {
            Some(t) => requester_of(&state, &ctx, t).await,
            None => None,
        };
        ctx.requester =
            requester.ok_or_else(|| PbError::new(StatusCode::FORBIDDEN, "The file requires a valid file token."))?;
        crate::records::view(
            &ctx,
            &c,
            &record,
            &crate::records::RequestData { body: &Value::Null, query: &Value::Null },
        )
        .await
        .map_err(|_| PbError::new(StatusCode::FORBIDDEN, "The file token does not allow this file."))?;
    }
    let file_key = key(&ctx.app.id, &c.id, &record, &filename);
    let mut bytes = state.store.get(&file_key).await.map_err(kernel::Error::from)?.ok_or_else(PbError::not_found)?;
    let mut mime = sniff(&bytes, &filename);
    // Thumbnails: only sizes the field lists (and PocketBase's always-allowed 100x100);
    // anything else, or a file that is not an image, gets the original, as in PocketBase.
    if let Some(spec) = q.thumb.as_deref().filter(|t| !t.is_empty())
        && let Some(size) = crate::thumbs::parse(spec)
        && (spec == "100x100"
            || field
                .extra
                .get("thumbs")
                .and_then(Value::as_array)
                .is_some_and(|t| t.iter().any(|v| v.as_str() == Some(spec))))
        && matches!(mime, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
    {
        let cached = key(&ctx.app.id, &c.id, &record, &format!("thumbs_{filename}/{spec}_{filename}"));
        match state.store.get(&cached).await.ok().flatten() {
            Some(b) => bytes = b,
            None => {
                let source = bytes.clone();
                let made = tokio::task::spawn_blocking(move || crate::thumbs::make(&source, size)).await.ok().flatten();
                if let Some((thumb, _)) = made {
                    if let Err(e) = state.store.put(&cached, &thumb).await {
                        tracing::warn!(error = %e, "could not keep a thumbnail");
                    }
                    bytes = thumb;
                }
            }
        }
        mime = sniff(&bytes, &filename);
    }
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    // Served files never run as pages of this origin.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox",
        ),
    );
    let disposition =
        if q.download.as_deref().is_some_and(|d| d == "1" || d == "true") { "attachment" } else { "inline" };
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    let cache = if field.protected == Some(true) { "private, max-age=60" } else { "public, max-age=2592000" };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(response)
}
