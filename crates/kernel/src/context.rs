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

    /// The client address that per-address rate limits count, or `None` for a client on the
    /// server's own machine (see [`is_local_address`]).
    pub fn limited_address(&self) -> Option<&str> {
        self.ip.as_deref().filter(|ip| !is_local_address(ip))
    }
}

/// Whether `ip` is a loopback address: a client on the server's own machine (a health
/// check, a script, a load test, a proxy that does not forward the client's address). Rate
/// limits protect the server from remote clients; a local one could stop it anyway, and a
/// local proxy that does not forward addresses would otherwise make every client share one
/// budget (the whole site throttled to one client's rate).
pub fn is_local_address(ip: &str) -> bool {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(std::net::IpAddr::V6(v6)) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Err(_) => false,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<RequestContext>().cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod local_address_tests {
    use super::is_local_address;

    #[test]
    fn only_loopback_addresses_are_local() {
        for local in ["127.0.0.1", "127.10.0.3", "::1", "::ffff:127.0.0.1"] {
            assert!(is_local_address(local), "{local}");
        }
        for remote in ["203.0.113.9", "10.0.0.1", "::ffff:10.0.0.1", "2001:db8::1", "", "localhost", "0.0.0.0"] {
            assert!(!is_local_address(remote), "{remote}");
        }
    }
}
