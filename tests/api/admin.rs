//! admin scenarios.
