//! Platform files (`/api/v1/files`): builders' uploads scoped to their organization, with
//! sniffed types, size limits, thumbnails, signed links that expire, public page images,
//! audit, and the storage quota; on the local disk and on an S3-compatible store.

use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::support::{Backend, Session, TestApp};

/// A real PNG of `w`×`h` pixels.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("encode a PNG");
    out.into_inner()
}

fn form(org: &str, name: &str, bytes: Vec<u8>) -> Form {
    Form::new().text("organization_id", org.to_string()).part("file", Part::bytes(bytes).file_name(name.to_string()))
}

async fn upload(app: &TestApp, who: &Session, org: &str, name: &str, bytes: Vec<u8>) -> crate::support::Resp {
    app.multipart("/api/v1/files", Some(&who.access), form(org, name, bytes)).await
}

/// GET a full URL the API gave (signed links carry their own credentials).
async fn fetch(app: &TestApp, url: &str) -> (u16, Vec<u8>, reqwest::header::HeaderMap) {
    let r = app.client.get(app.url(&url.replace("http://socle.test", ""))).send().await.expect("request");
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, r.bytes().await.expect("body").to_vec(), headers)
}

crate::on_both_backends!(builders_upload_read_share_and_delete_platform_files);

async fn builders_upload_read_share_and_delete_platform_files(backend: Backend) {
    let app = TestApp::spawn_with(backend, small_files).await;
    files_scenario(&app, None).await;
    app.stop().await;
}

/// The whole story of a file; `bucket` (an S3 listing URL) also checks where bytes land.
async fn files_scenario(app: &TestApp, bucket: Option<&str>) {
    let owner = app.signup("owner@files.example").await;
    let org = app.organization(&owner, "Assets").await;
    let member = app.signup("member@files.example").await;
    app.add_member(&org, &owner, &member, "MEMBER").await;
    let stranger = app.signup("stranger@files.example").await;
    let other_org = app.organization(&stranger, "Elsewhere").await;

    // Uploaded by a member: its type sniffed, its dimensions read, a signed link and a thumbnail.
    let logo = png(300, 200);
    let file = upload(app, &member, &org, "Logo.png", logo.clone()).await.expect(201).body;
    assert_eq!((file["mime"].as_str(), file["size"].as_u64()), (Some("image/png"), Some(logo.len() as u64)));
    assert_eq!(
        (file["width"].as_i64(), file["height"].as_i64(), file["public"].as_bool()),
        (Some(300), Some(200), Some(false))
    );
    let id = file["id"].as_str().expect("id").to_string();
    let url = file["url"].as_str().expect("url").to_string();
    assert!(url.contains("signature="), "{url}");
    let (status, bytes, headers) = fetch(app, &url).await;
    assert_eq!((status, bytes == logo), (200, true), "the signed link serves the bytes without signing in");
    assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("image/png"));
    assert!(
        headers.get("content-security-policy").is_some_and(|v| v.to_str().unwrap_or("").contains("default-src 'none'"))
    );
    let (status, thumb, _) = fetch(app, file["thumb_url"].as_str().expect("thumb url")).await;
    assert_eq!(status, 200);
    let thumb = image::load_from_memory(&thumb).expect("the thumbnail is an image");
    assert_eq!((thumb.width(), thumb.height()), (200, 200));

    // Signed links: tampered or expired ones are refused; without one a private file is 401.
    let content = format!("/api/v1/files/{id}/content");
    assert_eq!(app.get(&content, None).await.status, 401);
    let tampered = url.replace("signature=", "signature=0");
    assert_eq!(fetch(app, &tampered).await.0, 401);
    let expires: i64 =
        url.split("expires=").nth(1).and_then(|s| s.split('&').next()).and_then(|s| s.parse().ok()).expect("expires");
    let moved = url.replace(&format!("expires={expires}"), &format!("expires={}", expires + 3600));
    assert_eq!(fetch(app, &moved).await.0, 401, "the expiry is signed");
    let past = url.replace(&format!("expires={expires}"), "expires=1000");
    assert_eq!(fetch(app, &past).await.0, 401, "an expired link is refused");
    let other_user = url.replace(&format!("by={}", member.user_id), &format!("by={}", owner.user_id));
    assert_eq!(fetch(app, &other_user).await.0, 401, "who the link was given to is signed");

    // Listed and read in the organization only.
    let list = app.get(&format!("/api/v1/files?organization_id={org}"), Some(&owner.access)).await.expect(200).body;
    assert_eq!(list["total_items"], 1);
    assert_eq!(list["items"][0]["id"], id.as_str());
    let images = app.get(&format!("/api/v1/files?organization_id={org}&mime=image/&q=LOGO"), Some(&owner.access)).await;
    assert_eq!(images.expect(200).body["total_items"], 1);
    let none = app.get(&format!("/api/v1/files?organization_id={org}&mime=application/pdf"), Some(&owner.access)).await;
    assert_eq!(none.expect(200).body["total_items"], 0);
    app.get(&format!("/api/v1/files/{id}"), Some(&owner.access)).await.expect(200);
    app.get(&format!("/api/v1/files/{id}"), Some(&stranger.access)).await.expect(404);
    app.get(&format!("/api/v1/files/{id}"), None).await.expect(401);
    app.get(&format!("/api/v1/files?organization_id={org}"), Some(&stranger.access)).await.expect(404);
    app.get(&format!("/api/v1/files?organization_id={org}"), None).await.expect(401);
    app.get(&format!("/api/v1/files?organization_id={org}&per_page=0"), Some(&owner.access))
        .await
        .expect_field_error(422, "per_page");
    app.patch(&format!("/api/v1/files/{id}"), Some(&stranger.access), json!({"public": true})).await.expect(404);
    app.delete(&format!("/api/v1/files/{id}"), Some(&stranger.access)).await.expect(404);

    // Refused uploads, each naming what is wrong.
    assert_eq!(app.multipart("/api/v1/files", None, form(&org, "a.png", png(2, 2))).await.status, 401);
    upload(app, &stranger, &org, "a.png", png(2, 2)).await.expect(404);
    upload(app, &owner, &other_org, "a.png", png(2, 2)).await.expect(404);
    let exe = [b"MZ\x90\x00".as_slice(), &[0u8; 64]].concat();
    upload(app, &owner, &org, "tool.exe", exe).await.expect_field_error(422, "file");
    let fake_png = b"<script>alert(1)</script>".to_vec();
    upload(app, &owner, &org, "fake.png", fake_png).await.expect_field_error(422, "file");
    upload(app, &owner, &org, "empty.txt", Vec::new()).await.expect_field_error(422, "file");
    let big = vec![b'a'; 64 * 1024];
    upload(app, &owner, &org, "big.txt", big).await.expect_field_error(422, "file");
    let no_file = Form::new().text("organization_id", org.clone());
    app.multipart("/api/v1/files", Some(&owner.access), no_file).await.expect_field_error(422, "file");
    let no_org = Form::new().part("file", Part::bytes(png(2, 2)).file_name("a.png"));
    app.multipart("/api/v1/files", Some(&owner.access), no_org).await.expect_field_error(422, "organization_id");
    app.post("/api/v1/files", Some(&owner.access), json!({"organization_id": org})).await.expect(415);
    app.patch(&format!("/api/v1/files/{id}"), Some(&owner.access), json!({"name": ""}))
        .await
        .expect_field_error(422, "name");
    app.patch(&format!("/api/v1/files/{id}"), Some(&owner.access), json!({"public": "yes"})).await.expect(422);

    // A public file (a page image) is read without a link.
    let public =
        app.patch(&format!("/api/v1/files/{id}"), Some(&member.access), json!({"public": true})).await.expect(200);
    let public_url = public.body["url"].as_str().expect("url").to_string();
    assert!(!public_url.contains("signature"), "{public_url}");
    assert_eq!(app.get(&content, None).await.status, 200);
    app.get(&format!("{content}?thumb=nope"), None).await.expect_field_error(422, "thumb");

    // The organization's storage counts the file.
    let me = app.get(&format!("/api/v1/billing/me?organization_id={org}"), Some(&owner.access)).await.expect(200).body;
    let stored = me["usage"]
        .as_array()
        .and_then(|u| u.iter().find(|m| m["metric"] == "storage_bytes"))
        .and_then(|m| m["used"].as_i64())
        .expect("storage usage");
    assert!(stored >= logo.len() as i64, "storage counts the file: {me}");
    if let Some(bucket) = bucket {
        let listing = app.client.get(bucket).send().await.expect("list").text().await.expect("text");
        assert!(listing.contains(&format!("platform/{org}/{id}")), "the bytes are in the bucket: {listing}");
    }

    // Deleted by its uploader or an ADMIN, not by another member.
    let owners = upload(app, &owner, &org, "notes.txt", b"plain notes".to_vec()).await.expect(201).body;
    assert_eq!(owners["mime"], "text/plain");
    assert!(owners["thumb_url"].is_null());
    let notes = owners["id"].as_str().expect("id").to_string();
    app.delete(&format!("/api/v1/files/{notes}"), Some(&member.access)).await.expect(403);
    app.delete(&format!("/api/v1/files/{notes}"), Some(&owner.access)).await.expect(204);
    app.delete(&format!("/api/v1/files/{id}"), Some(&member.access)).await.expect(204);
    app.get(&content, None).await.expect(404);
    if let Some(bucket) = bucket {
        let listing = app.client.get(bucket).send().await.expect("list").text().await.expect("text");
        assert!(!listing.contains(&format!("platform/{org}/")), "the bytes left the bucket: {listing}");
    }

    // Every upload, private download and deletion is in the audit log.
    let actions = app.audit_actions().await;
    for action in ["FILE_UPLOADED", "FILE_DOWNLOADED", "FILE_UPDATED", "FILE_DELETED"] {
        assert!(actions.iter().any(|a| a == action), "{action} audited: {actions:?}");
    }
}

crate::on_both_backends!(platform_files_go_to_an_s3_compatible_store);

/// The same story with `s3.bucket` set, against a local S3 (moto, from PyPI; the test suite
/// installs it).
async fn platform_files_go_to_an_s3_compatible_store(backend: Backend) {
    let (endpoint, mut moto) = crate::support::start_moto("socle-platform").await;
    let app = TestApp::spawn_with(backend, |c| {
        c.s3.endpoint = endpoint.clone();
        c.s3.bucket = "socle-platform".into();
        c.s3.access_key = "test".into();
        c.s3.secret_key = "test".into();
        small_files(c);
    })
    .await;
    files_scenario(&app, Some(&format!("{endpoint}/socle-platform?list-type=2"))).await;
    app.stop().await;
    let _ = moto.kill().await;
}

/// Files of at most 32 KiB, so that the oversize case is cheap.
pub fn small_files(c: &mut kernel::config::Config) {
    c.update_section("files", |f: &mut runtime::platform_files::settings::FilesSettings| f.max_size_bytes = 32 * 1024)
        .expect("files settings");
}
