//! The inputs of a WAL scan: which files are segments and history files,
//! the stream's format parameters, and which file is read for each segment
//! number of the wanted timeline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use walparse::{Lsn, SegNo, TimeLineId, WalCtx, parse_page, timeline::TimelineHistory};

use crate::job::{Diagnostic, JobCtx};
use crate::pg::{Error, Result};

/// One input segment file. It is mapped only while its batch is decoded, so
/// the resident set stays flat however much WAL there is.
pub(crate) struct InFile {
    pub(crate) path: PathBuf,
    /// (timeline, segment number) from the name, else from the first page.
    id: Option<(TimeLineId, SegNo)>,
    /// Named `….partial`: the segment a server stopped writing on this
    /// timeline when a standby was promoted (or `pg_receivewal`'s current
    /// one); valid only up to where it was written.
    pub(crate) partial: bool,
}

/// Whether `name` is a WAL segment file name (24 hex digits), complete or
/// `.partial`.
pub(crate) fn is_segment_name(name: &str) -> bool {
    segment_stem(name).is_some()
}

/// The 24-hex-digit segment name of `name` (a segment file name or one
/// ending in `.partial`) and whether it is partial.
fn segment_stem(name: &str) -> Option<(&str, bool)> {
    let (stem, partial) = match name.strip_suffix(".partial") {
        Some(stem) => (stem, true),
        None => (name, false),
    };
    (stem.len() == 24 && stem.bytes().all(|b| b.is_ascii_hexdigit())).then_some((stem, partial))
}

/// The input files: segment files, and history files by timeline.
struct InputPaths {
    segments: Vec<PathBuf>,
    histories: BTreeMap<TimeLineId, PathBuf>,
}

fn name_of(f: &Path) -> Option<String> {
    f.file_name().and_then(|n| n.to_str()).map(str::to_owned)
}

/// The WAL directory of `p`: its `pg_wal`/`pg_xlog` when it is a data
/// directory, else `p` itself.
fn wal_dir_of(p: &Path) -> PathBuf {
    if evidence::vfs::is_dir(&p.join("pg_wal")) {
        p.join("pg_wal")
    } else if evidence::vfs::is_dir(&p.join("pg_xlog")) {
        p.join("pg_xlog")
    } else {
        p.to_path_buf()
    }
}

/// The regular files of `dir`, sorted.
fn files_of(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = evidence::vfs::read_dir(dir).map_err(|source| Error::List {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(rd
        .into_iter()
        .filter(|f| evidence::vfs::is_file(f))
        .collect())
}

/// A directory contributes its files named like segments or history files.
fn list_inputs(inputs: &[PathBuf]) -> Result<InputPaths> {
    let mut found = InputPaths {
        segments: Vec::new(),
        histories: BTreeMap::new(),
    };
    for p in inputs {
        if evidence::vfs::is_dir(p) {
            for f in files_of(&wal_dir_of(p))? {
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
pub(crate) struct Inputs {
    pub(crate) ctx: WalCtx,
    files: Vec<InFile>,
    histories: BTreeMap<TimeLineId, PathBuf>,
}

/// Opens every input once to read its long page header: the first valid
/// one fixes the stream; files of another stream are skipped.
pub(crate) fn open_inputs(inputs: &[PathBuf], job: &JobCtx) -> Result<Inputs> {
    let mut ctx = None;
    let mut out = Vec::new();
    let paths = list_inputs(inputs)?;
    for path in paths.segments {
        job.check()?;
        let ev = evidence::Evidence::open(&path)?;
        match WalCtx::from_long_header(ev.bytes(), walparse::FileOffset(0)) {
            Ok(c) => {
                let c0 = *ctx.get_or_insert(c);
                if c0 != c {
                    job.diagnostic(
                        Diagnostic::warning(
                            "other-wal-stream",
                            "different WAL stream (sysid/major/sizes), skipped",
                        )
                        .in_file(path.display().to_string()),
                    );
                    continue;
                }
            }
            Err(e) if ctx.is_none() => job.diagnostic(
                Diagnostic::warning("bad-long-header", e.to_string())
                    .in_file(path.display().to_string()),
            ),
            Err(_) => {}
        }
        let name = name_of(&path);
        let stem = name.as_deref().and_then(segment_stem);
        let id = ctx.and_then(|c: WalCtx| {
            stem.and_then(|(n, _)| walparse::parse_segment_file_name(n, c.seg_size_bytes))
                .or_else(|| {
                    parse_page(&c, ev.bytes(), None)
                        .ok()
                        .map(|p| (p.tli(), SegNo(p.lsn.0 / u64::from(c.seg_size_bytes))))
                })
        });
        let partial = stem.is_some_and(|(_, p)| p);
        out.push(InFile { path, id, partial });
    }
    // A complete file before a partial one of the same segment and timeline.
    out.sort_by_key(|f| f.partial);
    let ctx = ctx.ok_or(Error::NoWalStream)?;
    Ok(Inputs {
        ctx,
        files: out,
        histories: paths.histories,
    })
}

/// The file read for one segment number.
#[derive(Clone, Copy)]
pub(crate) struct Pick<'f> {
    /// The timeline whose copy of the segment it is.
    pub(crate) tli: TimeLineId,
    pub(crate) file: &'f InFile,
    /// Read only before this LSN: an older timeline's copy of the segment
    /// holding its switch point, read because the newer timeline's copy is
    /// not among the inputs.
    pub(crate) end: Option<Lsn>,
}

impl<'f> Pick<'f> {
    fn whole(tli: TimeLineId, file: &'f InFile) -> Self {
        Self {
            tli,
            file,
            end: None,
        }
    }
}

/// The file read for each segment number.
pub(crate) type Chosen<'f> = BTreeMap<SegNo, Pick<'f>>;

/// One mapped segment of a window, with the LSN its bytes end at when they
/// are read only up to a switch point.
pub(crate) type Mapped = (SegNo, evidence::Evidence, Option<Lsn>);

/// Maps the chosen files of `segnos`.
pub(crate) fn open_window(
    chosen: &Chosen<'_>,
    segnos: impl Iterator<Item = SegNo>,
) -> Result<Vec<Mapped>> {
    segnos
        .filter_map(|s| chosen.get(&s).map(|p| (s, p)))
        .map(|(s, p)| Ok((s, evidence::Evidence::open(&p.file.path)?, p.end)))
        .collect()
}

/// Chooses one file per segment number for the wanted timeline (default:
/// the highest present). With the timeline's history (timeline 1 has no
/// ancestors; others need their history file among the inputs), each
/// segment comes from the timeline that owns its last byte, so the segment
/// holding a switch point comes from the newer timeline and an ancestor's
/// segments past its switch point are left out. Without a usable history,
/// the highest timeline at or below the wanted one wins per segment.
pub(crate) fn choose_segments<'i>(
    inputs: &'i Inputs,
    timeline: Option<u32>,
    job: &JobCtx,
) -> Result<Chosen<'i>> {
    let ided: Vec<(TimeLineId, SegNo, &InFile)> = inputs
        .files
        .iter()
        .filter_map(|f| match f.id {
            Some((t, s)) => Some((t, s, f)),
            None => {
                job.diagnostic(
                    Diagnostic::warning("not-a-segment", "not a WAL segment, skipped")
                        .in_file(f.path.display().to_string()),
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
    let chosen = match history_of(tli, &inputs.histories, job) {
        Some(h) => by_history(&ided, &h, inputs.ctx.seg_size_bytes, job),
        None => by_highest(&ided, tli),
    };
    if chosen.is_empty() {
        return Err(Error::NoSegmentOfTimeline { timeline: tli.0 });
    }
    for (segno, p) in &chosen {
        if p.file.partial {
            job.diagnostic(
                Diagnostic::note(
                    "partial-segment",
                    format!(
                        "segment {} of timeline {} is read from a .partial file \
                         (written only up to where its server stopped on that timeline){}",
                        segno.0,
                        p.tli.0,
                        p.end
                            .map(|e| format!(", up to the switch point {e}"))
                            .unwrap_or_default()
                    ),
                )
                .in_file(p.file.path.display().to_string()),
            );
        }
    }
    Ok(chosen)
}

/// The fallback: per segment, the highest timeline at or below `tli`.
fn by_highest<'f>(ided: &[(TimeLineId, SegNo, &'f InFile)], tli: TimeLineId) -> Chosen<'f> {
    let mut chosen: Chosen<'f> = BTreeMap::new();
    for &(t, s, f) in ided {
        if t > tli {
            continue;
        }
        match chosen.get(&s) {
            Some(p) if p.tli >= t => {}
            _ => {
                chosen.insert(s, Pick::whole(t, f));
            }
        }
    }
    chosen
}

/// Per segment, the file of the timeline that owns the segment's last byte
/// in `h`. Where that file is missing, an ancestor's copy of the segment is
/// read up to the ancestor's switch point (the bytes before it are the same
/// history), with a warning naming the part of the stream that is not in
/// the inputs. Notes (once per ancestor) the files left out because they
/// lie past that ancestor's switch point.
fn by_history<'f>(
    ided: &[(TimeLineId, SegNo, &'f InFile)],
    h: &TimelineHistory,
    seg_size_bytes: u32,
    job: &JobCtx,
) -> Chosen<'f> {
    let seg = u64::from(seg_size_bytes);
    let first_byte = |s: SegNo| Lsn(s.0.saturating_mul(seg));
    let last_byte = |s: SegNo| Lsn(s.0.saturating_add(1).saturating_mul(seg).saturating_sub(1));
    let mut chosen: Chosen<'f> = BTreeMap::new();
    let mut past_switch: BTreeMap<TimeLineId, usize> = BTreeMap::new();
    for &(t, s, f) in ided {
        if h.tli_of(last_byte(s)) == t {
            chosen.entry(s).or_insert(Pick::whole(t, f));
        }
    }
    // Segments whose owner's copy is missing: the ancestor copy that reaches
    // furthest (the newest ancestor whose switch point lies inside it).
    let mut cut: Chosen<'f> = BTreeMap::new();
    for &(t, s, f) in ided {
        let Some(end) = h.switch_point(t) else {
            continue;
        };
        if chosen.contains_key(&s) || end <= first_byte(s) || end > last_byte(s) {
            continue;
        }
        match cut.get(&s) {
            Some(p) if p.end >= Some(end) => {}
            _ => {
                cut.insert(
                    s,
                    Pick {
                        tli: t,
                        file: f,
                        end: Some(end),
                    },
                );
            }
        }
    }
    for (s, p) in cut {
        let owner = h.tli_of(last_byte(s));
        job.diagnostic(
            Diagnostic::warning(
                "switch-segment-from-ancestor",
                format!(
                    "segment {} of timeline {} is not among the inputs; timeline {}'s copy \
                     is read up to its switch point {}; the records of the history from there \
                     to the end of the segment are missing",
                    s.0,
                    owner.0,
                    p.tli.0,
                    p.end.map(|e| e.to_string()).unwrap_or_default()
                ),
            )
            .in_file(p.file.path.display().to_string()),
        );
        chosen.insert(s, p);
    }
    for &(t, s, f) in ided {
        let read = chosen.get(&s).is_some_and(|p| std::ptr::eq(p.file, f));
        if !read && h.switch_point(t).is_some_and(|end| last_byte(s) >= end) {
            *past_switch.entry(t).or_default() += 1;
        }
    }
    for (t, n) in past_switch {
        if let Some(end) = h.switch_point(t) {
            job.diagnostic(Diagnostic::note(
                "past-switch-point",
                format!(
                    "timeline {} left the history of timeline {} at {end}; \
                     {n} segment file(s) of timeline {} from there on are not read \
                     (read them with --timeline {})",
                    t.0,
                    h.tli().0,
                    t.0,
                    t.0
                ),
            ));
        }
    }
    chosen
}

const FALLBACK: &str = "choosing per segment the highest timeline at or below it, \
                        which may mix in an older timeline's segments past its switch point";

/// The history of `tli`: trivial for timeline 1, else parsed from its
/// history file. `None` (with a warning) when the file is missing, cannot be
/// read or has bad lines: the caller then falls back to [`by_highest`].
fn history_of(
    tli: TimeLineId,
    histories: &BTreeMap<TimeLineId, PathBuf>,
    job: &JobCtx,
) -> Option<TimelineHistory> {
    if tli.0 <= 1 {
        return Some(TimelineHistory::root(tli));
    }
    let Some(path) = histories.get(&tli) else {
        job.diagnostic(Diagnostic::warning(
            "no-history-file",
            format!(
                "no history file {:08X}.history among the inputs; {FALLBACK}",
                tli.0
            ),
        ));
        return None;
    };
    let file = path.display().to_string();
    let bytes = match read_small(path) {
        Ok(b) => b,
        Err(e) => {
            job.diagnostic(
                Diagnostic::warning("unreadable-history", format!("{e}; {FALLBACK}")).in_file(file),
            );
            return None;
        }
    };
    let (h, problems) = TimelineHistory::parse(tli, &bytes);
    if problems.is_empty() {
        return Some(h);
    }
    for p in &problems {
        job.diagnostic(Diagnostic::warning("bad-history-line", p.to_string()).in_file(&file));
    }
    job.diagnostic(
        Diagnostic::warning(
            "malformed-history",
            format!("malformed history file, not used; {FALLBACK}"),
        )
        .in_file(file),
    );
    None
}

/// Why a history file was not read.
#[derive(Debug, thiserror::Error)]
enum SmallFileError {
    #[error("cannot open: {0}")]
    Open(std::io::Error),
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    #[error("larger than {0} bytes, not a history file")]
    TooLarge(u64),
}

/// Reads a history file, refusing one larger than 1 MiB (real ones hold a
/// line per ancestor timeline).
fn read_small(path: &Path) -> std::result::Result<Vec<u8>, SmallFileError> {
    const LIMIT: u64 = 1 << 20;
    if let evidence::vfs::Kind::File { len_bytes } =
        evidence::vfs::kind(path).map_err(SmallFileError::Open)?
        && len_bytes > LIMIT
    {
        return Err(SmallFileError::TooLarge(LIMIT));
    }
    let ev = evidence::Evidence::open(path)
        .map_err(|e| SmallFileError::Read(std::io::Error::other(e)))?;
    if ev.len_bytes() > LIMIT {
        return Err(SmallFileError::TooLarge(LIMIT));
    }
    Ok(ev.bytes().to_vec())
}
