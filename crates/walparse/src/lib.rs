//! PostgreSQL write-ahead log parser for majors 13–18 (work in progress).
#![forbid(unsafe_code)]
