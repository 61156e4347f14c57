//! Socle's expression language: one syntax for record filters in the runtime API and for
//! access rules on collections. It is PocketBase's filter syntax:
//!
//! ```text
//! status = "published" && (author = @request.auth.id || @request.auth.role = "admin")
//! tags ?~ "rust" && created >= @todayStart // comments run to the end of the line
//! ```
//!
//! - operands: fields and dotted relation paths, string (`'…'` or `"…"`), number, `true`,
//!   `false`, `null`, `@request.auth.*`, `@request.body.*`, `@request.query.*`,
//!   `@collection.NAME.field`, and the date macros `@now`, `@yesterday`, `@tomorrow`,
//!   `@todayStart`, `@todayEnd`, `@monthStart`, `@monthEnd`, `@yearStart`, `@yearEnd`;
//! - operators `= != > >= < <= ~ !~` and their any-of forms `?= ?!= ?> ?>= ?< ?<= ?~ ?!~`;
//! - `&&` binds tighter than `||`; parentheses group; modifiers `:isset`, `:length`,
//!   `:each`, `:lower` follow a field.
//!
//! This crate parses into a typed AST with byte positions for errors ([`parse`]), prints the
//! AST back to canonical text ([`Expr`]'s `Display`), and evaluates it in memory against a
//! record ([`eval::evaluate`]), and type-checks it against collection schemas
//! ([`check::check`]), and compiles it to a parameterized SQL condition for SQLite or
//! PostgreSQL ([`sql::compile`]) with the same meaning as the evaluator.

pub mod ast;
pub mod check;
pub mod eval;
mod lexer;
mod parser;
pub mod sql;

pub use ast::{CmpOp, DateMacro, Expr, Literal, Modifier, Operand, Path, Root, Span};
pub use parser::{MAX_DEPTH, MAX_LENGTH, ParseError, parse};
