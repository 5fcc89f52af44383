//! `datam pg wal` against PostgreSQL 15's own pg_waldump (system install):
//! the checked-in corpus record for record, `--stats` counts per rmgr, and
//! `--include-recycled` on a cluster whose old segments were recycled.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// PostgreSQL 15's pg_waldump (the system's, or `$DATAM_PG15_BIN`'s).
fn pg_waldump() -> PathBuf {
    testkit::pg::pg15_bin().join("pg_waldump")
}

fn datam(args: &[&str]) -> String {
    let mut out = Vec::new();
    let mut argv = vec!["datam", "pg", "wal"];
    argv.extend_from_slice(args);
    datam::run(argv, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// (lsn, prev, rmgr, xid, rec len, total len) from pg_waldump text.
type Key = (String, String, String, u32, u32, u32);

fn waldump(args: &[&str]) -> Vec<Key> {
    let out = Command::new(pg_waldump()).args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let rmgr = l
                .strip_prefix("rmgr: ")?
                .split_whitespace()
                .next()?
                .to_string();
            let (rec, tot) = l
                .split("len (rec/tot):")
                .nth(1)?
                .split(',')
                .next()?
                .split_once('/')?;
            Some((
                l.split("lsn: ").nth(1)?.split(',').next()?.to_string(),
                l.split(", prev ").nth(1)?.split(',').next()?.to_string(),
                rmgr,
                l.split("tx:")
                    .nth(1)?
                    .split(',')
                    .next()?
                    .trim()
                    .parse()
                    .ok()?,
                rec.trim().parse().ok()?,
                tot.trim().parse().ok()?,
            ))
        })
        .collect()
}

fn jsonl_keys(text: &str) -> Vec<(Key, bool)> {
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                (
                    v["lsn"].as_str().unwrap().to_string(),
                    v["prev"].as_str().unwrap().to_string(),
                    v["rmgr"].as_str().unwrap().to_string(),
                    u32::try_from(v["xid"].as_u64().unwrap()).unwrap(),
                    u32::try_from(v["len"].as_u64().unwrap()).unwrap(),
                    u32::try_from(v["total_len"].as_u64().unwrap()).unwrap(),
                ),
                v.get("recycled").is_some(),
            )
        })
        .collect()
}

/// First and last segment file names in `dir` (pg_waldump reads only
/// STARTSEG unless ENDSEG is given).
fn seg_range(dir: &Path) -> (String, String) {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().to_string())
        .filter(|n| n.len() == 24)
        .collect();
    v.sort();
    (v[0].clone(), v[v.len() - 1].clone())
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora/pg15/datadir")
}

#[test]
fn corpus_jsonl_equals_pg_waldump() {
    let dir = corpus();
    let before = testkit::hash_tree(&dir).unwrap();
    let ours = jsonl_keys(&datam(&[dir.to_str().unwrap(), "--format", "jsonl"]));
    let wal = dir.join("pg_wal");
    let (first, last) = seg_range(&wal);
    let reference = waldump(&["-p", wal.to_str().unwrap(), &first, &last]);
    assert!(reference.len() > 1000);
    let ours: Vec<Key> = ours.into_iter().map(|(k, _)| k).collect();
    assert_eq!(ours, reference);
    assert_eq!(before, testkit::hash_tree(&dir).unwrap());
}

#[test]
fn corpus_stats_equal_pg_waldump() {
    let dir = corpus();
    let ours = datam(&[dir.to_str().unwrap(), "--stats"]);
    let wal = dir.join("pg_wal");
    let (first, last) = seg_range(&wal);
    let out = Command::new(pg_waldump())
        .args(["--stats", "-p", wal.to_str().unwrap(), &first, &last])
        .output()
        .unwrap();
    let theirs = String::from_utf8_lossy(&out.stdout).to_string();
    // rmgr -> (count, record size, FPI size) from either table.
    let table = |t: &str| -> BTreeMap<String, (u64, u64, u64)> {
        t.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let name = f.first()?.to_string();
                if !walparse::rmgr::RMGR_NAMES.contains(&name.as_str()) {
                    return None;
                }
                let n: u64 = f.get(1)?.parse().ok()?;
                if n == 0 {
                    return None;
                }
                // name N (%) rec (%) fpi (%) combined (%)
                let nums: Vec<u64> = f.iter().filter_map(|x| x.parse().ok()).collect();
                Some((name, (n, *nums.get(1)?, *nums.get(2)?)))
            })
            .collect()
    };
    let a = table(&ours);
    assert!(a.len() >= 5, "{ours}");
    assert_eq!(a, table(&theirs), "ours:\n{ours}\ntheirs:\n{theirs}");
}

/// A checkpoint recycles (renames, without clearing) every segment before
/// its redo segment when `min_wal_size` leaves room for them as future
/// segments. The test writes a load spanning at least three 1 MB segments
/// between two LSNs the server reports, ends it with `pg_switch_wal()`, takes
/// pg_waldump's records of that range from a copy of `pg_wal` made before the
/// checkpoint, then checkpoints (the server's log must say it recycled and
/// removed nothing): those records now exist only in recycled files, and
/// `--include-recycled` must give them back. Nothing depends on how much WAL
/// initdb wrote or on when the checkpointer runs (no timed checkpoint can
/// come in between).
#[test]
fn recycled_segments_hold_older_records() {
    let install = testkit::pg::find_install(15).expect("system PostgreSQL 15");
    let mut c = testkit::pg::Cluster::start(
        &install,
        testkit::pg::ClusterOptions::default()
            .initdb_arg("--wal-segsize=1")
            .conf("min_wal_size = '32MB'")
            .conf("wal_keep_size = 0")
            .conf("checkpoint_timeout = '1d'")
            .conf("log_checkpoints = on"),
    )
    .unwrap();
    let lsn = |s: &str| s.trim().parse::<walparse::Lsn>().unwrap();
    let seg = |l: walparse::Lsn| l.0 >> 20; // 1 MB segments
    let start = lsn(&c.psql("SELECT pg_current_wal_insert_lsn();").unwrap());
    c.psql("CREATE TABLE t (id int, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 30000) g;")
        .unwrap();
    let end = lsn(&c.psql("SELECT pg_switch_wal();").unwrap());
    assert!(seg(end) >= seg(start) + 2, "{start} {end}");
    // The server's records of the load, from a copy taken before any
    // checkpoint could recycle their segments.
    let snap = tempfile::tempdir().unwrap();
    copy_wal_files(&c.data_dir().join("pg_wal"), snap.path());
    let (s, e) = (start.to_string(), end.to_string());
    let reference = waldump(&["-p", snap.path().to_str().unwrap(), "-s", &s, "-e", &e]);
    assert!(reference.len() > 3000, "{}", reference.len());
    let log_len = c.server_log().len();
    c.psql("CHECKPOINT;").unwrap();
    let log = c.server_log()[log_len..].to_string();
    let done = log
        .lines()
        .rfind(|l| l.contains("checkpoint complete"))
        .unwrap_or_else(|| panic!("no checkpoint logged:\n{log}"));
    assert!(
        done.contains(" 0 removed, ") && !done.contains(" 0 recycled;"),
        "{done}"
    );
    c.psql("INSERT INTO t VALUES (0, 'after');").unwrap();
    c.stop(testkit::pg::StopMode::Fast).unwrap();
    let dd = c.data_dir().to_str().unwrap().to_string();
    let before = testkit::hash_tree(c.data_dir()).unwrap();
    let plain = jsonl_keys(&datam(&[&dd, "--format", "jsonl"]));
    assert!(plain.iter().all(|(_, r)| !r));
    assert!(plain.iter().all(|(k, _)| lsn(&k.0) > end), "{:?}", plain[0]);
    let with = jsonl_keys(&datam(&[&dd, "--format", "jsonl", "--include-recycled"]));
    assert_eq!(before, testkit::hash_tree(c.data_dir()).unwrap());
    let recycled: Vec<&Key> = with.iter().filter(|(_, r)| *r).map(|(k, _)| k).collect();
    assert_eq!(with.len(), plain.len() + recycled.len());
    let recycled: HashSet<&Key> = recycled.into_iter().collect();
    // Every recycled record in the load's range is one the server wrote.
    let reference_set: HashSet<&Key> = reference.iter().collect();
    for k in recycled
        .iter()
        .filter(|k| (start..end).contains(&lsn(&k.0)))
    {
        assert!(
            reference_set.contains(*k),
            "recycled record {k:?} was never written"
        );
    }
    // Every record the server wrote is recovered, except the last one of
    // each segment, which may continue into the next (each recycled file is
    // decoded on its own, and the next one may sit anywhere or be reused).
    let missing: Vec<&Key> = reference
        .windows(2)
        .filter(|w| seg(lsn(&w[0].0)) == seg(lsn(&w[1].0)))
        .map(|w| &w[0])
        .filter(|k| !recycled.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} records not recovered, first {:?}",
        missing.len(),
        reference.len(),
        missing.first()
    );
}

#[test]
fn filters_equal_pg_waldump_filters() {
    let dir = corpus();
    let d = dir.to_str().unwrap();
    let wal = dir.join("pg_wal");
    let w = wal.to_str().unwrap();
    let (first, last) = seg_range(&wal);
    let (f, l) = (first.as_str(), last.as_str());
    let keys = |args: &[&str]| -> Vec<Key> {
        let mut a = vec![d];
        a.extend_from_slice(args);
        datam_keys(&a)
    };
    // --relation goes through the catalog; corpora/pg15/expected/relations.txt
    // records that `people` is 1663/5/16391.
    let by_name = keys(&["--relation", "public.people"]);
    let reference = waldump(&["-p", w, "--relation", "1663/5/16391", f, l]);
    assert!(reference.len() > 10);
    assert_eq!(by_name, reference);
    assert_eq!(keys(&["--relfilenode", "16391"]), reference);
    let heap = waldump(&["-p", w, "--rmgr", "Heap2", f, l]);
    assert!(heap.len() > 10);
    assert_eq!(keys(&["--rmgr", "Heap2"]), heap);
    let xid: u32 = reference.iter().map(|k| k.3).find(|x| *x != 0).unwrap();
    let xs = xid.to_string();
    assert_eq!(
        keys(&["--xid", &xs]),
        waldump(&["-p", w, "--xid", &xs, f, l])
    );
    let start = &reference[3].0;
    let end = &reference[8].0;
    assert_eq!(
        keys(&["--start", start, "--end", end]),
        waldump(&["-p", w, "--start", start, "--end", end])
    );
}

/// A 90 MB record spans more segments than one batch maps (on machines with
/// few cores; batches grow with the thread count): the record must
/// still come out whole, and the whole sequence must equal pg_waldump's.
#[test]
fn record_longer_than_the_mapped_window() {
    let install = testkit::pg::find_install(15).expect("system PostgreSQL 15");
    let mut c = testkit::pg::Cluster::start(
        &install,
        testkit::pg::ClusterOptions::default()
            .initdb_arg("--wal-segsize=1")
            .conf("wal_level = logical")
            .conf("max_wal_size = '1GB'")
            .conf("wal_keep_size = '1GB'"),
    )
    .unwrap();
    c.psql("CHECKPOINT; SELECT pg_logical_emit_message(true, 'huge', repeat('z', 90000000)); CREATE TABLE after_it (i int);")
        .unwrap();
    c.stop(testkit::pg::StopMode::Fast).unwrap();
    let wal = c.data_dir().join("pg_wal");
    let (first, last) = seg_range(&wal);
    let reference = waldump(&["-p", wal.to_str().unwrap(), &first, &last]);
    let ours: Vec<Key> = jsonl_keys(&datam(&[
        c.data_dir().to_str().unwrap(),
        "--format",
        "jsonl",
    ]))
    .into_iter()
    .map(|(k, _)| k)
    .collect();
    assert!(
        ours.iter()
            .any(|k| k.2 == "LogicalMessage" && k.5 > 90_000_000),
        "huge record missing"
    );
    assert_eq!(ours, reference);
}

/// Every text line (header, description, block references) of the corpus
/// equals pg_waldump 15's.
#[test]
fn text_lines_equal_pg_waldump() {
    let dir = corpus();
    let wal = dir.join("pg_wal");
    let (first, last) = seg_range(&wal);
    let out = Command::new(pg_waldump())
        .args(["-p", wal.to_str().unwrap(), &first, &last])
        .env("TZ", "UTC") // datam prints commit times in UTC
        .output()
        .unwrap();
    let theirs = String::from_utf8_lossy(&out.stdout).to_string();
    let ours = datam(&[dir.to_str().unwrap()]);
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    assert!(b.len() > 100, "{} reference lines", b.len());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "line {}", i + 1);
    }
    assert_eq!(a.len(), b.len());
}

/// `datam pg wal ARGS --format jsonl` as keys.
fn datam_keys(args: &[&str]) -> Vec<Key> {
    let mut argv = args.to_vec();
    argv.extend(["--format", "jsonl"]);
    jsonl_keys(&datam(&argv))
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

/// The paths of the files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_string())
        .collect();
    files.sort();
    files
}

/// Copies the segment and history files of `from` into `to`.
fn copy_wal_files(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name.len() == 24 || name.ends_with(".history") {
            std::fs::copy(&p, to.join(&name)).unwrap();
        }
    }
}

/// A real failover: a standby made from the primary is promoted (timeline
/// 2), then both keep writing, the old primary further than the new one.
/// Both archive their WAL (`../archive` next to the data directory); with
/// both archives in one evidence directory, the default (highest timeline)
/// follows `00000002.history`: timeline 1 up to the switch point, timeline 2
/// after, as pg_waldump reads each range (it does not follow history files
/// itself); `--timeline 1` reads the abandoned branch to its end.
#[test]
fn timeline_switch_follows_history_file() {
    use testkit::pg::StopMode;
    let install = testkit::pg::find_install(15).expect("system PostgreSQL 15");
    let mut primary = testkit::pg::Cluster::start(
        &install,
        testkit::pg::ClusterOptions::default()
            .initdb_arg("--wal-segsize=1")
            .conf("archive_mode = on")
            .conf("archive_command = 'mkdir -p ../archive && cp %p ../archive/%f'"),
    )
    .unwrap();
    primary
        .psql("CREATE TABLE t (id int, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g;")
        .unwrap();
    primary.stop(StopMode::Fast).unwrap();
    let mut standby = primary.copy_stopped().unwrap();
    standby.touch("standby.signal").unwrap();
    standby.restart().unwrap();
    let replayed = standby.psql("SELECT pg_last_wal_replay_lsn();").unwrap();
    assert_eq!(standby.psql("SELECT pg_promote();").unwrap().trim(), "t");
    standby
        .psql("INSERT INTO t SELECT g, 'new ' || g FROM generate_series(1, 3000) g; SELECT pg_switch_wal(); INSERT INTO t VALUES (-2, 'tl2'); SELECT pg_switch_wal();")
        .unwrap();
    primary.restart().unwrap();
    for i in 0..6 {
        primary
            .psql(&format!("INSERT INTO t SELECT g, 'old {i} ' || g FROM generate_series(1, 3000) g; SELECT pg_switch_wal();"))
            .unwrap();
    }
    // A fast shutdown archives every completed segment first.
    standby.stop(StopMode::Fast).unwrap();
    primary.stop(StopMode::Fast).unwrap();

    let ev = tempfile::tempdir().unwrap();
    for c in [&primary, &standby] {
        copy_wal_files(&c.data_dir().join("../archive"), ev.path());
    }
    let before = testkit::hash_tree(ev.path()).unwrap();
    let dir = ev.path().to_str().unwrap();
    // The history file gives the switch point the standby reported.
    let hist = std::fs::read(ev.path().join("00000002.history")).unwrap();
    let (h, problems) = walparse::timeline::TimelineHistory::parse(walparse::TimeLineId(2), &hist);
    assert!(problems.is_empty(), "{problems:?}");
    let switch = h.switch_point(walparse::TimeLineId(1)).unwrap();
    assert_eq!(switch, replayed.trim().parse().unwrap());
    let inspected = {
        let mut out = Vec::new();
        let p = ev.path().join("00000002.history");
        datam::run(
            ["datam", "inspect", p.to_str().unwrap(), "--format", "json"],
            &mut out,
        )
        .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out).unwrap()
    };
    assert_eq!(inspected["kind"], "pg-timeline-history", "{inspected}");
    assert_eq!(
        inspected["facts"]["ancestors"][0]["switch_point"],
        switch.to_string()
    );

    let ours = datam_keys(&[dir]);
    let first = ours[0].0.clone();
    let sw = switch.to_string();
    let mut reference = waldump(&["-p", dir, "-t", "1", "-s", &first, "-e", &sw]);
    let n_tl1 = reference.len();
    reference.extend(waldump(&["-p", dir, "-t", "2", "-s", &sw]));
    assert!(
        n_tl1 > 100 && reference.len() > n_tl1 + 100,
        "{n_tl1} {}",
        reference.len()
    );
    assert_eq!(ours, reference);
    // Timeline 2's text lines from the switch point, its promotion's
    // END_OF_RECOVERY record first, equal pg_waldump's.
    let theirs = Command::new(pg_waldump())
        .args(["-p", dir, "-t", "2", "-s", &sw])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let theirs = String::from_utf8_lossy(&theirs.stdout).to_string();
    let text = datam(&[dir, "--start", &sw]);
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.contains("desc: END_OF_RECOVERY")),
        "{}",
        text.lines().next().unwrap_or("")
    );
    let (a, b): (Vec<&str>, Vec<&str>) = (text.lines().collect(), theirs.lines().collect());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "timeline 2 line {}", i + 1);
    }
    assert_eq!(a.len(), b.len());
    // The same with the files named one by one, the history file among them.
    let files = files_in(ev.path());
    let argv: Vec<&str> = files.iter().map(String::as_str).collect();
    assert_eq!(datam_keys(&argv), ours);

    // The abandoned branch: timeline 1 read on past the switch point.
    let old = datam_keys(&[dir, "--timeline", "1"]);
    let old_ref = waldump(&["-p", dir, "-t", "1", "-s", &first]);
    assert!(old_ref.len() > n_tl1 + 100);
    assert_eq!(old, old_ref);
    assert_eq!(old[..n_tl1], ours[..n_tl1]);
    assert_ne!(old[n_tl1..], ours[n_tl1..]);
    assert_eq!(before, testkit::hash_tree(ev.path()).unwrap());

    switch_segment_missing_on_the_new_timeline(
        ev.path(),
        &standby.data_dir().join("../archive"),
        switch,
        &reference,
        n_tl1,
    );

    // Without the history file, or with a malformed one, the per-segment
    // heuristic (highest timeline present) mixes in timeline 1's segments
    // past the switch point.
    let heuristic = |hist: Option<&[u8]>| {
        let d = tempfile::tempdir().unwrap();
        copy_wal_files(ev.path(), d.path());
        match hist {
            Some(b) => std::fs::write(d.path().join("00000002.history"), b).unwrap(),
            None => std::fs::remove_file(d.path().join("00000002.history")).unwrap(),
        }
        datam_keys(&[d.path().to_str().unwrap()])
    };
    let missing = heuristic(None);
    assert_eq!(missing[..n_tl1], ours[..n_tl1]);
    assert!(missing.len() > ours.len());
    assert_eq!(heuristic(Some(b"1\tnot an lsn\n")), missing);
}

/// `datam pg wal ARGS --format jsonl` run as a process: the keys, the
/// `partial_segment` mark of each record, and stderr.
fn datam_bin_jsonl(args: &[&str]) -> (Vec<(Key, bool)>, String) {
    let mut argv = vec!["pg", "wal"];
    argv.extend_from_slice(args);
    argv.extend(["--format", "jsonl"]);
    let (ok, out, err) = testkit::run_bin(env!("CARGO_BIN_EXE_datam"), &argv).unwrap();
    assert!(ok, "{err}");
    let marks = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.get("partial_segment") == Some(&serde_json::Value::Bool(true))
        })
        .collect::<Vec<_>>();
    let keys = jsonl_keys(&out).into_iter().map(|(k, _)| k);
    (keys.zip(marks).collect(), err)
}

/// The failover's evidence without timeline 2's copy of the segment that
/// holds the switch point (as in an archive the new primary had not yet
/// completed): timeline 1's copy, complete or the `.partial` file the
/// promoted standby archived, is read up to the switch point and no
/// further; the history's records from the switch point to the end of that
/// segment are missing and said to be. Expected records come from
/// pg_waldump over the complete evidence (`reference`).
fn switch_segment_missing_on_the_new_timeline(
    ev: &Path,
    standby_archive: &Path,
    switch: walparse::Lsn,
    reference: &[Key],
    n_tl1: usize,
) {
    let seg = 1u64 << 20;
    let segno = switch.0 / seg;
    assert!(
        !switch.0.is_multiple_of(seg),
        "switch point {switch} at a segment start"
    );
    let name = |tli: u32, s: u64| format!("{tli:08X}{:08X}{:08X}", s / 4096, s % 4096);
    let partial = standby_archive.join(format!("{}.partial", name(1, segno)));
    assert!(
        partial.is_file(),
        "the promoted standby archived no {}",
        partial.display()
    );
    let next_start = (segno + 1) * seg;
    let expected: Vec<Key> = reference
        .iter()
        .filter(|k| {
            let lsn: walparse::Lsn = k.0.parse().unwrap();
            lsn < switch || lsn.0 >= next_start
        })
        .cloned()
        .collect();
    // Timeline 2's first segment holds its 3,000-row insert; the next ones
    // its last insert and WAL switch.
    assert!(
        expected.len() + 100 < reference.len(),
        "timeline 2's first segment holds few records"
    );
    assert!(
        expected.len() > n_tl1,
        "nothing of timeline 2 after its first segment"
    );

    // (a) Timeline 1's complete copy (the old primary wrote on past the
    // switch point; none of that is read).
    let d = tempfile::tempdir().unwrap();
    copy_wal_files(ev, d.path());
    std::fs::remove_file(d.path().join(name(2, segno))).unwrap();
    let before = testkit::hash_tree(d.path()).unwrap();
    let (got, err) = datam_bin_jsonl(&[d.path().to_str().unwrap()]);
    let keys: Vec<Key> = got.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys, expected);
    assert!(got.iter().all(|(_, p)| !p));
    assert!(
        err.contains("is not among the inputs; timeline 1's copy is read up to its switch point")
            && err.contains(&switch.to_string()),
        "{err}"
    );
    assert_eq!(before, testkit::hash_tree(d.path()).unwrap());

    // (b) Only the standby's `.partial` copy: the same records, those of
    // that segment marked.
    std::fs::remove_file(d.path().join(name(1, segno))).unwrap();
    let pcopy = d.path().join(partial.file_name().unwrap());
    std::fs::copy(&partial, &pcopy).unwrap();
    let before_partial = testkit::hash_tree(d.path()).unwrap();
    let (got, err) = datam_bin_jsonl(&[d.path().to_str().unwrap()]);
    let keys: Vec<Key> = got.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys, expected);
    for (k, p) in &got {
        let lsn: walparse::Lsn = k.0.parse().unwrap();
        assert_eq!(*p, lsn.0 / seg == segno, "{k:?}");
    }
    assert!(got.iter().any(|(_, p)| *p));
    assert!(err.contains(".partial file"), "{err}");
    // The same file named on its own among the others.
    let files = files_in(d.path());
    let argv: Vec<&str> = files.iter().map(String::as_str).collect();
    assert_eq!(datam_bin_jsonl(&argv).0, got);

    assert_eq!(before_partial, testkit::hash_tree(d.path()).unwrap());

    // (c) Timeline 1 as the standby saw it (its segments before the switch
    // segment, then the `.partial` one): exactly the records before the
    // switch point, the standby had replayed all of them and the file
    // holds nothing valid after.
    let d1 = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(d.path()).unwrap() {
        let p = e.unwrap().path();
        let n = p.file_name().unwrap().to_str().unwrap().to_string();
        let keep = n.ends_with(".partial")
            || (n.len() == 24
                && n.starts_with("00000001")
                && u64::from_str_radix(&n[8..16], 16).unwrap() * 4096
                    + u64::from_str_radix(&n[16..], 16).unwrap()
                    < segno);
        if keep {
            std::fs::copy(&p, d1.path().join(&n)).unwrap();
        }
    }
    let (got, err) = datam_bin_jsonl(&[d1.path().to_str().unwrap(), "--timeline", "1"]);
    let keys: Vec<Key> = got.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys, reference[..n_tl1], "{err}");
    assert!(got.iter().any(|(_, p)| *p));
}
