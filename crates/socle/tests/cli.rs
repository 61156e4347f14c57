//! The `socle` binary end to end: migrate, create an administrator from standard input,
//! serve, sign in over HTTP, log JSON with request ids, stop gracefully on SIGTERM. On
//! SQLite and on PostgreSQL.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a test waits for something it expects (a log line, an event, an exit) before it
/// fails: a safety net, not a pace. Each wait ends as soon as what it waits for happens.
const PATIENCE: Duration = Duration::from_secs(30);

/// Lines from `lines` until `deadline`.
fn lines_until(lines: &std::sync::mpsc::Receiver<String>, deadline: Instant) -> impl Iterator<Item = String> + '_ {
    std::iter::from_fn(move || lines.recv_timeout(deadline.saturating_duration_since(Instant::now())).ok())
}

fn postgres_base_url() -> String {
    std::env::var("SOCLE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

struct Env {
    data_dir: PathBuf,
    database_url: Option<String>,
}

/// On PostgreSQL every process is given the same keys, as an operator does.
const JWT_SECRET: &str = "a-cluster-wide-secret-of-at-least-32-chars";
const SECRETS_KEY: &str = "a-cluster-wide-secrets-key-of-32-chars-or-more";

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
            cmd.env("DATABASE_URL", url).env("SOCLE_JWT_SECRET", JWT_SECRET).env("SOCLE_SECRETS_KEY", SECRETS_KEY);
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
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    if postgres {
        // Processes sharing PostgreSQL share no data dir: without the keys, a process refuses
        // to start rather than sign tokens the others reject.
        let refused = env.command(&["serve", "--bind", "127.0.0.1:0"]).env_remove("SOCLE_JWT_SECRET").output();
        let refused = refused.expect("serve");
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("SOCLE_JWT_SECRET must be set"));
        let refused = env.command(&["serve", "--bind", "127.0.0.1:0"]).env_remove("SOCLE_SECRETS_KEY").output();
        let refused = refused.expect("serve");
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("SOCLE_SECRETS_KEY must be set"));
        assert!(!env.data_dir.join("jwt_secret").exists() && !env.data_dir.join("secrets_key").exists());
    } else {
        // The signing secret and the secrets key were generated into the data dir, readable
        // by the owner only.
        for name in ["jwt_secret", "secrets_key"] {
            let secret = env.data_dir.join(name);
            let mode = std::fs::metadata(&secret).expect("the key file exists").permissions();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                assert_eq!(mode.mode() & 0o777, 0o600);
            }
            #[cfg(not(unix))]
            let _ = mode;
            assert!(std::fs::read_to_string(&secret).expect("read").trim().len() >= 32);
        }
    }
    let rotate = env.command(&["secrets", "rotate"]).output().expect("secrets rotate");
    assert!(rotate.status.success(), "{}", String::from_utf8_lossy(&rotate.stderr));
    assert!(String::from_utf8_lossy(&rotate.stdout).contains("0 unreadable"));
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
    for line in lines_until(&lines_rx, Instant::now() + PATIENCE) {
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

    // The seeds' paths end with a slash: the same endpoint answers.
    let slashed = client
        .post(format!("http://{address}/api/v1/foundation/auth/login/"))
        .header("x-request-id", "cli-test-2")
        .json(&serde_json::json!({"email": "root@example.com", "password": "Strong-Admin-Password-1"}))
        .send()
        .await
        .expect("login with a trailing slash");
    assert_eq!(slashed.status(), 200);

    // One access log line per request, JSON, with the request id, the path as routed and
    // the status (written by the log thread, not by the request).
    let mut logged = Vec::new();
    for line in lines_until(&lines_rx, Instant::now() + PATIENCE) {
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("JSON: {line}"));
        if entry["message"] == "request" && entry["request_id"].as_str().is_some_and(|id| id.starts_with("cli-test-")) {
            assert_eq!(entry["level"], "INFO");
            assert_eq!(entry["method"], "POST");
            assert_eq!(entry["path"], "/api/v1/foundation/auth/login", "{line}");
            assert_eq!(entry["status"], 200);
            assert!(entry["latency_ms"].as_f64().is_some(), "{line}");
            assert!(entry["timestamp"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 27), "{line}");
            logged.push(entry["request_id"].as_str().unwrap_or_default().to_string());
            if logged.len() == 2 {
                break;
            }
        }
    }
    assert_eq!(logged, ["cli-test-1", "cli-test-2"], "an access log line per request, with its id");

    // Lines the log writer had to drop are counted.
    let metrics = client.get(format!("http://{address}/metrics")).send().await.expect("metrics");
    let metrics = metrics.text().await.expect("text");
    assert!(metrics.contains("# HELP socle_log_lines_dropped_total"), "{metrics}");
    assert!(metrics.contains("socle_log_lines_dropped_total 0"), "{metrics}");

    let pid = server.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + PATIENCE;
    while server.try_wait().expect("wait").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stopped = server.try_wait().expect("wait").is_some();
    if !stopped {
        let _ = server.kill();
    }
    let status = server.wait().expect("wait");
    assert!(stopped, "the server stopped after SIGTERM");
    assert!(status.success(), "graceful exit: {status:?}");
    // The lines queued at exit were written out.
    let last: Vec<String> = std::iter::from_fn(|| lines_rx.recv_timeout(Duration::from_secs(5)).ok()).collect();
    assert!(last.iter().any(|l| l.contains("HTTP server stopped")), "the log was flushed at exit: {last:?}");
    let _ = std::fs::remove_dir_all(&env.data_dir);
    env.drop_schemas().await;
}

#[tokio::test]
async fn binary_end_to_end_sqlite() {
    binary_end_to_end(false).await;
}

#[tokio::test]
async fn binary_end_to_end_postgres() {
    binary_end_to_end(true).await;
}

/// `socle serve` raises its soft limit of open files to the hard one, as Go's runtime does
/// for PocketBase: each connection, WebSocket and SSE stream is a file, and the usual default
/// soft limit (1,024) would refuse clients past about a thousand.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn serve_raises_its_open_files_limit() {
    let env = Env::new(false).await;
    let serve = env.command(&["serve", "--bind", "127.0.0.1:0"]);
    // The same command, started by a shell that lowers the soft limit first.
    let mut shell = Command::new("sh");
    shell.args(["-c", "ulimit -Sn 256 && exec \"$0\" \"$@\""]).arg(serve.get_program()).args(serve.get_args());
    for (key, value) in serve.get_envs() {
        match value {
            Some(value) => shell.env(key, value),
            None => shell.env_remove(key),
        };
    }
    shell.current_dir(std::env::temp_dir());
    let (mut server, _address, _log) = spawn_server(shell);
    let open_files = |pid: &str| {
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
        let line = limits.lines().find(|l| l.starts_with("Max open files")).expect("a line of open files").to_string();
        let numbers: Vec<String> = line.split_whitespace().skip(3).take(2).map(str::to_string).collect();
        (numbers[0].clone(), numbers[1].clone())
    };
    let (soft, hard) = open_files(&server.id().to_string());
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(hard, open_files("self").1, "the hard limit is the one the server inherited");
    assert_eq!(soft, hard, "the soft limit was raised from 256 to the hard limit");
}

/// Start `socle serve` and wait for the address it announces.
/// A started server's log: the lines read before its address, then the rest as they come.
struct ServerLog {
    early: Vec<String>,
    rest: std::sync::mpsc::Receiver<String>,
}

impl ServerLog {
    /// Whether a line containing `needle` was or is logged (waiting up to [`PATIENCE`]).
    fn wait_for(&self, needle: &str) -> bool {
        self.early.iter().any(|l| l.contains(needle))
            || lines_until(&self.rest, Instant::now() + PATIENCE).any(|l| l.contains(needle))
    }
}

/// Start a server; returns it, its address and its log.
fn spawn_server(mut cmd: Command) -> (std::process::Child, String, ServerLog) {
    let mut server = cmd.env("RUST_LOG", "info").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("serve");
    let stderr = server.stderr.take().expect("stderr");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        // Keep draining after the address is found: a closed pipe would fail the server's logging.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut early = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while let Ok(line) = lines_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or(serde_json::Value::Null);
        if entry["message"] == "Socle is listening"
            && let Some(address) = entry["address"].as_str()
        {
            return (server, address.to_string(), ServerLog { early, rest: lines_rx });
        }
        early.push(line);
    }
    let _ = server.kill();
    let _ = server.wait();
    panic!("the server did not announce its address");
}

/// Two `socle serve` processes on one PostgreSQL database, as behind a load balancer: a
/// realtime subscriber connected to the second receives a record created through the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_realtime_events() {
    use serde_json::{Value, json};
    let env = Env::new(true).await;
    let secret = "a-cluster-wide-secret-of-at-least-32-chars";
    let start = |dir: &str| {
        let mut cmd = env.command(&["serve", "--bind", "127.0.0.1:0"]);
        cmd.env("SOCLE_DATA_DIR", env.data_dir.join(dir))
            .env("SOCLE_JWT_SECRET", secret)
            .env("SOCLE_SECURITY__REQUIRE_EMAIL_ACTIVATION", "false");
        spawn_server(cmd)
    };
    let (mut a, addr_a, a_log) = start("a");
    let (mut b, addr_b, b_log) = start("b");
    // Each process says when it hears the database's realtime notifications: B must before A
    // writes, or the event is published to no one. Waited for, not assumed from time.
    for (name, log) in [("A", &a_log), ("B", &b_log)] {
        assert!(
            log.wait_for("realtime listener is ready"),
            "process {name} never started listening for realtime events"
        );
    }
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, url: String, token: Option<String>, body: Value| {
        let client = client.clone();
        async move {
            let mut req = client.request(method, url).json(&body);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.expect("request");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let a_url = |p: &str| format!("http://{addr_a}{p}");
    let post = reqwest::Method::POST;
    call(post.clone(), a_url("/api/v1/foundation/auth/register"), None,
        json!({"email": "builder@cluster.example", "password": "Cluster-Password-1", "first_name": "B", "last_name": "C"})).await;
    let (_, login) = call(
        post.clone(),
        a_url("/api/v1/foundation/auth/login"),
        None,
        json!({"email": "builder@cluster.example", "password": "Cluster-Password-1"}),
    )
    .await;
    let token = login["access_token"].as_str().map(String::from);
    assert!(token.is_some(), "login: {login}");
    let (_, org) =
        call(post.clone(), a_url("/api/v1/foundation/organizations"), token.clone(), json!({"name": "Cluster"})).await;
    let (_, project) = call(
        post.clone(),
        a_url("/api/v1/studio/projects"),
        token.clone(),
        json!({"organization_id": org["id"], "name": "P"}),
    )
    .await;
    let project_id = project["id"].as_str().unwrap_or_default().to_string();
    let (status, _) = call(post.clone(), a_url(&format!("/api/v1/studio/projects/{project_id}/collections")), token.clone(),
        json!({"name": "posts", "fields": [{"name": "title", "type": "text"}], "listRule": "", "viewRule": "", "createRule": ""})).await;
    assert_eq!(status, 201);
    let (_, app) = call(
        post.clone(),
        a_url("/api/v1/runtime/apps"),
        token.clone(),
        json!({"project_id": project_id, "slug": "cluster", "name": "C"}),
    )
    .await;
    let (status, _) = call(
        post.clone(),
        a_url(&format!("/api/v1/runtime/apps/{}/deploy", app["id"].as_str().unwrap_or_default())),
        token.clone(),
        json!({}),
    )
    .await;
    assert_eq!(status, 201);

    // Subscribe on B.
    let mut sse = client.get(format!("http://{addr_b}/apps/cluster/api/realtime")).send().await.expect("sse");
    let mut buffer = String::new();
    let mut next_event = async || -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                let name = frame.lines().find_map(|l| l.strip_prefix("event:")).map(|s| s.trim().to_string());
                let data = frame.lines().find_map(|l| l.strip_prefix("data:")).map(|s| s.trim().to_string());
                if let (Some(name), Some(data)) = (name, data) {
                    return Some((name, serde_json::from_str(&data).unwrap_or(Value::Null)));
                }
                continue;
            }
            match tokio::time::timeout_at(deadline, sse.chunk()).await {
                Ok(Ok(Some(bytes))) => buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    };
    let (name, hello) = next_event().await.expect("PB_CONNECT");
    assert_eq!(name, "PB_CONNECT");
    let (status, _) = call(
        post.clone(),
        format!("http://{addr_b}/apps/cluster/api/realtime"),
        None,
        json!({"clientId": hello["clientId"], "subscriptions": ["posts/*"]}),
    )
    .await;
    assert_eq!(status, 204);
    // Write through A.
    let (status, _) =
        call(post.clone(), a_url("/apps/cluster/api/collections/posts/records"), None, json!({"title": "From A"}))
            .await;
    assert_eq!(status, 200);
    let (name, event) = next_event().await.expect("the event reached process B");
    assert_eq!(name, "posts/*");
    assert_eq!(event["record"]["title"], "From A");
    let _ = a.kill();
    let _ = b.kill();
    let _ = a.wait();
    let _ = b.wait();
    let _ = std::fs::remove_dir_all(&env.data_dir);
    env.drop_schemas().await;
}

impl Env {
    /// Drop the test schema, and the schemas of the projects and apps made in it.
    async fn drop_schemas(&self) {
        let Some(schema) = self.database_url.as_deref().and_then(|u| u.split("search_path]=").nth(1)) else { return };
        let Ok(pool) = sqlx::PgPool::connect(&postgres_base_url()).await else { return };
        for table in ["studio_projects", "runtime_apps"] {
            let rows: Vec<(String,)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT namespace FROM {schema}.{table}")))
                    .fetch_all(&pool)
                    .await
                    .unwrap_or_default();
            for (ns,) in rows {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{ns}\" CASCADE")))
                    .execute(&pool)
                    .await;
            }
        }
        let _ =
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(&pool).await;
        pool.close().await;
    }
}
