//! The salvage driver: rounds of pages scanned in parallel on a producer
//! thread, rows formatted on the workers, batches handed to the caller in
//! page order; live rows first, then carved rows that repeat no live row.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use super::dedup::{FingerprintHasher, fingerprint};
use super::{BatchSink, Db, RowFormat, RowMark, SalvageOptions, Sink};
use crate::PageNo;
use crate::cell::{ChainBreak, PageSource};
use crate::scan::{Extract, PageRole, RecoveredRow, RowRef, RowStatus, ScanCtx, scan_page};

impl Db<'_> {
    /// The scan context over this file.
    pub fn scan_ctx(&self) -> ScanCtx<'_> {
        ScanCtx {
            tables: &self.tables,
            enc: self.encoding,
            usable: self.usable as usize,
            src: self,
        }
    }

    fn table_wanted(&self, opts: &SalvageOptions, t: Option<usize>) -> bool {
        if opts.tables.is_empty() {
            return true;
        }
        t.and_then(|i| self.tables.get(i))
            .is_some_and(|t| opts.tables.iter().any(|n| n.eq_ignore_ascii_case(&t.name)))
    }

    /// Rows of page `p` for one pass (`live_pass`: live rows; otherwise
    /// carved, freelist and orphan rows), as borrowed views.
    fn scan_rows(
        &self,
        p: PageNo,
        live_pass: bool,
        no_deleted: bool,
        emit: &mut dyn FnMut(&RowRef<'_>),
    ) {
        let Some(bytes) = self.page(p) else {
            return;
        };
        let role = self
            .roles
            .get((p.0 - 1) as usize)
            .copied()
            .unwrap_or(PageRole::NoRows);
        let ctx = self.scan_ctx();
        let what = if live_pass {
            match role {
                PageRole::Tree { .. } | PageRole::Unreached { .. } => Extract {
                    intact: true,
                    carved: false,
                },
                _ => return,
            }
        } else {
            if no_deleted {
                return;
            }
            let intact = matches!(
                role,
                PageRole::FreelistLeaf | PageRole::Orphan | PageRole::Conflict { .. }
            );
            Extract {
                intact,
                carved: true,
            }
        };
        scan_page(&ctx, p, bytes, role, what, &mut |r| {
            if (r.status == RowStatus::Live) == live_pass {
                emit(r);
            }
        });
    }

    /// Runs the salvage into a row-at-a-time [`Sink`] (rows copied out); see
    /// [`Db::salvage_with`] for the order and the de-duplication.
    pub fn salvage<S: Sink>(&self, opts: &SalvageOptions, sink: &mut S) -> Result<(), S::Error> {
        struct Adapter<'s, S>(&'s mut S);
        impl<S: Sink> BatchSink<Vec<RecoveredRow>> for Adapter<'_, S> {
            type Error = S::Error;
            fn batch(
                &mut self,
                db: &Db<'_>,
                rows: Vec<RecoveredRow>,
                marks: &[RowMark],
            ) -> Result<bool, S::Error> {
                for (r, m) in rows.iter().zip(marks) {
                    if m.keep && !self.0.row(db, r)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            fn progress(&mut self, done: u32, total: u32) -> bool {
                self.0.progress(done, total);
                true
            }
        }
        self.salvage_with(opts, &CopyRows, &mut Adapter(sink))
    }

    /// Runs the salvage: all live rows, then (unless `no_deleted`) carved,
    /// freelist and orphan rows whose values differ from every live row
    /// (64-bit fingerprints of the live rows, 8 bytes per row) and from every
    /// earlier carved row of the same table.
    ///
    /// Pages are scanned in parallel (rayon) on a producer thread, in rounds
    /// of a few hundred pages; `fmt` turns rows into batches on the workers
    /// and `sink` receives the batches on the calling thread in page order,
    /// through a bounded channel, so memory stays bounded by a few rounds.
    pub fn salvage_with<F: RowFormat, S: BatchSink<F::Batch>>(
        &self,
        opts: &SalvageOptions,
        fmt: &F,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Msg<F::Batch>>(4);
        std::thread::scope(|scope| {
            let producer = std::thread::Builder::new()
                .name("datam-salvage".into())
                .spawn_scoped(scope, move || {
                    self.produce(opts, fmt, &mut |m| tx.send(m).is_ok());
                });
            match producer {
                // Dropping `rx` on an early stop makes the producer's sends fail.
                Ok(_) => drain(self, rx, sink),
                Err(_) => {
                    // No thread: produce everything here, then drain.
                    let mut msgs = Vec::new();
                    self.produce(opts, fmt, &mut |m| {
                        msgs.push(m);
                        true
                    });
                    drain(self, msgs, sink)
                }
            }
        })
    }

    /// Producer side of [`Db::salvage_with`].
    fn produce<F: RowFormat>(
        &self,
        opts: &SalvageOptions,
        fmt: &F,
        send: &mut dyn FnMut(Msg<F::Batch>) -> bool,
    ) {
        const ROUND: u32 = 512;
        const GROUP: usize = 16;
        let total = self.n_pages.saturating_mul(2);
        let mut done = 0u32;
        let mut live: Vec<u64> = Vec::new();
        let mut carved_seen: HashSet<(Option<usize>, u64), FingerprintHasher> = HashSet::default();
        let mut rtree_nodes: HashMap<(usize, i64), Vec<u8>> = HashMap::new();
        for live_pass in [true, false] {
            if !live_pass {
                let rtree = self.rtree_rows(&rtree_nodes);
                let mut w = Work::<F::Batch>::default();
                for r in &rtree {
                    r.with_ref(|r| {
                        live.push(fingerprint(r.values));
                        if self.table_wanted(opts, r.table) {
                            fmt.add(self, r, &mut w.batch);
                            w.marks.push(RowMark::kept(r));
                        }
                    });
                }
                live.par_sort_unstable();
                live.dedup();
                if !w.marks.is_empty() && !send(Msg::Batch(w.batch, w.marks, w.breaks)) {
                    return;
                }
            }
            let mut start = 1u32;
            while start <= self.n_pages {
                let end = start.saturating_add(ROUND - 1).min(self.n_pages);
                let pages: Vec<u32> = (start..=end).collect();
                let works: Vec<Work<F::Batch>> = pages
                    .par_chunks(GROUP)
                    .map(|group| {
                        let mut w = Work::default();
                        for &p in group {
                            self.scan_rows(PageNo(p), live_pass, opts.no_deleted, &mut |r| {
                                self.take_row(opts, fmt, r, live_pass, &live, &mut w);
                            });
                        }
                        w
                    })
                    .collect();
                for mut w in works {
                    if live_pass {
                        live.append(&mut w.fingerprints);
                        for (k, blob) in w.rtree.drain(..) {
                            rtree_nodes.insert(k, blob);
                        }
                    } else {
                        let mut parent_kept = true;
                        for m in &mut w.marks {
                            m.keep = if m.projection {
                                parent_kept
                            } else {
                                carved_seen.insert(m.key)
                            };
                            if !m.projection {
                                parent_kept = m.keep;
                            }
                        }
                    }
                    if !w.marks.is_empty() && !send(Msg::Batch(w.batch, w.marks, w.breaks)) {
                        return;
                    }
                }
                let behind = (end as usize).saturating_mul(self.page_size as usize);
                (self.release)(0, behind.min(self.bytes.len()));
                done = done.saturating_add(end - start + 1);
                if !send(Msg::Progress(done, total)) {
                    return;
                }
                start = end.saturating_add(1);
            }
        }
    }

    /// Worker side: one row of a pass into the work item.
    fn take_row<F: RowFormat>(
        &self,
        opts: &SalvageOptions,
        fmt: &F,
        r: &RowRef<'_>,
        live_pass: bool,
        live: &[u64],
        w: &mut Work<F::Batch>,
    ) {
        let fp = fingerprint(r.values);
        if live_pass {
            w.fingerprints.push(fp);
            self.stash_rtree_node(r, &mut w.rtree);
        } else if live.binary_search(&fp).is_ok() {
            return;
        }
        let fts = self.fts_projection(r);
        let mut add = |row: &RowRef<'_>, projection: bool| {
            if self.table_wanted(opts, row.table) {
                fmt.add(self, row, &mut w.batch);
                w.marks.push(RowMark {
                    projection,
                    key: (r.table, fp),
                    ..RowMark::kept(row)
                });
            }
        };
        add(r, false);
        if let Some(b) = r.chain_break
            && self.table_wanted(opts, r.table)
        {
            w.breaks.push(b);
        }
        if let Some((v, n)) = fts {
            let values = r.values.get(1..1 + n).unwrap_or_default();
            add(
                &RowRef {
                    table: Some(v),
                    values,
                    raw: None,
                    ..*r
                },
                true,
            );
        }
    }
}

/// What the producer of [`Db::salvage_with`] sends.
enum Msg<B> {
    Batch(B, Vec<RowMark>, Vec<ChainBreak>),
    Progress(u32, u32),
}

fn drain<B, S: BatchSink<B>>(
    db: &Db<'_>,
    msgs: impl IntoIterator<Item = Msg<B>>,
    sink: &mut S,
) -> Result<(), S::Error> {
    for m in msgs {
        match m {
            Msg::Batch(b, marks, breaks) => {
                if !sink.batch(db, b, &marks)? {
                    return Ok(());
                }
                if !breaks.is_empty() {
                    sink.chain_breaks(db, &breaks);
                }
            }
            Msg::Progress(done, total) => {
                if !sink.progress(done, total) {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// One group of pages' output in [`Db::salvage_with`].
struct Work<B> {
    batch: B,
    marks: Vec<RowMark>,
    fingerprints: Vec<u64>,
    rtree: Vec<((usize, i64), Vec<u8>)>,
    /// Rows added whose overflow chain broke.
    breaks: Vec<ChainBreak>,
}

impl<B: Default> Default for Work<B> {
    fn default() -> Self {
        Self {
            batch: B::default(),
            marks: Vec::new(),
            fingerprints: Vec::new(),
            rtree: Vec::new(),
            breaks: Vec::new(),
        }
    }
}

/// The row-at-a-time [`Sink`]'s formatter: copies rows out.
struct CopyRows;

impl RowFormat for CopyRows {
    type Batch = Vec<RecoveredRow>;
    fn add(&self, _db: &Db<'_>, row: &RowRef<'_>, batch: &mut Vec<RecoveredRow>) {
        batch.push(row.to_owned_row());
    }
}
