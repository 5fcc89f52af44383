//! Read-only access to evidence files.
//!
//! Every byte DataM parses comes through this crate. It opens files with
//! read-only permissions, never takes a lock, never truncates or creates
//! anything, and maps them privately (`MAP_PRIVATE`, read-only), so nothing
//! DataM does can reach the evidence on disk.
//!
//! API structure:
//! - [`Evidence`]: one opened file, its bytes (`&[u8]`), its path and length.
//! - [`sha256_file`] / [`Evidence::sha256_hex`]: fingerprints for reports and
//!   for tests that check the evidence was not changed.
//! - [`vfs`]: where a path leads: the file system, or a mounted read-only
//!   [`vfs::Source`] (a snapshot of the evidence store, read in place), and
//!   the directory calls (`is_file`, `is_dir`, `read_dir`) readers use.
//!
//! **Architecture Invariant:** this is the only crate in the workspace that
//! contains `unsafe` code: the memory map in [`Evidence::open`] and the
//! `madvise(MADV_DONTNEED)` of [`Evidence::release`].

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub mod vfs;

/// Alignment of the ranges [`Evidence::release`] hands to `madvise`.
const RELEASE_ALIGN: usize = 4096;

/// Errors from opening or hashing evidence.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened, inspected or mapped. The OS error is
    /// part of the message and deliberately not a `source()`, so a chain
    /// printed with `{:#}` names it once.
    #[error("cannot read {path}: {error}")]
    Io {
        /// The evidence path.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// The path names a directory or a special file, not a regular file.
    #[error("{path} is not a regular file")]
    NotAFile {
        /// The evidence path.
        path: PathBuf,
    },
}

enum Bytes {
    /// A map of the file (for a mounted source's spilled file, the map and
    /// the source's handle, kept so the source can share it with other
    /// openers while one holds it).
    Mapped {
        map: memmap2::Mmap,
        _keep: Option<std::sync::Arc<File>>,
    },
    /// A file of a mounted [`vfs::Source`], read into one buffer of its
    /// length (freed with the `Evidence`).
    Owned(std::sync::Arc<Vec<u8>>),
    Empty,
}

/// An evidence file opened read-only and mapped into memory.
///
/// # Concurrent modification
/// The mapping is private and read-only. If another process truncates the
/// file while it is mapped, reading the vanished pages raises `SIGBUS`; DataM
/// works on copies of evidence, and this is documented for users.
pub struct Evidence {
    path: PathBuf,
    bytes: Bytes,
}

impl Evidence {
    /// Opens `path` read-only and maps it.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let p = dir.path().join("x.db");
    /// # std::fs::write(&p, b"hello").unwrap();
    /// let ev = evidence::Evidence::open(&p).unwrap();
    /// assert_eq!(ev.bytes(), b"hello");
    /// ```
    ///
    /// A path under a [`vfs::mount`]ed source is read from that source: the
    /// file it hands over ([`vfs::Source::read_mappable`]) mapped like an
    /// evidence file, else one buffer of the file's length.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let io = |error| Error::Io {
            path: path.clone(),
            error,
        };
        if let Some((src, rel)) = vfs::resolve(&path) {
            return match src.kind(&rel) {
                Some(vfs::Kind::File { .. }) => {
                    if let Some(file) = src.read_mappable(&rel).map_err(io)? {
                        return Self::map(path, &file, Some(std::sync::Arc::clone(&file)));
                    }
                    let bytes = src.read(&rel).map_err(io)?;
                    Ok(Self {
                        path,
                        bytes: Bytes::Owned(bytes),
                    })
                }
                Some(_) => Err(Error::NotAFile { path }),
                None => Err(io(std::io::ErrorKind::NotFound.into())),
            };
        }
        let file = File::open(&path).map_err(io)?;
        Self::map(path, &file, None)
    }

    /// Maps `file` (opened from `path`, or handed over by a source and kept
    /// in `keep`) private and read-only.
    fn map(path: PathBuf, file: &File, keep: Option<std::sync::Arc<File>>) -> Result<Self, Error> {
        let io = |error| Error::Io {
            path: path.clone(),
            error,
        };
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(Error::NotAFile { path });
        }
        if meta.len() == 0 {
            return Ok(Self {
                path,
                bytes: Bytes::Empty,
            });
        }
        #[allow(unsafe_code)]
        // SAFETY: the mapping is private and read-only, so this process
        // cannot write through it and nothing it does reaches the file. An
        // evidence file was opened read-only (`File::open`); a source's file
        // is one the source wrote and no longer writes (its contract,
        // `vfs::Source::read_mappable`). The remaining hazard is another
        // process truncating the file while it is mapped, which turns reads
        // of the lost pages into SIGBUS; that is documented on `Evidence` and
        // callers work on copies of evidence (a source's file is unlinked
        // and reachable by no other process).
        let map = unsafe { memmap2::MmapOptions::new().map_copy_read_only(file) }.map_err(io)?;
        Ok(Self {
            path,
            bytes: Bytes::Mapped { map, _keep: keep },
        })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped { map, .. } => map,
            Bytes::Owned(v) => v.as_slice(),
            Bytes::Empty => &[],
        }
    }

    /// Drops the mapped pages of `offset..offset + len` from this process'
    /// resident set (advisory; errors are ignored). The bytes stay readable:
    /// touching them again reads them back from the file. A scan over a big
    /// file calls this behind itself so that its resident memory does not
    /// grow with the file. A file read from a mounted source into one heap
    /// buffer is left alone (a mapped one is released like evidence). `offset` need not be page-aligned.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let p = dir.path().join("x.db");
    /// # std::fs::write(&p, vec![7u8; 20_000]).unwrap();
    /// let ev = evidence::Evidence::open(&p).unwrap();
    /// ev.release(0, 16_384);
    /// assert!(ev.bytes().iter().all(|&b| b == 7));
    /// ```
    pub fn release(&self, offset: usize, len: usize) {
        let Bytes::Mapped { map: m, .. } = &self.bytes else {
            return;
        };
        let len = len.min(m.len().saturating_sub(offset));
        if len == 0 {
            return;
        }
        // madvise wants a page-aligned start: widen the range down to the
        // 4 KiB boundary (releasing a few bytes more is harmless).
        let start = offset & !(RELEASE_ALIGN - 1);
        let len = len.saturating_add(offset - start);
        let offset = start;
        #[allow(unsafe_code)]
        // SAFETY: the mapping is private and read-only (`map_copy_read_only`,
        // PROT_READ), so no page of it was ever written and none holds
        // private data. MADV_DONTNEED on such a mapping only unmaps the pages;
        // the next access faults them back in from the file with the same
        // bytes, so every outstanding `&[u8]` into the mapping keeps seeing
        // the contents it saw before (the concurrent-truncation hazard is the
        // one documented on `Evidence`). `offset..offset + len` lies inside the
        // mapping (clamped above).
        let _ =
            unsafe { m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len) };
    }

    /// The path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length in bytes.
    pub fn len_bytes(&self) -> u64 {
        self.bytes().len() as u64
    }

    /// SHA-256 of the file's bytes, lower-case hex. Hashed in 8 MiB steps,
    /// each [released](Evidence::release) once hashed, so hashing a big file
    /// does not make it all resident.
    pub fn sha256_hex(&self) -> String {
        const STEP: usize = 8 << 20;
        let mut h = Sha256::new();
        for (i, chunk) in self.bytes().chunks(STEP).enumerate() {
            h.update(chunk);
            self.release(i.saturating_mul(STEP), chunk.len());
        }
        hex::encode(h.finalize())
    }
}

/// SHA-256 of a file read with plain buffered reads (no mapping), lower-case
/// hex. Used for reports and to prove evidence was left unchanged.
///
/// A path under a [`vfs::mount`]ed source is hashed from that source.
pub fn sha256_file(path: impl AsRef<Path>) -> Result<String, Error> {
    let path = path.as_ref();
    if vfs::resolve(path).is_some() {
        return Ok(Evidence::open(path)?.sha256_hex());
    }
    let io = |error| Error::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut f = File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        let Some(chunk) = buf.get(..n) else { break };
        if n == 0 {
            break;
        }
        h.update(chunk);
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_maps_to_empty_slice() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty");
        std::fs::write(&p, b"").unwrap();
        let ev = Evidence::open(&p).unwrap();
        assert!(ev.bytes().is_empty());
        assert_eq!(
            ev.sha256_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn open_does_not_change_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"evidence bytes").unwrap();
        let before = sha256_file(&p).unwrap();
        let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
        let ev = Evidence::open(&p).unwrap();
        assert_eq!(ev.sha256_hex(), before);
        drop(ev);
        assert_eq!(sha256_file(&p).unwrap(), before);
        assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), mtime);
    }

    #[test]
    fn directory_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Evidence::open(dir.path()),
            Err(Error::NotAFile { .. })
        ));
    }
}
