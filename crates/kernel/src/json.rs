//! Extractors whose rejections are RFC 9457 problems naming the faulty field, instead of
//! axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, FieldError};

/// A JSON body. Malformed JSON → 400; well-formed JSON of the wrong shape → 422 naming the
/// field; wrong content type → 415; too large → 413.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

fn is_json(parts_ct: Option<&axum::http::HeaderValue>) -> bool {
    let Some(ct) = parts_ct.and_then(|v| v.to_str().ok()) else { return false };
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Parse bytes as `T`, mapping serde's error to the field it concerns.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            // A type mismatch met before a syntax error further on is still malformed JSON.
            serde_json::error::Category::Data if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err() => {
                Error::BadRequest(format!("malformed JSON body: {inner}"))
            }
            serde_json::error::Category::Data => data_error(&path, &inner),
            _ => Error::BadRequest(format!("malformed JSON body: {inner}")),
        }
    })?;
    de.end().map_err(|e| Error::BadRequest(format!("malformed JSON body: {e}")))?;
    Ok(value)
}

fn data_error(path: &str, err: &serde_json::Error) -> Error {
    field_error(path, &err.to_string(), "body")
}

/// Name the field a serde error is about: the path, or the field a "missing field" or
/// "unknown field" message names.
fn field_error(path: &str, message: &str, whole: &str) -> Error {
    // Strip serde's " at line X column Y" suffix: the field path says where.
    let message = message.split(" at line ").next().unwrap_or(message).to_string();
    let named = |prefix: &str| message.strip_prefix(prefix).and_then(|rest| rest.split('`').next()).map(str::to_string);
    let (field, code) = if let Some(f) = named("missing field `") {
        (join(path, &f), "required")
    } else if let Some(f) = named("unknown field `") {
        (join(path, &f), "unknown_field")
    } else if message.starts_with("unknown variant") {
        (path.to_string(), "invalid_choice")
    } else {
        (path.to_string(), "invalid_type")
    };
    let field = if field == "." || field.is_empty() { whole.to_string() } else { field };
    Error::Validation(vec![FieldError::new(field, code, message)])
}

fn join(path: &str, field: &str) -> String {
    if path == "." || path.is_empty() { field.to_string() } else { format!("{path}.{field}") }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers().get(CONTENT_TYPE)) {
            return Err(Error::UnsupportedMediaType("expected a JSON body with Content-Type: application/json".into()));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge("the request body is too large".into())
            } else {
                Error::BadRequest(format!("could not read the request body: {rejection}"))
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query-string parameters; a missing or malformed one → 422 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded_deserializer(query);
        serde_path_to_error::deserialize(de).map(Query).map_err(|e| {
            let path = e.path().to_string();
            field_error(&path, &e.into_inner().to_string(), "query")
        })
    }
}

fn serde_urlencoded_deserializer(query: &str) -> serde_urlencoded::Deserializer<'_> {
    serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        password: String,
    }

    #[test]
    fn names_the_faulty_field() {
        match parse_json::<Login>(br#"{"email": 3, "password": "x"}"#) {
            Err(Error::Validation(errors)) => assert_eq!(errors[0].field, "email"),
            other => panic!("unexpected {other:?}"),
        }
        match parse_json::<Login>(br#"{"email": "a@b.c"}"#) {
            Err(Error::Validation(errors)) => {
                assert_eq!(errors[0].field, "password");
                assert_eq!(errors[0].code, "required");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(parse_json::<Login>(b"{not json"), Err(Error::BadRequest(_))));
        assert!(matches!(parse_json::<Login>(b"[]"), Err(Error::Validation(_))));
    }
}
