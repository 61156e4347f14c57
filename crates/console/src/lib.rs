//! The web console: the single-page application built from `console/` (Svelte + Vite),
//! embedded in the binary and served at `/console`, so that `socle serve` needs neither Node
//! nor a second server. Every path under `/console` that names no file answers the
//! application's `index.html` (the application routes in the browser). Hashed assets are
//! cached for a year; `index.html` is revalidated each time. The console's Content Security
//! Policy is set by the server's edge middleware.
//!
//! A crate of its own rather than a file of `server`: its build script embeds the build
//! output, and a new console build recompiles this small crate only.

mod assets;
mod routes;

use kernel::Deps;
use kernel::module::{Module, ModuleDef};

/// The console's front door: no tables, one root router.
pub const MODULE: ModuleDef = ModuleDef { name: "console", migrations: Vec::new, build: module };

fn module(deps: &mut Deps) -> anyhow::Result<Module> {
    let module = Module::new("console");
    // A worker or scheduler process answers health and metrics only.
    if !deps.config.runs("api") {
        return Ok(module);
    }
    Ok(module.root(routes::router()))
}
