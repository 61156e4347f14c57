//! Typed, layered configuration: defaults, then `socle.toml`, then `SOCLE_*` environment
//! variables (nested keys with `__`, e.g. `SOCLE_RATE_LIMIT__GLOBAL_PER_MINUTE`), then the
//! conventional unprefixed variables `DATABASE_URL` and `SMTP_URL`.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP server binds.
    pub bind: String,
    /// Where SQLite, the JWT secret and the mail folder live.
    pub data_dir: PathBuf,
    /// `postgres://...` to use PostgreSQL; unset for embedded SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Maximum pooled database connections: PostgreSQL's pool; on SQLite, the read
    /// connections, at most four per core (at least 8), as more only add memory.
    pub db_max_connections: u32,
    /// SQLite: how long, in milliseconds, a runtime thread may answer reads from the read
    /// transaction it holds while this process commits nothing (see
    /// `kernel::inline_reader`): the most a write by another process sharing the file goes
    /// unseen. 0: every read starts its own transaction.
    pub db_held_read_ms: u64,
    /// The URL users reach this server at; used in links sent by email.
    pub public_url: String,
    /// HS256 signing secret for access tokens. Generated into the data dir when unset on
    /// SQLite; required on PostgreSQL (see `server::secrets`).
    pub jwt_secret: Option<String>,
    /// Earlier signing secrets, accepted when verifying tokens and never used to sign: a
    /// rotation keeps issued tokens valid until they expire. A list, or one string with
    /// comma-separated values (`SOCLE_JWT_PREVIOUS_SECRETS=old1,old2`).
    #[serde(deserialize_with = "string_or_list")]
    pub jwt_previous_secrets: Vec<String>,
    /// Encrypts workflow secrets at rest. Generated into the data dir when unset on SQLite;
    /// required on PostgreSQL.
    pub secrets_key: Option<String>,
    /// Earlier secrets keys, accepted when decrypting; values are re-encrypted under
    /// `secrets_key` at start and on write.
    #[serde(deserialize_with = "string_or_list")]
    pub secrets_previous_keys: Vec<String>,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    /// `smtp://user:pass@host:587` (STARTTLS), `smtps://...` (TLS) or `smtp://host:25?tls=none`.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Origins allowed by CORS. Empty: no cross-origin browser access. A list, or one
    /// comma-separated string (`SOCLE_CORS_ALLOWED_ORIGINS=https://a.example,https://b.example`).
    #[serde(deserialize_with = "string_or_list")]
    pub cors_allowed_origins: Vec<String>,
    pub body_limit_bytes: usize,
    /// Largest request to an app's API (file uploads); the platform API keeps `body_limit_bytes`.
    pub upload_limit_bytes: usize,
    pub request_timeout_secs: u64,
    /// How long a connection has to send a request's headers, counted from when the server
    /// waits for them (an idle keep-alive connection too); then it is closed. 0: no limit.
    pub header_read_timeout_secs: u64,
    /// Addresses or CIDR blocks of your reverse proxies. Only connections from them may set
    /// the client address (`X-Forwarded-For`, read from the right) and `X-Forwarded-Proto`.
    /// A list, or one comma-separated string (`SOCLE_TRUSTED_PROXIES=10.0.0.0/8,192.168.1.2`);
    /// by default the loopback addresses (a proxy on the same machine).
    #[serde(deserialize_with = "string_or_list")]
    pub trusted_proxies: Vec<String>,
    /// `json` (default) or `pretty`.
    pub log_format: String,
    pub rate_limit: RateLimitConfig,
    /// S3-compatible storage for apps' files; off (local disk) while `bucket` is empty.
    pub s3: S3Config,
    /// What `socle serve` runs: `all` (default), or one of `api`, `worker`, `scheduler`
    /// (comma-separated to combine), so that each can be scaled separately.
    pub role: String,
    pub jobs: JobsConfig,
    /// Where the modules' own sections (`[automation]`, `[security]`, ...) are read from:
    /// the same layers as the shared settings above. See [`Config::section`].
    #[serde(skip)]
    pub sources: Figment,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct JobsConfig {
    /// Jobs one worker runs at the same time.
    pub concurrency: usize,
    /// How often an idle worker looks for due jobs written by other processes (ms).
    pub poll_ms: u64,
    /// The queues this process's worker takes jobs from (all when empty), so that a
    /// deployment can dedicate workers to `email`, `webhooks`, `workflows`...
    pub queues: Vec<String>,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self { concurrency: 8, poll_ms: 500, queues: Vec::new() }
    }
}

impl Config {
    /// Whether this process runs `role` (`api`, `worker` or `scheduler`).
    pub fn runs(&self, role: &str) -> bool {
        self.role.split(',').map(str::trim).any(|r| r == "all" || r == role)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Config {
    /// `https://s3.eu-west-3.amazonaws.com`, `http://127.0.0.1:9000` (MinIO), ...
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    /// `endpoint/bucket/key` (MinIO, most self-hosted stores) rather than `bucket.endpoint/key`.
    pub path_style: bool,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            endpoint: "https://s3.amazonaws.com".into(),
            region: "us-east-1".into(),
            bucket: String::new(),
            access_key: String::new(),
            secret_key: String::new(),
            path_style: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    /// Requests per minute per client IP, across the whole API. 0 disables.
    pub global_per_minute: u32,
    /// Burst above the steady rate.
    pub global_burst: u32,
    /// Failed logins allowed per hour, per account and per IP, before 429.
    pub login_failures_per_hour: u32,
    /// Password-reset requests allowed per hour, per account and per IP, before 429.
    pub password_reset_per_hour: u32,
    /// Registrations allowed per hour per IP.
    pub register_per_hour: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./socle_data"),
            database_url: None,
            db_max_connections: 16,
            db_held_read_ms: 1,
            public_url: "http://127.0.0.1:8080".into(),
            jwt_secret: None,
            jwt_previous_secrets: Vec::new(),
            secrets_key: None,
            secrets_previous_keys: Vec::new(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            smtp_url: None,
            mail_from: "Socle <no-reply@localhost>".into(),
            cors_allowed_origins: Vec::new(),
            body_limit_bytes: 2 * 1024 * 1024,
            upload_limit_bytes: 32 * 1024 * 1024,
            request_timeout_secs: 30,
            header_read_timeout_secs: 30,
            // A proxy on the same machine (nginx, Caddy) is trusted to name the client.
            trusted_proxies: vec!["127.0.0.0/8".into(), "::1".into()],
            log_format: "json".into(),
            rate_limit: RateLimitConfig::default(),
            s3: S3Config::default(),
            role: "all".into(),
            jobs: JobsConfig::default(),
            sources: Figment::new(),
        }
    }
}

/// A list, or a string of comma-separated values (as environment variables give it).
fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect(),
        OneOrMany::Many(v) => v.into_iter().filter(|s| !s.trim().is_empty()).collect(),
    })
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            global_per_minute: 6000,
            global_burst: 1000,
            login_failures_per_hour: 5,
            password_reset_per_hour: 5,
            register_per_hour: 30,
        }
    }
}

impl Config {
    /// Load from defaults, the TOML file (if it exists) and the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let file = file.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("socle.toml"));
        let mut figment = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("SOCLE_").split("__"));
        if let Ok(url) = std::env::var("DATABASE_URL")
            && !url.is_empty()
        {
            figment = figment.merge(Serialized::default("database_url", url));
        }
        if let Ok(url) = std::env::var("SMTP_URL")
            && !url.is_empty()
        {
            figment = figment.merge(Serialized::default("smtp_url", url));
        }
        let mut config: Config = figment.extract().map_err(Box::new)?;
        config.sources = figment;
        Ok(config)
    }

    /// A module's own settings: the `[name]` section, with `T::default()` for what is unset.
    pub fn section<T: Serialize + DeserializeOwned + Default>(&self, name: &str) -> anyhow::Result<T> {
        Figment::from(Serialized::defaults(T::default()))
            .merge(self.sources.focus(name))
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid [{name}] settings: {e}"))
    }

    /// Change a module's section (tools and tests; operators use the file or environment).
    pub fn update_section<T: Serialize + DeserializeOwned + Default>(
        &mut self,
        name: &str,
        change: impl FnOnce(&mut T),
    ) -> anyhow::Result<()> {
        let mut section: T = self.section(name)?;
        change(&mut section);
        self.sources = std::mem::take(&mut self.sources).merge(Serialized::default(name, section));
        Ok(())
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.as_deref().is_some_and(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_keeps_the_rest() {
        let dir = std::env::temp_dir().join(format!("socle-config-{}", crate::ids::random_token(6)));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("socle.toml");
        std::fs::write(
            &file,
            "bind = \"0.0.0.0:9000\"\n[rate_limit]\nlogin_failures_per_hour = 9\n[widgets]\ncolour = \"blue\"\n",
        )
        .expect("write");
        let config = Config::load(Some(&file)).expect("load");
        assert_eq!(config.bind, "0.0.0.0:9000");
        assert_eq!(config.rate_limit.login_failures_per_hour, 9);
        assert_eq!(config.rate_limit.password_reset_per_hour, 5, "unset keys keep their default");
        let widgets: Widgets = config.section("widgets").expect("section");
        assert_eq!(widgets, Widgets { colour: "blue".into(), size: 3 }, "a module's section, defaults for the rest");
        let absent: Widgets = config.section("gadgets").expect("absent section");
        assert_eq!(absent, Widgets::default());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct Widgets {
        colour: String,
        size: u32,
    }

    impl Default for Widgets {
        fn default() -> Self {
            Widgets { colour: "red".into(), size: 3 }
        }
    }

    #[test]
    fn a_section_can_be_changed_in_code() {
        let mut config = Config::default();
        config.update_section("widgets", |w: &mut Widgets| w.size = 7).expect("update");
        config.update_section("widgets", |w: &mut Widgets| w.colour = "green".into()).expect("update");
        let widgets: Widgets = config.section("widgets").expect("section");
        assert_eq!(widgets, Widgets { colour: "green".into(), size: 7 });
    }

    #[test]
    fn a_missing_file_means_defaults() {
        let config = Config::load(Some(Path::new("/nonexistent/socle.toml"))).expect("load");
        assert_eq!(config.data_dir, PathBuf::from("./socle_data"));
        assert!(!config.is_postgres() || std::env::var("DATABASE_URL").is_ok());
    }

    #[test]
    fn the_example_file_is_valid() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../socle.example.toml");
        let config = Config::load(Some(&example)).expect("example parses");
        assert_eq!(config.cors_allowed_origins, vec!["https://app.example.com".to_string()]);
    }

    #[test]
    fn list_settings_are_a_list_or_a_comma_separated_string() {
        let parse = |toml: &str| -> Config {
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml)).extract().expect("parses")
        };
        let c = parse("jwt_previous_secrets = \"old-one, old-two\"\nsecrets_previous_keys = [\"k1\", \"k2\"]");
        assert_eq!(c.jwt_previous_secrets, vec!["old-one".to_string(), "old-two".to_string()]);
        assert_eq!(c.secrets_previous_keys, vec!["k1".to_string(), "k2".to_string()]);
        assert!(parse("").jwt_previous_secrets.is_empty());
        // The lists users set from the environment read the same way.
        let c =
            parse("cors_allowed_origins = \"https://a.example, https://b.example\"\ntrusted_proxies = \"10.0.0.0/8\"");
        assert_eq!(c.cors_allowed_origins, vec!["https://a.example".to_string(), "https://b.example".to_string()]);
        assert_eq!(c.trusted_proxies, vec!["10.0.0.0/8".to_string()]);
        assert_eq!(parse("cors_allowed_origins = [\"https://a.example\"]").cors_allowed_origins.len(), 1);
    }
}
