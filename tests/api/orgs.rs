//! orgs scenarios.
