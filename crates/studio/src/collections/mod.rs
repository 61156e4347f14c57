//! Collections: a project's data schemas, each a real table in the project's namespace.
//! Definitions are PocketBase's collection JSON; changes are applied as DDL in the same
//! transaction as the definition and kept as a migration history.

pub mod apply;
pub mod ddl;
pub mod input;
pub mod model;
mod routes;
pub mod rows;
pub mod schema;
pub mod service;

pub use routes::routes;
pub use service::default_users_collection;
