//! Rows to SQL / JSONL / CSV bytes, on the salvage's worker threads.
//!
//! [`RowBytes`] is the [`RowFormat`] of `datam sqlite salvage`: each worker
//! formats its rows straight into the byte buffers of a [`Formatted`] batch
//! (no string per value), recording where each row ends, so the ordered
//! stage (`Outputs`, on the calling thread) only copies the kept rows' bytes
//! to the writers.

use rowcodec::sqlite::encode::{
    sql_ident, write_csv_str, write_csv_value, write_hex, write_int, write_json_value,
    write_sql_literal,
};
use rowcodec::sqlite::{TextEncoding, Value};
use sqlite_pages::db::{Db, RowFormat};
use sqlite_pages::scan::{RowRef, RowStatus};

/// Which streams to produce.
#[derive(Debug, Clone, Copy, Default)]
pub struct Streams {
    /// `recovered.sql` / `--format sql`.
    pub sql: bool,
    /// `rows.jsonl` / `--format jsonl`.
    pub jsonl: bool,
    /// CSV lines; with `csv_table_column` they start with the table name
    /// (`--format csv`), without it they go to per-table files (`--out`).
    pub csv: bool,
    /// See `csv`.
    pub csv_table_column: bool,
}

/// Per-table text computed once.
struct TableText {
    live_insert: Vec<u8>,
    carved_insert: Vec<u8>,
    json_name: Vec<u8>,
    csv_name: Vec<u8>,
}

/// The salvage's [`RowFormat`].
pub struct RowBytes {
    streams: Streams,
    tables: Vec<TableText>,
    json_file: Vec<u8>,
}

/// One batch of formatted rows: a buffer per stream and, per row, where it
/// ends in each (`[sql, jsonl, csv]`).
#[derive(Default)]
pub struct Formatted {
    /// SQL statements.
    pub sql: Vec<u8>,
    /// JSON lines.
    pub jsonl: Vec<u8>,
    /// CSV lines.
    pub csv: Vec<u8>,
    /// Row ends.
    pub ends: Vec<[usize; 3]>,
}

/// The names of the columns a partial row lost ([`RowRef::lost`]).
pub fn lost_names<'d>(db: &'d Db<'_>, r: &RowRef<'_>) -> Vec<&'d str> {
    let Some(t) = r.table.and_then(|t| db.tables.get(t)) else {
        return Vec::new();
    };
    t.columns
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            u32::try_from(*i)
                .ok()
                .and_then(|i| 1u64.checked_shl(i))
                .is_some_and(|bit| r.lost & bit != 0)
        })
        .map(|(_, c)| c.name.as_str())
        .collect()
}

/// The companion table of carved rows.
pub fn companion(name: &str) -> String {
    format!("{name}__recovered")
}

impl RowBytes {
    /// Prepares the per-table text of `db`'s tables.
    pub fn new(db: &Db<'_>, streams: Streams, file_label: &str) -> Self {
        let json = |s: &str| serde_json::to_vec(s).unwrap_or_default();
        let tables = db
            .tables
            .iter()
            .map(|t| {
                let mut csv_name = Vec::new();
                write_csv_str(t.name.as_bytes(), &mut csv_name);
                TableText {
                    live_insert: format!("INSERT OR IGNORE INTO {} VALUES(", sql_ident(&t.name))
                        .into_bytes(),
                    carved_insert: format!(
                        "INSERT INTO {} VALUES(",
                        sql_ident(&companion(&t.name))
                    )
                    .into_bytes(),
                    json_name: json(&t.name),
                    csv_name,
                }
            })
            .collect();
        Self {
            streams,
            tables,
            json_file: json(file_label),
        }
    }

    fn sql(&self, db: &Db<'_>, r: &RowRef<'_>, out: &mut Vec<u8>) {
        let table = r
            .table
            .and_then(|t| Some((db.tables.get(t)?, self.tables.get(t)?)));
        let values = |out: &mut Vec<u8>| {
            for (i, v) in r.values.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_sql_literal(v, r.enc, out);
            }
        };
        match table {
            Some((t, text)) if r.status == RowStatus::Live && !t.name.starts_with("sqlite_") => {
                out.extend_from_slice(&text.live_insert);
                values(out);
            }
            Some((_, text)) => {
                out.extend_from_slice(&text.carved_insert);
                values(out);
                out.extend_from_slice(b",'");
                out.extend_from_slice(r.status_label().as_bytes());
                out.extend_from_slice(b"',");
                self.provenance(r, out);
                out.push(b',');
                let _ = std::io::Write::write_fmt(out, format_args!("{}", r.confidence));
                if r.lost == 0 {
                    out.extend_from_slice(b",0,NULL");
                } else {
                    out.extend_from_slice(b",1,");
                    let names = lost_names(db, r).join(",");
                    write_sql_literal(&Value::Text(names.as_bytes()), TextEncoding::Utf8, out);
                }
            }
            None => {
                out.extend_from_slice(b"INSERT INTO datam_unattributed VALUES('");
                out.extend_from_slice(r.status.name().as_bytes());
                out.extend_from_slice(b"',");
                self.provenance(r, out);
                out.push(b',');
                match r.raw {
                    Some(raw) => {
                        out.extend_from_slice(b"X'");
                        write_hex(raw, out);
                        out.push(b'\'');
                    }
                    None => out.extend_from_slice(b"NULL"),
                }
            }
        }
        out.extend_from_slice(b");\n");
    }

    /// `page,offset,rowid` (rowid `NULL` when lost).
    fn provenance(&self, r: &RowRef<'_>, out: &mut Vec<u8>) {
        write_int(i64::from(r.page_no.0), out);
        out.push(b',');
        write_int(i64::try_from(r.offset).unwrap_or(-1), out);
        out.push(b',');
        match r.rowid {
            Some(id) => write_int(id, out),
            None => out.extend_from_slice(b"NULL"),
        }
    }

    fn jsonl(&self, db: &Db<'_>, r: &RowRef<'_>, out: &mut Vec<u8>) {
        // Keys in sorted order, as serde_json's map wrote them before.
        out.extend_from_slice(b"{\"confidence\":");
        let conf = (f64::from(r.confidence) * 100.0).round() / 100.0;
        write_json_value(&Value::Real(conf), r.enc, out);
        out.extend_from_slice(b",\"file\":");
        out.extend_from_slice(&self.json_file);
        if r.lost != 0 {
            out.extend_from_slice(b",\"lost\":");
            let names = serde_json::to_vec(&lost_names(db, r)).unwrap_or_default();
            out.extend_from_slice(&names);
        }
        out.extend_from_slice(b",\"offset\":");
        write_int(i64::try_from(r.offset).unwrap_or(-1), out);
        out.extend_from_slice(b",\"page\":");
        write_int(i64::from(r.page_no.0), out);
        if let Some(raw) = r.raw {
            out.extend_from_slice(b",\"raw_hex\":\"");
            write_hex(raw, out);
            out.push(b'"');
        }
        if !r.reachable {
            out.extend_from_slice(b",\"reachable\":false");
        }
        out.extend_from_slice(b",\"rowid\":");
        match r.rowid {
            Some(id) => write_int(id, out),
            None => out.extend_from_slice(b"null"),
        }
        if r.rowid_inferred {
            out.extend_from_slice(b",\"rowid_inferred\":true");
        }
        out.extend_from_slice(b",\"status\":\"");
        out.extend_from_slice(r.status_label().as_bytes());
        out.extend_from_slice(b"\",\"table\":");
        match r.table.and_then(|t| self.tables.get(t)) {
            Some(t) => out.extend_from_slice(&t.json_name),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"values\":[");
        for (i, v) in r.values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_value(v, r.enc, out);
        }
        out.extend_from_slice(b"]}\n");
    }

    fn csv(&self, db: &Db<'_>, r: &RowRef<'_>, out: &mut Vec<u8>) {
        if self.streams.csv_table_column {
            if let Some(t) = r.table.and_then(|t| self.tables.get(t)) {
                out.extend_from_slice(&t.csv_name);
            }
            out.push(b',');
        }
        out.extend_from_slice(r.status_label().as_bytes());
        out.push(b',');
        write_int(i64::from(r.page_no.0), out);
        out.push(b',');
        write_int(i64::try_from(r.offset).unwrap_or(-1), out);
        out.push(b',');
        if let Some(id) = r.rowid {
            write_int(id, out);
        }
        let _ = std::io::Write::write_fmt(out, format_args!(",{:.2}", r.confidence));
        if r.lost == 0 {
            out.extend_from_slice(b",0,");
        } else {
            out.extend_from_slice(b",1,");
            write_csv_str(lost_names(db, r).join(",").as_bytes(), out);
        }
        for v in r.values {
            out.push(b',');
            write_csv_value(v, r.enc, out);
        }
        out.push(b'\n');
    }
}

impl RowFormat for RowBytes {
    type Batch = Formatted;
    fn add(&self, db: &Db<'_>, row: &RowRef<'_>, b: &mut Formatted) {
        if self.streams.sql {
            self.sql(db, row, &mut b.sql);
        }
        if self.streams.jsonl {
            self.jsonl(db, row, &mut b.jsonl);
        }
        if self.streams.csv {
            self.csv(db, row, &mut b.csv);
        }
        b.ends.push([b.sql.len(), b.jsonl.len(), b.csv.len()]);
    }
}
