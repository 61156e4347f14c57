//! Platform files (`/api/v1/files`): what builders upload for their organization (images and
//! assets for pages, documents). Size and type limits (the type is sniffed from the bytes),
//! image dimensions and thumbnails, signed download links that expire, public files for page
//! images, an audit entry for every upload, download and deletion, and the bytes counted in
//! the organization's storage quota. The bytes live in the file storage (local disk or S3).

pub mod routes;
pub mod service;
pub mod settings;

use std::sync::Arc;

use crate::RuntimeState;

#[derive(Clone)]
pub struct FilesState(Arc<FilesInner>);

pub struct FilesInner {
    pub runtime: RuntimeState,
    pub settings: settings::FilesSettings,
    /// Signs download links (a file id and who the link was given to).
    pub links: kernel::links::LinkSigner,
    pub public_url: String,
}

impl std::ops::Deref for FilesState {
    type Target = FilesInner;

    fn deref(&self) -> &FilesInner {
        &self.0
    }
}

impl FilesState {
    pub fn new(runtime: RuntimeState, settings: settings::FilesSettings, keys: &kernel::Keys) -> anyhow::Result<Self> {
        let public_url = runtime.foundation.config.public_url.trim_end_matches('/').to_string();
        Ok(FilesState(Arc::new(FilesInner {
            runtime,
            settings,
            links: kernel::links::LinkSigner::new(&keys.jwt, "socle platform file links v1", "platform-file")?,
            public_url,
        })))
    }
}

/// The bytes an organization's platform files hold, for its storage quota.
pub struct FilesProbe(pub FilesState);

impl kernel::usage::UsageProbe for FilesProbe {
    fn measure<'a>(
        &'a self,
        org: &'a str,
    ) -> kernel::module::BoxFuture<'a, kernel::Result<Vec<(kernel::Metric, i64)>>> {
        Box::pin(async move {
            let (bytes,): (Option<i64>,) = self
                .0
                .runtime
                .db
                .fetch_one(
                    "SELECT CAST(SUM(size) AS BIGINT) FROM platform_files WHERE organization_id = $1",
                    kernel::args![org],
                )
                .await?;
            Ok(vec![(kernel::Metric::StorageBytes, bytes.unwrap_or(0))])
        })
    }
}
