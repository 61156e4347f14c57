//! `[oauth]`: the providers platform accounts sign in with.
//!
//! ```toml
//! [[oauth.providers]]
//! name = "google"              # a preset: google, microsoft, gitlab, github
//! client_id = "..."
//! client_secret = "..."
//!
//! [[oauth.providers]]
//! name = "corp"                # any OpenID Connect issuer (discovery, JWKS)
//! display_name = "Corp SSO"
//! issuer = "https://sso.corp.example"
//! client_id = "..."
//! client_secret = "..."
//! ```

use kernel::{Error, Result};
use serde::{Deserialize, Serialize};

use super::client::{Endpoints, Flavor, OAuthHttp, ProviderClient};

pub const OAUTH: &str = "oauth";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuthConfig {
    pub providers: Vec<ProviderSettings>,
    /// Whether the providers *builders* configure for their apps may be on loopback or
    /// private addresses (an intranet identity provider). Off: such endpoints are refused.
    pub allow_private_network: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderSettings {
    pub name: String,
    pub display_name: String,
    pub client_id: String,
    pub client_secret: String,
    /// An OpenID Connect issuer: endpoints and keys come from its discovery document.
    pub issuer: Option<String>,
    /// Or explicit OAuth2 endpoints (the user info endpoint answers OIDC-like claims).
    pub auth_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    /// Default: `openid email profile` (GitHub: `read:user user:email`).
    pub scopes: Vec<String>,
}

/// What a preset name stands for.
struct Preset {
    display: &'static str,
    issuer: Option<&'static str>,
    endpoints: Option<(&'static str, &'static str, &'static str)>,
    flavor: Flavor,
    scopes: &'static [&'static str],
}

fn preset(name: &str) -> Option<Preset> {
    let oidc = &["openid", "email", "profile"][..];
    Some(match name {
        "google" => Preset {
            display: "Google",
            issuer: Some("https://accounts.google.com"),
            endpoints: None,
            flavor: Flavor::Oidc,
            scopes: oidc,
        },
        "gitlab" => Preset {
            display: "GitLab",
            issuer: Some("https://gitlab.com"),
            endpoints: None,
            flavor: Flavor::Oidc,
            scopes: oidc,
        },
        // Its discovery document names a per-tenant issuer; the user info endpoint is used.
        "microsoft" => Preset {
            display: "Microsoft",
            issuer: None,
            endpoints: Some((
                "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
                "https://login.microsoftonline.com/common/oauth2/v2.0/token",
                "https://graph.microsoft.com/oidc/userinfo",
            )),
            flavor: Flavor::OAuth2,
            scopes: oidc,
        },
        "github" => Preset {
            display: "GitHub",
            issuer: None,
            endpoints: Some((
                "https://github.com/login/oauth/authorize",
                "https://github.com/login/oauth/access_token",
                "https://api.github.com/user",
            )),
            flavor: Flavor::GitHub,
            scopes: &["read:user", "user:email"],
        },
        _ => return None,
    })
}

impl ProviderSettings {
    pub fn display(&self) -> String {
        if !self.display_name.is_empty() {
            return self.display_name.clone();
        }
        preset(&self.name).map(|p| p.display.to_string()).unwrap_or_else(|| self.name.clone())
    }

    /// The provider's client, its endpoints discovered when it names an issuer.
    pub async fn resolve(&self, http: &OAuthHttp) -> Result<ProviderClient> {
        let preset = preset(&self.name);
        let issuer = self.issuer.clone().or_else(|| preset.as_ref().and_then(|p| p.issuer.map(String::from)));
        let (endpoints, flavor) = if let Some(issuer) = issuer.filter(|_| self.auth_url.is_none()) {
            (http.discover(&issuer).await?, preset.as_ref().map_or(Flavor::Oidc, |p| p.flavor))
        } else {
            let defaults = preset.as_ref().and_then(|p| p.endpoints);
            let pick = |own: &Option<String>, default: Option<&str>| own.clone().or(default.map(String::from));
            let auth = pick(&self.auth_url, defaults.map(|d| d.0));
            let token = pick(&self.token_url, defaults.map(|d| d.1));
            let userinfo = pick(&self.userinfo_url, defaults.map(|d| d.2));
            let (Some(authorization), Some(token)) = (auth, token) else {
                return Err(Error::Unavailable(format!(
                    "the sign-in provider {} has neither an issuer nor auth_url and token_url",
                    self.name
                )));
            };
            let flavor = preset.as_ref().map_or(Flavor::OAuth2, |p| p.flavor);
            (Endpoints { authorization, token, userinfo, jwks: None, issuer: None }, flavor)
        };
        let scopes = if self.scopes.is_empty() {
            preset.as_ref().map_or(vec!["openid".into(), "email".into(), "profile".into()], |p| {
                p.scopes.iter().map(|s| s.to_string()).collect()
            })
        } else {
            self.scopes.clone()
        };
        Ok(ProviderClient {
            name: self.name.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            scopes,
            endpoints,
            flavor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn presets_fill_endpoints_and_names() {
        let http = OAuthHttp::new(false).expect("client");
        let github = ProviderSettings { name: "github".into(), client_id: "id".into(), ..Default::default() };
        assert_eq!(github.display(), "GitHub");
        let client = github.resolve(&http).await.expect("no discovery needed");
        assert_eq!(client.flavor, Flavor::GitHub);
        assert_eq!(client.endpoints.token, "https://github.com/login/oauth/access_token");
        assert_eq!(client.scopes, vec!["read:user", "user:email"]);
        let custom = ProviderSettings { name: "corp".into(), ..Default::default() };
        assert_eq!(custom.display(), "corp");
        assert!(custom.resolve(&http).await.is_err(), "neither issuer nor endpoints");
    }
}
