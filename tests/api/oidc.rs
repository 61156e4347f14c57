//! OAuth2 / OpenID Connect sign-in against a real OpenID Provider run by the test: panva's
//! certified `oidc-provider` (npm, `tests/oidc`, installed by `scripts/test`) on 127.0.0.1,
//! through the whole code + PKCE flow. The provider's helper route plays the browser (login
//! and consent forms). Refusals the provider cannot be made to produce (another audience, an
//! expired token, a bad signature) are unit tests of `foundation::oauth::client` with real
//! RSA signatures.

use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::on_both_databases;
use crate::support::{PASSWORD, TestApp};

on_both_databases!(
    builders_sign_in_with_an_openid_provider,
    oauth_endpoints_refuse_bad_callers_and_bad_input,
    app_end_users_sign_in_with_oauth2,
    app_oauth2_refuses_bad_input_and_private_endpoints,
    the_sdks_all_in_one_oauth2_flow_goes_through_realtime,
);

const CLIENT_ID: &str = "socle-console";
const CLIENT_SECRET: &str = "a-long-client-secret-for-tests";
const CALLBACK: &str = "http://socle.test/console/oauth2/callback";

/// A running provider; stopped when dropped.
pub struct OidcProvider {
    pub issuer: String,
    _child: tokio::process::Child,
}

impl OidcProvider {
    /// Start it with `clients` (JSON: client_id, client_secret, redirect_uris).
    pub async fn start(clients: Value) -> Self {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc");
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "oidc-provider is not installed: run `npm ci --prefix tests/oidc` (scripts/test does)"
        );
        let mut child = tokio::process::Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("OIDC_CLIENTS", clients.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let issuer = tokio::time::timeout(crate::support::PATIENCE, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(issuer) = line.strip_prefix("issuer ") {
                    return issuer.to_string();
                }
            }
            panic!("the provider stopped before listening")
        })
        .await
        .expect("the provider to listen");
        OidcProvider { issuer, _child: child }
    }

    /// Play the browser from `authorization_url` as `login`: the redirect with code and state.
    pub async fn sign_in(&self, authorization_url: &str, login: &str) -> reqwest::Url {
        let answer: Value = reqwest::Client::new()
            .get(format!("{}/test/sign-in", self.issuer))
            .query(&[("url", authorization_url), ("login", login)])
            .send()
            .await
            .expect("the provider answers")
            .json()
            .await
            .expect("json");
        reqwest::Url::parse(answer["location"].as_str().expect("a location")).expect("a URL")
    }
}

pub fn param(url: &reqwest::Url, key: &str) -> String {
    url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.to_string()).unwrap_or_default()
}

async fn app_with_provider(mut app: TestApp, issuer: &str) -> TestApp {
    app.reconfigure(|config| {
        config
            .update_section(foundation::oauth::settings::OAUTH, |o: &mut foundation::oauth::settings::OAuthConfig| {
                o.providers.push(foundation::oauth::settings::ProviderSettings {
                    name: "local".into(),
                    display_name: "Local IdP".into(),
                    client_id: CLIENT_ID.into(),
                    client_secret: CLIENT_SECRET.into(),
                    issuer: Some(issuer.into()),
                    ..Default::default()
                })
            })
            .expect("oauth settings");
    })
    .await;
    app
}

async fn provider() -> OidcProvider {
    OidcProvider::start(json!([{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [CALLBACK]}]))
        .await
}

const OAUTH: &str = "/api/v1/foundation/auth/oauth2";

/// Start, sign in at the provider as `login`: (code, state).
async fn code_for(app: &TestApp, idp: &OidcProvider, login: &str) -> (String, String) {
    let started = app.post(&format!("{OAUTH}/local/start"), None, json!({})).await.expect(200);
    let url = started.body["authorization_url"].as_str().expect("url").to_string();
    let parsed = reqwest::Url::parse(&url).expect("url");
    assert_eq!(param(&parsed, "code_challenge_method"), "S256");
    assert_eq!(param(&parsed, "redirect_uri"), CALLBACK);
    assert!(!param(&parsed, "nonce").is_empty());
    let back = idp.sign_in(&url, login).await;
    assert_eq!(format!("{}://{}{}", back.scheme(), back.host_str().unwrap_or_default(), back.path()), CALLBACK);
    assert_eq!(param(&back, "state"), started.body["state"].as_str().expect("state"));
    (param(&back, "code"), param(&back, "state"))
}

async fn builders_sign_in_with_an_openid_provider(app: TestApp) {
    let idp = provider().await;
    let app = app_with_provider(app, &idp.issuer).await;
    let providers = app.get(&format!("{OAUTH}/providers"), None).await.expect(200);
    assert_eq!(providers.body, json!([{"name": "local", "display_name": "Local IdP"}]));

    // A first sign-in creates the account, active, its address confirmed by the provider.
    let (code, state) = code_for(&app, &idp, "ada@oidc.example").await;
    let signed_in =
        app.post(&format!("{OAUTH}/local/callback"), None, json!({"code": code, "state": state})).await.expect(200);
    assert_eq!(signed_in.body["user"]["email"], "ada@oidc.example");
    assert_eq!(signed_in.body["user"]["email_verified"], true);
    let ada_id = signed_in.body["user"]["id"].as_str().expect("id").to_string();
    let access = signed_in.body["access_token"].as_str().expect("token").to_string();
    let identities = app.get("/api/v1/foundation/users/me/identities", Some(&access)).await.expect(200);
    assert_eq!(identities.body[0]["provider"], "local");
    assert_eq!(identities.body[0]["email"], "ada@oidc.example");

    // The same state and code again: refused (the state is spent).
    app.post(&format!("{OAUTH}/local/callback"), None, json!({"code": code, "state": state})).await.expect(401);
    // The spent code with a fresh state: the provider refuses it (used, and another PKCE pair).
    let fresh = app.post(&format!("{OAUTH}/local/start"), None, json!({})).await.expect(200);
    let fresh_state = fresh.body["state"].as_str().expect("state");
    app.post(&format!("{OAUTH}/local/callback"), None, json!({"code": code, "state": fresh_state})).await.expect(401);
    // An unknown state.
    app.post(&format!("{OAUTH}/local/callback"), None, json!({"code": "x", "state": "not-a-state"})).await.expect(401);

    // The next sign-in finds the linked account.
    let (code, state) = code_for(&app, &idp, "ada@oidc.example").await;
    let again =
        app.post(&format!("{OAUTH}/local/callback"), None, json!({"code": code, "state": state})).await.expect(200);
    assert_eq!(again.body["user"]["id"], Value::String(ada_id.clone()));

    // An account that signed up with a password is linked by its (provider-verified) address.
    let bob = app.signup("bob@oidc.example").await;
    let (code, state) = code_for(&app, &idp, "bob@oidc.example").await;
    let linked =
        app.post(&format!("{OAUTH}/local/callback"), None, json!({"code": code, "state": state})).await.expect(200);
    assert_eq!(linked.body["user"]["id"], Value::String(bob.user_id.clone()));

    // Someone registered an address they do not own and never confirmed it: the owner's
    // provider sign-in claims the account, and the squatter's password stops working.
    app.post(
        "/api/v1/foundation/auth/register",
        None,
        json!({"email": "cat@oidc.example", "password": PASSWORD, "first_name": "Squat", "last_name": "Ter"}),
    )
    .await
    .expect(202);
    let (code, state) = code_for(&app, &idp, "cat@oidc.example").await;
    let cat =
        app.post(&format!("{OAUTH}/local/callback"), None, json!({"code": code, "state": state})).await.expect(200);
    assert_eq!(cat.body["user"]["status"], "active");
    app.post("/api/v1/foundation/auth/login", None, json!({"email": "cat@oidc.example", "password": PASSWORD}))
        .await
        .expect(401);

    // An address the provider does not vouch for neither creates nor links an account.
    let (code, state) = code_for(&app, &idp, "eve-unverified@oidc.example").await;
    app.post(&format!("{OAUTH}/local/callback"), None, json!({"code": code, "state": state})).await.expect(401);
    let eve: i64 = app
        .db
        .scalar("SELECT COUNT(*) FROM users WHERE email = 'eve-unverified@oidc.example'", vec![])
        .await
        .expect("count");
    assert_eq!(eve, 0);

    // With TOTP on, the provider is a first factor only.
    let enrolment = app.post("/api/v1/foundation/users/me/mfa/totp", Some(&access), json!({})).await.expect(201);
    let secret = enrolment.body["secret"].as_str().expect("secret").to_string();
    app.post(
        "/api/v1/foundation/users/me/mfa/totp/confirm",
        Some(&access),
        json!({"code": crate::mfa::pyotp_code(&secret, 0)}),
    )
    .await
    .expect(200);
    let (code, state) = code_for(&app, &idp, "ada@oidc.example").await;
    let challenge =
        app.post(&format!("{OAUTH}/local/callback"), None, json!({"code": code, "state": state})).await.expect(401);
    let token = challenge.body["mfa_token"].as_str().expect("mfa challenge");
    app.post(
        "/api/v1/foundation/auth/mfa",
        None,
        json!({"mfa_token": token, "code": crate::mfa::pyotp_code(&secret, 30)}),
    )
    .await
    .expect(200);

    // Unlinking: not the only way in (Ada has no password); fine for Bob (he has one).
    app.delete("/api/v1/foundation/users/me/identities/local", Some(&access)).await.expect(409);
    app.delete("/api/v1/foundation/users/me/identities/local", Some(&bob.access)).await.expect(204);
    app.delete("/api/v1/foundation/users/me/identities/local", Some(&bob.access)).await.expect(404);
    app.login("bob@oidc.example", PASSWORD).await;
    // Ada's account has no password that could match.
    app.post("/api/v1/foundation/auth/login", None, json!({"email": "ada@oidc.example", "password": "!no-password"}))
        .await
        .expect(401);

    let actions = app.audit_actions().await;
    for expected in ["USER_CREATED", "OAUTH_IDENTITY_LINKED", "OAUTH_IDENTITY_UNLINKED", "LOGIN_SUCCESS"] {
        assert!(actions.iter().any(|a| a == expected), "{expected} in {actions:?}");
    }
}

async fn oauth_endpoints_refuse_bad_callers_and_bad_input(app: TestApp) {
    // No provider configured: an empty list, and 404 for any name.
    assert_eq!(app.get(&format!("{OAUTH}/providers"), None).await.expect(200).body, json!([]));
    app.post(&format!("{OAUTH}/nope/start"), None, json!({})).await.expect(404);
    app.post(&format!("{OAUTH}/nope/callback"), None, json!({"code": "c", "state": "s"})).await.expect(404);
    // Malformed.
    app.post(&format!("{OAUTH}/nope/callback"), None, json!({"code": "", "state": "s"}))
        .await
        .expect_field_error(422, "code");
    app.post(&format!("{OAUTH}/nope/callback"), None, json!({"code": "c"})).await.expect(422);
    app.post(&format!("{OAUTH}/nope/start"), None, json!("text")).await.expect(422);
    // Identities are an account's own.
    app.get("/api/v1/foundation/users/me/identities", None).await.expect(401);
    app.delete("/api/v1/foundation/users/me/identities/local", None).await.expect(401);
    let owner = app.signup("owner@oidc-bad.example").await;
    let org = app.organization(&owner, "Keys").await;
    let key = app
        .post(
            "/api/v1/foundation/api-keys",
            Some(&owner.access),
            json!({"organization_id": org, "name": "ci", "role": "ADMIN"}),
        )
        .await
        .expect(201);
    let key = key.body["secret"].as_str().expect("secret").to_string();
    app.get("/api/v1/foundation/users/me/identities", Some(&key)).await.expect(403);
    assert_eq!(
        app.get("/api/v1/foundation/users/me/identities", Some(&owner.access)).await.expect(200).body,
        json!([])
    );
    // A redirect to another site is refused.
    let idp = provider().await;
    let app = app_with_provider(app, &idp.issuer).await;
    app.post(&format!("{OAUTH}/local/start"), None, json!({"redirect_uri": "https://evil.example/cb"}))
        .await
        .expect_field_error(422, "redirect_uri");
}

const APP_CLIENT: &str = "socle-app";
const APP_REDIRECT: &str = "http://app.test/oauth2-redirect";

/// The `users` collection's `oauth2` option naming the local provider as PocketBase's
/// generic OIDC provider (its endpoints, its key set and issuer for the ID token).
fn app_oauth2(issuer: &str) -> Value {
    json!({"oauth2": {"enabled": true, "providers": [{
        "name": "oidc", "displayName": "Local IdP", "clientId": APP_CLIENT, "clientSecret": CLIENT_SECRET,
        "authURL": format!("{issuer}/auth"), "tokenURL": format!("{issuer}/token"), "userInfoURL": format!("{issuer}/me"),
        "extra": {"jwksURL": format!("{issuer}/jwks"), "issuers": [issuer]}
    }]}})
}

async fn app_provider() -> OidcProvider {
    OidcProvider::start(json!([
        {"client_id": APP_CLIENT, "client_secret": CLIENT_SECRET, "redirect_uris": [APP_REDIRECT]}
    ]))
    .await
}

/// The body of `auth-with-oauth2` for the local provider.
fn oauth2_body(code: &str, verifier: &str) -> Value {
    json!({"provider": "oidc", "code": code, "codeVerifier": verifier, "redirectURL": APP_REDIRECT})
}

/// From `auth-methods`, sign in at the provider as `login`: (code, codeVerifier).
async fn app_code(app: &TestApp, idp: &OidcProvider, slug: &str, login: &str) -> (String, String) {
    let methods = app.get(&format!("/apps/{slug}/api/collections/users/auth-methods"), None).await.expect(200);
    let provider = &methods.body["oauth2"]["providers"][0];
    let auth_url = provider["authURL"].as_str().expect("authURL");
    assert!(auth_url.ends_with("redirect_uri="), "{auth_url}");
    let url = format!(
        "{auth_url}{}",
        foundation::oauth::client::form_encode(&[("x", APP_REDIRECT)]).trim_start_matches("x=")
    );
    let back = idp.sign_in(&url, login).await;
    assert_eq!(param(&back, "state"), provider["state"].as_str().expect("state"));
    (param(&back, "code"), provider["codeVerifier"].as_str().expect("verifier").to_string())
}

async fn app_end_users_sign_in_with_oauth2(mut app: TestApp) {
    let idp = app_provider().await;
    // The provider is on 127.0.0.1: the operator allows private addresses for app providers.
    app.reconfigure(|c| {
        c.update_section(foundation::oauth::settings::OAUTH, |o: &mut foundation::oauth::settings::OAuthConfig| {
            o.allow_private_network = true
        })
        .expect("oauth settings")
    })
    .await;
    let (owner, project_id, app_id) = crate::runtime::blog(&app, "owner@oauthapp.example", "oauthapp").await;
    let (_, yan_id) = crate::runtime::end_user(&app, "oauthapp", "yan@apps.example").await;
    crate::app_factors::configure_users(&app, &owner, &project_id, &app_id, app_oauth2(&idp.issuer)).await;
    let base = "/apps/oauthapp/api/collections/users";
    let methods = app.get(&format!("{base}/auth-methods"), None).await.expect(200);
    assert_eq!(methods.body["oauth2"]["enabled"], true);
    let listed = &methods.body["oauth2"]["providers"][0];
    assert_eq!((listed["name"].as_str(), listed["displayName"].as_str()), (Some("oidc"), Some("Local IdP")));
    assert_eq!(listed["codeChallengeMethod"], "S256");
    assert_eq!(methods.body["authProviders"][0]["name"], "oidc");

    // A first sign-in creates the record, verified by the provider, with the create data.
    let (code, verifier) = app_code(&app, &idp, "oauthapp", "zoe@apps.example").await;
    let body = json!({"provider": "oidc", "code": code, "codeVerifier": verifier, "redirectURL": APP_REDIRECT,
        "createData": {"name": "Zoe Z"}});
    let first = app.post(&format!("{base}/auth-with-oauth2"), None, body.clone()).await.expect(200);
    assert_eq!(first.body["meta"]["isNew"], true);
    assert_eq!(first.body["meta"]["email"], "zoe@apps.example");
    assert_eq!(first.body["record"]["email"], "zoe@apps.example");
    assert_eq!(first.body["record"]["verified"], true);
    assert_eq!(first.body["record"]["name"], "Zoe Z");
    let zoe_id = first.body["record"]["id"].as_str().expect("id").to_string();
    let token = first.body["token"].as_str().expect("token");
    app.post(&format!("{base}/auth-refresh"), Some(token), json!({})).await.expect(200);
    // The code again: refused by the provider.
    app.post(&format!("{base}/auth-with-oauth2"), None, body).await.expect(400);
    // The next sign-in finds the linked record.
    let (code, verifier) = app_code(&app, &idp, "oauthapp", "zoe@apps.example").await;
    let again = app.post(&format!("{base}/auth-with-oauth2"), None, oauth2_body(&code, &verifier)).await.expect(200);
    assert_eq!(
        (again.body["meta"]["isNew"].as_bool(), again.body["record"]["id"].as_str()),
        (Some(false), Some(zoe_id.as_str()))
    );
    // A record that signed up with a password is linked by its verified address.
    let (code, verifier) = app_code(&app, &idp, "oauthapp", "yan@apps.example").await;
    let yan = app.post(&format!("{base}/auth-with-oauth2"), None, oauth2_body(&code, &verifier)).await.expect(200);
    assert_eq!(yan.body["record"]["id"], Value::String(yan_id));
    // Yan had never confirmed the address: the provider's proof resets the password someone
    // may have set in Yan's name, and verifies the record.
    assert_eq!(yan.body["record"]["verified"], true);
    app.post(
        &format!("{base}/auth-with-password"),
        None,
        json!({"identity": "yan@apps.example", "password": "secret-pass-123"}),
    )
    .await
    .expect(400);
    // The links, through PocketBase's `_externalAuths` collection: each record sees its own.
    let links = "/apps/oauthapp/api/collections/_externalAuths/records";
    let zoe_token = again.body["token"].as_str().expect("token").to_string();
    let mine = app.get(links, Some(&zoe_token)).await.expect(200);
    assert_eq!(mine.body["totalItems"], 1, "{}", mine.body);
    let link = &mine.body["items"][0];
    assert_eq!((link["provider"].as_str(), link["recordRef"].as_str()), (Some("oidc"), Some(zoe_id.as_str())));
    let link_id = link["id"].as_str().expect("id").to_string();
    app.get(&format!("{links}/{link_id}"), Some(&zoe_token)).await.expect(200);
    assert_eq!(app.get(links, None).await.expect(200).body["totalItems"], 0, "a guest sees none");
    let yan_token = yan.body["token"].as_str().expect("token").to_string();
    app.get(&format!("{links}/{link_id}"), Some(&yan_token)).await.expect(404);
    app.delete(&format!("{links}/{link_id}"), Some(&yan_token)).await.expect(404);
    app.delete(&format!("{links}/{link_id}"), None).await.expect(404);
    app.delete(&format!("{links}/{link_id}"), Some(&zoe_token)).await.expect(204);
    assert_eq!(app.get(links, Some(&zoe_token)).await.expect(200).body["totalItems"], 0);

    // Without create data, the provider's name goes to the `name` field.
    let (code, verifier) = app_code(&app, &idp, "oauthapp", "lee@apps.example").await;
    let lee = app.post(&format!("{base}/auth-with-oauth2"), None, oauth2_body(&code, &verifier)).await.expect(200);
    assert_eq!((lee.body["record"]["name"].as_str(), lee.body["meta"]["isNew"].as_bool()), (Some("lee"), Some(true)));
    // A wrong PKCE verifier is refused by the provider.
    let (code, _) = app_code(&app, &idp, "oauthapp", "zoe@apps.example").await;
    app.post(
        &format!("{base}/auth-with-oauth2"),
        None,
        json!({"provider": "oidc", "code": code, "codeVerifier": "x".repeat(43), "redirectURL": APP_REDIRECT}),
    )
    .await
    .expect(400);

    // The official SDK: listAuthMethods, then authWithOAuth2Code.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk");
    let output = tokio::process::Command::new("node")
        .arg("oauth2.mjs")
        .current_dir(&dir)
        .env("SOCLE_APP_URL", app.url("/apps/oauthapp"))
        .env("SOCLE_IDP_URL", &idp.issuer)
        .env("SOCLE_REDIRECT_URL", APP_REDIRECT)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the SDK run failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("all OAuth2 checks passed"), "{stdout}");

    // With MFA on, the provider is one factor.
    crate::app_factors::configure_users(
        &app,
        &owner,
        &project_id,
        &app_id,
        json!({"mfa": {"enabled": true}, "otp": {"enabled": true}}),
    )
    .await;
    let (code, verifier) = app_code(&app, &idp, "oauthapp", "zoe@apps.example").await;
    let mfa = app.post(&format!("{base}/auth-with-oauth2"), None, oauth2_body(&code, &verifier)).await.expect(401);
    assert!(mfa.body["mfaId"].is_string());
}

async fn app_oauth2_refuses_bad_input_and_private_endpoints(app: TestApp) {
    // Default configuration: a builder's provider on a private address is not called.
    let idp = app_provider().await;
    let (owner, project_id, app_id) = crate::runtime::blog(&app, "owner@oauthbad.example", "oauthbad").await;
    let base = "/apps/oauthbad/api/collections/users";
    let off =
        app.post(&format!("{base}/auth-with-oauth2"), None, json!({"provider": "oidc", "code": "c"})).await.expect(403);
    assert_eq!(off.body["message"], "The collection is not configured to allow OAuth2 authentication.");
    crate::app_factors::configure_users(&app, &owner, &project_id, &app_id, app_oauth2(&idp.issuer)).await;
    let r = app.post(&format!("{base}/auth-with-oauth2"), None, json!({})).await.expect(400);
    for field in ["provider", "code", "redirectURL"] {
        assert_eq!(r.body["data"][field]["code"], "validation_required", "{field}: {}", r.body);
    }
    let r = app
        .post(
            &format!("{base}/auth-with-oauth2"),
            None,
            json!({"provider": "nope", "code": "c", "redirectURL": APP_REDIRECT, "createData": "x"}),
        )
        .await
        .expect(400);
    assert_eq!(r.body["data"]["provider"]["code"], "validation_invalid_provider");
    assert_eq!(r.body["data"]["createData"]["code"], "validation_invalid_type");
    app.post(&format!("{base}/auth-with-oauth2"), None, json!("text")).await.expect(400);
    let (code, verifier) = app_code(&app, &idp, "oauthbad", "mia@apps.example").await;
    let refused = app.post(&format!("{base}/auth-with-oauth2"), None, oauth2_body(&code, &verifier)).await.expect(400);
    assert_eq!(refused.body["message"], "Failed to fetch OAuth2 token.");
    // Nor through a name that resolves to one (checked when the connection resolves it).
    let by_name = idp.issuer.replace("127.0.0.1", "localhost");
    crate::app_factors::configure_users(&app, &owner, &project_id, &app_id, app_oauth2(&by_name)).await;
    let refused = app
        .post(
            &format!("{base}/auth-with-oauth2"),
            None,
            json!({"provider": "oidc", "code": "any", "codeVerifier": "v".repeat(43), "redirectURL": APP_REDIRECT}),
        )
        .await
        .expect(400);
    assert_eq!(refused.body["message"], "Failed to fetch OAuth2 token.");
    let mia: Vec<(String,)> = app.db.fetch_all("SELECT id FROM runtime_external_auths", vec![]).await.expect("rows");
    assert!(mia.is_empty(), "nothing was linked");
    // Not an auth collection.
    app.post("/apps/oauthbad/api/collections/posts/auth-with-oauth2", None, json!({})).await.expect(404);
    // A provider without its client id, or with a URL that is not one, is refused at the Studio.
    let users = format!("/api/v1/studio/projects/{project_id}/collections/users");
    for (options, field) in [
        (json!({"oauth2": {"enabled": true, "providers": [{"name": "x"}]}}), "oauth2.providers.0.clientId"),
        (
            json!({"oauth2": {"enabled": true, "providers": [{"name": "x", "clientId": "c", "tokenURL": "file:///etc"}]}}),
            "oauth2.providers.0.tokenURL",
        ),
        (json!({"oauth2": {"enabled": "yes"}}), "oauth2.enabled"),
    ] {
        let r = app.patch(&users, Some(&owner.access), options.clone()).await.expect(422);
        let fields: Vec<&str> =
            r.body["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
        assert!(fields.iter().any(|f| f.ends_with(field)), "{options}: {field} in {fields:?}");
    }
}

async fn the_sdks_all_in_one_oauth2_flow_goes_through_realtime(mut app: TestApp) {
    app.reconfigure(|c| {
        c.update_section(foundation::oauth::settings::OAUTH, |o: &mut foundation::oauth::settings::OAuthConfig| {
            o.allow_private_network = true
        })
        .expect("oauth settings")
    })
    .await;
    let (owner, project_id, app_id) = crate::runtime::blog(&app, "owner@popup.example", "popup").await;
    // The SDK's redirect URL is the app's own /api/oauth2-redirect.
    let redirect = app.url("/apps/popup/api/oauth2-redirect");
    let idp = OidcProvider::start(json!([
        {"client_id": APP_CLIENT, "client_secret": CLIENT_SECRET, "redirect_uris": [redirect]}
    ]))
    .await;
    crate::app_factors::configure_users(&app, &owner, &project_id, &app_id, app_oauth2(&idp.issuer)).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk");
    let output = tokio::process::Command::new("node")
        .arg("oauth2-popup.mjs")
        .current_dir(&dir)
        .env("SOCLE_APP_URL", app.url("/apps/popup"))
        .env("SOCLE_IDP_URL", &idp.issuer)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the SDK run failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("all popup OAuth2 checks passed"), "{stdout}");
    // A redirect without a code (the person refused at the provider) says so.
    let refused = app.get("/apps/popup/api/oauth2-redirect?state=x&error=access_denied", None).await;
    assert_eq!(refused.status, 400);
}
