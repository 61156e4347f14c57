//! Answers of hot authorization reads (is this session live, what is this member's role in
//! that organization), kept for a moment so that each request of a signed-in client does
//! not ask the database again.
//!
//! An answer is reused only while no write has committed in this process since it was read,
//! and for at most its time to live. Writes here means every statement and transaction
//! outside app records (those run on the inline path, [`crate::Db::begin_inline`], and
//! never touch accounts, sessions or memberships), so a change made by this process (a
//! sign-out, a role change, a removed member) holds from the next request on, and one made
//! by another process sharing the database within the time to live. Any write invalidates
//! every answer: writes of that kind are rare next to reads, and a narrower rule would have
//! to know which tables each statement touches.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long an answer may be reused: how late another process sharing the database sees a
/// change made by this one.
pub const TIME_TO_LIVE: Duration = Duration::from_secs(1);
/// Answers kept at most; past it, all are dropped (each is one query to read again).
const CAPACITY: usize = 10_000;

static COMMITTED_WRITES: AtomicU64 = AtomicU64::new(0);

/// Called after every write outside app records has committed (or its COMMIT has run).
pub(crate) fn note_committed_write() {
    COMMITTED_WRITES.fetch_add(1, Ordering::AcqRel);
}

/// What to remember with an answer: taken before the query that reads it, so that a write
/// committed while the query ran makes the answer unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadMark(u64);

impl ReadMark {
    pub fn now() -> Self {
        ReadMark(COMMITTED_WRITES.load(Ordering::Acquire))
    }
}

pub struct RecentReads<K, V> {
    entries: RwLock<HashMap<K, (ReadMark, Instant, V)>>,
    time_to_live: Duration,
}

impl<K: Hash + Eq, V: Clone> Default for RecentReads<K, V> {
    fn default() -> Self {
        RecentReads { entries: RwLock::new(HashMap::new()), time_to_live: TIME_TO_LIVE }
    }
}

impl<K: Hash + Eq, V: Clone> RecentReads<K, V> {
    /// The answer for `key`, if it was read after the last write and less than its time to
    /// live ago.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().ok()?;
        let (mark, at, value) = entries.get(key)?;
        (*mark == ReadMark::now() && at.elapsed() < self.time_to_live).then(|| value.clone())
    }

    /// Remember `value`, read by a query that started at `mark`.
    pub fn put(&self, key: K, mark: ReadMark, value: V) {
        if mark != ReadMark::now() {
            return;
        }
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key, (mark, Instant::now(), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_reused_until_a_write_commits() {
        let reads: RecentReads<&str, i32> = RecentReads::default();
        // Other tests of this process may write in between: retry until one round is quiet.
        let reused = (0..100).any(|_| {
            reads.put("k", ReadMark::now(), 1);
            reads.get(&"k") == Some(1)
        });
        assert!(reused);
        note_committed_write();
        assert_eq!(reads.get(&"k"), None);
    }

    #[test]
    fn an_answer_expires_after_its_time_to_live() {
        let reads: RecentReads<&str, i32> =
            RecentReads { entries: RwLock::new(HashMap::new()), time_to_live: Duration::from_millis(50) };
        reads.put("k", ReadMark::now(), 1);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(reads.get(&"k"), None);
    }

    #[test]
    fn an_answer_read_while_a_write_committed_is_not_kept() {
        let reads: RecentReads<&str, i32> = RecentReads::default();
        let mark = ReadMark::now();
        note_committed_write();
        reads.put("k", mark, 1);
        assert_eq!(reads.get(&"k"), None);
    }
}
