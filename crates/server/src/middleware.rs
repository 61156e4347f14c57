//! The request pipeline around every handler: request id and context, structured access
//! log, metrics by route template, security headers, per-IP rate limit, and the conversion
//! of bare error responses (405, 408, 413 from layers) into problem+json.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kernel::context::{REQUEST_ID, RequestContext};
use kernel::error::problem_response;
use kernel::ratelimit::RateLimiter;

use crate::cors::{CorsDecision, CorsPolicy};
use crate::proxy::TrustedProxies;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Clone)]
pub struct EdgeState {
    pub proxies: Arc<TrustedProxies>,
    pub cors: Arc<CorsPolicy>,
    /// How long a handler may take before the client gets 408.
    pub request_timeout: Duration,
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// Resolves credentials into the request's principal (Foundation provides it).
    pub authenticator: Option<Arc<dyn kernel::module::Authenticator>>,
}

fn peer_ip(req: &Request) -> Option<std::net::IpAddr> {
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ci| ci.0.ip())
}

fn valid_request_id(value: &str) -> bool {
    !value.is_empty() && value.len() <= 128 && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
}

/// The edge of every request, in one middleware (each extra layer costs a clone of the
/// service stack per request): request id and context, CORS, per-IP rate limit,
/// authentication, the handler under a timeout, security headers, problem bodies for bare errors, access log and metrics for
/// unmatched routes.
pub async fn edge(State(edge): State<EdgeState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_request_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let peer = peer_ip(&req);
    let ctx = RequestContext {
        request_id: request_id.clone(),
        ip: edge.proxies.client_ip(peer, req.headers()).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
    };
    let method = req.method().clone();
    // Kept for the access line (a clone shares the URI's bytes).
    let uri = req.uri().clone();
    let csp = content_security_policy(uri.path());
    let https = edge.proxies.forwarded_https(peer, req.headers());
    let ip_key = ctx.ip.clone().unwrap_or_default();
    req.extensions_mut().insert(ctx);

    let cors = edge.cors.decide(&req);
    // The global limit spares a client on this machine that connects directly (a health
    // check, a script, a load test): it could stop the server anyway, and a local proxy that
    // does not name its clients would otherwise throttle the whole site to one client's
    // budget. Anything that came through a proxy, whatever address it claims, is limited;
    // the sign-in, sign-up and reset limits apply to every client.
    let direct_local = peer.is_some_and(crate::proxy::is_loopback) && !req.headers().contains_key("x-forwarded-for");
    let decision = edge.rate_limiter.as_ref().filter(|_| !direct_local).map(|limiter| limiter.check(&ip_key));
    let mut response = REQUEST_ID
        .scope(request_id.clone(), async {
            let response = match (decision, cors) {
                (_, CorsDecision::Preflight { allowed }) => {
                    let mut preflight = StatusCode::NO_CONTENT.into_response();
                    CorsPolicy::preflight_headers(preflight.headers_mut(), allowed);
                    preflight
                }
                (Some(d), _) if !d.allowed => {
                    metrics::counter!("socle_rate_limited_total", "scope" => "global").increment(1);
                    problem_response(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too many requests from this address; slow down".into(),
                        Vec::new(),
                        Some(d.retry_after_secs),
                    )
                }
                (_, CorsDecision::Simple { allowed }) => {
                    if let Some(authenticator) = &edge.authenticator {
                        authenticator.attach(&mut req).await;
                    }
                    let mut response = match tokio::time::timeout(edge.request_timeout, next.run(req)).await {
                        Ok(response) => response,
                        Err(_) => problem_response(
                            StatusCode::REQUEST_TIMEOUT,
                            "the request took too long".into(),
                            Vec::new(),
                            None,
                        ),
                    };
                    CorsPolicy::response_headers(response.headers_mut(), allowed);
                    response
                }
            };
            problem_for_bare_errors(response)
        })
        .await;

    let headers = response.headers_mut();
    if let Some(d) = decision {
        headers.insert("ratelimit-limit", HeaderValue::from(d.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(d.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(d.reset_secs));
    }
    set_security_headers(headers, csp, https);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    // Unmatched paths share one label so that scanners cannot explode the label cardinality.
    let route = response.extensions_mut().remove::<MatchedPath>();
    let route = route.as_ref().map(MatchedPath::as_str).unwrap_or("<unmatched>");
    record_http_metrics(method.as_str(), route, status, elapsed.as_secs_f64());
    kernel::activity::record_request(status);
    // One event per request and no span: a span per request had its fields formatted when
    // it opened, was entered and left at every poll, and was parsed back into the line by
    // the JSON formatter, all for one line. Events inside the handler carry the request id
    // from the `REQUEST_ID` task-local (see the binary's log formatter).
    if status >= 500 {
        let ms = elapsed.as_micros() as f64 / 1000.0;
        tracing::error!(request_id = %request_id, method = %method, path = uri.path(), status, latency_ms = ms, ip = %ip_key, "request failed");
    } else if tracing::enabled!(tracing::Level::INFO) {
        let ms = elapsed.as_micros() as f64 / 1000.0;
        tracing::info!(request_id = %request_id, method = %method, path = uri.path(), status, latency_ms = ms, ip = %ip_key, "request");
    }
    response
}

/// The router with its paths rewritten before routing, ready for `listen::serve`.
pub type PathRewrite = tower::util::MapRequest<axum::Router, fn(Request) -> Request>;

/// The service the listener runs: the router behind a rewrite of the path that runs before
/// route matching (a router's own layers run after it). A path with a trailing slash
/// answers as the same path without it (`/api/v1/foundation/auth/login/`, as the seeds
/// write them); `/` stays `/`.
pub fn service(router: axum::Router) -> PathRewrite {
    let trim: fn(Request) -> Request = trim_trailing_slash;
    tower::util::MapRequest::new(router, trim)
}

/// `/a/b/` (or `/a/b//`) as `/a/b`, the query kept. Swagger UI's pages keep theirs: its
/// index is `/api/docs/` (it redirects `/api/docs` there, and its assets are relative to it).
pub fn trim_trailing_slash(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.len() <= 1 || !path.ends_with('/') || path.starts_with("/api/docs/") {
        return req;
    }
    let trimmed = path.trim_end_matches('/');
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    let path_and_query = match req.uri().query() {
        Some(q) => format!("{trimmed}?{q}"),
        None => trimmed.to_string(),
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = axum::http::uri::PathAndQuery::try_from(path_and_query) {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// Metric handles per (method, route template, status), so that a request does not build
/// label sets and look them up in the registry; lookups allocate nothing.
fn record_http_metrics(method: &str, route: &str, status: u16, seconds: f64) {
    struct Entry {
        method: String,
        route: String,
        status: u16,
        counter: metrics::Counter,
        histogram: metrics::Histogram,
    }
    type Cache = RwLock<HashMap<u64, Vec<Entry>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (method, route, status).hash(&mut hasher);
    let hash = hasher.finish();
    let find = |entries: &Vec<Entry>| {
        entries
            .iter()
            .find(|e| e.status == status && e.method == method && e.route == route)
            .map(|e| (e.counter.clone(), e.histogram.clone()))
    };
    let cached = cache.read().ok().and_then(|map| map.get(&hash).and_then(find));
    let (counter, histogram) = match cached {
        Some(handles) => handles,
        None => {
            let labels = [("method", method.to_string()), ("route", route.to_string()), ("status", status.to_string())];
            let counter = metrics::counter!("http_requests_total", &labels);
            let histogram = metrics::histogram!("http_request_duration_seconds", &labels);
            if let Ok(mut map) = cache.write()
                && map.len() < 10_000
            {
                map.entry(hash).or_default().push(Entry {
                    method: method.to_string(),
                    route: route.to_string(),
                    status,
                    counter: counter.clone(),
                    histogram: histogram.clone(),
                });
            }
            (counter, histogram)
        }
    };
    counter.increment(1);
    histogram.record(seconds);
}

const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'self'";
/// The web console (`/console`): its own scripts and styles only, no inline script or style.
const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'";

/// The policy for a path: Swagger UI needs inline code, the console its own files, the API nothing.
fn content_security_policy(path: &str) -> &'static str {
    if path.starts_with("/api/docs") {
        DOCS_CSP
    } else if path == "/console" || path.starts_with("/console/") {
        CONSOLE_CSP
    } else {
        API_CSP
    }
}

fn set_security_headers(headers: &mut HeaderMap, csp: &'static str, https: bool) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    if https {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
}

/// Give error responses that have no body (from routing and tower layers) a problem body.
fn problem_for_bare_errors(response: Response) -> Response {
    let status = response.status();
    if status.as_u16() < 400 || response.headers().contains_key(header::CONTENT_TYPE) {
        return response;
    }
    let detail = match status {
        StatusCode::NOT_FOUND => "no such endpoint".to_string(),
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed on this endpoint".to_string(),
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".to_string(),
        StatusCode::REQUEST_TIMEOUT => "the request took too long".to_string(),
        other => other.canonical_reason().unwrap_or("error").to_string(),
    };
    let mut problem = problem_response(status, detail, Vec::new(), None);
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = response.headers().get(&name) {
            problem.headers_mut().insert(name, v.clone());
        }
    }
    problem
}

/// Turn a panic in a handler into a logged 500 problem instead of a dropped connection.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    let detail = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    tracing::error!(panic = %detail, "handler panicked");
    problem_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "an internal error occurred; it has been logged".into(),
        Vec::new(),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::{API_CSP, CONSOLE_CSP, DOCS_CSP, content_security_policy, trim_trailing_slash};
    use axum::extract::Request;

    fn path_of(uri: &str) -> String {
        let req = Request::builder().uri(uri).body(axum::body::Body::empty()).expect("request");
        trim_trailing_slash(req).uri().to_string()
    }

    #[test]
    fn trailing_slashes_are_trimmed_before_routing() {
        assert_eq!(path_of("/api/v1/foundation/auth/login/"), "/api/v1/foundation/auth/login");
        assert_eq!(path_of("/apps/x/api/collections/c/records/?page=2"), "/apps/x/api/collections/c/records?page=2");
        assert_eq!(path_of("/a//"), "/a");
        assert_eq!(path_of("/"), "/");
        assert_eq!(path_of("//"), "/");
        assert_eq!(path_of("/a/b"), "/a/b");
        assert_eq!(path_of("/a/b?x=/"), "/a/b?x=/");
        assert_eq!(path_of("/api/docs/"), "/api/docs/", "Swagger UI's index");
    }

    #[test]
    fn each_part_has_its_content_security_policy() {
        assert_eq!(content_security_policy("/console"), CONSOLE_CSP);
        assert_eq!(content_security_policy("/console/assets/index-1.js"), CONSOLE_CSP);
        assert_eq!(content_security_policy("/consoles"), API_CSP);
        assert_eq!(content_security_policy("/api/docs/index.html"), DOCS_CSP);
        assert_eq!(content_security_policy("/api/v1/foundation/auth/login"), API_CSP);
        assert!(!CONSOLE_CSP.contains("unsafe"), "no inline code in the console");
    }
}
