//! Carving deleted cells out of free space: freeblocks, the unallocated gap,
//! and the tails of freelist trunk pages.
//!
//! When SQLite frees a cell it becomes (part of) a freeblock, whose 4-byte
//! header overwrites the cell's first 4 bytes:
//!
//! ```text
//! live cell:   | payload len | rowid | hdr len | st1 | st2 ... | body ...
//! freed cell:  | next fb (2) | size (2)  ...clobbered... | st2 ... | body ...
//!              '---------- 4 bytes ----------'
//! ```
//! The carver tries every split of those 4 bytes into payload-length and rowid
//! varints (2..=9 bytes), rebuilds the clobbered header length and first
//! serial type from the table's schema (column count and affinities) and the
//! stale size field, and keeps the hypothesis whose record is consistent with
//! the schema and ends where the free space does. Cells whose header is still
//! intact (later cells of a merged freeblock) are parsed directly. Where two
//! generations of residue overlap (the unallocated gap after a page was
//! rebuilt), a carved cell whose tail holds the intact header of a later cell
//! is dropped rather than reported with values that are not its own.

use std::borrow::Cow;

use rowcodec::sqlite::{OwnedValue, Record, SerialType, TextEncoding, Value, varint};

use crate::PageNo;
use crate::cell::{CellKind, PageSource, PayloadCell, assemble_payload, local_payload_len};
use crate::schema::{Affinity, Table};

/// One carved record.
#[derive(Debug, Clone, PartialEq)]
pub struct Carved {
    /// Page offset where the cell starts.
    pub offset: usize,
    /// Page offset just past the cell.
    pub end: usize,
    /// Index of the table in the candidate list.
    pub table: usize,
    /// The rowid when it survived.
    pub rowid: Option<i64>,
    /// Values in schema order.
    pub values: Vec<OwnedValue>,
    /// 0..=1; lower when header bytes had to be rebuilt.
    pub confidence: f32,
    /// Schema columns whose bytes were overwritten (bit `i` = column `i`;
    /// their values are `Null`): a partial row. 0 for a complete one.
    pub lost: u64,
}

/// Is serial type `t` plausible for a column of affinity `a` in carved data?
pub fn compatible(a: Affinity, t: SerialType) -> bool {
    match t {
        SerialType::Null => true,
        SerialType::Reserved(_) => false,
        SerialType::Int(_) | SerialType::Zero | SerialType::One => !matches!(a, Affinity::Text),
        SerialType::Real => !matches!(a, Affinity::Text),
        SerialType::Text(_) => matches!(a, Affinity::Text | Affinity::Blob | Affinity::Numeric),
        SerialType::Blob(_) => matches!(a, Affinity::Blob),
    }
}

/// Checks serial types (in record order) against a table and returns how many
/// columns they cover, or `None` if they cannot be this table's record.
fn fits_table(t: &Table, types: &[SerialType]) -> bool {
    if types.is_empty() || types.len() > t.columns.len() {
        return false;
    }
    types.iter().enumerate().all(|(i, st)| {
        let col = t.record_order.get(i).and_then(|&c| t.columns.get(c));
        match col {
            Some(c) => {
                if t.rowid_alias == Some(i) {
                    matches!(st, SerialType::Null)
                } else {
                    compatible(c.affinity, *st) && !(c.not_null && *st == SerialType::Null)
                }
            }
            None => false,
        }
    })
}

/// Builds schema-order values from a decoded record (padding missing
/// trailing columns with NULL and putting the rowid into its alias).
pub fn to_schema_values(
    t: &Table,
    vals: &[Option<Value<'_>>],
    rowid: Option<i64>,
    enc: TextEncoding,
) -> Vec<OwnedValue> {
    let mut out = Vec::with_capacity(t.columns.len());
    schema_values_into(t, vals, rowid, &mut out);
    out.iter().map(|v| v.to_owned_value(enc)).collect()
}

/// [`to_schema_values`] without copying: borrowed values into `out`
/// (cleared first), which the caller reuses from row to row.
pub fn schema_values_into<'a>(
    t: &Table,
    vals: &[Option<Value<'a>>],
    rowid: Option<i64>,
    out: &mut Vec<Value<'a>>,
) {
    out.clear();
    out.resize(t.columns.len(), Value::Null);
    for (i, v) in vals.iter().enumerate() {
        if let (Some(&c), Some(v)) = (t.record_order.get(i), v)
            && let Some(slot) = out.get_mut(c)
        {
            *slot = match (v, t.columns.get(c).map(|c| c.affinity)) {
                // REAL columns store integral values as integers; SQLite reads them back as reals.
                (Value::Int(i), Some(Affinity::Real)) => Value::Real(*i as f64),
                _ => *v,
            };
        }
    }
    if let (Some(a), Some(r)) = (t.rowid_alias, rowid)
        && let Some(slot) = out.get_mut(a)
    {
        *slot = Value::Int(r);
    }
}

fn text_ok(types: &[SerialType], body: &[u8], enc: TextEncoding) -> bool {
    let mut off = 0usize;
    for t in types {
        let n = usize::try_from(t.content_len()).unwrap_or(usize::MAX);
        let Some(b) = off.checked_add(n).and_then(|e| body.get(off..e)) else {
            return true;
        };
        if matches!(t, SerialType::Text(_)) && (!enc.is_valid(b) || has_nul(b, enc)) {
            return false;
        }
        off = off.saturating_add(n);
    }
    true
}

/// Is `b` no text SQLite wrote: a NUL character (a zero byte in UTF-8, a
/// zero code unit in UTF-16, whose ASCII characters have a zero byte each),
/// an odd UTF-16 length, or UTF-16 read one byte off (mostly ASCII with its
/// bytes swapped: U+3700 for '7')?
fn has_nul(b: &[u8], enc: TextEncoding) -> bool {
    let swapped = |u: &[u8], ascii: usize| {
        u.get(1 - ascii) == Some(&0) && u.get(ascii).is_some_and(|c| (0x20..0x7f).contains(c))
    };
    let units = b.chunks_exact(2);
    match enc {
        TextEncoding::Utf8 => b.contains(&0),
        TextEncoding::Utf16le | TextEncoding::Utf16be => {
            // Where an ASCII character's nonzero byte sits in a unit read
            // with the wrong alignment.
            let at = usize::from(enc == TextEncoding::Utf16le);
            !b.len().is_multiple_of(2)
                || units.clone().any(|u| u == [0, 0])
                || units.filter(|u| swapped(u, at)).count() * 2 > b.len() / 2
        }
    }
}

/// Context of a carve.
pub struct CarveCtx<'a> {
    /// The page's usable bytes.
    pub page: &'a [u8],
    /// The page number.
    pub page_no: PageNo,
    /// Candidate tables (rowid tables only).
    pub tables: &'a [&'a Table],
    /// Text encoding.
    pub enc: TextEncoding,
    /// For overflow chains.
    pub src: &'a dyn PageSource,
    /// Serial-type codes of the first record column seen in intact cells of
    /// this page, as `(index into tables, code)`: when a freeblock header
    /// clobbered a cell's first serial type, a code the table's intact rows
    /// use is the better guess between hypotheses the bytes cannot separate
    /// (e.g. an id stored as int8 `0x4e` + text, or as int16 `0x4e28`).
    pub col0_codes: &'a [(usize, u64)],
    /// Offsets where an intact cell starts that was written after the cell
    /// physically below it (its rowid is the greater): a freeblock ending
    /// there lost its tail to it, so its end says nothing of the length of
    /// the record it held.
    pub late_starts: &'a [usize],
    /// Only records with every column of their table (pages no table
    /// owns: the residue of index pages holds records shaped like a
    /// table's first columns).
    pub full_records: bool,
}

struct Hyp {
    table: usize,
    types: Vec<SerialType>,
    hdr_len: usize,
    /// Record start.
    rec: usize,
    rowid: Option<i64>,
    score: f32,
}

impl<'a> CarveCtx<'a> {
    /// Carves `[start, end)`; `clobbered_start` says the first 4 bytes are a
    /// freeblock header. Returns carved rows in offset order.
    pub fn carve_region(&self, start: usize, end: usize, clobbered_start: bool) -> Vec<Carved> {
        let mut out = Vec::new();
        let mut p = start;
        let end = end.min(self.page.len());
        let mut guard = 0usize;
        while p.saturating_add(5) <= end {
            guard += 1;
            if guard > 70_000 {
                break;
            }
            let w = self.page.get(p..p + 4).unwrap_or_default();
            if w.iter().all(|&b| b == 0) {
                p += 1;
                continue;
            }
            let known = p == start && clobbered_start;
            match self.best_at_depth(p, end, known, true) {
                Some((s, l))
                    if l.end > p
                        && !l.strong
                        && let Some(q) = self.better_near(p, end, s, l.end) =>
                {
                    // A weak reading overlapping a better one that starts
                    // just after it (a cell whose own header is intact, or
                    // whose stale freeblock size closes the space): the
                    // later one is the cell.
                    p = q;
                }
                Some((_, l))
                    if known
                        && l.rowid.is_none()
                        && let Some(q) = self.intact_header_before(p, l.rec) =>
                {
                    // The freeblock header clobbered an older cell's start,
                    // but the record is that of a cell whose own payload
                    // length and rowid survive just after it (two
                    // generations of layout): that cell, with its rowid.
                    p = q;
                }
                Some((_, l)) if l.end > p => {
                    let closes =
                        l.end == end || self.stale_at(p, end).is_some_and(|s| p + s == l.end);
                    if !closes && let Some(q) = self.intact_cell_in_tail(l.offset, l.end, end) {
                        // A cell written later over this one's tail (residue
                        // of an older page layout): its last values are not
                        // its own. A cell whose start is known keeps the
                        // columns stored before `q` (a partial row); any
                        // other is dropped. Carving goes on from the newer cell.
                        if l.strong
                            && let Some(c) = self.materialise(l, Some(q))
                        {
                            out.push(c);
                        }
                        p = q;
                        continue;
                    }
                    p = l.end;
                    if let Some(c) = self.materialise(l, None) {
                        out.push(c);
                    }
                }
                _ => p += 1,
            }
        }
        out
    }

    /// The start, in the 8 bytes after `p`, of a reading that has an intact
    /// cell header (complete or partial record), or that reaches at least
    /// to `l_end`, scores at least `score` and ends exactly where the stale
    /// freeblock size at its start says (the header freeing it wrote).
    fn better_near(&self, p: usize, end: usize, score: f32, l_end: usize) -> Option<usize> {
        (p + 1..(p + 9).min(end.saturating_sub(4))).find(|&q| {
            self.best_at_depth(q, end, false, false)
                .is_some_and(|(s, l)| {
                    l.rowid.is_some()
                        || (l.end >= l_end
                            && s >= score
                            && self.stale_at(q, end).is_some_and(|st| q + st == l.end))
                })
        })
    }

    /// The start, between the freeblock header at `p` and the record at
    /// `rec`, of an intact cell header (payload length and rowid agreeing
    /// with that record).
    fn intact_header_before(&self, p: usize, rec: usize) -> Option<usize> {
        (p + 4..rec).find(|&q| {
            self.tables.iter().enumerate().any(|(ti, t)| {
                let mut hyps = Vec::new();
                self.intact_hyp(ti, t, q, &mut hyps);
                hyps.iter().any(|h| h.rec == rec)
            })
        })
    }

    /// The start of a cell header that is intact (payload length, rowid and
    /// record header agreeing and fitting a table) and begins in the last 8
    /// bytes of `c`. Its body may itself be overwritten by a later cell.
    fn intact_cell_in_tail(&self, offset: usize, c_end: usize, end: usize) -> Option<usize> {
        let from = c_end.saturating_sub(8).max(offset + 5);
        (from..c_end.min(end)).find(|&q| {
            self.tables.iter().enumerate().any(|(ti, t)| {
                let mut hyps = Vec::new();
                self.intact_hyp(ti, t, q, &mut hyps);
                !hyps.is_empty()
            })
        })
    }

    /// Stale freeblock size at `p`, if it stays inside `end`.
    fn stale_at(&self, p: usize, end: usize) -> Option<usize> {
        crate::be_u16_at(self.page, p + 2)
            .map(usize::from)
            .filter(|&s| s >= 4 && p + s <= end)
    }

    /// The best hypothesis at `p` and its score. With `lookahead`, a candidate
    /// after which another cell parses gets a bonus, a larger one when that
    /// next cell closes the region or its own stale freeblock exactly
    /// (merged freeblocks).
    fn best_at_depth(
        &self,
        p: usize,
        end: usize,
        known_clobbered: bool,
        lookahead: bool,
    ) -> Option<(f32, Lite<'a>)> {
        let stale = self.stale_at(p, end);
        let mut cands: Vec<(f32, Lite<'a>)> = Vec::new();
        for (ti, t) in self.tables.iter().enumerate() {
            let mut hyps = Vec::new();
            if !known_clobbered {
                self.intact_hyp(ti, t, p, &mut hyps);
            }
            for lp_lr in 2..=9usize {
                self.clobbered_hyps(ti, t, p, lp_lr, stale, end, &mut hyps);
            }
            for h in hyps {
                let strong = h.rowid.is_some() || known_clobbered;
                if let Some((c, score)) = self.finish(t, h, (p, end), stale, strong) {
                    cands.push((score, c));
                }
            }
        }
        let fb_end = stale.map(|s| p + s);
        // Lookahead only matters when the best candidate does not close the
        // free space by itself (merged freeblocks); skip it otherwise.
        let top_exact = cands
            .iter()
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .is_some_and(|(_, c)| Some(c.end) == fb_end || c.end == end);
        if lookahead && cands.len() > 1 && !top_exact {
            for (s, c) in cands.iter_mut().take(12) {
                let exact = Some(c.end) == fb_end || c.end == end;
                if !exact
                    && c.end + 5 <= end
                    && let Some((_, n)) = self.best_at_depth(c.end, end, false, false)
                {
                    // A next cell whose own header is intact (payload length,
                    // rowid and record header agree) pins this cell's end.
                    *s += if n.rowid.is_some() { 0.35 } else { 0.15 };
                    let closes = n.end == end
                        || self
                            .stale_at(c.end, end)
                            .is_some_and(|st| n.end == c.end + st);
                    if closes {
                        *s += 0.25;
                    }
                }
            }
        }
        let mut best: Option<(f32, Lite<'a>)> = None;
        for (s, c) in cands {
            if best.as_ref().is_none_or(|(bs, _)| s > *bs) {
                best = Some((s, c));
            }
        }
        best
    }

    fn intact_hyp(&self, ti: usize, t: &Table, p: usize, hyps: &mut Vec<Hyp>) {
        let Some((plen, n1)) = self.page.get(p..).and_then(varint::read) else {
            return;
        };
        let Some((rowid, n2)) = self.page.get(p + n1..).and_then(varint::read) else {
            return;
        };
        let rec = p + n1 + n2;
        let Some(r) = self
            .page
            .get(rec..)
            .and_then(|b| Record::parse_header_at_most(b, Vec::new(), t.columns.len()).ok())
        else {
            return;
        };
        if r.record_len() != plen || !fits_table(t, &r.types) {
            return;
        }
        hyps.push(Hyp {
            table: ti,
            hdr_len: r.header_len,
            types: r.types,
            rec,
            rowid: Some(rowid as i64),
            score: 1.0,
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn clobbered_hyps(
        &self,
        ti: usize,
        t: &Table,
        p: usize,
        lp_lr: usize,
        stale: Option<usize>,
        end: usize,
        hyps: &mut Vec<Hyp>,
    ) {
        let rec = p + lp_lr;
        let ncols = t.columns.len();
        if rec >= p + 4 {
            // Record header intact.
            let Some(r) = self
                .page
                .get(rec..)
                .and_then(|b| Record::parse_header_at_most(b, Vec::new(), ncols).ok())
            else {
                return;
            };
            if fits_table(t, &r.types) {
                hyps.push(Hyp {
                    table: ti,
                    hdr_len: r.header_len,
                    types: r.types,
                    rec,
                    rowid: None,
                    score: 0.3,
                });
            }
            return;
        }
        let k = p + 4 - rec; // clobbered record-header bytes: 1 or 2
        // Serial types from p+4 on are intact.
        let n_known = if k == 1 {
            ncols
        } else {
            ncols.saturating_sub(1)
        };
        let mut known = Vec::with_capacity(n_known);
        let mut at = p + 4;
        for _ in 0..n_known {
            let Some((code, n)) = self.page.get(at..).and_then(varint::read) else {
                return;
            };
            known.push(SerialType::from_code(code));
            at += n;
        }
        let known_hdr_bytes = at - (p + 4);
        if k == 1 {
            let hdr_len = 1 + known_hdr_bytes;
            if hdr_len < 128 && fits_table(t, &known) {
                hyps.push(Hyp {
                    table: ti,
                    hdr_len,
                    types: known,
                    rec,
                    rowid: None,
                    score: 0.5,
                });
            }
            return;
        }
        // k == 2: header length and first serial type both lost.
        let hdr_len = 2 + known_hdr_bytes;
        if hdr_len >= 128 {
            return;
        }
        let body_start = rec + hdr_len;
        // Lying serial types can claim lengths whose sum overflows u64.
        let Some(rest) = known
            .iter()
            .try_fold(0u64, |a, t| a.checked_add(t.content_len()))
        else {
            return;
        };
        let Some(body_rest) = (body_start as u64).checked_add(rest) else {
            return;
        };
        let Some(col0) = t.record_order.first().and_then(|&c| t.columns.get(c)) else {
            return;
        };
        let trust = |e: usize| (!self.late_starts.contains(&e)).then_some(e);
        let targets = [stale.map(|s| p + s).and_then(trust), trust(end)];
        // With no end to trust, only a fixed-size first type can be told
        // apart by the values that follow (a NULL there is not: it would
        // put them at the record's start).
        let untrusted = targets.iter().all(Option::is_none) && t.rowid_alias != Some(0);
        let shortest = self.shortest_col0(ti);
        for code in first_type_candidates(t, targets, body_rest) {
            if code >= 128 || (untrusted && code == 0) {
                continue;
            }
            // A length derived from where the free space ends is a guess
            // when a later cell took the freeblock's tail (the record was
            // longer): a value far shorter than any this page's intact
            // rows hold is taken for that case and not reported.
            if code >= 12 && shortest.is_some_and(|m| (code - 12) / 2 * 4 < m * 3) {
                continue;
            }
            let st = SerialType::from_code(code);
            if !compatible(col0.affinity, st) {
                continue;
            }
            let mut types = Vec::with_capacity(ncols);
            types.push(st);
            types.extend_from_slice(&known);
            if fits_table(t, &types) {
                let seen = self.col0_codes.contains(&(ti, code));
                hyps.push(Hyp {
                    table: ti,
                    hdr_len,
                    types,
                    rec,
                    rowid: None,
                    score: if seen { 0.6 } else { 0.4 },
                });
            }
        }
    }

    /// The shortest text/blob first column among the intact cells of table
    /// `ti` on this page, when at least 3 of them have one.
    fn shortest_col0(&self, ti: usize) -> Option<u64> {
        let lens = self
            .col0_codes
            .iter()
            .filter(|(t, c)| *t == ti && *c >= 12)
            .map(|(_, c)| (c - 12) / 2);
        if lens.clone().count() < 3 {
            return None;
        }
        lens.min()
    }

    /// Checks a hypothesis against the bytes; returns it decoded (values not
    /// yet materialised) with its unclamped ranking score. `(p, end)`: the
    /// cell start and the end of the free space. A `strong` hypothesis (its
    /// rowid header agreed, or a freeblock header says a cell starts at `p`)
    /// whose record runs past `end` into bytes written later (not the page
    /// end) comes back cut there: a partial row.
    fn finish(
        &self,
        t: &Table,
        h: Hyp,
        (p, end): (usize, usize),
        stale: Option<usize>,
        strong: bool,
    ) -> Option<(Lite<'a>, f32)> {
        let body_len = h
            .types
            .iter()
            .try_fold(0u64, |a, t| a.checked_add(t.content_len()))?;
        let plen = (h.hdr_len as u64).checked_add(body_len)?;
        let local = local_payload_len(plen, self.page.len(), true);
        let mut cut = false;
        let (payload, cell_end): (Cow<'a, [u8]>, usize) = if (local as u64) < plen {
            let ov_at = h.rec.checked_add(local)?;
            let ov = crate::be_u32_at(self.page, ov_at)?;
            let cell_end = ov_at + 4;
            if cell_end > end {
                return None;
            }
            let cell = PayloadCell {
                offset: p,
                payload_len: plen,
                rowid: h.rowid,
                local: self.page.get(h.rec..ov_at)?,
                overflow: Some(PageNo(ov)),
                cell_len: cell_end - p,
            };
            let (pl, err) = assemble_payload(self.src, self.page_no, &cell);
            if err.is_some() {
                return None;
            }
            (Cow::Owned(pl.into_owned()), cell_end)
        } else {
            let e = h.rec.checked_add(usize::try_from(plen).ok()?)?;
            if e > end {
                if !strong || end >= self.page.len() || h.rec + h.hdr_len >= end {
                    return None;
                }
                cut = true;
                (Cow::Borrowed(self.page.get(h.rec..end)?), end)
            } else {
                (Cow::Borrowed(self.page.get(h.rec..e)?), e)
            }
        };
        let body = payload.get(h.hdr_len..)?;
        if !text_ok(&h.types, body, self.enc) {
            return None;
        }
        // The hypothesis' types move into the record and back (no copy).
        let rec = Record {
            header_len: h.hdr_len,
            types: h.types,
            body,
        };
        let vals = rec.values();
        let nn = vals
            .iter()
            .filter(|v| !matches!(v, Some(Value::Null) | None))
            .count();
        let mut conf = 0.5f32 - implausibility(&rec.types, &vals);
        drop(vals);
        let types = rec.types;
        if nn < t.columns.len().min(2) || (self.full_records && types.len() < t.columns.len()) {
            return None;
        }
        if cut {
            // Ranked below any hypothesis that fits the free space whole.
            conf -= 0.35;
        } else {
            conf += end_bonus(cell_end, p, end, stale, h.rowid.is_some());
        }
        conf += 0.05 * nn.min(4) as f32;
        if types.len() == t.columns.len() {
            conf += 0.1;
        }
        let score = conf + h.score;
        Some((
            Lite {
                table: h.table,
                types,
                hdr_len: h.hdr_len,
                rowid: h.rowid,
                payload,
                rec: h.rec,
                offset: p,
                end: cell_end,
                confidence: conf.clamp(0.0, 1.0),
                strong,
            },
            score,
        ))
    }

    /// Decodes the winning hypothesis into a row; with `cut`, only the
    /// columns whose bytes lie before that page offset (the others are
    /// lost: `Null`, with their bit set in [`Carved::lost`]).
    fn materialise(&self, l: Lite<'_>, cut: Option<usize>) -> Option<Carved> {
        let t = self.tables.get(l.table)?;
        let mut payload: &[u8] = &l.payload;
        if let Some(q) = cut {
            if matches!(l.payload, Cow::Owned(_)) {
                return None;
            }
            payload = payload.get(..q.checked_sub(l.rec)?)?;
        }
        let body = payload.get(l.hdr_len..)?;
        let mut vals = Vec::with_capacity(l.types.len());
        let mut lost = 0u64;
        let mut off = 0usize;
        for (i, &st) in l.types.iter().enumerate() {
            let n = usize::try_from(st.content_len()).ok()?;
            let v = body.get(off..off.checked_add(n)?);
            off = off.saturating_add(n);
            match v {
                // A constant (NULL, 0, 1) is known from its serial type alone.
                _ if n == 0 => vals.push(Some(Value::from_serial(st, &[]))),
                Some(b) => vals.push(Some(Value::from_serial(st, b))),
                None => {
                    let col = *t.record_order.get(i)?;
                    lost |= 1u64.checked_shl(u32::try_from(col).ok()?)?;
                    vals.push(None);
                }
            }
        }
        if lost != 0 && vals.iter().flatten().all(|v| matches!(v, Value::Null)) {
            return None;
        }
        let confidence = if lost != 0 {
            (l.confidence - 0.2).max(0.05)
        } else {
            l.confidence
        };
        Some(Carved {
            offset: l.offset,
            end: l.end,
            table: l.table,
            rowid: l.rowid,
            values: to_schema_values(t, &vals, l.rowid, self.enc),
            confidence,
            lost,
        })
    }
}

/// How well a complete cell ending at `cell_end` closes the free space:
/// its stale freeblock (size field at `p + 2`) or the region's end.
fn end_bonus(cell_end: usize, p: usize, end: usize, stale: Option<usize>, rowid: bool) -> f32 {
    let mut conf = 0.0f32;
    if let Some(s) = stale {
        let fb_end = p + s;
        if cell_end == fb_end {
            conf += 0.4;
        } else if cell_end < fb_end && fb_end - cell_end <= 3 {
            conf += 0.3;
        } else if cell_end < fb_end {
            conf += 0.1;
        } else if !rowid {
            conf -= 0.3;
        }
    }
    if cell_end == end {
        conf += 0.2;
    }
    conf
}

/// A checked hypothesis whose values are not decoded yet.
struct Lite<'a> {
    table: usize,
    types: Vec<SerialType>,
    hdr_len: usize,
    rowid: Option<i64>,
    payload: Cow<'a, [u8]>,
    /// Page offset of the record (where `payload` starts).
    rec: usize,
    offset: usize,
    end: usize,
    confidence: f32,
    /// See [`CarveCtx::finish`]: the cell's start is known.
    strong: bool,
}

/// Penalty for values a real SQLite would not have written: integers in a
/// wider serial type than needed, absurd reals, long all-zero text/blobs.
fn implausibility(types: &[SerialType], vals: &[Option<Value<'_>>]) -> f32 {
    let mut pen = 0.0f32;
    for (t, v) in types.iter().zip(vals) {
        match (t, v) {
            (SerialType::Int(n), Some(Value::Int(i))) => {
                let min = match *i {
                    -128..=127 => 1,
                    -32768..=32767 => 2,
                    -8_388_608..=8_388_607 => 3,
                    -2_147_483_648..=2_147_483_647 => 4,
                    i if (-(1i64 << 47)..(1i64 << 47)).contains(&i) => 6,
                    _ => 8,
                };
                if *n > min {
                    pen += 0.6;
                }
            }
            (SerialType::Real, Some(Value::Real(r))) => {
                let a = r.abs();
                if r.is_nan() || a > 1e50 || (a != 0.0 && a < 1e-50) {
                    pen += 0.6;
                }
            }
            (SerialType::Text(n) | SerialType::Blob(n), Some(Value::Text(b) | Value::Blob(b)))
                if *n >= 4 =>
            {
                let zeros = b.iter().filter(|&&x| x == 0).count();
                if zeros == b.len() {
                    pen += 1.0;
                } else if zeros * 2 > b.len() {
                    pen += 0.5;
                }
            }
            _ => {}
        }
    }
    pen
}

/// Parses every intact cell and gives a match score of `t` for this page's
/// records (fraction of records whose shape fits the table).
pub fn shape_score(t: &Table, records: &[Vec<SerialType>]) -> f32 {
    if records.is_empty() {
        return 0.0;
    }
    let ok = records.iter().filter(|r| fits_table(t, r)).count();
    let exact = records
        .iter()
        .filter(|r| r.len() == t.columns.len())
        .count();
    (ok as f32 + 0.01 * exact as f32) / records.len() as f32
}

/// Helper for callers: the cell kind for table leaves.
pub const TABLE_LEAF: CellKind = CellKind::TableLeaf;

/// Serial-type codes the lost first column of a clobbered record may have
/// had: 0 for a rowid alias; otherwise the fixed-size codes, and text/blob
/// lengths that make the record end at one of `targets` (the stale cell end
/// or the region end, less up to 3 bytes of fragment), given `body_rest` =
/// body start + the other columns' lengths.
fn first_type_candidates(t: &Table, targets: [Option<usize>; 2], body_rest: u64) -> Vec<u64> {
    let mut cands: Vec<u64> = Vec::new();
    if t.rowid_alias == Some(0) {
        cands.push(0);
    } else {
        cands.extend([0u64, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        for target in targets.into_iter().flatten() {
            for frag in 0..4usize {
                let len1 = (target.saturating_sub(frag) as u64).checked_sub(body_rest);
                if let Some(l) = len1 {
                    cands.push(13 + 2 * l);
                    cands.push(12 + 2 * l);
                }
            }
        }
    }
    cands.sort_unstable();
    cands.dedup();
    cands
}
