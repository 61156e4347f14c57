//! fuzz scenarios.
