//! `verify`: every page re-hashed, every manifest's checksum and chain link
//! checked, every file's SHA-256 recomputed from its pages.

use std::collections::{BTreeMap, HashMap, HashSet};

use datam_core::job::{JobCtx, Phase, Unit};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::{Error, PackProblem};
use crate::manifest::{Manifest, chain_hash};
use crate::store::Store;
use crate::{PageHash, SnapshotId};

/// One page that cannot be read intact, where it is used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BadPage {
    /// The file's name in the snapshots.
    pub file: String,
    /// 0-based page index.
    pub page_idx: u64,
    /// The page as reports name it (`page 3` for SQLite, `block 0` for PG).
    pub page_label: String,
    /// The page's hash.
    pub hash: PageHash,
    /// The snapshot whose pack should hold it.
    pub stored_by: Option<SnapshotId>,
    /// Every snapshot whose file uses this page there.
    pub used_by: Vec<SnapshotId>,
    /// What is wrong.
    pub problem: String,
}

/// A manifest that does not parse or whose checksum fails.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BadManifest {
    /// The snapshot.
    pub id: SnapshotId,
    /// What is wrong.
    pub problem: String,
}

/// A broken link of the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BrokenLink {
    /// The snapshot whose `prev` does not match.
    pub id: SnapshotId,
    /// What is wrong.
    pub problem: String,
}

/// A file whose pages are intact but whose contents do not match.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BadFile {
    /// The snapshot.
    pub id: SnapshotId,
    /// The file.
    pub file: String,
    /// What is wrong.
    pub problem: String,
}

/// Damage to a pack outside the pages (index unusable, bytes not indexed).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackDamage {
    /// The snapshot owning the pack.
    pub id: SnapshotId,
    /// What is wrong.
    pub problem: String,
}

/// The result of [`Store::verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Snapshots whose files were checked.
    pub checked: Vec<SnapshotId>,
    /// Distinct pages re-hashed.
    pub n_pages_checked: u64,
    /// Bad pages.
    pub bad_pages: Vec<BadPage>,
    /// Bad manifests.
    pub bad_manifests: Vec<BadManifest>,
    /// Broken chain links.
    pub broken_links: Vec<BrokenLink>,
    /// Files whose SHA-256 or size does not match.
    pub bad_files: Vec<BadFile>,
    /// Pack damage outside pages.
    pub pack_damage: Vec<PackDamage>,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    pub fn is_intact(&self) -> bool {
        self.bad_pages.is_empty()
            && self.bad_manifests.is_empty()
            && self.broken_links.is_empty()
            && self.bad_files.is_empty()
            && self.pack_damage.is_empty()
    }
}

impl Store {
    /// Checks the whole store (`only == None`) or one snapshot: the chain
    /// always, pages and files of the snapshots checked.
    pub fn verify(&self, only: Option<SnapshotId>, ctx: &JobCtx) -> Result<VerifyReport, Error> {
        let ids = self.ids()?;
        if let Some(id) = only
            && !ids.contains(&id)
        {
            return Err(Error::UnknownSnapshot { id });
        }
        let mut rep = VerifyReport::default();
        let mut good: BTreeMap<SnapshotId, Manifest> = BTreeMap::new();
        let mut hashes: HashMap<SnapshotId, PageHash> = HashMap::new();
        for &id in &ids {
            let bytes = self.manifest_bytes(id)?;
            hashes.insert(id, chain_hash(&bytes));
            match Manifest::parse(&bytes) {
                Ok(m) if m.meta.id == id => {
                    good.insert(id, m);
                }
                Ok(m) => rep.bad_manifests.push(BadManifest {
                    id,
                    problem: format!("file name says {id}, contents say {}", m.meta.id),
                }),
                Err(e) => rep.bad_manifests.push(BadManifest {
                    id,
                    problem: e.to_string(),
                }),
            }
        }
        rep.broken_links = check_chain(&ids, &good, &hashes);
        let reader = self.reader()?;
        rep.pack_damage = pack_damage(&reader);
        let targets: Vec<&Manifest> = good
            .values()
            .filter(|m| only.is_none_or(|o| o == m.meta.id))
            .collect();
        rep.checked = targets.iter().map(|m| m.meta.id).collect();
        let used: HashSet<PageHash> = targets
            .iter()
            .flat_map(|m| m.pages.iter().flatten())
            .copied()
            .collect();
        rep.n_pages_checked = used.len() as u64;
        ctx.progress(Phase::Scan, Unit::Pages, 0, Some(rep.n_pages_checked));
        ctx.check()?;
        let bad: HashMap<PageHash, PackProblem> = used
            .par_iter()
            .filter_map(|h| reader.page(h).err().map(|p| (*h, p)))
            .collect();
        ctx.progress(
            Phase::Scan,
            Unit::Pages,
            rep.n_pages_checked,
            Some(rep.n_pages_checked),
        );
        rep.bad_pages = bad_pages(&bad, &good, &targets, &reader);
        rep.bad_files = bad_files(&targets, &bad, &reader, ctx)?;
        Ok(rep)
    }
}

fn check_chain(
    ids: &[SnapshotId],
    good: &BTreeMap<SnapshotId, Manifest>,
    hashes: &HashMap<SnapshotId, PageHash>,
) -> Vec<BrokenLink> {
    let mut out = Vec::new();
    let mut expect_id = 1u64;
    for &id in ids {
        if id.0 != expect_id {
            out.push(BrokenLink {
                id,
                problem: format!(
                    "snapshots {expect_id}..{} are missing",
                    id.0.saturating_sub(1)
                ),
            });
        }
        expect_id = id.0.saturating_add(1);
        let Some(m) = good.get(&id) else { continue };
        let want = match id.0.checked_sub(1).filter(|&p| p > 0) {
            None => Some(PageHash::default()),
            Some(p) => hashes.get(&SnapshotId(p)).copied(),
        };
        match want {
            Some(w) if w == m.meta.prev => {}
            Some(w) => out.push(BrokenLink {
                id,
                problem: format!(
                    "prev is {}, but the manifest of snapshot {} hashes to {w}",
                    m.meta.prev,
                    id.0.saturating_sub(1)
                ),
            }),
            None => out.push(BrokenLink {
                id,
                problem: format!(
                    "the manifest of snapshot {} is missing",
                    id.0.saturating_sub(1)
                ),
            }),
        }
    }
    out
}

fn pack_damage(reader: &crate::Reader) -> Vec<PackDamage> {
    let mut out: Vec<PackDamage> = reader
        .scans
        .iter()
        .map(|s| PackDamage {
            id: s.id,
            problem: format!(
                "index missing or damaged (pack scanned instead; {} stretch(es) skipped)",
                s.skips.len()
            ),
        })
        .collect();
    for (id, len, covered) in reader.pack_coverage() {
        if len != covered {
            out.push(PackDamage {
                id,
                problem: format!("pack is {len} bytes but its records end at {covered}"),
            });
        }
    }
    out
}

fn bad_pages(
    bad: &HashMap<PageHash, PackProblem>,
    all: &BTreeMap<SnapshotId, Manifest>,
    targets: &[&Manifest],
    reader: &crate::Reader,
) -> Vec<BadPage> {
    let wanted: HashSet<SnapshotId> = targets.iter().map(|m| m.meta.id).collect();
    let mut by_place: BTreeMap<(String, u64), BadPage> = BTreeMap::new();
    for m in all.values() {
        for (f, pages) in m.meta.files.iter().zip(&m.pages) {
            for (i, h) in pages.iter().enumerate() {
                let Some(problem) = bad.get(h) else { continue };
                let e = by_place
                    .entry((f.name.clone(), i as u64))
                    .or_insert_with(|| BadPage {
                        file: f.name.clone(),
                        page_idx: i as u64,
                        page_label: f.layout.page_label(i as u64),
                        hash: *h,
                        stored_by: reader.stored_by(h),
                        used_by: Vec::new(),
                        problem: problem.to_string(),
                    });
                e.used_by.push(m.meta.id);
            }
        }
    }
    by_place
        .into_values()
        .filter(|b| b.used_by.iter().any(|id| wanted.contains(id)))
        .collect()
}

fn bad_files(
    targets: &[&Manifest],
    bad: &HashMap<PageHash, PackProblem>,
    reader: &crate::Reader,
    ctx: &JobCtx,
) -> Result<Vec<BadFile>, Error> {
    let jobs: Vec<_> = targets
        .iter()
        .flat_map(|m| {
            m.meta
                .files
                .iter()
                .zip(&m.pages)
                .map(move |(f, p)| (m.meta.id, f, p))
        })
        .filter(|(_, _, p)| p.iter().all(|h| !bad.contains_key(h)))
        .collect();
    ctx.check()?;
    Ok(jobs
        .par_iter()
        .filter_map(|(id, f, pages)| {
            let mut sha = Sha256::new();
            let mut size = 0u64;
            for h in pages.iter() {
                let p = reader.raw_page(h).unwrap_or_default();
                size = size.saturating_add(p.len() as u64);
                sha.update(p);
            }
            let found = hex::encode(sha.finalize());
            let problem = if size != f.size_bytes {
                format!("pages hold {size} bytes, size is {}", f.size_bytes)
            } else if found != f.sha256 {
                format!("SHA-256 of the pages is {found}, recorded {}", f.sha256)
            } else {
                return None;
            };
            Some(BadFile {
                id: *id,
                file: f.name.clone(),
                problem,
            })
        })
        .collect())
}
