//! Upgrading a database made by the earlier migrations layout (a script per engine and step)
//! to the portable scripts of `kernel::migrate`: nothing runs again, the schema is the very
//! one a new database gets, and the server serves the data written before.
//!
//! The databases are `tests/fixtures/migrations-v0/`: a SQLite file and a `pg_dump` that the
//! release before the change wrote (see the README there).

use std::io::Read;

use kernel::{Config, Db, args};
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection};

use crate::on_both_backends;
use crate::support::{Backend, PASSWORD, TestApp, postgres_base_url};

on_both_backends!(a_database_of_the_per_engine_scripts_upgrades_to_the_same_schema_and_serves_its_data);

const SQLITE_DB: &[u8] = include_bytes!("../fixtures/migrations-v0/socle.db.gz");
const PG_DUMP: &[u8] = include_bytes!("../fixtures/migrations-v0/pg_dump.sql.gz");

/// Where the old database lives: a data dir (SQLite) or a database of its own (PostgreSQL:
/// the dump names its schemas, so each test restores it into a fresh database).
struct OldDatabase {
    data_dir: std::path::PathBuf,
    database: Option<String>,
}

impl OldDatabase {
    async fn restore(backend: Backend) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let data_dir = std::env::temp_dir().join(format!("socle-upgrade-{id}"));
        std::fs::create_dir_all(&data_dir).expect("data dir");
        if backend == Backend::Sqlite {
            std::fs::write(data_dir.join("socle.db"), gunzip(SQLITE_DB)).expect("write the fixture");
            return OldDatabase { data_dir, database: None };
        }
        let name = format!("socle_v0_{}", &id[..16]);
        let mut admin = sqlx::PgConnection::connect(&postgres_base_url()).await.expect("PostgreSQL");
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.expect("create db");
        admin.close().await.expect("close");
        // On a connection of its own: the dump empties its search_path. Lines starting with a
        // backslash are psql's commands (`\restrict`), not SQL.
        let dump = String::from_utf8(gunzip(PG_DUMP)).expect("the dump is text");
        let script: Vec<&str> = dump.lines().filter(|l| !l.starts_with('\\')).collect();
        let mut conn = sqlx::PgConnection::connect(&database_url(&name)).await.expect("the new database");
        sqlx::raw_sql(AssertSqlSafe(script.join("\n"))).execute(&mut conn).await.expect("restore the dump");
        conn.close().await.expect("close");
        OldDatabase { data_dir, database: Some(name) }
    }

    fn configure(&self, config: &mut Config) {
        config.data_dir = self.data_dir.clone();
        if let Some(name) = &self.database {
            config.database_url = Some(database_url(name));
        }
    }
}

impl Drop for OldDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
        let Some(name) = self.database.take() else { return };
        // Drop cannot await: a thread of its own drops the database, waited for off the
        // runtime's worker so that the app's connections (which FORCE ends) still run.
        let dropping = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_base_url()).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut admin).await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = tokio::task::block_in_place(|| dropping.join());
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("gunzip the fixture");
    out
}

/// The test server's URL with another database name.
fn database_url(name: &str) -> String {
    let base = postgres_base_url();
    let (address, query) = base.split_once('?').map_or((base.as_str(), None), |(a, q)| (a, Some(q)));
    let server = address.rsplit_once('/').map_or(address, |(s, _)| s);
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

async fn applied(db: &Db) -> Vec<(String, i64, String, String)> {
    db.fetch_all(
        "SELECT module, version, name, CAST(applied_at AS TEXT) FROM socle_migrations ORDER BY module, version",
        args![],
    )
    .await
    .expect("socle_migrations")
}

/// The schema the migrations made, one line per fact, in an order of its own. SQLite: every
/// object's SQL (white space folded), but the tables of projects and apps (`p_…__name`,
/// `a_…__name`), which are data. PostgreSQL: the columns, indexes, constraints and sequences
/// of the current schema (projects and apps have schemas of their own).
async fn schema(db: &Db) -> Vec<String> {
    let lines: Vec<(String,)> = match db.kind() {
        kernel::DbKind::Sqlite => db
            .fetch_all(
                "SELECT type || ' ' || name || ' ON ' || tbl_name || ': ' || COALESCE(sql, '') FROM sqlite_master
                 WHERE NOT (substr(tbl_name, 1, 2) IN ('p_', 'a_') AND instr(tbl_name, '__') > 0)",
                args![],
            )
            .await
            .expect("sqlite_master"),
        kernel::DbKind::Postgres => db
            .fetch_all(
                "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' nullable ' || is_nullable
                        || ' default ' || COALESCE(column_default, '-') || ' at ' || ordinal_position
                 FROM information_schema.columns WHERE table_schema = current_schema()
                 UNION ALL
                 SELECT 'index ' || indexname || ': ' || replace(indexdef, current_schema() || '.', '')
                 FROM pg_indexes WHERE schemaname = current_schema()
                 UNION ALL
                 SELECT 'constraint ' || conrelid::regclass::text || '.' || conname || ': ' || pg_get_constraintdef(oid)
                 FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
                 UNION ALL
                 SELECT 'sequence ' || sequence_name || ' ' || data_type
                 FROM information_schema.sequences WHERE sequence_schema = current_schema()",
                args![],
            )
            .await
            .expect("catalog"),
    };
    let mut lines: Vec<String> =
        lines.into_iter().map(|(l,)| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    lines.sort();
    lines
}

async fn a_database_of_the_per_engine_scripts_upgrades_to_the_same_schema_and_serves_its_data(backend: Backend) {
    let old = OldDatabase::restore(backend).await;
    let before = {
        let mut config = Config::default();
        old.configure(&mut config);
        let db = Db::connect(&config).await.expect("open the old database");
        let rows = applied(&db).await;
        db.close().await;
        rows
    };
    assert_eq!(before.len(), 9, "the fixture ran every step of the earlier layout: {before:?}");

    let app = TestApp::spawn_with(backend, |c| old.configure(c)).await;
    // The server started on it without running a step again (the same rows, the same
    // times); only the steps added since the fixture was written ran.
    let after = applied(&app.db).await;
    let kept: Vec<_> = after.iter().filter(|r| before.iter().any(|b| (&b.0, b.1) == (&r.0, r.1))).cloned().collect();
    assert_eq!(kept, before);
    let added: Vec<(String, i64)> = after.iter().filter(|r| !before.contains(r)).map(|r| (r.0.clone(), r.1)).collect();
    assert_eq!(
        added,
        vec![
            ("assistant".to_string(), 1),
            ("automation".to_string(), 4),
            ("automation".to_string(), 5),
            ("automation".to_string(), 6),
            ("collab".to_string(), 1),
            ("commerce".to_string(), 1),
            ("commerce".to_string(), 2),
            ("commerce".to_string(), 3),
            ("commerce".to_string(), 4),
            ("commerce".to_string(), 5),
            ("commerce".to_string(), 6),
            ("commerce".to_string(), 7),
            ("commerce".to_string(), 8),
            ("commerce".to_string(), 9),
            ("exports".to_string(), 1),
            ("foundation".to_string(), 2),
            ("foundation".to_string(), 3),
            ("foundation".to_string(), 4),
            ("foundation".to_string(), 5),
            ("foundation".to_string(), 6),
            ("insights".to_string(), 1),
            ("kernel".to_string(), 4),
            ("runtime".to_string(), 2),
            ("runtime".to_string(), 3),
            ("runtime".to_string(), 4)
        ],
        "the steps written after the fixture"
    );
    assert_eq!(kernel::migrate::run(&app.db, &server::migrations()).await.expect("migrate"), 0);
    // And its schema is the one the portable scripts give a new database.
    let fresh = TestApp::spawn(backend).await;
    let (upgraded, new) = (schema(&app.db).await, schema(&fresh.db).await);
    let only = |a: &[String], b: &[String]| a.iter().filter(|l| !b.contains(l)).cloned().collect::<Vec<_>>();
    assert!(
        upgraded == new,
        "only in the upgraded database: {:#?}\nonly in a new one: {:#?}",
        only(&upgraded, &new),
        only(&new, &upgraded)
    );
    fresh.stop().await;

    // The data written before serves: the user signs in, sees the organization, its project
    // and the app, reads the app's record and writes a new one.
    let owner = app.login("owner@upgrade.example", PASSWORD).await;
    let orgs = app.get("/api/v1/foundation/organizations", Some(&owner.access)).await.expect(200);
    assert_eq!(orgs.body["items"][0]["name"], "Upgrade Org", "{}", orgs.body);
    let org = orgs.body["items"][0]["id"].as_str().expect("org id").to_string();
    let projects =
        app.get(&format!("/api/v1/studio/projects?organization_id={org}"), Some(&owner.access)).await.expect(200);
    assert_eq!(projects.body["items"][0]["name"], "Blog", "{}", projects.body);
    let apps = app.get(&format!("/api/v1/runtime/apps?organization_id={org}"), Some(&owner.access)).await.expect(200);
    assert_eq!((&apps.body[0]["slug"], &apps.body[0]["current_deployment"]), (&json!("upgraded"), &json!(1)));
    let records = "/apps/upgraded/api/collections/posts/records";
    let listed = app.get(records, None).await.expect(200);
    assert_eq!(listed.body["totalItems"], 1, "{}", listed.body);
    let post = &listed.body["items"][0];
    assert_eq!(post["title"], "Written before the upgrade");
    assert_eq!((post["views"].as_f64(), &post["published"]), (Some(7.0), &json!(true)));
    app.post(records, None, json!({"title": "Written after", "views": 1})).await.expect(200);
    assert_eq!(app.get(records, None).await.expect(200).body["totalItems"], 2);
    app.settled().await;
    app.stop().await;
}
