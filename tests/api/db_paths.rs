//! The database's fast paths, on both engines: text and count reads (on SQLite, answered on
//! the calling thread, and moved to the blocking pool when they run long), and inline write
//! transactions (on SQLite, on the calling thread, serialized with sqlx's writes).

use kernel::{Db, Error, args};
use sqlx::AssertSqlSafe;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

async fn scratch_table(db: &Db) {
    db.execute("CREATE TABLE scratch (id TEXT PRIMARY KEY, n BIGINT NOT NULL, note TEXT)", args![])
        .await
        .expect("create table");
}

async fn scratch_rows(db: &Db) -> i64 {
    db.count("SELECT COUNT(*) FROM scratch", args![]).await.expect("count")
}

async fn fast_reads_bind_by_number_and_see_every_commit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = &app.db;
    scratch_table(db).await;
    db.execute("INSERT INTO scratch (id, n, note) VALUES ($1, $2, $3)", args!["a", 1i64, "first"])
        .await
        .expect("insert");
    // `$2` comes before `$1` in the text: each value still goes to its own number.
    let rows = db
        .fetch_texts(
            "SELECT note || ':' || CAST($2 AS TEXT) FROM scratch WHERE id = $1",
            args!["a", "second parameter"],
        )
        .await
        .expect("read");
    assert_eq!(rows, vec!["first:second parameter".to_string()]);
    // A write committed through the writer is seen by the very next read.
    for i in 2..=20i64 {
        db.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args![format!("k{i}"), i]).await.expect("insert");
        let n = db.count("SELECT COUNT(*) FROM scratch", args![]).await.expect("count");
        assert_eq!(n, i);
    }
    // Missing parameters are an error, not a NULL.
    assert!(db.fetch_texts("SELECT note FROM scratch WHERE id = $1 AND n = $2", args!["a"]).await.is_err());
}

async fn a_long_read_gives_way_and_still_answers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Far past the inline budget (a hundred thousand steps or so): on SQLite the first run is
    // interrupted and the query answered on the blocking pool; later runs go there at once.
    let sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT COUNT(*) FROM c";
    for _ in 0..3 {
        assert_eq!(app.db.count(sql, args![]).await.expect("count"), 300_000);
    }
    // Meanwhile short reads still answer.
    assert_eq!(app.db.count("SELECT CAST(41 + 1 AS BIGINT)", args![]).await.expect("count"), 42);
}

async fn inline_transactions_commit_roll_back_and_conflict(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = &app.db;
    scratch_table(db).await;
    let mut tx = db.begin_inline().await.expect("begin");
    tx.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args!["kept", 1i64]).await.expect("insert");
    let returned = tx
        .fetch_texts("INSERT INTO scratch (id, n) VALUES ($1, $2) RETURNING id", args!["also", 2i64])
        .await
        .expect("insert returning");
    assert_eq!(returned, vec!["also".to_string()]);
    assert_eq!(tx.count("SELECT COUNT(*) FROM scratch", args![]).await.expect("count in tx"), 2);
    tx.commit().await.expect("commit");

    let mut tx = db.begin_inline().await.expect("begin");
    tx.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args!["dropped", 3i64]).await.expect("insert");
    drop(tx);
    assert_eq!(db.count("SELECT COUNT(*) FROM scratch", args![]).await.expect("count"), 2, "a dropped tx rolls back");

    let mut tx = db.begin_inline().await.expect("begin");
    let dup = tx.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args!["kept", 4i64]).await;
    assert!(matches!(dup, Err(Error::Conflict(_))), "a duplicate key is a conflict: {dup:?}");
    drop(tx);
    // NUL characters are refused on this path as on the others.
    let mut tx = db.begin_inline().await.expect("begin");
    let nul = tx.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args!["bad\0id", 5i64]).await;
    assert!(matches!(nul, Err(Error::BadRequest(_))), "{nul:?}");
}

async fn inline_and_sqlx_writes_take_turns(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = app.db.clone();
    scratch_table(&db).await;
    // Writers of both kinds at once: on SQLite each waits for the process's write lock
    // instead of failing with SQLITE_BUSY; nothing is lost.
    let mut tasks = Vec::new();
    for i in 0..40i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let mut tx = db.begin_inline().await?;
                tx.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args![format!("inline{i}"), i]).await?;
                tx.commit().await
            } else {
                let mut tx = db.begin().await?;
                tx.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args![format!("sqlx{i}"), i]).await?;
                tx.commit().await?;
                db.execute("UPDATE scratch SET note = $2 WHERE id = $1", args![format!("sqlx{i}"), "touched"]).await?;
                Ok(())
            }
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("write");
    }
    assert_eq!(db.count("SELECT COUNT(*) FROM scratch", args![]).await.expect("count"), 40);
    assert_eq!(db.count("SELECT COUNT(*) FROM scratch WHERE note = $1", args!["touched"]).await.expect("count"), 20);
}

async fn concurrent_inline_writes_commit_together_and_fail_alone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = app.db.clone();
    scratch_table(&db).await;
    db.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args!["taken", 0i64]).await.expect("insert");
    let grouped_before = kernel::inline_writer::grouped_commits();
    // 120 writers at once, each yielding inside its transaction so that the others queue
    // for the writer: on SQLite, those that finish while others wait commit as a group.
    let mut tasks = Vec::new();
    for i in 0..120i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("w{i}");
            let mut tx = db.begin_inline().await?;
            tx.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args![&id, i]).await?;
            tokio::task::yield_now().await;
            match i % 10 {
                // A duplicate key fails this writer only; its own insert goes with it.
                3 => {
                    let dup = tx.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args!["taken", i]).await;
                    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
                    drop(tx);
                }
                // Given up: rolled back, the others' work stays.
                7 => drop(tx),
                _ => {
                    tx.commit().await?;
                    // Answered only once durable: another connection sees it at once.
                    let seen = db.count("SELECT COUNT(*) FROM scratch WHERE id = $1", args![&id]).await?;
                    assert_eq!(seen, 1, "{id} committed but not visible");
                }
            }
            Ok::<_, Error>(())
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("write");
    }
    assert_eq!(db.count("SELECT COUNT(*) FROM scratch", args![]).await.expect("count"), 1 + 96);
    let failed = db
        .count("SELECT COUNT(*) FROM scratch WHERE n % 10 IN (3, 7) AND id <> $1", args!["taken"])
        .await
        .expect("count");
    assert_eq!(failed, 0, "a failed or dropped writer left rows behind");
    // A sqlx write after the groups sees everything (it commits any open group first).
    assert_eq!(db.execute("UPDATE scratch SET note = $1", args!["all"]).await.expect("update"), 97);
    if backend == Backend::Sqlite {
        assert!(kernel::inline_writer::grouped_commits() > grouped_before, "no transaction was committed in a group");
    }
}

/// On SQLite a worker thread keeps its read transaction from one query to the next (see
/// `kernel::inline_reader`): every kind of commit this process makes ends it before the next
/// query, so a read never misses a write answered before it.
async fn held_reads_see_every_commit_of_this_process(backend: Backend) {
    // Held for as long as nothing commits, on workers kept from parking: only the count of
    // commits ends a held transaction here, so a write path that is not counted fails.
    let app = TestApp::spawn_with(backend, |c| c.db_held_read_ms = 60_000).await;
    let _busy = KeepWorkersBusy::start();
    let db = app.db.clone();
    // A table created after reads have begun is there for the next one.
    assert_eq!(db.count("SELECT CAST(1 AS BIGINT)", args![]).await.expect("count"), 1);
    scratch_table(&db).await;
    assert_eq!(scratch_rows(&db).await, 0);
    // Tasks move between the two workers at each await: rounds make it likely that every
    // path is followed by a read on a thread that holds a transaction from before it.
    let mut rows = 0;
    for round in 0..8i64 {
        // An auto-committed statement.
        let id = format!("auto{round}");
        db.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args![id, round]).await.expect("insert");
        rows += 1;
        assert_eq!(scratch_rows(&db).await, rows, "an auto-committed insert went unseen");
        // A sqlx transaction.
        let mut tx = db.begin().await.expect("begin");
        let id = format!("sqlx{round}");
        tx.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args![id, round]).await.expect("insert");
        tx.commit().await.expect("commit");
        rows += 1;
        assert_eq!(scratch_rows(&db).await, rows, "a sqlx transaction went unseen");
        // An inline transaction committed alone.
        let mut tx = db.begin_inline().await.expect("begin");
        let id = format!("inline{round}");
        tx.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args![id, round]).await.expect("insert");
        tx.commit().await.expect("commit");
        rows += 1;
        assert_eq!(scratch_rows(&db).await, rows, "an inline transaction went unseen");
        // Inline transactions committed in groups: each writer reads its own row at once.
        let writers: Vec<_> = (0..20i64)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
                    let id = format!("g{round}-{i}");
                    let mut tx = db.begin_inline().await?;
                    tx.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args![&id, i]).await?;
                    tokio::task::yield_now().await;
                    tx.commit().await?;
                    db.count("SELECT COUNT(*) FROM scratch WHERE id = $1", args![&id]).await
                })
            })
            .collect();
        for w in writers {
            assert_eq!(w.await.expect("task").expect("write"), 1, "a grouped write went unseen by its writer");
        }
        rows += 20;
        assert_eq!(scratch_rows(&db).await, rows, "grouped writes went unseen");
        // A column added after reads of the table is read by the next one.
        let column = format!("extra{round}");
        db.execute(AssertSqlSafe(format!("ALTER TABLE scratch ADD COLUMN {column} TEXT")), args![])
            .await
            .expect("alter");
        db.execute(AssertSqlSafe(format!("UPDATE scratch SET {column} = $1")), args!["x"]).await.expect("update");
        let sql = format!("SELECT COUNT(*) FROM scratch WHERE {column} = $1");
        assert_eq!(db.count(AssertSqlSafe(sql), args!["x"]).await.expect("count"), rows, "an update went unseen");
    }
    if backend == Backend::Sqlite {
        // Reads with no write in between share one transaction for up to a millisecond.
        let begun = kernel::inline_reader::read_transactions_begun();
        for _ in 0..200 {
            assert_eq!(scratch_rows(&db).await, rows);
        }
        let begun = kernel::inline_reader::read_transactions_begun() - begun;
        assert!(begun < 100, "200 reads with no write in between began {begun} read transactions");
    }
}

/// Tasks that keep a runtime's two workers from parking (which ends held read transactions)
/// until dropped.
struct KeepWorkersBusy(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl KeepWorkersBusy {
    fn start() -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        for _ in 0..2 {
            let stop = stop.clone();
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    tokio::task::yield_now().await;
                }
            });
        }
        KeepWorkersBusy(stop)
    }
}

impl Drop for KeepWorkersBusy {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A write through another connection to the file (another process, or another `Db`) is
/// not counted by this process: a held read transaction gives way to it within
/// `db_held_read_ms` (1 ms), even on a thread that never parks in between.
#[test]
fn held_reads_see_another_process_write_within_their_age_limit() {
    crate::support::run_on_workers(async {
        let app = TestApp::spawn(Backend::Sqlite).await;
        let db = &app.db;
        scratch_table(db).await;
        let file = app.data_dir.join("socle.db");
        for i in 0..20i64 {
            assert_eq!(db.count("SELECT COUNT(*) FROM scratch", args![]).await.expect("count"), i);
            // Written on a thread of its own, waited for without yielding: this worker does
            // not park, so only the age limit ends the transaction it holds.
            let file = file.clone();
            std::thread::spawn(move || write_elsewhere(&file, i)).join().expect("the other writer panicked");
            std::thread::sleep(std::time::Duration::from_millis(2));
            assert_eq!(db.count("SELECT COUNT(*) FROM scratch", args![]).await.expect("count"), i + 1);
        }
    });
}

fn write_elsewhere(file: &std::path::Path, i: i64) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(file);
        let mut conn = sqlx::ConnectOptions::connect(&options).await.expect("another connection");
        sqlx::query("INSERT INTO scratch (id, n) VALUES ($1, $2)")
            .bind(format!("elsewhere{i}"))
            .bind(i)
            .execute(&mut conn)
            .await
            .expect("insert elsewhere");
    });
}

/// A worker thread about to park ends the read transaction it holds: an idle server holds
/// none, and a checkpoint can empty the WAL.
#[test]
fn idle_workers_hold_no_read_transaction() {
    crate::support::run_on_workers(async {
        let app = TestApp::spawn(Backend::Sqlite).await;
        let db = &app.db;
        scratch_table(db).await;
        for i in 0..50i64 {
            db.execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", args![format!("k{i}"), i]).await.expect("insert");
        }
        let begun = kernel::inline_reader::read_transactions_begun();
        assert_eq!(db.count("SELECT COUNT(*) FROM scratch", args![]).await.expect("count"), 50);
        assert!(kernel::inline_reader::read_transactions_begun() > begun, "the read was not held");
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(app.data_dir.join("socle.db"))
            .busy_timeout(std::time::Duration::from_secs(2));
        let mut conn = sqlx::ConnectOptions::connect(&options).await.expect("another connection");
        // Once the worker that read has parked (when is up to the machine's scheduler), the
        // WAL can be emptied. A worker that kept its transaction while idle never lets it be.
        crate::eventually!("no reader to hold the WAL", {
            let (busy, wal_frames, _): (i64, i64, i64) =
                sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut conn).await.expect("checkpoint");
            ((busy, wal_frames) == (0, 0)).then_some(())
        });
    });
}

on_both_backends!(
    held_reads_see_every_commit_of_this_process,
    concurrent_inline_writes_commit_together_and_fail_alone,
    fast_reads_bind_by_number_and_see_every_commit,
    a_long_read_gives_way_and_still_answers,
    inline_transactions_commit_roll_back_and_conflict,
    inline_and_sqlx_writes_take_turns,
);
