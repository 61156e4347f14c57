//! The official `pocketbase` npm SDK, unchanged, against a running Socle app: sign-up,
//! sign-in, records CRUD with filter/sort/expand/fields, validation errors, files, batches
//! (`createBatch`, with and without files), refresh.
//! `scripts/test` installs the SDK (`tests/sdk`, locked); a missing Node.js fails the test.

use serde_json::json;

use crate::on_both_databases;
use crate::runtime::blog;
use crate::support::TestApp;

on_both_databases!(the_official_pocketbase_sdk_works_unchanged);

async fn the_official_pocketbase_sdk_works_unchanged(app: TestApp) {
    let slug = "sdk";
    let (owner, project_id, app_id) = blog(&app, "sdk@runtime.example", slug).await;
    // Let authors delete their posts in this app.
    app.patch(
        &format!("/api/v1/studio/projects/{project_id}/collections/posts"),
        Some(&owner.access),
        json!({"deleteRule": "author = @request.auth.id"}),
    )
    .await
    .expect(200);
    app.post(&format!("/api/v1/runtime/apps/{app_id}/deploy"), Some(&owner.access), json!({})).await.expect(201);

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk");
    assert!(
        dir.join("node_modules/pocketbase").exists(),
        "the SDK is not installed: run `npm ci --prefix tests/sdk` (scripts/test does)"
    );
    let output = tokio::process::Command::new("node")
        .arg("interop.mjs")
        .current_dir(&dir)
        .env("SOCLE_APP_URL", app.url(&format!("/apps/{slug}")))
        .output()
        .await
        .expect("node runs (install Node.js 18 or later)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the SDK run failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all SDK checks passed"), "{stdout}");
}
