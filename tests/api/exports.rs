//! Exports: a project with two pages exported as a static site by the job queue, its
//! progress read, the ZIP downloaded through the signed link and opened (index and page
//! files, escaped semantic HTML, the stylesheet and script, robots.txt and a sitemap with
//! absolute URLs); who may ask and download. React and Flutter projects with the page
//! images copied and optimized; the static site opened in a browser and the React project
//! built with npm; old exports purged.

use std::io::Read;

use serde_json::{Value, json};

use crate::eventually;
use crate::on_both_databases;
use crate::studio_projects::project;
use crate::support::{Backend, Session, TestApp, run_on_workers};

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

    // Unknown formats, bad options, and who may ask.
    let ask = |format: &str, options: Value| json!({"project_id": id, "format": format, "options": options});
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

/// A project of three pages: a home page with an image from the organization's files, a
/// link to the others, a form and a list bound to a collection.
async fn site_project(app: &TestApp, who: &str) -> (Session, String, String) {
    let owner = app.signup(who).await;
    let org = app.organization(&owner, "Bakery").await;
    let id = project(app, &owner, &org, "Corner Bakery").await;
    let photo = crate::files::png(2400, 1200);
    let form = reqwest::multipart::Form::new()
        .text("organization_id", org.clone())
        .text("public", "true")
        .part("file", reqwest::multipart::Part::bytes(photo).file_name("bread.png"));
    let file = app.multipart("/api/v1/files", Some(&owner.access), form).await.expect(201).body;
    let src = file["url"].as_str().expect("url").to_string();
    for name in ["posts", "messages"] {
        app.post(
            &format!("/api/v1/studio/projects/{id}/collections"),
            Some(&owner.access),
            json!({"name": name, "fields": [{"name": "email", "type": "text"}, {"name": "body", "type": "text"}]}),
        )
        .await
        .expect(201);
    }
    let pages = format!("/api/v1/studio/projects/{id}/pages");
    let home = json!({"type": "page", "children": [
        {"type": "section", "props": {"padding": "lg"}, "children": [
            {"type": "heading", "props": {"text": "Fresh bread & 'pastries' {daily} $5", "level": 1}},
            {"type": "image", "props": {"src": src, "alt": "A loaf"}},
            {"type": "link", "props": {"label": "Our story", "href": "/story.html"}},
            {"type": "button", "props": {"label": "Contact", "href": "/contact.html"}}]}]});
    app.post(&pages, Some(&owner.access), json!({"name": "Home", "slug": "home", "document": home})).await.expect(201);
    let story = json!({"type": "page", "children": [
        {"type": "text", "props": {"text": "Baking since 1950."}},
        {"type": "list", "props": {"collection": "posts", "per_page": 5}}]});
    app.post(&pages, Some(&owner.access), json!({"name": "Story", "slug": "story", "document": story}))
        .await
        .expect(201);
    let contact = json!({"type": "page", "children": [
        {"type": "form", "props": {"collection": "messages", "submit_label": "Send"}, "children": [
            {"type": "input", "props": {"field": "email", "label": "Email", "input_type": "email", "required": true}},
            {"type": "input", "props": {"field": "body", "label": "Message", "input_type": "textarea"}}]},
        {"type": "link", "props": {"label": "Home", "href": "/"}}]});
    app.post(&pages, Some(&owner.access), json!({"name": "Contact", "slug": "contact", "document": contact}))
        .await
        .expect(201);
    (owner, org, id)
}

/// Export and wait; the ZIP's entries.
async fn export(
    app: &TestApp,
    who: &Session,
    project: &str,
    format: &str,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    export_with(app, who, project, format, json!({"base_url": "https://bakery.example", "app_slug": "bakery"})).await
}

async fn export_with(
    app: &TestApp,
    who: &Session,
    project: &str,
    format: &str,
    options: Value,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    let asked = app
        .post(
            "/api/v1/exports",
            Some(&who.access),
            json!({"project_id": project, "format": format, "options": options}),
        )
        .await
        .expect(202)
        .body;
    let id = asked["id"].as_str().expect("id").to_string();
    let done: Value = eventually!("the export to finish", {
        let e = app.get(&format!("/api/v1/exports/{id}"), Some(&who.access)).await.expect(200).body;
        matches!(e["status"].as_str(), Some("succeeded" | "failed")).then_some(e)
    });
    assert_eq!(done["status"], "succeeded", "{done}");
    let link = done["download_url"].as_str().expect("a link").replace("http://socle.test", "");
    let bytes = app.client.get(app.url(&link)).send().await.expect("zip").bytes().await.expect("bytes");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a ZIP");
    let mut out = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).expect("an entry");
        let mut content = Vec::new();
        file.read_to_end(&mut content).expect("bytes");
        out.insert(file.name().expect("a name").to_string(), content);
    }
    out
}

fn text(files: &std::collections::BTreeMap<String, Vec<u8>>, name: &str) -> String {
    String::from_utf8_lossy(files.get(name).unwrap_or_else(|| panic!("{name} in {:?}", files.keys()))).into_owned()
}

on_both_databases!(projects_export_as_react_and_flutter_projects);

async fn projects_export_as_react_and_flutter_projects(app: TestApp) {
    let (owner, _org, id) = site_project(&app, "owner@bakery.example").await;

    // Its progress is pushed live as one notification, updated until the end.
    let ws_url = app.base.replace("http://", "ws://");
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("{ws_url}/api/v1/notifications/ws?token={}", owner.access))
            .await
            .expect("the notifications socket");
    assert_eq!(crate::automation::next_json(&mut ws).await.expect("hello")["type"], "hello");

    // React: a Vite project, one component per page, routes, the SDK pointed at the app.
    let react = export(&app, &owner, &id, "react").await;
    let mut pushed = Vec::new();
    while let Some(m) = crate::automation::next_json(&mut ws).await {
        let n = m["notification"].clone();
        // Others may come meanwhile (the project's "ready" notice, from the workflow its
        // creation started): only the export's own count here.
        if !n["tag"].as_str().is_some_and(|t| t.starts_with("export:")) {
            continue;
        }
        pushed.push(n.clone());
        if n["type"] == "export.finished" {
            break;
        }
    }
    let kinds: Vec<&str> = pushed.iter().filter_map(|n| n["type"].as_str()).collect();
    assert!(kinds.contains(&"export.progress") && kinds.last() == Some(&"export.finished"), "{kinds:?}");
    assert!(pushed.iter().all(|n| n["id"] == pushed[0]["id"]), "one notification, updated: {pushed:?}");
    let progress: Vec<i64> = pushed.iter().filter_map(|n| n["data"]["progress"].as_i64()).collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]) && progress.last() == Some(&100), "{progress:?}");
    let listed = app.get("/api/v1/notifications", Some(&owner.access)).await.expect(200).body;
    let tagged = listed["items"]
        .as_array()
        .map(|i| i.iter().filter(|n| n["tag"].as_str().is_some_and(|t| t.starts_with("export:"))).count());
    assert_eq!(tagged, Some(1), "the list holds the one notification: {listed}");
    let package: Value = serde_json::from_str(&text(&react, "package.json")).expect("package.json");
    assert_eq!(package["dependencies"]["pocketbase"], "0.28.1", "versions are pinned: {package}");
    assert!(package["scripts"]["build"].as_str().is_some_and(|b| b.contains("vite build")));
    for page in ["HomePage", "StoryPage", "ContactPage"] {
        assert!(react.contains_key(&format!("src/pages/{page}.tsx")), "{page} in {:?}", react.keys());
    }
    let main = text(&react, "src/main.tsx");
    assert!(main.contains(r#"<Route path="/story" element={<StoryPage />} />"#), "{main}");
    let home = text(&react, "src/pages/HomePage.tsx");
    assert!(home.contains(r#"{"Fresh bread & 'pastries' {daily} $5"}"#), "texts are string literals: {home}");
    assert!(home.contains(r#"<Link className={"s-link"} to={"/story"}>"#), "{home}");
    assert!(text(&react, "src/pages/ContactPage.tsx").contains("<CollectionForm"));
    assert!(text(&react, "src/lib/pocketbase.ts").contains(r#""http://socle.test/apps/bakery""#));
    assert!(text(&react, "public/sitemap.xml").contains("<loc>https://bakery.example/story</loc>"));
    // The page image: copied, at most 1600 px wide, recompressed, and pointed at.
    let image = react.keys().find(|k| k.starts_with("public/images/")).expect("the image is copied").clone();
    let copied = image::load_from_memory(&react[&image]).expect("an image");
    assert_eq!((copied.width(), copied.height()), (1600, 800));
    assert!(home.contains(&format!("src={{\"{}\"}}", image.trim_start_matches("public"))), "{home}");

    // Flutter: pubspec, one widget per page, named routes, the Dart SDK.
    let flutter = export(&app, &owner, &id, "flutter").await;
    let pubspec = text(&flutter, "pubspec.yaml");
    assert!(pubspec.contains("name: corner_bakery") && pubspec.contains("pocketbase: 0.23.0"), "{pubspec}");
    assert!(pubspec.contains("- assets/images/"), "{pubspec}");
    for page in ["home_page", "story_page", "contact_page"] {
        assert!(flutter.contains_key(&format!("lib/pages/{page}.dart")), "{page} in {:?}", flutter.keys());
    }
    let main = text(&flutter, "lib/main.dart");
    assert!(main.contains("'/contact': (context) => const ContactPage(),"), "{main}");
    let home = text(&flutter, "lib/pages/home_page.dart");
    assert!(home.contains(r"Text('Fresh bread & \'pastries\' {daily} \$5'"), "Dart strings are escaped: {home}");
    assert!(home.contains("Navigator.of(context).pushNamed('/story')"), "{home}");
    assert!(home.contains("Image.asset('assets/images/"), "{home}");
    assert!(text(&flutter, "lib/pages/contact_page.dart").contains("FieldSpec(name: 'email'"));
    assert!(flutter.keys().any(|k| k.starts_with("assets/images/")));
    app.stop().await;
}

crate::on_both_backends!(old_exports_are_purged);

/// The scheduler deletes exports finished more than `exports.retention_days` ago (30), their
/// ZIP and their row.
async fn old_exports_are_purged(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.update_section("exports", |e: &mut exports::settings::ExportsSettings| e.purge_every_secs = 1)
            .expect("exports settings");
    })
    .await;
    let owner = app.signup("owner@purge.example").await;
    let org = app.organization(&owner, "Purge").await;
    let id = project(&app, &owner, &org, "Purge").await;
    let files = export(&app, &owner, &id, "html").await;
    assert!(files.contains_key("robots.txt"));
    let listed = app.get(&format!("/api/v1/exports?project_id={id}"), Some(&owner.access)).await.expect(200).body;
    let export_id = listed[0]["id"].as_str().expect("id").to_string();
    let zip = app.data_dir.join(format!("storage/exports/{id}/{export_id}.zip"));
    assert!(zip.exists(), "the ZIP is stored");
    // Finished 40 days ago: past the 30 days kept by default.
    app.db
        .execute(
            "UPDATE exports SET finished_at = $2 WHERE id = $1",
            kernel::args![&export_id, kernel::time::now() - time::Duration::days(40)],
        )
        .await
        .expect("age the export");
    eventually!("the old export to be purged", {
        (app.get(&format!("/api/v1/exports/{export_id}"), Some(&owner.access)).await.status == 404).then_some(())
    });
    assert!(!zip.exists(), "the ZIP is gone");
    app.stop().await;
}

/// The static site in a real browser (every page reached by its links, no console error, a
/// screenshot that is not blank), and the React project built with `npm install && npm run
/// build`. On SQLite only, like the console's browser test: what is checked is the
/// generated files, which do not depend on the database.
#[test]
fn exported_sites_open_in_a_browser_and_react_projects_build() {
    run_on_workers(async {
        let app = TestApp::spawn(Backend::Sqlite).await;
        let (owner, _org, id) = site_project(&app, "owner@browser.example").await;
        let root = app.data_dir.join("unzipped");
        let unpack = |files: &std::collections::BTreeMap<String, Vec<u8>>, dir: &std::path::Path| {
            for (name, content) in files {
                let path = dir.join(name);
                std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
                std::fs::write(path, content).expect("write");
            }
        };
        let site = root.join("html");
        // Without an app: the visit stays on this machine (the browser reaches no API).
        unpack(&export_with(&app, &owner, &id, "html", json!({"base_url": "https://bakery.example"})).await, &site);
        let console = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../console");
        let shot = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/export-screenshots/home.png");
        std::fs::create_dir_all(shot.parent().expect("folder")).expect("mkdir");
        let out = tokio::process::Command::new("node")
            .arg("e2e/exported_site.mjs")
            .arg(&site)
            .arg(&shot)
            .current_dir(&console)
            .output()
            .await
            .expect("node runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
        let visited: Vec<&str> =
            report["visited"].as_array().expect("visited").iter().filter_map(Value::as_str).collect();
        for page in ["index.html", "story.html", "contact.html"] {
            assert!(visited.contains(&page), "{page} reached by links: {report}");
        }
        assert_eq!(report["errors"], json!([]), "no console error or failed request");
        let screenshot = image::open(&shot).expect("a screenshot").to_rgb8();
        let first = *screenshot.get_pixel(0, 0);
        let varied = screenshot.pixels().filter(|p| **p != first).count();
        assert!(varied > 10_000, "the screenshot shows the page ({varied} pixels differ from the background)");

        let react = root.join("react");
        unpack(&export(&app, &owner, &id, "react").await, &react);
        let npm = |args: &'static [&'static str]| {
            let dir = react.clone();
            async move {
                let out =
                    tokio::process::Command::new("npm").args(args).current_dir(&dir).output().await.expect("npm runs");
                assert!(
                    out.status.success(),
                    "npm {args:?} failed:\n{}\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        };
        npm(&["install", "--no-audit", "--no-fund", "--loglevel=error"]).await;
        npm(&["run", "build"]).await;
        assert!(react.join("dist/index.html").exists(), "vite built the site");
        let bundle: String = std::fs::read_dir(react.join("dist/assets"))
            .expect("assets")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "js"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .collect();
        assert!(bundle.contains("Baking since 1950."), "the pages are in the bundle");
        app.stop().await;
    });
}
