//! The `socle` binary end to end: migrate, create an administrator from standard input,
//! serve, sign in over HTTP, log JSON with request ids, stop gracefully on SIGTERM. On
//! SQLite and on PostgreSQL.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

fn postgres_base_url() -> String {
    std::env::var("SOCLE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

struct Env {
    data_dir: PathBuf,
    database_url: Option<String>,
}

impl Env {
    async fn new(postgres: bool) -> Env {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let data_dir = std::env::temp_dir().join(format!("socle-cli-{id}"));
        let database_url = if postgres {
            let schema = format!("cli_{}", &id[..12]);
            let pool = sqlx::PgPool::connect(&postgres_base_url()).await.expect("PostgreSQL for the CLI test");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&pool).await.expect("schema");
            pool.close().await;
            let sep = if postgres_base_url().contains('?') { '&' } else { '?' };
            Some(format!("{}{sep}options[search_path]={schema}", postgres_base_url()))
        } else {
            None
        };
        Env { data_dir, database_url }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_socle"));
        cmd.args(args)
            .env("SOCLE_DATA_DIR", &self.data_dir)
            .env("SOCLE_PASSWORD_HASH__MEMORY_KIB", "1024")
            .env("SOCLE_PASSWORD_HASH__ITERATIONS", "1")
            .env_remove("DATABASE_URL")
            .env_remove("SOCLE_CONFIG")
            .current_dir(std::env::temp_dir());
        if let Some(url) = &self.database_url {
            cmd.env("DATABASE_URL", url);
        }
        cmd
    }

    fn superuser(&self, email: &str, password: &str) -> std::process::Output {
        let mut child = self
            .command(&["superuser", "create", "--email", email, "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(format!("{password}\n").as_bytes()).expect("write password");
        }
        child.wait_with_output().expect("wait")
    }
}

async fn binary_end_to_end(postgres: bool) {
    let env = Env::new(postgres).await;
    let migrate = env.command(&["migrate"]).output().expect("migrate");
    assert!(migrate.status.success(), "migrate failed: {}", String::from_utf8_lossy(&migrate.stderr));
    if !postgres {
        assert!(env.data_dir.join("socle.db").exists());
    }

    let weak = env.superuser("root@example.com", "weak");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));
    let ok = env.superuser("root@example.com", "Strong-Admin-Password-1");
    // The signing secret was generated into the data dir, readable by the owner only.
    let secret = env.data_dir.join("jwt_secret");
    let mode = std::fs::metadata(&secret).expect("jwt_secret exists").permissions();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
    }
    #[cfg(not(unix))]
    let _ = mode;
    assert!(std::fs::read_to_string(&secret).expect("read").trim().len() >= 32);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("root@example.com"));

    let mut server = env
        .command(&["serve", "--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let stderr = server.stderr.take().expect("stderr");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut address = None;
    while let Ok(line) = lines_rx.recv_timeout(Duration::from_secs(30)) {
        let entry: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("log lines are JSON: {line}"));
        if entry["message"] == "Socle is listening" {
            address = entry["address"].as_str().map(String::from);
            break;
        }
    }
    let address = address.expect("the server announced its address");
    let client = reqwest::Client::new();
    let login = client
        .post(format!("http://{address}/api/v1/foundation/auth/login"))
        .header("x-request-id", "cli-test-1")
        .json(&serde_json::json!({"email": "root@example.com", "password": "Strong-Admin-Password-1"}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let body: serde_json::Value = login.json().await.expect("json");
    assert_eq!(body["user"]["role"], "admin");

    // The access log line carries the request id.
    let mut logged = false;
    while let Ok(line) = lines_rx.recv_timeout(Duration::from_secs(5)) {
        if line.contains("cli-test-1") && line.contains("\"status\":200") {
            logged = true;
            break;
        }
    }
    assert!(logged, "an access log line with the request id");

    let pid = server.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = server.try_wait().expect("wait") {
            exited = Some(status);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = exited.expect("the server stopped after SIGTERM");
    assert!(status.success(), "graceful exit: {status:?}");
    let _ = std::fs::remove_dir_all(&env.data_dir);
}

#[tokio::test]
async fn binary_end_to_end_sqlite() {
    binary_end_to_end(false).await;
}

#[tokio::test]
async fn binary_end_to_end_postgres() {
    binary_end_to_end(true).await;
}
