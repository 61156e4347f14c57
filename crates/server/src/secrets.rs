//! The JWT signing secret: from configuration, or generated once into the data dir with
//! mode 0600.

use std::io::Write;
use std::path::Path;

use kernel::Config;

pub fn jwt_secret(config: &Config) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = config.jwt_secret.as_deref().filter(|s| !s.is_empty()) {
        anyhow::ensure!(secret.len() >= 32, "jwt_secret must be at least 32 characters");
        return Ok(secret.as_bytes().to_vec());
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let path = config.data_dir.join("jwt_secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_string();
        anyhow::ensure!(existing.len() >= 32, "{} is too short; delete it to regenerate", path.display());
        return Ok(existing.into_bytes());
    }
    let secret = kernel::ids::random_token(48);
    write_private(&path, &secret)?;
    tracing::info!(path = %path.display(), "generated a new JWT signing secret");
    if config.is_postgres() {
        tracing::warn!(
            "the JWT secret was generated into this process's data dir: other processes serving the same \
             PostgreSQL database will not accept its tokens; set SOCLE_JWT_SECRET on every process"
        );
    }
    Ok(secret.into_bytes())
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
