//! Error messages a person reads once: an OS error is named once with its
//! path, and a directory that is not a data directory says so.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn datam(args: &[&str]) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_datam"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn missing_file_names_the_os_error_once() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("000000010000000000000001");
    let m = missing.to_str().unwrap();
    for args in [vec!["pg", "wal", m], vec!["inspect", m]] {
        let (ok, err) = datam(&args);
        assert!(!ok, "{args:?} must fail");
        // ENOENT's text, as the OS words it.
        let os = std::io::Error::from_raw_os_error(2).to_string();
        assert_eq!(err.matches(&os).count(), 1, "{args:?}: {err}");
        assert!(
            err.contains(&format!("cannot read {m}: ")),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn directory_without_pg_version_is_not_a_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    for args in [
        vec!["pg", "tables", d],
        vec!["pg", "dump", d, "--table", "people"],
        vec!["pg", "xacts", d],
        vec![
            "pg",
            "rescue",
            d,
            "--table",
            "people",
            "--xid",
            "5",
            "--dry-run",
        ],
    ] {
        let (ok, err) = datam(&args);
        assert!(!ok, "{args:?} must fail");
        assert_eq!(
            err.trim_end(),
            format!("datam: error: {d}: not a PostgreSQL data directory: no PG_VERSION"),
            "{args:?}"
        );
    }
}
