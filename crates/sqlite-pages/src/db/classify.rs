//! Page classification (tree, overflow, freelist, pointer map, orphan)
//! and page-size inference for a file whose header is unreadable.

use std::collections::HashSet;

use rayon::prelude::*;

use super::{Db, Diag, DiagKind};
use crate::cell::{CellKind, PageSource, parse_payload_cell};
use crate::header::DbHeader;
use crate::page::{BtreeKind, BtreePage, PageClass, is_ptrmap_page, lock_byte_page};
use crate::scan::PageRole;
use crate::{Error, PageNo};

impl Db<'_> {
    /// Classifies every page: freelist, trees (tables, then indexes), then
    /// the class of each page by content; sets `broken` per table.
    pub(super) fn classify(&mut self) {
        self.mark_freelist();
        let broken = self.mark_trees();
        let any_broken = broken.iter().any(|&b| b);
        self.classify_by_content();
        for (i, c) in self.classes.iter().enumerate() {
            let Some(r) = self.roles.get_mut(i) else {
                continue;
            };
            if matches!(c, PageClass::PointerMap | PageClass::LockByte) {
                *r = PageRole::NoRows;
            }
            if let PageRole::Orphan { live_guess } = r {
                *live_guess = any_broken;
            }
        }
        // Orphan pages of a broken tree are only "live" if they fit that tree's table:
        // refined per row in `salvage` (attribution decides the table).
        self.broken = broken;
    }

    /// Freelist trunks and leaves, from the header's first trunk.
    fn mark_freelist(&mut self) {
        let mut trunk = self
            .header
            .as_ref()
            .map_or(PageNo(0), |h| h.first_freelist_trunk);
        let mut seen = HashSet::new();
        while trunk.0 != 0 && self.page_no_ok(trunk) && seen.insert(trunk) {
            let Some(b) = self.page_bytes(trunk) else {
                break;
            };
            let next = crate::be_u32_at(b, 0).unwrap_or(0);
            let n = crate::be_u32_at(b, 4).unwrap_or(0);
            let max = crate::sat_u32((b.len() / 4).saturating_sub(2));
            if n > max {
                self.diags.push(Diag {
                    page_no: Some(trunk),
                    kind: DiagKind::Error(Error::BadFreelist {
                        page_no: trunk,
                        reason: "leaf count exceeds page",
                    }),
                });
            }
            let n = n.min(max);
            if let Some(c) = self.classes.get_mut((trunk.0 - 1) as usize) {
                *c = PageClass::FreelistTrunk;
            }
            if let Some(r) = self.roles.get_mut((trunk.0 - 1) as usize) {
                *r = PageRole::FreelistTrunk { n_leaves: n };
            }
            for i in 0..n as usize {
                let leaf = PageNo(crate::be_u32_at(b, 8 + 4 * i).unwrap_or(0));
                if self.page_no_ok(leaf) && leaf != trunk {
                    if let Some(c) = self.classes.get_mut((leaf.0 - 1) as usize) {
                        *c = PageClass::FreelistLeaf;
                    }
                    if let Some(r) = self.roles.get_mut((leaf.0 - 1) as usize) {
                        *r = PageRole::FreelistLeaf;
                    }
                }
            }
            trunk = PageNo(next);
        }
    }

    /// Pages of each table's tree (and of the indexes, which hold no rows);
    /// returns per table whether its walk met damage.
    fn mark_trees(&mut self) -> Vec<bool> {
        let mut claimed = vec![false; self.n_pages as usize];
        for (i, r) in self.roles.iter().enumerate() {
            if !matches!(r, PageRole::Orphan { .. })
                && let Some(c) = claimed.get_mut(i)
            {
                *c = true;
            }
        }
        let mut broken = vec![false; self.tables.len()];
        for (ti, t) in self.tables.iter().enumerate() {
            if t.dropped || t.module.is_some() {
                continue;
            }
            let (pages, errs) = self.walk_tree(t.root, !t.without_rowid, &mut claimed);
            if !errs.is_empty() {
                if let Some(b) = broken.get_mut(ti) {
                    *b = true;
                }
                self.diags.push(Diag {
                    page_no: Some(t.root),
                    kind: DiagKind::TreeBroken {
                        table: t.name.clone(),
                    },
                });
                for e in errs {
                    self.diags.push(Diag {
                        page_no: None,
                        kind: DiagKind::Error(e),
                    });
                }
            }
            for p in pages {
                if let Some(r) = self.roles.get_mut((p.0 - 1) as usize) {
                    *r = PageRole::Tree { table: ti };
                }
            }
        }
        let idx_roots: Vec<PageNo> = self
            .master
            .iter()
            .filter(|m| m.kind == "index")
            .map(|m| m.root)
            .collect();
        for root in idx_roots {
            let (pages, _) = self.walk_tree(root, false, &mut claimed);
            for p in pages {
                if let Some(r) = self.roles.get_mut((p.0 - 1) as usize) {
                    *r = PageRole::NoRows;
                }
            }
        }
        broken
    }

    /// The class of every page not classified yet, by content (in parallel,
    /// releasing the pages behind).
    fn classify_by_content(&mut self) {
        let ps = self.page_size;
        let usable = self.usable;
        let auto_vacuum = self.header.as_ref().is_some_and(DbHeader::auto_vacuum);
        let lb = lock_byte_page(ps);
        let classify_one = |p: u32| {
            let pn = PageNo(p);
            let i = (p - 1) as usize;
            let known = self.classes.get(i).copied().unwrap_or(PageClass::Unknown);
            if known != PageClass::Unknown {
                return known;
            }
            if pn == lb {
                return PageClass::LockByte;
            }
            if auto_vacuum && is_ptrmap_page(pn, usable, ps) {
                return PageClass::PointerMap;
            }
            let Some(b) = self.page(pn) else {
                return PageClass::Truncated;
            };
            if (b.len() as u64) < u64::from(usable) && p == self.n_pages {
                return PageClass::Truncated;
            }
            if b.iter().all(|&x| x == 0) {
                return PageClass::Zeroed;
            }
            match BtreePage::parse(pn, b, usable as usize) {
                Ok(bp) => PageClass::from_kind(bp.kind),
                Err(_) => PageClass::Unknown,
            }
        };
        let mut classes: Vec<PageClass> = Vec::with_capacity(self.n_pages as usize);
        let mut start = 1u32;
        while start <= self.n_pages {
            let end = start.saturating_add(4095).min(self.n_pages);
            classes.par_extend((start..=end).into_par_iter().map(classify_one));
            self.release_all();
            start = end.saturating_add(1);
        }
        self.classes = classes;
    }
}

/// Guesses the page size of a file whose header is unreadable: the candidate
/// at whose multiples the most pages parse as plausible b-tree pages (ties go
/// to the larger size, since multiples of a smaller size include the real
/// page starts).
pub fn infer_page_size(bytes: &[u8]) -> u32 {
    let mut best = (0usize, 4096u32);
    for shift in 9..=16u32 {
        let ps = 1u32 << shift;
        let mut n = 0usize;
        let mut k = 1usize;
        while let Some(start) = k.checked_mul(ps as usize) {
            let Some(b) = bytes.get(start..start.saturating_add(ps as usize).min(bytes.len()))
            else {
                break;
            };
            if b.is_empty() {
                break;
            }
            if plausible_btree(PageNo(crate::sat_u32(k).saturating_add(1)), b) {
                n += 1;
            }
            k += 1;
            if k > 20_000 {
                break;
            }
        }
        if plausible_btree(PageNo(1), bytes.get(..ps as usize).unwrap_or(bytes)) {
            n += 1;
        }
        if n >= best.0 {
            best = (n, ps);
        }
    }
    best.1
}

fn plausible_btree(p: PageNo, b: &[u8]) -> bool {
    let Ok(bp) = BtreePage::parse(p, b, b.len()) else {
        return false;
    };
    if bp.n_cells == 0 || bp.bad_cell_ptrs() > 0 || bp.content_start < bp.gap_start() {
        return false;
    }
    let kind = match bp.kind {
        BtreeKind::LeafTable => CellKind::TableLeaf,
        BtreeKind::LeafIndex => CellKind::IndexLeaf,
        BtreeKind::InteriorIndex => CellKind::IndexInterior,
        BtreeKind::InteriorTable => return bp.cell_ptrs().all(|o| o + 4 <= b.len()),
    };
    bp.cell_ptrs()
        .all(|o| parse_payload_cell(p, bp.bytes, o, kind).is_ok())
}
