//! Per-request context: the request id, the client address and user agent. The server's
//! middleware fills it; handlers read it to stamp audit entries and sessions.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

tokio::task_local! {
    /// The request id of the request being served, for error bodies and logs.
    pub static REQUEST_ID: String;
}

/// The current request id, if called while serving a request.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub request_id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestContext {
    /// The context of work the platform does itself (a job, the CLI, a scheduled renewal),
    /// named in audit entries by `agent` where a request would give its user agent.
    pub fn internal(agent: &str) -> Self {
        RequestContext { request_id: String::new(), ip: None, user_agent: Some(agent.to_string()) }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<RequestContext>().cloned().unwrap_or_default())
    }
}
