//! audit scenarios.
