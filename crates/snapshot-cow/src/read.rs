//! Reading stored pages: the page index, snapshot files (time travel), export.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path};

use datam_core::job::{Diagnostic, JobCtx, Phase, Unit};
use evidence::Evidence;
use sha2::{Digest, Sha256};

use crate::error::{Error, PackProblem, io};
use crate::manifest::{FileEntry, Manifest};
use crate::pack::{self, IdxEntry, ScanSkip};
use crate::store::Store;
use crate::{PageHash, SnapshotId};

/// Where a stored page is: which mapped pack, and its record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loc {
    pub pack: usize,
    pub entry: IdxEntry,
}

/// A pack whose index was unusable and that was scanned instead.
#[derive(Debug, Clone)]
pub(crate) struct PackScan {
    pub id: SnapshotId,
    pub skips: Vec<ScanSkip>,
}

pub(crate) type Loaded = (
    HashMap<PageHash, Loc>,
    Vec<(SnapshotId, Evidence)>,
    Vec<PackScan>,
);

/// Maps the packs of snapshots `1..=upto` and indexes their pages (from each
/// `.idx`, or by scanning a pack whose index is missing or damaged).
pub(crate) fn load_index(store: &Store, upto: Option<SnapshotId>) -> Result<Loaded, Error> {
    let mut index = HashMap::new();
    let mut packs = Vec::new();
    let mut scans = Vec::new();
    for n in 1..=upto.map_or(0, |u| u.0) {
        let id = SnapshotId(n);
        let p = store.pack_path(id, "pack");
        if !p.exists() {
            continue;
        }
        let ev = Evidence::open(&p)?;
        let idx = std::fs::read(store.pack_path(id, "idx"))
            .ok()
            .and_then(|b| pack::parse_idx(&b));
        let entries = match idx {
            Some(e) => e,
            None => {
                let (e, skips) = pack::scan(ev.bytes());
                scans.push(PackScan { id, skips });
                e
            }
        };
        let pack_idx = packs.len();
        for entry in entries {
            index.entry(entry.hash).or_insert(Loc {
                pack: pack_idx,
                entry,
            });
        }
        packs.push((id, ev));
    }
    Ok((index, packs, scans))
}

/// Read access to every stored page (packs mapped read-only).
pub struct Reader {
    index: HashMap<PageHash, Loc>,
    packs: Vec<(SnapshotId, Evidence)>,
    pub(crate) scans: Vec<PackScan>,
}

impl Store {
    /// Maps the packs and loads their indexes, for reading snapshots.
    pub fn reader(&self) -> Result<Reader, Error> {
        let last = self.ids()?.last().copied();
        let (index, packs, scans) = load_index(self, last)?;
        Ok(Reader {
            index,
            packs,
            scans,
        })
    }
}

impl Reader {
    pub(crate) fn from_parts(
        index: HashMap<PageHash, Loc>,
        packs: Vec<(SnapshotId, Evidence)>,
        scans: Vec<PackScan>,
    ) -> Self {
        Self {
            index,
            packs,
            scans,
        }
    }

    /// The bytes of the page with hash `h`, checked against it.
    pub fn page(&self, h: &PageHash) -> Result<&[u8], PackProblem> {
        let loc = self.index.get(h).ok_or(PackProblem::Missing)?;
        let (_, ev) = self.packs.get(loc.pack).ok_or(PackProblem::Missing)?;
        pack::checked_page(ev.bytes(), &loc.entry)
    }

    /// Drops every pack map from this process' resident set (advisory; see
    /// `Evidence::release`): the bytes stay readable from the packs.
    pub fn release_all(&self) {
        for (_, ev) in &self.packs {
            ev.release(0, ev.bytes().len());
        }
    }

    /// The snapshot (pack) that stores page `h`, if any.
    pub fn stored_by(&self, h: &PageHash) -> Option<SnapshotId> {
        let loc = self.index.get(h)?;
        self.packs.get(loc.pack).map(|(id, _)| *id)
    }

    /// The bytes of page `h` without checking them (verify checked them).
    pub(crate) fn raw_page(&self, h: &PageHash) -> Option<&[u8]> {
        let loc = self.index.get(h)?;
        let (_, ev) = self.packs.get(loc.pack)?;
        pack::data_at(ev.bytes(), loc.entry.offset, loc.entry.len).ok()
    }

    /// Per pack: its snapshot, its length, and the bytes its records cover.
    pub(crate) fn pack_coverage(&self) -> Vec<(SnapshotId, u64, u64)> {
        let mut covered = vec![0u64; self.packs.len()];
        for loc in self.index.values() {
            let end = loc
                .entry
                .offset
                .saturating_add(pack::RECORD_HEADER_BYTES as u64 + u64::from(loc.entry.len));
            if let Some(c) = covered.get_mut(loc.pack) {
                *c = (*c).max(end);
            }
        }
        self.packs
            .iter()
            .zip(covered)
            .map(|((id, ev), c)| (*id, ev.len_bytes(), c))
            .collect()
    }

    /// Opens file `name` of snapshot `m` for reading in place.
    pub fn file<'r>(&'r self, m: &'r Manifest, name: &str) -> Result<SnapFile<'r>, Error> {
        let idx = m
            .meta
            .files
            .iter()
            .position(|f| f.name == name)
            .ok_or_else(|| Error::UnknownFile {
                id: m.meta.id,
                name: name.to_string(),
            })?;
        let (Some(entry), Some(pages)) = (m.meta.files.get(idx), m.pages.get(idx)) else {
            return Err(Error::UnknownFile {
                id: m.meta.id,
                name: name.to_string(),
            });
        };
        Ok(SnapFile {
            reader: self,
            entry,
            pages,
            pos: 0,
        })
    }

    /// Writes every directory and file of `m` under `dir` (which must not
    /// hold them yet), checking each file's SHA-256. Returns bytes written.
    pub fn export(&self, m: &Manifest, dir: &Path, ctx: &JobCtx) -> Result<u64, Error> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        for d in &m.meta.dirs {
            let p = dir.join(safe_rel(&d.name)?);
            std::fs::create_dir_all(&p).map_err(io(&p))?;
        }
        let total: u64 = m.meta.files.iter().map(|f| f.size_bytes).sum();
        let mut done = 0u64;
        for f in &m.meta.files {
            ctx.check()?;
            let p = dir.join(safe_rel(&f.name)?);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            let out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p)
                .map_err(io(&p))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, out);
            let sha = self.file(m, &f.name)?.copy_to(&mut w, &p)?;
            let out = w.into_inner().map_err(|e| io(&p)(e.into_error()))?;
            out.sync_all().map_err(io(&p))?;
            if sha != f.sha256 {
                return Err(Error::ExportMismatch {
                    name: f.name.clone(),
                    expected: f.sha256.clone(),
                    found: sha,
                });
            }
            done = done.saturating_add(f.size_bytes);
            ctx.progress(Phase::Encode, Unit::Bytes, done, Some(total));
        }
        for d in m.meta.dirs.iter().rev() {
            let p = dir.join(safe_rel(&d.name)?);
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(d.mode));
        }
        for f in &m.meta.files {
            let p = dir.join(safe_rel(&f.name)?);
            if std::fs::set_permissions(&p, std::fs::Permissions::from_mode(f.mode)).is_err() {
                ctx.diagnostic(
                    Diagnostic::warning("snapshot.mode", "could not set the file mode")
                        .in_file(f.name.clone()),
                );
            }
        }
        Ok(done)
    }
}

/// `name` as a relative path that stays inside the export directory.
fn safe_rel(name: &str) -> Result<&Path, Error> {
    let p = Path::new(name);
    if name.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(Error::UnsafeName {
            name: name.to_string(),
        });
    }
    Ok(p)
}

/// One file of a snapshot, read in place from the mapped packs: pages are
/// borrowed (no copy) and checked against their hash when read.
pub struct SnapFile<'r> {
    reader: &'r Reader,
    entry: &'r FileEntry,
    pages: &'r [PageHash],
    pos: u64,
}

impl<'r> SnapFile<'r> {
    /// The file's entry (name, size, SHA-256, layout).
    pub fn entry(&self) -> &'r FileEntry {
        self.entry
    }

    /// The file's length.
    pub fn len_bytes(&self) -> u64 {
        self.entry.size_bytes
    }

    /// The page hashes, in file order.
    pub fn page_hashes(&self) -> &'r [PageHash] {
        self.pages
    }

    /// Page `page_idx` (0-based), borrowed from the pack map.
    pub fn page(&self, page_idx: u64) -> Result<&'r [u8], Error> {
        let hash = usize::try_from(page_idx)
            .ok()
            .and_then(|i| self.pages.get(i))
            .copied()
            .unwrap_or_default();
        let bad = |problem| Error::BadPage {
            name: self.entry.name.clone(),
            page_idx,
            hash: Box::new(hash),
            problem: Box::new(problem),
        };
        let want = self
            .entry
            .layout
            .page_range(page_idx, self.entry.size_bytes)
            .map(|(s, e)| e - s);
        let data = self.reader.page(&hash).map_err(bad)?;
        if want != Some(data.len() as u64) {
            return Err(bad(PackProblem::Length {
                found: u32::try_from(data.len()).unwrap_or(u32::MAX),
                expected: want.and_then(|w| u32::try_from(w).ok()).unwrap_or(0),
            }));
        }
        Ok(data)
    }

    /// The whole file in one buffer of exactly its length.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let mut v = Vec::with_capacity(usize::try_from(self.entry.size_bytes).unwrap_or(0));
        for i in 0..self.pages.len() as u64 {
            v.extend_from_slice(self.page(i)?);
        }
        Ok(v)
    }

    /// [`SnapFile::to_vec`], releasing the pack maps behind the copy (every
    /// 4 MiB, and at the end: the kernel maps neighbouring pages on each
    /// fault, so releasing page by page would leave those behind), so that
    /// the buffer is the only copy resident.
    pub fn to_vec_releasing(&self) -> Result<Vec<u8>, Error> {
        let mut v = Vec::with_capacity(usize::try_from(self.entry.size_bytes).unwrap_or(0));
        self.each_page_releasing(&mut |p| {
            v.extend_from_slice(p);
            Ok(())
        })?;
        Ok(v)
    }

    /// Writes the file to `w`, releasing the pack maps behind the copy as
    /// [`SnapFile::to_vec_releasing`] does.
    pub fn copy_releasing(&self, w: &mut dyn Write) -> Result<(), Error> {
        let path = Path::new(&self.entry.name);
        self.each_page_releasing(&mut |p| w.write_all(p).map_err(io(path)))
    }

    /// Calls `f` with each page in order, releasing the pack maps every
    /// 4 MiB and at the end.
    fn each_page_releasing(
        &self,
        f: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        const STEP_BYTES: usize = 4 << 20;
        let mut since = 0usize;
        for i in 0..self.pages.len() as u64 {
            let p = self.page(i)?;
            f(p)?;
            since = since.saturating_add(p.len());
            if since >= STEP_BYTES {
                self.reader.release_all();
                since = 0;
            }
        }
        self.reader.release_all();
        Ok(())
    }

    /// Writes the file to `w`; returns the SHA-256 (hex) of what was written.
    pub fn copy_to(&self, w: &mut dyn Write, path: &Path) -> Result<String, Error> {
        let mut sha = Sha256::new();
        for i in 0..self.pages.len() as u64 {
            let p = self.page(i)?;
            sha.update(p);
            w.write_all(p).map_err(io(path))?;
        }
        Ok(hex::encode(sha.finalize()))
    }
}

impl Read for SnapFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.entry.size_bytes || buf.is_empty() {
            return Ok(0);
        }
        let layout = self.entry.layout;
        let idx = layout.page_of(self.pos);
        let (start, _) = layout
            .page_range(idx, self.entry.size_bytes)
            .ok_or_else(|| std::io::Error::other("page past the end"))?;
        let page = self.page(idx).map_err(std::io::Error::other)?;
        let from = usize::try_from(self.pos - start).unwrap_or(usize::MAX);
        let rest = page.get(from..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl Seek for SnapFile<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let base = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.entry.size_bytes.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = base.ok_or_else(|| std::io::Error::other("seek before the start"))?;
        Ok(self.pos)
    }
}
