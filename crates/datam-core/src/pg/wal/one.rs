//! One WAL segment on its own, from bytes the caller holds (a task of a
//! distributed engine reading an object store): the records that *start*
//! in it, continuations read from the following segment when given. Over
//! an archive, the union of every segment's records is one sequential scan.

use walparse::{FileOffset, SegNo, Segment, WalCtx, WalSource};

use super::driver::{damage, run_tap};
use crate::job::{Diagnostic, JobCtx};
use crate::pg::{Error, Result};

/// One segment's bytes and, when known, its file name (which gives its
/// timeline and number).
#[derive(Debug, Clone, Copy)]
pub struct SegmentBytes<'a> {
    /// The whole segment file.
    pub bytes: &'a [u8],
    /// Its file name (`000000010000000000000003`), when known.
    pub name: Option<&'a str>,
    /// How messages name it (a path, an object-store key).
    pub label: &'a str,
}

impl SegmentBytes<'_> {
    fn bad(&self, source: walparse::Error) -> Error {
        Error::BadSegment {
            label: self.label.to_string(),
            offset: 0,
            source,
        }
    }

    /// The segment number: from the file name when it is a segment name (a
    /// recycled segment's pages still carry their old addresses), else from
    /// the first page.
    fn segno(&self, ctx: &WalCtx) -> Result<SegNo> {
        if let Some((_, s)) = self
            .name
            .and_then(|n| walparse::parse_segment_file_name(n, ctx.seg_size_bytes))
        {
            return Ok(s);
        }
        let page = walparse::parse_page(ctx, self.bytes, None).map_err(|e| self.bad(e))?;
        Ok(SegNo(page.lsn.0 / u64::from(ctx.seg_size_bytes).max(1)))
    }
}

/// Runs the sink `make` gives for the stream's format over the records that start in `seg`, reading their
/// continuations from `next` (the following segment). Damage goes to the
/// job's diagnostics (naming the segment); a `next` that is not the
/// following segment is ignored with a warning. Fails when `seg` has no
/// valid long page header.
pub fn scan_one_segment<S, M>(
    seg: SegmentBytes<'_>,
    next: Option<SegmentBytes<'_>>,
    job: &JobCtx,
    make: M,
) -> Result<S>
where
    S: walparse::Sink<Error = std::convert::Infallible>,
    M: FnOnce(&WalCtx) -> S,
{
    let ctx = WalCtx::from_long_header(seg.bytes, FileOffset(0)).map_err(|e| seg.bad(e))?;
    let segno = seg.segno(&ctx)?;
    let following = segno.0.saturating_add(1);
    let mut segments = vec![Segment {
        segno,
        bytes: seg.bytes,
    }];
    if let Some(n) = next {
        match n.segno(&ctx) {
            Ok(s) if s.0 == following => segments.push(Segment {
                segno: s,
                bytes: n.bytes,
            }),
            Ok(s) => job.diagnostic(
                Diagnostic::warning(
                    "next-segment-mismatch",
                    format!(
                        "next segment is segment {} of the WAL, not {following}; ignored",
                        s.0
                    ),
                )
                .in_file(n.label),
            ),
            // A damaged first page: continuations are read from what is there.
            Err(_) => segments.push(Segment {
                segno: SegNo(following),
                bytes: n.bytes,
            }),
        }
    }
    let src = WalSource::new(ctx, segments);
    job.check()?;
    let tap = run_tap(&src, segno, make(&ctx));
    for d in &tap.diags {
        if let walparse::Diag::Damage {
            lsn,
            error,
            resumed_at,
        } = d
        {
            job.diagnostic(damage(*lsn, error, *resumed_at).in_file(seg.label));
        }
    }
    Ok(tap.inner)
}
