//! Rowid conflicts: leaf pages of one table that claim the same rowids, the
//! evidence that decides which one holds the live rows, and the unreached
//! leaves shown to be live.
//!
//! The leaves of one table b-tree hold disjoint rowid ranges, so two leaves
//! of a table whose `[min, max]` overlap cannot both be live. Every leaf
//! page of a table's shape that no tree or freelist reaches is a candidate;
//! the reached leaves are taken first, then the candidates in the order of
//! the evidence below; a candidate overlapping nothing taken is adopted
//! (when it lies in the range of a broken pointer, see [`super::reach`]),
//! one overlapping a taken leaf loses, and each loss is a
//! [`DiagKind::RowidConflict`] naming both pages, the rowids and the
//! evidence. The loser's rows come out with status `conflict`.
//!
//! Decision order ([`ConflictEvidence`]):
//!
//! 1. `reachable`: a leaf reached from the table's root beats an unreached
//!    one (the tree is what SQLite reads).
//! 2. `in-gap`: an unreached leaf whose rowids lie in the range a broken or
//!    forged pointer should have covered beats one outside every such range.
//! 3. `db-size`: a page inside the database size the header gives beats a
//!    page past it; the size is trusted only when the header's
//!    version-valid-for number equals its change counter (SQLite's own rule).
//!    The change counter is no per-page evidence otherwise: no page records
//!    the counter it was written at, and in WAL mode SQLite need not advance
//!    it.
//! 4. `wal-order`: in a salvage with a `-wal`, the pages are the image
//!    SQLite would read (each page's last committed frame; an older frame's
//!    copy of a page is never a candidate here, it is reported as
//!    `wal-old`). A page whose bytes a later frame wrote beats one written
//!    by an earlier frame or coming from the database file, which holds
//!    only what the last checkpoint copied (the WAL's page order; see
//!    [`Db::open_image`]).
//! 5. `undecided`: otherwise the lower page number is kept, and the
//!    diagnostic says that the evidence did not decide.

use std::collections::HashSet;

use super::reach::{Gap, TreeWalk, leaf_cells};
use super::{Db, Diag, DiagKind};
use crate::PageNo;
use crate::carve::shape_score;
use crate::page::{BtreePage, PageClass};
use crate::scan::PageRole;

/// What decided a rowid conflict (see the module docs for the order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictEvidence {
    /// The kept page is reached from the table's root; the other is not.
    Reachable,
    /// Neither is reached; the kept page's rowids lie in the range of a
    /// broken pointer, the other's do not.
    InGap,
    /// The kept page lies inside the header's database size (valid: its
    /// version-valid-for number equals the change counter), the other past it.
    DbSize {
        /// The header's database size in pages.
        db_size_pages: u32,
    },
    /// The kept page's bytes were written later: by a later WAL frame than
    /// the other's (frame numbers are 1-based; 0 is the database file).
    WalOrder {
        /// The WAL frame the kept page comes from.
        kept_frame: u32,
        /// The WAL frame the other page comes from, 0 for the database file.
        other_frame: u32,
    },
    /// No evidence decided: the lower page number was kept.
    Undecided,
}

impl ConflictEvidence {
    /// Stable name (`reachable`, `in-gap`, `db-size`, `wal-order`, `undecided`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Reachable => "reachable",
            Self::InGap => "in-gap",
            Self::DbSize { .. } => "db-size",
            Self::WalOrder { .. } => "wal-order",
            Self::Undecided => "undecided",
        }
    }
}

impl std::fmt::Display for ConflictEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Reachable => write!(f, "it is reached from the table's root, the other is not"),
            Self::InGap => write!(
                f,
                "its rowids lie in the range of a broken pointer, the other's do not"
            ),
            Self::DbSize { db_size_pages } => write!(
                f,
                "it lies inside the header's database size ({db_size_pages} pages), the other past it"
            ),
            Self::WalOrder {
                kept_frame,
                other_frame: 0,
            } => write!(
                f,
                "the WAL wrote it later (frame {kept_frame}), the other comes from the database file"
            ),
            Self::WalOrder {
                kept_frame,
                other_frame,
            } => write!(
                f,
                "the WAL wrote it later (frame {kept_frame}) than the other (frame {other_frame})"
            ),
            Self::Undecided => write!(
                f,
                "no evidence tells them apart; the lower page number was kept"
            ),
        }
    }
}

/// Two leaf pages of one table claiming overlapping rowids.
#[derive(Debug, Clone, PartialEq)]
pub struct RowidConflict {
    /// Table name.
    pub table: String,
    /// The page whose rows are live.
    pub kept: PageNo,
    /// The page whose rows are reported with status `conflict`.
    pub other: PageNo,
    /// The rowids both pages hold, ascending (empty when only their ranges
    /// overlap).
    pub rowids: Vec<i64>,
    /// What decided.
    pub evidence: ConflictEvidence,
}

impl std::fmt::Display for RowidConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 8;
        let (kept, other, table) = (self.kept, self.other, &self.table);
        write!(f, "table {table:?}: pages {kept} and {other} both claim ")?;
        if self.rowids.is_empty() {
            write!(f, "overlapping rowid ranges")?;
        } else {
            let list: Vec<String> = self.rowids.iter().take(SHOWN).map(i64::to_string).collect();
            let more = if self.rowids.len() > SHOWN {
                ", ..."
            } else {
                ""
            };
            write!(
                f,
                "{} rowids ({}{more})",
                self.rowids.len(),
                list.join(", ")
            )?;
        }
        write!(
            f,
            "; page {kept} kept live ({}: {}), page {other}'s rows reported as conflict",
            self.evidence.name(),
            self.evidence
        )
    }
}

/// A leaf taken as live: its rowid range and page.
#[derive(Debug, Clone, Copy)]
struct Claim {
    min: i64,
    max: i64,
    page: PageNo,
    reached: bool,
}

/// An orphan table leaf that claims rowids of table `ti`.
struct Candidate {
    page: PageNo,
    ti: usize,
    gap: Option<Gap>,
    min: i64,
    max: i64,
    ids: Vec<i64>,
}

impl Db<'_> {
    /// Decides every orphan table leaf that claims rowids of a table (see
    /// the module docs): adopts unreached live leaves, reports conflicts.
    pub(super) fn adopt_unreached(&mut self, walks: &[TreeWalk]) {
        let mut taken: Vec<Vec<Claim>> = walks
            .iter()
            .map(|w| {
                w.leaf_ranges
                    .iter()
                    .map(|&(min, max, page)| Claim {
                        min,
                        max,
                        page,
                        reached: true,
                    })
                    .collect()
            })
            .collect();
        let mut cands = self.candidates(walks);
        cands.sort_by_key(|c| {
            (
                c.gap.is_none(),
                self.past_db_size(c.page),
                std::cmp::Reverse(self.written_at(c.page)),
                c.page.0,
            )
        });
        for c in cands {
            let Some(t) = taken.get_mut(c.ti) else {
                continue;
            };
            let hits: Vec<Claim> = t
                .iter()
                .filter(|w| w.min <= c.max && c.min <= w.max)
                .copied()
                .collect();
            let i = (c.page.0 - 1) as usize;
            let table = self.table_name(c.ti);
            if hits.is_empty() {
                let Some(gap) = c.gap else { continue };
                t.push(Claim {
                    min: c.min,
                    max: c.max,
                    page: c.page,
                    reached: false,
                });
                if let Some(r) = self.roles.get_mut(i) {
                    *r = PageRole::Unreached { table: c.ti };
                }
                self.diags.push(Diag {
                    page_no: Some(c.page),
                    kind: DiagKind::Unreached { table, gap },
                });
                continue;
            }
            if let Some(r) = self.roles.get_mut(i) {
                *r = PageRole::Conflict { table: c.ti };
            }
            for w in hits {
                let conflict = self.conflict(&c, w, table.clone());
                self.diags.push(Diag {
                    page_no: Some(c.page),
                    kind: DiagKind::RowidConflict(conflict),
                });
            }
        }
    }

    /// The conflict of candidate `c` (which lost) with the taken leaf `w`.
    fn conflict(&self, c: &Candidate, w: Claim, table: String) -> RowidConflict {
        let theirs: HashSet<i64> = self.leaf_ids(w.page).into_iter().collect();
        let mut rowids: Vec<i64> = c
            .ids
            .iter()
            .copied()
            .filter(|id| theirs.contains(id))
            .collect();
        rowids.sort_unstable();
        let evidence = if w.reached {
            ConflictEvidence::Reachable
        } else if c.gap.is_none() {
            ConflictEvidence::InGap
        } else if self.past_db_size(c.page) && !self.past_db_size(w.page) {
            ConflictEvidence::DbSize {
                db_size_pages: self.header.as_ref().map_or(0, |h| h.db_size_pages),
            }
        } else if self.written_at(w.page) > self.written_at(c.page) {
            ConflictEvidence::WalOrder {
                kept_frame: self.written_at(w.page),
                other_frame: self.written_at(c.page),
            }
        } else {
            ConflictEvidence::Undecided
        };
        RowidConflict {
            table,
            kept: w.page,
            other: c.page,
            rowids,
            evidence,
        }
    }

    /// Orphan table leaves with distinct rowids whose records fit a rowid
    /// table: in one of its gaps if any holds them, else the best fit.
    fn candidates(&self, walks: &[TreeWalk]) -> Vec<Candidate> {
        let with_gaps: Vec<usize> = (0..self.tables.len())
            .filter(|&i| walks.get(i).is_some_and(|w| !w.gaps.is_empty()))
            .collect();
        let mut out = Vec::new();
        for i in 0..self.n_pages as usize {
            if self.roles.get(i) != Some(&PageRole::Orphan)
                || self.classes.get(i) != Some(&PageClass::TableLeaf)
            {
                continue;
            }
            let page = PageNo(crate::sat_u32(i).saturating_add(1));
            let Some(bp) = self
                .page_bytes(page)
                .and_then(|b| BtreePage::parse(page, b, self.usable as usize).ok())
            else {
                continue;
            };
            let (ids, shapes) = leaf_cells(&bp);
            let (Some(&min), Some(&max)) = (ids.iter().min(), ids.iter().max()) else {
                continue;
            };
            if ids.iter().collect::<HashSet<_>>().len() != ids.len() {
                continue;
            }
            let (ti, gap) = match self.best_gap(&with_gaps, walks, &shapes, min, max) {
                Some((ti, gap)) => (ti, Some(gap)),
                None => match self.best_fit(&shapes) {
                    Some(ti) => (ti, None),
                    None => continue,
                },
            };
            out.push(Candidate {
                page,
                ti,
                gap,
                min,
                max,
                ids,
            });
        }
        out
    }

    /// The live rowid table whose records fit `shapes` best (score ≥ 0.5).
    fn best_fit(&self, shapes: &[Vec<rowcodec::sqlite::SerialType>]) -> Option<usize> {
        let mut best: Option<(f32, usize)> = None;
        for (ti, t) in self.tables.iter().enumerate() {
            if t.dropped || t.without_rowid || t.module.is_some() {
                continue;
            }
            let s = shape_score(t, shapes);
            if s >= 0.5 && best.is_none_or(|(b, _)| s > b) {
                best = Some((s, ti));
            }
        }
        best.map(|(_, ti)| ti)
    }

    /// The rowids of table leaf `p`'s consistent cells.
    fn leaf_ids(&self, p: PageNo) -> Vec<i64> {
        self.page_bytes(p)
            .and_then(|b| BtreePage::parse_lenient(p, b, self.usable as usize).ok())
            .map(|bp| leaf_cells(&bp).0)
            .unwrap_or_default()
    }

    /// The 1-based WAL frame page `p`'s bytes come from, 0 for the database
    /// file (or when the bytes are no WAL image).
    fn written_at(&self, p: PageNo) -> u32 {
        p.0.checked_sub(1)
            .and_then(|i| self.write_order.get(i as usize))
            .copied()
            .unwrap_or(0)
    }

    /// Page `p` lies past the database size of a header whose size is
    /// valid (version-valid-for equals the change counter).
    fn past_db_size(&self, p: PageNo) -> bool {
        self.header
            .as_ref()
            .is_some_and(|h| h.db_size_valid && h.db_size_pages > 0 && p.0 > h.db_size_pages)
    }
}
