//! The web console (`/console`): served by the binary from its embedded build, its screens
//! falling back to the application's index, hashed assets cached for good, a strict CSP;
//! and the console itself driven end to end in headless Chromium (`console/e2e`).
//! `scripts/test` installs Chromium and the console's packages (`console/package-lock.json`);
//! a missing Node.js, Chromium or package fails the test.

use crate::on_both_databases;
use crate::support::{Backend, TestApp, run_on_workers};

on_both_databases!(the_console_is_served_with_its_own_headers);

const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'";

/// The first `/console/assets/...` path in `html` that ends with `extension`.
fn asset_in(html: &str, extension: &str) -> String {
    html.split('"')
        .find(|part| part.starts_with("/console/assets/") && part.ends_with(extension))
        .unwrap_or_else(|| panic!("index.html links no {extension} asset: {html}"))
        .to_string()
}

async fn the_console_is_served_with_its_own_headers(app: TestApp) {
    // The console and any of its screens answer the application's index.
    let mut index = String::new();
    // The emails' links (crates/foundation/src/emails.rs) lead to screens of the console.
    for path in [
        "/console",
        "/console/",
        "/console/projects/x",
        "/console/projects/x/pages/y",
        "/console/apps/a/records/posts?page=2",
        "/console/activate?token=t",
        "/console/forgot-password",
        "/console/reset-password?token=t",
        "/console/invitations/accept?token=t",
        "/console/oauth2/callback?code=c&state=s",
        "/console/account/security",
    ] {
        let page = app.get(path, None).await.expect(200);
        assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"), "{path}");
        assert_eq!(page.header("cache-control"), Some("no-cache"), "{path}");
        assert_eq!(page.header("content-security-policy"), Some(CONSOLE_CSP), "{path}");
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        let html = page.body.as_str().expect("an HTML body").to_string();
        assert!(html.contains("<div id=\"app\"></div>"), "{path}: {html}");
        // No inline script: every script is a file of the console.
        assert!(
            !html.contains("<script>") && html.contains("<script type=\"module\" crossorigin src=\"/console/assets/")
        );
        index = html;
    }

    // Hashed assets: their type, cached for a year, the console's CSP.
    for (extension, content_type) in [(".js", "text/javascript; charset=utf-8"), (".css", "text/css; charset=utf-8")] {
        let path = asset_in(&index, extension);
        let asset = app.get(&path, None).await.expect(200);
        assert_eq!(asset.header("content-type"), Some(content_type), "{path}");
        assert_eq!(asset.header("cache-control"), Some("public, max-age=31536000, immutable"), "{path}");
        assert_eq!(asset.header("content-security-policy"), Some(CONSOLE_CSP));
        assert_eq!(asset.header("x-content-type-options"), Some("nosniff"));
    }
    let icon = app.get("/console/favicon.svg", None).await.expect(200);
    assert_eq!(icon.header("content-type"), Some("image/svg+xml; charset=utf-8"));
    assert_eq!(icon.header("cache-control"), Some("no-cache"), "a file without a hash is revalidated");

    // A file that is not there is a 404 problem, not the index.
    for path in ["/console/assets/index-missing.js", "/console/assets/x", "/console/robots.txt"] {
        let missing = app.get(path, None).await.expect(404);
        assert_eq!(missing.header("content-type"), Some("application/problem+json"), "{path}");
        assert_eq!(missing.body["status"], 404);
    }

    // Outside /console the API's policy is unchanged, and the console is not API.
    let api = app.get("/healthz", None).await;
    assert_eq!(
        api.header("content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
    );
    app.get("/consoles", None).await.expect(404);
    let spec = app.get("/api/openapi.json", None).await.expect(200).body;
    assert!(spec["paths"].as_object().expect("paths").keys().all(|path| !path.starts_with("/console")));
}

/// The console in a real browser against the real server: sign-up (a refused password
/// first), sign-out and sign-in, an organization, a project, a collection with a field of
/// each kind (a refused definition and a refused rule first), a page created, renamed and
/// edited live in two browser contexts (a heading dragged from the palette in one seen in the
/// other, its text typed in the props panel, presence avatars and selection outlines,
/// reordering by drag, undo and redo, delete by keyboard; the page's JSON then read through
/// the API), an app created and deployed,
/// records created (refused values first, a file uploaded), filtered, edited and deleted,
/// an end user; an expired access token refreshed, organizations switched, a dead session
/// sent to sign-in; a password reset asked for on the sign-in screen, its email's link
/// opened (the script reads the server's mail folder) and the new password used; an
/// invitation's link opened signed out coming back after sign-in; two-step sign-in set up and
/// used; members, invitations and API keys; a sign-in through a real OpenID Provider (its own
/// login and consent pages) and the linked identity shown; no console error or CSP violation; no WCAG 2.1 A/AA violation found by
/// axe-core on any screen, light or dark. Screenshots of each screen are saved to `target/console-screenshots/`.
/// On SQLite only: the console sees the same API on both databases, which the other
/// scenarios check, and a browser run costs seconds.
#[test]
fn the_console_works_in_a_browser() {
    run_on_workers(async {
        // A real OpenID Provider to sign in with; it sends the browser back to the public URL
        // (http://socle.test), which the browser test maps to this server.
        let idp = crate::oidc::OidcProvider::start(serde_json::json!([{
            "client_id": "socle-console", "client_secret": "console-client-secret",
            "redirect_uris": ["http://socle.test/console/oauth2/callback"]
        }]))
        .await;
        let app = TestApp::spawn_with(Backend::Sqlite, |config| {
            config
                .update_section("security", |s: &mut foundation::settings::SecurityConfig| {
                    s.require_email_activation = false;
                })
                .expect("security settings");
            config
                .update_section(
                    foundation::oauth::settings::OAUTH,
                    |o: &mut foundation::oauth::settings::OAuthConfig| {
                        o.providers.push(foundation::oauth::settings::ProviderSettings {
                            name: "local".into(),
                            display_name: "Local IdP".into(),
                            client_id: "socle-console".into(),
                            client_secret: "console-client-secret".into(),
                            issuer: Some(idp.issuer.clone()),
                            ..Default::default()
                        })
                    },
                )
                .expect("oauth settings");
        })
        .await;
        // A platform administrator for the back-office screens.
        app.admin("root@console.example").await;
        let console = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../console");
        assert!(
            console.join("node_modules/playwright-core").exists(),
            "the console's packages are not installed: run `npm ci --prefix console` (scripts/test does)"
        );
        let screenshots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
        let output = tokio::process::Command::new("node")
            .arg("e2e/console.mjs")
            .arg(&app.base)
            .current_dir(&console)
            .env("SCREENSHOTS_DIR", &screenshots)
            .env("MAIL_DIR", app.data_dir.join("mail"))
            .env("OIDC_PUBLIC_URL", "http://socle.test")
            .env("ADMIN_EMAIL", "root@console.example")
            .env("ADMIN_PASSWORD", crate::support::PASSWORD)
            .output()
            .await
            .expect("node runs (install Node.js 20 or later)");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "the console's browser test failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains("password reset through the email link"), "{stdout}");
        assert!(stdout.contains("signed in with the OpenID provider"), "{stdout}");
        assert!(stdout.contains("the admin back-office"), "{stdout}");
        assert!(stdout.contains("a plan bought through the sandbox"), "{stdout}");
        assert!(stdout.contains("all console checks passed"), "{stdout}");
    });
}
