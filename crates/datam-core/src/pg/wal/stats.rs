//! `--stats`: counts and sizes per resource manager (or per record type),
//! and the pg_waldump-style table of them.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;
use walparse::{Lsn, PgMajor, Record};

/// Statistics granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatsMode {
    /// Per resource manager.
    Rmgr,
    /// Per resource manager and record type.
    Record,
}

/// Counters of one resource manager or record type.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatsRow {
    /// Records.
    pub n_records: u64,
    /// Record bytes without full-page images.
    pub record_bytes: u64,
    /// Full-page image bytes.
    pub fpi_bytes: u64,
}

/// Statistics of the records a scan kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WalStats {
    /// Counters by (rmgr id, record type bits; 0 per rmgr).
    pub by_key: BTreeMap<(u8, u8), StatsRow>,
    /// First record counted.
    pub first: Option<Lsn>,
    /// End of the last record counted.
    pub last_end: Option<Lsn>,
}

impl WalStats {
    /// Counts `r`.
    pub fn add(&mut self, r: &Record<'_>, mode: StatsMode) {
        let per_type = mode == StatsMode::Record;
        let key = (r.rmid(), if per_type { r.hdr.xl_info & 0xF0 } else { 0 });
        let e = self.by_key.entry(key).or_default();
        e.n_records += 1;
        e.record_bytes += u64::from(r.rec_len());
        e.fpi_bytes += u64::from(r.fpi_len());
        self.first.get_or_insert(r.lsn);
        self.last_end = Some(r.end);
    }

    /// Adds the counts of a later part of the stream.
    pub fn merge(&mut self, o: WalStats) {
        for (k, v) in o.by_key {
            let e = self.by_key.entry(k).or_default();
            e.n_records += v.n_records;
            e.record_bytes += v.record_bytes;
            e.fpi_bytes += v.fpi_bytes;
        }
        if self.first.is_none() {
            self.first = o.first;
        }
        if o.last_end.is_some() {
            self.last_end = o.last_end;
        }
    }

    /// The name of a row: the rmgr, or `rmgr/type`.
    pub fn row_name(major: PgMajor, (rmid, info): (u8, u8), mode: StatsMode) -> String {
        match mode {
            StatsMode::Rmgr => walparse::rmgr::rmgr_name(rmid).into_owned(),
            StatsMode::Record => format!(
                "{}/{}",
                walparse::rmgr::rmgr_name(rmid),
                walparse::rmgr::record_type_name(major, rmid, info)
                    .unwrap_or_else(|| format!("UNKNOWN ({info:x})"))
            ),
        }
    }

    /// Writes the table pg_waldump `--stats` prints.
    pub fn write_table(
        &self,
        major: PgMajor,
        mode: StatsMode,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let (n, rec, fpi) = self.by_key.values().fold((0u64, 0u64, 0u64), |a, v| {
            (a.0 + v.n_records, a.1 + v.record_bytes, a.2 + v.fpi_bytes)
        });
        let tot = rec + fpi;
        writeln!(
            out,
            "WAL statistics between {} and {}:",
            self.first.unwrap_or_default(),
            self.last_end.unwrap_or_default()
        )?;
        let heads = [
            "Type",
            "N",
            "(%)",
            "Record size",
            "(%)",
            "FPI size",
            "(%)",
            "Combined size",
            "(%)",
        ];
        let dashes = [
            "----",
            "-",
            "---",
            "-----------",
            "---",
            "--------",
            "---",
            "-------------",
            "---",
        ];
        for [a, b, c, d, e, f, g, h, i] in [heads, dashes] {
            writeln!(
                out,
                "{a:<27} {b:>20} {c:>8} {d:>20} {e:>8} {f:>20} {g:>8} {h:>20} {i:>8}"
            )?;
        }
        for (key, v) in &self.by_key {
            let (c, r, f) = (v.n_records, v.record_bytes, v.fpi_bytes);
            let name = Self::row_name(major, *key, mode);
            writeln!(
                out,
                "{name:<27} {c:>20} ({:>6.02}) {r:>20} ({:>6.02}) {f:>20} ({:>6.02}) {:>20} ({:>6.02})",
                pct(c, n),
                pct(r, rec),
                pct(f, fpi),
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
        )
    }
}

#[allow(clippy::cast_precision_loss)]
fn pct(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        100.0 * a as f64 / b as f64
    }
}
