//! Registration, activation, login, refresh rotation and reuse detection, logout, password
//! reset and change, lockout, rate limits, bcrypt import.

use serde_json::json;

use crate::support::{Backend, PASSWORD, TestApp};
use crate::{on_both_backends, on_both_databases};

const AUTH: &str = "/api/v1/foundation/auth";

on_both_databases!(
    register_activate_login_and_profile,
    registration_rejects_bad_input,
    registration_does_not_reveal_existing_accounts,
    login_failures_do_not_reveal_accounts,
    refresh_rotates_and_reuse_revokes_the_family,
    logout_revokes_the_session,
    password_reset_flow,
    change_password_revokes_other_sessions,
    failed_logins_are_rate_limited_per_account_and_ip,
    bcrypt_hashes_are_accepted_and_upgraded,
    invalid_tokens_are_401,
    profile_update_validates,
);
on_both_backends!(lockout_after_repeated_failures_until_reset, reset_tokens_expire, expired_access_tokens_are_refused);

async fn register_activate_login_and_profile(app: TestApp) {
    let r = app
        .post(
            &format!("{AUTH}/register"),
            None,
            json!({"email": "Ada@Example.com ", "password": PASSWORD, "first_name": "Ada", "last_name": "Lovelace"}),
        )
        .await
        .expect(202);
    assert_eq!(r.body, json!({"email": "ada@example.com", "status": "pending_activation"}));

    // Not activated yet: the right password is refused with 403, not a token.
    app.post(&format!("{AUTH}/login"), None, json!({"email": "ada@example.com", "password": PASSWORD}))
        .await
        .expect(403);

    let mail = app.wait_for_email("ada@example.com", "Activate").await;
    assert!(mail.text.contains("text/html") && mail.text.contains("text/plain"), "HTML and text parts");
    assert!(mail.text.contains("http://socle.test/console/activate?token="));
    let token = mail.token();
    let activated = app.post(&format!("{AUTH}/activate"), None, json!({"token": token})).await.expect(200);
    assert_eq!(activated.body["status"], "active");
    assert_eq!(activated.body["email_verified"], true);
    // Single use.
    app.post(&format!("{AUTH}/activate"), None, json!({"token": token})).await.expect_field_error(422, "token");

    let login = app
        .post(&format!("{AUTH}/login"), None, json!({"email": "ADA@example.com", "password": PASSWORD}))
        .await
        .expect(200);
    assert_eq!(login.body["token_type"], "Bearer");
    assert_eq!(login.body["expires_in"], 900);
    assert!(login.body["refresh_token"].as_str().is_some_and(|t| t.len() >= 40));
    let access = login.body["access_token"].as_str().expect("token");
    assert_eq!(access.split('.').count(), 3, "a JWT");

    let me = app.get("/api/v1/foundation/users/me", Some(access)).await.expect(200);
    assert_eq!(me.body["email"], "ada@example.com");
    assert_eq!(me.body["first_name"], "Ada");
    assert_eq!(me.body["role"], "user");
    assert!(me.body["last_login_at"].is_string());
    assert!(me.body.get("password_hash").is_none());

    let actions = app.audit_actions().await;
    for expected in ["USER_CREATED", "USER_STATUS_CHANGED", "LOGIN_SUCCESS"] {
        assert!(actions.iter().any(|a| a == expected), "{expected} in {actions:?}");
    }
}

async fn registration_rejects_bad_input(app: TestApp) {
    let url = format!("{AUTH}/register");
    let base = json!({"email": "bob@example.com", "password": PASSWORD, "first_name": "Bob", "last_name": "B"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    app.post(&url, None, with("password", json!("short1A"))).await.expect_field_error(422, "password");
    app.post(&url, None, with("password", json!("alllowercase-and-long-1"))).await.expect_field_error(422, "password");
    app.post(&url, None, with("email", json!("not-an-email"))).await.expect_field_error(422, "email");
    app.post(&url, None, with("email", json!(42))).await.expect_field_error(422, "email");
    app.post(&url, None, with("first_name", json!("x".repeat(101)))).await.expect_field_error(422, "first_name");
    app.post(&url, None, with("last_name", json!("  "))).await.expect_field_error(422, "last_name");
    app.post(&url, None, json!({"email": "bob@example.com"})).await.expect_field_error(422, "password");
    app.post(&url, None, json!([1, 2])).await.expect(422);
    // Several problems are reported at once.
    let r = app
        .post(&url, None, json!({"email": "x", "password": "y", "first_name": "", "last_name": ""}))
        .await
        .expect(422);
    assert!(r.body["errors"].as_array().is_some_and(|e| e.len() >= 4), "{}", r.body);
    // Not JSON at all, and the wrong content type.
    let raw = app
        .client
        .post(app.url(&url))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .expect("send");
    let raw = TestApp::read(raw).await.expect(400);
    assert_eq!(raw.header("content-type"), Some("application/problem+json"));
    let form =
        app.client.post(app.url(&url)).header("content-type", "text/plain").body("email=x").send().await.expect("send");
    TestApp::read(form).await.expect(415);
    // Whatever those requests queued has been sent by now, so an empty folder means none.
    app.settled().await;
    assert!(app.emails().is_empty(), "nothing was sent for invalid input");
}

async fn registration_does_not_reveal_existing_accounts(app: TestApp) {
    app.signup("carol@example.com").await;
    let again = app
        .post(
            &format!("{AUTH}/register"),
            None,
            json!({"email": "carol@example.com", "password": PASSWORD, "first_name": "Other", "last_name": "Person"}),
        )
        .await
        .expect(202);
    assert_eq!(again.body, json!({"email": "carol@example.com", "status": "pending_activation"}));
    app.wait_for_email("carol@example.com", "already have").await;
    // The existing account is untouched.
    app.login("carol@example.com", PASSWORD).await;
}

async fn login_failures_do_not_reveal_accounts(app: TestApp) {
    app.signup("dave@example.com").await;
    let wrong = app
        .post(&format!("{AUTH}/login"), None, json!({"email": "dave@example.com", "password": "Wrong-password-1"}))
        .await
        .expect(401);
    let unknown = app
        .post(&format!("{AUTH}/login"), None, json!({"email": "nobody@example.com", "password": "Wrong-password-1"}))
        .await
        .expect(401);
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
    assert!(app.audit_actions().await.iter().filter(|a| *a == "LOGIN_FAILED").count() >= 2);
    app.post(&format!("{AUTH}/login"), None, json!({"email": "dave@example.com"}))
        .await
        .expect_field_error(422, "password");
    app.post(&format!("{AUTH}/login"), None, json!({"email": "dave@example.com", "password": ""}))
        .await
        .expect_field_error(422, "password");
}

async fn refresh_rotates_and_reuse_revokes_the_family(app: TestApp) {
    let s = app.signup("erin@example.com").await;
    let first = app.post(&format!("{AUTH}/refresh"), None, json!({"refresh_token": s.refresh})).await.expect(200);
    let rotated = first.body["refresh_token"].as_str().expect("rotated").to_string();
    let new_access = first.body["access_token"].as_str().expect("access").to_string();
    assert_ne!(rotated, s.refresh);
    app.get("/api/v1/foundation/users/me", Some(&new_access)).await.expect(200);

    // The old token comes back: someone copied it. The whole session dies.
    let reuse = app.post(&format!("{AUTH}/refresh"), None, json!({"refresh_token": s.refresh})).await.expect(401);
    assert!(reuse.body["detail"].as_str().is_some_and(|d| d.contains("reuse")));
    app.post(&format!("{AUTH}/refresh"), None, json!({"refresh_token": rotated})).await.expect(401);
    app.get("/api/v1/foundation/users/me", Some(&new_access)).await.expect(401);
    app.get("/api/v1/foundation/users/me", Some(&s.access)).await.expect(401);
    assert!(app.audit_actions().await.iter().any(|a| a == "SUSPICIOUS_ACTIVITY"));

    app.post(&format!("{AUTH}/refresh"), None, json!({"refresh_token": "made-up"})).await.expect(401);
    app.post(&format!("{AUTH}/refresh"), None, json!({"refresh_token": 12}))
        .await
        .expect_field_error(422, "refresh_token");
    // Signing in again works.
    app.login("erin@example.com", PASSWORD).await;
}

async fn logout_revokes_the_session(app: TestApp) {
    let s = app.signup("frank@example.com").await;
    app.post(&format!("{AUTH}/logout"), None, json!({})).await.expect(401);
    app.request(reqwest::Method::POST, &format!("{AUTH}/logout"), Some(&s.access), None).await.expect(204);
    app.get("/api/v1/foundation/users/me", Some(&s.access)).await.expect(401);
    app.post(&format!("{AUTH}/refresh"), None, json!({"refresh_token": s.refresh})).await.expect(401);
    assert!(app.audit_actions().await.iter().any(|a| a == "LOGOUT"));
}

async fn password_reset_flow(app: TestApp) {
    let s = app.signup("grace@example.com").await;
    let known = app
        .post(&format!("{AUTH}/request-password-reset"), None, json!({"email": "grace@example.com"}))
        .await
        .expect(202);
    let unknown = app
        .post(&format!("{AUTH}/request-password-reset"), None, json!({"email": "ghost@example.com"}))
        .await
        .expect(202);
    assert_eq!(known.body, unknown.body, "no user enumeration");
    let mail = app.wait_for_email("grace@example.com", "Reset").await;
    assert!(mail.text.contains("http://socle.test/console/reset-password?token="));
    let token = mail.token();
    // The token is stored hashed, never in clear.
    let stored: Vec<(String,)> = app
        .db
        .fetch_all("SELECT token_hash FROM user_tokens WHERE purpose = 'password_reset'", vec![])
        .await
        .expect("tokens");
    assert!(stored.iter().all(|(h,)| h.len() == 64 && *h != token));

    app.post(&format!("{AUTH}/reset-password"), None, json!({"token": token, "password": "weak"}))
        .await
        .expect_field_error(422, "password");
    app.post(&format!("{AUTH}/reset-password"), None, json!({"token": token, "password": "Brand-New-Password-2"}))
        .await
        .expect(200);
    app.get("/api/v1/foundation/users/me", Some(&s.access)).await.expect(401);
    app.post(&format!("{AUTH}/login"), None, json!({"email": "grace@example.com", "password": PASSWORD}))
        .await
        .expect(401);
    app.login("grace@example.com", "Brand-New-Password-2").await;
    // Single use, and garbage is refused.
    app.post(&format!("{AUTH}/reset-password"), None, json!({"token": token, "password": "Another-Password-3"}))
        .await
        .expect_field_error(422, "token");
    app.post(&format!("{AUTH}/reset-password"), None, json!({"token": "garbage", "password": "Another-Password-3"}))
        .await
        .expect_field_error(422, "token");
    let actions = app.audit_actions().await;
    for expected in ["PASSWORD_RESET_REQUEST", "PASSWORD_RESET_SUCCESS", "PASSWORD_RESET_FAILED"] {
        assert!(actions.iter().any(|a| a == expected), "{expected} in {actions:?}");
    }
    app.post(&format!("{AUTH}/request-password-reset"), None, json!({"email": "nope"}))
        .await
        .expect_field_error(422, "email");
}

async fn reset_tokens_expire(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.update_section("security", |s: &mut foundation::settings::SecurityConfig| s.password_reset_ttl_secs = 1)
            .expect("security settings")
    })
    .await;
    app.signup("hank@example.com").await;
    app.post(&format!("{AUTH}/request-password-reset"), None, json!({"email": "hank@example.com"})).await.expect(202);
    let token = app.wait_for_email("hank@example.com", "Reset").await.token();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    app.post(&format!("{AUTH}/reset-password"), None, json!({"token": token, "password": "Brand-New-Password-2"}))
        .await
        .expect_field_error(422, "token");
}

async fn change_password_revokes_other_sessions(app: TestApp) {
    let phone = app.signup("ivy@example.com").await;
    let laptop = app.login("ivy@example.com", PASSWORD).await;
    let url = "/api/v1/foundation/users/me/password";
    app.post(
        url,
        Some(&laptop.access),
        json!({"current_password": "Wrong-password-9", "new_password": "Brand-New-Password-2"}),
    )
    .await
    .expect_field_error(422, "current_password");
    app.post(url, Some(&laptop.access), json!({"current_password": PASSWORD, "new_password": "weak"}))
        .await
        .expect_field_error(422, "new_password");
    app.post(url, None, json!({"current_password": PASSWORD, "new_password": "Brand-New-Password-2"}))
        .await
        .expect(401);
    app.post(url, Some(&laptop.access), json!({"current_password": PASSWORD, "new_password": "Brand-New-Password-2"}))
        .await
        .expect(200);
    app.get("/api/v1/foundation/users/me", Some(&laptop.access)).await.expect(200);
    app.get("/api/v1/foundation/users/me", Some(&phone.access)).await.expect(401);
    app.login("ivy@example.com", "Brand-New-Password-2").await;
    assert!(app.audit_actions().await.iter().any(|a| a == "PASSWORD_CHANGE"));
}

async fn lockout_after_repeated_failures_until_reset(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.update_section("security", |s: &mut foundation::settings::SecurityConfig| s.lockout_threshold = 3)
            .expect("security settings");
        c.rate_limit.login_failures_per_hour = 100;
    })
    .await;
    app.signup("jack@example.com").await;
    for _ in 0..3 {
        app.post(&format!("{AUTH}/login"), None, json!({"email": "jack@example.com", "password": "Wrong-password-1"}))
            .await
            .expect(401);
    }
    // Even the right password is refused now.
    let locked = app
        .post(&format!("{AUTH}/login"), None, json!({"email": "jack@example.com", "password": PASSWORD}))
        .await
        .expect(423);
    assert!(locked.body["detail"].as_str().is_some_and(|d| d.contains("reset your password")));
    assert!(app.audit_actions().await.iter().any(|a| a == "ACCOUNT_LOCKED"));
    // A wrong password on a locked account says nothing more than 401.
    app.post(&format!("{AUTH}/login"), None, json!({"email": "jack@example.com", "password": "Wrong-password-1"}))
        .await
        .expect(401);

    app.post(&format!("{AUTH}/request-password-reset"), None, json!({"email": "jack@example.com"})).await.expect(202);
    let token = app.wait_for_email("jack@example.com", "Reset").await.token();
    app.post(&format!("{AUTH}/reset-password"), None, json!({"token": token, "password": "Brand-New-Password-2"}))
        .await
        .expect(200);
    app.login("jack@example.com", "Brand-New-Password-2").await;
}

async fn failed_logins_are_rate_limited_per_account_and_ip(app: TestApp) {
    app.signup("kate@example.com").await;
    for _ in 0..5 {
        app.post(&format!("{AUTH}/login"), None, json!({"email": "kate@example.com", "password": "Wrong-password-1"}))
            .await
            .expect(401);
    }
    let limited = app
        .post(&format!("{AUTH}/login"), None, json!({"email": "kate@example.com", "password": PASSWORD}))
        .await
        .expect(429);
    let retry: u64 = limited.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
    assert!(retry > 0 && retry <= 3600);
    assert_eq!(limited.header("content-type"), Some("application/problem+json"));
    // The same address is limited for other accounts too (per-IP window).
    app.post(
        &format!("{AUTH}/login"),
        None,
        json!({"email": "someone-else@example.com", "password": "Wrong-password-1"}),
    )
    .await
    .expect(429);
    // Password-reset requests: 5 per hour.
    for _ in 0..5 {
        app.post(&format!("{AUTH}/request-password-reset"), None, json!({"email": "kate@example.com"}))
            .await
            .expect(202);
    }
    let limited = app
        .post(&format!("{AUTH}/request-password-reset"), None, json!({"email": "kate@example.com"}))
        .await
        .expect(429);
    assert!(limited.header("retry-after").is_some());
}

async fn bcrypt_hashes_are_accepted_and_upgraded(app: TestApp) {
    // An account imported from another system with a bcrypt hash.
    let hash = bcrypt::hash("Imported-Password-1", 4).expect("bcrypt");
    let now = kernel::time::now();
    app.db
        .execute(
            "INSERT INTO users (id, email, password_hash, first_name, last_name, role, status, email_verified_at, created_at, updated_at)
             VALUES ($1, 'legacy@example.com', $2, 'Leg', 'Acy', 'user', 'active', $3, $3, $3)",
            kernel::args![kernel::ids::new_id(), hash, now],
        )
        .await
        .expect("import");
    app.post(&format!("{AUTH}/login"), None, json!({"email": "legacy@example.com", "password": "wrong"}))
        .await
        .expect(401);
    app.login("legacy@example.com", "Imported-Password-1").await;
    let (stored,): (String,) = app
        .db
        .fetch_one("SELECT password_hash FROM users WHERE email = 'legacy@example.com'", vec![])
        .await
        .expect("hash");
    assert!(stored.starts_with("$argon2id$"), "upgraded to argon2id: {stored}");
    app.login("legacy@example.com", "Imported-Password-1").await;
}

async fn invalid_tokens_are_401(app: TestApp) {
    let me = "/api/v1/foundation/users/me";
    app.get(me, None).await.expect(401);
    let r = app.get(me, Some("not-a-jwt")).await.expect(401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    app.get(me, Some("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")).await.expect(401);
    let basic = app.client.get(app.url(me)).header("authorization", "Basic dXNlcjpwYXNz").send().await.expect("send");
    TestApp::read(basic).await.expect(401);
    let key = app.client.get(app.url(me)).header("x-api-key", "sk_nothing_real").send().await.expect("send");
    TestApp::read(key).await.expect(401);
}

async fn expired_access_tokens_are_refused(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.access_token_ttl_secs = -60).await;
    let s = app.signup("liam@example.com").await;
    let r = app.get("/api/v1/foundation/users/me", Some(&s.access)).await.expect(401);
    assert!(r.body["detail"].as_str().is_some_and(|d| d.contains("expired")), "{}", r.body);
}

async fn profile_update_validates(app: TestApp) {
    let s = app.signup("mia@example.com").await;
    let url = "/api/v1/foundation/users/me";
    let r = app.patch(url, Some(&s.access), json!({"first_name": "Mia", "last_name": "Wallace"})).await.expect(200);
    assert_eq!(r.body["last_name"], "Wallace");
    app.patch(url, Some(&s.access), json!({"first_name": ""})).await.expect_field_error(422, "first_name");
    app.patch(url, Some(&s.access), json!({"first_name": "a".repeat(500)})).await.expect_field_error(422, "first_name");
    app.patch(url, Some(&s.access), json!({"last_name": ["x"]})).await.expect_field_error(422, "last_name");
    app.patch(url, None, json!({"first_name": "X"})).await.expect(401);
    assert!(app.audit_actions().await.iter().any(|a| a == "USER_UPDATED"));
}

on_both_databases!(builders_change_their_email_address);

/// A builder moves their account to another address: the password confirms them, a link to
/// the new address confirms it, the old address is told; taken addresses are not revealed.
async fn builders_change_their_email_address(app: TestApp) {
    let ada = app.signup("ada@old.example").await;
    let taken = app.signup("taken@example.com").await;
    let path = "/api/v1/foundation/users/me/email";
    let ask = |email: &str, password: &str| serde_json::json!({"email": email, "password": password});
    app.post(path, None, ask("ada@new.example", crate::support::PASSWORD)).await.expect(401);
    app.post(path, Some(&ada.access), ask("ada@new.example", "wrong-password"))
        .await
        .expect_field_error(422, "password");
    app.post(path, Some(&ada.access), ask("not an address", crate::support::PASSWORD))
        .await
        .expect_field_error(422, "email");
    app.post(path, Some(&ada.access), ask("ADA@old.example", crate::support::PASSWORD))
        .await
        .expect_field_error(422, "email");

    // Another account's address: the same answer, and nothing is sent there.
    let before = app.matching(&taken.email, "Confirm your new email").len();
    app.post(path, Some(&ada.access), ask(&taken.email, crate::support::PASSWORD)).await.expect(202);

    app.post(path, Some(&ada.access), ask("Ada@New.example", crate::support::PASSWORD)).await.expect(202);
    let token = app.wait_for_email("ada@new.example", "Confirm your new email").await.token();
    assert_eq!(app.matching(&taken.email, "Confirm your new email").len(), before, "a taken address gets nothing");
    let confirm = "/api/v1/foundation/auth/confirm-email-change";
    app.post(confirm, None, serde_json::json!({"token": "forged"})).await.expect_field_error(422, "token");
    app.post(confirm, None, serde_json::json!({"token": token})).await.expect(200);
    app.post(confirm, None, serde_json::json!({"token": token})).await.expect_field_error(422, "token");

    // The account now signs in with the new address only; the old one was told.
    let me = app.login("ada@new.example", crate::support::PASSWORD).await;
    let profile = app.get("/api/v1/foundation/users/me", Some(&me.access)).await.expect(200).body;
    assert_eq!(profile["email"], "ada@new.example");
    let old = app
        .post(
            "/api/v1/foundation/auth/login",
            None,
            serde_json::json!({"email": "ada@old.example", "password": crate::support::PASSWORD}),
        )
        .await;
    assert_eq!(old.status, 401, "{}", old.body);
    let told = app.wait_for_email("ada@old.example", "address was changed").await;
    assert!(told.text.contains("ada@new.example"), "{}", told.text);
    let actions = app.audit_actions().await;
    assert!(
        actions.iter().any(|a| a == "EMAIL_CHANGE_REQUESTED") && actions.iter().any(|a| a == "EMAIL_CHANGED"),
        "{actions:?}"
    );
    app.stop().await;
}
