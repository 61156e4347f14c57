//! Schema migrations. Each module ships its own numbered scripts, one per engine; the server
//! assembles them and [`run`] applies what is missing, each in its own transaction, under
//! an advisory lock on PostgreSQL so that several processes starting together are safe.

use crate::args;
use crate::db::{Db, DbKind};
use crate::error::Result;

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub module: &'static str,
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

const SQLITE_TABLE: &str = "CREATE TABLE IF NOT EXISTS socle_migrations (
    module TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,
    applied_at TEXT NOT NULL, PRIMARY KEY (module, version))";
const POSTGRES_TABLE: &str = "CREATE TABLE IF NOT EXISTS socle_migrations (
    module TEXT NOT NULL, version BIGINT NOT NULL, name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (module, version))";

/// Apply every migration not yet applied; returns how many ran.
pub async fn run(db: &Db, migrations: &[Migration]) -> Result<usize> {
    let mut applied = 0;
    for m in migrations {
        let mut tx = db.begin().await?;
        match tx.kind() {
            DbKind::Postgres => {
                // Serialize concurrent starters; released at commit.
                tx.execute("SELECT pg_advisory_xact_lock(7266283)", args![]).await?;
                tx.execute_script(POSTGRES_TABLE).await?;
            }
            DbKind::Sqlite => tx.execute_script(SQLITE_TABLE).await?,
        }
        let done: i64 = tx
            .scalar(
                "SELECT COUNT(*) FROM socle_migrations WHERE module = $1 AND version = $2",
                args![m.module, m.version],
            )
            .await?;
        if done > 0 {
            continue;
        }
        let script = match tx.kind() {
            DbKind::Sqlite => m.sqlite,
            DbKind::Postgres => m.postgres,
        };
        tx.execute_script(script).await?;
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
