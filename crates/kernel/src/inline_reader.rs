//! Reads of the embedded SQLite database answered on the calling thread.
//!
//! sqlx runs every SQLite connection on a thread of its own and hands each query and each
//! row across channels, so a point read costs several thread wake-ups: on this project's
//! 2-core benchmark machine, a request doing one primary-key read spent over 40 % of its CPU
//! time in the kernel's context switches. Here each thread that reads keeps its own
//! read-only connection (with a statement cache) and runs the query itself.
//!
//! A query must not hold a runtime thread for long: a progress handler interrupts one that
//! has run [`INLINE_BUDGET_STEPS`] virtual-machine steps (about a millisecond of work; counted
//! in steps, not time, so that a thread preempted by the OS does not mark a cheap query as
//! slow); it then runs again on the blocking pool (at most `spill_limit` at a time), and its
//! SQL is remembered so later runs go there directly.
//! Writes never come here: see [`crate::inline_writer`].
//!
//! Held read transactions: beginning and ending SQLite's read transaction around each query
//! takes and drops a WAL read mark, a `fcntl` lock on the `-shm` file whenever no other
//! connection of the process holds it; on a point read that was a seventh of the server's
//! CPU time. A runtime worker thread that runs [`on_worker_park`] before it parks keeps its
//! read transaction open from one query to the next, for as long as all of these hold:
//! - no transaction has committed on this database in this process since it began (every
//!   COMMIT, sqlx's and the inline writer's, is counted in [`Commits`] once it has run), so
//!   a request always sees the writes answered before it began, its own included;
//! - it began less than `held_read_max_age` ago (`db_held_read_ms`, 1 ms by default): how
//!   late a write by another process (or another `Db` of this one) sharing the file is seen;
//! - the thread has not parked: an idle thread holds nothing, so checkpoints are never held
//!   back by it.
//!
//! Other threads (the blocking pool, a `block_on` caller) end each read as it finishes.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rusqlite::types::{Null, ToSqlOutput, Value as SqlValue};
use rusqlite::{Connection, OpenFlags, ToSql};
use tokio::sync::Semaphore;

use crate::db::Arg;
use crate::error::{Error, Result};
use crate::ranked::{PageSpec, RankedPage};

/// Virtual-machine steps a query may run on a runtime thread before it moves to the blocking
/// pool, in units of [`STEPS_PER_CHECK`].
pub const INLINE_BUDGET_STEPS: u32 = 100;
const STEPS_PER_CHECK: i32 = 1000;
/// Remembered slow statements; the set is cleared when it grows past this.
const SLOW_SET_LIMIT: usize = 4096;
/// Statements each connection keeps prepared.
const STATEMENT_CACHE: usize = 128;

static NEXT_READER_ID: AtomicU64 = AtomicU64::new(1);
/// Read transactions begun on held connections (see [`read_transactions_begun`]).
static HELD_BEGUN: AtomicU64 = AtomicU64::new(0);

/// The COMMITs run on one database by this process: shared by its writers, which count each
/// COMMIT once it has run (whatever came of it), and its reader, whose held read transactions
/// end before the next query once one has.
#[derive(Debug, Clone, Default)]
pub struct Commits(Arc<AtomicU64>);

impl Commits {
    pub(crate) fn note(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn count(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// How many read transactions worker threads have begun to hold so far: fewer than the
/// queries they answered when holding works.
pub fn read_transactions_begun() -> u64 {
    HELD_BEGUN.load(Ordering::Relaxed)
}

/// Install as the runtime's `on_thread_park` (`tokio::runtime::Builder::on_thread_park`):
/// ends the read transactions this thread holds, and from then on lets it hold them between
/// queries (only threads that run this do, so none is held while its thread sleeps).
pub fn on_worker_park() {
    let _ = HOLDS_READS.try_with(|holds| holds.set(true));
    let _ = CONNECTIONS.try_with(|cell| {
        if let Ok(mut conns) = cell.try_borrow_mut() {
            // A connection whose transaction would not end is closed, which ends it.
            conns.retain(|(_, c)| c.end_read().is_ok());
        }
    });
}

/// The runtime `socle serve` runs on (tests build theirs from it too): multi-threaded, with
/// [`on_worker_park`] installed, so that its worker threads keep their read transaction
/// between queries and never while idle.
pub fn runtime_builder() -> tokio::runtime::Builder {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().on_thread_park(on_worker_park);
    builder
}

/// A thread's read-only connection and the read transaction it holds, if any.
struct ReadConnection {
    conn: Connection,
    /// The commit count when the held transaction began, and when.
    held: Cell<Option<(u64, Instant)>>,
}

impl ReadConnection {
    /// Begin a read transaction to hold, unless the one held is still fresh.
    fn hold_fresh_read(&self, commits: &Commits, max_age: Duration) -> rusqlite::Result<()> {
        let commits = commits.count();
        if let Some((began_at, since)) = self.held.get() {
            if began_at == commits && since.elapsed() < max_age {
                return Ok(());
            }
            self.end_read()?;
        }
        // The count is read before BEGIN: the snapshot, taken by the first query after it,
        // holds every commit counted so far.
        self.conn.prepare_cached("BEGIN")?.raw_execute()?;
        self.held.set(Some((commits, Instant::now())));
        HELD_BEGUN.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// End the held read transaction, if any.
    fn end_read(&self) -> rusqlite::Result<()> {
        self.held.set(None);
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.prepare_cached("COMMIT")?.raw_execute().map(drop)
    }
}

thread_local! {
    /// This thread's connections, one per reader (tests open several databases per process).
    static CONNECTIONS: RefCell<Vec<(u64, Rc<ReadConnection>)>> = const { RefCell::new(Vec::new()) };
    /// Whether this thread runs [`on_worker_park`], and may hold read transactions.
    static HOLDS_READS: Cell<bool> = const { Cell::new(false) };
    /// Checks left before the query running on this thread must give way; `None` on the
    /// blocking pool, where queries run to the end.
    static STEPS_LEFT: Cell<Option<u32>> = const { Cell::new(None) };
}

pub struct InlineReader {
    id: u64,
    commits: Commits,
    held_read_max_age: Duration,
    path: PathBuf,
    slow: RwLock<HashSet<u64>>,
    spill: Arc<Semaphore>,
}

impl std::fmt::Debug for InlineReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineReader").field("path", &self.path).finish_non_exhaustive()
    }
}

/// What reads a statement's rows into a result (cloned into the blocking pool's closure).
trait Consume<R>: Fn(&mut rusqlite::Rows<'_>) -> rusqlite::Result<R> + Send + Sync + 'static {}

impl<R, F: Fn(&mut rusqlite::Rows<'_>) -> rusqlite::Result<R> + Send + Sync + 'static> Consume<R> for F {}

/// What a read returns: the first column of every row, as text or as an integer.
pub(crate) trait FirstColumn: Sized + Send + 'static {
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

impl FirstColumn for String {
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        row.get(0)
    }
}

impl FirstColumn for i64 {
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        row.get(0)
    }
}

struct Bound<'a>(&'a Arg);

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        // The same representation sqlx binds (see `sqlite_args`), so both paths compare alike.
        Ok(match self.0 {
            Arg::Text(Some(s)) => ToSqlOutput::from(s.as_str()),
            Arg::I64(Some(n)) => ToSqlOutput::from(*n),
            Arg::F64(Some(n)) => ToSqlOutput::from(*n),
            Arg::Bool(Some(b)) => ToSqlOutput::from(i64::from(*b)),
            Arg::Json(Some(v)) => ToSqlOutput::Owned(SqlValue::Text(v.to_string())),
            Arg::Time(Some(t)) => ToSqlOutput::Owned(SqlValue::Text(crate::time::to_sqlite_text(*t))),
            Arg::Bytes(Some(b)) => ToSqlOutput::Owned(SqlValue::Blob(b.clone())),
            Arg::Text(None)
            | Arg::I64(None)
            | Arg::F64(None)
            | Arg::Bool(None)
            | Arg::Json(None)
            | Arg::Time(None)
            | Arg::Bytes(None) => ToSqlOutput::from(Null),
        })
    }
}

/// Bind `args` to the cached statement for `sql`.
///
/// SQLite numbers `$N` parameters in order of appearance, not by N: bind by name, as sqlx
/// does, so that `$2` may come before `$1` in the text.
fn prepare_bound<'c>(conn: &'c Connection, sql: &str, args: &[Arg]) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    let mut statement = conn.prepare_cached(sql)?;
    for index in 1..=statement.parameter_count() {
        let position = match statement.parameter_name(index) {
            Some(name) => name
                .strip_prefix(['$', '?'])
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| rusqlite::Error::InvalidParameterName(name.to_string()))?,
            None => index,
        };
        let arg = args.get(position - 1).ok_or(rusqlite::Error::InvalidParameterCount(position, args.len()))?;
        statement.raw_bind_parameter(index, Bound(arg))?;
    }
    Ok(statement)
}

/// Run `sql` and read the first column of every row.
pub(crate) fn query<T: FirstColumn>(conn: &Connection, sql: &str, args: &[Arg]) -> rusqlite::Result<Vec<T>> {
    let mut statement = prepare_bound(conn, sql, args)?;
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(T::read(row)?);
    }
    Ok(out)
}

/// The only row of a scalar query.
pub(crate) fn first_row<T>(rows: Vec<T>) -> Result<T> {
    rows.into_iter().next().ok_or_else(|| Error::internal("a scalar query returned no row"))
}

/// Run a statement that returns no rows; the number of rows it changed.
pub(crate) fn execute(conn: &Connection, sql: &str, args: &[Arg]) -> rusqlite::Result<u64> {
    let mut statement = prepare_bound(conn, sql, args)?;
    Ok(statement.raw_execute()? as u64)
}

/// The kernel's error for a SQLite error, mapped as for sqlx's (a unique violation is a
/// conflict).
pub(crate) fn to_error(e: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && matches!(
            f.extended_code,
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    {
        return Error::Conflict(crate::error::UNIQUE_VIOLATION.into());
    }
    Error::Internal(anyhow::Error::new(e))
}

fn sql_key(sql: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    sql.hash(&mut h);
    h.finish()
}

fn interrupted(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted)
}

impl InlineReader {
    /// A reader of the database at `path`, whose writers of this process count their commits
    /// in `commits`; worker threads answer from a read transaction at most
    /// `held_read_max_age` old (zero: never held).
    pub fn new(path: PathBuf, spill_limit: usize, commits: Commits, held_read_max_age: Duration) -> Self {
        InlineReader {
            id: NEXT_READER_ID.fetch_add(1, Ordering::Relaxed),
            commits,
            held_read_max_age,
            path,
            slow: RwLock::new(HashSet::new()),
            spill: Arc::new(Semaphore::new(spill_limit.max(1))),
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "temp_store", "memory")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.progress_handler(
            STEPS_PER_CHECK,
            Some(|| {
                STEPS_LEFT.with(|left| match left.get() {
                    None => false,
                    Some(0) => true,
                    Some(n) => {
                        left.set(Some(n - 1));
                        false
                    }
                })
            }),
        )?;
        Ok(conn)
    }

    /// This thread's connection to this database, opened on first use.
    fn connection(&self) -> rusqlite::Result<Rc<ReadConnection>> {
        CONNECTIONS.with(|cell| {
            let mut conns = cell.borrow_mut();
            if let Some(at) = conns.iter().position(|(id, _)| *id == self.id) {
                let c = &conns[at].1;
                // A transaction open but not held is one that could not end: start afresh.
                if c.held.get().is_some() || c.conn.is_autocommit() {
                    return Ok(c.clone());
                }
                conns.swap_remove(at);
            }
            let conn = Rc::new(ReadConnection { conn: self.open()?, held: Cell::new(None) });
            conns.push((self.id, conn.clone()));
            Ok(conn)
        })
    }

    /// Run `sql` and hand its rows to `consume`; `may_hold`: in the read transaction this
    /// thread holds, if it holds them.
    fn run<R>(&self, sql: &str, args: &[Arg], consume: &impl Consume<R>, may_hold: bool) -> rusqlite::Result<R> {
        let reader = self.connection()?;
        let holding = may_hold && !self.held_read_max_age.is_zero() && HOLDS_READS.with(Cell::get);
        if holding {
            reader.hold_fresh_read(&self.commits, self.held_read_max_age)?;
        }
        let result =
            prepare_bound(&reader.conn, sql, args).and_then(|mut statement| consume(&mut statement.raw_query()));
        if holding && result.is_err() {
            // Whatever the error did to the transaction, the next query starts a new one (a
            // transaction that will not end closes its connection: see `connection`).
            let _ = reader.end_read();
        }
        result
    }

    fn is_slow(&self, key: u64) -> bool {
        self.slow.read().map(|s| s.contains(&key)).unwrap_or(false)
    }

    fn remember_slow(&self, key: u64) {
        if let Ok(mut slow) = self.slow.write() {
            if slow.len() >= SLOW_SET_LIMIT {
                slow.clear();
            }
            slow.insert(key);
        }
    }

    async fn read<T: FirstColumn>(self: &Arc<Self>, sql: &str, args: Vec<Arg>) -> Result<Vec<T>> {
        self.read_rows(sql, args, |rows: &mut rusqlite::Rows<'_>| {
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(T::read(row)?);
            }
            Ok(out)
        })
        .await
    }

    /// Run `sql` and hand its rows to `consume`, on this thread or, for a slow query, on the
    /// blocking pool (where `consume` starts over on a fresh run).
    async fn read_rows<R: Send + 'static>(
        self: &Arc<Self>,
        sql: &str,
        args: Vec<Arg>,
        consume: impl Consume<R>,
    ) -> Result<R> {
        let key = sql_key(sql);
        if !self.is_slow(key) {
            STEPS_LEFT.with(|left| left.set(Some(INLINE_BUDGET_STEPS)));
            let result = self.run(sql, &args, &consume, true);
            STEPS_LEFT.with(|left| left.set(None));
            match result {
                Ok(rows) => return Ok(rows),
                Err(e) if interrupted(&e) => self.remember_slow(key),
                Err(e) => return Err(to_error(e)),
            }
        }
        let _permit = self
            .spill
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Unavailable("the database is closing".into()))?;
        let reader = self.clone();
        // Only a query that moves to the blocking pool needs its own copy of the text.
        let sql = sql.to_string();
        tokio::task::spawn_blocking(move || reader.run(&sql, &args, &consume, false))
            .await
            .map_err(Error::internal)?
            .map_err(to_error)
    }

    /// The first column of every row, as text.
    pub async fn texts(self: &Arc<Self>, sql: &str, args: Vec<Arg>) -> Result<Vec<String>> {
        self.read(sql, args).await
    }

    /// The first column of the first row, as an integer.
    pub async fn integer(self: &Arc<Self>, sql: &str, args: Vec<Arg>) -> Result<i64> {
        first_row(self.read::<i64>(sql, args).await?)
    }

    /// The total and one page of the rows of `sql` (column 0 the id, then the sort keys),
    /// ranked in one pass: see [`crate::ranked`].
    pub async fn ranked_page(self: &Arc<Self>, sql: &str, args: Vec<Arg>, spec: PageSpec) -> Result<RankedPage> {
        self.read_rows(sql, args, move |rows: &mut rusqlite::Rows<'_>| crate::ranked::rank(rows, &spec)).await
    }
}
