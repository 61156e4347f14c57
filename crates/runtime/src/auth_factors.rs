//! One-time passwords and multi-factor authentication of an app's auth collections, in
//! PocketBase's dialect and from the collection's own options:
//!
//! - `otp: {enabled, duration, length}`: `request-otp` emails a code (the answer is an
//!   `otpId` whether or not the address has an account), `auth-with-otp` takes `otpId` and
//!   the code as `password`; five wrong codes spend it.
//! - `mfa: {enabled, duration, rule}`: a first factor that succeeds answers a 401 with
//!   `{mfaId}`; the sign-in completes when a *different* method succeeds with that `mfaId`
//!   (PocketBase's rule: factors are not paired, only distinct). `rule` narrows which
//!   records need it (empty: all).
//! - `passwordAuth: {enabled, identityFields}`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::post;
use axum::{Json, Router};
use collections::model::Collection;
use kernel::ids::sha256_hex;
use kernel::mail::{OutgoingEmail, html_layout};
use kernel::{args, time::now};
use serde_json::{Map, Value, json};

use crate::RuntimeState;
use crate::auth::auth_collection;
use crate::auth_flows::{email_in, find_by_email, text};
use crate::context::{AppCtx, Requester};
use crate::extract::{App, JsonObject};
use crate::pb::{PbError, PbResult};

/// The auth options PocketBase keeps on an auth collection, with its defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthOptions {
    pub password_enabled: bool,
    pub identity_fields: Vec<String>,
    pub otp_enabled: bool,
    /// Seconds an OTP stays valid.
    pub otp_duration: i64,
    pub otp_length: usize,
    /// `otp.emailTemplate {subject, body}`, PocketBase's placeholders (`{OTP}`, `{OTP_ID}`,
    /// `{APP_NAME}`, `{APP_URL}`); the body is HTML.
    pub otp_template: Option<(String, String)>,
    pub mfa_enabled: bool,
    /// Seconds between the first and the second factor.
    pub mfa_duration: i64,
    pub mfa_rule: String,
}

impl AuthOptions {
    pub fn of(c: &Collection) -> Self {
        let section = |k: &str| c.options.get(k).and_then(Value::as_object).cloned().unwrap_or_default();
        let flag = |m: &Map<String, Value>, k: &str, d: bool| m.get(k).and_then(Value::as_bool).unwrap_or(d);
        let int =
            |m: &Map<String, Value>, k: &str, d: i64| m.get(k).and_then(Value::as_i64).filter(|v| *v > 0).unwrap_or(d);
        let (password, otp, mfa) = (section("passwordAuth"), section("otp"), section("mfa"));
        let identity_fields = password
            .get("identityFields")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect::<Vec<_>>())
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| vec!["email".into()]);
        AuthOptions {
            password_enabled: flag(&password, "enabled", true),
            identity_fields,
            otp_enabled: flag(&otp, "enabled", false),
            otp_duration: int(&otp, "duration", 180),
            otp_length: int(&otp, "length", 8).clamp(4, 32) as usize,
            otp_template: otp.get("emailTemplate").and_then(|t| {
                let part =
                    |k: &str| t.get(k).and_then(Value::as_str).filter(|s| !s.trim().is_empty()).map(String::from);
                Some((part("subject")?, part("body")?))
            }),
            mfa_enabled: flag(&mfa, "enabled", false),
            mfa_duration: int(&mfa, "duration", 1800),
            mfa_rule: mfa.get("rule").and_then(Value::as_str).unwrap_or_default().to_string(),
        }
    }
}

pub fn routes() -> Router<RuntimeState> {
    let p = "/apps/{slug}/api/collections/{collection}";
    Router::new()
        .route(&format!("{p}/request-otp"), post(request_otp))
        .route(&format!("{p}/auth-with-otp"), post(auth_with_otp))
}

/// Wrong codes an OTP takes before it is spent.
const OTP_ATTEMPTS: i64 = 5;
/// Unexpired OTPs a record may have; past it the newest is answered again, with no email.
const OTP_OUTSTANDING: i64 = 10;

fn otp_hash(otp_id: &str, code: &str) -> String {
    sha256_hex(&format!("{otp_id}:{code}"))
}

fn digits(length: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..length).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect()
}

/// The text of an HTML body: tags dropped, paragraphs and breaks as new lines.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut tag = String::new();
    for ch in html.chars() {
        match (in_tag, ch) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (true, '>') => {
                in_tag = false;
                let name = tag.trim_start_matches('/').split_whitespace().next().unwrap_or_default().to_lowercase();
                if matches!(name.as_str(), "p" | "br" | "div" | "li" | "tr") {
                    out.push('\n');
                }
            }
            (true, c) => tag.push(c),
            (false, c) => out.push(c),
        }
    }
    out.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'")
}

fn otp_disabled() -> PbError {
    PbError::new(axum::http::StatusCode::FORBIDDEN, "The collection is not configured to allow OTP authentication.")
}

async fn request_otp(
    State(state): State<RuntimeState>,
    App(ctx): App,
    Path((slug, collection)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> PbResult<Json<Value>> {
    let c = auth_collection(&ctx, &collection)?.clone();
    let options = AuthOptions::of(&c);
    if !options.otp_enabled {
        return Err(otp_disabled());
    }
    let email = email_in(&body, "email", "An error occurred while validating the submitted data.")?;
    let Some(record) = find_by_email(&ctx, &c, &email).await? else {
        // The same answer as for an account: no enumeration of addresses.
        return Ok(Json(json!({"otpId": kernel::ids::new_id()})));
    };
    let record_id = text(&record, "id");
    let since = now() - time::Duration::seconds(options.otp_duration);
    let mut tx = state.db.begin().await?;
    // The record's spent codes go as it asks for new ones, which keeps the table small.
    tx.execute(
        "DELETE FROM runtime_otps WHERE app_id = $1 AND collection_id = $2 AND record_id = $3 AND created_at <= $4",
        args![&ctx.app.id, &c.id, &record_id, since],
    )
    .await?;
    let outstanding: Vec<(String,)> = tx
        .fetch_all(
            "SELECT id FROM runtime_otps WHERE app_id = $1 AND collection_id = $2 AND record_id = $3 AND created_at > $4
             ORDER BY created_at DESC",
            args![&ctx.app.id, &c.id, &record_id, since],
        )
        .await?;
    if outstanding.len() as i64 >= OTP_OUTSTANDING
        && let Some((newest,)) = outstanding.into_iter().next()
    {
        tracing::warn!(app = %ctx.app.id, record = %record_id, "too many OTP requests: answering the last one again");
        return Ok(Json(json!({"otpId": newest})));
    }
    let otp_id = kernel::ids::new_id();
    let code = digits(options.otp_length);
    let to = text(&record, "email");
    tx.execute(
        "INSERT INTO runtime_otps (id, app_id, collection_id, record_id, code_hash, sent_to, attempts, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
        args![&otp_id, &ctx.app.id, &c.id, &record_id, otp_hash(&otp_id, &code), &to, now()],
    )
    .await?;
    let email = match &options.otp_template {
        Some((subject, body)) => {
            let app_url = format!("{}/apps/{slug}", state.foundation.config.public_url.trim_end_matches('/'));
            let fill = |t: &str, escape: bool| {
                let esc = |v: &str| if escape { kernel::mail::html_escape(v) } else { v.to_string() };
                t.replace("{OTP}", &code)
                    .replace("{OTP_ID}", &otp_id)
                    .replace("{APP_NAME}", &esc(&slug))
                    .replace("{APP_URL}", &esc(&app_url))
            };
            let html = fill(body, true);
            OutgoingEmail { to, subject: fill(subject, false), text: strip_tags(&html), html }
        }
        None => {
            let minutes = (options.otp_duration + 59) / 60;
            let lines = vec![
                format!("Your one-time password is {code}."),
                format!(
                    "It is valid for {minutes} minutes and works once. If you did not ask for it, ignore this email."
                ),
            ];
            OutgoingEmail {
                to,
                subject: format!("Your {slug} sign-in code"),
                html: html_layout("Your sign-in code", &lines, None),
                text: format!("{}\n\nOTP: {code}\n", lines.join("\n\n")),
            }
        }
    };
    kernel::mail::enqueue(&mut tx, &email).await?;
    tx.commit().await?;
    Ok(Json(json!({"otpId": otp_id})))
}

async fn auth_with_otp(
    State(state): State<RuntimeState>,
    App(ctx): App,
    Path((_, collection)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    JsonObject(body): JsonObject,
) -> PbResult<Json<Value>> {
    let c = auth_collection(&ctx, &collection)?.clone();
    let options = AuthOptions::of(&c);
    if !options.otp_enabled {
        return Err(otp_disabled());
    }
    let (otp_id, code) = (text(&body, "otpId"), text(&body, "password"));
    let mut missing = Map::new();
    for (k, v) in [("otpId", &otp_id), ("password", &code)] {
        if v.is_empty() {
            missing.insert(k.into(), json!({"code": "validation_required", "message": "Cannot be blank."}));
        } else if v.len() > 255 {
            missing.insert(k.into(), json!({"code": "validation_length_out_of_range", "message": "Too long."}));
        }
    }
    if !missing.is_empty() {
        return Err(PbError::with_fields("An error occurred while validating the submitted data.", missing));
    }
    let invalid = || PbError::bad_request("Invalid or expired OTP");
    let mut tx = state.db.begin().await?;
    let row: Option<(String, String, String, i64, time::OffsetDateTime)> = tx
        .fetch_optional(
            "SELECT record_id, code_hash, sent_to, attempts, created_at FROM runtime_otps
             WHERE id = $1 AND app_id = $2 AND collection_id = $3",
            args![&otp_id, &ctx.app.id, &c.id],
        )
        .await?;
    let Some((record_id, hash, sent_to, attempts, created_at)) = row else { return Err(invalid()) };
    if created_at + time::Duration::seconds(options.otp_duration) <= now() {
        return Err(invalid());
    }
    let too_many = || {
        PbError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts, please try again later with a new OTP.",
        )
    };
    if attempts >= OTP_ATTEMPTS {
        return Err(too_many());
    }
    // Counted before the comparison, by a statement that checks the count: concurrent
    // guesses cannot all pass (READ COMMITTED on PostgreSQL).
    let counted = tx
        .execute(
            "UPDATE runtime_otps SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2",
            args![&otp_id, OTP_ATTEMPTS],
        )
        .await?;
    if counted != 1 {
        // Either the attempts ran out, or a concurrent request with the right code spent
        // the OTP meanwhile (then it is expired, not rate limited).
        let left: Option<(i64,)> =
            tx.fetch_optional("SELECT attempts FROM runtime_otps WHERE id = $1", args![&otp_id]).await?;
        return Err(if left.is_some() { too_many() } else { invalid() });
    }
    if !kernel::ids::constant_time_eq(otp_hash(&otp_id, &code).as_bytes(), hash.as_bytes()) {
        tx.commit().await?;
        return Err(invalid());
    }
    // Spent by whichever request deletes it.
    if tx.execute("DELETE FROM runtime_otps WHERE id = $1", args![&otp_id]).await? != 1 {
        return Err(invalid());
    }
    tx.commit().await?;
    let mut record = crate::records::load(&ctx, &c, &record_id).await.map_err(|_| invalid())?;
    // The code reached the record's address: that proves the address, as a verification would.
    if record.get("verified").and_then(Value::as_bool) != Some(true) && text(&record, "email") == sent_to {
        crate::auth_flows::update(&state, &ctx, &c, record.clone(), &[("verified", Value::Bool(true))]).await?;
        record.insert("verified".into(), Value::Bool(true));
    }
    let mfa_id = crate::auth::mfa_id_of(&query, &body);
    crate::auth::authenticated(&state, &ctx, &c, record, "otp", mfa_id.as_deref()).await
}

/// Whether the record must pass a second factor: MFA is on and its rule (if any) matches.
async fn wants_mfa(ctx: &AppCtx, c: &Collection, options: &AuthOptions, record: &Map<String, Value>) -> bool {
    if options.mfa_rule.trim().is_empty() {
        return true;
    }
    let as_owner = AppCtx {
        db: ctx.db.clone(),
        app: ctx.app.clone(),
        schema: ctx.schema.clone(),
        requester: Requester::User { collection: Box::new(c.clone()), record: record.clone() },
    };
    let (body, query) = (Value::Object(Map::new()), Value::Object(Map::new()));
    let data = crate::records::RequestData { body: &body, query: &query };
    let id = text(record, "id");
    // An error in the rule asks for the second factor: the safer side.
    !matches!(
        crate::records::find_with_rule(&as_owner, c, &id, &Some(options.mfa_rule.clone()), &data).await,
        Err(PbError { status: axum::http::StatusCode::NOT_FOUND, .. })
    )
}

/// After a first factor `method` succeeded for `record`: `Ok(())` when the sign-in may
/// complete, or the 401 `{mfaId}` to answer. `mfaId` comes from the body or the query.
pub async fn check_mfa(
    state: &RuntimeState,
    ctx: &AppCtx,
    c: &Collection,
    record: &Map<String, Value>,
    method: &str,
    mfa_id: Option<&str>,
) -> PbResult<()> {
    let options = AuthOptions::of(c);
    if !options.mfa_enabled || !wants_mfa(ctx, c, &options, record).await {
        return Ok(());
    }
    let record_id = text(record, "id");
    let Some(mfa_id) = mfa_id.filter(|m| !m.is_empty()) else {
        let id = kernel::ids::new_id();
        let mut tx = state.db.begin().await?;
        let horizon = now() - time::Duration::seconds(options.mfa_duration);
        tx.execute(
            "DELETE FROM runtime_mfas WHERE app_id = $1 AND record_id = $2 AND created_at <= $3",
            args![&ctx.app.id, &record_id, horizon],
        )
        .await?;
        tx.execute(
            "INSERT INTO runtime_mfas (id, app_id, collection_id, record_id, method, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![&id, &ctx.app.id, &c.id, &record_id, method, now()],
        )
        .await?;
        tx.commit().await?;
        return Err(PbError::mfa_required(&id));
    };
    let mut tx = state.db.begin().await?;
    let row: Option<(String, String, String, time::OffsetDateTime)> = tx
        .fetch_optional(
            "SELECT collection_id, record_id, method, created_at FROM runtime_mfas WHERE id = $1 AND app_id = $2",
            args![mfa_id, &ctx.app.id],
        )
        .await?;
    let Some((collection_id, owner, first, created_at)) = row else {
        return Err(PbError::bad_request("Invalid or expired MFA session."));
    };
    if created_at + time::Duration::seconds(options.mfa_duration) <= now() {
        tx.execute("DELETE FROM runtime_mfas WHERE id = $1", args![mfa_id]).await?;
        tx.commit().await?;
        return Err(PbError::bad_request("Invalid or expired MFA session."));
    }
    if collection_id != c.id || owner != record_id {
        return Err(PbError::bad_request("Invalid MFA session."));
    }
    if first == method {
        return Err(PbError::bad_request("A different authentication method is required."));
    }
    if tx.execute("DELETE FROM runtime_mfas WHERE id = $1", args![mfa_id]).await? != 1 {
        return Err(PbError::bad_request("Invalid or expired MFA session."));
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection(options: Value) -> Collection {
        let mut c: Collection = serde_json::from_value(json!({
            "id": "c1", "name": "users", "type": "auth", "system": false, "fields": [], "indexes": []
        }))
        .expect("collection");
        c.options = options.as_object().cloned().unwrap_or_default();
        c
    }

    #[test]
    fn options_default_as_pocketbase_does() {
        let o = AuthOptions::of(&collection(json!({})));
        assert!(o.password_enabled && !o.otp_enabled && !o.mfa_enabled);
        assert_eq!((o.otp_duration, o.otp_length, o.mfa_duration), (180, 8, 1800));
        assert_eq!(o.identity_fields, vec!["email"]);
        let o = AuthOptions::of(&collection(json!({
            "otp": {"enabled": true, "duration": 60, "length": 6},
            "mfa": {"enabled": true, "duration": 600, "rule": "verified = true"},
            "passwordAuth": {"enabled": false, "identityFields": ["email", "username"]}
        })));
        assert!(!o.password_enabled && o.otp_enabled && o.mfa_enabled);
        assert_eq!((o.otp_duration, o.otp_length, o.mfa_duration), (60, 6, 600));
        assert_eq!(o.mfa_rule, "verified = true");
        assert_eq!(o.identity_fields, vec!["email", "username"]);
        assert_eq!(digits(6).len(), 6);
        assert_eq!(strip_tags("<p>Code: <strong>12</strong></p><p>a &amp; b</p>"), "\nCode: 12\n\na & b\n");
        assert!(digits(8).bytes().all(|b| b.is_ascii_digit()));
    }
}
