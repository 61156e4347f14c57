//! The update log of each page and its snapshots: append, load, checkpoint, time travel,
//! and folding old history into the base.

use kernel::{Db, Error, Result, Tx, args};
use time::OffsetDateTime;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Transact, TransactionMut, Update};

use crate::mapping;

/// One change to log.
#[derive(Debug, Clone)]
pub struct NewUpdate {
    pub session_id: String,
    pub author_id: String,
    pub kind: &'static str,
    pub data: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    data: Vec<u8>,
}

/// A page's Y.Doc as the log holds it.
pub struct Loaded {
    pub doc: Doc,
    /// The last log row applied (0: none).
    pub last_id: i64,
    /// When the last row was written, and by whom.
    pub last_change: Option<(OffsetDateTime, String)>,
    /// Rows read after the checkpoint (loading cost; a checkpoint is due when large).
    pub rows_after_checkpoint: usize,
}

/// Apply `data` (a v1 update) to `doc`; a row that does not decode is skipped with a warning
/// (it was accepted once, so this means corruption, and the rest of the page still loads).
pub fn apply(doc: &Doc, data: &[u8]) -> bool {
    apply_in(&mut doc.transact_mut(), data)
}

/// [`apply`] inside a transaction of the document.
pub fn apply_in(txn: &mut TransactionMut, data: &[u8]) -> bool {
    Update::decode_v1(data).is_ok_and(|update| txn.apply_update(update).is_ok())
}

/// The whole document as one v1 update (a checkpoint, a base, a state in time): what is
/// integrated, and the updates still waiting for what they depend on (an edit that arrived
/// before the sync step 2 it builds on) when they encode to something that decodes.
///
/// Not yrs's `encode_state_as_update_v1`: it merges the waiting updates with an `unwrap`,
/// and some malformed updates that apply without an error are kept waiting in a form that
/// does not decode again, so any editor could make every later checkpoint of the page
/// panic. Such waiting content is left out: it was never part of the document.
pub fn whole_state<T: ReadTxn>(txn: &T) -> Vec<u8> {
    let integrated = txn.encode_diff_v1(&StateVector::default());
    let store = txn.store();
    let mut parts = Vec::new();
    if let Some(pending) = store.pending_update() {
        parts.push(pending.update.encode_v1());
    }
    if let Some(deletes) = store.pending_ds() {
        // An update with no structs (0 clients), then the delete set.
        let mut update = vec![0u8];
        update.extend(deletes.encode_v1());
        parts.push(update);
    }
    // Each waiting part (structs, deletes) merged in on its own: one that does not decode, or
    // does not merge, is left out without the other.
    let decodes = |u: &[u8]| Update::decode_v1(u).is_ok();
    let mut state = integrated;
    for part in parts {
        // yrs's merge has `unwrap`s of its own: a panic there leaves the part out too.
        let merged = std::panic::catch_unwind(|| {
            decodes(&part).then(|| yrs::merge_updates_v1([state.as_slice(), part.as_slice()]).ok()).flatten()
        });
        match merged {
            Ok(Some(merged)) if decodes(&merged) => state = merged,
            _ => tracing::warn!("left out of a collab snapshot: waiting updates that do not encode again"),
        }
    }
    state
}

/// Whether a v1 update changes nothing.
pub fn is_empty_update(data: &[u8]) -> bool {
    Update::decode_v1(data).map(|u| u.is_empty()).unwrap_or(true)
}

/// Append updates to `page_id`'s log in one statement; the id of the last one.
pub async fn append(tx: &mut Tx, page_id: &str, updates: &[NewUpdate], now: OffsetDateTime) -> Result<i64> {
    Ok(append_rows(tx, page_id, updates, now).await?.1)
}

/// [`append`], returning the first and the last id of the rows.
pub async fn append_rows(tx: &mut Tx, page_id: &str, updates: &[NewUpdate], now: OffsetDateTime) -> Result<(i64, i64)> {
    if updates.is_empty() {
        return Ok((0, 0));
    }
    let mut sql =
        String::from("INSERT INTO collab_updates (page_id, session_id, author_id, kind, data, created_at) VALUES ");
    let mut values = Vec::with_capacity(updates.len() * 6);
    for (i, u) in updates.iter().enumerate() {
        let n = i * 6;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${}, ${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4, n + 5, n + 6));
        values.extend(args![page_id, &u.session_id, &u.author_id, u.kind, u.data.clone(), now]);
    }
    // As text: the statement also runs in SQLite's inline transactions (see
    // `kernel::inline_writer`), which read text columns only.
    sql.push_str(" RETURNING CAST(id AS TEXT)");
    let ids: Vec<i64> =
        tx.fetch_texts(sqlx::AssertSqlSafe(sql), values).await?.iter().filter_map(|id| id.parse().ok()).collect();
    Ok((ids.iter().copied().min().unwrap_or(0), ids.iter().copied().max().unwrap_or(0)))
}

async fn snapshot(db: &Db, page_id: &str, kind: &str) -> Result<Option<(i64, Vec<u8>)>> {
    db.fetch_optional(
        "SELECT upto_id, state FROM collab_snapshots WHERE page_id = $1 AND kind = $2",
        args![page_id, kind],
    )
    .await
}

async fn rows_after(db: &Db, page_id: &str, after: i64, until: Option<OffsetDateTime>) -> Result<Vec<Row>> {
    match until {
        None => {
            db.fetch_all(
                "SELECT id, data FROM collab_updates WHERE page_id = $1 AND id > $2 ORDER BY id",
                args![page_id, after],
            )
            .await
        }
        Some(t) => {
            db.fetch_all(
                "SELECT id, data FROM collab_updates WHERE page_id = $1 AND id > $2 AND created_at <= $3 ORDER BY id",
                args![page_id, after, t],
            )
            .await
        }
    }
}

/// How long a batch may stay uncommitted after its rows got their ids (a room's log
/// transaction takes milliseconds; this allows for waiting on a lock).
const COMMIT_MARGIN: time::Duration = time::Duration::seconds(10);

/// Rows at or below a snapshot's `upto` that were written shortly before row `upto`. On
/// PostgreSQL ids are not committed in order: a checkpoint up to row N, taken by the process
/// that wrote row N, may lack a row below N that another process committed just after it.
/// Such a row was written (its `created_at` is set before its commit) at most
/// [`COMMIT_MARGIN`] before row N. (A base's rows are folded away: none is found. SQLite's
/// one writer commits ids in order: none there.)
async fn rows_committed_late(db: &Db, page_id: &str, upto: i64) -> Result<Vec<Row>> {
    if db.kind() != kernel::DbKind::Postgres {
        return Ok(Vec::new());
    }
    let taken: Option<(OffsetDateTime,)> = db
        .fetch_optional("SELECT created_at FROM collab_updates WHERE page_id = $1 AND id = $2", args![page_id, upto])
        .await?;
    let Some((taken,)) = taken else { return Ok(Vec::new()) };
    db.fetch_all(
        "SELECT id, data FROM collab_updates WHERE page_id = $1 AND id <= $2 AND created_at >= $3 ORDER BY id",
        args![page_id, upto, taken - COMMIT_MARGIN],
    )
    .await
}

/// The page's document: its checkpoint (or base) and every row after it.
pub async fn load(db: &Db, page_id: &str) -> Result<Loaded> {
    // Whichever snapshot goes further: a fold of old history can move the base past an
    // older checkpoint (whose later rows it deleted).
    let start = match (snapshot(db, page_id, "checkpoint").await?, snapshot(db, page_id, "base").await?) {
        (Some(c), Some(b)) => Some(if c.0 >= b.0 { c } else { b }),
        (c, b) => c.or(b),
    };
    let doc = mapping::new_doc();
    let mut last_id = 0;
    let mut late = Vec::new();
    if let Some((upto, state)) = start {
        apply(&doc, &state);
        last_id = upto;
        late = rows_committed_late(db, page_id, upto).await?;
    }
    let mut rows = rows_after(db, page_id, last_id, None).await?;
    let rows_after_checkpoint = rows.len();
    // Applied first: they come before the rows after the snapshot (applying one the
    // snapshot already holds changes nothing).
    late.append(&mut rows);
    let rows = late;
    {
        let mut txn = doc.transact_mut();
        for row in &rows {
            if let Ok(update) = Update::decode_v1(&row.data) {
                if txn.apply_update(update).is_err() {
                    tracing::warn!(page_id, row = row.id, "a logged collab update does not apply");
                }
            } else {
                tracing::warn!(page_id, row = row.id, "a logged collab update does not decode");
            }
        }
    }
    if let Some(row) = rows.last() {
        last_id = row.id;
    }
    let last_change: Option<(OffsetDateTime, String)> = db
        .fetch_optional(
            "SELECT created_at, author_id FROM collab_updates WHERE page_id = $1 ORDER BY id DESC LIMIT 1",
            args![page_id],
        )
        .await?;
    Ok(Loaded { doc, last_id, last_change, rows_after_checkpoint })
}

/// The rows after `after` (a process catching up on another's changes).
pub async fn updates_after(db: &Db, page_id: &str, after: i64) -> Result<Vec<(i64, Vec<u8>)>> {
    Ok(rows_after(db, page_id, after, None).await?.into_iter().map(|r| (r.id, r.data)).collect())
}

/// The page's updates with ids from `first` to `last` (another process's batch: on
/// PostgreSQL ids are not committed in order, so "after the last id this room holds" could
/// skip a batch committed after a later one).
pub async fn updates_between(db: &Db, page_id: &str, first: i64, last: i64) -> Result<Vec<(i64, Vec<u8>)>> {
    let rows: Vec<Row> = db
        .fetch_all(
            "SELECT id, data FROM collab_updates WHERE page_id = $1 AND id >= $2 AND id <= $3 ORDER BY id",
            args![page_id, first, last],
        )
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.data)).collect())
}

/// Save the whole state up to row `upto_id` as the page's checkpoint.
pub async fn checkpoint(db: &Db, page_id: &str, state: Vec<u8>, upto_id: i64) -> Result<()> {
    let mut tx = db.begin_inline().await?;
    checkpoint_in(&mut tx, page_id, state, upto_id).await?;
    tx.commit().await
}

/// [`checkpoint`] inside a transaction (a room checkpoints in the transaction that logs the
/// rows it covers).
pub async fn checkpoint_in(tx: &mut Tx, page_id: &str, state: Vec<u8>, upto_id: i64) -> Result<()> {
    upsert_snapshot(tx, page_id, "checkpoint", upto_id, state).await
}

async fn upsert_snapshot(tx: &mut Tx, page_id: &str, kind: &str, upto_id: i64, state: Vec<u8>) -> Result<()> {
    tx.execute(
        "INSERT INTO collab_snapshots (page_id, kind, upto_id, state, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (page_id, kind) DO UPDATE SET upto_id = excluded.upto_id, state = excluded.state, created_at = excluded.created_at",
        args![page_id, kind, upto_id, state, kernel::time::now()],
    )
    .await?;
    Ok(())
}

/// The page's document as it was at `at`: the base and the rows written until then. A time
/// before the kept history (the page's first live change, or the fold of older history)
/// is refused.
pub async fn document_at(db: &Db, page_id: &str, at: OffsetDateTime) -> Result<serde_json::Value> {
    let base = snapshot(db, page_id, "base").await?;
    let after = base.as_ref().map_or(0, |(upto, _)| *upto);
    let oldest: Option<(OffsetDateTime,)> = db
        .fetch_optional(
            "SELECT created_at FROM collab_updates WHERE page_id = $1 AND id > $2 ORDER BY id LIMIT 1",
            args![page_id, after],
        )
        .await?;
    let kept_from = match (&base, oldest) {
        // The base holds everything before the oldest kept row.
        (Some(_), Some((t,))) => Some(t),
        (Some(_), None) => None,
        (None, Some((t,))) => Some(t),
        (None, None) => {
            return Err(Error::field("time", "no_history", "this page has no live editing history yet"));
        }
    };
    if let Some(from) = kept_from
        && at < from
    {
        let starts = kernel::time::rfc3339(from);
        return Err(match base {
            None => Error::field("time", "before_history", format!("the history of this page starts at {starts}")),
            // Only the folded state is known before the oldest kept row.
            Some(_) => Error::field("time", "compacted", format!("history before {starts} was compacted")),
        });
    }
    let doc = mapping::new_doc();
    if let Some((_, state)) = &base {
        apply(&doc, state);
    }
    for row in rows_after(db, page_id, after, Some(at)).await? {
        apply(&doc, &row.data);
    }
    Ok(mapping::to_json(&doc))
}

/// The page's document just before log row `id` (a v1 update of the whole state): what a
/// session starting at that row was edited from. Starts from the snapshot nearest below
/// `id` (a checkpoint or the base), else from nothing.
pub async fn state_before(db: &Db, page_id: &str, id: i64) -> Result<Vec<u8>> {
    let start: Option<(i64, Vec<u8>)> = db
        .fetch_optional(
            "SELECT upto_id, state FROM collab_snapshots WHERE page_id = $1 AND upto_id < $2
              ORDER BY upto_id DESC LIMIT 1",
            args![page_id, id],
        )
        .await?;
    let doc = mapping::new_doc();
    let after = match &start {
        Some((upto, state)) => {
            apply(&doc, state);
            *upto
        }
        None => 0,
    };
    for row in db
        .fetch_all::<Row>(
            "SELECT id, data FROM collab_updates WHERE page_id = $1 AND id > $2 AND id < $3 ORDER BY id",
            args![page_id, after, id],
        )
        .await?
    {
        apply(&doc, &row.data);
    }
    Ok(whole_state(&doc.transact()))
}

/// The page JSON the log holds up to row `upto_id` (included).
pub async fn document_upto(db: &Db, page_id: &str, upto_id: i64) -> Result<serde_json::Value> {
    let state = state_before(db, page_id, upto_id.saturating_add(1)).await?;
    let doc = mapping::new_doc();
    apply(&doc, &state);
    Ok(mapping::to_json(&doc))
}

/// Fold the rows of `page_id` written before `before` into its base: time travel and
/// replays then start there. Returns how many rows were folded.
pub async fn fold_history(db: &Db, page_id: &str, before: OffsetDateTime) -> Result<u64> {
    let last: Option<(i64,)> = db
        .fetch_optional(
            "SELECT id FROM collab_updates WHERE page_id = $1 AND created_at < $2 ORDER BY id DESC LIMIT 1",
            args![page_id, before],
        )
        .await?;
    let Some((upto,)) = last else { return Ok(0) };
    let doc = mapping::new_doc();
    let mut after = 0;
    if let Some((base_upto, state)) = snapshot(db, page_id, "base").await? {
        apply(&doc, &state);
        after = base_upto;
    }
    for row in db
        .fetch_all::<Row>(
            "SELECT id, data FROM collab_updates WHERE page_id = $1 AND id > $2 AND id <= $3 ORDER BY id",
            args![page_id, after, upto],
        )
        .await?
    {
        apply(&doc, &row.data);
    }
    let state = whole_state(&doc.transact());
    let mut tx = db.begin().await?;
    upsert_snapshot(&mut tx, page_id, "base", upto, state).await?;
    tx.commit().await?;
    let folded = db.execute("DELETE FROM collab_updates WHERE page_id = $1 AND id <= $2", args![page_id, upto]).await?;
    // A checkpoint older than the new base no longer has the rows after it.
    db.execute(
        "DELETE FROM collab_snapshots WHERE page_id = $1 AND kind = 'checkpoint' AND upto_id < $2",
        args![page_id, upto],
    )
    .await?;
    db.execute(
        "DELETE FROM collab_sessions WHERE page_id = $1 AND NOT EXISTS (SELECT 1 FROM collab_updates u WHERE u.session_id = collab_sessions.id)
            AND ended_at IS NOT NULL",
        args![page_id],
    )
    .await?;
    Ok(folded)
}

/// Pages with rows older than `before` (retention).
pub async fn pages_with_history_before(db: &Db, before: OffsetDateTime) -> Result<Vec<String>> {
    let rows: Vec<(String,)> =
        db.fetch_all("SELECT DISTINCT page_id FROM collab_updates WHERE created_at < $1", args![before]).await?;
    Ok(rows.into_iter().map(|(p,)| p).collect())
}

/// Drop everything kept of a page's live editing (the page was deleted).
pub async fn forget_page(tx: &mut Tx, page_id: &str) -> Result<()> {
    tx.execute("DELETE FROM collab_updates WHERE page_id = $1", args![page_id]).await?;
    tx.execute("DELETE FROM collab_snapshots WHERE page_id = $1", args![page_id]).await?;
    tx.execute("DELETE FROM collab_sessions WHERE page_id = $1", args![page_id]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use yrs::{Array, Map, Out, Text, TextRef, WriteTxn};

    /// Found by fuzzing yrs 0.28 with mutated updates: two structs of client 123 from its
    /// clock 47 (so they wait for clocks 0-46), which yrs applies without an error and keeps
    /// waiting in a form that does not decode again.
    const WAITING: [u8; 31] = [
        1, 2, 123, 47, 7, 196, 2, 4, 2, 5, 2, 120, 121, 40, 1, 4, 112, 97, 103, 101, 2, 107, 50, 1, 125, 0, 1, 2, 1, 0,
        1,
    ];

    fn page() -> Value {
        json!({"type": "page", "props": {"title": "Home"}, "children": [
            {"type": "heading", "props": {"text": "Hello", "level": 1}},
            {"type": "section", "children": [{"type": "text", "props": {"text": "inner"}}]}
        ]})
    }

    fn seeded() -> Doc {
        let doc = mapping::new_doc();
        assert!(apply(&doc, &mapping::seed_update(&page())));
        doc
    }

    fn heading_text(txn: &mut TransactionMut) -> TextRef {
        let root = txn.get_or_insert_map("page");
        let Some(Out::YArray(children)) = root.get(txn, "children") else { panic!("children") };
        let Some(Out::YMap(node)) = children.get(txn, 0) else { panic!("first child") };
        let Some(Out::YMap(props)) = node.get(txn, "props") else { panic!("props") };
        let Some(Out::YText(text)) = props.get(txn, "text") else { panic!("text") };
        text
    }

    /// An editor's update: what `change` does to its copy of `doc`.
    fn edit(editor: &Doc, change: impl FnOnce(&mut TransactionMut)) -> Vec<u8> {
        let mut txn = editor.transact_mut();
        change(&mut txn);
        txn.encode_update_v1()
    }

    #[test]
    fn the_whole_state_leaves_out_waiting_updates_that_do_not_encode_again() {
        let doc = seeded();
        assert!(apply(&doc, &WAITING), "yrs applies it without an error");
        assert!(doc.transact().has_missing_updates(), "and keeps it waiting");
        let state = whole_state(&doc.transact());
        let copy = mapping::new_doc();
        assert!(apply(&copy, &state), "the state decodes and applies");
        assert_eq!(mapping::to_json(&copy), mapping::to_json(&doc));
    }

    #[test]
    fn waiting_updates_that_encode_are_kept_in_the_whole_state() {
        let doc = seeded();
        let editor = seeded();
        let first = edit(&editor, |txn| heading_text(txn).push(txn, " world"));
        let second = edit(&editor, |txn| heading_text(txn).push(txn, "!"));
        // The second edit arrives first: it waits for the first.
        assert!(apply(&doc, &second));
        assert!(doc.transact().has_missing_updates());
        let state = whole_state(&doc.transact());
        let copy = mapping::new_doc();
        assert!(apply(&copy, &state));
        assert!(apply(&copy, &first), "the first edit arrives later");
        assert_eq!(mapping::to_json(&copy)["children"][0]["props"]["text"], "Hello world!");
    }

    /// Editors' updates with bytes changed, inserted, removed or cut: whatever yrs makes of
    /// them, nothing the room does with a document panics (a panic would take the room down).
    #[test]
    fn mutated_updates_never_make_a_room_panic() {
        let editor = seeded();
        let mut samples = vec![mapping::seed_update(&page())];
        for i in 0..24u32 {
            samples.push(edit(&editor, |txn| {
                let text = heading_text(txn);
                text.insert(txn, i % 5, "ab");
                if i % 3 == 0 {
                    text.remove_range(txn, 0, 1);
                }
                let root = txn.get_or_insert_map("page");
                let Some(Out::YArray(children)) = root.get(txn, "children") else { panic!("children") };
                if i % 4 == 0 {
                    children.push_back(txn, yrs::MapPrelim::from_iter([("type", yrs::In::from("text"))]));
                }
                if i % 7 == 0 && children.len(txn) > 2 {
                    children.remove(txn, 2);
                }
            }));
        }
        samples.push(WAITING.to_vec());
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5_000 {
            let mut data = samples[(next() % samples.len() as u64) as usize].clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % (data.len() as u64 + 1)) as usize;
                match next() % 4 {
                    0 if at < data.len() => data[at] = next() as u8,
                    1 if at < data.len() => data[at] ^= 1 << (next() % 8),
                    2 => data.truncate(at),
                    _ => data.insert(at, next() as u8),
                }
            }
            let doc = seeded();
            apply(&doc, &data);
            let state = whole_state(&doc.transact());
            apply(&mapping::new_doc(), &state);
            let _ = crate::validation::check(&mapping::to_json(&doc));
            let _ = doc.transact().encode_diff_v1(&StateVector::default());
        }
    }
}
