//! Helpers shared by the `snapshot_*` tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

use testkit::sqlite::sqlite3;

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

/// Runs the sqlite3 shell on `db` with SQL steps; after each step the shell
/// (still holding the database open, so the `-wal` exists) copies db + wal
/// to `refs/N/` and runs `datam snapshot add`.
pub fn sqlite_session(dir: &Path, steps: &[&str]) {
    let db = dir.join("case.db");
    let store = dir.join("store");
    let mut script = String::from("PRAGMA journal_mode=WAL;\nPRAGMA wal_autocheckpoint=0;\n");
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        let r = dir.join(format!("refs/{n}"));
        std::fs::create_dir_all(&r).unwrap();
        script.push_str(step);
        script.push('\n');
        script.push_str(&format!(
            ".shell cp {db} {db}-wal {r}/ && sha256sum {db} {db}-wal > {r}/pre && {DATAM} snapshot add {store} {db} {db}-wal --note 'step {n}' > {r}/id && sha256sum {db} {db}-wal > {r}/post\n",
            db = s(&db),
            r = s(&r),
            store = s(&store),
        ));
    }
    sqlite3(&db, &script).unwrap();
}

/// A SQLite database of `n_rows` rows of ~3 KB random blobs (one per 4 KiB
/// page), made by sqlite3.
pub fn blob_db(db: &Path, n_rows: u32) {
    sqlite3(
        db,
        &format!(
            "PRAGMA page_size=4096; CREATE TABLE b(id INTEGER PRIMARY KEY, x BLOB);
             INSERT INTO b SELECT value, randomblob(3000) FROM generate_series(1, {n_rows});"
        ),
    )
    .unwrap();
}
