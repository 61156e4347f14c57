//! Second factors and passwordless sign-in for platform accounts.
//!
//! - [`totp`]: authenticator-app codes (RFC 6238), enrolled with an `otpauth://` URI and its
//!   QR code, confirmed by a first code, with ten single-use recovery codes (stored hashed).
//! - [`service`]: enrolment, the challenge a sign-in answers once TOTP is on (a 401
//!   `mfa-required` problem carrying `mfa_token`), its completion, and disabling.
//! - [`sign_in_code`]: a one-time code sent by email, as a sign-in without a password.
//!
//! Secrets are sealed at rest ([`sealing`]); every step is audited.

pub mod routes;
pub mod sealing;
pub mod service;
pub mod sign_in_code;
pub mod totp;

pub use sealing::SecretSeal;
