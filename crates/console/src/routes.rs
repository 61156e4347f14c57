//! `/console` and every path under it: an embedded file, or the application's index.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kernel::Error;
use utoipa_axum::router::OpenApiRouter;

use crate::assets::{self, Asset};

const INDEX: &str = "index.html";

/// Not documented in the OpenAPI document: these are pages, not API.
pub fn router() -> OpenApiRouter {
    OpenApiRouter::new().route("/console", get(index)).route("/console/{*path}", get(file))
}

async fn index() -> Response {
    match assets::find(INDEX) {
        Some(asset) => respond(asset, "no-cache"),
        None => Error::NotFound("the console is not built into this binary (run `npm run build` in console/)".into())
            .into_response(),
    }
}

async fn file(Path(path): Path<String>) -> Response {
    if let Some(asset) = assets::find(&path) {
        let cache = if assets::is_immutable(&path) { "public, max-age=31536000, immutable" } else { "no-cache" };
        return respond(asset, cache);
    }
    if names_a_file(&path) {
        return Error::NotFound("no such file in the console".into()).into_response();
    }
    // A screen of the application (`/console/projects/x`): the browser routes it.
    index().await
}

/// Paths under `assets/`, or whose last segment has an extension, name files: a missing
/// one is a 404 rather than the application's index (a stale script tag would otherwise
/// get HTML).
fn names_a_file(path: &str) -> bool {
    assets::is_immutable(path) || path.rsplit('/').next().is_some_and(|last| last.contains('.'))
}

fn respond(asset: &'static Asset, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::names_a_file;

    #[test]
    fn screens_are_not_files() {
        assert!(names_a_file("assets/whatever"));
        assert!(names_a_file("favicon.ico"));
        assert!(names_a_file("a/b/c.js"));
        assert!(!names_a_file("projects/0190f0f0"));
        assert!(!names_a_file("apps/x/records/posts"));
    }
}
