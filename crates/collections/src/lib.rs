//! Collection tables and their records, shared by the Studio (which edits schemas and
//! applies them as DDL) and the Runtime (which serves the records): the collection model
//! (PocketBase's collection JSON), the DDL of both engines and the app namespaces, the row
//! codec (typed values in, typed JSON out), the compilation of filters and rules to SQL
//! against a project's schema, and the record queries both sides run.

pub mod apply;
pub mod ddl;
pub mod input;
pub mod model;
pub mod records;
pub mod rows;
pub mod schema;
