//! The email-based flows of an app's auth collections, in PocketBase's dialect:
//! verification, password reset and email change. Requests always answer 204 (no account
//! enumeration); the email is queued in the same transaction as nothing else changes, and
//! carries a signed, expiring, single-purpose token bound to the record's token key, so a
//! reset token stops working once used (the password change rotates the key).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use collections::model::Collection;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, encode};
use kernel::args;
use kernel::mail::{OutgoingEmail, html_layout};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::RuntimeState;
use crate::auth::auth_collection;
use crate::context::{AppCtx, AppTokens, Requester};
use crate::extract::{App, JsonObject};
use crate::pb::{PbError, PbResult};

const FLOW_AUDIENCE: &str = "socle-app-flow";
const TTL_SECS: i64 = 3600;

#[derive(Debug, Serialize, Deserialize)]
struct FlowClaims {
    id: String,
    #[serde(rename = "collectionId")]
    collection_id: String,
    app: String,
    #[serde(rename = "type")]
    kind: String,
    email: String,
    #[serde(rename = "newEmail", default, skip_serializing_if = "Option::is_none")]
    new_email: Option<String>,
    tk: String,
    aud: String,
    exp: i64,
}

pub fn routes() -> Router<RuntimeState> {
    let p = "/apps/{slug}/api/collections/{collection}";
    Router::new()
        .route(&format!("{p}/request-verification"), post(request_verification))
        .route(&format!("{p}/confirm-verification"), post(confirm_verification))
        .route(&format!("{p}/request-password-reset"), post(request_password_reset))
        .route(&format!("{p}/confirm-password-reset"), post(confirm_password_reset))
        .route(&format!("{p}/request-email-change"), post(request_email_change))
        .route(&format!("{p}/confirm-email-change"), post(confirm_email_change))
}

fn keys(state: &RuntimeState) -> (EncodingKey, Vec<DecodingKey>) {
    (EncodingKey::from_secret(&state.flow_secret), state.flow_decoding_keys())
}

fn sign(
    state: &RuntimeState,
    ctx: &AppCtx,
    c: &Collection,
    record: &Map<String, Value>,
    kind: &str,
    new_email: Option<String>,
) -> PbResult<String> {
    let claims = FlowClaims {
        id: text(record, "id"),
        collection_id: c.id.clone(),
        app: ctx.app.id.clone(),
        kind: kind.into(),
        email: text(record, "email"),
        new_email,
        tk: AppTokens::fingerprint(&text(record, "tokenKey")),
        aud: FLOW_AUDIENCE.into(),
        exp: kernel::time::now().unix_timestamp() + TTL_SECS,
    };
    encode(&Header::new(Algorithm::HS256), &claims, &keys(state).0).map_err(|e| kernel::Error::internal(e).into())
}

/// The text at `k` (empty when absent or not text).
pub(crate) fn text(m: &Map<String, Value>, k: &str) -> String {
    m.get(k).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn invalid_token() -> PbError {
    PbError::field("Invalid or expired token.", "token", "validation_invalid_token", "Invalid or expired token.")
}

/// The record a flow token names, if the token is valid, of `kind`, for this app and
/// collection, and the record's token key has not changed since.
async fn verify(
    state: &RuntimeState,
    ctx: &AppCtx,
    c: &Collection,
    token: &str,
    kind: &str,
) -> PbResult<(FlowClaims, Map<String, Value>)> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[FLOW_AUDIENCE]);
    let claims = foundation::tokens::decode_with_any::<FlowClaims>(token, &keys(state).1, &validation)
        .map_err(|_| invalid_token())?;
    if claims.kind != kind || claims.app != ctx.app.id || claims.collection_id != c.id {
        return Err(invalid_token());
    }
    let record = find(ctx, c, "r.\"id\" = $1", &claims.id).await?.ok_or_else(invalid_token)?;
    if AppTokens::fingerprint(&text(&record, "tokenKey")) != claims.tk {
        return Err(invalid_token());
    }
    Ok((claims, record))
}

async fn find(ctx: &AppCtx, c: &Collection, cond: &str, value: &str) -> PbResult<Option<Map<String, Value>>> {
    Ok(collections::rows::read_rows(&ctx.db, ctx.ns(), c, Some((cond.into(), args![value]))).await?.into_iter().next())
}

/// The email address in `field` of the body, or the 400 that names the field.
pub(crate) fn email_in(body: &Map<String, Value>, field: &str, failure: &str) -> PbResult<String> {
    let email = text(body, field);
    if !kernel::validate::is_valid_email(&email) {
        return Err(PbError::field(failure, field, "validation_is_email", "Must be a valid email address."));
    }
    Ok(email)
}

/// The auth record with this email (compared without case).
pub(crate) async fn find_by_email(ctx: &AppCtx, c: &Collection, email: &str) -> PbResult<Option<Map<String, Value>>> {
    find(ctx, c, "lower(r.\"email\") = lower($1)", email).await
}

async fn send(
    state: &RuntimeState,
    slug: &str,
    to: &str,
    subject: &str,
    lines: &[String],
    token: &str,
    action: &str,
) -> PbResult<()> {
    let link =
        format!("{}/apps/{slug}/_/#/auth/{action}/{token}", state.foundation.config.public_url.trim_end_matches('/'));
    let mut text = lines.join("\n\n");
    text.push_str(&format!("\n\n{link}\n\ntoken: {token}\n"));
    let email = OutgoingEmail {
        to: to.into(),
        subject: subject.into(),
        html: html_layout(subject, lines, Some(("Continue", &link))),
        text,
    };
    let mut tx = state.db.begin().await?;
    kernel::mail::enqueue(&mut tx, &email).await?;
    tx.commit().await?;
    Ok(())
}

/// Write `values` over the flow's `record` through the records' one write path, so that
/// the change reaches the outbox (workflows, webhooks) and realtime like any update.
pub(crate) async fn update(
    state: &RuntimeState,
    ctx: &AppCtx,
    c: &Collection,
    record: Map<String, Value>,
    values: &[(&str, Value)],
) -> PbResult<()> {
    write(state, ctx, c, record, values, false).await
}

/// [`update`] for a flow that spends its token (the values give the record a new token
/// key): only if the key is still the one the token was checked against, so that of
/// several requests racing with one token one succeeds and the others are told it is
/// invalid, as they would be one after the other.
async fn update_spending_token(
    state: &RuntimeState,
    ctx: &AppCtx,
    c: &Collection,
    record: Map<String, Value>,
    values: &[(&str, Value)],
) -> PbResult<()> {
    write(state, ctx, c, record, values, true).await
}

async fn write(
    state: &RuntimeState,
    ctx: &AppCtx,
    c: &Collection,
    record: Map<String, Value>,
    values: &[(&str, Value)],
    spending_token: bool,
) -> PbResult<()> {
    let values: Map<String, Value> = values.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let mut tx = ctx.db.begin().await?;
    if spending_token {
        let (id, key) = (text(&record, "id"), text(&record, "tokenKey"));
        if !collections::records::hold_if_unchanged(&mut tx, ctx.ns(), c, &id, "tokenKey", &key).await? {
            return Err(invalid_token());
        }
    }
    crate::records::set_columns(&mut tx, ctx, state, c, record, &values).await?;
    tx.commit().await?;
    Ok(())
}

fn no_content() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn request_verification(
    State(state): State<RuntimeState>,
    App(ctx): App,
    Path((slug, collection)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> PbResult<StatusCode> {
    let c = auth_collection(&ctx, &collection)?.clone();
    let email = email_in(&body, "email", "Failed to send the email.")?;
    if let Some(record) = find_by_email(&ctx, &c, &email).await?
        && record.get("verified").and_then(Value::as_bool) != Some(true)
    {
        let token = sign(&state, &ctx, &c, &record, "verification", None)?;
        send(
            &state,
            &slug,
            &email,
            "Verify your email",
            &["Confirm your email address to finish signing up.".into()],
            &token,
            "confirm-verification",
        )
        .await?;
    }
    Ok(no_content())
}

async fn confirm_verification(
    State(state): State<RuntimeState>,
    App(ctx): App,
    Path((_slug, collection)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> PbResult<StatusCode> {
    let c = auth_collection(&ctx, &collection)?.clone();
    let (claims, record) = verify(&state, &ctx, &c, &text(&body, "token"), "verification").await?;
    if text(&record, "email") != claims.email {
        return Err(invalid_token());
    }
    update(&state, &ctx, &c, record, &[("verified", true.into())]).await?;
    Ok(no_content())
}

async fn request_password_reset(
    State(state): State<RuntimeState>,
    App(ctx): App,
    Path((slug, collection)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> PbResult<StatusCode> {
    let c = auth_collection(&ctx, &collection)?.clone();
    let email = email_in(&body, "email", "Failed to send the email.")?;
    if let Some(record) = find_by_email(&ctx, &c, &email).await? {
        let token = sign(&state, &ctx, &c, &record, "passwordReset", None)?;
        send(
            &state,
            &slug,
            &email,
            "Reset your password",
            &["Someone asked to reset your password. If it was not you, ignore this email.".into()],
            &token,
            "confirm-password-reset",
        )
        .await?;
    }
    Ok(no_content())
}

async fn confirm_password_reset(
    State(state): State<RuntimeState>,
    App(ctx): App,
    Path((_slug, collection)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> PbResult<StatusCode> {
    let c = auth_collection(&ctx, &collection)?.clone();
    let (_, record) = verify(&state, &ctx, &c, &text(&body, "token"), "passwordReset").await?;
    let password = text(&body, "password");
    let mut errors = Map::new();
    if password.chars().count() < 8 {
        errors.insert(
            "password".into(),
            json!({"code": "validation_min_text_constraint", "message": "Must be at least 8 character(s)."}),
        );
    }
    if text(&body, "passwordConfirm") != password {
        errors.insert(
            "passwordConfirm".into(),
            json!({"code": "validation_values_mismatch", "message": "Values don't match."}),
        );
    }
    if !errors.is_empty() {
        return Err(PbError::with_fields("Failed to reset the password.", errors));
    }
    let hash = state.foundation.passwords.hash(&password).await?;
    // A new token key ends every session and makes this token single-use.
    update_spending_token(
        &state,
        &ctx,
        &c,
        record,
        &[("password", hash.into()), ("tokenKey", kernel::ids::random_token(36).into()), ("verified", true.into())],
    )
    .await?;
    Ok(no_content())
}

async fn request_email_change(
    State(state): State<RuntimeState>,
    App(ctx): App,
    Path((slug, collection)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> PbResult<StatusCode> {
    let c = auth_collection(&ctx, &collection)?.clone();
    let Requester::User { collection: own, record } = &ctx.requester else {
        return Err(PbError::new(StatusCode::UNAUTHORIZED, "The request requires valid record authorization token."));
    };
    if own.id != c.id {
        return Err(PbError::new(
            StatusCode::FORBIDDEN,
            "The authorized record is not allowed to perform this action.",
        ));
    }
    let new_email = email_in(&body, "newEmail", "Failed to request the email change.")?;
    if find_by_email(&ctx, &c, &new_email).await?.is_some() {
        return Err(PbError::field(
            "Failed to request the email change.",
            "newEmail",
            "validation_not_unique",
            "Value must be unique.",
        ));
    }
    let token = sign(&state, &ctx, &c, record, "emailChange", Some(new_email.clone()))?;
    send(
        &state,
        &slug,
        &new_email,
        "Confirm your new email",
        &["Confirm this address to make it your account's email.".into()],
        &token,
        "confirm-email-change",
    )
    .await?;
    Ok(no_content())
}

async fn confirm_email_change(
    State(state): State<RuntimeState>,
    App(ctx): App,
    Path((_slug, collection)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> PbResult<StatusCode> {
    let c = auth_collection(&ctx, &collection)?.clone();
    let (claims, record) = verify(&state, &ctx, &c, &text(&body, "token"), "emailChange").await?;
    let stored = text(&record, "password");
    let ok = state.password_matches(&text(&body, "password"), &stored).await;
    if !ok {
        return Err(PbError::field(
            "Failed to confirm the email change.",
            "password",
            "validation_invalid_password",
            "Invalid password.",
        ));
    }
    let new_email = claims.new_email.clone().ok_or_else(invalid_token)?;
    let taken = || {
        PbError::field(
            "Failed to confirm the email change.",
            "newEmail",
            "validation_not_unique",
            "Value must be unique.",
        )
    };
    if find_by_email(&ctx, &c, &new_email).await?.is_some() {
        return Err(taken());
    }
    let values =
        [("email", new_email.into()), ("verified", true.into()), ("tokenKey", kernel::ids::random_token(36).into())];
    match update_spending_token(&state, &ctx, &c, record, &values).await {
        // Another account took the address since the check above.
        Err(e) if e.is_unique_violation() => Err(taken()),
        other => other.map(|()| no_content()),
    }
}
