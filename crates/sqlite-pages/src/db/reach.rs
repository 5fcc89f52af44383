//! Table trees walked with their key ranges, and the leaves they should
//! have reached.
//!
//! A table b-tree's interior cell `(left child, key K)` says every rowid
//! under that child is `<= K` and above the previous cell's key; the
//! right-most pointer covers what is above the last key:
//!
//! ```text
//!            interior [ (c0, 40) (c1, 95) ]  right-most c2
//!              (lo, 40]    (40, 95]     (95, hi]
//! ```
//! The walk carries each child's `(lo, hi]` down and accepts a child only
//! if its bytes agree: a b-tree page of the right kind, not already in a
//! tree, with keys or rowids inside the range and records that fit the
//! table. A pointer that fails (out of the file, a loop, another table's
//! page, an index page, rowids outside the range) is a [`Gap`]: the range
//! it should have covered. A well-formed table leaf that no tree reaches,
//! whose records fit a table and whose rowids lie in one of that table's
//! gaps without colliding with the rowids of a reached leaf (or of a page
//! the evidence ranks first, see [`super::conflict`]), is that table's live
//! data ([`crate::scan::PageRole::Unreached`]), with a diagnostic naming the break.

use std::collections::HashSet;

use rowcodec::sqlite::{Record, SerialType};

use super::Db;
use crate::PageNo;
use crate::carve::shape_score;
use crate::cell::{CellKind, record_consistent, sound_cells};
use crate::page::{BtreeKind, BtreePage};
use crate::schema::Table;

/// A rowid range `(lo, hi]` (`None` = unbounded) that a broken or forged
/// pointer should have covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// Exclusive lower bound.
    pub lo: Option<i64>,
    /// Inclusive upper bound.
    pub hi: Option<i64>,
    /// The page holding the pointer (`None`: the root in `sqlite_master`).
    pub parent: Option<PageNo>,
    /// Where the pointer pointed.
    pub child: PageNo,
    /// Why it was not followed.
    pub reason: &'static str,
}

impl Gap {
    fn holds(&self, min: i64, max: i64) -> bool {
        self.lo.is_none_or(|lo| min > lo) && self.hi.is_none_or(|hi| max <= hi)
    }
}

/// What walking one table's tree found.
#[derive(Debug, Default)]
pub(super) struct TreeWalk {
    /// Pages of the tree (interior and leaves), accepted.
    pub pages: Vec<PageNo>,
    /// Per accepted leaf with cells: its lowest and highest rowid, and
    /// the page.
    pub leaf_ranges: Vec<(i64, i64, PageNo)>,
    /// Pointers not followed.
    pub gaps: Vec<Gap>,
    /// The tree top found by content when the root pointer was refused.
    pub root_found: Option<PageNo>,
}

/// A child pointer with its range `(lo, hi]`.
type Child = (PageNo, Option<i64>, Option<i64>);

/// A page to visit: page, range `(lo, hi]`, the page pointing at it.
type Visit = (PageNo, Option<i64>, Option<i64>, Option<PageNo>);

/// The rowids and record shapes of a table leaf's consistent cells (a
/// garbage pointer, e.g. past a forged cell count, decodes as an
/// inconsistent cell and says nothing about the page).
pub(super) fn leaf_cells(bp: &BtreePage<'_>) -> (Vec<i64>, Vec<Vec<SerialType>>) {
    let mut ids = Vec::new();
    let mut shapes = Vec::new();
    for c in sound_cells(bp, CellKind::TableLeaf)
        .into_iter()
        .filter(record_consistent)
    {
        if let Some(id) = c.rowid {
            ids.push(id);
        }
        if let Ok(r) = Record::parse_header(c.local) {
            shapes.push(r.types);
        }
    }
    (ids, shapes)
}

impl Db<'_> {
    /// Walks table `t`'s tree (a rowid table) from its root; `claimed`
    /// marks pages already in a tree (they are refused and set here).
    pub(super) fn walk_table_tree(&self, t: &Table, claimed: &mut [bool]) -> TreeWalk {
        let mut w = TreeWalk::default();
        let mut stack: Vec<Visit> = vec![(t.root, None, None, None)];
        let mut steps = 0u32;
        while let Some((p, lo, hi, parent)) = stack.pop() {
            steps = steps.wrapping_add(1);
            if steps.is_multiple_of(4096) {
                self.release_all();
            }
            let gap = |reason| Gap {
                lo,
                hi,
                parent,
                child: p,
                reason,
            };
            if !self.page_no_ok(p) {
                w.gaps.push(gap("pointer out of the file"));
                continue;
            }
            let Some(slot) = claimed.get_mut((p.0 - 1) as usize) else {
                continue;
            };
            if *slot {
                w.gaps
                    .push(gap("pointer to a page already in a tree (loop or forged)"));
                continue;
            }
            let Some(bytes) = self.page_bytes(p) else {
                w.gaps.push(gap("page missing"));
                continue;
            };
            let Ok(bp) = BtreePage::parse_lenient(p, bytes, self.usable as usize) else {
                w.gaps.push(gap("not a b-tree page"));
                continue;
            };
            let in_range = |k: i64| lo.is_none_or(|l| k > l) && hi.is_none_or(|h| k <= h);
            match bp.kind {
                BtreeKind::InteriorTable => {
                    let Some(children) = interior_children(&bp, lo, hi) else {
                        w.gaps
                            .push(gap("interior keys outside the range its parent gives"));
                        continue;
                    };
                    if bp.bad_cell_ptrs() > 0 {
                        w.gaps.push(gap("interior cell pointers out of the page"));
                    }
                    *slot = true;
                    w.pages.push(p);
                    stack.extend(
                        children
                            .into_iter()
                            .rev()
                            .map(|(c, l, h)| (c, l, h, Some(p))),
                    );
                }
                BtreeKind::LeafTable => {
                    let (ids, shapes) = leaf_cells(&bp);
                    if !ids.iter().all(|&k| in_range(k)) {
                        w.gaps
                            .push(gap("leaf rowids outside the range its parent gives"));
                        continue;
                    }
                    if !shapes.is_empty() && self.fits_other_table(t, &shapes) {
                        w.gaps
                            .push(gap("leaf records fit another table, not this one"));
                        continue;
                    }
                    if bp.bad_cell_ptrs() > 0 {
                        w.gaps.push(gap("leaf cell pointers out of the page"));
                    }
                    *slot = true;
                    w.pages.push(p);
                    if let (Some(&min), Some(&max)) = (ids.iter().min(), ids.iter().max()) {
                        w.leaf_ranges.push((min, max, p));
                    }
                }
                _ => w.gaps.push(gap("index page in a table tree")),
            }
        }
        w
    }

    /// The name of table `ti` (empty if there is none).
    pub(super) fn table_name(&self, ti: usize) -> String {
        self.tables
            .get(ti)
            .map(|t| t.name.clone())
            .unwrap_or_default()
    }

    /// Records that do not fit `t` but fit another rowid table: a leaf of
    /// that table (a pointer forged across trees). Records that fit no
    /// table stay with the tree that reaches them (a schema that parsed
    /// badly must not cost its rows).
    fn fits_other_table(&self, t: &Table, shapes: &[Vec<SerialType>]) -> bool {
        shape_score(t, shapes) < 0.5
            && self.tables.iter().any(|o| {
                o.name != t.name
                    && !o.without_rowid
                    && o.module.is_none()
                    && shape_score(o, shapes) >= 0.5
            })
    }

    /// For a table whose root pointer was refused: the interior table page
    /// no other interior page points at (a tree top) whose walk reaches the
    /// most leaves of the table's shape, if any.
    pub(super) fn find_root(&self, t: &Table, claimed: &[bool]) -> Option<PageNo> {
        let interior: Vec<PageNo> = (1..=self.n_pages)
            .map(PageNo)
            .filter(|&p| claimed.get((p.0 - 1) as usize) == Some(&false))
            .filter(|&p| {
                self.page_bytes(p)
                    .and_then(|b| BtreePage::parse_lenient(p, b, self.usable as usize).ok())
                    .is_some_and(|bp| bp.kind == BtreeKind::InteriorTable)
            })
            .collect();
        self.release_all();
        let mut pointed = HashSet::new();
        for &p in &interior {
            if let Some(bp) = self
                .page_bytes(p)
                .and_then(|b| BtreePage::parse_lenient(p, b, self.usable as usize).ok())
            {
                pointed.extend(bp.children());
            }
        }
        let mut best: Option<(usize, PageNo)> = None;
        for &top in interior.iter().filter(|p| !pointed.contains(p)) {
            let mut scratch = claimed.to_vec();
            let probe = Table {
                root: top,
                ..t.clone()
            };
            let n = self.walk_table_tree(&probe, &mut scratch).leaf_ranges.len();
            if n > 0 && best.is_none_or(|(b, _)| n > b) {
                best = Some((n, top));
            }
        }
        best.map(|(_, p)| p)
    }

    /// The table (among `candidates`) whose records fit `shapes` best and
    /// one of whose gaps holds `[min, max]`.
    pub(super) fn best_gap(
        &self,
        candidates: &[usize],
        walks: &[TreeWalk],
        shapes: &[Vec<SerialType>],
        min: i64,
        max: i64,
    ) -> Option<(usize, Gap)> {
        let mut best: Option<(f32, usize, Gap)> = None;
        for &ti in candidates {
            let Some(t) = self.tables.get(ti) else {
                continue;
            };
            let Some(gap) = walks
                .get(ti)
                .and_then(|w| w.gaps.iter().find(|g| g.holds(min, max)))
            else {
                continue;
            };
            let s = shape_score(t, shapes);
            if s >= 0.5 && best.is_none_or(|(b, _, _)| s > b) {
                best = Some((s, ti, *gap));
            }
        }
        best.map(|(_, ti, g)| (ti, g))
    }
}

/// The children of a table interior page with their ranges, or `None` when
/// its keys are not ascending inside `(lo, hi]`.
fn interior_children(bp: &BtreePage<'_>, lo: Option<i64>, hi: Option<i64>) -> Option<Vec<Child>> {
    let mut out = Vec::new();
    let mut prev = lo;
    for off in bp.cell_ptrs() {
        let child = PageNo(crate::be_u32_at(bp.bytes, off)?);
        let key = bp
            .bytes
            .get(off.saturating_add(4)..)
            .and_then(rowcodec::sqlite::varint::read)
            .map(|(v, _)| v.cast_signed())?;
        if prev.is_some_and(|p| key <= p) || hi.is_some_and(|h| key > h) {
            return None;
        }
        out.push((child, prev, Some(key)));
        prev = Some(key);
    }
    if let Some(rc) = bp.right_child {
        out.push((rc, prev, hi));
    }
    Some(out)
}
