//! SQLite records and values (work in progress).
