//! gdpr scenarios.
