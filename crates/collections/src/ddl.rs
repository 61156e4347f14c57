//! Where a project's collections live, and the SQL that creates and alters them.
//!
//! Each project has its own namespace: a PostgreSQL schema `p_<id>`, or in SQLite a table
//! prefix `p_<id>__`. Identifiers are checked names from the schema, always quoted; no value
//! is ever written into DDL (defaults are the type's zero; field defaults are applied on
//! insert).

use kernel::DbKind;
use sha2::{Digest, Sha256};

use crate::model::{Collection, CollectionType, Field, FieldKind, Index, Storage};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub kind: DbKind,
    /// `p_` and the project's id without dashes.
    pub key: String,
}

pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Namespace {
    pub fn new(kind: DbKind, key: &str) -> Self {
        Namespace { kind, key: key.to_string() }
    }

    /// A deployed app's data (see the runtime module).
    pub fn for_app(kind: DbKind, app_id: &str) -> Self {
        Namespace { kind, key: format!("a_{}", app_id.replace('-', "")) }
    }

    pub fn for_project(kind: DbKind, project_id: &str) -> Self {
        Namespace { kind, key: format!("p_{}", project_id.replace('-', "")) }
    }

    /// The qualified, quoted table of collection `name`.
    pub fn table(&self, name: &str) -> String {
        match self.kind {
            DbKind::Postgres => format!("{}.{}", quote(&self.key), quote(name)),
            DbKind::Sqlite => quote(&format!("{}__{name}", self.key)),
        }
    }

    /// Physical index names are short hashes of the collection id and the index name, so
    /// renaming a collection keeps them and they fit PostgreSQL's 63 bytes.
    fn index_name(&self, collection_id: &str, index: &str) -> String {
        let digest = hex::encode(Sha256::digest(format!("{collection_id}/{index}").as_bytes()));
        match self.kind {
            DbKind::Postgres => format!("i_{}", &digest[..24]),
            DbKind::Sqlite => format!("{}_i_{}", self.key, &digest[..24]),
        }
    }

    pub fn create_namespace(&self) -> Option<String> {
        match self.kind {
            DbKind::Postgres => Some(format!("CREATE SCHEMA IF NOT EXISTS {}", quote(&self.key))),
            DbKind::Sqlite => None,
        }
    }

    pub fn drop_namespace(&self) -> Option<String> {
        match self.kind {
            DbKind::Postgres => Some(format!("DROP SCHEMA IF EXISTS {} CASCADE", quote(&self.key))),
            DbKind::Sqlite => None,
        }
    }

    pub fn column_type(&self, storage: Storage, column: &str) -> String {
        let c = quote(column);
        match (self.kind, storage) {
            (_, Storage::Text) => "TEXT NOT NULL DEFAULT ''".into(),
            (DbKind::Sqlite, Storage::Number) => "NUMERIC NOT NULL DEFAULT 0".into(),
            (DbKind::Postgres, Storage::Number) => "DOUBLE PRECISION NOT NULL DEFAULT 0".into(),
            (_, Storage::Bool) => "BOOLEAN NOT NULL DEFAULT FALSE".into(),
            (DbKind::Sqlite, Storage::TextList) => {
                format!("TEXT NOT NULL DEFAULT '[]' CHECK (json_type({c}) = 'array')")
            }
            (DbKind::Postgres, Storage::TextList) => {
                format!("JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof({c}) = 'array')")
            }
            (DbKind::Sqlite, Storage::Json) => format!("TEXT DEFAULT NULL CHECK ({c} IS NULL OR json_valid({c}))"),
            (DbKind::Postgres, Storage::Json) => "JSONB DEFAULT NULL".into(),
        }
    }

    pub fn create_table(&self, collection: &Collection) -> String {
        let mut columns = vec!["\"id\" TEXT PRIMARY KEY NOT NULL".to_string()];
        for f in collection.columns() {
            columns.push(format!("{} {}", quote(&f.name), self.column_type(f.storage(), &f.name)));
        }
        format!("CREATE TABLE {} ({})", self.table(&collection.name), columns.join(", "))
    }

    pub fn add_column(&self, table: &str, field: &Field) -> String {
        format!(
            "ALTER TABLE {} ADD COLUMN {} {}",
            self.table(table),
            quote(&field.name),
            self.column_type(field.storage(), &field.name)
        )
    }

    pub fn drop_column(&self, table: &str, column: &str) -> String {
        format!("ALTER TABLE {} DROP COLUMN {}", self.table(table), quote(column))
    }

    pub fn rename_column(&self, table: &str, from: &str, to: &str) -> String {
        format!("ALTER TABLE {} RENAME COLUMN {} TO {}", self.table(table), quote(from), quote(to))
    }

    /// The statements renaming a collection's table. SQLite finds a table by its name
    /// ignoring ASCII case, so it refuses `posts` → `Posts` (another table would have that
    /// name): such a rename goes through a temporary name.
    pub fn rename_table(&self, from: &str, to: &str) -> Vec<String> {
        let rename = |from: &str, to: &str| {
            let target = match self.kind {
                DbKind::Postgres => quote(to),
                DbKind::Sqlite => quote(&format!("{}__{to}", self.key)),
            };
            format!("ALTER TABLE {} RENAME TO {target}", self.table(from))
        };
        if self.kind == DbKind::Sqlite && from.eq_ignore_ascii_case(to) {
            // Collection names are ASCII identifiers, without `-`: this is none's.
            let between = format!("{from}-renaming");
            vec![rename(from, &between), rename(&between, to)]
        } else {
            vec![rename(from, to)]
        }
    }

    pub fn drop_table(&self, name: &str) -> String {
        format!("DROP TABLE IF EXISTS {}", self.table(name))
    }

    /// Every physical index of a collection: its declared indexes and one per unique field,
    /// as (physical name, CREATE statement).
    pub fn indexes(&self, collection: &Collection) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut add = |key: String, index: &Index| {
            let name = self.index_name(&collection.id, &key);
            let columns: Vec<String> = index.fields.iter().map(|f| quote(f)).collect();
            let sql = format!(
                "CREATE {}INDEX {} ON {} ({})",
                if index.unique { "UNIQUE " } else { "" },
                quote(&name),
                self.table(&collection.name),
                columns.join(", ")
            );
            out.push((name, sql));
        };
        for index in &collection.indexes {
            add(format!("index:{}:{}", index.name, index.fields.join(",")), index);
        }
        for f in collection.columns().filter(|f| f.unique) {
            add(
                format!("unique:{}:{}", f.id, f.name),
                &Index { name: f.name.clone(), fields: vec![f.name.clone()], unique: true },
            );
        }
        out
    }

    pub fn drop_index(&self, physical: &str) -> String {
        match self.kind {
            DbKind::Postgres => format!("DROP INDEX IF EXISTS {}.{}", quote(&self.key), quote(physical)),
            DbKind::Sqlite => format!("DROP INDEX IF EXISTS {}", quote(physical)),
        }
    }

    /// A SQL expression giving the column's value as JSON text.
    pub fn json_of(&self, column: &str, storage: Storage) -> String {
        match (self.kind, storage) {
            (DbKind::Postgres, Storage::Json | Storage::TextList) => format!("COALESCE(({column})::text, 'null')"),
            (DbKind::Postgres, _) => format!("to_jsonb({column})::text"),
            (DbKind::Sqlite, Storage::Bool) => format!("CASE WHEN {column} THEN 'true' ELSE 'false' END"),
            (DbKind::Sqlite, Storage::Json | Storage::TextList) => format!("COALESCE(json({column}), 'null')"),
            (DbKind::Sqlite, _) => format!("json_quote({column})"),
        }
    }

    /// A SQL expression building the whole row (alias `r`) as one JSON object.
    pub fn row_json(&self, collection: &Collection) -> String {
        self.row_json_of(collection, "r.")
    }

    /// The same with columns named through `prefix` (`""` for a `RETURNING` clause, where
    /// SQLite does not see the table's alias).
    pub fn row_json_of(&self, collection: &Collection, prefix: &str) -> String {
        self.object_of(self.row_pairs(collection, prefix))
    }

    /// The row as PocketBase presents it to anyone, built whole in SQL, where that needs no
    /// decision per requester: on SQLite, for a collection without hidden or password fields
    /// that is not an auth collection. It adds `collectionId` and `collectionName`, with the
    /// keys in the order the server's own JSON objects keep them (sorted), so that the text
    /// can be sent as it is.
    pub fn presented_row_json(&self, collection: &Collection) -> Option<String> {
        let per_requester = collection.kind == CollectionType::Auth
            || collection.fields.iter().any(|f| f.hidden || matches!(f.kind, FieldKind::Password));
        if self.kind != DbKind::Sqlite || per_requester {
            return None;
        }
        let mut pairs = self.row_pairs(collection, "r.");
        let literal = |s: &str| format!("'{}'", s.replace('\'', "''"));
        pairs.push(("collectionId".into(), literal(&collection.id)));
        pairs.push(("collectionName".into(), literal(&collection.name)));
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        Some(self.object_of(pairs))
    }

    /// Each key of the row's JSON object with the SQL expression of its value.
    fn row_pairs(&self, collection: &Collection, prefix: &str) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = vec![("id".into(), format!("{prefix}\"id\""))];
        for f in collection.columns() {
            let col = format!("{prefix}{}", quote(&f.name));
            let value = match (self.kind, f.storage()) {
                (DbKind::Sqlite, Storage::Bool) => format!("json(CASE WHEN {col} THEN 'true' ELSE 'false' END)"),
                (DbKind::Sqlite, Storage::Json | Storage::TextList) => format!("json({col})"),
                _ => col,
            };
            pairs.push((f.name.clone(), value));
        }
        pairs
    }

    /// One JSON object of `pairs`, in their order.
    fn object_of(&self, pairs: Vec<(String, String)>) -> String {
        // Both engines cap a function's arguments (PostgreSQL at 100): build in chunks.
        let objects: Vec<String> = pairs
            .chunks(40)
            .map(|chunk| {
                let args: Vec<String> = chunk.iter().map(|(k, v)| format!("'{k}', {v}")).collect();
                match self.kind {
                    DbKind::Sqlite => format!("json_object({})", args.join(", ")),
                    DbKind::Postgres => format!("jsonb_build_object({})", args.join(", ")),
                }
            })
            .collect();
        match self.kind {
            DbKind::Sqlite => objects.into_iter().reduce(|a, b| format!("json_patch({a}, {b})")).unwrap_or_default(),
            DbKind::Postgres => {
                let joined = objects.join(" || ");
                format!("({joined})::text")
            }
        }
    }
}
