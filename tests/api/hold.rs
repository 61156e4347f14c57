//! A test-only module whose one route, `GET /api/v1/test/hold/{key}`, waits until the test
//! releases it: a request that is slow by construction, not by the speed of the machine.
//! Mount it with `TestApp::spawn_with_modules(backend, tweak, &[&hold::MODULE])`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use axum::extract::Path;
use kernel::module::ModuleDef;
use kernel::{Deps, Module};
use tokio::sync::watch;
use utoipa_axum::router::OpenApiRouter;

pub const MODULE: ModuleDef = ModuleDef { name: "test-hold", migrations: Vec::new, build };

fn build(_: &mut Deps) -> anyhow::Result<Module> {
    Ok(Module::new("test-hold").api(OpenApiRouter::new().route("/test/hold/{key}", axum::routing::get(held))))
}

/// One held request: whether it reached the handler, and whether the test let it go.
pub struct Hold {
    entered: watch::Sender<bool>,
    released: watch::Sender<bool>,
}

static HOLDS: LazyLock<Mutex<HashMap<String, Arc<Hold>>>> = LazyLock::new(Default::default);

/// The hold named `key` (a fresh uuid per test keeps tests apart).
pub fn hold(key: &str) -> Arc<Hold> {
    let mut holds = HOLDS.lock().unwrap_or_else(|e| e.into_inner());
    holds
        .entry(key.to_string())
        .or_insert_with(|| Arc::new(Hold { entered: watch::channel(false).0, released: watch::channel(false).0 }))
        .clone()
}

impl Hold {
    /// Resolves once the request is inside the handler.
    pub async fn entered(&self) {
        let _ = self.entered.subscribe().wait_for(|entered| *entered).await;
    }

    pub fn release(&self) {
        self.released.send_replace(true);
    }
}

async fn held(Path(key): Path<String>) -> &'static str {
    let hold = hold(&key);
    hold.entered.send_replace(true);
    let _ = hold.released.subscribe().wait_for(|released| *released).await;
    "released"
}
