//! Second factors of platform accounts: TOTP enrolment with codes computed by an
//! independent implementation (PyPI `pyotp`, installed by `scripts/test`), the sign-in
//! challenge, recovery codes used once, disabling; passwordless sign-in by an emailed code.

use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{PASSWORD, Session, TestApp};

const AUTH: &str = "/api/v1/foundation/auth";
const MFA: &str = "/api/v1/foundation/users/me/mfa";

on_both_databases!(
    totp_enrolment_then_every_sign_in_needs_a_code,
    a_challenge_takes_five_wrong_codes_then_the_account_waits,
    sign_in_with_an_emailed_code,
    mfa_endpoints_refuse_bad_callers_and_bad_input,
);

/// The TOTP code of `secret` at now + `offset_secs`, by pyotp.
pub fn pyotp_code(secret: &str, offset_secs: i64) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import pyotp, sys, time; print(pyotp.TOTP(sys.argv[1]).at(time.time() + int(sys.argv[2])))",
            secret,
            &offset_secs.to_string(),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "pyotp is not installed (scripts/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A code that is none of the current steps' codes.
fn wrong_code(secret: &str) -> String {
    let taken: Vec<String> = (-1..=1).map(|s| pyotp_code(secret, s * 30)).collect();
    (0..1000).map(|n| format!("{n:06}")).find(|c| !taken.contains(c)).expect("a free code")
}

/// Enrol and confirm TOTP for `user`: (base32 secret, recovery codes).
async fn enable_totp(app: &TestApp, user: &Session) -> (String, Vec<String>) {
    let enrolment = app.post(&format!("{MFA}/totp"), Some(&user.access), json!({})).await.expect(201);
    let secret = enrolment.body["secret"].as_str().expect("secret").to_string();
    let confirmed = app
        .post(&format!("{MFA}/totp/confirm"), Some(&user.access), json!({"code": pyotp_code(&secret, 0)}))
        .await
        .expect(200);
    let codes = confirmed.body["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_string())
        .collect();
    (secret, codes)
}

/// Sign in with the password and expect the MFA challenge: its token.
async fn challenge(app: &TestApp, email: &str) -> String {
    let r = app.post(&format!("{AUTH}/login"), None, json!({"email": email, "password": PASSWORD})).await.expect(401);
    assert_eq!(r.body["type"], "https://socle.dev/problems/mfa-required", "{}", r.body);
    assert_eq!(r.body["methods"], json!(["totp", "recovery_code"]));
    assert_eq!(r.body["expires_in"], 300);
    assert!(r.body.get("access_token").is_none());
    r.body["mfa_token"].as_str().expect("mfa_token").to_string()
}

async fn totp_enrolment_then_every_sign_in_needs_a_code(app: TestApp) {
    let ada = app.signup("ada@mfa.example").await;
    let status = app.get(MFA, Some(&ada.access)).await.expect(200);
    assert_eq!(status.body, json!({"totp_enabled": false, "totp_pending": false, "recovery_codes_left": 0}));

    let enrolment = app.post(&format!("{MFA}/totp"), Some(&ada.access), json!({})).await.expect(201);
    let secret = enrolment.body["secret"].as_str().expect("secret").to_string();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    assert_eq!(
        enrolment.body["otpauth_uri"],
        format!("otpauth://totp/Socle:ada@mfa.example?secret={secret}&issuer=Socle&algorithm=SHA1&digits=6&period=30")
    );
    let svg = enrolment.body["qr_svg"].as_str().expect("svg");
    assert!(svg.contains("<svg") && svg.contains("</svg>"));
    // Not on until confirmed: the password alone still signs in.
    assert_eq!(app.get(MFA, Some(&ada.access)).await.expect(200).body["totp_pending"], true);
    app.login("ada@mfa.example", PASSWORD).await;

    app.post(&format!("{MFA}/totp/confirm"), Some(&ada.access), json!({"code": wrong_code(&secret)}))
        .await
        .expect_field_error(422, "code");
    let first_code = pyotp_code(&secret, 0);
    let confirmed =
        app.post(&format!("{MFA}/totp/confirm"), Some(&ada.access), json!({"code": first_code})).await.expect(200);
    let codes: Vec<String> = serde_json::from_value(confirmed.body["recovery_codes"].clone()).expect("codes");
    assert_eq!(codes.len(), 10);
    assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), 10);
    assert_eq!(
        app.get(MFA, Some(&ada.access)).await.expect(200).body,
        json!({"totp_enabled": true, "totp_pending": false, "recovery_codes_left": 10})
    );
    // Enrolling again while on is a conflict.
    app.post(&format!("{MFA}/totp"), Some(&ada.access), json!({})).await.expect(409);

    // The password now opens a challenge; a wrong code does not complete it.
    let token = challenge(&app, "ada@mfa.example").await;
    app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": token, "code": wrong_code(&secret)})).await.expect(401);
    // The code that confirmed the enrolment was spent (the same code, whatever the clock
    // says now); the next step's code works.
    app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": token, "code": first_code})).await.expect(401);
    let next = pyotp_code(&secret, 30);
    let signed_in = app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": token, "code": next})).await.expect(200);
    assert_eq!(signed_in.body["user"]["email"], "ada@mfa.example");
    let access = signed_in.body["access_token"].as_str().expect("token");
    app.get("/api/v1/foundation/users/me", Some(access)).await.expect(200);
    // The challenge is spent, and so is the code.
    app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": token, "code": next})).await.expect(401);
    let again = challenge(&app, "ada@mfa.example").await;
    app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": again, "code": next})).await.expect(401);

    // A recovery code works once (any case, with or without its dash).
    let recovery = codes[3].to_uppercase().replace('-', "");
    app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": again, "code": recovery})).await.expect(200);
    let third = challenge(&app, "ada@mfa.example").await;
    app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": third, "code": codes[3]})).await.expect(401);
    app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": third, "code": codes[4]})).await.expect(200);
    assert_eq!(app.get(MFA, Some(&ada.access)).await.expect(200).body["recovery_codes_left"], 8);

    // New recovery codes replace the old ones.
    let fresh =
        app.post(&format!("{MFA}/recovery-codes"), Some(&ada.access), json!({"code": codes[5]})).await.expect(200);
    let fresh: Vec<String> = serde_json::from_value(fresh.body["recovery_codes"].clone()).expect("codes");
    assert_eq!(fresh.len(), 10);
    let fourth = challenge(&app, "ada@mfa.example").await;
    app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": fourth, "code": codes[6]})).await.expect(401);

    // Turning it off takes the password and a code.
    app.post(
        &format!("{MFA}/totp/disable"),
        Some(&ada.access),
        json!({"password": "wrong-password-1", "code": fresh[0]}),
    )
    .await
    .expect_field_error(422, "password");
    app.post(&format!("{MFA}/totp/disable"), Some(&ada.access), json!({"password": PASSWORD, "code": fresh[0]}))
        .await
        .expect(204);
    app.login("ada@mfa.example", PASSWORD).await;
    assert_eq!(
        app.get(MFA, Some(&ada.access)).await.expect(200).body,
        json!({"totp_enabled": false, "totp_pending": false, "recovery_codes_left": 0})
    );

    let actions = app.audit_actions().await;
    for expected in [
        "MFA_ENROLMENT_STARTED",
        "MFA_ENABLED",
        "MFA_CHALLENGE_ISSUED",
        "MFA_CHALLENGE_FAILED",
        "MFA_RECOVERY_CODE_USED",
        "MFA_RECOVERY_CODES_REGENERATED",
        "MFA_DISABLED",
    ] {
        assert!(actions.iter().any(|a| a == expected), "{expected} in {actions:?}");
    }
    // The secret is sealed at rest.
    let stored: Vec<(String,)> = app.db.fetch_all("SELECT secret FROM user_totp", vec![]).await.expect("rows");
    assert!(stored.iter().all(|(s,)| !s.contains(&secret)));
}

async fn a_challenge_takes_five_wrong_codes_then_the_account_waits(app: TestApp) {
    let bob = app.signup("bob@mfa.example").await;
    let (secret, codes) = enable_totp(&app, &bob).await;
    let token = challenge(&app, "bob@mfa.example").await;
    for _ in 0..5 {
        app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": token, "code": wrong_code(&secret)}))
            .await
            .expect(401);
    }
    // Spent: even a right code no longer completes it.
    app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": token, "code": codes[0]})).await.expect(401);
    // And a new challenge meets the account's limit of wrong codes.
    let again = challenge(&app, "bob@mfa.example").await;
    let limited =
        app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": again, "code": codes[0]})).await.expect(429);
    assert!(limited.header("retry-after").is_some());
}

/// The six digits of the newest sign-in code emailed to `to`.
async fn emailed_code(app: &TestApp, to: &str, n: usize) -> String {
    let mail = app.wait_for_nth_email(to, "sign-in code", n).await;
    mail.text
        .lines()
        .find_map(|l| l.split_once("Sign-in code: ").map(|(_, c)| c.trim().to_string()))
        .unwrap_or_else(|| panic!("no code in {}", mail.text))
}

async fn sign_in_with_an_emailed_code(app: TestApp) {
    let cy = app.signup("cy@mfa.example").await;
    let sent = app.post(&format!("{AUTH}/sign-in-code"), None, json!({"email": "CY@mfa.example"})).await.expect(202);
    let otp_id = sent.body["otp_id"].as_str().expect("otp_id").to_string();
    let code = emailed_code(&app, "cy@mfa.example", 1).await;
    assert_eq!(code.len(), 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    app.post(&format!("{AUTH}/sign-in-code/verify"), None, json!({"otp_id": otp_id, "code": wrong})).await.expect(401);
    let signed_in = app
        .post(&format!("{AUTH}/sign-in-code/verify"), None, json!({"otp_id": otp_id, "code": code}))
        .await
        .expect(200);
    assert_eq!(signed_in.body["user"]["id"], Value::String(cy.user_id.clone()));
    // Once.
    app.post(&format!("{AUTH}/sign-in-code/verify"), None, json!({"otp_id": otp_id, "code": code})).await.expect(401);

    // An unknown address gets the same answer and no email.
    let before = app.emails().len();
    let ghost =
        app.post(&format!("{AUTH}/sign-in-code"), None, json!({"email": "ghost@mfa.example"})).await.expect(202);
    assert!(ghost.body["otp_id"].is_string());
    app.settled().await;
    assert_eq!(app.emails().len(), before);

    // Five wrong codes spend it.
    let sent = app.post(&format!("{AUTH}/sign-in-code"), None, json!({"email": "cy@mfa.example"})).await.expect(202);
    let otp_id = sent.body["otp_id"].as_str().expect("otp_id").to_string();
    let code = emailed_code(&app, "cy@mfa.example", 2).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        app.post(&format!("{AUTH}/sign-in-code/verify"), None, json!({"otp_id": otp_id, "code": wrong}))
            .await
            .expect(401);
    }
    app.post(&format!("{AUTH}/sign-in-code/verify"), None, json!({"otp_id": otp_id, "code": code})).await.expect(401);

    // With TOTP on, the emailed code is a first factor only.
    let (secret, _) = enable_totp(&app, &cy).await;
    let sent = app.post(&format!("{AUTH}/sign-in-code"), None, json!({"email": "cy@mfa.example"})).await.expect(202);
    let otp_id = sent.body["otp_id"].as_str().expect("otp_id").to_string();
    let code = emailed_code(&app, "cy@mfa.example", 3).await;
    let r = app
        .post(&format!("{AUTH}/sign-in-code/verify"), None, json!({"otp_id": otp_id, "code": code}))
        .await
        .expect(401);
    let token = r.body["mfa_token"].as_str().expect("a challenge");
    app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": token, "code": pyotp_code(&secret, 30)}))
        .await
        .expect(200);
    let actions = app.audit_actions().await;
    assert!(actions.iter().any(|a| a == "SIGN_IN_CODE_REQUESTED"), "{actions:?}");
}

async fn mfa_endpoints_refuse_bad_callers_and_bad_input(app: TestApp) {
    let dee = app.signup("dee@mfa.example").await;
    // Unauthenticated.
    app.get(MFA, None).await.expect(401);
    app.post(&format!("{MFA}/totp"), None, json!({})).await.expect(401);
    app.post(&format!("{MFA}/totp/confirm"), None, json!({"code": "123456"})).await.expect(401);
    app.post(&format!("{MFA}/totp/disable"), None, json!({"password": PASSWORD, "code": "123456"})).await.expect(401);
    app.post(&format!("{MFA}/recovery-codes"), None, json!({"code": "123456"})).await.expect(401);
    // An organization's API key is not a person: these are an account's own settings.
    let org = app.organization(&dee, "Keys").await;
    let key = app
        .post(
            "/api/v1/foundation/api-keys",
            Some(&dee.access),
            json!({"organization_id": org, "name": "ci", "role": "ADMIN"}),
        )
        .await
        .expect(201);
    let key = key.body["secret"].as_str().expect("secret").to_string();
    app.get(MFA, Some(&key)).await.expect(403);
    app.post(&format!("{MFA}/totp"), Some(&key), json!({})).await.expect(403);
    // Nothing to confirm or disable yet.
    app.post(&format!("{MFA}/totp/confirm"), Some(&dee.access), json!({"code": "123456"})).await.expect(409);
    app.post(&format!("{MFA}/totp/disable"), Some(&dee.access), json!({"password": PASSWORD, "code": "123456"}))
        .await
        .expect(409);
    app.post(&format!("{MFA}/recovery-codes"), Some(&dee.access), json!({"code": "123456"})).await.expect(409);
    // Malformed input names its field.
    app.post(&format!("{MFA}/totp/confirm"), Some(&dee.access), json!({"code": ""}))
        .await
        .expect_field_error(422, "code");
    app.post(&format!("{MFA}/totp/confirm"), Some(&dee.access), json!({})).await.expect(422);
    app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": "", "code": "123456"}))
        .await
        .expect_field_error(422, "mfa_token");
    app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": "x".repeat(300), "code": "123456"}))
        .await
        .expect_field_error(422, "mfa_token");
    app.post(&format!("{AUTH}/mfa"), None, json!({"mfa_token": "not-a-challenge", "code": "123456"})).await.expect(401);
    app.post(&format!("{AUTH}/sign-in-code"), None, json!({"email": "not an email"}))
        .await
        .expect_field_error(422, "email");
    app.post(&format!("{AUTH}/sign-in-code/verify"), None, json!({"otp_id": "", "code": "1"}))
        .await
        .expect_field_error(422, "otp_id");
    app.post(&format!("{AUTH}/sign-in-code/verify"), None, json!({"otp_id": "nope", "code": "123456"}))
        .await
        .expect(401);
    app.post(&format!("{AUTH}/mfa"), None, json!("not an object")).await.expect(422);
}
