//! `inspect` for PostgreSQL: data directory, WAL segment, WAL directory,
//! `pg_control`, relation file.

use std::path::Path;

use pgdata::page::{Page, first_block_of_segment, guess_block_size, summarize_pages};
use pgdata::{BlockNo, ControlFile};
use serde_json::{Value, json};
use walparse::timeline::{TimelineHistory, parse_history_file_name};
use walparse::{
    Lsn, PgMajor, TimeLineId, page_magic, parse_segment_file_name, segment_file_name,
    summarize_segment,
};

use super::Report;

fn lsn(v: u64) -> String {
    Lsn(v).to_string()
}

/// A known `XLOG_PAGE_MAGIC` and a long page header at offset 0.
pub(super) fn looks_like_wal_segment(bytes: &[u8]) -> bool {
    walparse::looks_like_segment(bytes)
}

pub(super) fn inspect_wal_segment(path: &Path, bytes: &[u8], r: &mut Report) {
    r.kind = Some("pg-wal-segment");
    if let Some(magic) = page_magic(bytes) {
        r.fact("xlp_magic", format!("{magic:#06X}"));
    }
    let s = match summarize_segment(bytes) {
        Ok(s) => s,
        Err(e) => {
            if let Some(m) = page_magic(bytes).and_then(PgMajor::from_magic) {
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

fn control_facts(c: &ControlFile) -> Value {
    json!({
        "pg_control_version": c.pg_control_version,
        "pg_control_version_majors": c.majors_of_version(),
        "catalog_version": c.catalog_version_no,
        "major_from_catalog_version": c.major_from_catalog_version(),
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
        "wal_level": c.wal_level_name(),
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

pub(super) fn inspect_relation_file(path: &Path, bytes: &[u8], r: &mut Report) {
    r.kind = Some("pg-relation-file");
    let Some(bs) = guess_block_size(bytes) else {
        r.error("no page header found");
        return;
    };
    r.fact("block_size_bytes", bs);
    r.fact("blocks", bytes.len() / bs);
    // `12345.2` is the third 1 GB segment: checksums use the block number in
    // the whole relation. This is a hint from the name; it only affects the
    // checksum comparison.
    let seg_no: u64 = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.rsplit_once('.'))
        .and_then(|(_, s)| s.parse().ok())
        .unwrap_or(0);
    let first_block = first_block_of_segment(seg_no, bs);
    let s = summarize_pages(bytes, bs, first_block);
    for (_, e) in &s.bad {
        r.error(e);
    }
    let (ok, heap, index) = (s.n_ok, s.n_without_special, s.n_with_special);
    r.fact("first_block_number", first_block);
    r.fact("initialised_pages", ok);
    r.fact("new_pages", s.n_new);
    r.fact("bad_pages", s.n_bad);
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
    r.fact("max_page_lsn", lsn(s.max_lsn));
    r.fact("checksums_matching", s.n_checksum_match);
    r.fact("checksums_zero", s.n_checksum_zero);
    r.fact(
        "data_checksums_likely",
        if ok > 0 && s.n_checksum_match == ok {
            "on"
        } else if s.n_checksum_zero == ok {
            "off"
        } else {
            "unclear (some pages do not match: damage, or a segment number the name does not give)"
        },
    );
}

/// A data directory (PG_VERSION + global/pg_control) or a directory of WAL segments.
pub(super) fn inspect_dir(path: &Path) -> Report {
    let mut r = Report::default();
    let has_version = evidence::vfs::is_file(&path.join("PG_VERSION"));
    let has_control = evidence::vfs::is_file(&path.join("global").join("pg_control"));
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
    let Ok(rd) = evidence::vfs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .into_iter()
        .filter(|p| evidence::vfs::is_file(p))
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .filter(|name| {
            let p = dir.join(name);
            evidence::Evidence::open(&p).is_ok_and(|ev| {
                ev.bytes()
                    .get(..walparse::raw::SIZE_OF_XLOG_LONG_PHD)
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
                r.error(w.to_string());
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
