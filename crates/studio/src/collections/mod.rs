//! Collections: a project's data schemas, each a real table in the project's namespace.
//! Definitions are PocketBase's collection JSON; changes are applied as DDL in the same
//! transaction as the definition and kept as a migration history. The model, the DDL and
//! the row codec are the `collections` crate's, shared with the Runtime.

mod routes;
pub mod service;

pub use routes::routes;
pub use service::default_users_collection;
