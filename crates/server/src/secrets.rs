//! The server's keys: the JWT signing secret (with the previous ones a rotation still
//! accepts) and the key that encrypts workflow secrets (with its previous ones).
//!
//! On SQLite an unset secret is generated once into the data dir (mode 0600), which every
//! process serving that database file shares. Processes sharing a PostgreSQL database share
//! no data dir, so there both must be set (`SOCLE_JWT_SECRET`, `SOCLE_SECRETS_KEY`), to the
//! same values on every process: a process refuses to start without them, instead of
//! issuing tokens the others reject (README, Configuration).

use std::io::Write;
use std::path::{Path, PathBuf};

use kernel::{Config, Db, Keys};

/// Shortest accepted secret or key, in characters.
const MIN_LEN: usize = 32;

/// The keys, as [`load`] finds them, after re-encrypting under the current secrets key every
/// workflow secret stored under an older one (the upgrade from values keyed by the JWT
/// secret, the end of a secrets-key rotation).
pub async fn start(config: &Config, db: &Db) -> anyhow::Result<Keys> {
    let keys = load(config)?;
    match reencrypt(&keys, db).await {
        Ok(r) => {
            if r.rewritten > 0 {
                tracing::info!(count = r.rewritten, "re-encrypted workflow secrets under the current secrets key");
            }
            if r.unreadable > 0 {
                tracing::warn!(
                    count = r.unreadable,
                    "workflow secrets no configured key decrypts: list their key in secrets_previous_keys, \
                     or set them again"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not re-encrypt the workflow secrets"),
    }
    Ok(keys)
}

/// Re-encrypt under `keys.secrets` every workflow secret stored under an older key (`socle
/// secrets rotate`, and each start).
pub async fn reencrypt(keys: &Keys, db: &Db) -> kernel::Result<automation::workflows::secrets::Reencrypted> {
    let sb = automation::workflows::secrets::SecretBox::new(keys);
    automation::workflows::secrets::reencrypt_all(&sb, db).await
}

/// The signing secret and the secrets key from configuration, or (SQLite only) from the data
/// dir, generated there the first time; with their previous values from configuration.
pub fn load(config: &Config) -> anyhow::Result<Keys> {
    let jwt = secret_or_file(config, config.jwt_secret.as_deref(), "jwt_secret", "SOCLE_JWT_SECRET")?;
    let secrets = secret_or_file(config, config.secrets_key.as_deref(), "secrets_key", "SOCLE_SECRETS_KEY")?;
    Ok(Keys {
        jwt,
        jwt_previous: previous(&config.jwt_previous_secrets, "jwt_previous_secrets")?,
        secrets,
        secrets_previous: previous(&config.secrets_previous_keys, "secrets_previous_keys")?,
    })
}

fn previous(values: &[String], setting: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    values
        .iter()
        .map(|v| {
            anyhow::ensure!(v.len() >= MIN_LEN, "each of {setting} must be at least {MIN_LEN} characters");
            Ok(v.as_bytes().to_vec())
        })
        .collect()
}

fn secret_or_file(config: &Config, configured: Option<&str>, setting: &str, env: &str) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = configured.filter(|s| !s.is_empty()) {
        anyhow::ensure!(secret.len() >= MIN_LEN, "{setting} ({env}) must be at least {MIN_LEN} characters");
        return Ok(secret.as_bytes().to_vec());
    }
    let path = config.data_dir.join(setting);
    if config.is_postgres() {
        let hint = if path.exists() {
            format!(
                "; this process's earlier {} can be that value (keeping the tokens and workflow secrets it made)",
                path.display()
            )
        } else {
            String::new()
        };
        anyhow::bail!(
            "{env} must be set when DATABASE_URL is PostgreSQL: the processes sharing the database must share \
             {setting}, and a value generated into one process's data dir would not be (set {env}, or {setting} \
             in socle.toml, to the same value of at least {MIN_LEN} random characters on every process{hint})"
        );
    }
    std::fs::create_dir_all(&config.data_dir)?;
    if let Some(existing) = read_existing(&path)? {
        return Ok(existing);
    }
    let secret = kernel::ids::random_token(48);
    if create_once(&config.data_dir, &path, &secret)? {
        tracing::info!(path = %path.display(), "generated {setting}");
        return Ok(secret.into_bytes());
    }
    // Another process created it first: use theirs.
    read_existing(&path)?.ok_or_else(|| anyhow::anyhow!("{} vanished while starting", path.display()))
}

fn read_existing(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    match std::fs::read_to_string(path) {
        Ok(existing) => {
            let existing = existing.trim();
            anyhow::ensure!(existing.len() >= MIN_LEN, "{} is too short; delete it to regenerate", path.display());
            Ok(Some(existing.as_bytes().to_vec()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// Write `content` to `path` (mode 0600) unless it exists, atomically: written to a temporary
/// file, then linked into place, so that no reader sees a partial file and two processes
/// starting together agree on one value. False when `path` already existed.
fn create_once(dir: &Path, path: &Path, content: &str) -> anyhow::Result<bool> {
    let tmp: PathBuf = dir.join(format!(".{}.{}", kernel::ids::random_token(6), std::process::id()));
    let written = write_private(&tmp, content).and_then(|()| match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e.into()),
    });
    let _ = std::fs::remove_file(&tmp);
    written
}

fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(content.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(postgres: bool) -> Config {
        let dir = std::env::temp_dir().join(format!("socle-secrets-{}", kernel::ids::random_token(6)));
        Config {
            data_dir: dir,
            database_url: postgres.then(|| "postgres://nowhere.invalid/db".to_string()),
            ..Config::default()
        }
    }

    #[test]
    fn sqlite_generates_both_once_with_mode_0600() {
        let c = config(false);
        let first = load(&c).expect("generated");
        let again = load(&c).expect("read back");
        assert_eq!(first.jwt, again.jwt);
        assert_eq!(first.secrets, again.secrets);
        assert_ne!(first.jwt, first.secrets, "two independent keys");
        #[cfg(unix)]
        for name in ["jwt_secret", "secrets_key"] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(c.data_dir.join(name)).expect("exists").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        // No temporary file is left behind.
        let files = std::fs::read_dir(&c.data_dir).map(|d| d.count()).unwrap_or_default();
        assert_eq!(files, 2);
        let _ = std::fs::remove_dir_all(&c.data_dir);
    }

    #[test]
    fn postgres_refuses_to_start_without_both_settings() {
        let mut c = config(true);
        let e = load(&c).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("SOCLE_JWT_SECRET") && e.contains("PostgreSQL"), "{e}");
        assert!(!c.data_dir.exists(), "nothing is generated");
        c.jwt_secret = Some("a-cluster-wide-secret-of-at-least-32-chars".into());
        let e = load(&c).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("SOCLE_SECRETS_KEY"), "{e}");
        c.secrets_key = Some("a-cluster-wide-secrets-key-of-32-chars-or-more".into());
        c.jwt_previous_secrets = vec!["short".into()];
        let e = load(&c).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("jwt_previous_secrets"), "{e}");
        c.jwt_previous_secrets = vec!["the-previous-secret-of-at-least-32-chars".into()];
        let keys = load(&c).expect("both set");
        assert_eq!(keys.jwt, b"a-cluster-wide-secret-of-at-least-32-chars");
        assert_eq!(keys.jwt_previous.len(), 1);
        c.secrets_key = Some("too short".into());
        assert!(load(&c).is_err());
    }
}
