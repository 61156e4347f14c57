//! The embedded SQLite database's one writer, and write transactions run on the calling
//! thread.
//!
//! SQLite takes one writer at a time; the process serializes its writers on [`WriterLock`]
//! instead of letting them wait in SQLite's busy loop. The lock is held by every sqlx write
//! ([`crate::Db::begin`], [`crate::Db::execute`]) and by inline transactions
//! ([`crate::Db::begin_inline`]): those run their statements on the calling thread through a
//! connection of their own, with none of sqlx's per-statement thread hand-offs. An app's
//! record write is four short statements (begin, insert, outbox append, commit); through
//! sqlx's worker thread their hand-offs were most of the write's cost, and the writer
//! is the one resource every write queues for.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::db::Arg;
use crate::error::{Error, Result};
use crate::inline_reader::{execute, first_row, query, to_error};

const LOCK_TIMEOUT: Duration = Duration::from_secs(30);
/// Statements the writer connection keeps prepared.
const STATEMENT_CACHE: usize = 128;

/// The process's SQLite write lock, with the inline writer's connection (opened on first
/// use) inside.
#[derive(Clone)]
pub struct WriterLock {
    path: PathBuf,
    slot: Arc<Mutex<Option<Connection>>>,
}

impl std::fmt::Debug for WriterLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterLock").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Held for as long as one write (a transaction, or one auto-committed statement) runs.
pub type WriteGuard = OwnedMutexGuard<Option<Connection>>;

impl WriterLock {
    pub fn new(path: PathBuf) -> Self {
        WriterLock { path, slot: Arc::new(Mutex::new(None)) }
    }

    /// Wait for the writer; as long as the sqlx pool waited for its one connection.
    pub async fn lock(&self) -> Result<WriteGuard> {
        tokio::time::timeout(LOCK_TIMEOUT, self.slot.clone().lock_owned())
            .await
            .map_err(|_| Error::Unavailable("the database is busy, try again".into()))
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )?;
        // As the sqlx connections are set up (see `Db::connect`); another process writing
        // the same file is still waited for by SQLite's busy handler.
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "wal")?;
        conn.pragma_update(None, "synchronous", "normal")?;
        conn.pragma_update(None, "foreign_keys", "on")?;
        conn.pragma_update(None, "temp_store", "memory")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    /// Take the lock and begin an inline transaction.
    pub async fn begin(&self) -> Result<InlineTx> {
        let mut guard = self.lock().await?;
        if guard.is_none() {
            *guard = Some(self.open().map_err(to_error)?);
        }
        let conn = guard.as_ref().ok_or_else(|| Error::internal("the SQLite writer is not open"))?;
        conn.execute_batch("BEGIN IMMEDIATE").map_err(to_error)?;
        Ok(InlineTx { guard, finished: false })
    }
}

/// A write transaction whose statements run on the calling thread. It offers what record
/// writes need (statements, text rows, counts); dropped unfinished, it rolls back.
pub struct InlineTx {
    guard: WriteGuard,
    finished: bool,
}

impl InlineTx {
    fn conn(&self) -> Result<&Connection> {
        self.guard.as_ref().ok_or_else(|| Error::internal("the SQLite writer is not open"))
    }

    pub fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64> {
        execute(self.conn()?, sql, args).map_err(to_error)
    }

    pub fn texts(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<String>> {
        query::<String>(self.conn()?, sql, args).map_err(to_error)
    }

    pub fn integer(&mut self, sql: &str, args: &[Arg]) -> Result<i64> {
        first_row(query::<i64>(self.conn()?, sql, args).map_err(to_error)?)
    }

    pub fn commit(mut self) -> Result<()> {
        self.conn()?.execute_batch("COMMIT").map_err(to_error)?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for InlineTx {
    fn drop(&mut self) {
        if !self.finished
            && let Some(conn) = self.guard.as_ref()
            && let Err(e) = conn.execute_batch("ROLLBACK")
        {
            tracing::warn!(error = %e, "could not roll back an inline SQLite transaction");
        }
    }
}
