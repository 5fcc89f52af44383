//! DataM's desktop app, as a library: `datam gui` calls [`run`].
//!
//! Screens (see [`screens`]): **Open** (path field, drag-and-drop, recent) →
//! **Overview** (the `inspect` facts, SHA-256, diagnostics) → **Tables**
//! (row counts per status) → **Grid** (virtualized rows of one table: sort,
//! filter, copy) → **Row detail** (typed values, provenance, hex view of the
//! page with the cell's parts labelled). For a PostgreSQL data directory
//! ([`pg`]): **Tables** (live and dead tuples per table), **Grid** (live and
//! dead rows with block, line pointer, xmin, xmax), **History** of a row
//! (`pg history`'s versions), the **Rescue** wizard (transactions → dry run
//! → undo.sql + report, or apply after a confirmation) and the **WAL**
//! browser (also for a bare WAL directory). Rows are held compactly
//! ([`rows`]) and decoded only when drawn or exported.
//!
//! Job model: recovery runs on named background threads ([`job::Job`]) with
//! a `datam_core::job::JobCtx` (cancel token, progress); results come back
//! over a channel that [`app::GuiState::ui`] drains each frame without
//! blocking. Only [`backend`] calls the lower crates.
//!
//! **Architecture Invariant:** the UI thread never reads evidence; nothing
//! in the app writes to an opened file.
#![forbid(unsafe_code)]

pub mod app;
pub mod backend;
pub mod bench;
pub mod export;
pub mod fonts;
pub mod history;
pub mod job;
pub mod model;
pub mod native;
pub mod pg;
pub mod rows;
pub mod screens;
pub mod shot;
pub mod snapshots;

pub use app::{GuiState, Screen};
pub use backend::Facts;
pub use native::{Error, Options, ShotScreen, run};
