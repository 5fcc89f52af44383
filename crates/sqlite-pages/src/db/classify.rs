//! Page classification (tree, overflow, freelist, pointer map, orphan)
//! and page-size inference for a file whose header is unreadable.

use std::collections::HashSet;

use rayon::prelude::*;

use super::reach::{Gap, TreeWalk};
use super::{Db, Diag, DiagKind};
use crate::cell::{CellKind, PageSource, parse_payload_cell};
use crate::header::DbHeader;
use crate::page::{BtreeKind, BtreePage, PageClass, is_ptrmap_page, lock_byte_page};
use crate::scan::PageRole;
use crate::schema::Table;
use crate::{Error, PageNo};

impl Db<'_> {
    /// Classifies every page: freelist, trees (tables, then indexes), then
    /// the class of each page by content, then the unreached leaves shown
    /// to be live; sets `broken` per table.
    pub(super) fn classify(&mut self) {
        self.mark_freelist();
        let walks = self.mark_trees();
        self.classify_by_content();
        for (i, c) in self.classes.iter().enumerate() {
            if matches!(c, PageClass::PointerMap | PageClass::LockByte)
                && let Some(r) = self.roles.get_mut(i)
            {
                *r = PageRole::NoRows;
            }
        }
        self.adopt_unreached(&walks);
        self.broken = walks.iter().map(|w| !w.gaps.is_empty()).collect();
    }

    /// Freelist trunks and leaves, from the header's first trunk. A trunk
    /// pointer to a page that holds b-tree cells ends the chain (a forged
    /// trunk must not make live pages free); tree walks later take back any
    /// listed page they reach.
    fn mark_freelist(&mut self) {
        let mut trunk = self
            .header
            .as_ref()
            .map_or(PageNo(0), |h| h.first_freelist_trunk);
        let mut seen = HashSet::new();
        let n_diags = self.diags.len();
        let mut listed = 0u64;
        while trunk.0 != 0 && self.page_no_ok(trunk) && seen.insert(trunk) {
            let Some(b) = self.page_bytes(trunk) else {
                break;
            };
            if plausible_btree(trunk, b) {
                self.push_freelist_diag(trunk, "trunk pointer to a page holding b-tree cells");
                break;
            }
            let next = crate::be_u32_at(b, 0).unwrap_or(0);
            let n = crate::be_u32_at(b, 4).unwrap_or(0);
            let max = crate::sat_u32((b.len() / 4).saturating_sub(2));
            if n > max {
                self.push_freelist_diag(trunk, "leaf count exceeds page");
            }
            let n = n.min(max);
            listed = listed.saturating_add(1).saturating_add(u64::from(n));
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
        if trunk.0 != 0 && !seen.contains(&trunk) && !self.page_no_ok(trunk) {
            self.push_freelist_diag(trunk, "trunk pointer out of the file");
        } else if trunk.0 != 0 && seen.contains(&trunk) {
            self.push_freelist_diag(trunk, "trunk chain loops");
        }
        self.freelist_credible = self.diags.len() == n_diags
            && self
                .header
                .as_ref()
                .is_some_and(|h| u64::from(h.freelist_count) == listed);
    }

    fn push_freelist_diag(&mut self, page_no: PageNo, reason: &'static str) {
        self.diags.push(Diag {
            page_no: Some(page_no),
            kind: DiagKind::Error(Error::BadFreelist { page_no, reason }),
        });
    }

    /// Pages of each table's tree (and of the indexes, which hold no rows);
    /// returns each table's walk (gaps and leaf ranges).
    fn mark_trees(&mut self) -> Vec<TreeWalk> {
        let mut claimed: Vec<bool> = self.roles.iter().map(|r| *r == PageRole::NoRows).collect();
        let mut walks = Vec::with_capacity(self.tables.len());
        for ti in 0..self.tables.len() {
            let Some(t) = self.tables.get(ti) else { break };
            if t.dropped || t.module.is_some() {
                walks.push(TreeWalk::default());
                continue;
            }
            let w = if t.without_rowid {
                let (pages, errs) = self.walk_tree(t.root, false, &mut claimed);
                let w = TreeWalk {
                    pages,
                    ..TreeWalk::default()
                };
                if !errs.is_empty() {
                    self.push_tree_broken(ti, &[]);
                }
                for e in errs {
                    self.diags.push(Diag {
                        page_no: None,
                        kind: DiagKind::Error(e),
                    });
                }
                w
            } else {
                let w = self.walk_rowid_tree(ti, &mut claimed);
                if !w.gaps.is_empty() {
                    self.push_tree_broken(ti, &w.gaps);
                }
                if let Some(root) = w.root_found {
                    let table = self.table_name(ti);
                    self.diags.push(Diag {
                        page_no: Some(root),
                        kind: DiagKind::RootFound { table },
                    });
                }
                w
            };
            let reachable = w.root_found.is_none();
            for &p in &w.pages {
                self.take_tree_page(p, ti, reachable);
            }
            walks.push(w);
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
        walks
    }

    /// [`Db::walk_table_tree`] of table `ti`; a tree that reaches none of
    /// the table's leaves (a forged root pointing at another tree) is given
    /// back, and the whole rowid range becomes one gap.
    fn walk_rowid_tree(&self, ti: usize, claimed: &mut [bool]) -> TreeWalk {
        let Some(t) = self.tables.get(ti) else {
            return TreeWalk::default();
        };
        let mut w = self.walk_table_tree(t, claimed);
        if !w.leaf_ranges.is_empty() || w.gaps.is_empty() {
            return w;
        }
        for p in w.pages.drain(..) {
            if let Some(c) = claimed.get_mut((p.0 - 1) as usize) {
                *c = false;
            }
        }
        let root_gap = Gap {
            lo: None,
            hi: None,
            parent: None,
            child: t.root,
            reason: "the root page's tree holds none of the table's rows",
        };
        // The tree may still be whole under a forged root pointer.
        if let Some(top) = self.find_root(t, claimed) {
            let probe = Table {
                root: top,
                ..t.clone()
            };
            let mut found = self.walk_table_tree(&probe, claimed);
            found.gaps.push(root_gap);
            found.root_found = Some(top);
            return found;
        }
        w.gaps = vec![root_gap];
        w
    }

    /// Page `p` belongs to table `ti`'s tree (one found by content when
    /// not `reachable`): a freelist entry for it was forged or stale, and
    /// is reported.
    fn take_tree_page(&mut self, p: PageNo, ti: usize, reachable: bool) {
        let i = (p.0 - 1) as usize;
        if let Some(c) = self.classes.get_mut(i)
            && matches!(c, PageClass::FreelistLeaf | PageClass::FreelistTrunk)
        {
            *c = PageClass::Unknown;
            let table = self.table_name(ti);
            self.diags.push(Diag {
                page_no: Some(p),
                kind: DiagKind::FreelistHoldsTreePage { table },
            });
        }
        if let Some(r) = self.roles.get_mut(i) {
            *r = if reachable {
                PageRole::Tree { table: ti }
            } else {
                PageRole::Unreached { table: ti }
            };
        }
    }

    fn push_tree_broken(&mut self, ti: usize, gaps: &[Gap]) {
        let Some(t) = self.tables.get(ti) else { return };
        let (table, root) = (t.name.clone(), t.root);
        self.diags.push(Diag {
            page_no: Some(root),
            kind: DiagKind::TreeBroken {
                table: table.clone(),
            },
        });
        for g in gaps {
            self.diags.push(Diag {
                page_no: g.parent,
                kind: DiagKind::PointerRefused {
                    table: table.clone(),
                    gap: *g,
                },
            });
        }
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
        let n = plausible_pages(bytes, ps);
        if n >= best.0 {
            best = (n, ps);
        }
    }
    best.1
}

/// How many of the first 20,000 pages at page size `ps` parse as plausible
/// b-tree pages.
pub(super) fn plausible_pages(bytes: &[u8], ps: u32) -> usize {
    let mut n = 0usize;
    let mut k = 1usize;
    while let Some(start) = k.checked_mul(ps as usize) {
        let Some(b) = bytes.get(start..start.saturating_add(ps as usize).min(bytes.len())) else {
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
    n
}

pub(super) fn plausible_btree(p: PageNo, b: &[u8]) -> bool {
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
