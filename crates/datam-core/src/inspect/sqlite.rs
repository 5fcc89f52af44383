//! `inspect` for SQLite files: database, `-wal`, rollback journal.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sqlite_pages::db::{Db, DiagKind};
use sqlite_pages::header::{DbHeader, HEADER_SIZE, MAGIC};
use sqlite_pages::journal::{
    JOURNAL_MAGIC, Journal, JournalCtx, JournalHeader, RecordCount, RecordStatus,
};
use sqlite_pages::page::BtreeKind;
use sqlite_pages::wal::{WAL_MAGIC_BE, WAL_MAGIC_LE, Wal, WalHeader};

use super::Report;

/// `"SQLite format 3\0"` at offset 0.
pub(super) fn looks_like_database(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// A database whose 100-byte header was zeroed: page 1's b-tree header
/// (a b-tree page type at offset 100) still follows the zeros.
pub(super) fn looks_like_headerless_database(bytes: &[u8]) -> bool {
    bytes.len() >= 512
        && bytes.iter().take(HEADER_SIZE).all(|&b| b == 0)
        && bytes
            .get(HEADER_SIZE)
            .is_some_and(|&b| BtreeKind::from_flag(b).is_some())
}

/// Either WAL magic at offset 0.
pub(super) fn looks_like_wal(bytes: &[u8]) -> bool {
    bytes
        .first_chunk::<4>()
        .is_some_and(|m| matches!(u32::from_be_bytes(*m), WAL_MAGIC_LE | WAL_MAGIC_BE))
}

/// The journal magic at offset 0 (a hot or not-yet-finalised journal; a
/// PERSIST journal's zeroed header carries no signature).
pub(super) fn looks_like_journal(bytes: &[u8]) -> bool {
    bytes.starts_with(&JOURNAL_MAGIC)
}

fn auto_vacuum_name(h: &DbHeader) -> &'static str {
    match (h.auto_vacuum(), h.incremental_vacuum != 0) {
        (false, _) => "none",
        (true, false) => "full",
        (true, true) => "incremental",
    }
}

/// `3046001` → `"3.46.1"`.
fn sqlite_version_text(n: u32) -> String {
    format!("{}.{}.{}", n / 1_000_000, (n / 1000) % 1000, n % 1000)
}

pub(super) fn inspect_database(bytes: &[u8], r: &mut Report) {
    r.kind = Some("sqlite-database");
    let header = DbHeader::parse(bytes);
    match &header {
        Ok(h) => header_facts(h, r),
        Err(e) => r.error(format!("database header: {e}")),
    }
    let header = header.as_ref().ok();
    // The schema comes from the b-tree (or, when that is damaged, from a
    // page scan); both are best-effort and their damage is reported.
    let db = Db::open(bytes);
    if header.is_none() {
        r.fact("page_size_bytes_inferred", db.page_size);
        r.fact("encoding_inferred", db.encoding.name());
    }
    page_facts(bytes, header, &db, r);
    schema_facts(&db, r);
    let unset_encoding = header.is_some_and(|h| h.text_encoding_raw == 0);
    report_diags(&db, unset_encoding, r);
}

/// The facts of a parsed 100-byte database header.
fn header_facts(h: &DbHeader, r: &mut Report) {
    r.fact("page_size_bytes", h.page_size_bytes);
    // 0 means "not set yet": a database without any schema, which
    // SQLite reads as UTF-8 (and `PRAGMA encoding` says so).
    let enc = match (h.text_encoding, h.text_encoding_raw) {
        (Some(e), _) => e.name(),
        (None, 0) => "UTF-8",
        (None, _) => "invalid",
    };
    r.fact("encoding", enc);
    if h.text_encoding_raw == 0 {
        r.fact("encoding_field_unset", true);
    } else if h.text_encoding.is_none() {
        r.error(format!(
            "text encoding field at offset 56 holds {}, not 1, 2 or 3",
            h.text_encoding_raw
        ));
    }
    r.fact("page_count_header", h.db_size_pages);
    r.fact("page_count_header_valid", h.db_size_valid);
    r.fact("freelist_count", h.freelist_count);
    r.fact("first_freelist_trunk", h.first_freelist_trunk.0);
    r.fact("reserved_bytes", h.reserved_bytes);
    r.fact("auto_vacuum", auto_vacuum_name(h));
    r.fact("largest_root_page", h.largest_root_page.0);
    r.fact(
        "journal_mode_hint",
        match (h.write_version, h.read_version) {
            (2, 2) => "wal",
            (1, 1) => "rollback",
            _ => "unknown",
        },
    );
    r.fact("write_version", h.write_version);
    r.fact("read_version", h.read_version);
    r.fact("schema_format", h.schema_format);
    r.fact("schema_cookie", h.schema_cookie);
    r.fact("change_counter", h.change_counter);
    r.fact("user_version", h.user_version);
    r.fact("application_id", h.application_id);
    r.fact("default_cache_size", h.default_cache_size);
    r.fact("sqlite_version_number", h.sqlite_version_number);
    r.fact(
        "sqlite_version",
        sqlite_version_text(h.sqlite_version_number),
    );
}

/// Page counts (header, file size), a truncated last page, and pages by class.
fn page_facts(bytes: &[u8], header: Option<&DbHeader>, db: &Db<'_>, r: &mut Report) {
    // What `PRAGMA page_count` reports: the header's size when it is valid,
    // else the file size in pages.
    let page_count = match header {
        Some(h) if h.db_size_valid => h.db_size_pages,
        _ => db.n_pages,
    };
    r.fact("page_count", page_count);
    r.fact("page_count_from_file_size", db.n_pages);
    if !(bytes.len() as u64).is_multiple_of(u64::from(db.page_size.max(1))) {
        r.error(format!(
            "file size {} is not a multiple of the page size {}: the last page is truncated",
            bytes.len(),
            db.page_size
        ));
    }
    let mut classes: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &db.classes {
        *classes.entry(c.name()).or_default() += 1;
    }
    r.fact(
        "pages_by_class",
        Value::Object(
            classes
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ),
    );
}

/// The `sqlite_schema` rows, and the dropped tables carved from free space.
fn schema_facts(db: &Db<'_>, r: &mut Report) {
    let schema: Vec<Value> = db
        .master
        .iter()
        .map(|m| {
            json!({
                "type": m.kind,
                "name": m.name,
                "tbl_name": m.tbl_name,
                "rootpage": m.root.0,
                "sql": m.sql,
            })
        })
        .collect();
    r.fact("schema", schema);
    let dropped: Vec<Value> = db
        .tables
        .iter()
        .filter(|t| t.dropped)
        .map(|t| json!({"name": t.name, "sql": t.sql}))
        .collect();
    if !dropped.is_empty() {
        r.fact("dropped_tables_carved", dropped);
    }
}

/// The first 50 diagnostics of the open (an inferred encoding is no news
/// when the header leaves it unset) and how many more there were.
fn report_diags(db: &Db<'_>, unset_encoding: bool, r: &mut Report) {
    let diags: Vec<_> = db
        .diags
        .iter()
        .filter(|d| !(unset_encoding && matches!(d.kind, DiagKind::EncodingInferred { .. })))
        .collect();
    for d in diags.iter().take(50) {
        r.error(d);
    }
    if diags.len() > 50 {
        r.error(format!("... and {} more diagnostics", diags.len() - 50));
    }
}

pub(super) fn inspect_wal(bytes: &[u8], r: &mut Report) {
    r.kind = Some("sqlite-wal");
    let h = match WalHeader::parse(bytes) {
        Ok(h) => h,
        Err(e) => {
            r.error(e);
            return;
        }
    };
    r.fact("magic", format!("{:#010x}", h.magic()));
    r.fact("checksum_byte_order", h.checksum_order().name());
    r.fact("format_version", h.format_version());
    r.fact("page_size_bytes", h.page_size_bytes());
    r.fact("checkpoint_seqno", h.checkpoint_seqno());
    r.fact("salt1", format!("{:#010x}", h.salt1()));
    r.fact("salt2", format!("{:#010x}", h.salt2()));
    r.fact("header_checksum_ok", h.checksum_ok());
    match Wal::parse(bytes) {
        Ok(w) => {
            let c = w.counts();
            r.fact("frame_count", c.total);
            r.fact(
                "frames",
                json!({
                    "valid": c.valid,
                    "committed": c.committed,
                    "uncommitted": c.uncommitted,
                    "in_progress": c.in_progress,
                    "earlier_generation": c.earlier_generation,
                    "bad_checksum": c.bad_checksum,
                    "other_invalid": c.other_invalid,
                }),
            );
            r.fact("commits", c.commits);
            r.fact("trailing_bytes", c.trailing_bytes);
            if let Some(n) = w.committed_state().db_size_pages {
                r.fact("db_size_pages_at_last_commit", n);
            }
            for p in w.problems() {
                r.error(p);
            }
        }
        Err(e) => r.error(e),
    }
}

pub(super) fn inspect_journal(bytes: &[u8], r: &mut Report) {
    r.kind = Some("sqlite-journal");
    match JournalHeader::parse(bytes) {
        Ok(h) => {
            r.fact("nonce", format!("{:#010x}", h.nonce()));
            match h.record_count() {
                RecordCount::Count(n) => r.fact("page_count", n),
                // 0xffffffff: the records run to the end of the file.
                RecordCount::ToEndOfFile => r.fact("page_count", -1),
            }
            r.fact("db_orig_size_pages", h.db_orig_size_pages());
            r.fact("sector_size_bytes", h.sector_size_bytes());
            r.fact("page_size_bytes", h.page_size_bytes());
        }
        Err(e) => r.error(e),
    }
    let j = Journal::parse(bytes, JournalCtx::default());
    r.fact("state", j.kind().name());
    r.fact("segments", j.segments().len());
    r.fact("records", j.records().len());
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for rec in j.records() {
        *by_status.entry(rec.status.name()).or_default() += 1;
    }
    r.fact(
        "records_by_status",
        Value::Object(
            by_status
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ),
    );
    let rollback_pages = j
        .records()
        .iter()
        .filter(|rec| rec.status == RecordStatus::Rollback)
        .count();
    r.fact("pages_rolled_back_if_hot", rollback_pages);
    for p in j.problems() {
        r.error(p);
    }
}
