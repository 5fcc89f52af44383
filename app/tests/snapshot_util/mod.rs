//! Helpers shared by the `snapshot_*` tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

/// The `datam` binary of this build.
pub const DATAM: &str = env!("CARGO_BIN_EXE_datam");

/// A path as `&str` (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `datam ARGS...` in-process: its result and its output.
pub fn datam_run(args: &[&str]) -> (anyhow::Result<()>, String) {
    let mut out = Vec::new();
    let mut argv = vec!["datam"];
    argv.extend_from_slice(args);
    let r = datam::run(argv, &mut out);
    (r, String::from_utf8(out).unwrap())
}

/// Runs `datam ARGS...` in-process; panics on error; returns the output.
pub fn datam_ok(args: &[&str]) -> String {
    let (r, out) = datam_run(args);
    r.unwrap();
    out
}
