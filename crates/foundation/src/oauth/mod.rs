//! OAuth2 / OpenID Connect sign-in.
//!
//! - [`client`]: the protocol (authorization URL with PKCE, code exchange, ID token
//!   verification, user info), shared with the Runtime's `auth-with-oauth2`.
//! - [`settings`]: the `[oauth]` section: the providers builders sign in with (presets for
//!   Google, Microsoft, GitLab and GitHub; any OpenID issuer; or explicit endpoints).
//! - [`service`] and [`routes`]: a builder's sign-in (start, callback), the account created
//!   or linked on a first sign-in, the identities listed and unlinked.

pub mod client;
pub mod routes;
pub mod service;
pub mod settings;
