//! Project secrets for workflows: an API key is stored once, by name, and steps refer to it
//! as `{{ secrets.NAME }}`, so that it is never part of the workflow JSON, its versions or
//! its execution logs (values are masked there). Values are encrypted at rest with
//! AES-256-GCM under a key derived from the server's signing secret, and the API never
//! returns them.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kernel::{Db, Error, Result, args};
use rand::RngCore;
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;

pub const MAX_VALUE_LEN: usize = 8 * 1024;

/// A secret as listed: its name, never its value.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct SecretInfo {
    pub name: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// `API_KEY`, `GITHUB_SECRET`: capitals, digits and `_`, starting with a letter.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The encryption key, derived from the server's signing secret.
#[derive(Clone)]
pub struct SecretBox {
    key: [u8; 32],
}

impl SecretBox {
    pub fn new(server_secret: &[u8]) -> Self {
        use hmac::{Hmac, KeyInit, Mac};
        let mut key = [0u8; 32];
        if let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(server_secret) {
            mac.update(b"socle workflow secrets v1");
            key.copy_from_slice(&mac.finalize().into_bytes());
        }
        SecretBox { key }
    }

    fn cipher(&self) -> Result<LessSafeKey> {
        UnboundKey::new(&AES_256_GCM, &self.key)
            .map(LessSafeKey::new)
            .map_err(|_| Error::internal("cannot build the secrets key"))
    }

    /// `base64(nonce || ciphertext || tag)`; the project and name are authenticated too,
    /// so a value cannot be moved to another secret.
    pub fn seal(&self, aad: &str, plain: &str) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut data = plain.as_bytes().to_vec();
        self.cipher()?
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad.as_bytes()), &mut data)
            .map_err(|_| Error::internal("cannot encrypt a secret"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(STANDARD.encode(out))
    }

    pub fn open(&self, aad: &str, sealed: &str) -> Result<String> {
        let raw = STANDARD.decode(sealed).map_err(|_| Error::internal("a stored secret is corrupt"))?;
        if raw.len() < NONCE_LEN {
            return Err(Error::internal("a stored secret is corrupt"));
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::internal("a stored secret is corrupt"))?;
        let mut data = rest.to_vec();
        let plain = self
            .cipher()?
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut data)
            .map_err(|_| Error::internal("a stored secret cannot be decrypted (was the server secret changed?)"))?;
        String::from_utf8(plain.to_vec()).map_err(|_| Error::internal("a stored secret is corrupt"))
    }
}

fn aad(project_id: &str, name: &str) -> String {
    format!("{project_id}/{name}")
}

pub async fn list(db: &Db, project_id: &str) -> Result<Vec<SecretInfo>> {
    db.fetch_all(
        "SELECT name, created_by, created_at, updated_at FROM workflow_secrets WHERE project_id = $1 ORDER BY name",
        args![project_id],
    )
    .await
}

pub async fn put(sb: &SecretBox, db: &Db, project_id: &str, name: &str, value: &str, by: &str) -> Result<SecretInfo> {
    let mut v = kernel::validate::Validator::new();
    if !valid_name(name) {
        v.add("name", "invalid", "a secret name is capitals, digits and _, starting with a letter (up to 64)");
    }
    if value.is_empty() || value.len() > MAX_VALUE_LEN {
        v.add("value", "invalid", format!("value is 1 to {MAX_VALUE_LEN} bytes"));
    }
    v.finish()?;
    let sealed = sb.seal(&aad(project_id, name), value)?;
    let now = kernel::time::now();
    db.execute(
        "INSERT INTO workflow_secrets (project_id, name, value, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (project_id, name) DO UPDATE SET value = $3, updated_at = $5",
        args![project_id, name, sealed, by, now],
    )
    .await?;
    db.fetch_one(
        "SELECT name, created_by, created_at, updated_at FROM workflow_secrets WHERE project_id = $1 AND name = $2",
        args![project_id, name],
    )
    .await
}

pub async fn delete(db: &Db, project_id: &str, name: &str) -> Result<()> {
    let n =
        db.execute("DELETE FROM workflow_secrets WHERE project_id = $1 AND name = $2", args![project_id, name]).await?;
    if n == 0 {
        return Err(Error::not_found("secret"));
    }
    Ok(())
}

/// Every secret of a project, decrypted, for one step's templates.
pub async fn load(sb: &SecretBox, db: &Db, project_id: &str) -> Result<Map<String, Value>> {
    let rows: Vec<(String, String)> =
        db.fetch_all("SELECT name, value FROM workflow_secrets WHERE project_id = $1", args![project_id]).await?;
    let mut out = Map::new();
    for (name, sealed) in rows {
        out.insert(name.clone(), Value::String(sb.open(&aad(project_id, &name), &sealed)?));
    }
    Ok(out)
}

/// Replace every secret value in `v` by `***` (logs never show them).
pub fn mask(v: &mut Value, secrets: &Map<String, Value>) {
    if secrets.is_empty() {
        return;
    }
    match v {
        Value::String(s) => {
            for secret in secrets.values().filter_map(Value::as_str).filter(|s| s.len() >= 3) {
                if s.contains(secret) {
                    *s = s.replace(secret, "***");
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| mask(i, secrets)),
        Value::Object(map) => map.values_mut().for_each(|i| mask(i, secrets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_under_their_name() {
        let sb = SecretBox::new(b"a server secret of enough length, 32+");
        let sealed = sb.seal("p/API_KEY", "s3cr3t").unwrap_or_default();
        assert!(!sealed.contains("s3cr3t"));
        assert_eq!(sb.open("p/API_KEY", &sealed).ok().as_deref(), Some("s3cr3t"));
        assert!(sb.open("p/OTHER", &sealed).is_err());
        assert!(SecretBox::new(b"another secret").open("p/API_KEY", &sealed).is_err());
    }

    #[test]
    fn names_and_masking() {
        assert!(valid_name("API_KEY") && valid_name("K2"));
        assert!(!valid_name("api_key") && !valid_name("_X") && !valid_name(""));
        let mut secrets = Map::new();
        secrets.insert("K".into(), Value::String("tok123".into()));
        let mut v = serde_json::json!({"headers": {"authorization": "Bearer tok123"}, "n": 1});
        mask(&mut v, &secrets);
        assert_eq!(v["headers"]["authorization"], "Bearer ***");
    }
}
