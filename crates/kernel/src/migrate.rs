//! Schema migrations. Each module ships its own numbered steps, one script per step written
//! once for both engines; [`translate`] derives its SQLite or PostgreSQL text, and [`run`]
//! applies the steps not yet applied, each in its own transaction, under an advisory lock
//! on PostgreSQL so that several processes starting together are safe.
//!
//! # The portable dialect
//!
//! A script is SQL that both engines read alike (`TEXT`, `BIGINT`, `PRIMARY KEY`,
//! `REFERENCES ... ON DELETE CASCADE`, `UNIQUE`, partial indexes, `TRUE`/`FALSE`, `||`...),
//! with these words, in capitals, standing for what differs:
//!
//! | word          | SQLite                              | PostgreSQL              |
//! |---------------|-------------------------------------|-------------------------|
//! | `INTEGER`     | `INTEGER`                           | `BIGINT`                |
//! | `BOOLEAN`     | `INTEGER`                           | `BOOLEAN`               |
//! | `TIMESTAMP`   | `TEXT`                              | `TIMESTAMPTZ`           |
//! | `JSON`        | `TEXT`                              | `JSONB`                 |
//! | `BLOB`        | `BLOB`                              | `BYTEA`                 |
//! | `ID_SEQUENCE` | `INTEGER PRIMARY KEY AUTOINCREMENT` | `BIGSERIAL PRIMARY KEY` |
//! | `JSON_OBJECT` | `json_object`                       | `jsonb_build_object`    |
//!
//! Integers are 64-bit everywhere (SQLite's `INTEGER` is; PostgreSQL's would be 32-bit), so
//! `INTEGER` and `BIGINT` mean the same; older steps wrote `INTEGER` where SQLite's schema
//! says so, and keep it so that a new database gets the very schema an old one has.
//! Only whole words in capitals, outside quotes and comments, are replaced: a column may be
//! called `json` or `timestamp`.
//!
//! Where the engines really differ (a trigger, a function), the lines between a line
//! `-- sqlite only` or `-- postgres only` and a line `-- end` are kept for that engine alone.
//!
//! A step is known by `(module, version)` in `socle_migrations`, with no checksum: once
//! shipped, a script is never edited (databases that ran it would not see the change);
//! a change is a new step.

use sqlx::AssertSqlSafe;

use crate::args;
use crate::db::{Db, DbKind};
use crate::error::Result;

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub module: &'static str,
    pub version: i64,
    pub name: &'static str,
    /// The step in the portable dialect (see the module documentation).
    pub script: &'static str,
}

/// The portable words: (word, SQLite, PostgreSQL).
pub const WORDS: &[(&str, &str, &str)] = &[
    ("INTEGER", "INTEGER", "BIGINT"),
    ("BOOLEAN", "INTEGER", "BOOLEAN"),
    ("TIMESTAMP", "TEXT", "TIMESTAMPTZ"),
    ("JSON", "TEXT", "JSONB"),
    ("BLOB", "BLOB", "BYTEA"),
    ("ID_SEQUENCE", "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY"),
    ("JSON_OBJECT", "json_object", "jsonb_build_object"),
];

const TABLE: &str = "CREATE TABLE IF NOT EXISTS socle_migrations (
    module TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,
    applied_at TIMESTAMP NOT NULL, PRIMARY KEY (module, version))";

/// The text of a portable `script` for `kind`: the other engine's sections dropped, the
/// portable words replaced.
pub fn translate(script: &str, kind: DbKind) -> String {
    let mut kept = String::with_capacity(script.len());
    let mut skipping = false;
    for line in script.split_inclusive('\n') {
        let marker = line.trim();
        if marker.eq_ignore_ascii_case("-- sqlite only") {
            skipping = kind != DbKind::Sqlite;
        } else if marker.eq_ignore_ascii_case("-- postgres only") {
            skipping = kind != DbKind::Postgres;
        } else if marker.eq_ignore_ascii_case("-- end") {
            skipping = false;
        } else if !skipping {
            kept.push_str(line);
        }
    }
    replace_words(&kept, kind)
}

fn replace_words(sql: &str, kind: DbKind) -> String {
    let mut out = String::with_capacity(sql.len() + sql.len() / 4);
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        let len = if c == '\'' || c == '"' {
            // A doubled quote inside a literal reads as two literals side by side: the same text.
            rest[1..].find(c).map_or(rest.len(), |end| end + 2)
        } else if rest.starts_with("--") {
            rest.find('\n').unwrap_or(rest.len())
        } else if is_word_char(c) {
            let len = rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len());
            let word = &rest[..len];
            let found = WORDS.iter().find(|(w, ..)| *w == word);
            out.push_str(match (found, kind) {
                (Some((_, sqlite, _)), DbKind::Sqlite) => sqlite,
                (Some((_, _, postgres)), DbKind::Postgres) => postgres,
                (None, _) => word,
            });
            rest = &rest[len..];
            continue;
        } else {
            c.len_utf8()
        };
        out.push_str(&rest[..len]);
        rest = &rest[len..];
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Apply every migration not yet applied; returns how many ran.
pub async fn run(db: &Db, migrations: &[Migration]) -> Result<usize> {
    let table = translate(TABLE, db.kind());
    let mut applied = 0;
    for m in migrations {
        let mut tx = db.begin().await?;
        if tx.kind() == DbKind::Postgres {
            // Serialize concurrent starters; released at commit.
            tx.execute("SELECT pg_advisory_xact_lock(7266283)", args![]).await?;
        }
        tx.execute_script(AssertSqlSafe(table.as_str())).await?;
        let done: i64 = tx
            .scalar(
                "SELECT COUNT(*) FROM socle_migrations WHERE module = $1 AND version = $2",
                args![m.module, m.version],
            )
            .await?;
        if done > 0 {
            continue;
        }
        tx.execute_script(AssertSqlSafe(translate(m.script, tx.kind()))).await?;
        tx.execute(
            "INSERT INTO socle_migrations (module, version, name, applied_at) VALUES ($1, $2, $3, $4)",
            args![m.module, m.version, m.name, crate::time::now()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(module = m.module, version = m.version, name = m.name, "migration applied");
        applied += 1;
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case is (portable script, SQLite text, PostgreSQL text).
    fn check(cases: &[(&str, &str, &str)]) {
        for (script, sqlite, postgres) in cases {
            assert_eq!(translate(script, DbKind::Sqlite), *sqlite, "SQLite text of {script:?}");
            assert_eq!(translate(script, DbKind::Postgres), *postgres, "PostgreSQL text of {script:?}");
        }
    }

    #[test]
    fn every_word_becomes_each_engines_own() {
        for (word, sqlite, postgres) in WORDS {
            let column = |t: &str| format!("CREATE TABLE t (c {t} NOT NULL);");
            check(&[(&column(word), &column(sqlite), &column(postgres))]);
        }
        check(&[
            (
                "seq ID_SEQUENCE,\n    at TIMESTAMP,\n    doc JSON NOT NULL, on BOOLEAN, n INTEGER",
                "seq INTEGER PRIMARY KEY AUTOINCREMENT,\n    at TEXT,\n    doc TEXT NOT NULL, on INTEGER, n INTEGER",
                "seq BIGSERIAL PRIMARY KEY,\n    at TIMESTAMPTZ,\n    doc JSONB NOT NULL, on BOOLEAN, n BIGINT",
            ),
            ("SELECT JSON_OBJECT('to', a)", "SELECT json_object('to', a)", "SELECT jsonb_build_object('to', a)"),
        ]);
    }

    #[test]
    fn what_both_engines_read_alike_is_left_as_written() {
        let script = "CREATE TABLE t (\n    id TEXT PRIMARY KEY,\n    n BIGINT NOT NULL DEFAULT 0\n);\n\
                      CREATE INDEX t_n ON t (n) WHERE n IS NOT NULL;\nUPDATE t SET on = TRUE;\n";
        check(&[(script, script, script)]);
    }

    #[test]
    fn only_whole_capital_words_outside_quotes_and_comments_are_replaced() {
        let script = "CREATE TABLE json (timestamp TEXT, JSONB_X TEXT, x_JSON TEXT, \"JSON\" TEXT,\n\
                      d TEXT DEFAULT 'JSON ''INTEGER'' here'); -- a JSON document, an INTEGER\nSELECT json, Json;";
        // An unclosed quote keeps the rest as it is.
        check(&[(script, script, script), ("SELECT 'JSON", "SELECT 'JSON", "SELECT 'JSON")]);
    }

    #[test]
    fn engine_sections_are_kept_for_their_engine_alone() {
        check(&[
            (
                "CREATE TABLE t (at TIMESTAMP);\n\
                 -- sqlite only\nCREATE TRIGGER t_at AFTER INSERT ON t BEGIN SELECT 1; END;\n-- end\n\
                 -- postgres only\nCREATE FUNCTION f() RETURNS JSON AS $$ SELECT '{}'::JSON $$ LANGUAGE sql;\n-- end\n\
                 CREATE INDEX t_i ON t (at);\n",
                "CREATE TABLE t (at TEXT);\nCREATE TRIGGER t_at AFTER INSERT ON t BEGIN SELECT 1; END;\n\
                 CREATE INDEX t_i ON t (at);\n",
                "CREATE TABLE t (at TIMESTAMPTZ);\n\
                 CREATE FUNCTION f() RETURNS JSONB AS $$ SELECT '{}'::JSONB $$ LANGUAGE sql;\nCREATE INDEX t_i ON t (at);\n",
            ),
            // A section left open runs to the end of the script.
            ("a;\n-- postgres only\nb JSON;", "a;\n", "a;\nb JSONB;"),
        ]);
    }
}
