//! The store directory: open/create, the writer lock, listing, `add`.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use datam_core::job::{JobCtx, Phase, Unit};
use sha2::{Digest, Sha256};

use crate::error::{Error, io};
use crate::layout;
use crate::manifest::{FileEntry, Manifest, Meta};
use crate::pack::{self, IdxEntry};
use crate::walk::{self, SourceFile};
use crate::{PageHash, SnapshotId};

const FORMAT_LINE: &str = "datam snapshot store 1\n";

/// A snapshot store directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// One line of [`Store::list`]: a snapshot's metadata, or why its manifest
/// cannot be read.
#[derive(Debug)]
pub struct SnapshotSummary {
    /// The ID (from the manifest's file name).
    pub id: SnapshotId,
    /// The manifest, or its damage.
    pub manifest: Result<Manifest, Error>,
}

/// What [`Store::add`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AddReport {
    /// The new snapshot's ID.
    pub id: SnapshotId,
    /// Files in the snapshot.
    pub n_files: u64,
    /// Bytes of the sources.
    pub source_bytes: u64,
    /// Pages in the snapshot.
    pub n_pages: u64,
    /// Pages stored by this snapshot (not already in the store).
    pub n_new_pages: u64,
    /// Bytes this snapshot added to the store (pack, index and manifest).
    pub added_bytes: u64,
}

pub(crate) fn id_name(id: SnapshotId) -> String {
    format!("{:010}", id.0)
}

fn fsync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Writes `bytes` to `dir/name` via a temporary file, fsync and rename, then
/// fsyncs `dir`.
fn write_durable(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let dst = dir.join(name);
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, &dst).map_err(io(&dst))?;
    fsync_dir(dir)
}

impl Store {
    /// Opens an existing store.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, Error> {
        let root = root.as_ref().to_path_buf();
        let format = root.join("FORMAT");
        match std::fs::read_to_string(&format) {
            Ok(s) if s == FORMAT_LINE => Ok(Self { root }),
            _ => Err(Error::NotAStore { path: root }),
        }
    }

    /// Opens a store, creating it when `root` is missing or an empty directory.
    pub fn open_or_create(root: impl AsRef<Path>) -> Result<Self, Error> {
        let root = root.as_ref();
        let empty = match std::fs::read_dir(root) {
            Ok(mut d) => d.next().is_none(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => return Err(io(root)(e)),
        };
        if empty {
            for d in ["manifests", "packs"] {
                let p = root.join(d);
                std::fs::create_dir_all(&p).map_err(io(&p))?;
            }
            write_durable(root, "FORMAT", FORMAT_LINE.as_bytes())?;
        }
        Self::open(root)
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn manifest_path(&self, id: SnapshotId) -> PathBuf {
        self.root
            .join("manifests")
            .join(format!("{}.snap", id_name(id)))
    }

    pub(crate) fn pack_path(&self, id: SnapshotId, ext: &str) -> PathBuf {
        self.root
            .join("packs")
            .join(format!("{}.{ext}", id_name(id)))
    }

    /// IDs of the manifests present, ascending (temporary files ignored).
    pub fn ids(&self) -> Result<Vec<SnapshotId>, Error> {
        let dir = self.root.join("manifests");
        let mut ids = Vec::new();
        for e in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let e = e.map_err(io(&dir))?;
            let name = e.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".snap")) else {
                continue;
            };
            if stem.len() == 10
                && let Ok(n) = stem.parse::<u64>()
            {
                ids.push(SnapshotId(n));
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    /// The raw bytes of a manifest.
    pub fn manifest_bytes(&self, id: SnapshotId) -> Result<Vec<u8>, Error> {
        let p = self.manifest_path(id);
        std::fs::read(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::UnknownSnapshot { id }
            } else {
                io(&p)(e)
            }
        })
    }

    /// Reads and checks one manifest.
    pub fn manifest(&self, id: SnapshotId) -> Result<Manifest, Error> {
        let b = self.manifest_bytes(id)?;
        Manifest::parse(&b).map_err(|error| Error::Manifest {
            path: self.manifest_path(id),
            error: Box::new(error),
        })
    }

    /// Every snapshot, ascending by ID, each with its manifest or its damage.
    pub fn list(&self) -> Result<Vec<SnapshotSummary>, Error> {
        Ok(self
            .ids()?
            .into_iter()
            .map(|id| SnapshotSummary {
                id,
                manifest: self.manifest(id),
            })
            .collect())
    }

    /// Takes the writer lock (`flock`, released when the file is dropped or
    /// the process dies); refuses when another writer holds it.
    fn lock(&self) -> Result<File, Error> {
        let p = self.root.join("lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(io(&p))?;
        match f.try_lock() {
            Ok(()) => Ok(f),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked { path: p }),
            Err(std::fs::TryLockError::Error(e)) => Err(io(&p)(e)),
        }
    }

    /// Adds a snapshot of `sources` (files, or directories walked
    /// recursively) with `note`. Reports progress in bytes (`Phase::Scan`),
    /// honours cancellation between pages, and returns only once the new
    /// manifest is durable.
    pub fn add(&self, sources: &[PathBuf], note: &str, ctx: &JobCtx) -> Result<AddReport, Error> {
        let _lock = self.lock()?;
        let ids = self.ids()?;
        let last = ids.last().copied();
        let id = SnapshotId(last.map_or(1, |l| l.0.saturating_add(1)));
        let prev = match last {
            Some(l) => crate::manifest::chain_hash(&self.manifest_bytes(l)?),
            None => PageHash::default(),
        };
        self.remove_leftovers(id)?;
        let known = crate::read::load_index(self, last)?.0;
        let (files, dirs) = walk::expand(sources, ctx)?;
        let total: u64 = files
            .iter()
            .filter_map(|f| std::fs::metadata(&f.path).ok())
            .map(|m| m.len())
            .sum();
        let mut w = PackWriter::new(self.pack_path(id, "pack.tmp"), known)?;
        let mut entries = Vec::with_capacity(files.len());
        let mut pages = Vec::with_capacity(files.len());
        for f in &files {
            let (e, p) = w.add_file(f, ctx, total)?;
            entries.push(e);
            pages.push(p);
        }
        let (pack_bytes, idx) = w.finish(self, id)?;
        let meta = Meta {
            id,
            time_unix_ms: now_ms(),
            note: note.to_string(),
            sources: sources.iter().map(|s| absolute(s)).collect(),
            prev,
            dirs,
            files: entries,
        };
        let bytes = Manifest::encode(&meta, &pages).map_err(|e| Error::Io {
            path: self.manifest_path(id),
            source: std::io::Error::other(e),
        })?;
        ctx.check()?;
        let name = format!("{}.snap", id_name(id));
        write_durable(&self.root.join("manifests"), &name, &bytes)?;
        Ok(AddReport {
            id,
            n_files: files.len() as u64,
            source_bytes: total,
            n_pages: pages.iter().map(|p| p.len() as u64).sum(),
            n_new_pages: idx as u64,
            added_bytes: pack_bytes.saturating_add(bytes.len() as u64),
        })
    }

    /// Removes what a killed writer of `id` may have left (nothing of it is
    /// referenced: its manifest was never written).
    fn remove_leftovers(&self, id: SnapshotId) -> Result<(), Error> {
        for ext in ["pack", "idx", "pack.tmp", "idx.tmp"] {
            let p = self.pack_path(id, ext);
            let p = if ext.ends_with(".tmp") {
                p.with_file_name(format!(".{}.{ext}", id_name(id)))
            } else {
                p
            };
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&p)(e)),
            }
        }
        Ok(())
    }
}

fn absolute(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Writes the new pages of one `add` into its pack.
struct PackWriter {
    tmp: PathBuf,
    out: std::io::BufWriter<File>,
    known: HashMap<PageHash, crate::read::Loc>,
    new: HashSet<PageHash>,
    idx: Vec<IdxEntry>,
    at: u64,
    done_bytes: u64,
    rec: Vec<u8>,
}

impl PackWriter {
    fn new(path: PathBuf, known: HashMap<PageHash, crate::read::Loc>) -> Result<Self, Error> {
        let tmp = path.with_file_name(format!(
            ".{}",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("pack.tmp")
        ));
        let f = File::create(&tmp).map_err(io(&tmp))?;
        Ok(Self {
            tmp,
            out: std::io::BufWriter::with_capacity(1 << 20, f),
            known,
            new: HashSet::new(),
            idx: Vec::new(),
            at: 0,
            done_bytes: 0,
            rec: Vec::new(),
        })
    }

    /// Hashes one source file (SHA-256 on one thread, pages on another) and
    /// appends its new pages.
    fn add_file(
        &mut self,
        f: &SourceFile,
        ctx: &JobCtx,
        total: u64,
    ) -> Result<(FileEntry, Vec<PageHash>), Error> {
        let ev = evidence::Evidence::open(&f.path)?;
        let bytes = ev.bytes();
        let layout = layout::detect(bytes, f.pg.as_ref().map(|(s, r)| (*s, r.as_str())));
        let size = ev.len_bytes();
        let (sha, pages) = rayon::join(
            || hex::encode(Sha256::digest(bytes)),
            || self.pages_of(bytes, &layout, ctx, total),
        );
        let pages = pages?;
        let entry = FileEntry {
            name: f.name.clone(),
            size_bytes: size,
            sha256: sha,
            mode: f.mode,
            layout,
            n_pages: pages.len() as u64,
        };
        Ok((entry, pages))
    }

    fn pages_of(
        &mut self,
        bytes: &[u8],
        layout: &layout::Layout,
        ctx: &JobCtx,
        total: u64,
    ) -> Result<Vec<PageHash>, Error> {
        let size = bytes.len() as u64;
        let n = layout.n_pages(size);
        let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        for i in 0..n {
            let Some(page) = layout
                .page_range(i, size)
                .and_then(|(s, e)| bytes.get(usize::try_from(s).ok()?..usize::try_from(e).ok()?))
            else {
                break;
            };
            let h = PageHash::of(page);
            if !self.known.contains_key(&h) && self.new.insert(h) {
                self.append(&h, page)?;
            }
            out.push(h);
            self.done_bytes = self.done_bytes.saturating_add(page.len() as u64);
            if i % 256 == 0 {
                ctx.check()?;
                ctx.progress(Phase::Scan, Unit::Bytes, self.done_bytes, Some(total));
            }
        }
        Ok(out)
    }

    fn append(&mut self, h: &PageHash, page: &[u8]) -> Result<(), Error> {
        self.rec.clear();
        pack::encode_record(&mut self.rec, h, page);
        self.out.write_all(&self.rec).map_err(io(&self.tmp))?;
        self.idx.push(IdxEntry {
            hash: *h,
            offset: self.at,
            len: u32::try_from(page.len()).unwrap_or(u32::MAX),
        });
        self.at = self.at.saturating_add(self.rec.len() as u64);
        Ok(())
    }

    /// Makes pack and index durable under their final names; returns their
    /// bytes and the number of new pages.
    fn finish(self, store: &Store, id: SnapshotId) -> Result<(u64, usize), Error> {
        let f = self
            .out
            .into_inner()
            .map_err(|e| io(&self.tmp)(e.into_error()))?;
        f.sync_all().map_err(io(&self.tmp))?;
        drop(f);
        let dst = store.pack_path(id, "pack");
        std::fs::rename(&self.tmp, &dst).map_err(io(&dst))?;
        let idx = pack::encode_idx(&self.idx);
        let dir = store.root.join("packs");
        write_durable(&dir, &format!("{}.idx", id_name(id)), &idx)?;
        Ok((self.at.saturating_add(idx.len() as u64), self.idx.len()))
    }
}
