//! Verification of organizations (KYC / KYB): documents with typed metadata, reviewed by
//! platform administrators; other modules gate features on [`service::require_verified`].

pub mod routes;
pub mod service;

// The routes and services take Foundation's state: its database, settings, mailer and the
// file storage where the documents are kept.
