//! Structure-aware tampering: the input is a list of edits applied to a real
//! sqlite3 file (`seeds/tamper.db`: two tables, an index, overflow rows,
//! freeblocks, a freelist; page size 512), each aimed at one structure the
//! salvage must not trust: interior left-child and right-most pointers, cell
//! pointers, cell counts, freeblock headers, serial-type bytes, overflow and
//! freelist-trunk next pointers, trunk leaf counts and entries, header fields
//! and the magic. Then the whole-file salvage runs. Properties: no panic, no
//! hang (libFuzzer's timeout), every row of a table has one value per
//! column, every offset lies inside a page, and each table's rowid comes
//! back `live` at most once.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use sqlite_pages::db::{Db, SalvageOptions, Sink};
use sqlite_pages::scan::{RecoveredRow, RowStatus};

#[path = "common/sqlite_check.rs"]
mod sqlite_check;

static SEED: &[u8] = include_bytes!("../seeds/tamper.db");
const PAGE: usize = 512;

fn put(db: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(d) = at
        .checked_add(bytes.len())
        .and_then(|end| db.get_mut(at..end))
    {
        d.copy_from_slice(bytes);
    }
}

fn u16_at(db: &[u8], at: usize) -> usize {
    db.get(at..at + 2)
        .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])))
}

/// One edit: `op` picks the structure, `page` the page, `slot` the cell or
/// entry, `v` the value written.
fn tamper(db: &mut [u8], op: u8, page: usize, slot: usize, v: u32) {
    let base = (page - 1) * PAGE;
    let hdr = base + if page == 1 { 100 } else { 0 };
    let interior = db.get(hdr).is_some_and(|f| f & 0x08 == 0);
    let ptrs = hdr + if interior { 12 } else { 8 };
    let cell = base + u16_at(db, ptrs + 2 * (slot % 32));
    match op % 12 {
        0 => put(db, cell, &v.to_be_bytes()),    // left child
        1 => put(db, hdr + 8, &v.to_be_bytes()), // right-most pointer
        2 => put(db, ptrs + 2 * (slot % 32), &(v as u16).to_be_bytes()), // cell pointer
        3 => put(db, hdr + 3, &(v as u16).to_be_bytes()), // cell count
        4 => put(db, hdr + 1, &(v as u16).to_be_bytes()), // first freeblock
        5 => {
            // next or size of the first freeblock
            let fb = base + u16_at(db, hdr + 1);
            put(db, fb + 2 * (slot & 1), &(v as u16).to_be_bytes());
        }
        6 => put(db, cell + 2 + slot % 8, &[v as u8]), // serial type / header byte
        7 => put(db, base, &v.to_be_bytes()),          // overflow or trunk next
        8 => put(db, base + 4 + 4 * (slot % 16), &v.to_be_bytes()), // trunk count / entry
        9 => {
            // header fields: page size, page count, first trunk, freelist count
            let at = [16usize, 28, 32, 36][slot % 4];
            if at == 16 {
                put(db, at, &(v as u16).to_be_bytes());
            } else {
                put(db, at, &v.to_be_bytes());
            }
        }
        10 => put(db, slot % 16, &[v as u8]),       // the magic
        _ => put(db, cell + slot % 24, &[v as u8]), // any byte of a cell
    }
}

struct Check {
    live: HashSet<(usize, i64)>,
}

impl Sink for Check {
    type Error = ();
    fn row(&mut self, db: &Db<'_>, r: &RecoveredRow) -> Result<bool, ()> {
        sqlite_check::check_row(db, r);
        if r.status == RowStatus::Live
            && let (Some(t), Some(id)) = (r.table, r.rowid)
            && !db.tables.get(t).is_some_and(|t| t.module.is_some())
        {
            assert!(
                self.live.insert((t, id)),
                "rowid {id} of table {t} live twice"
            );
        }
        Ok(true)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut db = SEED.to_vec();
    let n_pages = db.len() / PAGE;
    for e in data.chunks_exact(8).take(16) {
        let page = 1 + usize::from(u16::from_be_bytes([e[1], e[2]])) % n_pages;
        let v = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
        tamper(&mut db, e[0], page, usize::from(e[3]), v);
    }
    let opened = Db::open(&db);
    let mut check = Check {
        live: HashSet::new(),
    };
    let _ = opened.salvage(&SalvageOptions::default(), &mut check);
});
