//! `/api/v1/foundation/auth/oauth2/*` and `/api/v1/foundation/users/me/identities`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kernel::Result;
use kernel::context::RequestContext;
use kernel::json::Json;
use kernel::principal::CurrentUser;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::service::{self, LinkedIdentity, OAuthStart, ProviderInfo};
use crate::accounts::service::TokenResponse;
use crate::state::FoundationState;

pub fn auth_routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new().routes(routes!(list_providers)).routes(routes!(start_sign_in)).routes(routes!(finish_sign_in))
}

pub fn user_routes() -> OpenApiRouter<FoundationState> {
    OpenApiRouter::new().routes(routes!(list_identities)).routes(routes!(unlink_identity))
}

/// The providers this server signs builders in with.
#[utoipa::path(get, path = "/oauth2/providers", tag = "auth", responses((status = 200, body = Vec<ProviderInfo>)))]
async fn list_providers(State(state): State<FoundationState>) -> Json<Vec<ProviderInfo>> {
    Json(service::providers(&state))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
struct StartBody {
    /// A page of this server to come back to (default: the console's callback screen).
    redirect_uri: Option<String>,
}

/// Start signing in with a provider: the URL to send the browser to, with PKCE and a
/// single-use `state` (ten minutes).
#[utoipa::path(post, path = "/oauth2/{provider}/start", tag = "auth",
    params(("provider" = String, Path)),
    request_body = StartBody,
    responses((status = 200, body = OAuthStart), (status = 404), (status = 422), (status = 503)))]
async fn start_sign_in(
    State(state): State<FoundationState>,
    Path(provider): Path<String>,
    Json(body): Json<StartBody>,
) -> Result<Json<OAuthStart>> {
    Ok(Json(service::start(&state, &provider, body.redirect_uri.as_deref()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
struct CallbackBody {
    code: String,
    state: String,
}

/// Finish signing in with the `code` and `state` the provider sent back. A first sign-in
/// creates the account, or links one with the same e-mail when the provider says it is
/// verified. With a second factor on, answers the `mfa-required` problem.
#[utoipa::path(post, path = "/oauth2/{provider}/callback", tag = "auth",
    params(("provider" = String, Path)),
    request_body = CallbackBody,
    responses((status = 200, body = TokenResponse), (status = 401), (status = 403), (status = 404),
      (status = 422), (status = 423), (status = 503)))]
async fn finish_sign_in(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    Path(provider): Path<String>,
    Json(body): Json<CallbackBody>,
) -> Result<Json<TokenResponse>> {
    Ok(Json(service::callback(&state, &ctx, &provider, &body.code, &body.state).await?))
}

/// The providers linked to my account.
#[utoipa::path(get, path = "/me/identities", tag = "users",
    responses((status = 200, body = Vec<LinkedIdentity>), (status = 401), (status = 403)),
    security(("bearer" = [])))]
async fn list_identities(
    State(state): State<FoundationState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Vec<LinkedIdentity>>> {
    Ok(Json(service::identities(&state, &me).await?))
}

/// Unlink a provider; refused when it is the account's only way to sign in.
#[utoipa::path(delete, path = "/me/identities/{provider}", tag = "users",
    params(("provider" = String, Path)),
    responses((status = 204), (status = 401), (status = 404), (status = 409)),
    security(("bearer" = [])))]
async fn unlink_identity(
    State(state): State<FoundationState>,
    ctx: RequestContext,
    CurrentUser(me): CurrentUser,
    Path(provider): Path<String>,
) -> Result<StatusCode> {
    service::unlink(&state, &ctx, &me, &provider).await?;
    Ok(StatusCode::NO_CONTENT)
}
