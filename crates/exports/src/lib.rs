//! Exports (`/api/v1/exports`): a project as a static HTML site (one page per file, the home
//! page as `index.html`, the style tokens' stylesheet, `robots.txt`, `sitemap.xml` with
//! absolute URLs, forms and lists wired to a deployed app by a small script of our own), a
//! PWA (the same, installable, working offline), a Vite + React + TypeScript project or a
//! Flutter project (data through the official PocketBase SDKs). Page images are copied from
//! the organization's files, resized and recompressed. Made by the job queue with its
//! progress, zipped into the file storage (local or S3), downloaded through a signed link
//! that expires, deleted after `exports.retention_days`.

pub mod flutter;
pub mod html;
pub mod pwa;
pub mod react;
pub mod routes;
pub mod service;
pub mod settings;
pub mod site;

use std::sync::Arc;

use kernel::{Db, Deps, Module};

#[derive(Clone)]
pub struct ExportsState(Arc<ExportsInner>);

pub struct ExportsInner {
    pub db: Db,
    pub usage: kernel::Usage,
    /// Its file storage keeps the ZIPs.
    pub runtime: runtime::RuntimeState,
    pub public_url: String,
    /// Signs the download links.
    pub links: kernel::links::LinkSigner,
    /// The organization's files: page images are copied from them.
    pub files: runtime::platform_files::FilesState,
    pub settings: settings::ExportsSettings,
}

impl std::ops::Deref for ExportsState {
    type Target = ExportsInner;

    fn deref(&self) -> &ExportsInner {
        &self.0
    }
}

pub const MODULE: kernel::module::ModuleDef = kernel::module::ModuleDef { name: "exports", migrations, build: module };

pub fn migrations() -> Vec<kernel::migrate::Migration> {
    vec![kernel::migrate::Migration {
        module: "exports",
        version: 1,
        name: "exports",
        script: include_str!("../migrations/0001_exports.sql"),
    }]
}

fn module(deps: &mut Deps) -> anyhow::Result<Module> {
    let state = ExportsState(Arc::new(ExportsInner {
        db: deps.db.clone(),
        usage: deps.get::<kernel::Usage>()?,
        runtime: deps.get::<runtime::RuntimeState>()?,
        public_url: deps.config.public_url.clone(),
        links: kernel::links::LinkSigner::new(&deps.keys.jwt, "socle export links v1", "export")?,
        files: deps.get::<runtime::platform_files::FilesState>()?,
        settings: deps.section(settings::SECTION)?,
    }));
    let builder = state.clone();
    let purging = state.clone();
    Ok(Module::new("exports")
        .api(routes::router(state))
        .jobs(move |registry| {
            registry.register(service::BUILD_JOB, service::BuildExport(builder));
        })
        .task(kernel::module::Task::in_role("export retention", "scheduler", move |stop| {
            service::purge_loop(purging, stop)
        })))
}
