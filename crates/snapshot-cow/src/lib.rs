//! Evidence snapshot store — **not built yet** (it comes with its own issue).
//!
//! What it will be: a read-only store of page-level copy-on-write snapshots of
//! evidence files (SQLite databases, PostgreSQL relation files), each snapshot
//! with per-page checksums and a monotonic ID, read through memory maps, so a
//! user can time-travel between snapshots and diff rows between them.
//!
//! Until that issue is taken, this crate holds only this description.
