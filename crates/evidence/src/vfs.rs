//! Where an evidence path leads: the real file system, or a mounted
//! [`Source`] (a snapshot in the evidence store, for time travel).
//!
//! Every reading command names its inputs by path and reaches them through
//! [`crate::Evidence::open`] and the few directory calls here ([`kind`],
//! [`is_file`], [`is_dir`], [`read_dir`]). A front end that wants a command to
//! read something that is not a plain directory tree (a snapshot, read in
//! place from the store's packs) [`mount`]s a [`Source`] under a path prefix
//! for the duration of the command; paths starting with that prefix are then
//! answered by the source, every other path by the file system. The parsers
//! never see the difference: they get `&[u8]` either way.
//!
//! The prefix is matched as a string (`STORE@3:` matches `STORE@3:data/base/1`),
//! so the path a command derives (`path.join("pg_wal")`, `db + "-wal"`) stays
//! inside the mount, and what the command prints names the reference.
//!
//! **Architecture Invariant:** a mounted source is read-only like the file
//! system behind [`crate::Evidence`]: the trait has no way to write.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A regular file of this length.
    File {
        /// Its length in bytes.
        len_bytes: u64,
    },
    /// A directory.
    Dir,
}

/// A read-only tree of files reachable by `/`-separated relative names
/// (`""` is its root).
pub trait Source: Send + Sync {
    /// What `rel` names, if anything.
    fn kind(&self, rel: &str) -> Option<Kind>;
    /// The names of the entries of directory `rel`, sorted, or `None` when
    /// `rel` is not a directory.
    fn list(&self, rel: &str) -> Option<Vec<String>>;
    /// The whole contents of file `rel`, in one buffer of its length
    /// (shared, so that a source can hand the same buffer to every opener
    /// while one holds it).
    fn read(&self, rel: &str) -> io::Result<Arc<Vec<u8>>>;
    /// File `rel` as an open file holding exactly its contents, which the
    /// source will not write to again, for [`crate::Evidence::open`] to map
    /// instead of calling [`Source::read`]: its pages are then file-backed
    /// (the kernel's page cache, not the reader's heap) and
    /// [`crate::Evidence::release`] drops them behind a scan, as for a file
    /// on disk. `Ok(None)` (the default): use [`Source::read`].
    fn read_mappable(&self, _rel: &str) -> io::Result<Option<Arc<std::fs::File>>> {
        Ok(None)
    }
}

type Mounts = Vec<(String, Arc<dyn Source>)>;

static MOUNTS: RwLock<Mounts> = RwLock::new(Vec::new());

fn mounts() -> std::sync::RwLockReadGuard<'static, Mounts> {
    MOUNTS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A mounted source; dropping it unmounts it.
#[must_use = "the source is unmounted when this is dropped"]
pub struct Mount {
    prefix: String,
}

impl Mount {
    /// The prefix the source answers under.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let mut m = MOUNTS
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = m.iter().rposition(|(p, _)| *p == self.prefix) {
            m.remove(i);
        }
    }
}

/// Makes every path that starts with `prefix` (as a string) resolve inside
/// `source` until the returned [`Mount`] is dropped. A later mount of the
/// same prefix shadows an earlier one.
///
/// ```
/// use std::sync::Arc;
/// use evidence::vfs::{Kind, Source};
/// struct One;
/// impl Source for One {
///     fn kind(&self, rel: &str) -> Option<Kind> {
///         match rel { "" => Some(Kind::Dir), "a" => Some(Kind::File { len_bytes: 2 }), _ => None }
///     }
///     fn list(&self, rel: &str) -> Option<Vec<String>> { rel.is_empty().then(|| vec!["a".into()]) }
///     fn read(&self, _: &str) -> std::io::Result<Arc<Vec<u8>>> { Ok(Arc::new(b"hi".to_vec())) }
/// }
/// let _m = evidence::vfs::mount("demo@1:", Arc::new(One));
/// assert_eq!(evidence::Evidence::open("demo@1:a").unwrap().bytes(), b"hi");
/// assert!(evidence::vfs::is_dir("demo@1:".as_ref()));
/// ```
pub fn mount(prefix: impl Into<String>, source: Arc<dyn Source>) -> Mount {
    let prefix = prefix.into();
    MOUNTS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push((prefix.clone(), source));
    Mount { prefix }
}

/// The source and relative name `path` resolves to, when it lies under a
/// mount (the longest matching prefix wins). `.` components are dropped and
/// `..` goes up, but never above the source's root.
pub(crate) fn resolve(path: &Path) -> Option<(Arc<dyn Source>, String)> {
    let s = path.to_str()?;
    let m = mounts();
    let (prefix, src) = m
        .iter()
        .filter(|(p, _)| s.starts_with(p.as_str()))
        .max_by_key(|(p, _)| p.len())?;
    let rest = s.strip_prefix(prefix.as_str())?;
    let mut parts: Vec<&str> = Vec::new();
    for c in rest.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    Some((Arc::clone(src), parts.join("/")))
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} does not exist", path.display()),
    )
}

/// What `path` names (a mounted source, else `std::fs::metadata`).
pub fn kind(path: &Path) -> io::Result<Kind> {
    if let Some((src, rel)) = resolve(path) {
        return src.kind(&rel).ok_or_else(|| not_found(path));
    }
    let meta = std::fs::metadata(path)?;
    Ok(if meta.is_dir() {
        Kind::Dir
    } else {
        Kind::File {
            len_bytes: meta.len(),
        }
    })
}

/// Whether `path` names a regular file (or a mounted file).
pub fn is_file(path: &Path) -> bool {
    match resolve(path) {
        Some((src, rel)) => matches!(src.kind(&rel), Some(Kind::File { .. })),
        None => path.is_file(),
    }
}

/// Whether `path` names a directory (or a mounted directory).
pub fn is_dir(path: &Path) -> bool {
    match resolve(path) {
        Some((src, rel)) => src.kind(&rel) == Some(Kind::Dir),
        None => path.is_dir(),
    }
}

/// Whether `path` names anything.
pub fn exists(path: &Path) -> bool {
    match resolve(path) {
        Some((src, rel)) => src.kind(&rel).is_some(),
        None => path.exists(),
    }
}

/// The paths of the entries of directory `path` (`path.join(name)`), sorted
/// by name.
pub fn read_dir(path: &Path) -> io::Result<Vec<PathBuf>> {
    if let Some((src, rel)) = resolve(path) {
        let names = src.list(&rel).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", path.display()),
            )
        })?;
        return Ok(names.iter().map(|n| path.join(n)).collect());
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Tree(BTreeMap<&'static str, &'static [u8]>);

    impl Source for Tree {
        fn kind(&self, rel: &str) -> Option<Kind> {
            if rel.is_empty() || self.0.keys().any(|k| k.starts_with(&format!("{rel}/"))) {
                return Some(Kind::Dir);
            }
            self.0.get(rel).map(|b| Kind::File {
                len_bytes: b.len() as u64,
            })
        }
        fn list(&self, rel: &str) -> Option<Vec<String>> {
            (self.kind(rel)? == Kind::Dir).then(|| {
                let pre = if rel.is_empty() {
                    String::new()
                } else {
                    format!("{rel}/")
                };
                let mut v: Vec<String> = self
                    .0
                    .keys()
                    .filter_map(|k| k.strip_prefix(pre.as_str()))
                    .filter_map(|k| k.split('/').next())
                    .map(str::to_owned)
                    .collect();
                v.dedup();
                v
            })
        }
        fn read(&self, rel: &str) -> io::Result<Arc<Vec<u8>>> {
            self.0
                .get(rel)
                .map(|b| Arc::new(b.to_vec()))
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
        }
    }

    #[test]
    fn mounted_paths_resolve_inside_and_unmount_on_drop() {
        let t = Tree(BTreeMap::from([
            ("d/x", &b"xx"[..]),
            ("d/sub/y", &b"y"[..]),
            ("top", &b""[..]),
        ]));
        let m = mount("vfs-test@7:", Arc::new(t));
        let p = Path::new("vfs-test@7:d");
        assert!(is_dir(p));
        assert_eq!(
            read_dir(p).unwrap(),
            vec![p.join("sub"), p.join("x")],
            "entries are path.join(name), sorted"
        );
        assert_eq!(
            crate::Evidence::open(p.join("sub/../x")).unwrap().bytes(),
            b"xx"
        );
        assert!(
            crate::Evidence::open("vfs-test@7:top")
                .unwrap()
                .bytes()
                .is_empty()
        );
        assert!(matches!(
            crate::Evidence::open(p),
            Err(crate::Error::NotAFile { .. })
        ));
        assert!(!exists(Path::new("vfs-test@7:nope")));
        assert_eq!(
            kind(Path::new("vfs-test@7:d/x")).unwrap(),
            Kind::File { len_bytes: 2 }
        );
        drop(m);
        assert!(!exists(p), "after unmounting, the file system answers");
    }
}
