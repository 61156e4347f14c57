//! Collab load time (run by `bench/collab.sh`, or alone):
//! `collab_load DATABASE_URL|sqlite UPDATES` writes a page whose update log holds UPDATES
//! small edits (one typed character each, as a live editor makes them), then times loading
//! its room's document from the log alone, checkpoints it (what the room does every
//! `checkpoint_every` rows and when it unloads), and times loading again. Prints one JSON line.

use std::time::Instant;

use collab::store::{self, NewUpdate};
use kernel::Config;
use yrs::{Map, Out, ReadTxn, StateVector, Text, Transact, WriteTxn};

fn config(url: &str) -> Config {
    let dir = std::env::temp_dir().join(format!("socle-bench-{}", uuid::Uuid::new_v4().simple()));
    let mut c = Config { bind: "127.0.0.1:0".into(), data_dir: dir, log_format: "json".into(), ..Config::default() };
    if url != "sqlite" {
        c.database_url = Some(url.to_string());
        c.jwt_secret = Some(kernel::ids::random_token(32));
        c.secrets_key = Some(kernel::ids::random_token(32));
    }
    c
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).map(String::as_str).unwrap_or("sqlite");
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    // On PostgreSQL the bench works in a schema of its own, dropped at the end.
    let schema = format!("socle_bench_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let url = if url == "sqlite" {
        url.to_string()
    } else {
        let admin = sqlx::PgPool::connect(url).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await?;
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}options[search_path]={schema}")
    };
    let url = url.as_str();
    let db = server::open_database(&config(url)).await?;
    let page_id = format!("bench-{}", kernel::ids::new_id());
    // One editor typing: each character is one update in the log.
    let editor = collab::mapping::doc_from_json(&serde_json::json!({"type": "page", "children": [
        {"type": "text", "props": {"text": ""}}]}));
    let seed = editor.transact().encode_state_as_update_v1(&StateVector::default());
    let mut rows = vec![NewUpdate { session_id: "bench".into(), author_id: "bench".into(), kind: "seed", data: seed }];
    for i in 0..n {
        let mut txn = editor.transact_mut();
        let root = txn.get_or_insert_map("page");
        let Some(Out::YArray(children)) = root.get(&txn, "children") else { anyhow::bail!("children") };
        let Some(Out::YMap(node)) = yrs::Array::get(&children, &txn, 0) else { anyhow::bail!("node") };
        let Some(Out::YMap(props)) = node.get(&txn, "props") else { anyhow::bail!("props") };
        let Some(Out::YText(text)) = props.get(&txn, "text") else { anyhow::bail!("text") };
        let len = text.len(&txn);
        text.insert(&mut txn, len, if i % 50 == 49 { " " } else { "x" });
        rows.push(NewUpdate {
            session_id: "bench".into(),
            author_id: "bench".into(),
            kind: "edit",
            data: txn.encode_update_v1(),
        });
    }
    for chunk in rows.chunks(1000) {
        let mut tx = db.begin().await?;
        store::append(&mut tx, &page_id, chunk, kernel::time::now()).await?;
        tx.commit().await?;
    }
    let expected = collab::mapping::to_json(&editor);
    let mut from_log = Vec::new();
    let mut last_id = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let loaded = store::load(&db, &page_id).await?;
        from_log.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(collab::mapping::to_json(&loaded.doc) == expected, "the loaded document differs");
        last_id = loaded.last_id;
    }
    let state = {
        let loaded = store::load(&db, &page_id).await?;
        let txn = loaded.doc.transact();
        txn.encode_state_as_update_v1(&StateVector::default())
    };
    let state_bytes = state.len();
    store::checkpoint(&db, &page_id, state, last_id).await?;
    let mut from_checkpoint = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let loaded = store::load(&db, &page_id).await?;
        from_checkpoint.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(collab::mapping::to_json(&loaded.doc) == expected, "the checkpointed document differs");
    }
    let text_len = expected["children"][0]["props"]["text"].as_str().map_or(0, str::len);
    if url != "sqlite" {
        db.close().await;
        let base = url.split("options[search_path]").next().unwrap_or(url).trim_end_matches(['?', '&']);
        let admin = sqlx::PgPool::connect(base).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&admin).await?;
    }
    println!(
        "{}",
        serde_json::json!({
            "database": if url == "sqlite" { "sqlite" } else { "postgres" },
            "updates": n,
            "text_chars": text_len,
            "load_from_log_ms": median(from_log),
            "checkpoint_bytes": state_bytes,
            "load_from_checkpoint_ms": median(from_checkpoint),
        })
    );
    Ok(())
}
