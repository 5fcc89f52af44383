//! A snapshot as an [`evidence::vfs::Source`]: time travel for every reading
//! command. Mounted under a path prefix (the app uses `STORE@ID:`), the
//! snapshot's files and directories answer the paths a command derives.
//! Each file opened is assembled from the mapped packs (every page checked
//! against its hash, the pack maps released behind the copy): a small one
//! into one heap buffer of its length, one of [`SPILL_MIN_BYTES`] or more
//! into an unlinked temporary file ([`tempfile::tempfile`]: `O_TMPFILE` in
//! the temporary directory, never named, gone when the last handle and map
//! are) that `evidence` maps like an evidence file, so a reader's memory is
//! what it would be on the file itself: file-backed pages, released behind
//! a scan. Either is freed when the command drops it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, Weak};

use evidence::vfs::{Kind, Source};

use crate::SnapshotId;
use crate::error::Error;
use crate::manifest::Manifest;
use crate::read::{Reader, load_index};
use crate::store::Store;

/// One snapshot, readable by name (`/`-separated, as added; `""` is the
/// snapshot's root, holding every source added).
pub struct SnapshotSource {
    reader: Reader,
    manifest: Manifest,
    /// File name -> size.
    files: HashMap<String, u64>,
    /// Directory name -> names of its entries (the root is `""`).
    dirs: BTreeMap<String, BTreeSet<String>>,
    /// Files assembled and still held by someone: opening one again (a
    /// command that opens the database twice) shares the buffer, as two
    /// maps of one file share the page cache.
    open: Mutex<HashMap<String, Weak<Vec<u8>>>>,
    /// The same for spilled files.
    spilled: Mutex<HashMap<String, Weak<std::fs::File>>>,
}

/// Files at least this long are spilled to a temporary file and mapped
/// rather than assembled on the heap.
pub const SPILL_MIN_BYTES: u64 = 1 << 20;

impl Store {
    /// Snapshot `id` as a read-only file tree (packs `1..=id` mapped).
    pub fn source(&self, id: SnapshotId) -> Result<SnapshotSource, Error> {
        let manifest = self.manifest(id)?;
        let (index, packs, scans) = load_index(self, Some(id))?;
        let reader = Reader::from_parts(index, packs, scans);
        let mut dirs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        dirs.insert(String::new(), BTreeSet::new());
        let names = manifest
            .meta
            .dirs
            .iter()
            .map(|d| d.name.as_str())
            .chain(manifest.meta.files.iter().map(|f| f.name.as_str()));
        for name in names {
            let mut parent = String::new();
            for part in name.split('/') {
                dirs.entry(parent.clone())
                    .or_default()
                    .insert(part.to_string());
                if !parent.is_empty() {
                    parent.push('/');
                }
                parent.push_str(part);
            }
        }
        for d in &manifest.meta.dirs {
            dirs.entry(d.name.clone()).or_default();
        }
        let files = manifest
            .meta
            .files
            .iter()
            .map(|f| (f.name.clone(), f.size_bytes))
            .collect();
        Ok(SnapshotSource {
            reader,
            manifest,
            files,
            dirs,
            open: Mutex::new(HashMap::new()),
            spilled: Mutex::new(HashMap::new()),
        })
    }
}

impl SnapshotSource {
    /// The snapshot's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

impl Source for SnapshotSource {
    fn kind(&self, rel: &str) -> Option<Kind> {
        if let Some(&len_bytes) = self.files.get(rel) {
            return Some(Kind::File { len_bytes });
        }
        self.dirs.contains_key(rel).then_some(Kind::Dir)
    }

    fn list(&self, rel: &str) -> Option<Vec<String>> {
        self.dirs.get(rel).map(|s| s.iter().cloned().collect())
    }

    fn read(&self, rel: &str) -> std::io::Result<Arc<Vec<u8>>> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(held) = open.get(rel).and_then(Weak::upgrade) {
            return Ok(held);
        }
        let id = self.manifest.meta.id;
        let bytes = self
            .reader
            .file(&self.manifest, rel)
            .and_then(|f| f.to_vec_releasing())
            .map_err(|e| std::io::Error::other(format!("snapshot {id}: {e}")))?;
        let bytes = Arc::new(bytes);
        open.retain(|_, w| w.strong_count() > 0);
        open.insert(rel.to_string(), Arc::downgrade(&bytes));
        Ok(bytes)
    }

    fn read_mappable(&self, rel: &str) -> std::io::Result<Option<Arc<std::fs::File>>> {
        if self.files.get(rel).is_none_or(|&n| n < SPILL_MIN_BYTES) {
            return Ok(None);
        }
        let mut spilled = self.spilled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(held) = spilled.get(rel).and_then(Weak::upgrade) {
            return Ok(Some(held));
        }
        let id = self.manifest.meta.id;
        let err = |e: Error| std::io::Error::other(format!("snapshot {id}: {e}"));
        let file = self.reader.file(&self.manifest, rel).map_err(err)?;
        let mut tmp = std::io::BufWriter::new(tempfile::tempfile()?);
        file.copy_releasing(&mut tmp).map_err(err)?;
        let tmp = Arc::new(
            tmp.into_inner()
                .map_err(std::io::IntoInnerError::into_error)?,
        );
        spilled.retain(|_, w| w.strong_count() > 0);
        spilled.insert(rel.to_string(), Arc::downgrade(&tmp));
        Ok(Some(tmp))
    }
}
