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

/// Whether `ip` is a loopback address (IPv4, IPv6, or IPv4 mapped into IPv6).
pub fn is_loopback(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<RequestContext>().cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod loopback_tests {
    use super::is_loopback;

    #[test]
    fn loopback_addresses() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().map_err(|e| format!("{s}: {e}"));
        for local in ["127.0.0.1", "127.10.0.3", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(ip(local).map(is_loopback), Ok(true), "{local}");
        }
        for remote in ["203.0.113.9", "10.0.0.1", "::ffff:10.0.0.1", "2001:db8::1", "0.0.0.0"] {
            assert_eq!(ip(remote).map(is_loopback), Ok(false), "{remote}");
        }
    }
}
