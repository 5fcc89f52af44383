//! The harness starts and stops real clusters of every installed major.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use testkit::pg::{ALL_MAJORS, Cluster, ClusterOptions, StopMode};

fn main() {
    let trials = testkit::pg::major_trials("select_version", &ALL_MAJORS, |install| {
        let mut c = Cluster::start(
            install,
            ClusterOptions::default().conf("wal_level = logical"),
        )
        .map_err(|e| e.to_string())?;
        let v = c
            .psql("SELECT current_setting('server_version_num')::int / 10000, version();")
            .map_err(|e| e.to_string())?;
        let (num, text) = v.trim().split_once('|').ok_or("no '|' in psql output")?;
        if num != install.major.to_string() || !text.starts_with("PostgreSQL ") {
            return Err(format!("major {} answered {v:?}", install.major));
        }
        // Names the minor release in the log; $DATAM_PG15_BIN is the 15 used.
        eprintln!(
            "pg{}: {text} ({})",
            install.major,
            install.bin_dir.display()
        );
        if install.major == 15 && install.bin_dir != testkit::pg::pg15_bin() {
            return Err(format!(
                "15 is not pg15_bin(): {}",
                install.bin_dir.display()
            ));
        }
        let lvl = c.psql("SHOW wal_level;").map_err(|e| e.to_string())?;
        if lvl.trim() != "logical" {
            return Err(format!("conf line not applied: wal_level = {lvl:?}"));
        }
        let data = c.data_dir().to_path_buf();
        c.stop(StopMode::Fast).map_err(|e| e.to_string())?;
        if c.psql("SELECT 1").is_ok() {
            return Err("server still answers after stop".into());
        }
        let pgv = std::fs::read_to_string(data.join("PG_VERSION")).map_err(|e| e.to_string())?;
        if pgv.trim() != install.major.to_string() {
            return Err(format!("PG_VERSION {pgv:?}"));
        }
        drop(c);
        if data.exists() {
            return Err("data dir left behind after drop".into());
        }
        Ok(())
    });
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
}
