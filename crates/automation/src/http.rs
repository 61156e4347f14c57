//! Outgoing HTTP for workflows and webhooks, with an SSRF guard: the host is resolved once,
//! every address is checked (loopback, private, link-local, unique-local, multicast,
//! unspecified and the cloud metadata address are refused unless the configuration allows
//! private networks), and the connection is pinned to the checked address so that a second
//! DNS answer cannot swap it. Redirects are not followed.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use reqwest::Method;

#[derive(Debug, Clone)]
pub struct Guard {
    allow_private: bool,
    timeout: Duration,
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
    pub duration_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The request can never succeed as written (bad URL, forbidden address).
    #[error("{0}")]
    Refused(String),
    /// A network failure or timeout; trying again may help.
    #[error("{0}")]
    Failed(String),
}

/// The largest response body kept (bytes).
const MAX_BODY: usize = 256 * 1024;

fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.octets()[0] == 0
                || (v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])) // carrier-grade NAT
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
        }
    }
}

impl Guard {
    pub fn new(allow_private: bool, timeout_secs: u64) -> Self {
        Guard { allow_private, timeout: Duration::from_secs(timeout_secs.clamp(1, 300)) }
    }

    /// Check a URL without sending anything (at save time).
    pub fn check_url(&self, url: &str) -> Result<reqwest::Url, HttpError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| HttpError::Refused(format!("invalid URL {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(HttpError::Refused("only http and https URLs are allowed".into()));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(HttpError::Refused("the URL has no host".into()));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(HttpError::Refused("credentials in the URL are not allowed; use a header".into()));
        }
        Ok(parsed)
    }

    /// Send a request; refuses forbidden destinations before connecting.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> Result<Response, HttpError> {
        let parsed = self.check_url(url)?;
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| HttpError::Refused(format!("invalid HTTP method {method:?}")))?;
        let host = parsed.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| HttpError::Failed(format!("cannot resolve {host}: {e}")))?
            .collect();
        let Some(addr) = addrs.first().copied() else {
            return Err(HttpError::Failed(format!("{host} has no address")));
        };
        if !self.allow_private
            && let Some(bad) = addrs.iter().find(|a| forbidden(a.ip()))
        {
            return Err(HttpError::Refused(format!(
                "{host} resolves to {}, a private or local address; outgoing requests may not reach it (automation.allow_private_network)",
                bad.ip()
            )));
        }
        let timeout = timeout.unwrap_or(self.timeout).min(self.timeout);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .resolve(&host, addr)
            .user_agent("Socle-Automation/1")
            .build()
            .map_err(|e| HttpError::Failed(format!("HTTP client: {e}")))?;
        let mut request = client.request(method, parsed);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let started = Instant::now();
        let response = request.send().await.map_err(|e| HttpError::Failed(format!("request failed: {e}")))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
            .collect();
        let mut body = Vec::new();
        let mut response = response;
        while let Some(chunk) =
            response.chunk().await.map_err(|e| HttpError::Failed(format!("reading the response: {e}")))?
        {
            let room = MAX_BODY.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if room <= chunk.len() {
                break;
            }
        }
        Ok(Response {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
            headers,
            duration_ms: started.elapsed().as_millis() as i64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_local_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(forbidden(ip.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]))), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(!forbidden(ip.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]))), "{ip}");
        }
    }
}
