//! Fuzzes the SQLite page, cell, record and carving parsers over one page, and
//! the whole-file salvage over the input as a database. Properties: no panic;
//! every recovered row has as many values as its table has columns; every
//! cell offset lies inside the page.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sqlite_pages::PageNo;
use sqlite_pages::db::{Db, SalvageOptions, Sink};
use sqlite_pages::page::BtreePage;
use sqlite_pages::scan::{Extract, PageRole, RecoveredRow, table_rows_in_page};

#[path = "common/sqlite_check.rs"]
mod sqlite_check;

struct Check;
impl Sink for Check {
    type Error = ();
    fn row(&mut self, db: &Db<'_>, r: &RecoveredRow) -> Result<bool, ()> {
        sqlite_check::check_row(db, r);
        Ok(true)
    }
}

fuzz_target!(|data: &[u8]| {
    // One page on its own, as page 2 and as page 1.
    for pn in [1u32, 2] {
        if let Ok(p) = BtreePage::parse(PageNo(pn), data, data.len()) {
            for off in p.cell_ptrs() {
                assert!(off < data.len());
            }
            let _ = p.freeblocks();
            let _ = p.children();
        }
        let _ = rowcodec::sqlite::Record::parse(data).map(|r| r.values());
    }
    // The input as a whole database file (header, schema, trees, carving).
    let db = Db::open(data);
    let _ = db.salvage(&SalvageOptions::default(), &mut Check);
    // The input as one page image in the context of that database.
    let ctx = db.scan_ctx();
    table_rows_in_page(
        &ctx,
        PageNo(2),
        data,
        PageRole::Orphan,
        Extract {
            intact: true,
            carved: true,
        },
        &mut |_| {},
    );
});
