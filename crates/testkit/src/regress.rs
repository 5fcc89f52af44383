//! PostgreSQL 15's own regression suite run against a throw-away cluster.
//!
//! `../shared/pg-regress-15/` holds PostgreSQL 15's `src/test/regress`
//! (its `README.datam.md` says how it is run). [`Suite::find`] checks that
//! everything a run needs is on the machine — the suite, Debian's
//! `pg_regress` (postgresql-client-15) and the server headers
//! (postgresql-server-dev-15, for the suite's C functions) — and says what
//! is missing otherwise, so a test can mark itself *ignored* with that
//! reason instead of passing silently. [`Suite::run`] compiles `regress.c`
//! and `contrib/spi`'s `autoinc.c` / `refint.c`, starts a cluster and runs
//! the parallel schedule; the cluster is handed back running, holding the
//! `regression` database (500+ tables of every built-in type, ~2 million
//! WAL records).
//!
//! ```no_run
//! use testkit::pg::{find_install, ClusterOptions, StopMode};
//! use testkit::regress::Suite;
//! let suite = Suite::find().expect("suite, pg_regress and headers are installed");
//! let install = find_install(15).unwrap();
//! let mut run = suite.run(&install, ClusterOptions::default())?;
//! println!("{} of {} tests failed in {:?}", run.n_failed, run.n_tests, run.elapsed);
//! run.cluster.stop(StopMode::Fast)?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A run takes about a minute on two cores. Some tests fail when the server's
//! minor release is not 15.15 (or the psql differs); the database they leave
//! is what matters, so failures are counted, not raised.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::pg::{Cluster, ClusterOptions, PgInstall};

/// Debian's `pg_regress` (package postgresql-client-15).
pub const PG_REGRESS: &str = "/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress";

/// Parallel tests at once (`pg_regress --max-connections`): on two cores
/// more only adds lock waits.
const MAX_CONNECTIONS: u32 = 4;

/// Everything a run needs, found on this machine.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The suite's directory (`../shared/pg-regress-15`).
    pub dir: PathBuf,
    /// The `pg_regress` program.
    pub pg_regress: PathBuf,
    /// PostgreSQL 15's server headers (`pg_config --includedir-server`).
    pub include_server: PathBuf,
}

/// A finished run.
#[derive(Debug)]
pub struct RegressRun {
    /// The cluster, running, with the `regression` database.
    pub cluster: Cluster,
    /// Tests in the schedule that ran.
    pub n_tests: u32,
    /// Tests whose output differed from the expected (see the module docs).
    pub n_failed: u32,
    /// How long `pg_regress` ran (without initdb and compiling).
    pub elapsed: Duration,
    /// The suite's copy, its outputs and the compiled C functions, which
    /// the server loads as long as it runs (`COPY` of a table of a C type).
    _work: tempfile::TempDir,
}

impl Suite {
    /// Finds the suite, `pg_regress` and the server headers; `Err` says what
    /// is missing and how to get it.
    pub fn find() -> Result<Suite, String> {
        let dir = crate::workspace_root().join("../shared/pg-regress-15");
        if !dir.join("parallel_schedule").is_file() {
            return Err(format!(
                "{} is absent (a clone without ../shared)",
                dir.display()
            ));
        }
        let pg_regress = PathBuf::from(PG_REGRESS);
        if !pg_regress.is_file() {
            return Err(format!(
                "{PG_REGRESS} is missing (apt-get install postgresql-client-15; scripts/setup.sh)"
            ));
        }
        let include_server = Command::new("pg_config")
            .arg("--includedir-server")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .filter(|p| p.join("postgres.h").is_file())
            .ok_or_else(|| {
                "PostgreSQL server headers are missing (apt-get install \
                 postgresql-server-dev-15; scripts/setup.sh)"
                    .to_string()
            })?;
        Ok(Suite {
            dir: std::fs::canonicalize(&dir).unwrap_or(dir),
            pg_regress,
            include_server,
        })
    }

    /// Starts a cluster of `install` (with `opts`) and runs the parallel
    /// schedule against it. The cluster comes back running.
    pub fn run(&self, install: &PgInstall, opts: ClusterOptions) -> io::Result<RegressRun> {
        let work = tempfile::Builder::new().prefix("datam-regress").tempdir()?;
        let input = work.path().join("suite");
        crate::copy_tree(&self.dir, &input)?;
        let lib = work.path().join("lib");
        std::fs::create_dir(&lib)?;
        self.compile(&lib)?;
        let out = work.path().join("out");
        std::fs::create_dir(&out)?;
        if crate::pg::is_root() {
            crate::pg::chown_postgres(work.path())?;
        }
        let cluster = Cluster::start(install, opts)?;
        let bindir = crate::pg::client_bin(install, "psql")
            .parent()
            .map_or_else(|| install.bin_dir.clone(), Path::to_path_buf);
        let args = vec![
            format!("--host={}", cluster.socket_dir().display()),
            format!("--port={}", cluster.port()),
            format!("--bindir={}", bindir.display()),
            format!("--dlpath={}", lib.display()),
            format!("--inputdir={}", input.display()),
            format!("--outputdir={}", out.display()),
            format!("--schedule={}", input.join("parallel_schedule").display()),
            format!("--max-connections={MAX_CONNECTIONS}"),
            "--dbname=regression".into(),
        ];
        let started = Instant::now();
        // Non-zero when any test's output differs: expected here.
        let output = crate::pg::run_as_server_user_unchecked(&self.pg_regress, &args)?;
        let elapsed = started.elapsed();
        let text = String::from_utf8_lossy(&output.stdout);
        let (n_tests, n_failed) = summary(&text).ok_or_else(|| {
            io::Error::other(format!(
                "pg_regress printed no summary ({}):\n{text}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ))
        })?;
        let dbs = cluster.psql("SELECT datname FROM pg_database WHERE datname = 'regression'")?;
        if dbs.trim() != "regression" {
            return Err(io::Error::other(format!(
                "pg_regress left no regression database:\n{text}"
            )));
        }
        Ok(RegressRun {
            cluster,
            n_tests,
            n_failed,
            elapsed,
            _work: work,
        })
    }

    /// Compiles the suite's C functions into `lib` (`--dlpath`).
    fn compile(&self, lib: &Path) -> io::Result<()> {
        let sources = [
            ("regress", self.dir.join("regress.c")),
            ("autoinc", self.dir.join("contrib-spi/autoinc.c")),
            ("refint", self.dir.join("contrib-spi/refint.c")),
        ];
        for (name, src) in sources {
            let out = Command::new("cc")
                .args(["-shared", "-fPIC", "-O1", "-w"])
                .arg(format!("-I{}", self.include_server.display()))
                .arg(&src)
                .arg("-o")
                .arg(lib.join(format!("{name}.so")))
                .output()?;
            if !out.status.success() {
                return Err(crate::command_error(&format!("cc {}", src.display()), &out));
            }
        }
        Ok(())
    }
}

/// `(tests, failed)` from pg_regress's closing lines: ` All 214 tests
/// passed. ` or ` 10 of 214 tests failed. `.
fn summary(text: &str) -> Option<(u32, u32)> {
    text.lines().rev().find_map(|l| {
        let words: Vec<&str> = l.split_whitespace().collect();
        match words.as_slice() {
            ["All", n, "tests", "passed."] => Some((n.parse().ok()?, 0)),
            [f, "of", n, "tests", "failed."] => Some((n.parse().ok()?, f.parse().ok()?)),
            [f, "of", n, "tests", "failed,", ..] => Some((n.parse().ok()?, f.parse().ok()?)),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn summary_lines() {
        assert_eq!(
            super::summary("x\n 10 of 214 tests failed. \n"),
            Some((214, 10))
        );
        assert_eq!(
            super::summary("=====\n All 214 tests passed. \n"),
            Some((214, 0))
        );
        assert_eq!(super::summary("nothing"), None);
    }
}
