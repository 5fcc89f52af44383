//! The checked-in PG15 data directory's WAL against the real pg_waldump.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::Command;

fn waldump_records(seg: &Path) -> Vec<(String, String, u32, u32, u32)> {
    let out = Command::new(testkit::pg::pg15_bin().join("pg_waldump"))
        .arg(seg)
        .output()
        .expect("pg_waldump runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| {
            // rmgr: Heap        len (rec/tot):     54/    54, tx:        735, lsn: 0/01A2B3C8, prev ...
            let rmgr = l
                .strip_prefix("rmgr: ")?
                .split_whitespace()
                .next()?
                .to_string();
            let lens = l.split("len (rec/tot):").nth(1)?.split(',').next()?;
            let (rec, tot) = lens.split_once('/')?;
            let tx = l
                .split("tx:")
                .nth(1)?
                .split(',')
                .next()?
                .trim()
                .parse()
                .ok()?;
            let lsn = l.split("lsn: ").nth(1)?.split(',').next()?.to_string();
            Some((
                lsn,
                rmgr,
                tx,
                rec.trim().parse().ok()?,
                tot.trim().parse().ok()?,
            ))
        })
        .collect()
}

#[test]
fn segment_summary_matches_pg_waldump() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora/pg15/datadir/pg_wal");
    let seg = dir.join("000000010000000000000008");
    let before = testkit::hash_tree(&dir).unwrap();
    let ev = evidence::Evidence::open(&seg).unwrap();
    let s = walparse::summarize_segment(ev.bytes()).unwrap();
    assert_eq!(s.ctx.major, walparse::PgMajor::V15);
    assert_eq!(s.segno, walparse::SegNo(8));
    assert_eq!(s.tli, walparse::TimeLineId(1));
    assert_eq!(u64::from(s.ctx.seg_size_bytes), ev.len_bytes());
    assert_eq!(s.ctx.block_size_bytes, 8192);
    let reference = waldump_records(&seg);
    assert!(!reference.is_empty());
    assert_eq!(
        s.first_record_lsn.map(|l| l.to_string()),
        reference.first().map(|r| r.0.clone())
    );
    // pg_waldump stops at the end of valid WAL; so do we within this segment.
    assert_eq!(
        s.last_record_lsn.map(|l| l.to_string()),
        reference.last().map(|r| r.0.clone())
    );
    assert_eq!(s.n_records, reference.len() as u64);
    assert_eq!(before, testkit::hash_tree(&dir).unwrap());
}
