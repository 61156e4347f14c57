//! One-time passwords and MFA of an app's auth collection, in PocketBase's dialect: the
//! collection's `otp`/`mfa`/`passwordAuth` options, `auth-methods`, `request-otp` +
//! `auth-with-otp`, the 401 `{mfaId}` after a first factor; and the same flow through the
//! official `pocketbase` npm SDK (`tests/sdk/mfa.mjs`).

use serde_json::{Value, json};

use crate::on_both_databases;
use crate::runtime::{blog, create_and_deploy, end_user};
use crate::studio_projects::project;
use crate::support::{Session, TestApp};

on_both_databases!(
    otp_sign_in_then_mfa_with_two_different_factors,
    otp_and_mfa_refuse_bad_input_and_other_apps,
    the_official_sdk_completes_mfa_with_an_emailed_otp,
);

const PASSWORD: &str = "secret-pass-123";

/// Turn the `users` collection's options on and deploy again.
pub async fn configure_users(app: &TestApp, owner: &Session, project_id: &str, app_id: &str, options: Value) {
    app.patch(&format!("/api/v1/studio/projects/{project_id}/collections/users"), Some(&owner.access), options)
        .await
        .expect(200);
    app.post(&format!("/api/v1/runtime/apps/{app_id}/deploy"), Some(&owner.access), json!({})).await.expect(201);
}

/// The code of the `n`th OTP email to `to`.
pub async fn otp_code(app: &TestApp, to: &str, n: usize) -> String {
    let mail = app.wait_for_nth_email(to, "sign-in code", n).await;
    mail.text
        .lines()
        .find_map(|l| l.split_once("OTP: ").map(|(_, c)| c.trim().to_string()))
        .unwrap_or_else(|| panic!("no OTP in {}", mail.text))
}

async fn otp_sign_in_then_mfa_with_two_different_factors(app: TestApp) {
    let (owner, project_id, app_id) = blog(&app, "owner@factors.example", "factors").await;
    let base = "/apps/factors/api/collections/users";
    let (_, user_id) = end_user(&app, "factors", "eve@factors.example").await;

    // Off by default, as in PocketBase.
    let methods = app.get(&format!("{base}/auth-methods"), None).await.expect(200);
    assert_eq!(methods.body["otp"], json!({"enabled": false, "duration": 0}));
    assert_eq!(methods.body["mfa"], json!({"enabled": false, "duration": 0}));
    assert_eq!(methods.body["password"], json!({"enabled": true, "identityFields": ["email"]}));
    let off = app.post(&format!("{base}/request-otp"), None, json!({"email": "eve@factors.example"})).await.expect(403);
    assert_eq!(off.body["message"], "The collection is not configured to allow OTP authentication.");

    configure_users(
        &app,
        &owner,
        &project_id,
        &app_id,
        json!({"otp": {"enabled": true, "duration": 120, "length": 6}}),
    )
    .await;
    let methods = app.get(&format!("{base}/auth-methods"), None).await.expect(200);
    assert_eq!(methods.body["otp"], json!({"enabled": true, "duration": 120}));
    assert_eq!(methods.body["emailPassword"], true);

    let sent =
        app.post(&format!("{base}/request-otp"), None, json!({"email": "eve@factors.example"})).await.expect(200);
    let otp_id = sent.body["otpId"].as_str().expect("otpId").to_string();
    let code = otp_code(&app, "eve@factors.example", 1).await;
    assert_eq!(code.len(), 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused =
        app.post(&format!("{base}/auth-with-otp"), None, json!({"otpId": otp_id, "password": wrong})).await.expect(400);
    assert_eq!(refused.body["message"], "Invalid or expired OTP");
    let auth =
        app.post(&format!("{base}/auth-with-otp"), None, json!({"otpId": otp_id, "password": code})).await.expect(200);
    assert_eq!(auth.body["record"]["id"], Value::String(user_id.clone()));
    // The code reached the address: the record is verified now.
    assert_eq!(auth.body["record"]["verified"], true);
    app.post(&format!("{base}/auth-with-otp"), None, json!({"otpId": otp_id, "password": code})).await.expect(400);
    // An unknown address gets an otpId too, and no email.
    let ghost =
        app.post(&format!("{base}/request-otp"), None, json!({"email": "nobody@factors.example"})).await.expect(200);
    assert!(ghost.body["otpId"].is_string());

    // PocketBase's e-mail template of the collection, with its placeholders.
    configure_users(
        &app,
        &owner,
        &project_id,
        &app_id,
        json!({"otp": {"enabled": true, "duration": 120, "length": 6,
            "emailTemplate": {"subject": "Code for {APP_NAME}", "body": "<p>Use <strong>{OTP}</strong> ({OTP_ID}) at {APP_URL}</p>"}}}),
    )
    .await;
    let sent =
        app.post(&format!("{base}/request-otp"), None, json!({"email": "eve@factors.example"})).await.expect(200);
    let templated_id = sent.body["otpId"].as_str().expect("otpId").to_string();
    let mail = app.wait_for_email("eve@factors.example", "Code for factors").await;
    assert!(mail.text.contains(&format!("({templated_id}) at http://socle.test/apps/factors")), "{}", mail.text);

    // MFA: the password is a first factor only; the OTP completes it.
    configure_users(
        &app,
        &owner,
        &project_id,
        &app_id,
        json!({"otp": {"enabled": true, "duration": 120, "length": 6}, "mfa": {"enabled": true, "duration": 600}}),
    )
    .await;
    assert_eq!(
        app.get(&format!("{base}/auth-methods"), None).await.expect(200).body["mfa"],
        json!({"enabled": true, "duration": 600})
    );
    let first = app
        .post(
            &format!("{base}/auth-with-password"),
            None,
            json!({"identity": "eve@factors.example", "password": PASSWORD}),
        )
        .await
        .expect(401);
    let mfa_id = first.body["mfaId"].as_str().expect("mfaId").to_string();
    assert!(first.body.get("token").is_none());
    // The same method twice is not two factors.
    let same = app
        .post(
            &format!("{base}/auth-with-password"),
            None,
            json!({"identity": "eve@factors.example", "password": PASSWORD, "mfaId": mfa_id}),
        )
        .await
        .expect(400);
    assert_eq!(same.body["message"], "A different authentication method is required.");
    let sent =
        app.post(&format!("{base}/request-otp"), None, json!({"email": "eve@factors.example"})).await.expect(200);
    let otp_id = sent.body["otpId"].as_str().expect("otpId").to_string();
    let code = otp_code(&app, "eve@factors.example", 2).await;
    let done = app
        .post(&format!("{base}/auth-with-otp?mfaId={mfa_id}"), None, json!({"otpId": otp_id, "password": code}))
        .await
        .expect(200);
    let token = done.body["token"].as_str().expect("token");
    app.post(&format!("{base}/auth-refresh"), Some(token), json!({})).await.expect(200);
    // The MFA session is spent.
    app.post(
        &format!("{base}/auth-with-password"),
        None,
        json!({"identity": "eve@factors.example", "password": PASSWORD, "mfaId": mfa_id}),
    )
    .await
    .expect(400);

    // A rule narrows who needs MFA: here, nobody verified passes with the password alone.
    configure_users(
        &app,
        &owner,
        &project_id,
        &app_id,
        json!({"mfa": {"enabled": true, "duration": 600, "rule": "verified = false"}}),
    )
    .await;
    app.post(
        &format!("{base}/auth-with-password"),
        None,
        json!({"identity": "eve@factors.example", "password": PASSWORD}),
    )
    .await
    .expect(200);
    // Password sign-in can be turned off.
    configure_users(&app, &owner, &project_id, &app_id, json!({"passwordAuth": {"enabled": false}})).await;
    app.post(
        &format!("{base}/auth-with-password"),
        None,
        json!({"identity": "eve@factors.example", "password": PASSWORD}),
    )
    .await
    .expect(403);
    let methods = app.get(&format!("{base}/auth-methods"), None).await.expect(200);
    assert_eq!(methods.body["password"], json!({"enabled": false, "identityFields": []}));
    assert_eq!(methods.body["emailPassword"], false);
}

async fn otp_and_mfa_refuse_bad_input_and_other_apps(app: TestApp) {
    let (owner, project_id, app_id) = blog(&app, "owner@badotp.example", "badotp").await;
    configure_users(&app, &owner, &project_id, &app_id, json!({"otp": {"enabled": true}})).await;
    let base = "/apps/badotp/api/collections/users";
    end_user(&app, "badotp", "fay@badotp.example").await;
    // Options of the wrong type are refused, naming the key, not silently ignored.
    let users = format!("/api/v1/studio/projects/{project_id}/collections/users");
    for (options, field) in [
        (json!({"otp": {"enabled": "yes"}}), "otp.enabled"),
        (json!({"otp": {"enabled": true, "length": 2}}), "otp.length"),
        (json!({"otp": "on"}), "otp"),
        (json!({"mfa": {"enabled": true, "duration": -5}}), "mfa.duration"),
        (json!({"mfa": {"enabled": true, "rule": "nope = 1"}}), "mfa.rule"),
        (json!({"passwordAuth": {"identityFields": ["shoe_size"]}}), "passwordAuth.identityFields.0"),
    ] {
        let r = app.patch(&users, Some(&owner.access), options.clone()).await.expect(422);
        let fields: Vec<&str> =
            r.body["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
        assert!(fields.iter().any(|f| f.ends_with(field)), "{options}: {field} in {fields:?}");
    }
    let r = app.post(&format!("{base}/request-otp"), None, json!({"email": "not-an-email"})).await.expect(400);
    assert_eq!(r.body["data"]["email"]["code"], "validation_is_email");
    let r = app.post(&format!("{base}/auth-with-otp"), None, json!({})).await.expect(400);
    assert_eq!(r.body["data"]["otpId"]["code"], "validation_required");
    assert_eq!(r.body["data"]["password"]["code"], "validation_required");
    app.post(&format!("{base}/auth-with-otp"), None, json!("text")).await.expect(400);
    app.post(&format!("{base}/auth-with-otp"), None, json!({"otpId": "nope", "password": "12345678"}))
        .await
        .expect(400);
    // Not an auth collection, not a collection.
    app.post("/apps/badotp/api/collections/posts/request-otp", None, json!({"email": "fay@badotp.example"}))
        .await
        .expect(404);
    app.post("/apps/badotp/api/collections/nope/request-otp", None, json!({"email": "fay@badotp.example"}))
        .await
        .expect(404);

    // An OTP of one app does not open another app's account with the same id space.
    let sent = app.post(&format!("{base}/request-otp"), None, json!({"email": "fay@badotp.example"})).await.expect(200);
    let otp_id = sent.body["otpId"].as_str().expect("otpId").to_string();
    let code = otp_code(&app, "fay@badotp.example", 1).await;
    let org = app.organization(&owner, "Other").await;
    let other_project = project(&app, &owner, &org, "Other").await;
    let other_app = create_and_deploy(&app, &owner, &other_project, "otherotp").await;
    configure_users(&app, &owner, &other_project, &other_app, json!({"otp": {"enabled": true}})).await;
    app.post("/apps/otherotp/api/collections/users/auth-with-otp", None, json!({"otpId": otp_id, "password": code}))
        .await
        .expect(400);
    // Five wrong codes spend it (then a 429).
    for _ in 0..5 {
        app.post(&format!("{base}/auth-with-otp"), None, json!({"otpId": otp_id, "password": "x"})).await.expect(400);
    }
    app.post(&format!("{base}/auth-with-otp"), None, json!({"otpId": otp_id, "password": code})).await.expect(429);
}

async fn the_official_sdk_completes_mfa_with_an_emailed_otp(app: TestApp) {
    let (owner, project_id, app_id) = blog(&app, "owner@sdkmfa.example", "sdkmfa").await;
    // Signed up (and in, by password) before MFA is on.
    end_user(&app, "sdkmfa", "sdk@sdkmfa.example").await;
    configure_users(
        &app,
        &owner,
        &project_id,
        &app_id,
        json!({"otp": {"enabled": true, "duration": 300, "length": 8}, "mfa": {"enabled": true, "duration": 600}}),
    )
    .await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk");
    assert!(dir.join("node_modules/pocketbase").exists(), "the SDK is not installed: run `npm ci --prefix tests/sdk`");
    let output = tokio::process::Command::new("node")
        .arg("mfa.mjs")
        .current_dir(&dir)
        .env("SOCLE_APP_URL", app.url("/apps/sdkmfa"))
        .env("SOCLE_MAIL_DIR", app.data_dir.join("mail"))
        .env("SOCLE_USER_EMAIL", "sdk@sdkmfa.example")
        .env("SOCLE_USER_PASSWORD", PASSWORD)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the SDK run failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all MFA checks passed"), "{stdout}");
}
