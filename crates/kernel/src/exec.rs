//! One query interface over the pool and a transaction. A lookup or a write that does not
//! care whether it runs alone or inside the caller's transaction takes
//! `impl Into<Exec<'_>>` and is written once: callers pass `&db` or `&mut tx`.

use sqlx::SqlSafeStr;

use crate::db::{Arg, Db, DbKind, DbRow, DbScalar, Tx};
use crate::error::Result;

/// Where a query runs: on the pool (its own auto-commit statement) or in an open
/// transaction.
pub enum Exec<'a> {
    Db(&'a Db),
    Tx(&'a mut Tx),
}

impl<'a> From<&'a Db> for Exec<'a> {
    fn from(db: &'a Db) -> Self {
        Exec::Db(db)
    }
}

impl<'a> From<&'a mut Tx> for Exec<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        Exec::Tx(tx)
    }
}

/// Each query method of [`Db`] and [`Tx`], forwarded to whichever this is.
macro_rules! forward {
    ($(#[$doc:meta])* $name:ident<$($t:ident: $bound:path)?> -> $out:ty) => {
        $(#[$doc])*
        pub async fn $name$(<$t: $bound>)?(&mut self, sql: impl SqlSafeStr, args: Vec<Arg>) -> Result<$out> {
            match self {
                Exec::Db(db) => db.$name(sql, args).await,
                Exec::Tx(tx) => tx.$name(sql, args).await,
            }
        }
    };
}

impl Exec<'_> {
    /// The same executor for one more call, leaving this one usable after it.
    pub fn reborrow(&mut self) -> Exec<'_> {
        match self {
            Exec::Db(db) => Exec::Db(db),
            Exec::Tx(tx) => Exec::Tx(tx),
        }
    }

    pub fn kind(&self) -> DbKind {
        match self {
            Exec::Db(db) => db.kind(),
            Exec::Tx(tx) => tx.kind(),
        }
    }

    forward!(
        /// Run a statement; returns the number of rows affected.
        execute<> -> u64
    );
    forward!(fetch_one<T: DbRow> -> T);
    forward!(fetch_optional<T: DbRow> -> Option<T>);
    forward!(fetch_all<T: DbRow> -> Vec<T>);
    forward!(
        /// The first column of the first row.
        scalar<T: DbScalar> -> T
    );
    forward!(
        /// The first column of every row, as text.
        fetch_texts<> -> Vec<String>
    );
    forward!(
        /// An integer in the first column of the first row.
        count<> -> i64
    );
}
