//! The one error type of the platform API, rendered as `application/problem+json`
//! (RFC 9457) in one place. Internal errors are logged with their cause and answered as a
//! bare 500 that leaks nothing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::context::current_request_id;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One problem with one input field.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as a dotted path into the request (`email`, `members.0.role`).
    pub field: String,
    /// A stable machine-readable code (`required`, `too_long`, `invalid_format`, ...).
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body could not be read as JSON at all, or a parameter is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed input that breaks a rule, field by field.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The account is locked; a password reset unlocks it.
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64, detail: String },
    #[error("{0}")]
    Unavailable(String),
    /// The first factor was right; a second one is needed. Answered as a 401 whose problem
    /// carries the challenge (`mfa_token`, the `methods` it accepts, its lifetime).
    #[error("a second factor is required to sign in")]
    MfaRequired(MfaChallenge),
    /// A plan's limit would be exceeded: a 402 naming the limit, or a 429 for a rate (API
    /// calls per day) with `Retry-After`.
    #[error("the plan's limit {} is reached ({} of {})", .0.limit, .0.used, .0.max)]
    QuotaExceeded(crate::usage::QuotaExceeded),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn not_found(what: &str) -> Self {
        Error::NotFound(format!("{what} not found"))
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Error::Internal(anyhow::anyhow!("{e}"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Locked(_) => StatusCode::LOCKED,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::MfaRequired(_) => StatusCode::UNAUTHORIZED,
            Error::QuotaExceeded(q) if q.retry_after.is_some() => StatusCode::TOO_MANY_REQUESTS,
            Error::QuotaExceeded(_) => StatusCode::PAYMENT_REQUIRED,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What a write refused by a unique index says (both databases), so that a caller can tell
/// it from the other conflicts.
pub const UNIQUE_VIOLATION: &str = "a resource with these values already exists";

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return Error::Conflict(UNIQUE_VIOLATION.into());
        }
        if matches!(e, sqlx::Error::PoolTimedOut) {
            return Error::Unavailable("the database is busy, try again".into());
        }
        Error::Internal(anyhow::Error::new(e))
    }
}

/// What a sign-in that needs a second factor answers (inside its 401 problem): present
/// `mfa_token` with a code to `POST /api/v1/foundation/auth/mfa`.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct MfaChallenge {
    pub mfa_token: String,
    /// `totp` (a code from the authenticator app) and `recovery_code`.
    pub methods: Vec<String>,
    /// Seconds the challenge stays valid.
    pub expires_in: i64,
}

/// The problem type of [`Error::MfaRequired`].
pub const MFA_REQUIRED_TYPE: &str = "https://socle.dev/problems/mfa-required";

/// The problem type of [`Error::QuotaExceeded`]; the problem carries `limit`, `used`, `max`.
pub const QUOTA_EXCEEDED_TYPE: &str = "https://socle.dev/problems/quota-exceeded";

/// The RFC 9457 body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type (`about:blank` for plain HTTP statuses).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Per-field problems (validation errors only; absent otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The problem of [`Error::QuotaExceeded`].
#[derive(Serialize)]
struct QuotaProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(flatten)]
    quota: crate::usage::QuotaExceeded,
}

/// The problem of [`Error::MfaRequired`]: the problem's members and the challenge's.
#[derive(Serialize)]
struct MfaProblem {
    #[serde(flatten)]
    problem: Problem,
    #[serde(flatten)]
    challenge: MfaChallenge,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            Error::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                "an internal error occurred; it has been logged".to_string()
            }
            Error::Validation(_) => "the request has invalid fields".to_string(),
            Error::TooManyRequests { detail, .. } => detail.clone(),
            other => other.to_string(),
        };
        let errors = match &self {
            Error::Validation(errors) => errors.clone(),
            _ => Vec::new(),
        };
        let retry_after = match &self {
            Error::TooManyRequests { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        };
        let typed = |kind: &str, errors: Vec<FieldError>, detail: String| Problem {
            kind: kind.into(),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail,
            errors,
            request_id: current_request_id(),
        };
        match self {
            Error::MfaRequired(challenge) => {
                let problem = typed(MFA_REQUIRED_TYPE, errors, detail);
                return problem_body(
                    status,
                    serde_json::to_vec(&MfaProblem { problem, challenge }).unwrap_or_default(),
                    None,
                );
            }
            Error::QuotaExceeded(quota) => {
                let retry_after = quota.retry_after;
                let problem = typed(QUOTA_EXCEEDED_TYPE, errors, detail);
                let body = serde_json::to_vec(&QuotaProblem { problem, quota }).unwrap_or_default();
                return problem_body(status, body, retry_after);
            }
            _ => {}
        }
        problem_response(status, detail, errors, retry_after)
    }
}

/// Build a problem response; also used by middleware for errors outside handlers.
pub fn problem_response(
    status: StatusCode,
    detail: String,
    errors: Vec<FieldError>,
    retry_after_secs: Option<u64>,
) -> Response {
    let problem = Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail,
        errors,
        request_id: current_request_id(),
    };
    problem_body(status, serde_json::to_vec(&problem).unwrap_or_default(), retry_after_secs)
}

fn problem_body(status: StatusCode, body: Vec<u8>, retry_after_secs: Option<u64>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    if let Some(secs) = retry_after_secs {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}
