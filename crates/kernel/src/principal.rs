//! Who is calling: a person with a session, or an organization's API key. The server's
//! authentication middleware puts one in the request extensions; extractors here read it.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Error;

/// Platform-wide role of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlatformRole {
    User,
    Premium,
    Admin,
}

impl PlatformRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformRole::User => "user",
            PlatformRole::Premium => "premium",
            PlatformRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(PlatformRole::User),
            "premium" => Some(PlatformRole::Premium),
            "admin" => Some(PlatformRole::Admin),
            _ => None,
        }
    }
}

/// Role inside an organization, ordered by power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum OrgRole {
    Member,
    Admin,
    Owner,
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Member => "MEMBER",
            OrgRole::Admin => "ADMIN",
            OrgRole::Owner => "OWNER",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "MEMBER" => Some(OrgRole::Member),
            "ADMIN" => Some(OrgRole::Admin),
            "OWNER" => Some(OrgRole::Owner),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct UserPrincipal {
    pub user_id: String,
    pub session_id: String,
    pub email: String,
    pub role: PlatformRole,
}

#[derive(Debug, Clone)]
pub struct ApiKeyPrincipal {
    pub key_id: String,
    pub organization_id: String,
    pub role: OrgRole,
}

#[derive(Debug, Clone)]
pub enum Principal {
    User(UserPrincipal),
    ApiKey(ApiKeyPrincipal),
}

impl Principal {
    /// The id recorded as actor in audit entries.
    pub fn actor_id(&self) -> &str {
        match self {
            Principal::User(u) => &u.user_id,
            Principal::ApiKey(k) => &k.key_id,
        }
    }

    /// The person behind the request if their platform role is at least `min`
    /// (`user` < `premium` < `admin`); 403 otherwise, and for API keys.
    pub fn authorize(&self, min: PlatformRole) -> Result<&UserPrincipal, Error> {
        let user = self.as_user()?;
        if user.role < min {
            return Err(Error::Forbidden(format!("this action requires the {} role", min.as_str())));
        }
        Ok(user)
    }

    pub fn as_user(&self) -> Result<&UserPrincipal, Error> {
        match self {
            Principal::User(u) => Ok(u),
            Principal::ApiKey(_) => Err(Error::Forbidden("this endpoint needs a user session, not an API key".into())),
        }
    }
}

/// Set by the authentication middleware when a credential was sent but is not valid, so
/// that endpoints requiring authentication can say why.
#[derive(Debug, Clone)]
pub struct AuthFailure(pub String);

fn missing(parts: &Parts) -> Error {
    match parts.extensions.get::<AuthFailure>() {
        Some(AuthFailure(reason)) => Error::Unauthorized(reason.clone()),
        None => Error::Unauthorized("authentication required".into()),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| missing(parts))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Principal>().cloned())
    }
}

/// A signed-in person (API keys are refused with 403).
#[derive(Debug, Clone)]
pub struct CurrentUser(pub UserPrincipal);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = <Principal as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        Ok(CurrentUser(principal.as_user()?.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: PlatformRole) -> Principal {
        Principal::User(UserPrincipal { user_id: "u".into(), session_id: "s".into(), email: "e@x.io".into(), role })
    }

    #[test]
    fn roles_are_ordered() {
        assert!(user(PlatformRole::Admin).authorize(PlatformRole::Premium).is_ok());
        assert!(user(PlatformRole::Premium).authorize(PlatformRole::Premium).is_ok());
        assert!(matches!(user(PlatformRole::User).authorize(PlatformRole::Premium), Err(Error::Forbidden(_))));
        let key = Principal::ApiKey(ApiKeyPrincipal {
            key_id: "k".into(),
            organization_id: "o".into(),
            role: OrgRole::Owner,
        });
        assert!(matches!(key.authorize(PlatformRole::User), Err(Error::Forbidden(_))));
        assert!(OrgRole::Owner > OrgRole::Admin && OrgRole::Admin > OrgRole::Member);
    }
}
