//! The test harness: a real server on a random port over a fresh database (a new SQLite file,
//! or a new PostgreSQL schema), a real HTTP client, and helpers that read the emails the
//! server wrote.

use std::path::PathBuf;
use std::time::Duration;

use foundation::FoundationState;
use kernel::{Config, Db};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Run each named scenario `async fn name(app: TestApp)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[test]
            fn sqlite() {
                $crate::support::run_on_workers(async {
                    super::$name($crate::support::TestApp::spawn($crate::support::Backend::Sqlite).await).await
                })
            }
            #[test]
            fn postgres() {
                $crate::support::run_on_workers(async {
                    super::$name($crate::support::TestApp::spawn($crate::support::Backend::Postgres).await).await
                })
            }
        }
    )* };
}

/// How long a test waits for something it expects to happen (an email, a job, an event, a
/// process starting) before it fails. A safety net, not a pace: waits end as soon as what
/// they wait for happens, so a loaded machine makes a test slower, never red.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The value of `check` (a block giving an `Option`, which may await) once it is `Some`,
/// tried every 25 ms for up to [`PATIENCE`]. A macro, not a function taking an async
/// closure: scenarios run as spawned tasks and must stay `Send`, which rustc cannot prove
/// through an async closure that borrows the scenario's locals.
#[macro_export]
macro_rules! eventually {
    ($what:expr, $check:block) => {{
        let deadline = tokio::time::Instant::now() + $crate::support::PATIENCE;
        loop {
            if let Some(found) = async $check.await {
                break found;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!("waited {:?} for {}", $crate::support::PATIENCE, $what);
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }};
}

/// Like `on_both_databases!` for scenarios that build their own app: `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[test]
            fn sqlite() { $crate::support::run_on_workers(super::$name($crate::support::Backend::Sqlite)) }
            #[test]
            fn postgres() { $crate::support::run_on_workers(super::$name($crate::support::Backend::Postgres)) }
        }
    )* };
}

/// Run a scenario as `socle serve` runs requests: on a worker thread of the server's runtime
/// (`kernel::inline_reader::runtime_builder`, whose workers hold their SQLite read
/// transaction between queries) with two workers, so that the scenario's own database calls
/// take the server's paths too.
pub fn run_on_workers<F: std::future::Future<Output = ()> + Send + 'static>(scenario: F) {
    let runtime = kernel::inline_reader::runtime_builder().worker_threads(2).build().expect("a runtime");
    if let Err(e) = runtime.block_on(runtime.spawn(scenario)) {
        std::panic::resume_unwind(e.into_panic());
    }
}

pub fn postgres_base_url() -> String {
    std::env::var("SOCLE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    pub db: Db,
    pub foundation: FoundationState,
    pub backend: Backend,
    /// The database this app runs on, for a second process on the same database.
    pub database_url: Option<String>,
    schema: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    config: Config,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Assert the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        self
    }

    /// Assert a problem+json error naming `field`.
    #[track_caller]
    pub fn expect_field_error(self, status: u16, field: &str) -> Self {
        let s = self.expect(status);
        let errors = s.body["errors"].as_array().cloned().unwrap_or_default();
        assert!(errors.iter().any(|e| e["field"] == field), "expected an error on field {field:?}; body: {}", s.body);
        s
    }
}

/// Email as the server wrote it: headers and a decoded text.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl Email {
    /// The token the email carries (the `...token: XYZ` line).
    pub fn token(&self) -> String {
        self.text
            .lines()
            .find_map(|l| l.split_once("token: ").map(|(_, t)| t.trim().to_string()))
            .unwrap_or_else(|| panic!("no token in email: {}", self.text))
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_with_modules(backend, tweak, &[]).await
    }

    /// An app with test-only modules mounted after the real ones (see `hold`).
    pub async fn spawn_with_modules(
        backend: Backend,
        tweak: impl FnOnce(&mut Config),
        extra: &[&kernel::module::ModuleDef],
    ) -> Self {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let data_dir = std::env::temp_dir().join(format!("socle-test-{id}"));
        let mut config = Config {
            bind: "127.0.0.1:0".into(),
            data_dir: data_dir.clone(),
            public_url: "http://socle.test".into(),
            db_max_connections: 4,
            log_format: "json".into(),
            ..Config::default()
        };
        // Fast hashing in tests; the production parameters are covered by unit tests and benches.
        config
            .update_section("password_hash", |s: &mut foundation::settings::PasswordHashConfig| {
                s.memory_kib = 1024;
                s.iterations = 1;
            })
            .expect("password_hash settings");
        let mut schema = None;
        if backend == Backend::Postgres {
            let name = format!("t_{}", &id[..16]);
            let admin = sqlx::PgPool::connect(&postgres_base_url())
                .await
                .expect("PostgreSQL must be reachable for the postgres tests (SOCLE_TEST_POSTGRES_URL)");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
                .execute(&admin)
                .await
                .expect("create schema");
            admin.close().await;
            let sep = if postgres_base_url().contains('?') { '&' } else { '?' };
            config.database_url = Some(format!("{}{sep}options[search_path]={name}", postgres_base_url()));
            // PostgreSQL takes its keys from the configuration, as an operator sets them.
            config.jwt_secret = Some(kernel::ids::random_token(32));
            config.secrets_key = Some(kernel::ids::random_token(32));
            schema = Some(name);
        }
        tweak(&mut config);
        let database_url = config.database_url.clone();
        let kept = config.clone();
        let app = server::Application::build_with(config, extra).await.expect("build the application");
        let addr = app.local_addr().expect("local addr");
        let db = app.db().clone();
        let foundation = app.service::<foundation::FoundationState>().expect("foundation");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = app
                .run_until(async {
                    let _ = rx.await;
                })
                .await;
        });
        TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client"),
            data_dir,
            db,
            foundation,
            backend,
            database_url,
            schema,
            shutdown: Some(tx),
            server: Some(server),
            config: kept,
        }
    }

    /// Send every later request as a remote client at `ip` would reach the server through a
    /// proxy on its machine (trusted by default, which names the client in
    /// `X-Forwarded-For`): the rate limits that spare local clients apply.
    pub fn as_remote_client(&mut self, ip: &str) {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", ip.parse().expect("an address"));
        self.client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .default_headers(headers)
            .build()
            .expect("client");
    }

    /// Stop the server and start it again on the same database and data folder (a new
    /// port), as an operator's restart would.
    pub async fn restart(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        let app = server::Application::build_with(self.config.clone(), &[]).await.expect("rebuild the application");
        let addr = app.local_addr().expect("local addr");
        self.db = app.db().clone();
        self.foundation = app.service::<foundation::FoundationState>().expect("foundation");
        let (tx, rx) = oneshot::channel::<()>();
        self.server = Some(tokio::spawn(async move {
            let _ = app
                .run_until(async {
                    let _ = rx.await;
                })
                .await;
        }));
        self.shutdown = Some(tx);
        self.base = format!("http://{addr}");
    }

    /// Change the configuration and restart on the same database, as an operator would.
    pub async fn reconfigure(&mut self, tweak: impl FnOnce(&mut Config)) {
        tweak(&mut self.config);
        self.restart().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::read(req.send().await.expect("request")).await
    }

    pub async fn read(resp: reqwest::Response) -> Resp {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Resp { status, body, headers }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::PUT, path, token, Some(body)).await
    }

    /// A multipart/form-data request (uploads).
    pub async fn multipart(&self, path: &str, token: Option<&str>, form: reqwest::multipart::Form) -> Resp {
        let mut req = self.client.post(self.url(path)).multipart(form);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::read(req.send().await.expect("request")).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::DELETE, path, token, None).await
    }

    /// Every email written so far, oldest first.
    pub fn emails(&self) -> Vec<Email> {
        let dir = self.data_dir.join("mail");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files.iter().filter_map(|p| std::fs::read_to_string(p).ok()).map(|raw| parse_email(&raw)).collect()
    }

    /// Wait for an email to `to` whose subject contains `subject`, newest first.
    pub async fn wait_for_email(&self, to: &str, subject: &str) -> Email {
        self.wait_for_nth_email(to, subject, 1).await
    }

    pub fn matching(&self, to: &str, subject: &str) -> Vec<Email> {
        self.emails().into_iter().filter(|m| m.to.contains(to) && m.subject.contains(subject)).collect()
    }

    /// Wait until at least `n` matching emails exist; returns the newest.
    pub async fn wait_for_nth_email(&self, to: &str, subject: &str, n: usize) -> Email {
        let what = || {
            let got: Vec<_> = self.emails().into_iter().map(|m| (m.to, m.subject)).collect();
            format!("email {n} to {to} with subject containing {subject:?}; got {got:?}")
        };
        crate::eventually!(what(), {
            let found = self.matching(to, subject);
            if found.len() >= n { found.into_iter().next_back() } else { None }
        })
    }

    /// Wait until the app has nothing left to do now: every outbox event dispatched, and
    /// every job that is due (queued or retrying with `run_at` passed, or running) finished.
    /// Checked in one statement, so in one snapshot: a job that appends an event, or an
    /// event whose listener enqueues a job, cannot slip between two counts. For the app's
    /// own workers serving every queue (not `role = "api"`, not a reduced `jobs.queues`).
    ///
    /// What a test waits for before checking that something did *not* happen (a webhook not
    /// delivered, a workflow not started): once settled, whatever the change could have
    /// caused has happened, however slow the machine is.
    pub async fn settled(&self) {
        crate::eventually!("the outbox to be dispatched and the due jobs to finish", {
            let pending: i64 = self
                .db
                .scalar(
                    "SELECT (SELECT COUNT(*) FROM outbox WHERE dispatched_at IS NULL AND attempts < $1)
                          + (SELECT COUNT(*) FROM jobs
                             WHERE status = 'running' OR (status IN ('queued', 'failed') AND run_at <= $2))",
                    // A moment ahead: a job enqueued (due at once) between reading the clock
                    // and running the query would otherwise look scheduled for later, and the
                    // work it stands for as done.
                    kernel::args![
                        kernel::outbox::MAX_DISPATCH_ATTEMPTS,
                        kernel::time::now() + time::Duration::milliseconds(250)
                    ],
                )
                .await
                .expect("count pending work");
            (pending == 0).then_some(())
        })
    }

    /// Register, activate by email and sign in; returns the session.
    pub async fn signup(&self, email: &str) -> Session {
        let before = self.matching(email, "Activate").len();
        self.post(
            "/api/v1/foundation/auth/register",
            None,
            json!({"email": email, "password": PASSWORD, "first_name": "Test", "last_name": "Person"}),
        )
        .await
        .expect(202);
        let token = self.wait_for_nth_email(email, "Activate", before + 1).await.token();
        self.post("/api/v1/foundation/auth/activate", None, json!({"token": token})).await.expect(200);
        self.login(email, PASSWORD).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Session {
        let r = self
            .post("/api/v1/foundation/auth/login", None, json!({"email": email, "password": password}))
            .await
            .expect(200);
        Session {
            access: r.body["access_token"].as_str().expect("access_token").to_string(),
            refresh: r.body["refresh_token"].as_str().expect("refresh_token").to_string(),
            user_id: r.body["user"]["id"].as_str().expect("user id").to_string(),
            email: email.to_string(),
        }
    }

    /// A platform administrator, created the way `socle superuser create` does.
    pub async fn admin(&self, email: &str) -> Session {
        foundation::accounts::service::create_superuser(&self.foundation, email, PASSWORD).await.expect("create admin");
        self.login(email, PASSWORD).await
    }

    /// Create an organization owned by `owner`; returns its id.
    pub async fn organization(&self, owner: &Session, name: &str) -> String {
        let r =
            self.post("/api/v1/foundation/organizations", Some(&owner.access), json!({"name": name})).await.expect(201);
        r.body["id"].as_str().expect("org id").to_string()
    }

    /// Invite `member` into `org` with `role` and accept as them.
    pub async fn add_member(&self, org: &str, by: &Session, member: &Session, role: &str) {
        let before = self.matching(&member.email, "invited").len();
        self.post(
            &format!("/api/v1/foundation/organizations/{org}/invitations"),
            Some(&by.access),
            json!({"email": member.email, "role": role}),
        )
        .await
        .expect(201);
        let token = self.wait_for_nth_email(&member.email, "invited", before + 1).await.token();
        self.post("/api/v1/foundation/organizations/invitations/accept", Some(&member.access), json!({"token": token}))
            .await
            .expect(200);
    }

    /// Audit actions recorded so far, oldest first (read straight from storage).
    pub async fn audit_actions(&self) -> Vec<String> {
        let rows: Vec<(String,)> =
            self.db.fetch_all("SELECT action FROM audit_log ORDER BY created_at, id", vec![]).await.expect("audit");
        rows.into_iter().map(|(a,)| a).collect()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some(schema) = self.schema.take() {
            // Drop the schema from a separate thread: Drop cannot await. Waited for off the
            // runtime's worker (block_in_place), so that the app's tasks and connections still
            // run meanwhile and do not hold the locks DROP SCHEMA waits for.
            let drop_schema = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                rt.block_on(async move {
                    if let Ok(pool) = sqlx::PgPool::connect(&postgres_base_url()).await {
                        // Projects and apps keep their tables in schemas of their own.
                        let mut namespaces: Vec<(String,)> = Vec::new();
                        for table in ["studio_projects", "runtime_apps"] {
                            let found: Vec<(String,)> =
                                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT namespace FROM {schema}.{table}")))
                                    .fetch_all(&pool)
                                    .await
                                    .unwrap_or_default();
                            namespaces.extend(found);
                        }
                        for (ns,) in namespaces {
                            let _ =
                                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{ns}\" CASCADE")))
                                    .execute(&pool)
                                    .await;
                        }
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")))
                            .execute(&pool)
                            .await;
                        pool.close().await;
                    }
                });
            });
            let on_worker = tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
            if on_worker {
                let _ = tokio::task::block_in_place(|| drop_schema.join());
            } else {
                let _ = drop_schema.join();
            }
        }
    }
}

pub const PASSWORD: &str = "Correct-Horse-9-battery";

#[derive(Debug, Clone)]
pub struct Session {
    pub access: String,
    pub refresh: String,
    pub user_id: String,
    pub email: String,
}

pub fn parse_email(raw: &str) -> Email {
    let header =
        |name: &str| raw.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string()).unwrap_or_default();
    // Undo quoted-printable soft line breaks and the escapes that matter for tokens and URLs.
    let decoded = raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=").replace("=20", " ");
    let mut text = decoded.clone();
    // Base64 parts: decode each block of base64 lines.
    use base64::Engine;
    for block in decoded.split("\r\n\r\n") {
        let joined: String = block.lines().take_while(|l| !l.starts_with("--")).collect();
        if joined.len() > 40
            && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(joined.trim())
        {
            text.push('\n');
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    Email { to: header("To: "), subject: header("Subject: "), text }
}

/// A local S3-compatible store (moto, from PyPI; `scripts/test` installs it) with `bucket`
/// created: its endpoint, and the process (killed when dropped).
pub async fn start_moto(bucket: &str) -> (String, tokio::process::Child) {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
    let moto = tokio::process::Command::new("python3")
        .args(["-m", "moto.server", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("moto runs (pip install 'moto[server]'; scripts/test does)");
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    crate::eventually!("moto to start and create the bucket", {
        client.put(format!("{endpoint}/{bucket}")).send().await.is_ok_and(|r| r.status().is_success()).then_some(())
    });
    (endpoint, moto)
}

/// A WebSocket client as the tests open it.
pub type WsStream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Read `ws` for `wait` (answering pings, as a client reading does); how many pings came.
/// Panics if the stream ends meanwhile.
pub async fn pings_while_reading(ws: &mut WsStream, wait: Duration) -> usize {
    use futures_util::StreamExt;
    let mut pings = 0;
    let until = tokio::time::Instant::now() + wait;
    while let Ok(message) = tokio::time::timeout_at(until, ws.next()).await {
        match message {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Ping(_))) => pings += 1,
            Some(Ok(_)) => {}
            other => panic!("the reading client was dropped: {other:?}"),
        }
    }
    pings
}

/// Read `ws` until it ends (a close frame, the end of the stream or an error); panics if it
/// does not within [`PATIENCE`].
pub async fn until_it_ends(ws: &mut WsStream) {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await.expect("the stream to end") {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) | None | Some(Err(_)) => return,
            Some(Ok(_)) => continue,
        }
    }
}
