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
//!
//! Group commit: an inline transaction that finishes while other writers are waiting does
//! not commit alone. It leaves its work in the open transaction, hands the lock to the
//! next writer and waits; the next inline transaction runs inside a savepoint of the same
//! transaction (its failure rolls back its own work only), and whoever finds no one
//! waiting, or the group full, commits for the whole group and tells each member. A sqlx
//! write commits the group before it starts. No member is answered before the COMMIT that
//! makes its work durable, and a failed COMMIT fails every member.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use crate::db::Arg;
use crate::error::{Error, Result};
use crate::inline_reader::{Commits, execute, first_row, query, to_error};

const LOCK_TIMEOUT: Duration = Duration::from_secs(30);
/// Statements the writer connection keeps prepared.
const STATEMENT_CACHE: usize = 128;
/// Transactions committed together at most: bounds how long the first one waits.
const MAX_GROUP: usize = 64;
/// A member whose group nobody went on to commit (the writer it handed the lock to gave up
/// waiting) takes the lock back after this long and commits the group itself.
const GROUP_WAIT: Duration = Duration::from_millis(50);

/// Transactions of this process committed as part of a group (not by their own COMMIT).
static GROUPED: AtomicU64 = AtomicU64::new(0);

/// How many inline transactions so far had their COMMIT made by another member of their
/// group (also exported as the `socle_db_group_commit_size` histogram).
pub fn grouped_commits() -> u64 {
    GROUPED.load(Ordering::Relaxed)
}

type CommitNotice = oneshot::Sender<std::result::Result<(), CommitFailure>>;

/// Why a group's COMMIT failed, told to each member.
#[derive(Debug, Clone)]
struct CommitFailure(Option<rusqlite::ffi::Error>, String);

impl CommitFailure {
    fn of(e: &rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(code, message) => {
                CommitFailure(Some(*code), message.clone().unwrap_or_default())
            }
            other => CommitFailure(None, other.to_string()),
        }
    }

    fn into_error(self) -> Error {
        match self.0 {
            Some(code) => to_error(rusqlite::Error::SqliteFailure(code, Some(self.1))),
            None => Error::internal(self.1),
        }
    }
}

/// The writer connection (opened on first use) and the transactions waiting for its next
/// COMMIT.
pub struct WriterState {
    conn: Option<Connection>,
    group: Vec<CommitNotice>,
    commits: Commits,
}

impl WriterState {
    /// Count a COMMIT run on another connection (sqlx's) while this lock was held.
    pub(crate) fn note_commit(&self) {
        self.commits.note();
    }

    /// Commit the open group, if any, and tell its members.
    fn commit_group(&mut self) {
        if self.group.is_empty() {
            return;
        }
        let result = match self.conn.as_ref() {
            Some(conn) => commit(conn, &self.commits).map_err(|e| CommitFailure::of(&e)),
            None => Err(CommitFailure(None, "the SQLite writer is not open".into())),
        };
        tell(&mut self.group, result, 0);
    }
}

/// Tell each member of a group how its COMMIT went; `committer` is 1 when the COMMIT was
/// made by a transaction of the group itself (counted in the group's size).
fn tell(group: &mut Vec<CommitNotice>, result: std::result::Result<(), CommitFailure>, committer: usize) {
    if group.is_empty() {
        return;
    }
    if result.is_ok() {
        GROUPED.fetch_add(group.len() as u64, Ordering::Relaxed);
        metrics::histogram!("socle_db_group_commit_size").record((group.len() + committer) as f64);
    }
    for member in group.drain(..) {
        let _ = member.send(result.clone());
    }
}

/// COMMIT, or ROLLBACK if the COMMIT failed and left the transaction open.
fn commit(conn: &Connection, commits: &Commits) -> rusqlite::Result<()> {
    let result = conn.execute_batch("COMMIT");
    commits.note();
    if result.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}

/// The process's SQLite write lock, with the inline writer's connection inside.
#[derive(Clone)]
pub struct WriterLock {
    path: PathBuf,
    slot: Arc<Mutex<WriterState>>,
    /// Writers waiting for the lock: an inline transaction that finishes while some are
    /// leaves its COMMIT to them.
    waiting: Arc<AtomicUsize>,
}

impl std::fmt::Debug for WriterLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterLock").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Held for as long as one write (a transaction, or one auto-committed statement) runs.
pub type WriteGuard = OwnedMutexGuard<WriterState>;

/// Counts a writer as waiting until it has the lock or gives up.
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl WriterLock {
    /// The lock of the database at `path`, whose commits it counts in `commits`. Starts the
    /// database's WAL checkpointer, which lives as long as the lock.
    pub fn new(path: PathBuf, commits: Commits) -> Self {
        let slot = Arc::new(Mutex::new(WriterState { conn: None, group: Vec::new(), commits: commits.clone() }));
        crate::wal_checkpointer::spawn(path.clone(), commits, Arc::downgrade(&slot));
        WriterLock { path, slot, waiting: Arc::new(AtomicUsize::new(0)) }
    }

    async fn acquire(&self) -> Result<WriteGuard> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(self.waiting.clone());
        tokio::time::timeout(LOCK_TIMEOUT, self.slot.clone().lock_owned())
            .await
            .map_err(|_| Error::Unavailable("the database is busy, try again".into()))
    }

    /// Wait for the writer, for a write on another connection (sqlx's): the open group, if
    /// any, is committed first.
    pub async fn lock(&self) -> Result<WriteGuard> {
        let mut guard = self.acquire().await?;
        guard.commit_group();
        Ok(guard)
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
        conn.pragma_update(None, "wal_autocheckpoint", crate::wal_checkpointer::WRITER_AUTOCHECKPOINT_PAGES)?;
        conn.pragma_update(None, "foreign_keys", "on")?;
        conn.pragma_update(None, "temp_store", "memory")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    /// Take the lock and begin an inline transaction: a savepoint of the open group's
    /// transaction if there is one, a new transaction otherwise.
    pub async fn begin(&self) -> Result<InlineTx> {
        let mut guard = self.acquire().await?;
        if guard.conn.is_none() {
            guard.conn = Some(self.open().map_err(to_error)?);
        }
        let state = &mut *guard;
        let conn = state.conn.as_ref().ok_or_else(|| Error::internal("the SQLite writer is not open"))?;
        if !state.group.is_empty() && conn.is_autocommit() {
            // An error that aborts the whole transaction ended the group's work.
            tell(&mut state.group, Err(CommitFailure(None, "the transaction was rolled back".into())), 0);
        }
        let in_group = !state.group.is_empty();
        conn.execute_batch(if in_group { "SAVEPOINT socle_member" } else { "BEGIN IMMEDIATE" }).map_err(to_error)?;
        Ok(InlineTx { guard: Some(guard), lock: self.clone(), in_group, finished: false })
    }
}

/// A write transaction whose statements run on the calling thread. It offers what record
/// writes need (statements, text rows, counts); dropped unfinished, it rolls back (its own
/// savepoint only, inside a group).
pub struct InlineTx {
    guard: Option<WriteGuard>,
    lock: WriterLock,
    in_group: bool,
    finished: bool,
}

impl InlineTx {
    fn conn(&self) -> Result<&Connection> {
        self.guard
            .as_ref()
            .and_then(|g| g.conn.as_ref())
            .ok_or_else(|| Error::internal("the SQLite writer is not open"))
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

    /// Make the work durable: now, or with the group if other writers are waiting. Returns
    /// once it is committed.
    pub async fn commit(mut self) -> Result<()> {
        if self.in_group {
            self.conn()?.execute_batch("RELEASE socle_member").map_err(to_error)?;
        }
        let mut guard = self.guard.take().ok_or_else(|| Error::internal("the SQLite writer is not open"))?;
        self.finished = true;
        if self.lock.waiting.load(Ordering::SeqCst) > 0 && guard.group.len() + 1 < MAX_GROUP {
            let (notice, mut committed) = oneshot::channel();
            guard.group.push(notice);
            drop(guard);
            let told = match tokio::time::timeout(GROUP_WAIT, &mut committed).await {
                Ok(told) => told,
                Err(_) => {
                    // Whoever took the lock gave up: commit the group ourselves.
                    self.lock.acquire().await?.commit_group();
                    committed.await
                }
            };
            return told
                .map_err(|_| Error::internal("a group commit was abandoned"))?
                .map_err(CommitFailure::into_error);
        }
        let state = &mut *guard;
        let conn = state.conn.as_ref().ok_or_else(|| Error::internal("the SQLite writer is not open"))?;
        let result = commit(conn, &state.commits);
        tell(&mut state.group, result.as_ref().map(|_| ()).map_err(CommitFailure::of), 1);
        result.map_err(to_error)
    }
}

impl Drop for InlineTx {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let Some(mut guard) = self.guard.take() else { return };
        let state = &mut *guard;
        let Some(conn) = state.conn.as_ref() else { return };
        if !self.in_group {
            if let Err(e) = conn.execute_batch("ROLLBACK") {
                tracing::warn!(error = %e, "could not roll back an inline SQLite transaction");
            }
            return;
        }
        // Undo this member's work only; the group's stays for its COMMIT.
        if let Err(e) = conn.execute_batch("ROLLBACK TO socle_member; RELEASE socle_member") {
            tracing::warn!(error = %e, "could not roll back an inline SQLite savepoint");
        }
        if conn.is_autocommit() {
            tell(&mut state.group, Err(CommitFailure(None, "the transaction was rolled back".into())), 0);
        } else if self.lock.waiting.load(Ordering::SeqCst) == 0 {
            state.commit_group();
        }
    }
}
