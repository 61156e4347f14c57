//! `/api/v1/foundation/auth/{mfa,sign-in-code}` and `/api/v1/foundation/users/me/mfa`.

use axum::extract::State;
use axum::http::StatusCode;
use kernel::Result;
use kernel::context::RequestContext;
use kernel::json::Json;
use kernel::principal::CurrentUser;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::service::{self, MfaStatus, RecoveryCodes, TotpEnrolment};
use super::sign_in_code::{self, SignInCodeSent};
use crate::accounts::service::TokenResponse;
use crate::state::FoundationState;

pub fn auth_routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new()
        .routes(routes!(complete_mfa))
        .routes(routes!(request_sign_in_code))
        .routes(routes!(sign_in_with_code))
}

pub fn user_routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new()
        .routes(routes!(mfa_status))
        .routes(routes!(start_totp))
        .routes(routes!(confirm_totp))
        .routes(routes!(disable_totp))
        .routes(routes!(regenerate_recovery_codes))
}

#[derive(Debug, Deserialize, ToSchema)]
struct MfaBody {
    /// From the sign-in's `mfa-required` problem.
    mfa_token: String,
    /// Six digits from the authenticator app, or an unused recovery code.
    code: String,
}

/// The second step of a sign-in: the challenge token and a code give the tokens.
#[utoipa::path(post, path = "/mfa", tag = "auth",
    request_body = MfaBody,
    responses((status = 200, body = TokenResponse), (status = 401, description = "wrong code, or the challenge is spent or expired"),
      (status = 422), (status = 429)))]
async fn complete_mfa(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    Json(body): Json<MfaBody>,
) -> Result<Json<TokenResponse>> {
    Ok(Json(service::complete_challenge(&state, &ctx, &body.mfa_token, &body.code).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
struct EmailBody {
    email: String,
}

/// Email a one-time sign-in code. The answer is the same whether or not the account exists.
#[utoipa::path(post, path = "/sign-in-code", tag = "auth",
    request_body = EmailBody,
    responses((status = 202, body = SignInCodeSent), (status = 422), (status = 429)))]
async fn request_sign_in_code(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    Json(body): Json<EmailBody>,
) -> Result<(StatusCode, Json<SignInCodeSent>)> {
    Ok((StatusCode::ACCEPTED, Json(sign_in_code::request(&state, &ctx, &body.email).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
struct CodeBody {
    otp_id: String,
    code: String,
}

/// Sign in with the emailed code. With TOTP on, answers the `mfa-required` challenge.
#[utoipa::path(post, path = "/sign-in-code/verify", tag = "auth",
    request_body = CodeBody,
    responses((status = 200, body = TokenResponse), (status = 401, description = "wrong or expired code, or a second factor is required"),
      (status = 403), (status = 423), (status = 422)))]
async fn sign_in_with_code(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    Json(body): Json<CodeBody>,
) -> Result<Json<TokenResponse>> {
    Ok(Json(sign_in_code::sign_in(&state, &ctx, &body.otp_id, &body.code).await?))
}

/// My second factors.
#[utoipa::path(get, path = "/me/mfa", tag = "users",
    responses((status = 200, body = MfaStatus), (status = 401), (status = 403)),
    security(("bearer" = [])))]
async fn mfa_status(State(state): State<FoundationState>, CurrentUser(me): CurrentUser) -> Result<Json<MfaStatus>> {
    Ok(Json(service::status(&state, &me).await?))
}

/// Start enrolling an authenticator app: its secret, `otpauth://` URI and QR code.
#[utoipa::path(post, path = "/me/mfa/totp", tag = "users",
    responses((status = 201, body = TotpEnrolment), (status = 401), (status = 409, description = "already enabled")),
    security(("bearer" = [])))]
async fn start_totp(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
) -> Result<(StatusCode, Json<TotpEnrolment>)> {
    Ok((StatusCode::CREATED, Json(service::start_totp(&state, &ctx, &me).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
struct ConfirmBody {
    code: String,
}

/// Confirm the enrolment with a first code; answers the ten recovery codes, shown once.
#[utoipa::path(post, path = "/me/mfa/totp/confirm", tag = "users",
    request_body = ConfirmBody,
    responses((status = 200, body = RecoveryCodes), (status = 401), (status = 409), (status = 422)),
    security(("bearer" = [])))]
async fn confirm_totp(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Json(body): Json<ConfirmBody>,
) -> Result<Json<RecoveryCodes>> {
    Ok(Json(service::confirm_totp(&state, &ctx, &me, &body.code).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
struct DisableBody {
    password: String,
    /// A current authenticator code or an unused recovery code.
    code: String,
}

/// Turn two-factor sign-in off (password and a code required).
#[utoipa::path(post, path = "/me/mfa/totp/disable", tag = "users",
    request_body = DisableBody,
    responses((status = 204), (status = 401), (status = 409), (status = 422), (status = 429)),
    security(("bearer" = [])))]
async fn disable_totp(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Json(body): Json<DisableBody>,
) -> Result<StatusCode> {
    service::disable_totp(&state, &ctx, &me, &body.password, &body.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace the recovery codes (a current code required); the old ones stop working.
#[utoipa::path(post, path = "/me/mfa/recovery-codes", tag = "users",
    request_body = ConfirmBody,
    responses((status = 200, body = RecoveryCodes), (status = 401), (status = 409), (status = 422), (status = 429)),
    security(("bearer" = [])))]
async fn regenerate_recovery_codes(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Json(body): Json<ConfirmBody>,
) -> Result<Json<RecoveryCodes>> {
    Ok(Json(service::regenerate_recovery_codes(&state, &ctx, &me, &body.code).await?))
}
