//! One page of a sorted, counted listing in a single pass over the matching rows (SQLite).
//!
//! A listing with its total used to cost SQLite two scans of the matching rows: one for
//! `COUNT(*)`, one for `ORDER BY ... LIMIT`, whose sorter also copied every matching row
//! into a temporary b-tree. Here the matching rows' sort keys are streamed once: their number
//! is the total, and a heap of `offset + limit` entries keeps the page. The caller then
//! reads the page's rows by id. The order is SQLite's own (see [`SortValue`]'s `Ord`), so
//! the page is the one `ORDER BY ... LIMIT ... OFFSET` would give.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rusqlite::types::ValueRef;

/// Deeper pages than this are left to SQL's own `LIMIT ... OFFSET` (the heap holds
/// `offset + limit` entries).
pub const MAX_RANKED_ROWS: usize = 5_000;

/// Which rows of the ranking a page holds, and each sort key's direction.
#[derive(Debug, Clone)]
pub struct PageSpec {
    /// One entry per sort key column, `true` for descending.
    pub descending: Vec<bool>,
    pub offset: usize,
    pub limit: usize,
}

impl PageSpec {
    /// Whether [`rank`] may serve this page (else use `ORDER BY ... LIMIT ... OFFSET`).
    pub fn rankable(&self) -> bool {
        self.offset.saturating_add(self.limit) <= MAX_RANKED_ROWS
    }
}

/// The number of matching rows and the ids of the page's rows, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankedPage {
    pub total: i64,
    pub ids: Vec<String>,
}

/// A sort key as SQLite compares it without a collation: NULL first, then numbers (integers
/// and reals compared by value), then text by bytes, then blobs by bytes.
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

impl<'a> Key<'a> {
    fn of(v: ValueRef<'a>) -> Self {
        match v {
            ValueRef::Null => Key::Null,
            ValueRef::Integer(i) => Key::Integer(i),
            // SQLite stores NaN as NULL.
            ValueRef::Real(r) if r.is_nan() => Key::Null,
            ValueRef::Real(r) => Key::Real(r),
            ValueRef::Text(t) => Key::Text(t),
            ValueRef::Blob(b) => Key::Blob(b),
        }
    }

    fn class(self) -> u8 {
        match self {
            Key::Null => 0,
            Key::Integer(_) | Key::Real(_) => 1,
            Key::Text(_) => 2,
            Key::Blob(_) => 3,
        }
    }

    fn cmp(self, other: Key<'_>) -> Ordering {
        match (self, other) {
            (Key::Integer(a), Key::Integer(b)) => a.cmp(&b),
            (Key::Real(a), Key::Real(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
            (Key::Integer(a), Key::Real(b)) => int_real_cmp(a, b),
            (Key::Real(a), Key::Integer(b)) => int_real_cmp(b, a).reverse(),
            (Key::Text(a), Key::Text(b)) | (Key::Blob(a), Key::Blob(b)) => a.cmp(b),
            _ => self.class().cmp(&other.class()),
        }
    }
}

/// SQLite's `sqlite3IntFloatCompare`: exact, where a cast either way could round.
fn int_real_cmp(i: i64, r: f64) -> Ordering {
    if r < -9_223_372_036_854_775_808.0 {
        return Ordering::Greater;
    }
    if r >= 9_223_372_036_854_775_808.0 {
        return Ordering::Less;
    }
    let y = r as i64;
    match i.cmp(&y) {
        Ordering::Equal => (i as f64).partial_cmp(&r).unwrap_or(Ordering::Equal),
        other => other,
    }
}

/// A [`Key`] kept in the heap.
#[derive(Debug)]
enum OwnedKey {
    Null,
    Integer(i64),
    Real(f64),
    Text(Box<[u8]>),
    Blob(Box<[u8]>),
}

impl OwnedKey {
    fn of(key: Key<'_>) -> Self {
        match key {
            Key::Null => OwnedKey::Null,
            Key::Integer(i) => OwnedKey::Integer(i),
            Key::Real(r) => OwnedKey::Real(r),
            Key::Text(t) => OwnedKey::Text(t.into()),
            Key::Blob(b) => OwnedKey::Blob(b.into()),
        }
    }

    fn key(&self) -> Key<'_> {
        match self {
            OwnedKey::Null => Key::Null,
            OwnedKey::Integer(i) => Key::Integer(*i),
            OwnedKey::Real(r) => Key::Real(*r),
            OwnedKey::Text(t) => Key::Text(t),
            OwnedKey::Blob(b) => Key::Blob(b),
        }
    }
}

/// Compare two rows' keys, each turned for its direction, then their ids (ascending).
fn cmp_keys<'a, 'b>(
    a: impl Iterator<Item = Key<'a>>,
    a_id: &[u8],
    b: impl Iterator<Item = Key<'b>>,
    b_id: &[u8],
    descending: &[bool],
) -> Ordering {
    for ((x, y), desc) in a.zip(b).zip(descending) {
        let order = if *desc { y.cmp(x) } else { x.cmp(y) };
        if order != Ordering::Equal {
            return order;
        }
    }
    a_id.cmp(b_id)
}

/// A row's place in the ranking.
#[derive(Debug)]
struct Ranked {
    keys: Vec<OwnedKey>,
    id: String,
    descending: std::rc::Rc<[bool]>,
}

impl Ranked {
    fn read(row: &rusqlite::Row<'_>, descending: &std::rc::Rc<[bool]>) -> rusqlite::Result<Self> {
        let mut keys = Vec::with_capacity(descending.len());
        for i in 0..descending.len() {
            keys.push(OwnedKey::of(Key::of(row.get_ref(i + 1)?)));
        }
        Ok(Ranked { keys, id: row.get(0)?, descending: descending.clone() })
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_keys(
            self.keys.iter().map(OwnedKey::key),
            self.id.as_bytes(),
            other.keys.iter().map(OwnedKey::key),
            other.id.as_bytes(),
            &self.descending,
        )
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}

/// Whether `row` ranks before `last` (so that it belongs on a page `last` is on), read in
/// place: most rows of a long match do not, and are never copied.
fn ranks_before(row: &rusqlite::Row<'_>, last: &Ranked, descending: &[bool]) -> rusqlite::Result<bool> {
    for (i, (kept, desc)) in last.keys.iter().zip(descending).enumerate() {
        let key = Key::of(row.get_ref(i + 1)?);
        let order = if *desc { kept.key().cmp(key) } else { key.cmp(kept.key()) };
        if order != Ordering::Equal {
            return Ok(order == Ordering::Less);
        }
    }
    Ok(row.get_ref(0)?.as_bytes()? < last.id.as_bytes())
}

/// Rank the rows of a statement whose column 0 is the row's id (text, unique) and columns
/// 1.. its sort keys, one per `spec.descending`; ties are broken by the id, ascending, as
/// an `ORDER BY` ending with `id ASC` does.
pub(crate) fn rank(rows: &mut rusqlite::Rows<'_>, spec: &PageSpec) -> rusqlite::Result<RankedPage> {
    let keep = spec.offset.saturating_add(spec.limit);
    let descending: std::rc::Rc<[bool]> = spec.descending.as_slice().into();
    let mut total: i64 = 0;
    let mut heap: BinaryHeap<Ranked> = BinaryHeap::with_capacity(keep.min(MAX_RANKED_ROWS) + 1);
    while let Some(row) = rows.next()? {
        total += 1;
        if keep == 0 {
            continue;
        }
        if heap.len() < keep {
            heap.push(Ranked::read(row, &descending)?);
            continue;
        }
        if let Some(mut last) = heap.peek_mut()
            && ranks_before(row, &last, &descending)?
        {
            *last = Ranked::read(row, &descending)?;
        }
    }
    let ids = heap.into_sorted_vec().into_iter().skip(spec.offset).map(|r| r.id).collect();
    Ok(RankedPage { total, ids })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn ranked(conn: &Connection, sql: &str, spec: &PageSpec) -> RankedPage {
        let mut statement = conn.prepare(sql).unwrap();
        let mut rows = statement.raw_query();
        rank(&mut rows, spec).unwrap()
    }

    fn ordered(conn: &Connection, sql: &str) -> Vec<String> {
        let mut statement = conn.prepare(sql).unwrap();
        statement.query_map([], |r| r.get::<_, String>(0)).unwrap().map(|r| r.unwrap()).collect()
    }

    /// Every mix of types SQLite can hold in one column, ranked in both directions and at
    /// every offset, gives the page `ORDER BY ... LIMIT ... OFFSET` gives.
    #[test]
    fn pages_match_sqlite_order_by_for_mixed_types() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id TEXT PRIMARY KEY, v, w INTEGER);
             INSERT INTO t VALUES
               ('a', NULL, 1), ('b', 1, 2), ('c', 1.5, 1), ('d', 'x', 2), ('e', X'00', 1),
               ('f', 2, 2), ('g', 9007199254740993, 1), ('h', 9007199254740992.0, 2),
               ('i', -1e300, 1), ('j', '', 2), ('k', 1, 1), ('l', 'X', 2), ('m', 1.0, 1),
               ('n', -9223372036854775808, 2), ('o', 1e19, 1), ('p', NULL, 2),
               ('q', 9007199254740993.0, 1), ('r', 9007199254740993, 2);",
        )
        .unwrap();
        for (order, descending) in [
            ("v ASC", vec![false]),
            ("v DESC", vec![true]),
            ("w DESC, v ASC, id DESC", vec![true, false, true]),
            ("w ASC", vec![false]),
        ] {
            let keys: Vec<&str> = order.split(", ").map(|k| k.split(' ').next().unwrap()).collect();
            let scan = format!("SELECT id, {} FROM t WHERE w > 0", keys.join(", "));
            let all = ordered(&conn, &format!("SELECT id FROM t WHERE w > 0 ORDER BY {order}, id ASC"));
            for offset in 0..=all.len() {
                for limit in [0, 1, 3, 20] {
                    let page = ranked(&conn, &scan, &PageSpec { descending: descending.clone(), offset, limit });
                    let expected: Vec<String> = all.iter().skip(offset).take(limit).cloned().collect();
                    assert_eq!(page.ids, expected, "{order} offset {offset} limit {limit}");
                    assert_eq!(page.total, all.len() as i64);
                }
            }
        }
    }

    #[test]
    fn an_empty_match_has_no_total_and_no_page() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER);").unwrap();
        let spec = PageSpec { descending: vec![false], offset: 0, limit: 10 };
        assert_eq!(ranked(&conn, "SELECT id, v FROM t", &spec), RankedPage { total: 0, ids: vec![] });
    }

    #[test]
    fn deep_pages_are_left_to_sql() {
        assert!(PageSpec { descending: vec![], offset: 4_000, limit: 1_000 }.rankable());
        assert!(!PageSpec { descending: vec![], offset: 4_001, limit: 1_000 }.rankable());
        assert!(!PageSpec { descending: vec![], offset: usize::MAX, limit: 1 }.rankable());
    }
}
