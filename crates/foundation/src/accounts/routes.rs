//! `/api/v1/foundation/auth/*` and `/api/v1/foundation/users/me`.

use axum::extract::State;
use axum::http::StatusCode;
use kernel::context::RequestContext;
use kernel::json::Json;
use kernel::principal::CurrentUser;
use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::UserView;
use super::service::{self, ProfileUpdate, RegisterRequest, RegisterResponse, TokenResponse};
use crate::state::FoundationState;

pub fn auth_routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(activate))
        .routes(routes!(resend_activation))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(request_password_reset))
        .routes(routes!(reset_password))
        .routes(routes!(confirm_email_change))
}

pub fn user_routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(request_email_change))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Message {
    pub message: String,
}

fn message(text: &str) -> Json<Message> {
    Json(Message { message: text.to_string() })
}

/// Create an account. An activation email with a single-use link is sent.
#[utoipa::path(post, path = "/register", tag = "auth",
    request_body = RegisterRequest,
    responses((status = 202, body = RegisterResponse), (status = 400), (status = 415), (status = 422), (status = 429)))]
async fn register(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    Json(req): Json<RegisterRequest>,
) -> Result<(StatusCode, Json<RegisterResponse>)> {
    Ok((StatusCode::ACCEPTED, Json(service::register(&state, &ctx, req).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
struct TokenBody {
    token: String,
}

/// Activate an account with the token from the activation email.
#[utoipa::path(post, path = "/activate", tag = "auth",
    request_body = TokenBody,
    responses((status = 200, body = UserView), (status = 400), (status = 422)))]
async fn activate(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    Json(body): Json<TokenBody>,
) -> Result<Json<UserView>> {
    Ok(Json(service::activate(&state, &ctx, &body.token).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
struct EmailBody {
    email: String,
}

/// Send a new activation email to a pending account (same answer whether or not it exists).
#[utoipa::path(post, path = "/resend-activation", tag = "auth",
    request_body = EmailBody,
    responses((status = 202, body = Message), (status = 422), (status = 429)))]
async fn resend_activation(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    Json(body): Json<EmailBody>,
) -> Result<(StatusCode, Json<Message>)> {
    service::resend_activation(&state, &ctx, &body.email).await?;
    Ok((StatusCode::ACCEPTED, message("if a pending account uses this address, an activation email is on its way")))
}

#[derive(Debug, Deserialize, ToSchema)]
struct LoginBody {
    email: String,
    password: String,
}

/// Sign in with email and password; returns an access token and a refresh token. With a
/// second factor on, answers a 401 problem of type `https://socle.dev/problems/mfa-required`
/// whose `mfa_token` (with `methods` and `expires_in`) goes to `POST /auth/mfa` with a code.
#[utoipa::path(post, path = "/login", tag = "auth",
    request_body = LoginBody,
    responses((status = 200, body = TokenResponse),
      (status = 401, description = "invalid credentials, or a second factor is required (mfa-required problem)"),
      (status = 403, description = "not activated or deactivated"), (status = 423, description = "locked"),
      (status = 422), (status = 429)))]
async fn login(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    Json(body): Json<LoginBody>,
) -> Result<Json<TokenResponse>> {
    Ok(Json(service::login(&state, &ctx, &body.email, &body.password).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
struct RefreshBody {
    refresh_token: String,
}

/// Exchange a refresh token for new tokens. The old refresh token stops working; using it
/// again revokes the whole session.
#[utoipa::path(post, path = "/refresh", tag = "auth",
    request_body = RefreshBody,
    responses((status = 200, body = TokenResponse), (status = 401), (status = 422)))]
async fn refresh(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    Json(body): Json<RefreshBody>,
) -> Result<Json<TokenResponse>> {
    Ok(Json(service::refresh(&state, &ctx, &body.refresh_token).await?))
}

/// Sign out: revoke the current session.
#[utoipa::path(post, path = "/logout", tag = "auth",
    responses((status = 204), (status = 401), (status = 403)),
    security(("bearer" = [])))]
async fn logout(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
) -> Result<StatusCode> {
    service::logout(&state, &ctx, &me).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ask for a password-reset email. The answer does not say whether the account exists.
#[utoipa::path(post, path = "/request-password-reset", tag = "auth",
    request_body = EmailBody,
    responses((status = 202, body = Message), (status = 422), (status = 429)))]
async fn request_password_reset(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    Json(body): Json<EmailBody>,
) -> Result<(StatusCode, Json<Message>)> {
    service::request_password_reset(&state, &ctx, &body.email).await?;
    Ok((StatusCode::ACCEPTED, message("if an account uses this address, a reset link is on its way")))
}

#[derive(Debug, Deserialize, ToSchema)]
struct ResetBody {
    token: String,
    password: String,
}

/// Choose a new password with the emailed token; unlocks the account and signs out everywhere.
#[utoipa::path(post, path = "/reset-password", tag = "auth",
    request_body = ResetBody,
    responses((status = 200, body = Message), (status = 422)))]
async fn reset_password(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    Json(body): Json<ResetBody>,
) -> Result<Json<Message>> {
    service::reset_password(&state, &ctx, &body.token, &body.password).await?;
    Ok(message("password changed; sign in with the new password"))
}

/// My profile.
#[utoipa::path(get, path = "/me", tag = "users",
    responses((status = 200, body = UserView), (status = 401), (status = 403)),
    security(("bearer" = [])))]
async fn get_me(State(state): State<FoundationState>, CurrentUser(me): CurrentUser) -> Result<Json<UserView>> {
    let user = super::find_by_id(&state.db, &me.user_id).await?.ok_or_else(|| Error::not_found("user"))?;
    Ok(Json(UserView::from(&user)))
}

/// Update my profile (first and last name).
#[utoipa::path(patch, path = "/me", tag = "users",
    request_body = ProfileUpdate,
    responses((status = 200, body = UserView), (status = 401), (status = 422)),
    security(("bearer" = [])))]
async fn update_me(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Json(update): Json<ProfileUpdate>,
) -> Result<Json<UserView>> {
    Ok(Json(service::update_profile(&state, &ctx, &me, update).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
struct ChangePasswordBody {
    current_password: String,
    new_password: String,
}

/// Change my password; every other session is signed out.
#[utoipa::path(post, path = "/me/password", tag = "users",
    request_body = ChangePasswordBody,
    responses((status = 200, body = Message), (status = 401), (status = 422)),
    security(("bearer" = [])))]
async fn change_password(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Json(body): Json<ChangePasswordBody>,
) -> Result<Json<Message>> {
    service::change_password(&state, &ctx, &me, &body.current_password, &body.new_password).await?;
    Ok(message("password changed; other sessions were signed out"))
}

#[derive(Debug, Deserialize, ToSchema)]
struct EmailChangeBody {
    /// The new address.
    email: String,
    /// The account's password, to confirm it is its owner.
    password: String,
}

/// Change my email address: a link sent to the new address confirms it (nothing is sent
/// when that address already has an account; the answer is the same).
#[utoipa::path(post, path = "/me/email", tag = "users",
    request_body = EmailChangeBody,
    responses((status = 202, body = Message), (status = 400), (status = 401), (status = 403), (status = 415), (status = 422)),
    security(("bearer" = [])))]
async fn request_email_change(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Json(body): Json<EmailChangeBody>,
) -> Result<(StatusCode, Json<Message>)> {
    service::request_email_change(&state, &ctx, &me, &body.email, &body.password).await?;
    Ok((StatusCode::ACCEPTED, message("a confirmation link was sent to the new address")))
}

/// Confirm an email change with the emailed link's token; the old address is told.
#[utoipa::path(post, path = "/confirm-email-change", tag = "auth",
    request_body = TokenBody,
    responses((status = 200, body = Message), (status = 400), (status = 409), (status = 415), (status = 422)))]
async fn confirm_email_change(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    Json(body): Json<TokenBody>,
) -> Result<Json<Message>> {
    service::confirm_email_change(&state, &ctx, &body.token).await?;
    Ok(message("the address is changed; sign in with it"))
}
