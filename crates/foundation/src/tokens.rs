//! Access tokens (short-lived HS256 JWTs naming a session) and opaque secrets (refresh
//! tokens, activation and reset tokens) stored only as SHA-256 hashes.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use kernel::{Error, PlatformRole, Result};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "socle";
pub const AUDIENCE: &str = "socle-platform";

#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub sid: String,
    pub role: PlatformRole,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl_secs: i64,
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
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
        }
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
        decode::<AccessClaims>(token, &self.decoding, &self.validation).map(|data| data.claims).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the access token has expired".to_string(),
                _ => "the access token is invalid".to_string(),
            }
        })
    }
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
}
