//! Password hashing: argon2id for every new hash; bcrypt hashes imported from other
//! systems verify and are then upgraded. Hashing runs on the blocking pool, bounded so
//! that a login flood cannot allocate unbounded argon2 memory.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use kernel::config::PasswordHashConfig;
use kernel::{Error, Result};
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified when the account does not exist so that
    /// response time does not reveal which emails are registered.
    dummy: Arc<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid { needs_rehash: bool },
    Invalid,
}

impl PasswordHasher {
    pub fn new(config: &PasswordHashConfig) -> Self {
        let params = Params::new(config.memory_kib, config.iterations, config.parallelism, None).unwrap_or_default();
        let parallel = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) * 2;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let dummy =
            argon.hash_password(kernel::ids::random_token(16).as_bytes()).map(|h| h.to_string()).unwrap_or_default();
        Self { params, permits: Arc::new(Semaphore::new(parallel)), dummy: Arc::new(dummy) }
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    pub async fn hash(&self, password: &str) -> Result<String> {
        let _permit = self.permits.acquire().await.map_err(Error::internal)?;
        let argon = self.argon();
        let password = password.to_string();
        tokio::task::spawn_blocking(move || {
            argon.hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(Error::internal)
        })
        .await
        .map_err(Error::internal)?
    }

    /// Check `password` against a stored PHC (argon2) or bcrypt (`$2a$`/`$2b$`/`$2y$`) hash.
    pub async fn verify(&self, password: &str, stored: &str) -> Result<Verdict> {
        let _permit = self.permits.acquire().await.map_err(Error::internal)?;
        let argon = self.argon();
        let expected = self.params.clone();
        let password = password.to_string();
        let stored = stored.to_string();
        tokio::task::spawn_blocking(move || {
            if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$") {
                return Ok(match bcrypt::verify(password.as_bytes(), &stored) {
                    Ok(true) => Verdict::Valid { needs_rehash: true },
                    _ => Verdict::Invalid,
                });
            }
            if !stored.starts_with("$argon2") {
                return Ok(Verdict::Invalid);
            }
            match argon.verify_password(password.as_bytes(), stored.as_str()) {
                Ok(()) => Ok(Verdict::Valid { needs_rehash: !uses_params(&stored, &expected) }),
                Err(_) => Ok(Verdict::Invalid),
            }
        })
        .await
        .map_err(Error::internal)?
    }

    /// Spend the same time as a real verification, for unknown accounts.
    pub async fn verify_dummy(&self, password: &str) {
        let dummy = self.dummy.as_ref().clone();
        let _ = self.verify(password, &dummy).await;
    }
}

/// Whether a PHC string was made with argon2id and these parameters.
fn uses_params(phc: &str, params: &Params) -> bool {
    let expected = format!("m={},t={},p={}", params.m_cost(), params.t_cost(), params.p_cost());
    phc.starts_with("$argon2id$") && phc.contains(&expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> PasswordHasher {
        PasswordHasher::new(&PasswordHashConfig { memory_kib: 1024, iterations: 1, parallelism: 1 })
    }

    #[tokio::test]
    async fn argon2_round_trip() {
        let hasher = fast();
        let hash = hasher.hash("Correct-Horse-9").await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(
            hasher.verify("Correct-Horse-9", &hash).await.expect("verify"),
            Verdict::Valid { needs_rehash: false }
        );
        assert_eq!(hasher.verify("wrong", &hash).await.expect("verify"), Verdict::Invalid);
    }

    #[tokio::test]
    async fn bcrypt_is_accepted_and_flagged_for_upgrade() {
        let hasher = fast();
        let hash = bcrypt::hash("Imported-Pass-1", 4).expect("bcrypt");
        assert_eq!(
            hasher.verify("Imported-Pass-1", &hash).await.expect("verify"),
            Verdict::Valid { needs_rehash: true }
        );
        assert_eq!(hasher.verify("nope", &hash).await.expect("verify"), Verdict::Invalid);
        assert_eq!(hasher.verify("x", "garbage").await.expect("verify"), Verdict::Invalid);
    }

    #[tokio::test]
    async fn other_params_need_rehash() {
        let hash = fast().hash("Correct-Horse-9").await.expect("hash");
        let stronger = PasswordHasher::new(&PasswordHashConfig { memory_kib: 2048, iterations: 1, parallelism: 1 });
        assert_eq!(
            stronger.verify("Correct-Horse-9", &hash).await.expect("verify"),
            Verdict::Valid { needs_rehash: true }
        );
    }
}
