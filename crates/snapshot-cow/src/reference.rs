//! Snapshot references: `STORE@ID:PATH` names the file or directory `PATH`
//! (as added, see `datam snapshot show`) of snapshot `ID` of the store at
//! `STORE`, and every reader (the CLI's reading commands, a path typed into
//! the desktop app) reads it in place once it is mounted.
//!
//! Resolution (deterministic, so ordinary paths containing `@` and `:` keep
//! working):
//! 1. an argument that names an existing file system entry is that entry;
//! 2. otherwise, at each `@` followed by decimal digits and `:` (left to
//!    right), the text before the `@` is tried as a store directory (one
//!    holding a `FORMAT` file); the first that is one makes the argument a
//!    reference; `STORE@ID:` alone names the snapshot's root;
//! 3. anything else is an ordinary path.
//!
//! `--flag=VALUE` arguments are looked at by their `VALUE`. A reference is
//! checked when it is mounted: an unknown ID, or a `PATH` the snapshot
//! does not hold, is an error before anything is read. Each resolved
//! reference mounts its snapshot (an [`evidence::vfs::Source`]) under the
//! prefix `STORE@ID:` while the returned mounts live.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;

use evidence::vfs::{Mount, Source};

use crate::{Error, SnapshotId, SnapshotSource, Store};

/// Why a reference could not be mounted.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The store could not be opened or read.
    #[error("{prefix}: {source}")]
    Store {
        /// `STORE@ID:`.
        prefix: String,
        /// What failed.
        source: Error,
    },
    /// The store has no snapshot of that ID.
    #[error("{prefix}: no snapshot {id} in store {store} ({held})")]
    NoSnapshot {
        /// `STORE@ID:`.
        prefix: String,
        /// The ID asked for.
        id: SnapshotId,
        /// The store, as written.
        store: String,
        /// The IDs it holds.
        held: String,
    },
    /// The snapshot holds no such file or directory.
    #[error("{value}: snapshot {id} of {store} has no file or directory `{rel}` (it holds: {top})")]
    NoPath {
        /// The reference as written.
        value: String,
        /// The snapshot.
        id: SnapshotId,
        /// The store, as written.
        store: String,
        /// The name asked for.
        rel: String,
        /// What the snapshot's root holds.
        top: String,
    },
}

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapRef<'a> {
    /// The store directory, as written.
    pub store: &'a str,
    /// The snapshot.
    pub id: SnapshotId,
    /// The name inside the snapshot (`""` for its root).
    pub path: &'a str,
    /// `STORE@ID:`, the mount prefix.
    pub prefix: &'a str,
}

/// `arg` as a reference, by the rules of the module doc.
pub fn parse(arg: &str) -> Option<SnapRef<'_>> {
    if std::fs::symlink_metadata(arg).is_ok() {
        return None;
    }
    for (at, _) in arg.match_indices('@') {
        let store = arg.get(..at)?;
        let rest = arg.get(at.checked_add(1)?..)?;
        let Some((digits, path)) = rest.split_once(':') else {
            continue;
        };
        if store.is_empty() || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(n) = digits.parse::<u64>() else {
            continue;
        };
        if !Path::new(store).join("FORMAT").is_file() {
            continue;
        }
        let prefix = arg.get(..arg.len().checked_sub(path.len())?)?;
        return Some(SnapRef {
            store,
            id: SnapshotId(n),
            path,
            prefix,
        });
    }
    None
}

/// Resolves every reference among `args` and mounts its snapshot; the
/// mounts last as long as the returned value.
pub fn mount_all(args: &[OsString]) -> Result<Vec<Mount>, ReferenceError> {
    let mut sources: BTreeMap<String, Arc<SnapshotSource>> = BTreeMap::new();
    for arg in args.iter().filter_map(|a| a.to_str()) {
        let value = match arg.strip_prefix("--").and_then(|f| f.split_once('=')) {
            Some((_, v)) => v,
            None => arg,
        };
        let Some(r) = parse(value) else { continue };
        let src = match sources.get(r.prefix) {
            Some(s) => Arc::clone(s),
            None => {
                let s = Arc::new(open(&r)?);
                sources.insert(r.prefix.to_string(), Arc::clone(&s));
                s
            }
        };
        let rel = r.path.trim_matches('/');
        if src.kind(rel).is_none() {
            return Err(ReferenceError::NoPath {
                value: value.to_string(),
                id: r.id,
                store: r.store.to_string(),
                rel: rel.to_string(),
                top: src.list("").unwrap_or_default().join(", "),
            });
        }
    }
    Ok(sources
        .into_iter()
        .map(|(prefix, src)| evidence::vfs::mount(prefix, src))
        .collect())
}

fn open(r: &SnapRef<'_>) -> Result<SnapshotSource, ReferenceError> {
    let failed = |source: Error| ReferenceError::Store {
        prefix: r.prefix.to_string(),
        source,
    };
    let store = Store::open(r.store).map_err(failed)?;
    let ids = store.ids().map_err(failed)?;
    if !ids.contains(&r.id) {
        return Err(ReferenceError::NoSnapshot {
            prefix: r.prefix.to_string(),
            id: r.id,
            store: r.store.to_string(),
            held: match (ids.first(), ids.last()) {
                (Some(a), Some(b)) => format!("it holds {a}..={b}"),
                _ => "it is empty".to_string(),
            },
        });
    }
    store.source(r.id).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_store_directory_before_at_id_colon_makes_a_reference() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("st@2:x");
        std::fs::create_dir_all(&store).unwrap();
        std::fs::write(store.join("FORMAT"), "datam snapshot store 1\n").unwrap();
        let s = store.to_str().unwrap();
        // The store's own name has `@2:` in it: the leftmost split whose left
        // side is a store wins, so `st@2:x` is not cut at its own `@`.
        let arg = format!("{s}@3:data/base");
        let r = parse(&arg).unwrap();
        assert_eq!((r.store, r.id, r.path), (s, SnapshotId(3), "data/base"));
        assert_eq!(r.prefix, format!("{s}@3:"));
        // Not a store on the left, no digits, no colon: ordinary paths.
        let plain = dir.path().join("a@1:b");
        assert_eq!(parse(plain.to_str().unwrap()), None);
        assert_eq!(parse(&format!("{s}@x:db")), None);
        assert_eq!(parse(&format!("{s}@3")), None);
        // An existing path is always itself, whatever its shape.
        let file = format!("{s}@3:db");
        assert!(parse(&file).is_some());
        std::fs::write(&file, b"").unwrap();
        assert_eq!(parse(&file), None);
    }
}
