//! Studio: what a builder edits. Projects inside organizations, their pages (validated JSON
//! documents with versions), reusable components, collections (real tables with a migration
//! history, defined in PocketBase's collection JSON, with access rules in the expression
//! language), favorites, public share links, and export/import of whole projects.
//!
//! Studio talks to Foundation only through its service functions: organization roles
//! ([`foundation::orgs::require_org_role`]) and the audit log ([`foundation::audit::record`]).

pub mod audit;
pub mod bundle;
pub mod collections;
pub mod components;
pub mod pages;
pub mod projects;

use std::sync::Arc;

use kernel::{Db, Deps, Module};
use utoipa_axum::router::OpenApiRouter;

/// What Studio's handlers need; cheap to clone.
#[derive(Clone)]
pub struct StudioState(Arc<StudioInner>);

pub struct StudioInner {
    pub db: Db,
    /// The plans' quota on projects.
    pub usage: kernel::Usage,
    /// Moderates the pages a share link publishes (when the Assistant's provider is set).
    pub ai: kernel::ai::Ai,
}

impl std::ops::Deref for StudioState {
    type Target = StudioInner;

    fn deref(&self) -> &StudioInner {
        &self.0
    }
}

impl StudioState {
    pub fn new(db: Db, usage: kernel::Usage, ai: kernel::ai::Ai) -> Self {
        Self(Arc::new(StudioInner { db, usage, ai }))
    }
}

/// Studio's front door: projects, pages, components and collections under `/api/v1/studio`.
pub const MODULE: kernel::module::ModuleDef = kernel::module::ModuleDef { name: "studio", migrations, build: module };

fn module(deps: &mut Deps) -> anyhow::Result<Module> {
    let state = StudioState::new(deps.db.clone(), deps.get::<kernel::Usage>()?, deps.get::<kernel::ai::Ai>()?);
    state.usage.add_probe(std::sync::Arc::new(kernel::usage::CountProbe {
        db: deps.db.clone(),
        metric: kernel::Metric::Projects,
        sql: "SELECT COUNT(*) FROM studio_projects WHERE organization_id = $1 AND deleted_at IS NULL",
    }));
    deps.provide(state.clone());
    let admin = OpenApiRouter::new()
        .nest("/admin", projects::admin::routes())
        .with_state(deps.get::<foundation::FoundationState>()?);
    Ok(Module::new("studio").api(router(state).merge(admin)))
}

/// Every Studio route, mounted by the server under `/api/v1`.
pub fn router(state: StudioState) -> OpenApiRouter {
    OpenApiRouter::new()
        .nest("/studio/projects", projects::routes().merge(pages::routes()).merge(collections::routes()))
        .nest("/studio/components", components::routes())
        .nest("/studio/share", projects::share_routes())
        .nest("/studio/schema", pages::schema_routes())
        .with_state(state)
}

pub fn migrations() -> Vec<kernel::migrate::Migration> {
    vec![kernel::migrate::Migration {
        module: "studio",
        version: 1,
        name: "projects_pages_collections",
        script: include_str!("../migrations/0001_studio.sql"),
    }]
}
