//! PocketBase's error shape, `{status, message, data: {field: {code, message}}}`, for
//! everything under `/apps/{slug}` (the platform API keeps RFC 9457).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

#[derive(Debug)]
pub struct PbError {
    pub status: StatusCode,
    pub message: String,
    pub data: Map<String, Value>,
    /// Keys next to `status`, `message` and `data` (the `mfaId` of an MFA challenge).
    pub extra: Map<String, Value>,
    /// Sent as `Retry-After` (a daily quota refused until midnight UTC).
    pub retry_after: Option<u64>,
}

pub type PbResult<T> = Result<T, PbError>;

impl PbError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        PbError { status, message: message.into(), data: Map::new(), extra: Map::new(), retry_after: None }
    }

    /// PocketBase's answer to a first factor when the collection wants a second one: a 401
    /// whose body carries `mfaId` (the SDKs read `err.response.mfaId`).
    pub fn mfa_required(mfa_id: &str) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "Please complete the multi-factor authentication.");
        e.extra.insert("mfaId".into(), Value::String(mfa_id.to_string()));
        e
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "The requested resource wasn't found.")
    }

    pub fn superusers_only() -> Self {
        Self::new(StatusCode::FORBIDDEN, "Only superusers can perform this action.")
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A 400 with one field problem.
    pub fn field(message: &str, field: &str, code: &str, detail: impl Into<String>) -> Self {
        let mut e = Self::bad_request(message);
        e.data.insert(field.into(), json!({"code": code, "message": detail.into()}));
        e
    }

    /// A refusal by a unique index: a value that must be unique is taken (validated, or
    /// found by the database when a concurrent write took it first).
    pub fn is_unique_violation(&self) -> bool {
        self.status == StatusCode::BAD_REQUEST
            && (self.message == kernel::error::UNIQUE_VIOLATION
                || self.data.values().any(|v| v.get("code").and_then(Value::as_str) == Some("validation_not_unique")))
    }

    pub fn with_fields(message: &str, fields: Map<String, Value>) -> Self {
        PbError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            data: fields,
            extra: Map::new(),
            retry_after: None,
        }
    }
}

impl From<kernel::Error> for PbError {
    fn from(e: kernel::Error) -> Self {
        use kernel::Error as E;
        match e {
            E::NotFound(_) => PbError::not_found(),
            E::Validation(fields) => {
                let mut data = Map::new();
                for f in fields {
                    data.insert(f.field, json!({"code": format!("validation_{}", f.code), "message": f.message}));
                }
                PbError::with_fields("Something went wrong while processing your request.", data)
            }
            E::BadRequest(m) => PbError::bad_request(m),
            E::Unauthorized(m) => PbError::new(StatusCode::UNAUTHORIZED, m),
            E::Forbidden(m) => PbError::new(StatusCode::FORBIDDEN, m),
            E::Conflict(m) => PbError::bad_request(m),
            E::PayloadTooLarge(m) => PbError::new(StatusCode::PAYLOAD_TOO_LARGE, m),
            E::UnsupportedMediaType(m) => PbError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, m),
            E::TooManyRequests { detail, .. } => PbError::new(StatusCode::TOO_MANY_REQUESTS, detail),
            E::Locked(m) => PbError::bad_request(m),
            E::Unavailable(m) => PbError::new(StatusCode::SERVICE_UNAVAILABLE, m),
            E::QuotaExceeded(q) => {
                let status =
                    if q.retry_after.is_some() { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::PAYMENT_REQUIRED };
                let message = format!("The plan's limit {} is reached ({} of {}).", q.limit, q.used, q.max);
                let mut error = PbError::new(status, message);
                error.extra.insert("limit".into(), json!(q.limit));
                error.extra.insert("used".into(), json!(q.used));
                error.extra.insert("max".into(), json!(q.max));
                error.retry_after = q.retry_after;
                error
            }
            E::MfaRequired(_) => {
                PbError::new(StatusCode::UNAUTHORIZED, "Please complete the multi-factor authentication.")
            }
            E::Internal(err) => {
                tracing::error!(error = %err, "runtime request failed");
                PbError::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong while processing your request.")
            }
        }
    }
}

impl IntoResponse for PbError {
    fn into_response(self) -> Response {
        let mut body = json!({"status": self.status.as_u16(), "code": self.status.as_u16(), "message": self.message, "data": self.data});
        if let Value::Object(top) = &mut body {
            top.extend(self.extra);
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response
    }
}
