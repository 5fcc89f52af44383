//! `datam pg wal`: decode PostgreSQL WAL (13–18) from a data directory, a WAL
//! directory or segment files, as text (pg_waldump-like), JSON lines or
//! statistics.
//!
//! Segments are decoded in parallel (rayon), each worker owning the records
//! that *start* in its segment (it may read into the next segments to finish
//! a spanning record); results are stitched in segment order, checking that
//! each segment's first record points back (`xl_prev`) at the previous
//! segment's last one. Work goes in batches so memory stays flat.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use rayon::prelude::*;
use walparse::{
    Diag, Lsn, PgMajor, ReadOptions, Reader, Record, SegNo, Segment, Sink, TimeLineId, WalCtx,
    WalSource, parse_page, timeline::TimelineHistory,
};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per record, like pg_waldump.
    Text,
    /// One JSON object per record.
    Jsonl,
}

/// Statistics granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsMode {
    /// Per resource manager.
    Rmgr,
    /// Per resource manager and record type.
    Record,
}

/// Arguments of `datam pg wal`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A data directory, a WAL directory, or WAL segment files (and
    /// timeline history files, `0000000N.history`).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// First record LSN to show (e.g. 0/16B3740).
    #[arg(long)]
    pub start: Option<Lsn>,
    /// Stop before records starting at or after this LSN.
    #[arg(long)]
    pub end: Option<Lsn>,
    /// Timeline to read (default: the highest present). Its history file
    /// decides which timeline each segment is read from.
    #[arg(long)]
    pub timeline: Option<u32>,
    /// Only records of this transaction id.
    #[arg(long)]
    pub xid: Option<u32>,
    /// Only records of this resource manager (pg_waldump name, e.g. Heap).
    #[arg(long)]
    pub rmgr: Option<String>,
    /// Only records referencing a block of this relfilenode.
    #[arg(long, conflicts_with = "relation")]
    pub relfilenode: Option<u32>,
    /// Only records referencing a block of this table (`SCHEMA.TABLE`),
    /// resolved through the data directory's current catalog (first input
    /// must be a PGDATA). Older relfilenodes (before TRUNCATE, VACUUM FULL,
    /// CLUSTER) are not followed.
    #[arg(long)]
    pub relation: Option<String>,
    /// Database of `--relation` (default: the only database that has it).
    #[arg(long, requires = "relation")]
    pub database: Option<String>,
    /// Also decode older records still held by recycled segments (pages whose
    /// `xlp_pageaddr` is older than the file's position).
    #[arg(long)]
    pub include_recycled: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print statistics instead of records (`--stats=record` per record type).
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "rmgr", require_equals = true)]
    pub stats: Option<StatsMode>,
}

struct Filter {
    start: Option<Lsn>,
    end: Option<Lsn>,
    xid: Option<u32>,
    rmid: Option<u8>,
    relfilenode: Option<u32>,
    /// (database oid, relfilenode) from `--relation`.
    relation: Option<(u32, u32)>,
}

impl Filter {
    fn keep(&self, r: &Record<'_>) -> bool {
        self.start.is_none_or(|s| r.lsn >= s)
            && self.end.is_none_or(|e| r.lsn < e)
            && self.xid.is_none_or(|x| r.xid() == x)
            && self.rmid.is_none_or(|m| r.rmid() == m)
            && self
                .relfilenode
                .is_none_or(|n| r.blocks.iter().any(|b| b.locator.rel_number == n))
            && self.relation.is_none_or(|(db, n)| {
                r.blocks
                    .iter()
                    .any(|b| b.locator.rel_number == n && b.locator.db_oid == db)
            })
    }
}

/// Per-rmgr or per-type counters: (count, record bytes, FPI bytes).
#[derive(Debug, Default, Clone)]
struct Stats {
    by_key: BTreeMap<(u8, u8), (u64, u64, u64)>,
    first: Option<Lsn>,
    last_end: Option<Lsn>,
}

impl Stats {
    fn add(&mut self, r: &Record<'_>, per_type: bool) {
        let key = (r.rmid(), if per_type { r.hdr.xl_info & 0xF0 } else { 0 });
        let e = self.by_key.entry(key).or_default();
        e.0 += 1;
        e.1 += u64::from(r.rec_len());
        e.2 += u64::from(r.fpi_len());
        self.first.get_or_insert(r.lsn);
        self.last_end = Some(r.end);
    }
    fn merge(&mut self, o: Stats) {
        for (k, v) in o.by_key {
            let e = self.by_key.entry(k).or_default();
            e.0 += v.0;
            e.1 += v.1;
            e.2 += v.2;
        }
        if self.first.is_none() {
            self.first = o.first;
        }
        if o.last_end.is_some() {
            self.last_end = o.last_end;
        }
    }
}

/// What one worker produced for one segment.
#[derive(Default)]
struct SegOut {
    text: Vec<u8>,
    stats: Stats,
    diags: Vec<Diag>,
    first: Option<(Lsn, Lsn)>,
    last: Option<Lsn>,
}

struct Collect<'f> {
    major: PgMajor,
    filter: &'f Filter,
    format: Format,
    stats: Option<StatsMode>,
    recycled: bool,
    out: SegOut,
}

impl Sink for Collect<'_> {
    type Error = std::convert::Infallible;
    fn record(&mut self, r: &Record<'_>) -> Result<bool, Self::Error> {
        if self.out.first.is_none() {
            self.out.first = Some((r.lsn, r.prev()));
        }
        self.out.last = Some(r.lsn);
        if !self.filter.keep(r) {
            return Ok(true);
        }
        match self.stats {
            Some(m) => self.out.stats.add(r, m == StatsMode::Record),
            None => {
                let line = match self.format {
                    Format::Text => text_line(self.major, r, self.recycled),
                    Format::Jsonl => json_line(self.major, r, self.recycled),
                };
                self.out.text.extend_from_slice(line.as_bytes());
                self.out.text.push(b'\n');
            }
        }
        Ok(true)
    }
    fn diag(&mut self, d: &Diag) -> Result<bool, Self::Error> {
        self.out.diags.push(d.clone());
        Ok(true)
    }
}

/// pg_waldump-style line.
pub fn text_line(major: PgMajor, r: &Record<'_>, recycled: bool) -> String {
    let mut s = String::with_capacity(160);
    let info_name = walparse::rmgr::record_type_name(major, r.rmid(), r.hdr.xl_info)
        .unwrap_or_else(|| format!("UNKNOWN ({:x})", r.hdr.xl_info & 0xF0));
    let _ = write!(
        s,
        "rmgr: {:<11} len (rec/tot): {:>6}/{:>6}, tx: {:>10}, lsn: {}, prev {}, desc: {} {}",
        walparse::rmgr::rmgr_name(r.rmid()),
        r.rec_len(),
        r.total_len(),
        r.xid(),
        r.lsn,
        r.prev(),
        info_name,
        walparse::desc::describe(major, r)
    );
    for b in &r.blocks {
        let _ = write!(s, ", blkref #{}: rel {}", b.id, b.locator);
        if b.fork() != 0 {
            let _ = write!(s, " fork {}", b.fork_name());
        }
        let _ = write!(s, " blk {}", b.block);
        if let Some(img) = b.image {
            s.push_str(" FPW");
            if img.compression != walparse::Compression::None {
                let _ = write!(s, " ({})", img.compression.name());
            }
        }
    }
    if recycled {
        s.push_str(" [recycled]");
    }
    s
}

/// Appends `v` as a JSON string literal.
fn json_str(out: &mut String, v: &str) {
    out.push('"');
    for ch in v.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One JSON object for `r` (written directly: this is the hot path of a
/// full decode).
pub fn json_line(major: PgMajor, r: &Record<'_>, recycled: bool) -> String {
    let mut s = String::with_capacity(256);
    let _ = write!(
        s,
        "{{\"lsn\":\"{}\",\"prev\":\"{}\",\"end\":\"{}\",\"rmgr\":",
        r.lsn,
        r.prev(),
        r.end
    );
    json_str(&mut s, &walparse::rmgr::rmgr_name(r.rmid()));
    s.push_str(",\"info\":");
    match walparse::rmgr::record_type_name(major, r.rmid(), r.hdr.xl_info) {
        Some(n) => json_str(&mut s, &n),
        None => s.push_str("null"),
    }
    let _ = write!(
        s,
        ",\"xid\":{},\"len\":{},\"total_len\":{},\"fpi_len\":{},\"main_data_len\":{},\"desc\":",
        r.xid(),
        r.rec_len(),
        r.total_len(),
        r.fpi_len(),
        r.main_data.len()
    );
    json_str(&mut s, &walparse::desc::describe(major, r));
    s.push_str(",\"blocks\":[");
    for (i, b) in r.blocks.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "{{\"id\":{},\"spc\":{},\"db\":{},\"relfilenode\":{},\"fork\":\"{}\",\"block\":{},\"fpi\":{},",
            b.id,
            b.locator.spc_oid,
            b.locator.db_oid,
            b.locator.rel_number,
            b.fork_name(),
            b.block,
            b.image.is_some()
        );
        match b.image {
            Some(i) => {
                let _ = write!(
                    s,
                    "\"fpi_len\":{},\"compression\":\"{}\",",
                    i.bytes.len(),
                    i.compression.name()
                );
            }
            None => s.push_str("\"fpi_len\":null,\"compression\":null,"),
        }
        let _ = write!(s, "\"data_len\":{}}}", b.data.len());
    }
    s.push(']');
    if let Some(x) = r.toplevel_xid {
        let _ = write!(s, ",\"toplevel_xid\":{x}");
    }
    if let Some(o) = r.origin {
        let _ = write!(s, ",\"origin\":{o}");
    }
    if recycled {
        s.push_str(",\"recycled\":true");
    }
    s.push('}');
    s
}

/// One input segment file. It is mapped only while its batch is decoded, so
/// the resident set stays flat however much WAL there is.
struct InFile {
    path: PathBuf,
    /// (timeline, segment number) from the name, else from the first page.
    id: Option<(TimeLineId, SegNo)>,
}

/// Whether `name` is a WAL segment file name (24 hex digits).
fn is_segment_name(name: &str) -> bool {
    name.len() == 24 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The input files: segment files, and history files by timeline. A
/// directory (a data directory's `pg_wal`/`pg_xlog`, else the directory
/// itself) contributes its files named like segments or history files.
struct InputPaths {
    segments: Vec<PathBuf>,
    histories: BTreeMap<TimeLineId, PathBuf>,
}

fn list_inputs(inputs: &[PathBuf]) -> anyhow::Result<InputPaths> {
    let mut found = InputPaths {
        segments: Vec::new(),
        histories: BTreeMap::new(),
    };
    let name_of = |f: &std::path::Path| f.file_name().and_then(|n| n.to_str()).map(str::to_owned);
    for p in inputs {
        if p.is_dir() {
            let dir = if p.join("pg_wal").is_dir() {
                p.join("pg_wal")
            } else if p.join("pg_xlog").is_dir() {
                p.join("pg_xlog")
            } else {
                p.clone()
            };
            let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
                .with_context(|| format!("cannot list {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file())
                .collect();
            v.sort();
            for f in v {
                match name_of(&f) {
                    Some(n) if is_segment_name(&n) => found.segments.push(f),
                    Some(n) => {
                        if let Some(t) = walparse::timeline::parse_history_file_name(&n) {
                            found.histories.entry(t).or_insert(f);
                        }
                    }
                    None => {}
                }
            }
        } else if let Some(t) = name_of(p)
            .as_deref()
            .and_then(walparse::timeline::parse_history_file_name)
        {
            found.histories.insert(t, p.clone());
        } else {
            found.segments.push(p.clone());
        }
    }
    Ok(found)
}

/// Opened inputs: the stream's format, its segment files and the history
/// files by timeline.
struct Inputs {
    ctx: WalCtx,
    files: Vec<InFile>,
    histories: BTreeMap<TimeLineId, PathBuf>,
}

fn open_inputs(inputs: &[PathBuf]) -> anyhow::Result<Inputs> {
    let mut ctx = None;
    let mut out = Vec::new();
    let paths = list_inputs(inputs)?;
    for path in paths.segments {
        let ev = evidence::Evidence::open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match walparse::WalCtx::from_long_header(ev.bytes(), walparse::FileOffset(0)) {
            Ok(c) => {
                let c0 = *ctx.get_or_insert(c);
                if c0 != c {
                    eprintln!(
                        "datam: warning: {}: different WAL stream (sysid/major/sizes), skipped",
                        path.display()
                    );
                    continue;
                }
            }
            Err(e) if ctx.is_none() => {
                eprintln!("datam: warning: {}: {e}", path.display());
            }
            Err(_) => {}
        }
        let id = ctx.and_then(|c: WalCtx| {
            path.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| walparse::parse_segment_file_name(n, c.seg_size_bytes))
                .or_else(|| {
                    parse_page(&c, ev.bytes(), None)
                        .ok()
                        .map(|p| (p.tli(), SegNo(p.lsn.0 / u64::from(c.seg_size_bytes))))
                })
        });
        out.push(InFile { path, id });
    }
    let ctx = ctx.context("no WAL segment with a valid long page header among the inputs")?;
    Ok(Inputs {
        ctx,
        files: out,
        histories: paths.histories,
    })
}

type Chosen<'f> = BTreeMap<SegNo, (TimeLineId, &'f InFile)>;

/// Maps the chosen files of `segnos`.
fn open_window(
    chosen: &Chosen<'_>,
    segnos: impl Iterator<Item = SegNo>,
) -> anyhow::Result<Vec<(SegNo, evidence::Evidence)>> {
    segnos
        .filter_map(|s| chosen.get(&s).map(|(_, f)| (s, f)))
        .map(|(s, f)| {
            evidence::Evidence::open(&f.path)
                .map(|ev| (s, ev))
                .with_context(|| format!("cannot open {}", f.path.display()))
        })
        .collect()
}

/// Whether a worker's record ran past the mapped window.
fn ran_out_of_window(diags: &[Diag]) -> bool {
    diags.iter().any(|d| {
        matches!(
            d,
            Diag::Stopped {
                error: Some(walparse::Error::BadContinuation {
                    reason: walparse::error::ContProblem::PageUnavailable,
                    ..
                }),
                ..
            }
        )
    })
}

/// Runs `datam pg wal`.
pub fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let inputs = open_inputs(&args.inputs)?;
    let ctx = inputs.ctx;
    let rmid = match &args.rmgr {
        Some(n) => Some(
            walparse::rmgr::rmgr_by_name(n)
                .with_context(|| format!("unknown rmgr {n:?} (names as pg_waldump prints them)"))?,
        ),
        None => None,
    };
    let filter = Filter {
        start: args.start,
        end: args.end,
        xid: args.xid,
        rmid,
        relfilenode: args.relfilenode,
        relation: match &args.relation {
            Some(r) => Some(resolve_relation(args, r)?),
            None => None,
        },
    };
    let chosen = choose_segments(&inputs, args.timeline)?;
    let seg_bytes = u64::from(ctx.seg_size_bytes);
    let mut order: Vec<SegNo> = chosen.keys().copied().collect();
    if let Some(s) = args.start {
        order.retain(|n| n.0 >= s.0 / seg_bytes);
    }
    if let Some(e) = args.end {
        order.retain(|n| n.0 <= e.0 / seg_bytes);
    }
    let mut stats = Stats::default();
    let mut prev_last: Option<(SegNo, Lsn)> = None;
    let mut pending_stop: Option<(Lsn, walparse::Error)> = None;
    let (batch, lookahead, max_record_segs) = window_sizes(seg_bytes);
    for chunk in order.chunks(batch) {
        let (Some(lo), Some(hi)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        let evs = open_window(&chosen, (lo.0..=hi.0.saturating_add(lookahead)).map(SegNo))?;
        let src = source(ctx, &evs);
        let mut outs: Vec<(SegNo, SegOut)> = chunk
            .par_iter()
            .map(|&segno| (segno, decode_segment(&src, segno, args, &filter)))
            .collect();
        drop(src);
        drop(evs);
        for (segno, o) in &mut outs {
            if ran_out_of_window(&o.diags) {
                let wide = open_window(
                    &chosen,
                    (segno.0..=segno.0.saturating_add(max_record_segs)).map(SegNo),
                )?;
                let src = source(ctx, &wide);
                *o = decode_segment(&src, *segno, args, &filter);
            }
        }
        for (segno, o) in outs {
            if let Some((first, prev)) = o.first {
                if let Some((stop_lsn, e)) = pending_stop.take() {
                    eprintln!("datam: damage at {stop_lsn}: {e}; resumed at {first}");
                } else if let Some((pseg, plast)) = prev_last
                    && pseg.0.checked_add(1) == Some(segno.0)
                    && prev != plast
                    && args.start.is_none_or(|s| first > s)
                {
                    eprintln!(
                        "datam: warning: record at {first} has prev-link {prev}, previous record is {plast}"
                    );
                }
            }
            for d in &o.diags {
                match d {
                    Diag::Damage {
                        lsn,
                        error,
                        resumed_at,
                    } => eprintln!("datam: damage at {lsn}: {error}; resumed at {resumed_at}"),
                    Diag::Stopped {
                        lsn,
                        error: Some(e),
                    } => pending_stop = Some((*lsn, e.clone())),
                    Diag::Stopped { .. } => {}
                }
            }
            if let Some(l) = o.last {
                prev_last = Some((segno, l));
            }
            out.write_all(&o.text)?;
            stats.merge(o.stats);
        }
    }
    if let Some((lsn, e)) = pending_stop {
        eprintln!("datam: end of valid WAL at {lsn}: {e}");
    }
    if args.include_recycled {
        decode_recycled(&ctx, &chosen, args, &filter, out, &mut stats)?;
    }
    if let Some(m) = args.stats {
        write_stats(ctx.major, &stats, m, out)?;
    }
    Ok(())
}

/// Chooses one file per segment number for the wanted timeline (default:
/// the highest present). With the timeline's history (timeline 1 has no
/// ancestors; others need their history file among the inputs), each
/// segment comes from the timeline that owns its last byte, so the segment
/// holding a switch point comes from the newer timeline and an ancestor's
/// segments past its switch point are left out. Without a usable history,
/// the highest timeline at or below the wanted one wins per segment.
fn choose_segments(inputs: &Inputs, timeline: Option<u32>) -> anyhow::Result<Chosen<'_>> {
    let ided: Vec<(TimeLineId, SegNo, &InFile)> = inputs
        .files
        .iter()
        .filter_map(|f| match f.id {
            Some((t, s)) => Some((t, s, f)),
            None => {
                eprintln!(
                    "datam: warning: {}: not a WAL segment, skipped",
                    f.path.display()
                );
                None
            }
        })
        .collect();
    let tli = TimeLineId(
        timeline
            .or_else(|| ided.iter().map(|(t, _, _)| t.0).max())
            .unwrap_or(1),
    );
    let chosen = match history_of(tli, &inputs.histories) {
        Some(h) => by_history(&ided, &h, inputs.ctx.seg_size_bytes),
        None => by_highest(&ided, tli),
    };
    if chosen.is_empty() {
        bail!(
            "no WAL segment of timeline {} or earlier among the inputs",
            tli.0
        );
    }
    Ok(chosen)
}

/// Today's heuristic: per segment, the highest timeline at or below `tli`.
fn by_highest<'f>(ided: &[(TimeLineId, SegNo, &'f InFile)], tli: TimeLineId) -> Chosen<'f> {
    let mut chosen: Chosen<'f> = BTreeMap::new();
    for &(t, s, f) in ided {
        if t > tli {
            continue;
        }
        match chosen.get(&s) {
            Some((t0, _)) if *t0 >= t => {}
            _ => {
                chosen.insert(s, (t, f));
            }
        }
    }
    chosen
}

/// Per segment, the file of the timeline that owns the segment's last byte
/// in `h`. Notes (once per ancestor) the files left out because they lie
/// past that ancestor's switch point.
fn by_history<'f>(
    ided: &[(TimeLineId, SegNo, &'f InFile)],
    h: &TimelineHistory,
    seg_size_bytes: u32,
) -> Chosen<'f> {
    let seg = u64::from(seg_size_bytes);
    let last_byte = |s: SegNo| Lsn(s.0.saturating_add(1).saturating_mul(seg).saturating_sub(1));
    let mut chosen: Chosen<'f> = BTreeMap::new();
    let mut past_switch: BTreeMap<TimeLineId, usize> = BTreeMap::new();
    for &(t, s, f) in ided {
        if h.tli_of(last_byte(s)) == t {
            chosen.entry(s).or_insert((t, f));
        } else if h.switch_point(t).is_some_and(|end| last_byte(s) >= end) {
            *past_switch.entry(t).or_default() += 1;
        }
    }
    for (t, n) in past_switch {
        if let Some(end) = h.switch_point(t) {
            eprintln!(
                "datam: note: timeline {} left the history of timeline {} at {end}; \
                 {n} segment file(s) of timeline {} from there on are not read \
                 (read them with --timeline {})",
                t.0,
                h.tli().0,
                t.0,
                t.0
            );
        }
    }
    chosen
}

/// The history of `tli`: trivial for timeline 1, else parsed from its
/// history file. `None` (with a warning) when the file is missing, cannot be
/// read or has bad lines: the caller then falls back to [`by_highest`].
fn history_of(
    tli: TimeLineId,
    histories: &BTreeMap<TimeLineId, PathBuf>,
) -> Option<TimelineHistory> {
    if tli.0 <= 1 {
        return Some(TimelineHistory::root(tli));
    }
    let fallback = "choosing per segment the highest timeline at or below it, \
                    which may mix in an older timeline's segments past its switch point";
    let Some(path) = histories.get(&tli) else {
        eprintln!(
            "datam: warning: no history file {:08X}.history among the inputs; {fallback}",
            tli.0
        );
        return None;
    };
    let bytes = match read_small(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("datam: warning: {}: {e:#}; {fallback}", path.display());
            return None;
        }
    };
    let (h, problems) = TimelineHistory::parse(tli, &bytes);
    if problems.is_empty() {
        return Some(h);
    }
    for p in &problems {
        eprintln!("datam: warning: {}: {p}", path.display());
    }
    eprintln!(
        "datam: warning: {}: malformed history file, not used; {fallback}",
        path.display()
    );
    None
}

/// Reads a history file, refusing one larger than 1 MiB (real ones hold a
/// line per ancestor timeline).
fn read_small(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    const LIMIT: u64 = 1 << 20;
    let f = std::fs::File::open(path).context("cannot open")?;
    let mut bytes = Vec::new();
    f.take(LIMIT.saturating_add(1))
        .read_to_end(&mut bytes)
        .context("cannot read")?;
    if bytes.len() as u64 > LIMIT {
        bail!("larger than {LIMIT} bytes, not a history file");
    }
    Ok(bytes)
}

/// Segments per parallel batch, segments mapped beyond a batch (records may
/// continue into the following segments: 64 MiB worth), and the window of
/// a redo for a record longer than that (up to 1 GB).
fn window_sizes(seg_bytes: u64) -> (usize, u64, u64) {
    let batch = rayon::current_num_threads().max(1) * 2;
    let lookahead = (64u64 << 20).div_ceil(seg_bytes).max(2);
    let max_record_segs = (1u64 << 30).div_ceil(seg_bytes).saturating_add(1);
    (batch, lookahead, max_record_segs)
}

fn source<'a>(ctx: WalCtx, evs: &'a [(SegNo, evidence::Evidence)]) -> WalSource<'a> {
    WalSource::new(
        ctx,
        evs.iter()
            .map(|(s, ev)| Segment {
                segno: *s,
                bytes: ev.bytes(),
            })
            .collect(),
    )
}

/// A sink that also keeps the reader's diagnostics.
struct Tap<S> {
    inner: S,
    diags: Vec<Diag>,
}

impl<S: Sink<Error = std::convert::Infallible>> Sink for Tap<S> {
    type Error = std::convert::Infallible;
    fn record(&mut self, r: &Record<'_>) -> Result<bool, Self::Error> {
        self.inner.record(r)
    }
    fn diag(&mut self, d: &Diag) -> Result<bool, Self::Error> {
        self.diags.push(d.clone());
        self.inner.diag(d)
    }
}

fn run_tap<S: Sink<Error = std::convert::Infallible>>(
    src: &WalSource<'_>,
    segno: SegNo,
    sink: S,
) -> Tap<S> {
    let start = src.segment_start(segno);
    let stop = Lsn(start.0.saturating_add(u64::from(src.ctx().seg_size_bytes)));
    let opts = ReadOptions {
        start: Some(start),
        start_is_record: false,
        stop: Some(stop),
        expect_prev: None,
    };
    let mut tap = Tap {
        inner: sink,
        diags: Vec::new(),
    };
    let Ok(()) = Reader::new(src, opts).run(&mut tap);
    tap
}

/// Runs one sink per WAL segment of `inputs` (a data directory, a WAL
/// directory or segment files; highest timeline, following its history
/// file), choosing and decoding segments in parallel batches as
/// `datam pg wal` does, and hands each sink to `each`
/// in segment order. Damage is reported on stderr. Returns the stream's
/// format parameters.
pub(crate) fn for_each_segment<S, M, F>(
    inputs: &[PathBuf],
    make: M,
    mut each: F,
) -> anyhow::Result<WalCtx>
where
    S: Sink<Error = std::convert::Infallible> + Send,
    M: Fn() -> S + Sync,
    F: FnMut(SegNo, S),
{
    let inputs = open_inputs(inputs)?;
    let ctx = inputs.ctx;
    let chosen = choose_segments(&inputs, None)?;
    let order: Vec<SegNo> = chosen.keys().copied().collect();
    let seg_bytes = u64::from(ctx.seg_size_bytes);
    let (batch, lookahead, max_record_segs) = window_sizes(seg_bytes);
    for chunk in order.chunks(batch) {
        let (Some(lo), Some(hi)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        let evs = open_window(&chosen, (lo.0..=hi.0.saturating_add(lookahead)).map(SegNo))?;
        let src = source(ctx, &evs);
        let outs: Vec<(SegNo, Tap<S>)> = chunk
            .par_iter()
            .map(|&segno| (segno, run_tap(&src, segno, make())))
            .collect();
        for (segno, mut tap) in outs {
            if ran_out_of_window(&tap.diags) {
                let wide = open_window(
                    &chosen,
                    (segno.0..=segno.0.saturating_add(max_record_segs)).map(SegNo),
                )?;
                tap = run_tap(&source(ctx, &wide), segno, make());
            }
            for d in &tap.diags {
                if let Diag::Damage {
                    lsn,
                    error,
                    resumed_at,
                } = d
                {
                    eprintln!("datam: damage at {lsn}: {error}; resumed at {resumed_at}");
                }
            }
            each(segno, tap.inner);
        }
    }
    Ok(ctx)
}

/// Resolves `--relation SCHEMA.TABLE` to (database oid, relfilenode) with
/// the pgdata catalog reader.
fn resolve_relation(args: &Args, rel: &str) -> anyhow::Result<(u32, u32)> {
    let (schema, table) = rel
        .split_once('.')
        .with_context(|| format!("--relation wants SCHEMA.TABLE, got {rel:?}"))?;
    let root = args
        .inputs
        .first()
        .filter(|p| p.join("PG_VERSION").is_file())
        .context("--relation needs a data directory (PGDATA) as the first input")?;
    let dir = pgdata::DataDir::open(root)?;
    let mut warnings = Vec::new();
    let dbs = pgdata::catalog::databases(&dir, &mut warnings)?;
    let mut found = Vec::new();
    for db in dbs {
        if args.database.as_ref().is_some_and(|d| *d != db.name) || db.name == "template0" {
            continue;
        }
        let name = db.name.clone();
        let Ok(cat) = pgdata::catalog::Catalog::open(&dir, db) else {
            continue;
        };
        if let Some(c) = cat.find_table(schema, table) {
            let loc = cat.locator(c)?;
            found.push((name, loc.db_oid, loc.rel_number));
        }
    }
    match found.as_slice() {
        [(_, db, rel)] => Ok((*db, *rel)),
        [] => bail!("no table {rel} in the catalog of {}", root.display()),
        many => bail!(
            "table {rel} exists in several databases ({}); choose one with --database",
            many.iter()
                .map(|m| m.0.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn decode_segment(src: &WalSource<'_>, segno: SegNo, args: &Args, filter: &Filter) -> SegOut {
    let seg_start = src.segment_start(segno);
    let next = Lsn(seg_start
        .0
        .saturating_add(u64::from(src.ctx().seg_size_bytes)));
    let (start, is_record) = match args.start {
        Some(s) if src.segno_of(s) == segno => (s, true),
        _ => (seg_start, false),
    };
    let stop = match args.end {
        Some(e) if e < next => e,
        _ => next,
    };
    let opts = ReadOptions {
        start: Some(start),
        start_is_record: is_record,
        stop: Some(stop),
        expect_prev: None,
    };
    let mut sink = Collect {
        major: src.ctx().major,
        filter,
        format: args.format,
        stats: args.stats,
        recycled: false,
        out: SegOut::default(),
    };
    let Ok(()) = Reader::new(src, opts).run(&mut sink);
    sink.out
}

/// Decodes pages of recycled segments: runs of pages whose address is older
/// than the file's own position, read at their old LSNs.
fn decode_recycled(
    ctx: &WalCtx,
    chosen: &Chosen<'_>,
    args: &Args,
    filter: &Filter,
    out: &mut dyn Write,
    stats: &mut Stats,
) -> anyhow::Result<()> {
    let blk = ctx.block_size_bytes as usize;
    for (segno, (_, f)) in chosen {
        let ev = evidence::Evidence::open(&f.path)
            .with_context(|| format!("cannot open {}", f.path.display()))?;
        let bytes = ev.bytes();
        let base = segno.0.saturating_mul(u64::from(ctx.seg_size_bytes));
        // Old segment number → first page offset holding it.
        let mut runs: BTreeMap<u64, Lsn> = BTreeMap::new();
        for (k, page) in bytes.chunks(blk).enumerate() {
            let expect = base.saturating_add((k * blk) as u64);
            if let Ok(p) = parse_page(ctx, page, None)
                && p.lsn.0 < expect
                && p.lsn.0 % u64::from(ctx.seg_size_bytes) == (k * blk) as u64
            {
                runs.entry(p.lsn.0 / u64::from(ctx.seg_size_bytes))
                    .or_insert(p.lsn);
            }
        }
        for (old, first_page) in runs {
            let src = WalSource::new(
                *ctx,
                vec![Segment {
                    segno: SegNo(old),
                    bytes,
                }],
            );
            let opts = ReadOptions {
                start: Some(first_page),
                start_is_record: false,
                stop: None,
                expect_prev: None,
            };
            let mut sink = Collect {
                major: ctx.major,
                filter,
                format: args.format,
                stats: args.stats,
                recycled: true,
                out: SegOut::default(),
            };
            let Ok(()) = Reader::new(&src, opts).run(&mut sink);
            out.write_all(&sink.out.text)?;
            stats.merge(sink.out.stats);
        }
    }
    Ok(())
}

fn pct(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

fn write_stats(
    major: PgMajor,
    s: &Stats,
    mode: StatsMode,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let (n, rec, fpi) = s
        .by_key
        .values()
        .fold((0u64, 0u64, 0u64), |a, v| (a.0 + v.0, a.1 + v.1, a.2 + v.2));
    let tot = rec + fpi;
    writeln!(
        out,
        "WAL statistics between {} and {}:",
        s.first.unwrap_or_default(),
        s.last_end.unwrap_or_default()
    )?;
    writeln!(
        out,
        "{:<27} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8}",
        "Type", "N", "(%)", "Record size", "(%)", "FPI size", "(%)", "Combined size", "(%)"
    )?;
    writeln!(
        out,
        "{:<27} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8}",
        "----", "-", "---", "-----------", "---", "--------", "---", "-------------", "---"
    )?;
    for ((rmid, info), (c, r, f)) in &s.by_key {
        let name = match mode {
            StatsMode::Rmgr => walparse::rmgr::rmgr_name(*rmid).into_owned(),
            StatsMode::Record => format!(
                "{}/{}",
                walparse::rmgr::rmgr_name(*rmid),
                walparse::rmgr::record_type_name(major, *rmid, *info)
                    .unwrap_or_else(|| format!("UNKNOWN ({info:x})"))
            ),
        };
        writeln!(
            out,
            "{name:<27} {c:>20} ({:>6.02}) {r:>20} ({:>6.02}) {f:>20} ({:>6.02}) {:>20} ({:>6.02})",
            pct(*c, n),
            pct(*r, rec),
            pct(*f, fpi),
            r + f,
            pct(r + f, tot)
        )?;
    }
    writeln!(
        out,
        "{:<27} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8} {:>20}",
        "", "--------", "", "--------", "", "--------", "", "--------"
    )?;
    writeln!(
        out,
        "{:<27} {n:>20} {:>8} {rec:>20} [{:>5.02}%] {fpi:>20} [{:>5.02}%] {tot:>20} [100%]",
        "Total",
        "",
        pct(rec, tot),
        pct(fpi, tot)
    )?;
    Ok(())
}
