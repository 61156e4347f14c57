//! The database handle: embedded SQLite (default) or PostgreSQL, behind one small API.
//!
//! Queries are written once, with `$1`-style placeholders that both engines accept, and run
//! through [`Db`] (auto-commit) or [`Tx`] (one transaction). Values are always bound
//! parameters ([`Arg`]); times are bound so that SQLite text compares like time.
//!
//! SQLite gets two sqlx pools (many readers, one writer connection) and two paths that skip
//! sqlx's thread per connection: [`Db::fetch_texts`] and [`Db::count`] read on the calling
//! thread ([`crate::inline_reader`]), and [`Db::begin_inline`] writes on it
//! ([`crate::inline_writer`]). Every write of the process, through either, takes one write
//! lock first, so writers queue here instead of in SQLite's busy-wait loop.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Arguments, Decode, FromRow, PgPool, Postgres, SqlSafeStr, Sqlite, SqlitePool, Type};
use time::OffsetDateTime;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::inline_reader::InlineReader;
use crate::inline_writer::{InlineTx, WriteGuard, WriterLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DbKind::Sqlite => "sqlite",
            DbKind::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Db {
    /// `inline` answers [`Db::fetch_texts`] and [`Db::count`] on the calling thread.
    /// `writer` serializes every write of the process (see [`WriterLock`]).
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        inline: Arc<InlineReader>,
        writer: WriterLock,
    },
    Postgres(PgPool),
}

/// A bound value. `None`s carry their type so PostgreSQL knows the parameter's type.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(Option<String>),
    I64(Option<i64>),
    F64(Option<f64>),
    Bool(Option<bool>),
    Json(Option<Value>),
    Time(Option<OffsetDateTime>),
    /// Binary data (`BLOB` / `BYTEA`).
    Bytes(Option<Vec<u8>>),
}

macro_rules! arg_from {
    ($t:ty, $variant:ident, $conv:expr) => {
        impl From<$t> for Arg {
            fn from(v: $t) -> Self {
                Arg::$variant(Some($conv(v)))
            }
        }
        impl From<Option<$t>> for Arg {
            fn from(v: Option<$t>) -> Self {
                Arg::$variant(v.map($conv))
            }
        }
    };
}
arg_from!(String, Text, |v| v);
arg_from!(&str, Text, |v: &str| v.to_string());
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
arg_from!(i64, I64, |v| v);
arg_from!(i32, I64, i64::from);
arg_from!(u32, I64, i64::from);
arg_from!(f64, F64, |v| v);
arg_from!(bool, Bool, |v| v);
arg_from!(Value, Json, |v| v);
arg_from!(OffsetDateTime, Time, |v| v);
arg_from!(Vec<u8>, Bytes, |v| v);

impl From<&Value> for Arg {
    fn from(v: &Value) -> Self {
        Arg::Json(Some(v.clone()))
    }
}

impl From<Option<&String>> for Arg {
    fn from(v: Option<&String>) -> Self {
        Arg::Text(v.cloned())
    }
}

/// Build a `Vec<Arg>` from values of mixed types.
#[macro_export]
macro_rules! args {
    () => { Vec::<$crate::db::Arg>::new() };
    ($($v:expr),+ $(,)?) => { vec![$($crate::db::Arg::from($v)),+] };
}

/// PostgreSQL refuses NUL characters in text and JSON; refusing them on both engines keeps
/// behaviour the same and turns what would be a database error into a clear 400.
fn refuse_nul(args: &[Arg]) -> Result<()> {
    fn json_has_nul(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(json_has_nul),
            Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
            _ => false,
        }
    }
    let bad = args.iter().any(|a| match a {
        Arg::Text(Some(s)) => s.contains('\0'),
        Arg::Json(Some(v)) => json_has_nul(v),
        _ => false,
    });
    if bad { Err(Error::BadRequest("text may not contain NUL (\\u0000) characters".into())) } else { Ok(()) }
}

fn sqlite_args(args: Vec<Arg>) -> Result<sqlx::sqlite::SqliteArguments> {
    refuse_nul(&args)?;
    let mut out = sqlx::sqlite::SqliteArguments::default();
    for arg in args {
        let added = match arg {
            Arg::Text(v) => out.add(v),
            Arg::I64(v) => out.add(v),
            Arg::F64(v) => out.add(v),
            Arg::Bool(v) => out.add(v),
            Arg::Json(v) => out.add(v.map(|j| j.to_string())),
            Arg::Time(v) => out.add(v.map(crate::time::to_sqlite_text)),
            Arg::Bytes(v) => out.add(v),
        };
        added.map_err(|e| Error::internal(format!("binding a parameter: {e}")))?;
    }
    Ok(out)
}

fn pg_args(args: Vec<Arg>) -> Result<sqlx::postgres::PgArguments> {
    refuse_nul(&args)?;
    let mut out = sqlx::postgres::PgArguments::default();
    for arg in args {
        let added = match arg {
            Arg::Text(v) => out.add(v),
            Arg::I64(v) => out.add(v),
            Arg::F64(v) => out.add(v),
            Arg::Bool(v) => out.add(v),
            Arg::Json(v) => out.add(v.map(sqlx::types::Json)),
            Arg::Time(v) => out.add(v),
            Arg::Bytes(v) => out.add(v),
        };
        added.map_err(|e| Error::internal(format!("binding a parameter: {e}")))?;
    }
    Ok(out)
}

/// A select expression building one JSON object text from `(key, SQL expression)` pairs on
/// either engine: a row read this way goes through [`Db::fetch_texts`] and `serde_json`.
/// Keys are written into the SQL: they must be plain identifiers, never input.
pub fn json_object_sql(kind: DbKind, pairs: &[(&str, &str)]) -> String {
    let args: Vec<String> = pairs.iter().map(|(k, v)| format!("'{k}', {v}")).collect();
    match kind {
        DbKind::Sqlite => format!("json_object({})", args.join(", ")),
        DbKind::Postgres => format!("json_build_object({})::text", args.join(", ")),
    }
}

/// A row type that decodes from both engines (derive `sqlx::FromRow`).
pub trait DbRow: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> DbRow for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// A single value that decodes from both engines.
pub trait DbScalar:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres> + Send + Unpin
{
}
impl<T> DbScalar for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres> + Send + Unpin
{
}

/// The query methods, shared by [`Db`] and [`Tx`]: `$sq` and `$pg` name the executor each
/// engine uses.
macro_rules! query_methods {
    ($self:ident [$($m:tt)*], $sq:expr, $pg:expr, $sq_w:expr, $inline:expr) => {
        /// Run a statement; returns the number of rows affected.
        pub async fn execute(&$($m)* $self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<u64> {
            let writer = $self.hold_writer().await?;
            let affected = async {
                Ok(match $self.split() {
                    Either::Inline(t) => {
                        refuse_nul(&args)?;
                        $inline(t, sql.into_sql_str().as_str(), &args)?
                    }
                    Either::Sqlite(c) => sqlx::query_with(sql, sqlite_args(args)?).execute($sq_w(c)).await?.rows_affected(),
                    Either::Postgres(c) => sqlx::query_with(sql, pg_args(args)?).execute($pg(c)).await?.rows_affected(),
                })
            }
            .await;
            $self.after_statement(writer.as_ref());
            affected
        }

        pub async fn fetch_one<T: DbRow>(&$($m)* $self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<T> {
            Ok(match $self.split() {
                Either::Inline(_) => return Err(typed_inline()),
                Either::Sqlite(c) => sqlx::query_as_with(sql, sqlite_args(args)?).fetch_one($sq(c)).await?,
                Either::Postgres(c) => sqlx::query_as_with(sql, pg_args(args)?).fetch_one($pg(c)).await?,
            })
        }

        pub async fn fetch_optional<T: DbRow>(&$($m)* $self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<Option<T>> {
            Ok(match $self.split() {
                Either::Inline(_) => return Err(typed_inline()),
                Either::Sqlite(c) => sqlx::query_as_with(sql, sqlite_args(args)?).fetch_optional($sq(c)).await?,
                Either::Postgres(c) => sqlx::query_as_with(sql, pg_args(args)?).fetch_optional($pg(c)).await?,
            })
        }

        pub async fn fetch_all<T: DbRow>(&$($m)* $self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<Vec<T>> {
            Ok(match $self.split() {
                Either::Inline(_) => return Err(typed_inline()),
                Either::Sqlite(c) => sqlx::query_as_with(sql, sqlite_args(args)?).fetch_all($sq(c)).await?,
                Either::Postgres(c) => sqlx::query_as_with(sql, pg_args(args)?).fetch_all($pg(c)).await?,
            })
        }

        /// The first column of the first row.
        pub async fn scalar<T: DbScalar>(&$($m)* $self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<T> {
            Ok(match $self.split() {
                Either::Inline(_) => return Err(typed_inline()),
                Either::Sqlite(c) => sqlx::query_scalar_with(sql, sqlite_args(args)?).fetch_one($sq(c)).await?,
                Either::Postgres(c) => sqlx::query_scalar_with(sql, pg_args(args)?).fetch_one($pg(c)).await?,
            })
        }

        pub fn kind(&$self) -> DbKind {
            $self.db_kind()
        }
    };
}

fn sqlite_reader<'a>(pools: (&'a SqlitePool, &'a SqlitePool)) -> &'a SqlitePool {
    pools.0
}

fn sqlite_writer<'a>(pools: (&'a SqlitePool, &'a SqlitePool)) -> &'a SqlitePool {
    pools.1
}

/// A `Db` is never an inline transaction.
fn no_inline(never: std::convert::Infallible, _: &str, _: &[Arg]) -> Result<u64> {
    match never {}
}

/// Inline transactions offer `execute`, `fetch_texts` and `count` only.
fn typed_inline() -> Error {
    Error::internal("typed queries do not run in an inline SQLite transaction; use fetch_texts or count")
}

enum Either<S, P, I = std::convert::Infallible> {
    Inline(I),
    Sqlite(S),
    Postgres(P),
}

impl Db {
    /// Connect as configured: PostgreSQL when `database_url` is a postgres URL, otherwise
    /// SQLite in the data dir (created on first start).
    pub async fn connect(config: &Config) -> anyhow::Result<Db> {
        if let Some(url) = config.database_url.as_deref().filter(|_| config.is_postgres()) {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(config.db_max_connections.max(2))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            return Ok(Db::Postgres(pool));
        }
        if let Some(url) = config.database_url.as_deref() {
            anyhow::bail!("unsupported DATABASE_URL scheme in {url:?}: use postgres:// or leave it unset for SQLite");
        }
        std::fs::create_dir_all(&config.data_dir)?;
        let path = config.data_dir.join("socle.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // SQLite's default page cache (2 MiB) per connection: the OS page cache serves the
            // rest, and 17 connections × 8 MiB measured as +65 MiB of resident memory.
            .pragma("temp_store", "memory");
        // The log is checkpointed by a thread of its own (see `wal_checkpointer`), not in a
        // writer's COMMIT.
        let writer_options = options
            .clone()
            .pragma("wal_autocheckpoint", crate::wal_checkpointer::WRITER_AUTOCHECKPOINT_PAGES.to_string());
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(writer_options)
            .await?;
        // Reads are CPU-bound (the file is in the operating system's cache), but each of
        // this pool's goes through its connection's thread and back, so a connection is
        // held a while longer than the read takes: up to four per core keep the cores busy
        // (measured on 2 cores, a page's read at 64 clients: 13.2k req/s with 16 or 8, 11.0k
        // with 4); more only add threads, connections and their page caches (this pool
        // growing from 1 to 16 while 200 collab rooms opened: +4.9 MiB, 65 KiB per room
        // against 45 with 8).
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        let readers = (config.db_max_connections.clamp(2, 64) as usize).min((4 * cores).max(8));
        let read = SqlitePoolOptions::new()
            .max_connections(readers as u32)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(true))
            .await?;
        // The inline reader's reads run on the calling thread: more of them at once than
        // twice the cores only adds threads, connections and page caches (measured: +65 MiB
        // resident with 16).
        let spill = (config.db_max_connections.clamp(2, 64) as usize).min(2 * cores);
        let commits = crate::inline_reader::Commits::default();
        let held = Duration::from_millis(config.db_held_read_ms);
        let inline = Arc::new(InlineReader::new(path.clone(), spill, commits.clone(), held));
        Ok(Db::Sqlite { read, write, inline, writer: WriterLock::new(path, commits) })
    }

    fn db_kind(&self) -> DbKind {
        match self {
            Db::Sqlite { .. } => DbKind::Sqlite,
            Db::Postgres(_) => DbKind::Postgres,
        }
    }

    fn split(&self) -> Either<(&SqlitePool, &SqlitePool), &PgPool> {
        match self {
            Db::Sqlite { read, write, .. } => Either::Sqlite((read, write)),
            Db::Postgres(p) => Either::Postgres(p),
        }
    }

    // Reads go to the reader pool; `execute` goes through the single writer. A statement
    // that writes and returns rows (`INSERT ... RETURNING`) must run in a `Tx`.
    query_methods!(
        self [],
        sqlite_reader,
        std::convert::identity,
        sqlite_writer,
        no_inline
    );

    /// Start a write transaction (`BEGIN IMMEDIATE` on SQLite, through the writer).
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite { write, writer, .. } => {
                let guard = writer.lock().await?;
                let mut tx = Tx::new(TxInner::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?));
                tx.writer = Some(guard);
                tx
            }
            Db::Postgres(pool) => Tx::new(TxInner::Postgres(pool.begin().await?)),
        })
    }

    /// Start a write transaction whose statements run on the calling thread on SQLite (see
    /// [`crate::inline_writer`]); it offers `execute`, `fetch_texts` and `count` only. On
    /// PostgreSQL, the same as [`Db::begin`].
    pub async fn begin_inline(&self) -> Result<Tx> {
        match self {
            Db::Sqlite { writer, .. } => Ok(Tx::new(TxInner::Inline(writer.begin().await?))),
            Db::Postgres(_) => self.begin().await,
        }
    }

    async fn hold_writer(&self) -> Result<Option<WriteGuard>> {
        Ok(match self {
            Db::Sqlite { writer, .. } => Some(writer.lock().await?),
            Db::Postgres(_) => None,
        })
    }

    /// An auto-commit statement has run (and committed, if it wrote), holding `writer`.
    fn after_statement(&self, writer: Option<&WriteGuard>) {
        crate::recent::note_committed_write();
        if let Some(writer) = writer {
            writer.note_commit();
        }
    }

    /// The first column of every row, as text (a row built as JSON, say). The hot read path
    /// of apps: on SQLite it runs on the calling thread (see [`InlineReader`]).
    pub async fn fetch_texts(&self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<Vec<String>> {
        match self {
            Db::Sqlite { inline, .. } => {
                refuse_nul(&args)?;
                inline.texts(sql.into_sql_str().as_str(), args).await
            }
            Db::Postgres(p) => Ok(sqlx::query_scalar_with(sql, pg_args(args)?).fetch_all(p).await?),
        }
    }

    /// `SELECT COUNT(*) ...` (or any integer in the first column of the first row), on the
    /// same path as [`Db::fetch_texts`].
    pub async fn count(&self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<i64> {
        match self {
            Db::Sqlite { inline, .. } => {
                refuse_nul(&args)?;
                inline.integer(sql.into_sql_str().as_str(), args).await
            }
            Db::Postgres(p) => Ok(sqlx::query_scalar_with(sql, pg_args(args)?).fetch_one(p).await?),
        }
    }

    /// The total and one page of a sorted listing in one pass over its rows, where the
    /// database allows it (SQLite: see [`crate::ranked`]); `None` where the listing should
    /// count and page in SQL (PostgreSQL, or a page past [`crate::ranked::MAX_RANKED_ROWS`]).
    /// `sql` selects the row's id, then its sort keys, one per `spec.descending`.
    pub async fn ranked_page(
        &self,
        sql: impl SqlSafeStr,
        args: Vec<Arg>,
        spec: crate::ranked::PageSpec,
    ) -> Result<Option<crate::ranked::RankedPage>> {
        match self {
            Db::Sqlite { inline, .. } if spec.rankable() => {
                refuse_nul(&args)?;
                Ok(Some(inline.ranked_page(sql.into_sql_str().as_str(), args, spec).await?))
            }
            _ => Ok(None),
        }
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<()> {
        let one: i64 = self.scalar("SELECT CAST(1 AS BIGINT)", vec![]).await?;
        if one == 1 { Ok(()) } else { Err(Error::internal("SELECT 1 did not return 1")) }
    }

    /// (open connections, idle connections, max connections) summed over pools.
    pub fn pool_stats(&self) -> (u32, u32, u32) {
        match self {
            Db::Sqlite { read, write, .. } => (
                read.size() + write.size(),
                (read.num_idle() + write.num_idle()) as u32,
                read.options().get_max_connections() + 1,
            ),
            Db::Postgres(p) => (p.size(), p.num_idle() as u32, p.options().get_max_connections()),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { read, write, .. } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}

/// One database transaction. Dropped without [`Tx::commit`], it rolls back, and its
/// after-commit hooks never run.
pub struct Tx {
    inner: TxInner,
    after_commit: Vec<Box<dyn FnOnce() + Send>>,
    cause: Option<serde_json::Value>,
    /// The process's SQLite write lock, for a sqlx transaction (declared after `inner`: the
    /// transaction ends before the lock is released).
    writer: Option<WriteGuard>,
}

enum TxInner {
    Inline(InlineTx),
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    fn new(inner: TxInner) -> Self {
        Tx { inner, after_commit: Vec::new(), cause: None, writer: None }
    }

    fn db_kind(&self) -> DbKind {
        match self.inner {
            TxInner::Sqlite(_) | TxInner::Inline(_) => DbKind::Sqlite,
            TxInner::Postgres(_) => DbKind::Postgres,
        }
    }

    fn split(&mut self) -> Either<&mut sqlx::SqliteConnection, &mut sqlx::PgConnection, &mut InlineTx> {
        match &mut self.inner {
            TxInner::Inline(t) => Either::Inline(t),
            TxInner::Sqlite(t) => Either::Sqlite(&mut **t),
            TxInner::Postgres(t) => Either::Postgres(&mut **t),
        }
    }

    query_methods!(
        self [mut],
        std::convert::identity,
        std::convert::identity,
        std::convert::identity,
        InlineTx::execute
    );

    /// Already holds the writer: statements run in the transaction.
    async fn hold_writer(&mut self) -> Result<Option<WriteGuard>> {
        Ok(None)
    }

    /// Statements in a transaction count as written when it commits.
    fn after_statement(&self, _writer: Option<&WriteGuard>) {}

    /// The first column of every row, as text (see [`Db::fetch_texts`]).
    pub async fn fetch_texts(&mut self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<Vec<String>> {
        refuse_nul(&args)?;
        Ok(match self.split() {
            Either::Inline(t) => t.texts(sql.into_sql_str().as_str(), &args)?,
            Either::Sqlite(c) => sqlx::query_scalar_with(sql, sqlite_args(args)?).fetch_all(c).await?,
            Either::Postgres(c) => sqlx::query_scalar_with(sql, pg_args(args)?).fetch_all(c).await?,
        })
    }

    /// An integer in the first column of the first row (see [`Db::count`]).
    pub async fn count(&mut self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<i64> {
        refuse_nul(&args)?;
        Ok(match self.split() {
            Either::Inline(t) => t.integer(sql.into_sql_str().as_str(), &args)?,
            Either::Sqlite(c) => sqlx::query_scalar_with(sql, sqlite_args(args)?).fetch_one(c).await?,
            Either::Postgres(c) => sqlx::query_scalar_with(sql, pg_args(args)?).fetch_one(c).await?,
        })
    }

    /// [`Tx::count`] of rows this transaction did not write: on SQLite through `db`'s fast
    /// read path, so that the single writer is not held up by a read; on PostgreSQL in this
    /// transaction, so that it takes no second pool connection while holding one (two
    /// holders waiting on each other's second connection can exhaust a small pool).
    pub async fn count_committed(&mut self, db: &Db, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<i64> {
        match self.kind() {
            DbKind::Sqlite => db.count(sql, args).await,
            DbKind::Postgres => self.count(sql, args).await,
        }
    }

    /// Run a multi-statement script inside this transaction (migrations).
    pub async fn execute_script(&mut self, sql: impl SqlSafeStr) -> Result<()> {
        match &mut self.inner {
            TxInner::Inline(_) => return Err(typed_inline()),
            TxInner::Sqlite(t) => {
                sqlx::raw_sql(sql).execute(&mut **t).await?;
            }
            TxInner::Postgres(t) => {
                sqlx::raw_sql(sql).execute(&mut **t).await?;
            }
        }
        Ok(())
    }

    /// Run `hook` once this transaction has committed (never if it rolls back): how a
    /// change wakes the outbox dispatcher or the job workers without a race.
    pub fn after_commit(&mut self, hook: impl FnOnce() + Send + 'static) {
        self.after_commit.push(Box::new(hook));
    }

    /// Say what caused this transaction's changes (a workflow execution, say): every
    /// outbox event appended in it carries this value as `cause`, so that reactions to
    /// those events can see where they come from (and stop loops).
    pub fn set_cause(&mut self, cause: serde_json::Value) {
        self.cause = Some(cause);
    }

    pub fn cause(&self) -> Option<&serde_json::Value> {
        self.cause.as_ref()
    }

    pub async fn commit(self) -> Result<()> {
        let Tx { inner, after_commit, writer, .. } = self;
        // App records (the inline path) never write what `crate::recent` caches; any other
        // transaction may have, and counts as a write once its COMMIT has run, whatever came
        // of it (a COMMIT that failed on a lost connection may have been applied).
        let inline = matches!(inner, TxInner::Inline(_));
        let committed = match inner {
            TxInner::Inline(t) => t.commit().await,
            TxInner::Sqlite(t) => t.commit().await.map_err(Error::from),
            TxInner::Postgres(t) => t.commit().await.map_err(Error::from),
        };
        if !inline {
            crate::recent::note_committed_write();
        }
        // The inline writer counts its own COMMITs (and its group's).
        if let Some(writer) = &writer {
            writer.note_commit();
        }
        committed?;
        drop(writer);
        for hook in after_commit {
            hook();
        }
        Ok(())
    }
}

/// `id -> name` of the rows of `table` whose id is among `ids` (unknown ids are left out),
/// the name being the SQL expression `name` (a column, or a fixed expression over columns).
/// For lists that show names beside ids: each module calls it on its own table.
pub async fn names_by_id(
    db: &Db,
    table: &'static str,
    name: &'static str,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, String>> {
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let mut names = std::collections::HashMap::with_capacity(unique.len());
    for chunk in unique.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT id, {name} FROM {table} WHERE id IN ({})", marks.join(", "));
        let args: Vec<Arg> = chunk.iter().map(|id| Arg::from(id.to_string())).collect();
        let rows: Vec<(String, String)> = db.fetch_all(sqlx::AssertSqlSafe(sql), args).await?;
        names.extend(rows);
    }
    Ok(names)
}

/// A `LIKE … ESCAPE '\'` pattern matching any text that contains `text` literally (its `%`,
/// `_` and `\` escaped).
pub fn like_contains(text: &str) -> String {
    format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// A growing `WHERE` clause whose values stay bound parameters. Clauses are written with
/// `{}` where the parameter goes; they must come from code, never from input.
#[derive(Debug, Default)]
pub struct Conditions {
    clauses: Vec<String>,
    pub args: Vec<Arg>,
}

impl Conditions {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, clause: &'static str, arg: impl Into<Arg>) -> &mut Self {
        self.args.push(arg.into());
        let placeholder = format!("${}", self.args.len());
        self.clauses.push(clause.replace("{}", &placeholder));
        self
    }

    pub fn add_fixed(&mut self, clause: &'static str) -> &mut Self {
        self.clauses.push(clause.to_string());
        self
    }

    /// `WHERE a AND b` (or nothing).
    pub fn where_sql(&self) -> String {
        if self.clauses.is_empty() { String::new() } else { format!("WHERE {}", self.clauses.join(" AND ")) }
    }

    /// The placeholder for the next parameter (for `LIMIT`/`OFFSET`).
    pub fn next_placeholder(&self, offset: usize) -> String {
        format!("${}", self.args.len() + offset)
    }

    /// One page of `SELECT {select} FROM {from} WHERE … ORDER BY {order}` and the total the
    /// conditions match: what every filtered admin list does. `select`, `from` and `order`
    /// come from code, never from input.
    pub async fn fetch_page<T: DbRow>(
        self,
        db: &Db,
        select: &str,
        from: &str,
        order: &str,
        page: crate::pagination::PageRequest,
    ) -> Result<crate::pagination::Page<T>> {
        let where_sql = self.where_sql();
        let total: i64 = db
            .scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {from} {where_sql}")), self.args.clone())
            .await?;
        let sql = format!(
            "SELECT {select} FROM {from} {where_sql} ORDER BY {order} LIMIT {} OFFSET {}",
            self.next_placeholder(1),
            self.next_placeholder(2)
        );
        let mut args = self.args;
        args.push(page.limit().into());
        args.push(page.offset().into());
        let items = db.fetch_all(sqlx::AssertSqlSafe(sql), args).await?;
        Ok(crate::pagination::Page::new(items, page, total))
    }
}
