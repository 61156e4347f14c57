//! What the apps' handlers take from a request, extracted once here: the platform principal
//! (builders and API keys act as an app's superusers), the app that `/apps/{slug}/...`
//! addresses resolved with its requester, the query string as `@request.query`, and a JSON
//! object body. Errors are PocketBase's shape ([`PbError`]).

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use kernel::principal::Principal;
use serde_json::{Map, Value};

use crate::RuntimeState;
use crate::context::{AppCtx, resolve};
use crate::pb::{PbError, PbResult};

/// The platform principal, if the request carried one.
pub struct MaybePrincipal(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybePrincipal {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybePrincipal(parts.extensions.get::<Principal>().cloned()))
    }
}

/// The app named by the path's `{slug}`, deployed, with its schema and the requester (see
/// [`resolve`]): an unknown or undeployed app is a 404.
pub struct App(pub AppCtx);

impl FromRequestParts<RuntimeState> for App {
    type Rejection = PbError;

    async fn from_request_parts(parts: &mut Parts, state: &RuntimeState) -> PbResult<Self> {
        let params = RawPathParams::from_request_parts(parts, state).await.map_err(|_| PbError::not_found())?;
        let slug =
            params.iter().find(|(k, _)| *k == "slug").map(|(_, v)| v.to_string()).ok_or_else(PbError::not_found)?;
        let principal = parts.extensions.get::<Principal>();
        Ok(App(resolve(state, &slug, principal, &parts.headers).await?))
    }
}

/// The query string's pairs, as PocketBase's `@request.query` sees them. Put before [`App`]
/// in a handler's arguments: a malformed query string is a 400 whatever the app.
pub struct PbQuery(pub Map<String, Value>);

impl<S: Send + Sync> FromRequestParts<S> for PbQuery {
    type Rejection = PbError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> PbResult<Self> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| PbError::bad_request(format!("Invalid query string: {e}")))?;
        Ok(PbQuery(pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
    }
}

/// A JSON object body (empty is `{}`), read within the body limit.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = PbError;

    async fn from_request(request: Request, _: &S) -> PbResult<Self> {
        Ok(JsonObject(read_json_object(request).await?))
    }
}

/// The request's body as a JSON object (see [`json_body`]), read within the body limit (a
/// larger body is a 413).
pub async fn read_json_object(request: Request) -> PbResult<Map<String, Value>> {
    let headers = request.headers().clone();
    let bytes = Bytes::from_request(request, &()).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            PbError::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large.")
        } else {
            PbError::bad_request(format!("Could not read the request body: {e}"))
        }
    })?;
    json_body(&headers, &bytes)
}

/// The JSON object of a create or update body.
fn json_body(headers: &HeaderMap, body: &Bytes) -> PbResult<Map<String, Value>> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("multipart/form-data") {
        return Err(PbError::bad_request("multipart/form-data is not accepted here; send JSON."));
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
