//! Rowids of carved cells whose cell header was clobbered, inferred from
//! the intact cells around them.
//!
//! SQLite lays a leaf's cells out from the page end downwards in the order
//! they are written, so on a page filled by appends a run of k carved cells
//! sitting physically between two intact cells whose rowids differ by
//! exactly k+1 held the rowids in between. That holds only while the free
//! space is the residue of the same layout as the intact cells. A page
//! rebalanced after deletes keeps older cells' bytes in its freeblocks
//! (cells of other rowids, even of a page that held other rows), so a rowid
//! is filled only where the bytes agree with the append layout:
//! - the run tiles the space between the two intact cells exactly (each
//!   carved cell ends where the one above it starts, with no gap or
//!   fragment), and
//! - no carved cell on the page whose own rowid survived contradicts the
//!   order (a rowid outside the range of its intact neighbours shows the
//!   free space is of another generation).
//!
//! A wrong rowid is a wrong value (it is the rowid alias column), so when
//! in doubt the rowid stays unknown.

use rowcodec::sqlite::OwnedValue;

use crate::scan::{RecoveredRow, ScanCtx};

/// One cell of the page for the inference: offset, end, the rowid of an
/// intact cell, and the index of a carved one.
type Slot = (usize, usize, Option<i64>, Option<usize>);

/// Fills lost rowids of carved cells of rowid-alias tables (see the module
/// documentation). `intact`: `(offset, end, rowid)` of the page's intact
/// cells; `carved`: rows and their cell ends. Nothing is filled where the
/// count, the tiling or the order does not match.
pub fn infer_rowids(
    ctx: &ScanCtx<'_>,
    intact: &[(usize, usize, Option<i64>)],
    carved: &mut [(RecoveredRow, usize)],
) {
    let mut all: Vec<Slot> = intact.iter().map(|&(o, e, r)| (o, e, r, None)).collect();
    all.extend(
        carved
            .iter()
            .enumerate()
            .map(|(i, (r, e))| (r.offset, *e, None, Some(i))),
    );
    all.sort_by_key(|x| std::cmp::Reverse(x.0));
    if other_generation(&all, carved) {
        return;
    }
    let mut i = 0usize;
    while i < all.len() {
        let Some(&(_, _, Some(a), None)) = all.get(i) else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        while all.get(j).is_some_and(|x| x.3.is_some()) {
            j += 1;
        }
        let run = j - i - 1;
        if let Some(&(_, _, Some(b), None)) = all.get(j)
            && run > 0
            && b.checked_sub(a) == i64::try_from(run + 1).ok()
            && tiles(all.get(i..=j).unwrap_or_default())
        {
            for (k, item) in all.iter().enumerate().take(j).skip(i + 1) {
                if let Some((row, _)) = item.3.and_then(|ci| carved.get_mut(ci)) {
                    fill(ctx, row, a + i64::try_from(k - i).unwrap_or(0));
                }
            }
        }
        i = j;
    }
}

fn fill(ctx: &ScanCtx<'_>, row: &mut RecoveredRow, rid: i64) {
    let Some(t) = row.table.and_then(|t| ctx.tables.get(t)) else {
        return;
    };
    if row.rowid.is_none() {
        row.rowid = Some(rid);
        row.rowid_inferred = true;
        row.confidence *= 0.8;
        if let Some(slot) = t.rowid_alias.and_then(|c| row.values.get_mut(c)) {
            *slot = OwnedValue::Int(rid);
        }
    }
}

/// Do the cells (by descending offset) follow each other without a gap:
/// each one ends where the one before it (above it) starts?
fn tiles(run: &[Slot]) -> bool {
    run.windows(2).all(|w| match w {
        [above, below] => below.1 == above.0,
        _ => true,
    })
}

/// Is there a carved cell with its own rowid whose intact neighbours (the
/// nearest above and below it) do not bracket that rowid?
fn other_generation(all: &[Slot], carved: &[(RecoveredRow, usize)]) -> bool {
    let rowid_of = |s: &Slot| match s.3 {
        None => s.2,
        Some(_) => None,
    };
    all.iter().enumerate().any(|(k, s)| {
        let Some(r) =
            s.3.and_then(|ci| carved.get(ci))
                .and_then(|(row, _)| row.rowid)
        else {
            return false;
        };
        let above = all
            .get(..k)
            .unwrap_or_default()
            .iter()
            .rev()
            .find_map(rowid_of);
        let below = all
            .get(k + 1..)
            .unwrap_or_default()
            .iter()
            .find_map(rowid_of);
        above.is_some_and(|a| a >= r) || below.is_some_and(|b| b <= r)
    })
}
