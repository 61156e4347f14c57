//! Access tokens (short-lived HS256 JWTs naming a session) and opaque secrets (refresh
//! tokens, activation and reset tokens) stored only as SHA-256 hashes.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use kernel::{Error, PlatformRole, Result};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "socle";
pub const AUDIENCE: &str = "socle-platform";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub sid: String,
    pub role: PlatformRole,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// Tokens whose signature and claims were checked, kept until they expire.
const VERIFIED_CACHE: usize = 1024;

pub struct JwtKeys {
    encoding: EncodingKey,
    /// The signing secret's key first, then those of the previous secrets (a rotation).
    decoding: Vec<DecodingKey>,
    validation: Validation,
    pub ttl_secs: i64,
    /// Every authenticated request presents its token again; checking its HMAC and decoding
    /// its JSON cost about a twentieth of a record write. Keyed by the whole token, so only
    /// a token already verified byte for byte is answered from here.
    verified: std::sync::Mutex<std::collections::HashMap<Box<str>, AccessClaims>>,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: vec![DecodingKey::from_secret(secret)],
            validation,
            ttl_secs,
            verified: std::sync::Mutex::default(),
        }
    }

    /// Also accept tokens signed with these earlier secrets (never used to sign).
    pub fn with_previous<'a>(mut self, previous: impl IntoIterator<Item = &'a [u8]>) -> Self {
        self.decoding.extend(previous.into_iter().map(DecodingKey::from_secret));
        self
    }

    pub fn issue(&self, user_id: &str, session_id: &str, role: PlatformRole) -> Result<String> {
        let now = kernel::time::now().unix_timestamp();
        let claims = AccessClaims {
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            role,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + self.ttl_secs,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(Error::internal)
    }

    /// Verify signature, expiry, issuer and audience. The error says why, for the 401.
    pub fn verify(&self, token: &str) -> std::result::Result<AccessClaims, String> {
        let now = kernel::time::now().unix_timestamp();
        // Answered from the cache only before `exp`: past it, the full check applies its
        // leeway and says "expired".
        if let Ok(cache) = self.verified.lock()
            && let Some(claims) = cache.get(token).filter(|c| c.exp > now)
        {
            return Ok(claims.clone());
        }
        let claims =
            decode_with_any::<AccessClaims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the access token has expired".to_string(),
                _ => "the access token is invalid".to_string(),
            })?;
        if claims.exp > now
            && let Ok(mut cache) = self.verified.lock()
        {
            if cache.len() >= VERIFIED_CACHE {
                cache.retain(|_, c| c.exp > now);
                if cache.len() >= VERIFIED_CACHE {
                    cache.clear();
                }
            }
            cache.insert(token.into(), claims.clone());
        }
        Ok(claims)
    }
}

/// Decode with the first key whose signature matches (the current secret, then the previous
/// ones); its claims are then checked as usual.
pub fn decode_with_any<T: serde::de::DeserializeOwned>(
    token: &str,
    keys: &[DecodingKey],
    validation: &Validation,
) -> jsonwebtoken::errors::Result<T> {
    let mut last = jsonwebtoken::errors::Error::from(jsonwebtoken::errors::ErrorKind::InvalidSignature);
    for key in keys {
        match decode::<T>(token, key, validation) {
            Ok(data) => return Ok(data.claims),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// A new opaque secret and the hash to store.
pub fn new_secret() -> (String, String) {
    let secret = kernel::ids::random_token(32);
    let hash = kernel::ids::sha256_hex(&secret);
    (secret, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_and_verify() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 60);
        let token = keys.issue("u1", "s1", PlatformRole::Admin).expect("issue");
        let claims = keys.verify(&token).expect("verify");
        assert_eq!((claims.sub.as_str(), claims.sid.as_str(), claims.role), ("u1", "s1", PlatformRole::Admin));
        let other = JwtKeys::new(b"another-secret-another-secret-xx", 60);
        assert!(other.verify(&token).is_err(), "signature is checked");
        let expired = JwtKeys::new(b"0123456789abcdef0123456789abcdef", -120);
        let old = expired.issue("u1", "s1", PlatformRole::User).expect("issue");
        assert_eq!(keys.verify(&old).err().as_deref(), Some("the access token has expired"));
    }

    #[test]
    fn previous_secrets_verify_until_they_are_dropped() {
        let old = JwtKeys::new(b"the-old-secret-the-old-secret-old", 60);
        let token = old.issue("u1", "s1", PlatformRole::User).expect("issue");
        let rotated = JwtKeys::new(b"the-new-secret-the-new-secret-new", 60)
            .with_previous([b"the-old-secret-the-old-secret-old".as_slice()]);
        assert_eq!(rotated.verify(&token).expect("the old secret is listed").sub, "u1");
        // New tokens are signed with the new secret only.
        let fresh = rotated.issue("u2", "s2", PlatformRole::User).expect("issue");
        assert!(old.verify(&fresh).is_err());
        let dropped = JwtKeys::new(b"the-new-secret-the-new-secret-new", 60);
        assert_eq!(dropped.verify(&token).err().as_deref(), Some("the access token is invalid"));
        // An expired token signed with a previous secret says so.
        let expired = JwtKeys::new(b"the-old-secret-the-old-secret-old", -120).issue("u", "s", PlatformRole::User);
        let expired = expired.expect("issue");
        assert_eq!(rotated.verify(&expired).err().as_deref(), Some("the access token has expired"));
    }

    #[test]
    fn verified_tokens_are_remembered_only_as_issued() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 60);
        let token = keys.issue("u1", "s1", PlatformRole::User).expect("issue");
        for _ in 0..3 {
            assert_eq!(keys.verify(&token).expect("verify").sub, "u1");
        }
        // A token differing in one character of its signature is checked again, and fails.
        let at = token.len() - 5;
        let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
        let forged = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
        assert!(keys.verify(&forged).is_err());
        // A token that expired is not answered from the cache.
        let short = JwtKeys::new(b"0123456789abcdef0123456789abcdef", -10);
        let stale = short.issue("u2", "s2", PlatformRole::User).expect("issue");
        assert!(short.verify(&stale).is_err());
        // More tokens than the cache holds: each still verifies.
        for i in 0..(VERIFIED_CACHE + 10) {
            let t = keys.issue(&format!("u{i}"), "s", PlatformRole::User).expect("issue");
            assert_eq!(keys.verify(&t).expect("verify").sub, format!("u{i}"));
        }
    }
}
