//! Project secrets for workflows: an API key is stored once, by name, and steps refer to it
//! as `{{ secrets.NAME }}`, so that it is never part of the workflow JSON, its versions or
//! its execution logs (values are masked there). Values are encrypted at rest with
//! AES-256-GCM, and the API never returns them.
//!
//! The key comes from `secrets_key` (or `data_dir/secrets_key`), not from the JWT signing
//! secret, so that rotating one leaves the other alone. Stored values are versioned:
//! `v2:base64(nonce || ciphertext || tag)` under a key derived from `secrets_key` (or one of
//! `secrets_previous_keys`); an unprefixed value is the first format, under a key derived
//! from the JWT secret (current or previous). Values opened with anything but the current
//! key are re-encrypted under it: at start ([`reencrypt_all`], also `socle secrets rotate`)
//! and when read.

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

/// The prefix of values encrypted under `secrets_key`.
const V2: &str = "v2:";

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

/// The encryption keys: the current one (which seals), the previous ones, and the legacy
/// ones derived from the JWT secrets (which only open).
#[derive(Clone)]
pub struct SecretBox {
    /// Derived from `secrets_key`, then from each of `secrets_previous_keys`.
    keys: Vec<[u8; 32]>,
    /// Derived from the JWT secret and its previous ones: unprefixed values.
    legacy: Vec<[u8; 32]>,
}

/// Which key opened a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// The current key: nothing to do.
    Current,
    /// A previous secrets key, or the legacy key derived from the JWT secret: re-encrypt.
    Older,
}

fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, KeyInit, Mac};
    let mut key = [0u8; 32];
    if let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret) {
        mac.update(label);
        key.copy_from_slice(&mac.finalize().into_bytes());
    }
    key
}

fn cipher(key: &[u8; 32]) -> Result<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| Error::internal("cannot build the secrets key"))
}

/// Open `base64(nonce || ciphertext || tag)` with `key`; `None` when the key is not the one.
fn open_with(key: &[u8; 32], aad: &str, raw: &[u8]) -> Result<Option<String>> {
    if raw.len() < NONCE_LEN {
        return Err(Error::internal("a stored secret is corrupt"));
    }
    let (nonce, rest) = raw.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::internal("a stored secret is corrupt"))?;
    let mut data = rest.to_vec();
    match cipher(key)?.open_in_place(nonce, Aad::from(aad.as_bytes()), &mut data) {
        Ok(plain) => {
            String::from_utf8(plain.to_vec()).map(Some).map_err(|_| Error::internal("a stored secret is corrupt"))
        }
        Err(_) => Ok(None),
    }
}

/// The error of a value no configured key opens: says what to do, and nothing about the keys.
fn undecryptable(aad: &str) -> Error {
    let name = aad.rsplit('/').next().unwrap_or(aad);
    Error::Unavailable(format!(
        "the workflow secret {name} cannot be decrypted: it was encrypted under a key that is neither \
         secrets_key nor one of secrets_previous_keys (list the old key in SOCLE_SECRETS_PREVIOUS_KEYS, \
         or set the secret again)"
    ))
}

/// Whether `e` is the error of a secret that no configured key decrypts.
pub fn is_undecryptable(e: &Error) -> bool {
    matches!(e, Error::Unavailable(m) if m.starts_with("the workflow secret ") && m.contains("cannot be decrypted"))
}

impl SecretBox {
    pub fn new(keys: &kernel::Keys) -> Self {
        let v2 = |k: &[u8]| derive(k, b"socle workflow secrets v2");
        SecretBox {
            keys: std::iter::once(keys.secrets.as_slice())
                .chain(keys.secrets_previous.iter().map(Vec::as_slice))
                .map(v2)
                .collect(),
            legacy: keys.jwt_all().map(|k| derive(k, b"socle workflow secrets v1")).collect(),
        }
    }

    /// `v2:base64(nonce || ciphertext || tag)` under the current key; the project and name
    /// are authenticated too, so a value cannot be moved to another secret.
    pub fn seal(&self, aad: &str, plain: &str) -> Result<String> {
        let key = self.keys.first().ok_or_else(|| Error::internal("no secrets key"))?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut data = plain.as_bytes().to_vec();
        cipher(key)?
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad.as_bytes()), &mut data)
            .map_err(|_| Error::internal("cannot encrypt a secret"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{V2}{}", STANDARD.encode(out)))
    }

    /// A value in the first format: unprefixed, under a key derived from the JWT secret, as
    /// databases written before `secrets_key` hold them (upgrade tests write such values;
    /// `aad` is `project_id/NAME`).
    pub fn seal_legacy(jwt_secret: &[u8], aad: &str, plain: &str) -> Result<String> {
        let legacy = SecretBox { keys: vec![derive(jwt_secret, b"socle workflow secrets v1")], legacy: Vec::new() };
        let sealed = legacy.seal(aad, plain)?;
        Ok(sealed.trim_start_matches(V2).to_string())
    }

    pub fn open(&self, aad: &str, sealed: &str) -> Result<String> {
        self.open_versioned(aad, sealed).map(|(plain, _)| plain)
    }

    /// The value, and whether the current key opened it.
    pub fn open_versioned(&self, aad: &str, sealed: &str) -> Result<(String, Opened)> {
        let (encoded, keys) = match sealed.strip_prefix(V2) {
            Some(rest) => (rest, &self.keys),
            None => (sealed, &self.legacy),
        };
        let raw = STANDARD.decode(encoded).map_err(|_| Error::internal("a stored secret is corrupt"))?;
        for (i, key) in keys.iter().enumerate() {
            if let Some(plain) = open_with(key, aad, &raw)? {
                let current = i == 0 && sealed.starts_with(V2);
                return Ok((plain, if current { Opened::Current } else { Opened::Older }));
            }
        }
        Err(undecryptable(aad))
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

/// Every secret of a project, decrypted, for one step's templates. A value opened with an
/// older key is re-encrypted under the current one.
pub async fn load(sb: &SecretBox, db: &Db, project_id: &str) -> Result<Map<String, Value>> {
    let rows: Vec<(String, String)> =
        db.fetch_all("SELECT name, value FROM workflow_secrets WHERE project_id = $1", args![project_id]).await?;
    let mut out = Map::new();
    for (name, sealed) in rows {
        let (plain, opened) = sb.open_versioned(&aad(project_id, &name), &sealed)?;
        if opened == Opened::Older {
            reseal(sb, db, project_id, &name, &sealed, &plain).await?;
        }
        out.insert(name, Value::String(plain));
    }
    Ok(out)
}

/// Replace `old` by the value sealed under the current key, unless it changed meanwhile
/// (another process re-encrypted it, or someone set it again).
async fn reseal(sb: &SecretBox, db: &Db, project_id: &str, name: &str, old: &str, plain: &str) -> Result<bool> {
    let sealed = sb.seal(&aad(project_id, name), plain)?;
    let n = db
        .execute(
            "UPDATE workflow_secrets SET value = $1 WHERE project_id = $2 AND name = $3 AND value = $4",
            args![sealed, project_id, name, old],
        )
        .await?;
    Ok(n > 0)
}

/// What a re-encryption pass found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reencrypted {
    /// Values already under the current key.
    pub current: usize,
    /// Values opened with a previous or legacy key and now under the current key.
    pub rewritten: usize,
    /// Values no configured key opens (each logged by project and name).
    pub unreadable: usize,
}

/// Re-encrypt every stored value that is not under the current key: the upgrade from values
/// keyed by the JWT secret, and the end of a secrets-key rotation. Safe to run from several
/// processes at once (each rewrite is conditional on the value it read).
pub async fn reencrypt_all(sb: &SecretBox, db: &Db) -> Result<Reencrypted> {
    let rows: Vec<(String, String, String)> =
        db.fetch_all("SELECT project_id, name, value FROM workflow_secrets ORDER BY project_id, name", args![]).await?;
    let mut report = Reencrypted::default();
    for (project_id, name, sealed) in rows {
        match sb.open_versioned(&aad(&project_id, &name), &sealed) {
            Ok((_, Opened::Current)) => report.current += 1,
            Ok((plain, Opened::Older)) => {
                reseal(sb, db, &project_id, &name, &sealed, &plain).await?;
                report.rewritten += 1;
            }
            Err(e) => {
                tracing::warn!(project_id, name, error = %e, "a workflow secret cannot be decrypted");
                report.unreadable += 1;
            }
        }
    }
    Ok(report)
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

    const JWT: &str = "a server secret of enough length, 32+";
    const KEY: &str = "a secrets key of enough length, 32 chars+";

    fn boxed(jwt: &str, key: &str, previous: &[&str]) -> SecretBox {
        let mut keys = kernel::Keys::new(jwt, key);
        keys.secrets_previous = previous.iter().map(|k| k.as_bytes().to_vec()).collect();
        SecretBox::new(&keys)
    }

    #[test]
    fn sealed_values_open_only_under_their_name() {
        let sb = boxed(JWT, KEY, &[]);
        let sealed = sb.seal("p/API_KEY", "s3cr3t").unwrap_or_default();
        assert!(sealed.starts_with("v2:") && !sealed.contains("s3cr3t"));
        assert_eq!(sb.open_versioned("p/API_KEY", &sealed).ok(), Some(("s3cr3t".to_string(), Opened::Current)));
        assert!(sb.open("p/OTHER", &sealed).is_err());
        // The JWT secret plays no part in v2 values.
        assert_eq!(
            boxed("another jwt secret of 32+ characters", KEY, &[]).open("p/API_KEY", &sealed).ok().as_deref(),
            Some("s3cr3t")
        );
        let e = boxed(JWT, "another secrets key, 32 characters+", &[]).open("p/API_KEY", &sealed);
        assert!(e.as_ref().is_err_and(is_undecryptable), "{e:?}");
        let message = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("API_KEY") && message.contains("secrets_previous_keys"), "{message}");
    }

    #[test]
    fn previous_and_legacy_keys_open_and_are_older() {
        let old = boxed(JWT, KEY, &[]).seal("p/K", "v").unwrap_or_default();
        let rotated = boxed(JWT, "the new secrets key, 32 characters+", &[KEY]);
        assert_eq!(rotated.open_versioned("p/K", &old).ok(), Some(("v".to_string(), Opened::Older)));
        let legacy = SecretBox::seal_legacy(JWT.as_bytes(), "p/K", "old value").unwrap_or_default();
        assert!(!legacy.starts_with("v2:"));
        assert_eq!(rotated.open_versioned("p/K", &legacy).ok(), Some(("old value".to_string(), Opened::Older)));
        // Legacy values need the JWT secret they were made with.
        assert!(boxed("a rotated jwt secret of 32+ characters", KEY, &[]).open("p/K", &legacy).is_err());
        let mut keys = kernel::Keys::new("a rotated jwt secret of 32+ characters", KEY);
        keys.jwt_previous = vec![JWT.as_bytes().to_vec()];
        assert_eq!(SecretBox::new(&keys).open("p/K", &legacy).ok().as_deref(), Some("old value"));
        // Corrupt values are an error, not a panic.
        assert!(rotated.open("p/K", "v2:!!").is_err() && rotated.open("p/K", "v2:").is_err());
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
