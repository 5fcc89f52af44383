//! WAL written by the real server of each major (13–18), read back with
//! walparse and compared with the server's own view:
//! - every major: the whole prev-link chain and every CRC (the reader checks
//!   both; any damage report fails the test), FPIs restored with all the
//!   compressions the server offers (hole == pd_lower..pd_upper), and heap
//!   INSERT/MULTI_INSERT tuple bytes equal to `pageinspect`'s `heap_page_items`;
//! - 15: (LSN, rmgr, xid, lengths) record for record equal to `pg_waldump`;
//! - 16–18: equal to `pg_walinspect`'s `pg_get_wal_records_info()`.
//!
//! The cluster uses 1 MiB segments and a 2.5 MB logical message so records
//! cross segment boundaries, including one spanning three segments.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

use testkit::pg::{Cluster, ClusterOptions, PgInstall, StopMode};
use walparse::{Diag, Lsn, ReadOptions, Reader, Record, Segment, Sink, WalSource};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    lsn: Lsn,
    prev: Lsn,
    rmgr: String,
    xid: u32,
    tot_len: u32,
    rec_len: u32,
}

#[derive(Default)]
struct Collected {
    rows: Vec<Row>,
    diags: Vec<Diag>,
    /// (relfilenode, block, offnum) -> (xid, tuple bytes from t_hoff)
    inserted: HashMap<(u32, u32, u16), (u32, Vec<u8>)>,
    /// Old tuples of DELETEs (REPLICA IDENTITY FULL), same key/value shape.
    deleted: HashMap<(u32, u32, u16), (u32, Vec<u8>)>,
    compressions: BTreeMap<&'static str, u32>,
    fpi_checked: u32,
    max_span_segments: u64,
    errors: Vec<String>,
    block_size: u32,
    seg_size: u64,
}

impl Sink for Collected {
    type Error = std::convert::Infallible;
    fn record(&mut self, r: &Record<'_>) -> Result<bool, Self::Error> {
        self.rows.push(Row {
            lsn: r.lsn,
            prev: r.prev(),
            rmgr: walparse::rmgr::rmgr_name(r.rmid()).into_owned(),
            xid: r.xid(),
            tot_len: r.total_len(),
            rec_len: r.rec_len(),
        });
        let span = r.end.0.saturating_sub(1) / self.seg_size - r.lsn.0 / self.seg_size;
        self.max_span_segments = self.max_span_segments.max(span);
        for b in &r.blocks {
            let Some(img) = b.image else { continue };
            *self.compressions.entry(img.compression.name()).or_default() += 1;
            match walparse::fpi::restore_page(&img, self.block_size, r.lsn, b.id) {
                Ok(page) => {
                    assert_eq!(page.len(), self.block_size as usize);
                    if img.hole_length > 0 {
                        let lower = u16::from_le_bytes([page[12], page[13]]);
                        let upper = u16::from_le_bytes([page[14], page[15]]);
                        if u32::from(lower) != u32::from(img.hole_offset)
                            || u32::from(upper) != u32::from(img.hole_offset) + img.hole_length
                        {
                            self.errors.push(format!(
                                "FPI at {} blk {}: hole {}+{} vs pd_lower {lower} pd_upper {upper}",
                                r.lsn, b.block, img.hole_offset, img.hole_length
                            ));
                        }
                    }
                    self.fpi_checked += 1;
                }
                Err(e) => self.errors.push(format!("{e}")),
            }
        }
        if let Some(ch) = walparse::heap::heap_change(r) {
            for t in &ch.tuples {
                let skip = usize::from(t.t_hoff).saturating_sub(23);
                let bytes = t.data.get(skip..).unwrap_or(&[]).to_vec();
                if t.role == walparse::heap::TupleRole::Old
                    && ch.op == walparse::heap::HeapOp::Delete
                {
                    self.deleted.insert(
                        (t.locator.rel_number, t.block, t.offnum),
                        (r.xid(), bytes.clone()),
                    );
                }
                if t.role == walparse::heap::TupleRole::New
                    && t.prefix_len == 0
                    && t.suffix_len == 0
                    && matches!(
                        ch.op,
                        walparse::heap::HeapOp::Update | walparse::heap::HeapOp::HotUpdate
                    )
                {
                    self.inserted.insert(
                        (t.locator.rel_number, t.block, t.offnum),
                        (r.xid(), bytes.clone()),
                    );
                }
                if t.role == walparse::heap::TupleRole::New
                    && matches!(
                        ch.op,
                        walparse::heap::HeapOp::Insert | walparse::heap::HeapOp::MultiInsert
                    )
                {
                    let skip = usize::from(t.t_hoff).saturating_sub(23);
                    self.inserted.insert(
                        (t.locator.rel_number, t.block, t.offnum),
                        (r.xid(), t.data.get(skip..).unwrap_or(&[]).to_vec()),
                    );
                }
            }
        }
        Ok(true)
    }
    fn diag(&mut self, d: &Diag) -> Result<bool, Self::Error> {
        self.diags.push(d.clone());
        Ok(true)
    }
}

fn sql(c: &Cluster, s: &str) -> Result<String, String> {
    c.psql(s).map_err(|e| format!("psql: {e}"))
}

fn workload(c: &Cluster, major: u32) -> Result<Vec<&'static str>, String> {
    sql(
        c,
        "CREATE EXTENSION pageinspect;
         CREATE TABLE t (id int primary key, name text, pad text);
         ALTER TABLE t REPLICA IDENTITY FULL;
         INSERT INTO t SELECT g, 'name_' || g, repeat('p', 40) FROM generate_series(1, 2000) g;
         CREATE TABLE toast_t (id int, big text);
         INSERT INTO toast_t SELECT g, (SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 300) i) FROM generate_series(1, 10) g;
         CREATE TABLE t2 (id int, v text);
         COPY t2 (id) FROM PROGRAM 'seq 1 3000';
         BEGIN; INSERT INTO t VALUES (100001, 'sub', 'x'); SAVEPOINT a; INSERT INTO t VALUES (100002, 'sub2', 'y'); RELEASE a; COMMIT;
         SELECT pg_logical_emit_message(true, 'big', repeat('x', 2500000));",
    )?;
    let methods: &[&'static str] = if major <= 14 {
        &["on"]
    } else {
        &["pglz", "lz4", "zstd"]
    };
    let mut used = Vec::new();
    for (i, m) in methods.iter().enumerate() {
        let r = sql(
            c,
            &format!(
                "CHECKPOINT; SET wal_compression = '{m}';
                 UPDATE t SET name = name || '_u' WHERE id % 7 = {i};
                 DELETE FROM t WHERE id % 11 = {i};
                 UPDATE toast_t SET id = id + 100 WHERE id % 3 = {i};"
            ),
        );
        if r.is_ok() {
            used.push(if *m == "on" { "pglz" } else { m });
        }
    }
    sql(c, "CHECKPOINT;")?;
    Ok(used)
}

fn read_wal(dir: &Path, end: Lsn) -> Result<(Collected, String), String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().len() == 24)
        .collect();
    files.sort();
    let evs: Vec<_> = files
        .iter()
        .map(|p| evidence::Evidence::open(p).unwrap())
        .collect();
    let ctx = walparse::WalCtx::from_long_header(evs[0].bytes(), walparse::FileOffset(0))
        .map_err(|e| e.to_string())?;
    let segs: Vec<Segment<'_>> = files
        .iter()
        .zip(&evs)
        .map(|(p, ev)| {
            let (_, segno) = walparse::parse_segment_file_name(
                p.file_name().unwrap().to_str().unwrap(),
                ctx.seg_size_bytes,
            )
            .unwrap();
            Segment {
                segno,
                bytes: ev.bytes(),
            }
        })
        .collect();
    let first_name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    let src = WalSource::new(ctx, segs);
    let mut col = Collected {
        block_size: ctx.block_size_bytes,
        seg_size: u64::from(ctx.seg_size_bytes),
        ..Collected::default()
    };
    let opts = ReadOptions {
        stop: Some(end),
        ..ReadOptions::default()
    };
    let Ok(()) = Reader::new(&src, opts).run(&mut col);
    Ok((col, first_name))
}

fn check(install: &PgInstall) -> Result<(), String> {
    let major = install.major;
    let mut c = Cluster::start(
        install,
        ClusterOptions::default()
            .initdb_arg("--wal-segsize=1")
            .conf("wal_level = logical")
            .conf("autovacuum = off")
            .conf("wal_keep_size = '1GB'")
            .conf("max_wal_size = '1GB'")
            .conf("checkpoint_timeout = '1h'"),
    )
    .map_err(|e| format!("cluster: {e}"))?;
    let used = workload(&c, major)?;
    let end: Lsn = sql(&c, "SELECT pg_current_wal_flush_lsn();")?
        .trim()
        .parse()
        .map_err(|e| format!("{e}"))?;
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("pg_wal");
    std::fs::create_dir(&copy).unwrap();
    for e in std::fs::read_dir(c.data_dir().join("pg_wal")).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, copy.join(p.file_name().unwrap())).unwrap();
        }
    }
    let before = testkit::hash_tree(&copy).unwrap();
    let (col, first_seg) = read_wal(&copy, end)?;
    assert_eq!(
        before,
        testkit::hash_tree(&copy).unwrap(),
        "evidence changed"
    );
    if !col.errors.is_empty() {
        return Err(format!(
            "FPI problems: {:?}",
            &col.errors[..col.errors.len().min(5)]
        ));
    }
    if col.diags.iter().any(|d| matches!(d, Diag::Damage { .. })) {
        return Err(format!("damage reported in clean WAL: {:?}", col.diags));
    }
    if col.rows.len() < 5000 {
        return Err(format!("only {} records read", col.rows.len()));
    }
    // Whole chain: each record's prev is the previous record.
    for w in col.rows.windows(2) {
        if w[1].prev != w[0].lsn {
            return Err(format!("prev chain broken at {}", w[1].lsn));
        }
    }
    if col.max_span_segments < 2 {
        return Err(format!(
            "no record spanning 3 segments (max span {})",
            col.max_span_segments
        ));
    }
    for m in &used {
        if col.compressions.get(m).copied().unwrap_or(0) == 0 {
            return Err(format!(
                "no FPI compressed with {m}: {:?}",
                col.compressions
            ));
        }
    }
    if col.fpi_checked < 10 {
        return Err(format!("only {} FPIs", col.fpi_checked));
    }
    let compared = check_heap(&c, &col)?;
    eprintln!(
        "pg{major}: {} records, {} FPIs restored {:?}, {compared} heap tuples = pageinspect, max span {} segment boundaries",
        col.rows.len(),
        col.fpi_checked,
        col.compressions,
        col.max_span_segments
    );
    match major {
        15 => compare_waldump(&c, &copy, &first_seg, end, &col.rows)?,
        16.. => compare_walinspect(&c, &first_seg, end, &col.rows)?,
        _ => {}
    }
    c.stop(StopMode::Fast).map_err(|e| e.to_string())?;
    Ok(())
}

/// Inserted tuples still on their page (same xmin) must equal `heap_page_items`.
fn check_heap(c: &Cluster, col: &Collected) -> Result<usize, String> {
    let mut compared = 0;
    let mut deleted = 0;
    for table in ["t", "t2"] {
        let fnode: u32 = sql(c, &format!("SELECT pg_relation_filenode('{table}');"))?
            .trim()
            .parse()
            .unwrap();
        let nblocks: u32 = sql(
            c,
            &format!("SELECT pg_relation_size('{table}') / current_setting('block_size')::int;"),
        )?
        .trim()
        .parse()
        .unwrap();
        let out = sql(
            c,
            &format!(
                "SELECT b, lp, t_xmin, encode(t_data, 'hex'), t_xmax FROM generate_series(0, {}) b,
                 LATERAL heap_page_items(get_raw_page('{table}', b)) WHERE lp_flags = 1;",
                nblocks.saturating_sub(1)
            ),
        )?;
        for line in out.lines() {
            let f: Vec<&str> = line.split('|').collect();
            let key = (fnode, f[0].parse().unwrap(), f[1].parse().unwrap());
            let xmin: u32 = f[2].parse().unwrap();
            let xmax: u32 = f[4].parse().unwrap();
            if let Some((xid, data)) = col.deleted.get(&key)
                && *xid == xmax
            {
                let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                if hex != f[3] {
                    return Err(format!(
                        "{table} deleted tuple {key:?}: WAL {hex} vs page {}",
                        f[3]
                    ));
                }
                deleted += 1;
            }
            if let Some((xid, data)) = col.inserted.get(&key)
                && *xid == xmin
            {
                let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                if hex != f[3] {
                    return Err(format!("{table} tuple {key:?}: WAL {hex} vs page {}", f[3]));
                }
                compared += 1;
            }
        }
    }
    if deleted < 100 {
        return Err(format!(
            "only {deleted} deleted old tuples compared with pageinspect"
        ));
    }
    if compared < 3000 {
        return Err(format!(
            "only {compared} heap tuples compared with pageinspect"
        ));
    }
    Ok(compared)
}

fn compare_waldump(
    c: &Cluster,
    dir: &Path,
    first_seg: &str,
    end: Lsn,
    rows: &[Row],
) -> Result<(), String> {
    let out = Command::new(c.bin("pg_waldump"))
        .arg("-p")
        .arg(dir)
        .arg(first_seg)
        .arg(walparse::segment_file_name(
            walparse::TimeLineId(1),
            walparse::SegNo(end.0 >> 20),
            1 << 20,
        ))
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.is_empty() {
        return Err(format!(
            "pg_waldump: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let reference: Vec<Row> = text
        .lines()
        .filter_map(|l| {
            let rmgr = l
                .strip_prefix("rmgr: ")?
                .split_whitespace()
                .next()?
                .to_string();
            let lens = l.split("len (rec/tot):").nth(1)?.split(',').next()?;
            let (rec, tot) = lens.split_once('/')?;
            Some(Row {
                lsn: l.split("lsn: ").nth(1)?.split(',').next()?.parse().ok()?,
                prev: l.split(", prev ").nth(1)?.split(',').next()?.parse().ok()?,
                rmgr,
                xid: l
                    .split("tx:")
                    .nth(1)?
                    .split(',')
                    .next()?
                    .trim()
                    .parse()
                    .ok()?,
                tot_len: tot.trim().parse().ok()?,
                rec_len: rec.trim().parse().ok()?,
            })
        })
        .filter(|r| r.lsn < end)
        .collect();
    eprintln!("pg_waldump: {} records compared", reference.len());
    compare("pg_waldump", &reference, rows)
}

fn compare_walinspect(c: &Cluster, first_seg: &str, end: Lsn, rows: &[Row]) -> Result<(), String> {
    let seg = walparse::parse_segment_file_name(first_seg, 1 << 20)
        .unwrap()
        .1;
    let start = Lsn(seg.0 << 20);
    let out = sql(
        c,
        &format!(
            "CREATE EXTENSION pg_walinspect;
             SELECT start_lsn, prev_lsn, resource_manager, coalesce(xid::text, '0'), record_length, fpi_length
             FROM pg_get_wal_records_info('{start}', '{end}');"
        ),
    )?;
    let reference: Vec<Row> = out
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            let tot: u32 = f[4].parse().unwrap();
            let fpi: u32 = f[5].parse().unwrap();
            Row {
                lsn: f[0].parse().unwrap(),
                prev: f[1].parse().unwrap(),
                rmgr: f[2].to_string(),
                xid: f[3].parse().unwrap(),
                tot_len: tot,
                rec_len: tot - fpi,
            }
        })
        .collect();
    eprintln!("pg_walinspect: {} records compared", reference.len());
    compare("pg_walinspect", &reference, rows)
}

fn compare(what: &str, reference: &[Row], rows: &[Row]) -> Result<(), String> {
    if reference.len() < 1000 {
        return Err(format!("{what} gave only {} records", reference.len()));
    }
    let ours: Vec<&Row> = rows.iter().filter(|r| r.lsn >= reference[0].lsn).collect();
    for (i, (a, b)) in reference.iter().zip(&ours).enumerate() {
        if a != *b {
            return Err(format!(
                "record {i} differs: {what} {a:?} vs walparse {b:?}"
            ));
        }
    }
    if reference.len() != ours.len() {
        return Err(format!(
            "{what} has {} records, walparse {}",
            reference.len(),
            ours.len()
        ));
    }
    Ok(())
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let trials = testkit::pg::major_trials("wal_matches_server", &testkit::pg::ALL_MAJORS, check);
    libtest_mimic::run(&args, trials).exit();
}
