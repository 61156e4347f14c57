//! The database's fast paths, on both engines: text and count reads (on SQLite, answered on
//! the calling thread, and moved to the blocking pool when they run long), and inline write
//! transactions (on SQLite, on the calling thread, serialized with sqlx's writes).

use kernel::{Db, Error, args};

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

async fn scratch_table(db: &Db) {
    db.execute("CREATE TABLE scratch (id TEXT PRIMARY KEY, n BIGINT NOT NULL, note TEXT)", args![])
        .await
        .expect("create table");
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

on_both_backends!(
    concurrent_inline_writes_commit_together_and_fail_alone,
    fast_reads_bind_by_number_and_see_every_commit,
    a_long_read_gives_way_and_still_answers,
    inline_transactions_commit_roll_back_and_conflict,
    inline_and_sqlx_writes_take_turns,
);
