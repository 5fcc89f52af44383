//! `inspect` for PostgreSQL: data directory, WAL segment, WAL directory,
//! `pg_control`, relation file.

use std::path::Path;

use pgdata::page::{Page, pg_checksum_page};
use pgdata::{BlockNo, ControlFile};
use serde_json::{Value, json};
use walparse::timeline::{TimelineHistory, parse_history_file_name};
use walparse::{
    Lsn, PgMajor, TimeLineId, parse_segment_file_name, segment_file_name, summarize_segment,
};

use super::Report;

/// Flag bit of `xlp_info` marking a long page header.
const XLP_LONG_HEADER: u16 = 0x0002;
/// Size of `XLogLongPageHeaderData`.
const LONG_HEADER_BYTES: usize = 40;
/// `PG_PAGE_LAYOUT_VERSION`.
const PAGE_LAYOUT_VERSION: u16 = 4;
/// Blocks per 1 GB relation segment with 8 KiB pages (for checksum block numbers).
const RELSEG_BLOCKS_8K: u64 = 131_072;

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn lsn(v: u64) -> String {
    Lsn(v).to_string()
}

/// A known `XLOG_PAGE_MAGIC` and a long page header at offset 0.
pub(super) fn looks_like_wal_segment(bytes: &[u8]) -> bool {
    let (Some(magic), Some(info)) = (le16(bytes, 0), le16(bytes, 2)) else {
        return false;
    };
    bytes.len() >= LONG_HEADER_BYTES
        && PgMajor::from_magic(magic).is_some()
        && info & XLP_LONG_HEADER != 0
}

pub(super) fn inspect_wal_segment(path: &Path, bytes: &[u8], r: &mut Report) {
    r.kind = Some("pg-wal-segment");
    if let Some(magic) = le16(bytes, 0) {
        r.fact("xlp_magic", format!("{magic:#06X}"));
    }
    let s = match summarize_segment(bytes) {
        Ok(s) => s,
        Err(e) => {
            if let Some(m) = le16(bytes, 0).and_then(PgMajor::from_magic) {
                r.fact("major", m.number());
            }
            r.error(e);
            return;
        }
    };
    let seg_size = s.ctx.seg_size_bytes;
    r.fact("major", s.ctx.major.number());
    r.fact("timeline", s.tli.0);
    r.fact("system_identifier", s.ctx.sysid.to_string());
    r.fact("segment_size_bytes", seg_size);
    r.fact("wal_block_size_bytes", s.ctx.block_size_bytes);
    r.fact("segment_number", s.segno.0);
    let expected_name = segment_file_name(s.tli, s.segno, seg_size);
    r.fact("segment_file_name", expected_name.clone());
    r.fact("start_lsn", s.start_lsn.to_string());
    r.fact(
        "end_lsn",
        lsn(s.start_lsn.0.saturating_add(u64::from(seg_size))),
    );
    r.fact("valid_pages", s.n_valid_pages);
    r.fact("valid_end_lsn", s.valid_end_lsn.to_string());
    r.fact("recycled_pages", s.n_recycled_pages);
    r.fact("continuation_bytes_at_start", s.first_page_rem_len);
    r.fact(
        "first_record_lsn",
        s.first_record_lsn.map(|l| l.to_string()),
    );
    r.fact("last_record_lsn", s.last_record_lsn.map(|l| l.to_string()));
    r.fact("records", s.n_records);
    r.fact("damaged_records", s.n_damaged);
    if bytes.len() as u64 != u64::from(seg_size) {
        r.error(format!(
            "file is {} bytes but the header says segments are {seg_size} bytes",
            bytes.len()
        ));
    }
    // The name is only a cross-check: the header decides.
    if let Some(name) = path.file_name().and_then(|n| n.to_str())
        && let Some((tli, segno)) = parse_segment_file_name(name, seg_size)
        && (tli, segno) != (s.tli, s.segno)
    {
        r.error(format!(
            "file name {name} disagrees with the header, which says {expected_name}"
        ));
    }
}

/// `pg_control_version` 1300 (PG 13–16), 1700 (17) or 1800 (18) at offset 8,
/// and a CRC that matches (or the file is exactly pg_control's 8 KiB).
pub(super) fn looks_like_control_file(bytes: &[u8]) -> bool {
    match ControlFile::parse(bytes) {
        Ok(c) => c.crc_valid() || bytes.len() == 8192,
        Err(_) => false,
    }
}

/// Majors a `pg_control_version` can belong to.
fn majors_of_control_version(v: u32) -> &'static str {
    match v {
        1300 => "13-16",
        1700 => "17",
        1800 => "18",
        _ => "unknown",
    }
}

/// The release whose catalog version starts with this year (release
/// catalog versions are `YYYYMMDDN` dates of that year's feature freeze).
fn major_of_catalog_version(v: u32) -> Option<u32> {
    match v / 100_000 {
        2020 => Some(13),
        2021 => Some(14),
        2022 => Some(15),
        2023 => Some(16),
        2024 => Some(17),
        2025 => Some(18),
        _ => None,
    }
}

fn control_facts(c: &ControlFile) -> Value {
    json!({
        "pg_control_version": c.pg_control_version,
        "pg_control_version_majors": majors_of_control_version(c.pg_control_version),
        "catalog_version": c.catalog_version_no,
        "major_from_catalog_version": major_of_catalog_version(c.catalog_version_no),
        "system_identifier": c.system_identifier.to_string(),
        "state": c.state.as_str(),
        "last_modified_unix": c.time,
        "checkpoint_lsn": lsn(c.checkpoint_lsn.0),
        "redo_lsn": lsn(c.redo_lsn.0),
        "timeline": c.timeline,
        "prev_timeline": c.prev_timeline,
        "next_xid": format!("{}:{}", c.next_full_xid >> 32, c.next_full_xid & 0xffff_ffff),
        "next_oid": c.next_oid,
        "oldest_xid": c.oldest_xid,
        "min_recovery_point": lsn(c.min_recovery_point.0),
        "wal_level": match c.wal_level { 0 => "minimal", 1 => "replica", 2 => "logical", _ => "unknown" },
        "block_size_bytes": c.block_size_bytes,
        "relseg_size_blocks": c.relseg_size_blocks,
        "wal_block_size_bytes": c.wal_block_size_bytes,
        "wal_segment_size_bytes": c.wal_segment_size_bytes,
        "data_checksums": if c.has_data_checksums() { "on" } else { "off" },
        "data_checksum_version": c.data_checksum_version,
        "crc_valid": c.crc_valid(),
    })
}

fn push_control(c: &ControlFile, r: &mut Report) {
    if let Value::Object(m) = control_facts(c) {
        for (k, v) in m {
            r.facts.insert(k, v);
        }
    }
    if !c.crc_valid() {
        r.error(format!(
            "pg_control CRC mismatch: stored {:08x}, computed {:08x}; fields may be wrong",
            c.crc_stored, c.crc_computed
        ));
    }
}

pub(super) fn inspect_control_file(bytes: &[u8], r: &mut Report) {
    r.kind = Some("pg-control-file");
    match ControlFile::parse(bytes) {
        Ok(c) => push_control(&c, r),
        Err(e) => r.error(e),
    }
}

/// A timeline history file (`N.history`): its timeline (from the file name)
/// and each ancestor's range up to its switch point.
pub(super) fn inspect_timeline_history(path: &Path, bytes: &[u8], r: &mut Report) {
    r.kind = Some("pg-timeline-history");
    let named = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(parse_history_file_name);
    if let Some(t) = named {
        r.fact("timeline", t.0);
    }
    let (h, problems) = TimelineHistory::parse(named.unwrap_or(TimeLineId(u32::MAX)), bytes);
    let ancestors: Vec<Value> = h
        .entries()
        .iter()
        .filter_map(|e| {
            e.end.map(|end| {
                json!({"timeline": e.tli.0, "begin": e.begin.to_string(), "switch_point": end.to_string()})
            })
        })
        .collect();
    r.fact("ancestors", ancestors);
    for p in problems {
        r.error(p);
    }
}

/// Whole pages whose first non-empty page has a consistent header.
pub(super) fn looks_like_relation_file(bytes: &[u8]) -> bool {
    let Some(bs) = guess_block_size(bytes) else {
        return false;
    };
    bytes
        .chunks(bs)
        .find(|p| p.iter().any(|&b| b != 0))
        .is_some_and(|p| Page::parse(p, BlockNo(0)).is_ok())
}

/// The block size from the first non-zero page's `pd_pagesize_version`, when
/// the file is a whole number of such pages.
fn guess_block_size(bytes: &[u8]) -> Option<usize> {
    if bytes.is_empty() {
        return None;
    }
    // Pages are at least 1 KiB; look for the first page with a header.
    let mut off = 0usize;
    while off < bytes.len() {
        let psv = le16(bytes, off.checked_add(18)?)?;
        if psv != 0 {
            let size = usize::from(psv & 0xff00);
            let ok = psv & 0xff == PAGE_LAYOUT_VERSION
                && size.is_power_of_two()
                && (1024..=32768).contains(&size)
                && bytes.len().is_multiple_of(size)
                && off.is_multiple_of(size);
            return ok.then_some(size);
        }
        off = off.checked_add(1024)?;
    }
    None
}

pub(super) fn inspect_relation_file(path: &Path, bytes: &[u8], r: &mut Report) {
    r.kind = Some("pg-relation-file");
    let Some(bs) = guess_block_size(bytes) else {
        r.error("no page header found");
        return;
    };
    r.fact("block_size_bytes", bs);
    let n_blocks = bytes.len() / bs;
    r.fact("blocks", n_blocks);
    // `12345.2` is the third 1 GB segment: checksums use the block number in
    // the whole relation. This is a hint from the name; it only affects the
    // checksum comparison.
    let seg_no: u64 = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.rsplit_once('.'))
        .and_then(|(_, s)| s.parse().ok())
        .unwrap_or(0);
    let first_block = seg_no.saturating_mul(RELSEG_BLOCKS_8K * 8192 / bs as u64);
    let (mut new, mut ok, mut bad, mut heap, mut index, mut ck_match, mut ck_zero) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut bad_blocks: Vec<u64> = Vec::new();
    let mut max_lsn = 0u64;
    for (i, p) in bytes.chunks(bs).enumerate() {
        let blk = first_block.saturating_add(i as u64);
        match Page::parse(p, BlockNo(u32::try_from(blk).unwrap_or(u32::MAX))) {
            Ok(pg) if pg.is_new() => new += 1,
            Ok(pg) => {
                ok += 1;
                max_lsn = max_lsn.max(pg.pd_lsn());
                if usize::from(pg.pd_special()) == bs {
                    heap += 1;
                } else {
                    index += 1;
                }
                let computed = pg_checksum_page(p, u32::try_from(blk).unwrap_or(u32::MAX));
                if pg.pd_checksum() == 0 {
                    ck_zero += 1;
                } else if pg.pd_checksum() == computed {
                    ck_match += 1;
                }
            }
            Err(e) => {
                bad += 1;
                if bad_blocks.len() < 20 {
                    bad_blocks.push(blk);
                    r.error(e);
                }
            }
        }
    }
    r.fact("first_block_number", first_block);
    r.fact("initialised_pages", ok);
    r.fact("new_pages", new);
    r.fact("bad_pages", bad);
    r.fact("pages_without_special_space", heap);
    r.fact("pages_with_special_space", index);
    r.fact(
        "page_type_hint",
        if index == 0 && heap > 0 {
            "heap (or another special-less access method)"
        } else if heap == 0 && index > 0 {
            "index"
        } else {
            "mixed"
        },
    );
    r.fact("max_page_lsn", lsn(max_lsn));
    r.fact("checksums_matching", ck_match);
    r.fact("checksums_zero", ck_zero);
    r.fact(
        "data_checksums_likely",
        if ok > 0 && ck_match == ok {
            "on"
        } else if ck_zero == ok {
            "off"
        } else {
            "unclear (some pages do not match: damage, or a segment number the name does not give)"
        },
    );
}

/// A data directory (PG_VERSION + global/pg_control) or a directory of WAL segments.
pub(super) fn inspect_dir(path: &Path) -> Report {
    let mut r = Report::default();
    let has_version = path.join("PG_VERSION").is_file();
    let has_control = path.join("global").join("pg_control").is_file();
    if has_version || has_control {
        inspect_data_dir(path, &mut r);
    } else {
        let segs = wal_segments_in(path);
        if segs.is_empty() {
            r.error(format!(
                "{}: a directory without PG_VERSION, global/pg_control or WAL segments",
                path.display()
            ));
        } else {
            r.kind = Some("pg-wal-directory");
            wal_dir_facts(path, &segs, &mut r);
        }
    }
    r
}

/// Names of files in `dir` that are WAL segments by their bytes (the first
/// page has a long header with a known magic), sorted.
fn wal_segments_in(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| {
            let p = dir.join(name);
            evidence::Evidence::open(&p).is_ok_and(|ev| {
                ev.bytes()
                    .get(..LONG_HEADER_BYTES)
                    .is_some_and(looks_like_wal_segment)
            })
        })
        .collect();
    out.sort();
    out
}

fn wal_dir_facts(dir: &Path, segs: &[String], r: &mut Report) {
    r.fact("wal_segments", segs.len());
    if let Some(first) = segs.first() {
        r.fact("first_segment", first.clone());
    }
    if let Some(last) = segs.last() {
        r.fact("last_segment", last.clone());
        // The newest file's header gives the major and LSN range.
        if let Ok(ev) = evidence::Evidence::open(dir.join(last))
            && let Ok(s) = summarize_segment(ev.bytes())
        {
            r.fact("major", s.ctx.major.number());
            r.fact("segment_size_bytes", s.ctx.seg_size_bytes);
            r.fact("system_identifier", s.ctx.sysid.to_string());
            r.fact(
                "last_segment_record_range",
                json!([
                    s.first_record_lsn.map(|l| l.to_string()),
                    s.last_record_lsn.map(|l| l.to_string())
                ]),
            );
        }
    }
}

fn inspect_data_dir(path: &Path, r: &mut Report) {
    r.kind = Some("pg-data-directory");
    match pgdata::datadir::read_pg_version(path) {
        Ok(v) => r.fact("pg_version", v),
        Err(e) => r.error(format!("PG_VERSION: {e}")),
    }
    // One read of pg_control for its facts and its hash.
    let control_path = path.join("global").join("pg_control");
    match evidence::Evidence::open(&control_path) {
        Ok(ev) => {
            match ControlFile::parse(ev.bytes()) {
                Ok(c) => {
                    r.fact("pg_control", control_facts(&c));
                    if !c.crc_valid() {
                        r.error(format!(
                            "global/pg_control CRC mismatch: stored {:08x}, computed {:08x}",
                            c.crc_stored, c.crc_computed
                        ));
                    }
                }
                Err(e) => r.error(format!("global/pg_control: {e}")),
            }
            r.fact("pg_control_sha256", ev.sha256_hex());
        }
        Err(e) => r.error(format!("global/pg_control: {e}")),
    }
    match pgdata::DataDir::open(path) {
        Ok(dd) => {
            let mut warnings = Vec::new();
            match pgdata::catalog::databases(&dd, &mut warnings) {
                Ok(dbs) => r.fact(
                    "databases",
                    dbs.iter()
                        .map(|d| json!({"oid": d.oid, "name": d.name, "tablespace": d.tablespace}))
                        .collect::<Vec<_>>(),
                ),
                Err(e) => r.error(format!("pg_database: {e}")),
            }
            for w in warnings {
                r.error(format!("{}: {}", w.what, w.message));
            }
        }
        Err(e) => r.error(e),
    }
    let wal_dir = path.join("pg_wal");
    let segs = wal_segments_in(&wal_dir);
    if segs.is_empty() {
        r.error("pg_wal holds no WAL segments");
    } else {
        let mut sub = Report::default();
        wal_dir_facts(&wal_dir, &segs, &mut sub);
        r.fact("pg_wal", Value::Object(sub.facts));
    }
}
