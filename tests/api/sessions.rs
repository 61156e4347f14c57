//! sessions scenarios.
