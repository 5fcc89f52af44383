//! Rollback-journal parser on arbitrary bytes: never panics; records are whole,
//! in file order and non-overlapping; the rollback only uses trusted records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sqlite_pages::journal::{Journal, JournalCtx, JournalHeader, RecordStatus};

fuzz_target!(|data: &[u8]| {
    let _ = JournalHeader::parse(data);
    let db_page_size = data.first().map(|b| 512u32 << (b % 8));
    let j = Journal::parse(data, JournalCtx { db_page_size });
    let mut end = 0u64;
    for r in j.records() {
        assert!(r.offset >= end, "records overlap");
        assert_eq!(Some(r.page.len()), j.page_size_bytes().map(|p| p as usize));
        end = r.offset + 8 + r.page.len() as u64;
        assert!(end <= data.len() as u64);
    }
    if let Some(rb) = j.rollback() {
        let applied = j.records().iter().filter(|r| r.status == RecordStatus::Rollback).count();
        assert!(rb.pages.len() <= applied);
        for pgno in rb.pages.keys().take(64) {
            assert!(rb.page(data, *pgno).is_some());
        }
    }
});
