//! api_keys scenarios.
