//! Exports: a project with two pages exported as a static site by the job queue, its
//! progress read, the ZIP downloaded through the signed link and opened (index and page
//! files, escaped semantic HTML, the stylesheet and script, robots.txt and a sitemap with
//! absolute URLs); formats not built yet refused clearly; who may ask and download.

use std::io::Read;

use serde_json::{Value, json};

use crate::eventually;
use crate::on_both_databases;
use crate::studio_projects::project;
use crate::support::TestApp;

on_both_databases!(projects_export_as_a_static_site);

fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    let mut out = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).expect("an entry");
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).expect("bytes");
        out.insert(file.name().expect("a name").to_string(), String::from_utf8_lossy(&bytes).to_string());
    }
    out
}

async fn projects_export_as_a_static_site(app: TestApp) {
    let owner = app.signup("owner@exports.example").await;
    let org = app.organization(&owner, "Site").await;
    let id = project(&app, &owner, &org, "Site").await;
    let pages = format!("/api/v1/studio/projects/{id}/pages");
    app.post(
        &pages,
        Some(&owner.access),
        json!({"name": "Home", "slug": "home", "document": {"type": "page", "children": [
            {"type": "section", "props": {"padding": "lg", "background": "muted"}, "children": [
                {"type": "heading", "props": {"text": "Fish & <chips>", "level": 1}},
                {"type": "link", "props": {"label": "About us", "href": "/about.html"}}]}]}}),
    )
    .await
    .expect(201);
    app.post(
        &pages,
        Some(&owner.access),
        json!({"name": "About", "slug": "about", "document": {"type": "page", "children": [
            {"type": "text", "props": {"text": "We fry since 1902."}}]}}),
    )
    .await
    .expect(201);

    let asked = app
        .post(
            "/api/v1/exports",
            Some(&owner.access),
            json!({"project_id": id, "format": "html", "options": {"base_url": "https://fish.example"}}),
        )
        .await
        .expect(202)
        .body;
    assert_eq!(asked["format"], "html");
    let export = asked["id"].as_str().expect("id").to_string();
    let done: Value = eventually!("the export to finish", {
        let e = app.get(&format!("/api/v1/exports/{export}"), Some(&owner.access)).await.expect(200).body;
        matches!(e["status"].as_str(), Some("succeeded" | "failed")).then_some(e)
    });
    assert_eq!((done["status"].as_str(), done["progress"].as_i64()), (Some("succeeded"), Some(100)), "{done}");
    let link = done["download_url"].as_str().expect("a download link").replace("http://socle.test", "");
    let zip = app.client.get(app.url(&link)).send().await.expect("download");
    assert_eq!(zip.status(), 200);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let files = unzip(&zip.bytes().await.expect("bytes"));
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        ["about.html", "index.html", "robots.txt", "sitemap.xml", "socle.js", "styles.css"]
    );
    let index = &files["index.html"];
    assert!(index.contains("<h1 class=\"s-heading\">Fish &amp; &lt;chips&gt;</h1>"), "{index}");
    assert!(index.contains("<section class=\"s-section p-lg bg-muted\">"), "{index}");
    assert!(index.contains("<link rel=\"stylesheet\" href=\"styles.css\">"));
    assert!(files["about.html"].contains("<p class=\"s-text\">We fry since 1902.</p>"));
    assert!(files["styles.css"].contains(".p-lg{padding:1.5rem}"));
    assert!(files["robots.txt"].contains("Sitemap: https://fish.example/sitemap.xml"));
    let sitemap = &files["sitemap.xml"];
    assert!(
        sitemap.contains("<loc>https://fish.example/</loc>")
            && sitemap.contains("<loc>https://fish.example/about.html</loc>"),
        "{sitemap}"
    );
    // Whoever asked is notified.
    let notified: Value = eventually!("the export's notification", {
        let n = app.get("/api/v1/notifications", Some(&owner.access)).await.expect(200).body;
        n["items"].as_array().and_then(|items| items.iter().find(|i| i["type"] == "export.finished").cloned())
    });
    assert_eq!(
        (notified["title"].as_str(), notified["data"]["export_id"].as_str()),
        (Some("Your export is ready"), Some(export.as_str()))
    );
    let listed = app.get(&format!("/api/v1/exports?project_id={id}"), Some(&owner.access)).await.expect(200).body;
    assert_eq!(listed[0]["id"], export.as_str());

    // The same as an installable app that works offline.
    let pwa = app
        .post("/api/v1/exports", Some(&owner.access), json!({"project_id": id, "format": "pwa"}))
        .await
        .expect(202)
        .body["id"]
        .as_str()
        .expect("id")
        .to_string();
    let done: Value = eventually!("the PWA export to finish", {
        let e = app.get(&format!("/api/v1/exports/{pwa}"), Some(&owner.access)).await.expect(200).body;
        matches!(e["status"].as_str(), Some("succeeded" | "failed")).then_some(e)
    });
    let pwa_link = done["download_url"].as_str().expect("a link").replace("http://socle.test", "");
    let pwa_files = unzip(&app.client.get(app.url(&pwa_link)).send().await.expect("zip").bytes().await.expect("bytes"));
    for name in ["manifest.webmanifest", "sw.js", "icons/icon-192.png", "icons/icon-512.png", "index.html"] {
        assert!(pwa_files.contains_key(name), "{name} in {:?}", pwa_files.keys());
    }
    let manifest: Value = serde_json::from_str(&pwa_files["manifest.webmanifest"]).expect("a JSON manifest");
    assert_eq!((manifest["name"].as_str(), manifest["display"].as_str()), (Some("Site"), Some("standalone")));
    assert_eq!(manifest["icons"][1]["sizes"], "192x192");
    assert!(pwa_files["icons/icon-192.png"].starts_with("\u{fffd}PNG"), "a PNG");
    assert!(pwa_files["index.html"].contains("<link rel=\"manifest\" href=\"manifest.webmanifest\">"));
    assert!(pwa_files["sw.js"].contains("\"about.html\"") && pwa_files["sw.js"].contains("caches.match"));

    // A tampered or missing signature does not download.
    let tampered = link.replace("signature=", "signature=00");
    assert_eq!(app.client.get(app.url(&tampered)).send().await.expect("download").status(), 401);
    assert_eq!(
        app.client.get(app.url(&format!("/api/v1/exports/{export}/download"))).send().await.expect("get").status(),
        422
    );

    // Formats not built yet, bad options, and who may ask.
    let ask = |format: &str, options: Value| json!({"project_id": id, "format": format, "options": options});
    let refused = app
        .post("/api/v1/exports", Some(&owner.access), ask("flutter", json!({})))
        .await
        .expect_field_error(422, "format");
    assert!(refused.body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("not built")));
    app.post("/api/v1/exports", Some(&owner.access), ask("pdf", json!({}))).await.expect_field_error(422, "format");
    app.post("/api/v1/exports", Some(&owner.access), ask("html", json!({"base_url": "ftp://x"})))
        .await
        .expect_field_error(422, "options.base_url");
    app.post("/api/v1/exports", None, ask("html", json!({}))).await.expect(401);
    let stranger = app.signup("stranger@exports.example").await;
    app.post("/api/v1/exports", Some(&stranger.access), ask("html", json!({}))).await.expect(404);
    app.get(&format!("/api/v1/exports/{export}"), Some(&stranger.access)).await.expect(404);
    app.get(&format!("/api/v1/exports?project_id={id}"), Some(&stranger.access)).await.expect(404);
}
