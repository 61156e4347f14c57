//! End-user authentication of an app's auth collections, in PocketBase's dialect:
//! `auth-with-password`, `auth-refresh`, `auth-methods`. Tokens are valid for their app
//! only.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use collections::model::{Collection, CollectionType};
use kernel::args;
use serde_json::{Value, json};

use crate::RuntimeState;
use crate::auth_factors::AuthOptions;
use crate::context::{AppCtx, Requester};
use crate::extract::{App, JsonObject};
use crate::pb::{PbError, PbResult};

pub fn routes() -> Router<RuntimeState> {
    Router::new()
        .route("/apps/{slug}/api/collections/{collection}/auth-with-password", post(auth_with_password))
        .route("/apps/{slug}/api/collections/{collection}/auth-refresh", post(auth_refresh))
        .route("/apps/{slug}/api/collections/{collection}/auth-methods", get(auth_methods))
}

/// The auth collection `key` names; any other collection is a 404.
pub(crate) fn auth_collection<'a>(ctx: &'a AppCtx, key: &str) -> PbResult<&'a Collection> {
    let c = ctx.collection(key)?;
    if c.kind != CollectionType::Auth {
        return Err(PbError::not_found());
    }
    Ok(c)
}

async fn token_response(
    state: &RuntimeState,
    ctx: &AppCtx,
    c: &Collection,
    record: serde_json::Map<String, Value>,
) -> PbResult<Json<Value>> {
    let id = record.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    let token_key = record.get("tokenKey").and_then(Value::as_str).unwrap_or_default().to_string();
    let token = state.tokens.issue(&ctx.app.id, &c.id, &id, &token_key)?;
    // The record as its owner sees it.
    let owner = AppCtx {
        db: ctx.db.clone(),
        app: ctx.app.clone(),
        schema: ctx.schema.clone(),
        requester: Requester::User { collection: Box::new(c.clone()), record: record.clone() },
    };
    Ok(Json(json!({"token": token, "record": crate::records::present(&owner, c, record)})))
}

/// The `mfaId` of a second factor, from the query or the body (PocketBase reads both).
pub(crate) fn mfa_id_of(query: &HashMap<String, String>, body: &serde_json::Map<String, Value>) -> Option<String> {
    query
        .get("mfaId")
        .cloned()
        .filter(|m| !m.is_empty())
        .or_else(|| body.get("mfaId").and_then(Value::as_str).map(String::from))
}

/// A factor `method` proved who `record` is: the tokens, unless the collection wants a
/// second factor first (then the 401 with `mfaId`).
pub(crate) async fn authenticated(
    state: &RuntimeState,
    ctx: &AppCtx,
    c: &Collection,
    record: serde_json::Map<String, Value>,
    method: &str,
    mfa_id: Option<&str>,
) -> PbResult<Json<Value>> {
    crate::auth_factors::check_mfa(state, ctx, c, &record, method, mfa_id).await?;
    token_response(state, ctx, c, record).await
}

async fn auth_with_password(
    State(state): State<RuntimeState>,
    App(ctx): App,
    Path((_, collection)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    JsonObject(body): JsonObject,
) -> PbResult<Json<Value>> {
    let c = auth_collection(&ctx, &collection)?.clone();
    if !AuthOptions::of(&c).password_enabled {
        return Err(PbError::new(
            axum::http::StatusCode::FORBIDDEN,
            "The collection is not configured to allow password authentication.",
        ));
    }
    let identity = body.get("identity").and_then(Value::as_str).unwrap_or_default().trim().to_string();
    let password = body.get("password").and_then(Value::as_str).unwrap_or_default().to_string();
    let mut missing = serde_json::Map::new();
    for (k, v) in [("identity", &identity), ("password", &password)] {
        if v.is_empty() {
            missing.insert(k.into(), json!({"code": "validation_required", "message": "Missing required value."}));
        }
    }
    if !missing.is_empty() {
        return Err(PbError::with_fields("Failed to authenticate.", missing));
    }
    // The identity is looked up in every identity field (`passwordAuth.identityFields`):
    // the e-mail without case, the others exactly. Field names were checked to be names.
    let condition: Vec<String> = AuthOptions::of(&c)
        .identity_fields
        .iter()
        .filter(|f| c.field(f).is_some())
        .map(|f| if f == "email" { "lower(r.\"email\") = lower($1)".to_string() } else { format!("r.\"{f}\" = $1") })
        .collect();
    if condition.is_empty() {
        return Err(PbError::bad_request("Failed to authenticate."));
    }
    let rows =
        collections::rows::read_rows(&state.db, ctx.ns(), &c, Some((condition.join(" OR "), args![&identity]))).await?;
    let failed = || PbError::bad_request("Failed to authenticate.");
    let Some(record) = rows.into_iter().next() else {
        state.foundation.passwords.verify_dummy(&password).await;
        return Err(failed());
    };
    let stored = record.get("password").and_then(Value::as_str).unwrap_or_default();
    if state.password_matches(&password, stored).await {
        authenticated(&state, &ctx, &c, record, "password", mfa_id_of(&query, &body).as_deref()).await
    } else {
        Err(failed())
    }
}

async fn auth_refresh(
    State(state): State<RuntimeState>,
    App(ctx): App,
    Path((_, collection)): Path<(String, String)>,
) -> PbResult<Json<Value>> {
    let c = auth_collection(&ctx, &collection)?.clone();
    match &ctx.requester {
        Requester::User { collection: own, record } if own.id == c.id => {
            let record = record.clone();
            token_response(&state, &ctx, &c, record).await
        }
        _ => Err(PbError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "The request requires valid record authorization token.",
        )),
    }
}

async fn auth_methods(App(ctx): App, Path((_, collection)): Path<(String, String)>) -> PbResult<Json<Value>> {
    let c = auth_collection(&ctx, &collection)?;
    let providers: Option<Vec<Value>> =
        crate::auth_oauth2::providers(c).map(|list| list.iter().map(crate::auth_oauth2::provider_info).collect());
    Ok(Json(auth_methods_body(&AuthOptions::of(c), providers)))
}

/// PocketBase's current shape, with the pre-0.23 keys older SDKs read.
fn auth_methods_body(o: &AuthOptions, oauth2: Option<Vec<Value>>) -> Value {
    let identity_fields = if o.password_enabled { o.identity_fields.clone() } else { Vec::new() };
    // The legacy list carries no logo; otherwise the same entries.
    let legacy: Vec<Value> = oauth2.clone().unwrap_or_default();
    json!({
        "password": {"enabled": o.password_enabled, "identityFields": identity_fields},
        "oauth2": {"enabled": oauth2.is_some(), "providers": oauth2.unwrap_or_default()},
        "mfa": {"enabled": o.mfa_enabled, "duration": if o.mfa_enabled { o.mfa_duration } else { 0 }},
        "otp": {"enabled": o.otp_enabled, "duration": if o.otp_enabled { o.otp_duration } else { 0 }},
        "usernamePassword": o.password_enabled && identity_fields.iter().any(|f| f == "username"),
        "emailPassword": o.password_enabled && identity_fields.iter().any(|f| f == "email"),
        "authProviders": legacy
    })
}
