//! OAuth2 sign-in of an app's end users, in PocketBase's dialect: the auth collection's
//! `oauth2: {enabled, providers: [{name, clientId, clientSecret, authURL, tokenURL,
//! userInfoURL, displayName, pkce, extra: {jwksURL, issuers}}], mappedFields}` option;
//! `auth-methods` lists each provider with a fresh `state` and PKCE pair and an `authURL`
//! that ends with `redirect_uri=` (the SDKs append theirs); `auth-with-oauth2 {provider,
//! code, codeVerifier, redirectURL, createData}` exchanges the code, finds the record by its
//! external auth, or by a provider-verified e-mail, or creates it (under the create rule),
//! and answers the token with PocketBase's `meta`.
//!
//! Endpoints are set by builders, so they must be public addresses unless the operator
//! allows private ones (`[oauth] allow_private_network`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use collections::model::Collection;
use foundation::oauth::client::{
    Endpoints, ExternalIdentity, Flavor, OAuthHttp, ProviderClient, form_encode, pkce_challenge,
};
use kernel::{args, time::now};
use serde_json::{Map, Value, json};

use crate::RuntimeState;
use crate::auth::auth_collection;
use crate::auth_flows::find_by_email;
use crate::context::{AppCtx, Requester};
use crate::extract::{App, JsonObject};
use crate::pb::{PbError, PbResult};

pub fn routes() -> Router<RuntimeState> {
    Router::new()
        .route("/apps/{slug}/api/collections/{collection}/auth-with-oauth2", post(auth_with_oauth2))
        .route("/apps/{slug}/api/oauth2-redirect", get(oauth2_redirect_query).post(oauth2_redirect_form))
}

/// What the provider sent back to `/api/oauth2-redirect`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct OAuth2Redirect {
    state: String,
    code: String,
    error: String,
}

async fn oauth2_redirect_query(
    State(state): State<RuntimeState>,
    App(ctx): App,
    Query(redirect): Query<OAuth2Redirect>,
) -> Response {
    oauth2_redirect(&state, &ctx.app.id, redirect)
}

/// Providers answering with `response_mode=form_post` (Apple) post the same fields.
async fn oauth2_redirect_form(
    State(state): State<RuntimeState>,
    App(ctx): App,
    axum::extract::Form(redirect): axum::extract::Form<OAuth2Redirect>,
) -> Response {
    oauth2_redirect(&state, &ctx.app.id, redirect)
}

/// The end of PocketBase's all-in-one flow (`authWithOAuth2({provider})`): the SDK, waiting
/// on the realtime `@oauth2` topic, gets the code; the browser window gets a page saying so.
fn oauth2_redirect(state: &RuntimeState, app_id: &str, redirect: OAuth2Redirect) -> Response {
    let ok = !redirect.state.is_empty() && !redirect.code.is_empty() && redirect.error.is_empty();
    let payload = json!({"state": redirect.state, "code": redirect.code, "error": redirect.error});
    crate::realtime::pass_oauth2_redirect(state, app_id, payload);
    let (status, text) = if ok {
        (StatusCode::OK, "Sign-in complete. You can close this window and go back to the application.")
    } else {
        (StatusCode::BAD_REQUEST, "The sign-in did not complete. Close this window and try again.")
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in</title></head><body><p>{text}</p></body></html>"
    );
    let mut response = (status, html).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

/// One provider of the collection's `oauth2.providers`.
#[derive(Debug, Clone)]
pub struct AppProvider {
    pub name: String,
    pub display_name: String,
    pub client: ProviderClient,
    pub pkce: bool,
}

fn text(m: &Value, k: &str) -> String {
    m.get(k).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Endpoints of the providers PocketBase knows by name, for configurations that give only
/// the name and the client's credentials.
fn preset(name: &str) -> Option<(&'static str, &'static str, &'static str, &'static str, Flavor)> {
    Some(match name {
        "google" => (
            "Google",
            "https://accounts.google.com/o/oauth2/v2/auth",
            "https://oauth2.googleapis.com/token",
            "https://openidconnect.googleapis.com/v1/userinfo",
            Flavor::OAuth2,
        ),
        "github" => (
            "GitHub",
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            "https://api.github.com/user",
            Flavor::GitHub,
        ),
        "gitlab" => (
            "GitLab",
            "https://gitlab.com/oauth/authorize",
            "https://gitlab.com/oauth/token",
            "https://gitlab.com/oauth/userinfo",
            Flavor::OAuth2,
        ),
        "microsoft" => (
            "Microsoft",
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
            "https://login.microsoftonline.com/common/oauth2/v2.0/token",
            "https://graph.microsoft.com/oidc/userinfo",
            Flavor::OAuth2,
        ),
        _ => return None,
    })
}

/// The collection's providers, when OAuth2 is enabled (skipping incomplete entries).
pub fn providers(c: &Collection) -> Option<Vec<AppProvider>> {
    let oauth2 = c.options.get("oauth2")?;
    if oauth2.get("enabled").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    let list = oauth2.get("providers").and_then(Value::as_array).cloned().unwrap_or_default();
    Some(
        list.iter()
            .filter_map(|p| {
                let name = text(p, "name");
                let preset = preset(&name);
                let pick = |key: &str, default: Option<&str>| {
                    Some(text(p, key)).filter(|s| !s.is_empty()).or(default.map(String::from))
                };
                let authorization = pick("authURL", preset.map(|d| d.1))?;
                let token = pick("tokenURL", preset.map(|d| d.2))?;
                let userinfo = pick("userInfoURL", preset.map(|d| d.3));
                let extra = p.get("extra").cloned().unwrap_or(Value::Null);
                let jwks = Some(text(&extra, "jwksURL")).filter(|s| !s.is_empty());
                let issuer = extra
                    .get("issuers")
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(Value::as_str)
                    .map(String::from);
                let flavor = match (&jwks, &issuer) {
                    (Some(_), Some(_)) => Flavor::Oidc,
                    _ => preset.map_or(Flavor::OAuth2, |d| d.4),
                };
                let scopes = if flavor == Flavor::GitHub {
                    vec!["read:user".into(), "user:email".into()]
                } else {
                    vec!["openid".into(), "email".into(), "profile".into()]
                };
                let display = Some(text(p, "displayName"))
                    .filter(|s| !s.is_empty())
                    .or(preset.map(|d| d.0.to_string()))
                    .unwrap_or_else(|| name.clone());
                Some(AppProvider {
                    display_name: display,
                    pkce: p.get("pkce").and_then(Value::as_bool).unwrap_or(true),
                    client: ProviderClient {
                        name: name.clone(),
                        client_id: text(p, "clientId"),
                        client_secret: text(p, "clientSecret"),
                        scopes,
                        endpoints: Endpoints { authorization, token, userinfo, jwks, issuer },
                        flavor,
                    },
                    name,
                })
            })
            .filter(|p| !p.name.is_empty() && !p.client.client_id.is_empty())
            .collect(),
    )
}

/// A provider as `auth-methods` lists it: a fresh state and PKCE pair each time.
pub fn provider_info(p: &AppProvider) -> Value {
    let state = kernel::ids::random_token(22);
    let verifier = kernel::ids::random_token(32);
    let challenge = pkce_challenge(&verifier);
    let scope = p.client.scopes.join(" ");
    let mut pairs = vec![
        ("client_id", p.client.client_id.as_str()),
        ("response_type", "code"),
        ("scope", scope.as_str()),
        ("state", state.as_str()),
    ];
    if p.pkce {
        pairs.push(("code_challenge", challenge.as_str()));
        pairs.push(("code_challenge_method", "S256"));
    }
    let sep = if p.client.endpoints.authorization.contains('?') { '&' } else { '?' };
    // The SDKs append the (encoded) redirect URL to this.
    let auth_url = format!("{}{sep}{}&redirect_uri=", p.client.endpoints.authorization, form_encode(&pairs));
    json!({
        "name": p.name,
        "displayName": p.display_name,
        "state": state,
        "authURL": auth_url,
        "authUrl": auth_url,
        "codeVerifier": if p.pkce { verifier } else { String::new() },
        "codeChallenge": if p.pkce { challenge } else { String::new() },
        "codeChallengeMethod": if p.pkce { "S256" } else { "" },
    })
}

fn failed(message: &str) -> PbError {
    PbError::bad_request(message)
}

async fn auth_with_oauth2(
    State(state): State<RuntimeState>,
    App(ctx): App,
    Path((_, collection)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    JsonObject(body): JsonObject,
) -> PbResult<Json<Value>> {
    let c = auth_collection(&ctx, &collection)?.clone();
    let Some(configured) = providers(&c) else {
        return Err(PbError::new(
            StatusCode::FORBIDDEN,
            "The collection is not configured to allow OAuth2 authentication.",
        ));
    };
    let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let (name, code, verifier) = (field("provider"), field("code"), field("codeVerifier"));
    let redirect = Some(field("redirectURL")).filter(|r| !r.is_empty()).unwrap_or_else(|| field("redirectUrl"));
    let mut problems = Map::new();
    for (key, value) in [("provider", &name), ("code", &code), ("redirectURL", &redirect)] {
        if value.is_empty() {
            problems.insert(key.into(), json!({"code": "validation_required", "message": "Cannot be blank."}));
        } else if value.len() > 2048 {
            problems.insert(key.into(), json!({"code": "validation_length_out_of_range", "message": "Too long."}));
        }
    }
    let create_data = match body.get("createData") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            problems.insert(
                "createData".into(),
                json!({"code": "validation_invalid_type", "message": "Must be an object."}),
            );
            Map::new()
        }
    };
    let provider = configured.iter().find(|p| p.name == name);
    if provider.is_none() && !name.is_empty() {
        problems.insert("provider".into(), json!({"code": "validation_invalid_provider", "message": "Provider with name \"".to_string() + &name + "\" is missing or is not enabled."}));
    }
    if !problems.is_empty() {
        return Err(PbError::with_fields("An error occurred while loading the submitted data.", problems));
    }
    let Some(provider) = provider else { return Err(failed("Failed to authenticate.")) };
    let http = OAuthHttp::new(state.foundation.oauth.allow_private_network)?;
    let (identity, access_token) =
        http.sign_in(&provider.client, &code, &verifier, &redirect, None).await.map_err(|e| {
            tracing::info!(provider = %name, error = %e, "an app's OAuth2 sign-in failed at the provider");
            failed("Failed to fetch OAuth2 token.")
        })?;

    let (record, is_new) = find_or_create(&state, &ctx, &c, &name, &identity, create_data).await?;
    let mut mfa_body = body.clone();
    if let Some(id) = query.get("mfaId") {
        mfa_body.insert("mfaId".into(), Value::String(id.clone()));
    }
    let mfa_id = crate::auth::mfa_id_of(&query, &mfa_body);
    let Json(mut answer) = crate::auth::authenticated(&state, &ctx, &c, record, "oauth2", mfa_id.as_deref()).await?;
    if let Value::Object(top) = &mut answer {
        top.insert(
            "meta".into(),
            json!({
                "id": identity.subject,
                "name": identity.name.clone().unwrap_or_default(),
                "username": "",
                "email": identity.email.clone().unwrap_or_default(),
                "isNew": is_new,
                "avatarURL": identity.avatar_url.clone().unwrap_or_default(),
                "avatarUrl": identity.avatar_url.clone().unwrap_or_default(),
                "rawUser": identity.raw,
                "accessToken": access_token,
                "refreshToken": "",
                "expiry": "",
            }),
        );
    }
    Ok(Json(answer))
}

/// PocketBase's `oauth2.mappedFields` (`id`, `name`, `username`, `avatarURL`): the provider's
/// values written into those fields of a new record, unless `createData` gives them. Without
/// a mapping, `name` goes to a `name` field (PocketBase's default `users` collection). An
/// avatar goes in as its URL (into a text or URL field; a file field is left empty).
fn map_fields(c: &Collection, identity: &ExternalIdentity, data: &mut Map<String, Value>) {
    let mapped = c.options.get("oauth2").and_then(|o| o.get("mappedFields")).cloned();
    let target = |key: &str, default: Option<&str>| -> Option<String> {
        let field = match &mapped {
            Some(m) => m.get(key).and_then(Value::as_str).filter(|f| !f.is_empty()).map(String::from),
            None => default.map(String::from),
        }?;
        let kind = c.field(&field)?.kind;
        (kind != collections::model::FieldKind::File).then_some(field)
    };
    let username = identity
        .raw
        .get("preferred_username")
        .or_else(|| identity.raw.get("login"))
        .and_then(Value::as_str)
        .map(String::from);
    for (key, default, value) in [
        ("id", None, Some(identity.subject.clone())),
        ("name", Some("name"), identity.name.clone()),
        ("username", None, username),
        ("avatarURL", None, identity.avatar_url.clone()),
    ] {
        if let (Some(field), Some(value)) = (target(key, default), value)
            && !data.contains_key(&field)
        {
            data.insert(field, Value::String(value.chars().take(255).collect()));
        }
    }
}

/// The record of this external identity: linked before, or with the provider-verified
/// e-mail (then linked), or created from `create_data` (under the collection's create rule).
async fn find_or_create(
    state: &RuntimeState,
    ctx: &AppCtx,
    c: &Collection,
    provider: &str,
    identity: &ExternalIdentity,
    mut create_data: Map<String, Value>,
) -> PbResult<(Map<String, Value>, bool)> {
    let linked: Option<(String,)> = state
        .db
        .fetch_optional(
            "SELECT record_id FROM runtime_external_auths
             WHERE app_id = $1 AND collection_id = $2 AND provider = $3 AND provider_id = $4",
            args![&ctx.app.id, &c.id, provider, &identity.subject],
        )
        .await?;
    if let Some((record_id,)) = linked {
        match crate::records::load(ctx, c, &record_id).await {
            Ok(record) => return Ok((record, false)),
            // The record was deleted: the link goes with it, and the identity signs in anew.
            Err(PbError { status: StatusCode::NOT_FOUND, .. }) => {
                state
                    .db
                    .execute(
                        "DELETE FROM runtime_external_auths WHERE app_id = $1 AND collection_id = $2 AND record_id = $3",
                        args![&ctx.app.id, &c.id, &record_id],
                    )
                    .await?;
            }
            Err(e) => return Err(e),
        }
    }
    let by_email = match identity.email.as_deref() {
        Some(email) => find_by_email(ctx, c, email).await?,
        None => None,
    };
    let (record, is_new) = match by_email {
        Some(record) if identity.email_verified && record.get("verified") == Some(&Value::Bool(true)) => {
            (record, false)
        }
        // Never confirmed: maybe someone else's squat. The provider proves the address, so
        // the record is its owner's: a new random password (and token key, ending sessions),
        // verified (PocketBase does the same).
        Some(record) if identity.email_verified => {
            let hash = state.foundation.passwords.hash(&kernel::ids::random_token(24)).await?;
            let values = [
                ("password", Value::String(hash)),
                ("tokenKey", Value::String(kernel::ids::random_token(36))),
                ("verified", Value::Bool(true)),
            ];
            crate::auth_flows::update(state, ctx, c, record.clone(), &values).await?;
            (crate::records::load(ctx, c, record.get("id").and_then(Value::as_str).unwrap_or_default()).await?, false)
        }
        Some(_) => {
            return Err(failed(
                "An account with this email already exists; the provider did not confirm the address, so it is not linked.",
            ));
        }
        None => {
            if let Some(email) = &identity.email {
                create_data.insert("email".into(), Value::String(email.clone()));
            }
            map_fields(c, identity, &mut create_data);
            let password = kernel::ids::random_token(24);
            create_data.insert("password".into(), Value::String(password.clone()));
            create_data.insert("passwordConfirm".into(), Value::String(password));
            // Created as the guest the end user still is: the create rule decides.
            let guest = AppCtx {
                db: ctx.db.clone(),
                app: ctx.app.clone(),
                schema: ctx.schema.clone(),
                requester: Requester::Guest,
            };
            let mut created = crate::records::create(&guest, state, c, &create_data, &json!({}), &[]).await?;
            // The provider vouched for the address: verified, as a confirmation would set it.
            if identity.email_verified {
                crate::auth_flows::update(state, ctx, c, created.clone(), &[("verified", Value::Bool(true))]).await?;
                created.insert("verified".into(), Value::Bool(true));
            }
            (created, true)
        }
    };
    let record_id = record.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    state
        .db
        .execute(
            "INSERT INTO runtime_external_auths (id, app_id, collection_id, record_id, provider, provider_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![kernel::ids::new_id(), &ctx.app.id, &c.id, &record_id, provider, &identity.subject, now()],
        )
        .await?;
    Ok((record, is_new))
}
