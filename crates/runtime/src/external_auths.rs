//! PocketBase's `_externalAuths` system collection, read through the records API: the
//! provider accounts linked to an app's auth records (`auth-with-oauth2` writes them). Its
//! rules are PocketBase's: a signed-in record sees and deletes its own links
//! (`recordRef = @request.auth.id && collectionRef = @request.auth.collectionId`), a
//! superuser all of the app's, a guest none. Filters and sorts are not applied (newest first).

use serde_json::{Value, json};

use crate::RuntimeState;
use crate::context::{AppCtx, Requester};
use crate::pb::{PbError, PbResult};
use kernel::args;

pub const COLLECTION: &str = "_externalAuths";

type Row = (String, String, String, String, String, time::OffsetDateTime);

/// Whose links the requester may see: `None` for every link of the app (a superuser).
fn owner(ctx: &AppCtx) -> Option<Option<(String, String)>> {
    match &ctx.requester {
        Requester::Superuser => Some(None),
        Requester::User { collection, record } => {
            let id = record.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            Some(Some((collection.id.clone(), id)))
        }
        Requester::Guest => None,
    }
}

fn present(row: &Row) -> Value {
    let created = expr::eval::format_datetime(row.5);
    json!({
        "collectionId": COLLECTION,
        "collectionName": COLLECTION,
        "id": row.0,
        "collectionRef": row.1,
        "recordRef": row.2,
        "provider": row.3,
        "providerId": row.4,
        "created": created,
        "updated": created,
    })
}

async fn rows(state: &RuntimeState, ctx: &AppCtx, id: Option<&str>) -> PbResult<Vec<Row>> {
    let Some(scope) = owner(ctx) else { return Ok(Vec::new()) };
    let (collection, record) = scope.unwrap_or_default();
    let sql = "SELECT id, collection_id, record_id, provider, provider_id, created_at FROM runtime_external_auths
               WHERE app_id = $1 AND ($2 = '' OR (collection_id = $2 AND record_id = $3)) AND ($4 = '' OR id = $4)
               ORDER BY created_at DESC, id";
    Ok(state.db.fetch_all(sql, args![&ctx.app.id, collection, record, id.unwrap_or_default()]).await?)
}

pub async fn list(state: &RuntimeState, ctx: &AppCtx, page: i64, per_page: i64) -> PbResult<Value> {
    let all = rows(state, ctx, None).await?;
    let total = all.len() as i64;
    let skip = ((page - 1) * per_page).max(0) as usize;
    let items: Vec<Value> = all.iter().skip(skip).take(per_page as usize).map(present).collect();
    Ok(json!({
        "page": page,
        "perPage": per_page,
        "totalItems": total,
        "totalPages": (total + per_page - 1) / per_page,
        "items": items,
    }))
}

pub async fn view(state: &RuntimeState, ctx: &AppCtx, id: &str) -> PbResult<Value> {
    rows(state, ctx, Some(id)).await?.first().map(present).ok_or_else(PbError::not_found)
}

/// Unlink: the record can no longer sign in with that provider account.
pub async fn delete(state: &RuntimeState, ctx: &AppCtx, id: &str) -> PbResult<()> {
    if rows(state, ctx, Some(id)).await?.is_empty() {
        return Err(PbError::not_found());
    }
    state
        .db
        .execute("DELETE FROM runtime_external_auths WHERE app_id = $1 AND id = $2", args![&ctx.app.id, id])
        .await?;
    Ok(())
}
