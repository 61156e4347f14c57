//! Pages: a project's ordered pages, each a validated JSON document of components, with a
//! version kept for every save.

pub mod document;
mod routes;
pub mod service;

pub use routes::{routes, schema_routes};
