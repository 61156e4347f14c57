//! The OAuth2 / OpenID Connect client both kinds of sign-in use (builders' and app end
//! users'): the authorization URL (code flow with PKCE S256, `state`, `nonce`), the code
//! exchange, the ID token's verification (signature by the provider's JWKS, `iss`, `aud`,
//! `exp`, `nonce`; asymmetric algorithms only), and the user info. Redirects are never
//! followed; endpoints set by builders (not by the operator) must be public addresses.

use std::net::IpAddr;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use kernel::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

/// Where a provider's endpoints are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Endpoints {
    pub authorization: String,
    pub token: String,
    pub userinfo: Option<String>,
    /// With `issuer`: ID tokens are verified.
    pub jwks: Option<String>,
    pub issuer: Option<String>,
}

/// How the user is read once the code is exchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// OpenID Connect: the ID token (verified), completed by the user info endpoint.
    Oidc,
    /// GitHub: OAuth2 only; the e-mail comes from its `/user/emails` API.
    GitHub,
    /// Plain OAuth2 with a user info endpoint returning OIDC-like claims.
    OAuth2,
}

#[derive(Debug, Clone)]
pub struct ProviderClient {
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    pub endpoints: Endpoints,
    pub flavor: Flavor,
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalIdentity {
    pub subject: String,
    pub email: Option<String>,
    /// Only a provider's explicit `email_verified: true` (or GitHub's verified primary).
    pub email_verified: bool,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
    /// The claims as received.
    pub raw: Value,
}

/// The HTTP side: one client, no redirects, short timeouts.
#[derive(Clone)]
pub struct OAuthHttp {
    http: reqwest::Client,
    /// Whether endpoints may be loopback or private addresses (tests, intranets).
    allow_private: bool,
}

/// Logged in full; the caller is told only that the provider failed (no hosts, no
/// addresses, no transport errors).
fn provider_error(what: impl std::fmt::Display) -> Error {
    tracing::warn!(detail = %what, "an OAuth2 provider could not be reached or answered badly");
    Error::Unavailable("the sign-in provider could not be reached or answered badly; try again later".into())
}

/// The most a provider's answer may weigh.
const MAX_ANSWER: usize = 1024 * 1024;

/// Read a body, refusing one over [`MAX_ANSWER`].
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(provider_error)? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(provider_error("an answer over 1 MiB"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn refused(what: impl std::fmt::Display) -> Error {
    Error::Unauthorized(format!("the sign-in provider's answer was refused: {what}"))
}

/// `a=b&c=d` with form encoding.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// The PKCE S256 challenge of `verifier` (RFC 7636).
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

impl ProviderClient {
    /// The URL to send the browser to.
    pub fn authorization_url(&self, redirect_uri: &str, state: &str, nonce: Option<&str>, challenge: &str) -> String {
        let scope = self.scopes.join(" ");
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("scope", scope.as_str()),
            ("state", state),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ];
        if let Some(nonce) = nonce {
            pairs.push(("nonce", nonce));
        }
        let sep = if self.endpoints.authorization.contains('?') { '&' } else { '?' };
        format!("{}{sep}{}", self.endpoints.authorization, form_encode(&pairs))
    }
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    nonce: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: String,
}

/// Verify an ID token against `jwks`: an asymmetric algorithm, a key of the set, the issuer,
/// the audience, the expiry (one minute of leeway) and the nonce.
pub fn verify_id_token(
    id_token: &str,
    jwks: &JwkSet,
    issuer: &str,
    client_id: &str,
    nonce: Option<&str>,
) -> Result<(String, serde_json::Map<String, Value>)> {
    let header =
        jsonwebtoken::decode_header(id_token).map_err(|e| refused(format!("the ID token is malformed: {e}")))?;
    let allowed = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];
    if !allowed.contains(&header.alg) {
        return Err(refused(format!("the ID token is signed with {:?}, not an asymmetric algorithm", header.alg)));
    }
    let jwk = match header.kid.as_deref() {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or_else(|| refused("the ID token's key is not in the provider's key set"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| refused(format!("the provider's key is unusable: {e}")))?;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 60;
    let data = jsonwebtoken::decode::<IdClaims>(id_token, &key, &validation)
        .map_err(|e| refused(format!("the ID token is not valid: {e}")))?;
    if let Some(expected) = nonce
        && data.claims.nonce.as_deref() != Some(expected)
    {
        return Err(refused("the ID token's nonce is not the one this sign-in sent"));
    }
    Ok((data.claims.sub, data.claims.rest))
}

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from)
}

/// OIDC-style claims into an identity (`sub`, `email`, `email_verified`, `name`, `picture`).
pub fn identity_from_claims(subject: Option<String>, claims: Value) -> Result<ExternalIdentity> {
    let subject = subject
        .or_else(|| text(&claims, "sub"))
        .or_else(|| claims.get("id").map(|id| id.to_string().trim_matches('"').to_string()))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| refused("the provider named no subject"))?;
    let verified = match claims.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        // Some providers send the string.
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    Ok(ExternalIdentity {
        email: text(&claims, "email").map(|e| e.to_lowercase()),
        email_verified: verified,
        name: text(&claims, "name").or_else(|| text(&claims, "login")),
        avatar_url: text(&claims, "picture").or_else(|| text(&claims, "avatar_url")),
        subject,
        raw: claims,
    })
}

/// Resolves names to public addresses only. The connection uses what this returns, so a
/// name cannot answer a public address to a check and a private one to the connection.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let public: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl OAuthHttp {
    pub fn new(allow_private: bool) -> Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .user_agent("socle");
        if !allow_private {
            builder = builder.dns_resolver(PublicOnly);
        }
        Ok(OAuthHttp { http: builder.build().map_err(Error::internal)?, allow_private })
    }

    /// An http(s) URL, and (unless private addresses are allowed) not an address literal
    /// that is private: names are filtered when they are resolved ([`PublicOnly`]).
    async fn check(&self, url: &str) -> Result<reqwest::Url> {
        let parsed = reqwest::Url::parse(url).map_err(|e| provider_error(format!("{url} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(provider_error(format!("{url} is not an http(s) URL")));
        }
        let host = parsed.host_str().unwrap_or_default();
        let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
        if !self.allow_private && literal.is_some_and(|ip| !is_public(ip)) {
            return Err(provider_error(format!("{url} is a private or local address")));
        }
        Ok(parsed)
    }

    async fn get_json(&self, url: &str, bearer: Option<&str>) -> Result<Value> {
        let url = self.check(url).await?;
        let mut request = self.http.get(url).header("accept", "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(provider_error)?;
        let status = response.status();
        let body = read_capped(response).await?;
        if !status.is_success() {
            return Err(provider_error(format!("{status} from the provider")));
        }
        serde_json::from_slice(&body).map_err(|e| provider_error(format!("not JSON: {e}")))
    }

    /// The endpoints an OpenID issuer publishes (its `issuer` must be the one asked for).
    pub async fn discover(&self, issuer: &str) -> Result<Endpoints> {
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let doc: Discovery = serde_json::from_value(self.get_json(&url, None).await?)
            .map_err(|e| provider_error(format!("discovery document: {e}")))?;
        if doc.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(provider_error(format!("the discovery document names another issuer ({})", doc.issuer)));
        }
        Ok(Endpoints {
            authorization: doc.authorization_endpoint,
            token: doc.token_endpoint,
            userinfo: doc.userinfo_endpoint,
            jwks: Some(doc.jwks_uri),
            issuer: Some(doc.issuer),
        })
    }

    /// Exchange the code and read who signed in.
    pub async fn sign_in(
        &self,
        provider: &ProviderClient,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
        nonce: Option<&str>,
    ) -> Result<(ExternalIdentity, String)> {
        let body = form_encode(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", &provider.client_id),
            ("client_secret", &provider.client_secret),
            ("code_verifier", code_verifier),
        ]);
        let url = self.check(&provider.endpoints.token).await?;
        let response = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(provider_error)?;
        let status = response.status();
        let answer: TokenAnswer = serde_json::from_slice(&read_capped(response).await?)
            .map_err(|e| provider_error(format!("the token answer is not JSON: {e}")))?;
        if let Some(error) = answer.error {
            let detail = answer.error_description.unwrap_or_default();
            return Err(refused(format!("{error} {detail}").trim().to_string()));
        }
        if !status.is_success() {
            return Err(provider_error(format!("{status} from the token endpoint")));
        }
        let access = answer.access_token.ok_or_else(|| refused("no access token"))?;
        let identity = match provider.flavor {
            Flavor::Oidc => self.oidc_identity(provider, answer.id_token.as_deref(), &access, nonce).await?,
            Flavor::GitHub => self.github_identity(provider, &access).await?,
            Flavor::OAuth2 => {
                let userinfo =
                    provider.endpoints.userinfo.as_deref().ok_or_else(|| refused("no user info endpoint"))?;
                identity_from_claims(None, self.get_json(userinfo, Some(&access)).await?)?
            }
        };
        Ok((identity, access))
    }

    async fn oidc_identity(
        &self,
        provider: &ProviderClient,
        id_token: Option<&str>,
        access: &str,
        nonce: Option<&str>,
    ) -> Result<ExternalIdentity> {
        let (Some(jwks_uri), Some(issuer)) = (&provider.endpoints.jwks, &provider.endpoints.issuer) else {
            // Without a key set there is nothing to verify a token with: the user info
            // endpoint, called with the access token, is the source.
            let userinfo = provider.endpoints.userinfo.as_deref().ok_or_else(|| refused("no user info endpoint"))?;
            return identity_from_claims(None, self.get_json(userinfo, Some(access)).await?);
        };
        let id_token = id_token.ok_or_else(|| refused("no ID token"))?;
        let jwks: JwkSet = serde_json::from_value(self.get_json(jwks_uri, None).await?)
            .map_err(|e| provider_error(format!("the key set: {e}")))?;
        let (subject, mut claims) = verify_id_token(id_token, &jwks, issuer, &provider.client_id, nonce)?;
        // Providers may keep e-mail and profile claims for the user info endpoint.
        if !claims.contains_key("email")
            && let Some(userinfo) = provider.endpoints.userinfo.as_deref()
            && let Value::Object(more) = self.get_json(userinfo, Some(access)).await?
        {
            if more.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
                return Err(refused("the user info names another subject than the ID token"));
            }
            claims.extend(more);
        }
        identity_from_claims(Some(subject), Value::Object(claims))
    }

    async fn github_identity(&self, provider: &ProviderClient, access: &str) -> Result<ExternalIdentity> {
        let userinfo = provider.endpoints.userinfo.as_deref().unwrap_or("https://api.github.com/user");
        let user = self.get_json(userinfo, Some(access)).await?;
        let mut identity = identity_from_claims(None, user)?;
        identity.email_verified = false;
        let emails_url = format!("{}/emails", userinfo.trim_end_matches('/'));
        if let Ok(Value::Array(emails)) = self.get_json(&emails_url, Some(access)).await
            && let Some(primary) = emails.iter().find(|e| e["primary"] == Value::Bool(true))
        {
            identity.email = primary["email"].as_str().map(str::to_lowercase);
            identity.email_verified = primary["verified"] == Value::Bool(true);
        }
        Ok(identity)
    }
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (b & 0xc0) == 64)
                || (a == 198 && (b & 0xfe) == 18))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address.
            let embedded = if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                Some(std::net::Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8))
            } else if s[0] == 0x2002 {
                Some(std::net::Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8))
            } else {
                v6.to_ipv4_mapped()
            };
            if let Some(v4) = embedded {
                return is_public(IpAddr::V4(v4));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    /// A throwaway RSA key (PKCS#1 DER) for these tests only, and its public half as a JWK.
    const KEY: &[u8] = include_bytes!("test_rsa_key.der");
    const N: &str = "o04eZz9DcgxycZN88VbFqU7fcLOhCh5RoMCXszmyWUQXo5nR8ux-SKGgsDrFj3eIj2AladQMnIBNRzH1gxbF4o9pXK2dfE7D_yLa-8uktUflliHoS2_tmRahYNQy1SVapT4pxL8Sexo6UsJ7VR43caZfwKL_EZUYNktSwl1TP7ynFbn-kvroxl170obhcw96eQQWBwWvqMZSWXy8aSr8On82ZeneeYGegRqouESBCPlS49vo7-hULlyxIJ2kXcG6JSylv1ZylK_2bIPh_mOlSwYnFawTXHChqf7_EeCEqFr_-QeQeeF6981DKSp6tz1_NatjJzXZWu9CXpU6Ozwdow";

    fn jwks(kid: &str) -> JwkSet {
        serde_json::from_value(
            json!({"keys": [{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": N, "e": "AQAB"}]}),
        )
        .expect("jwks")
    }

    fn token(claims: Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        encode(&header, &claims, &EncodingKey::from_rsa_der(KEY)).expect("sign")
    }

    fn claims(overrides: Value) -> Value {
        let now = kernel::time::now().unix_timestamp();
        let mut base = json!({"iss": "https://idp.test", "aud": "socle", "sub": "u-1", "exp": now + 300, "iat": now,
            "nonce": "n-1", "email": "Ada@Example.com", "email_verified": true});
        if let (Value::Object(b), Value::Object(o)) = (&mut base, overrides) {
            b.extend(o);
        }
        base
    }

    #[test]
    fn a_valid_id_token_gives_its_subject_and_claims() {
        let (sub, rest) =
            verify_id_token(&token(claims(json!({})), "k1"), &jwks("k1"), "https://idp.test", "socle", Some("n-1"))
                .expect("valid");
        assert_eq!(sub, "u-1");
        let identity = identity_from_claims(Some(sub), Value::Object(rest)).expect("identity");
        assert_eq!(identity.email.as_deref(), Some("ada@example.com"));
        assert!(identity.email_verified);
    }

    #[test]
    fn id_tokens_are_refused_for_each_broken_rule() {
        let set = jwks("k1");
        let check = |t: String, nonce: Option<&str>| verify_id_token(&t, &set, "https://idp.test", "socle", nonce);
        let now = kernel::time::now().unix_timestamp();
        for (why, t) in [
            ("another audience", token(claims(json!({"aud": "someone-else"})), "k1")),
            ("another issuer", token(claims(json!({"iss": "https://evil.test"})), "k1")),
            ("expired", token(claims(json!({"exp": now - 3600})), "k1")),
            ("unknown key", token(claims(json!({})), "k2")),
        ] {
            assert!(matches!(check(t, Some("n-1")), Err(Error::Unauthorized(_))), "{why}");
        }
        assert!(check(token(claims(json!({})), "k1"), Some("other")).is_err(), "another nonce");
        // A signature that does not match the payload.
        let good = token(claims(json!({})), "k1");
        let other = token(claims(json!({"sub": "u-2"})), "k1");
        let parts: Vec<&str> = good.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], other.split('.').nth(1).unwrap_or_default(), parts[2]);
        assert!(check(forged, Some("n-1")).is_err(), "bad signature");
        // A symmetric token is never accepted, whatever its MAC.
        let hs = encode(&Header::new(Algorithm::HS256), &claims(json!({})), &EncodingKey::from_secret(N.as_bytes()))
            .expect("hs");
        assert!(check(hs, Some("n-1")).is_err(), "HS256");
    }

    #[test]
    fn pkce_and_the_authorization_url_follow_the_rfcs() {
        // RFC 7636 appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let p = ProviderClient {
            name: "idp".into(),
            client_id: "socle app".into(),
            client_secret: "s".into(),
            scopes: vec!["openid".into(), "email".into()],
            endpoints: Endpoints { authorization: "https://idp.test/auth?x=1".into(), ..Endpoints::default() },
            flavor: Flavor::Oidc,
        };
        assert_eq!(
            p.authorization_url("https://s.test/cb", "st", Some("no"), "ch"),
            "https://idp.test/auth?x=1&response_type=code&client_id=socle%20app&redirect_uri=https%3A%2F%2Fs.test%2Fcb\
             &scope=openid%20email&state=st&code_challenge=ch&code_challenge_method=S256&nonce=no"
        );
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused_at_connection() {
        use reqwest::dns::Resolve;
        use std::str::FromStr;
        let name = reqwest::dns::Name::from_str("localhost").expect("name");
        assert!(PublicOnly.resolve(name).await.is_err(), "localhost");
        // And a request through such a name never leaves: the client uses this resolver.
        let http = OAuthHttp::new(false).expect("client");
        let refused = http.get_json("http://localhost:9/.well-known/openid-configuration", None).await;
        assert!(matches!(refused, Err(Error::Unavailable(_))));
        assert!(http.get_json("http://127.0.0.1:9/x", None).await.is_err(), "a private literal");
    }

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().expect("ip")), "{private}");
        }
        for public in ["8.8.8.8", "2606:4700::1111", "64:ff9b::808:808"] {
            assert!(is_public(public.parse().expect("ip")), "{public}");
        }
    }
}
