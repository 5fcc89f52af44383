//! PostgreSQL data directory reader (work in progress).
#![forbid(unsafe_code)]
