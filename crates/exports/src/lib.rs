//! Exports (`/api/v1/exports`): a project as a static HTML site (one page per file, the home
//! page as `index.html`, the style tokens' stylesheet, `robots.txt`, `sitemap.xml` with
//! absolute URLs, forms and lists wired to a deployed app by a small script of our own),
//! made by the job queue with its progress, zipped into the file storage (local or S3) and
//! downloaded through a signed link that expires. PWA, React and Flutter exports are not
//! built yet: asking for them is a 422 that says so.

pub mod html;
pub mod pwa;
pub mod routes;
pub mod service;

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
    }));
    let builder = state.clone();
    Ok(Module::new("exports").api(routes::router(state)).jobs(move |registry| {
        registry.register(service::BUILD_JOB, service::BuildExport(builder));
    }))
}
