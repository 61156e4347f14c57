//! Test support lives in api/.
