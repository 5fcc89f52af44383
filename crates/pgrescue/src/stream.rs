//! Every target transaction's own row versions ([`crate::plan::plan_versions`]'s
//! rows) while the WAL is read, in bounded memory: the caller feeds each
//! segment's [`Change`]s as pass 2 hands them over (segment order) and
//! then takes the rows of the transactions that committed before the next
//! segment. Only the replay state stays between segments — the slots of
//! the touched blocks (at most one version per line pointer), the rows of
//! transactions still open and the TOAST chunks — never the changes or
//! page images already replayed, nor the finished rows.

use std::collections::HashMap;

use pgdata::catalog::{Catalog, ClassRow};
use pgdata::table::TableScan;
use walparse::Lsn;

use crate::Error;
use crate::collect::{Change, RelKey};
use crate::files::TableRels;
use crate::oldcols::OldColumns;
use crate::plan::{Decoder, PlanRow, Setup, TableSources, finish_row, setup};
use crate::replay::Replay;
use crate::xacts::{XactLog, XactSummary};

/// The versions of a table's target transactions, rebuilt as the changes
/// come (see the module doc).
pub struct VersionStream<'a, 'c> {
    cat: &'c Catalog,
    log: &'a XactLog,
    rels: TableRels,
    replay: Replay<'a>,
    scan: Option<TableScan<'c>>,
    setup: Setup,
    in_old_file: bool,
    /// The columns of earlier files written before `ALTER TABLE … TYPE`.
    old_columns: HashMap<RelKey, OldColumns>,
}

impl<'a, 'c> VersionStream<'a, 'c> {
    /// A stream over the table `class` for the committed top-level
    /// transactions `targets` of `log`, reading the table's files in `src`.
    pub fn new(
        cat: &'c Catalog,
        class: &ClassRow,
        src: TableSources<'c>,
        log: &'a XactLog,
        targets: &[XactSummary],
    ) -> Result<Self, Error> {
        let TableSources {
            rels,
            heap,
            toast,
            scan,
            mut clog,
            multis,
            old_columns,
        } = src;
        let mut replay = Replay::new(rels.clone(), heap, toast, multis, log);
        replay.rows.per_xact = true;
        let setup = setup(cat, class, &scan, &mut clog, targets, &old_columns)?;
        Ok(Self {
            cat,
            log,
            rels,
            replay,
            scan: Some(scan),
            setup,
            in_old_file: false,
            old_columns,
        })
    }

    /// The key columns (indexes into the columns) of [`PlanRow::key`].
    pub fn key_cols(&self) -> &[usize] {
        &self.setup.key_cols
    }

    /// Replays `changes` (the next ones in LSN order).
    pub fn feed(&mut self, changes: &[Change]) {
        let (rels, log, commit_of) = (&self.rels, self.log, &self.setup.commit_of);
        for c in changes
            .iter()
            .filter(|c| rels.is_main(c.rel) || rels.is_toast(c.rel))
        {
            let top = log.top_of(c.xid);
            let target = commit_of.contains_key(&top);
            self.replay.record(c, top, target);
            self.in_old_file |= target && rels.old_main.contains(&c.rel);
            for (b, e) in &c.bad_images {
                let w = format!("image of block {b} in record {}: {e}", c.lsn);
                self.setup.warnings.push(w);
            }
        }
    }

    /// Hands `each` the rows of the target transactions whose commit
    /// record starts before `before` (all their changes were fed), in the
    /// order they first touched them, and forgets them.
    pub fn take_committed(&mut self, before: Lsn, each: &mut dyn FnMut(PlanRow)) {
        let commit_of = &self.setup.commit_of;
        let done = self
            .replay
            .rows
            .drain_done(|xid| commit_of.get(&xid).is_some_and(|c| *c < before));
        self.finish(done, each);
    }

    fn finish(&mut self, rows: Vec<crate::replay::PendingRow>, each: &mut dyn FnMut(PlanRow)) {
        let Some(scan) = self.scan.take() else {
            return;
        };
        let chunks = std::mem::take(&mut self.replay.chunks);
        let mut dec = Decoder::new(self.cat, scan, &chunks);
        if let Err(e) = dec.add_old_files(&self.old_columns) {
            let w = format!("rows of earlier files are decoded with the current columns: {e}");
            if !self.setup.warnings.contains(&w) {
                self.setup.warnings.push(w);
            }
        }
        for r in rows.iter().filter(|r| !r.cancelled) {
            each(finish_row(r, &mut dec, &self.setup.key_cols));
        }
        self.scan = Some(dec.into_scan());
        self.replay.chunks = chunks;
    }

    /// Hands `each` the rows still held (transactions whose commit lies
    /// after everything fed) and returns the problems met.
    pub fn end(mut self, each: &mut dyn FnMut(PlanRow)) -> Vec<String> {
        let rest = self.replay.rows.drain_done(|_| true);
        self.finish(rest, each);
        if self.in_old_file {
            let w = crate::plan::old_file_warning(!self.old_columns.is_empty());
            self.setup.warnings.push(w.to_string());
        }
        self.setup.warnings
    }
}
