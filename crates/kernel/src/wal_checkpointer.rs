//! Checkpoints of the embedded database's write-ahead log, off the writers' path.
//!
//! Left to itself, SQLite checkpoints the WAL in whichever COMMIT takes it past
//! `wal_autocheckpoint` pages (1,000 by default): that COMMIT copies the log back into the
//! database file and syncs both, which takes milliseconds on a virtual disk (fsync measured
//! at 0.6 ms median, 5 ms at the 90th percentile, on the benchmark machine), and every writer
//! queued behind it waits as long. Here a thread of its own checkpoints once a second when
//! something was committed, in PASSIVE mode (it never waits for, nor blocks, a reader or a
//! writer). The writers keep an automatic checkpoint, far larger, as the bound on the log's
//! size should this thread fall behind.

use std::path::PathBuf;
use std::sync::Weak;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::inline_reader::Commits;

/// The writers' own automatic checkpoint (pages of 4 KiB: 64 MiB of log), reached only if
/// the checkpointer falls behind.
pub const WRITER_AUTOCHECKPOINT_PAGES: i64 = 16_384;

const EVERY: Duration = Duration::from_secs(1);

/// Start the checkpointer of the database at `path`; it stops once `alive` is gone (the
/// database handle was dropped).
pub(crate) fn spawn<T: Send + Sync + 'static>(path: PathBuf, commits: Commits, alive: Weak<T>) {
    let started = std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || {
        let mut conn: Option<Connection> = None;
        let mut checkpointed_at = commits.count();
        loop {
            std::thread::sleep(EVERY);
            if alive.upgrade().is_none() {
                return;
            }
            let now = commits.count();
            if now == checkpointed_at {
                continue;
            }
            if conn.is_none() {
                conn = Connection::open_with_flags(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(|e| tracing::warn!(error = %e, "the WAL checkpointer could not open the database"))
                .ok();
            }
            let Some(c) = conn.as_ref() else { continue };
            match checkpoint(c) {
                Ok(()) => checkpointed_at = now,
                Err(e) => {
                    tracing::warn!(error = %e, "a WAL checkpoint failed; tried again in a second");
                    conn = None;
                }
            }
        }
    });
    if let Err(e) = started {
        // The writers' automatic checkpoint still bounds the log.
        tracing::warn!(error = %e, "could not start the WAL checkpointer");
    }
}

/// Copy what no reader still needs from the log into the database file.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    let (_busy, _log_pages, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    metrics::histogram!("socle_db_wal_checkpoint_seconds").record(started.elapsed().as_secs_f64());
    metrics::counter!("socle_db_wal_pages_checkpointed_total").increment(copied.max(0) as u64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn file_len(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    #[test]
    fn the_log_is_copied_into_the_database_file_by_the_thread() -> rusqlite::Result<()> {
        let dir = std::env::temp_dir().join(format!("socle-wal-{}", crate::ids::random_token(8)));
        std::fs::create_dir_all(&dir).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        let path = dir.join("t.db");
        let writer = Connection::open(&path)?;
        writer.pragma_update(None, "journal_mode", "wal")?;
        writer.pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES)?;
        writer.execute_batch("CREATE TABLE t (v TEXT)")?;
        for _ in 0..100 {
            writer.execute("INSERT INTO t VALUES (?1)", ["x".repeat(1000)])?;
        }
        // Everything is in the log so far: the database file holds at most its first pages.
        assert!(file_len(&path) < 16 * 1024, "written before any checkpoint: {}", file_len(&path));
        let commits = Commits::default();
        let alive = Arc::new(());
        spawn(path.clone(), commits.clone(), Arc::downgrade(&alive));
        // Nothing is checkpointed until a commit is counted.
        std::thread::sleep(EVERY + Duration::from_millis(200));
        assert!(file_len(&path) < 16 * 1024, "checkpointed with no commit counted");
        commits.note();
        let mut waited = 0;
        while file_len(&path) < 100_000 && waited < 50 {
            std::thread::sleep(Duration::from_millis(100));
            waited += 1;
        }
        let len = file_len(&path);
        drop(alive);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(len >= 100_000, "the rows never reached the database file ({len} bytes)");
        Ok(())
    }
}
