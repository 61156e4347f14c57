//! Black-box scenarios through the real router over real HTTP, each on a fresh SQLite
//! database and a fresh PostgreSQL schema.

mod support;

mod admin;
mod api_keys;
mod app_factors;
mod assistant;
mod audit;
mod auth;
mod automation;
mod collab;
mod conformance;
mod console;
mod db_paths;
mod every_endpoint;
mod expr_sql;
mod fuzz;
mod fuzz_runtime;
mod fuzz_studio;
mod gdpr;
mod hold;
mod http_stub;
mod invoice_admin;
mod jobs;
mod mail;
mod marketplace;
mod mfa;
mod oidc;
mod orgs;
mod payments;
mod platform;
mod providers;
mod quotas;
mod record_ids;
mod renewals;
mod runtime;
mod runtime_listing;
mod schemathesis;
mod sdk;
mod secrets;
mod sessions;
mod studio_collections;
mod studio_pages;
mod studio_projects;
mod upgrade;
mod workflows;
