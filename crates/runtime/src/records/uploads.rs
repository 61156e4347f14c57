//! Record writes that carry files: the files are stored under the record's id before the
//! row is written and removed again if the write does not commit, and files a record no
//! longer names are pruned after it does. The record itself goes through the one write path
//! ([`super::create`], [`super::update`], [`super::delete`]).

use collections::model::Collection;
use serde_json::{Map, Value};

use crate::RuntimeState;
use crate::context::AppCtx;
use crate::files::{self, Upload};
use crate::pb::PbResult;

/// Create a record with its uploaded files; returns the row as stored.
pub async fn create_with_files(
    ctx: &AppCtx,
    state: &RuntimeState,
    c: &Collection,
    mut body: Map<String, Value>,
    uploads: Vec<Upload>,
    query: &Value,
) -> PbResult<Map<String, Value>> {
    let new_files: Vec<String> = uploads.iter().map(|u| u.name.clone()).collect();
    if !uploads.is_empty() && body.get("id").and_then(Value::as_str).is_none_or(str::is_empty) {
        // Files are stored under the record's id, known before the insert.
        body.insert("id".into(), Value::String(collections::rows::new_record_id()));
    }
    files::merge_uploads(c, &mut body, None, &uploads);
    let id = body.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    files::write(state, &ctx.app.organization_id, &ctx.app.id, c, &id, &uploads).await?;
    let created = super::create(ctx, state, c, &body, query, &new_files).await;
    if created.is_err() && !uploads.is_empty() {
        files::prune(state, &ctx.app.id, c, &id, &[]).await;
        let bytes: i64 = uploads.iter().map(|u| u.bytes.len() as i64).sum();
        state.usage.note(&ctx.app.organization_id, kernel::Metric::StorageBytes, -bytes);
    }
    created
}

/// Update a record with its uploaded files and file removals (`field-` keys); returns the
/// row as stored.
pub async fn update_with_files(
    ctx: &AppCtx,
    state: &RuntimeState,
    c: &Collection,
    id: &str,
    mut body: Map<String, Value>,
    uploads: Vec<Upload>,
    query: &Value,
) -> PbResult<Map<String, Value>> {
    let new_files: Vec<String> = uploads.iter().map(|u| u.name.clone()).collect();
    if !uploads.is_empty() || files::has_removals(&body) {
        let existing = super::load(ctx, c, id).await?;
        files::apply_removals(c, &mut body, Some(&existing));
        files::merge_uploads(c, &mut body, Some(&existing), &uploads);
        files::write(state, &ctx.app.organization_id, &ctx.app.id, c, id, &uploads).await?;
    }
    let row = match super::update(ctx, state, c, id, &body, query, &new_files).await {
        Ok(row) => row,
        Err(e) => {
            if !uploads.is_empty()
                && let Ok(current) = super::load(ctx, c, id).await
            {
                files::prune(state, &ctx.app.id, c, id, &files::names(c, &current)).await;
            }
            return Err(e);
        }
    };
    // A listing of the file store per update is a network call on S3: only where files live.
    if files::has_file_fields(c) {
        files::prune(state, &ctx.app.id, c, id, &files::names(c, &row)).await;
    }
    Ok(row)
}

/// Delete a record and its files.
pub async fn delete_with_files(
    ctx: &AppCtx,
    state: &RuntimeState,
    c: &Collection,
    id: &str,
    query: &Value,
) -> PbResult<()> {
    super::delete(ctx, state, c, id, query).await?;
    files::prune(state, &ctx.app.id, c, id, &[]).await;
    Ok(())
}
