//! The PostgreSQL screens driven by label with egui_kittest, compared with
//! what the CLI prints for the same data directory: Tables with `datam pg
//! tables`, the Grid with `datam pg dump` (live and `--dead`, provenance
//! included), and the rescue wizard on a real PostgreSQL 15 cluster with a
//! mistaken transaction: its transaction list with `datam pg xacts`, its
//! dry-run counts and rows with `datam pg rescue --dry-run`, its undo.sql
//! with `datam pg rescue --out`, and its apply with the server's own table.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use serde_json::Value;

mod common;
use common::{cli, cli_jsonl, harness, open_by_typing, run_until_idle};
use datam_gui::GuiState;

/// `db:schema.table: live N · dead N · N pages` from a `pg tables` JSON line.
fn tables_line(t: &Value) -> String {
    format!(
        "{}:{}.{}: live {} · dead {} · {} pages",
        t["db"].as_str().unwrap(),
        t["schema"].as_str().unwrap(),
        t["table"].as_str().unwrap(),
        t["live_tuples"],
        t["dead_tuples"],
        t["pages"]
    )
}

/// Opens `dir`'s table `schema.table` (database `db`) in the grid; checks
/// the row counts against `pg dump` and `pg dump --dead`; returns both dumps.
fn grid_matches_dump(
    h: &mut Harness<'_, GuiState>,
    dir: &Path,
    db: &str,
    table: &str,
) -> (Vec<Value>, Vec<Value>) {
    let d = dir.to_str().unwrap();
    let live = cli_jsonl(&[
        "pg", "dump", d, "--db", db, "--table", table, "--format", "jsonl",
    ]);
    let dead = cli_jsonl(&[
        "pg", "dump", d, "--db", db, "--table", table, "--dead", "--format", "jsonl",
    ]);
    h.get_by_label(&format!("{db}:{table}")).click();
    h.run_steps(1);
    run_until_idle(h);
    let n = live.len() + dead.len();
    h.get_by_label(&format!("{n} of {n} rows shown"));
    h.get_by_label(&format!("live ({})", live.len()));
    h.get_by_label(&format!("dead ({})", dead.len()));
    (live, dead)
}

/// Types `text` into the field labelled `label`.
fn type_into(h: &mut Harness<'_, GuiState>, label: &str, text: &str) {
    h.get_by_label(label).click();
    h.run_steps(1);
    h.get_by_label(label).type_text(text);
    h.run_steps(2);
}

/// Exports the grid's whole view in `format` to `path`; returns the Export
/// row's message.
fn export_pg_view(h: &mut Harness<'_, GuiState>, path: &Path, format: &str, n: usize) {
    h.state_mut().opened.as_mut().unwrap().export.path.clear();
    type_into(h, "Export path", path.to_str().unwrap());
    h.get_by_label(format).click();
    h.run_steps(1);
    h.get_by_label(&format!("Export {n} rows")).click();
    h.run_steps(1);
    run_until_idle(h);
}

/// (status, block, lp, xmin, xmax, values) of a JSON row, as text.
fn row_key(r: &Value) -> String {
    format!(
        "{} {} {} {} {} {}",
        r["status"], r["block"], r["lp"], r["xmin"], r["xmax"], r["values"]
    )
}

/// The PG grid's Export: JSONL holds exactly the rows of `pg dump` and
/// `pg dump --dead` (status, provenance, values); CSV one line per row
/// after its header, SQL one INSERT per row (the live rows' loaded into a
/// server); a target inside the data directory is refused.
fn pg_export_matches_the_dump(
    h: &mut Harness<'_, GuiState>,
    dir: &Path,
    live: &[Value],
    dead: &[Value],
) {
    let n = live.len() + dead.len();
    let out = tempfile::tempdir().unwrap();
    let jsonl = out.path().join("people.jsonl");
    export_pg_view(h, &jsonl, "JSONL", n);
    h.get_by_label(&format!("exported {n} rows to {}", jsonl.display()));
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let mut got: Vec<String> = text
        .lines()
        .map(|l| row_key(&serde_json::from_str(l).unwrap()))
        .collect();
    let mut want: Vec<String> = live.iter().chain(dead).map(row_key).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let csv = out.path().join("people.csv");
    export_pg_view(h, &csv, "CSV", n);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with("status,file,block,lp,xmin,xmax,"),
        "{text}"
    );
    assert_eq!(text.lines().count(), n + 1);
    let sql = out.path().join("people.sql");
    export_pg_view(h, &sql, "SQL", n);
    let text = std::fs::read_to_string(&sql).unwrap();
    let inserts = text
        .lines()
        .filter(|l| l.starts_with("INSERT INTO \"public\".\"people\" ("))
        .count();
    assert_eq!(inserts, n, "{text}");
    live_sql_loads_into_a_server(h, out.path(), live.len(), dead.len());
    let inside = dir.join("people.csv");
    export_pg_view(h, &inside, "CSV", n);
    h.get_by_label_contains("it lies inside the evidence");
    assert!(!inside.exists());
}

/// The live rows' SQL export, loaded into a new PostgreSQL 15 cluster
/// holding the sample's `people` table (its DDL from the workload that made
/// the sample), gives back exactly what the sample's server printed with
/// `COPY people TO STDOUT` before it stopped (`expected/people.copy`).
fn live_sql_loads_into_a_server(
    h: &mut Harness<'_, GuiState>,
    out: &Path,
    n_live: usize,
    n_dead: usize,
) {
    h.get_by_label(&format!("dead ({n_dead})")).click();
    h.run_steps(2);
    let sql = out.join("live.sql");
    export_pg_view(h, &sql, "SQL", n_live);
    h.get_by_label(&format!("dead ({n_dead})")).click();
    h.run_steps(2);
    let corpus = testkit::workspace_root().join("corpora/pg15");
    let workload = std::fs::read_to_string(corpus.join("workload.sql")).unwrap();
    let ddl = &workload[..workload.find("INSERT INTO people").unwrap()];
    assert!(ddl.contains("CREATE TABLE people"), "{ddl}");
    let install = testkit::pg::find_install(15).expect("PostgreSQL 15 (scripts/install-pg.sh)");
    let c = testkit::pg::Cluster::start(&install, testkit::pg::ClusterOptions::default()).unwrap();
    c.psql(ddl).unwrap();
    c.psql(&std::fs::read_to_string(&sql).unwrap()).unwrap();
    let got = c
        .psql(
            "SET DateStyle=ISO; SET TimeZone=UTC; SET extra_float_digits=1; \
             SET bytea_output=hex; SET IntervalStyle=postgres; COPY people TO STDOUT",
        )
        .unwrap();
    let want = std::fs::read_to_string(corpus.join("expected/people.copy")).unwrap();
    let sorted = |t: &str| {
        let mut v: Vec<String> = t.lines().map(str::to_string).collect();
        v.sort();
        v
    };
    let got = sorted(&got);
    assert_eq!(got.len(), n_live, "one row per live row");
    assert_eq!(got, sorted(&want));
}

#[test]
fn data_directory_tables_and_rows_match_pg_tables_and_pg_dump() {
    let dir = testkit::workspace_root().join("corpora/pg15/datadir");
    let before = testkit::hash_tree(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let tables = cli_jsonl(&["pg", "tables", d, "--format", "jsonl"]);
    assert!(tables.len() >= 2, "the sample has tables: {tables:?}");
    let mut h = harness();
    open_by_typing(&mut h, &dir);
    h.get_by_label(&format!(
        "PostgreSQL data directory: {} tables",
        tables.len()
    ));
    h.get_by_label("Show tables").click();
    h.run_steps(2);
    for t in &tables {
        h.get_by_label(&tables_line(t));
    }

    let (live, dead) = grid_matches_dump(&mut h, &dir, "postgres", "public.people");
    pg_export_matches_the_dump(&mut h, &dir, &live, &dead);
    // One row by a value only it has; its provenance is the dump's.
    let r = live
        .iter()
        .find(|r| r["values"]["email"] == "p4@example.org")
        .unwrap();
    type_into(&mut h, "Filter", "p4@example.org");
    // The grid holds the live rows and every dead version `--dead` finds.
    h.get_by_label(&format!("1 of {} rows shown", live.len() + dead.len()));
    h.get_by_label("p4@example.org").click();
    h.run_steps(2);
    h.get_by_label(&format!(
        "live row: block {}, lp {}, xmin {}, xmax {} in {}",
        r["block"],
        r["lp"],
        r["xmin"],
        r["xmax"],
        r["file"].as_str().unwrap()
    ));
    assert_eq!(
        testkit::hash_tree(&dir).unwrap(),
        before,
        "evidence unchanged"
    );
}

/// Types `path` into the (emptied) undo.sql field and presses the button.
fn write_undo_to(h: &mut Harness<'_, GuiState>, path: &Path) {
    let pg = h.state_mut().opened.as_mut().and_then(|o| o.pg.as_mut());
    pg.unwrap().wizard.out_path.clear();
    type_into(h, "undo.sql path", path.to_str().unwrap());
    h.get_by_label("Write undo.sql + report").click();
    h.run_steps(1);
    run_until_idle(h);
}

const ROWS: u32 = 600;

/// A PostgreSQL 15 cluster with table `t`, a mistaken transaction (deletes
/// and updates), then later work on one of the rows it updated. Returns the
/// stopped cluster and the mistake's xid.
fn cluster_with_mistake() -> (testkit::pg::Cluster, String) {
    let install = testkit::pg::find_install(15).expect("PostgreSQL 15 (scripts/install-pg.sh)");
    let c = testkit::pg::Cluster::start(&install, testkit::pg::ClusterOptions::default()).unwrap();
    c.psql(&format!(
        "CREATE TABLE t (id int PRIMARY KEY, v text, n numeric);
         INSERT INTO t SELECT i, 'row ' || i, i * 1.5 FROM generate_series(1, {ROWS}) i;"
    ))
    .unwrap();
    let out = c
        .psql(
            "BEGIN;
             DELETE FROM t WHERE id % 4 = 0;
             UPDATE t SET v = v || ' bad', n = -n WHERE id % 10 = 1;
             SELECT 'xid|' || txid_current();
             COMMIT;",
        )
        .unwrap();
    let xid = out
        .lines()
        .find_map(|l| l.strip_prefix("xid|"))
        .unwrap()
        .to_string();
    c.psql("UPDATE t SET v = 'later' WHERE id = 11; INSERT INTO t VALUES (100001, 'later', 0);")
        .unwrap();
    (c, xid)
}

/// The data lines of a dry run's row table (after the `kind\t...` header).
fn dry_rows(dry: &str) -> Vec<Vec<&str>> {
    dry.lines()
        .skip_while(|l| !l.starts_with("kind\t"))
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect()
}

#[test]
fn rescue_wizard_dry_run_undo_and_apply_match_the_cli_on_a_pg15_cluster() {
    let (mut c, xid) = cluster_with_mistake();
    c.stop(testkit::pg::StopMode::Fast).unwrap();
    let work = tempfile::tempdir().unwrap();
    let ev = work.path().join("evidence");
    c.copy_data_dir_to(&ev).unwrap();
    let before = testkit::hash_tree(&ev).unwrap();
    let evs = ev.to_str().unwrap();
    let xacts = cli_jsonl(&["pg", "xacts", evs, "--table", "t", "--format", "jsonl"]);
    let rescue_cli = |mode: &[&str]| {
        let mut a = vec!["pg", "rescue", evs, "--table", "t", "--xid", xid.as_str()];
        a.extend_from_slice(mode);
        cli(&a)
    };
    let dry = rescue_cli(&["--dry-run"]);

    let mut h = harness();
    h.state_mut().open(&ev);
    run_until_idle(&mut h);
    h.get_by_label("Tables").click();
    h.run_steps(2);
    // The grid shows the mistake's dead tuples as `pg dump --dead` does.
    let (_, dead) = grid_matches_dump(&mut h, &ev, "postgres", "public.t");
    assert!(!dead.is_empty(), "the mistake left dead tuples");
    h.get_by_label("Tables").click();
    h.run_steps(2);
    h.get_by_label("Rescue postgres:public.t").click();
    h.run_steps(1);
    run_until_idle(&mut h);

    // Step 2: the transactions are pg xacts's.
    h.get_by_label(&format!("{} transactions", xacts.len()));
    for x in &xacts {
        h.get_by_label(&format!("xid {}", x["xid"]));
    }
    h.get_by_label(&format!("xid {xid}")).click();
    h.run_steps(1);
    run_until_idle(&mut h);

    // Step 3: the dry run's lines and rows are the CLI's.
    let table_line = dry.lines().find(|l| l.starts_with("table ")).unwrap();
    assert!(
        table_line.contains("skipped by later work 1"),
        "{table_line}"
    );
    h.get_by_label(table_line);
    h.get_by_label(dry.lines().next().unwrap());
    let rows = dry_rows(&dry);
    assert_eq!(u32::try_from(rows.len()).unwrap(), ROWS / 4 + ROWS / 10);
    h.get_by_label(&format!("{n} of {n} rows shown", n = rows.len()));
    let not_restorable: Vec<&Vec<&str>> = rows.iter().filter(|r| r[5] != "restorable").collect();
    h.get_by_label("only skipped and incomplete rows").click();
    h.run_steps(2);
    h.get_by_label(&format!(
        "{} of {} rows shown",
        not_restorable.len(),
        rows.len()
    ));
    h.get_by_label(not_restorable[0][5]);
    h.get_by_label(not_restorable[0][3]);

    // Step 4: never inside the evidence; elsewhere the CLI's undo.sql.
    write_undo_to(&mut h, &ev.join("undo.sql"));
    h.get_by_label_contains("refusing to write");
    assert!(!ev.join("undo.sql").exists() && !ev.join("report.json").exists());
    let (gui_dir, cli_dir) = (work.path().join("gui"), work.path().join("cli"));
    std::fs::create_dir_all(&gui_dir).unwrap();
    std::fs::create_dir_all(&cli_dir).unwrap();
    write_undo_to(&mut h, &gui_dir.join("undo.sql"));
    h.get_by_label(&format!("wrote {}", gui_dir.join("undo.sql").display()));
    h.get_by_label(&format!("wrote {}", gui_dir.join("report.json").display()));
    let cli_undo = cli_dir.join("undo.sql");
    rescue_cli(&["--out", cli_undo.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(gui_dir.join("undo.sql")).unwrap(),
        std::fs::read_to_string(&cli_undo).unwrap(),
        "the wizard's undo.sql is the CLI's"
    );
    let report = |d: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).unwrap()).unwrap()
    };
    assert_eq!(report(&gui_dir)["tables"], report(&cli_dir)["tables"]);

    // Step 5: apply to the (restarted) server, behind the confirmation.
    c.restart().unwrap();
    let conn = c.conn_string("postgres");
    type_into(&mut h, "Connection", &conn);
    h.get_by_label("Apply…").click();
    h.run_steps(2);
    // The confirmation names the target, the timeouts and the row counts.
    h.get_by_label_contains(&format!(
        "Apply the undo of transaction {xid} to {conn} in one transaction with lock_timeout 5s and statement_timeout 5min:"
    ));
    let n = |what: &str| -> u64 {
        let at = table_line.find(&format!("{what} ")).unwrap() + what.len() + 1;
        let digits: String = table_line[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    };
    assert_eq!(
        (n("re-insert"), n("revert")),
        (u64::from(ROWS / 4), u64::from(ROWS / 10 - 1))
    );
    h.get_by_label_contains(&format!(
        "public.t: re-insert {} row(s), revert {}, delete {} ({} skipped, {} incomplete left alone)",
        n("re-insert"),
        n("revert"),
        n("delete"),
        n("later work"),
        n("incomplete")
    ));
    h.get_by_label("Confirm apply").click();
    h.run_steps(1);
    run_until_idle(&mut h);
    h.get_by_label(&format!(
        "applied public.t re-inserted: {} row(s)",
        ROWS / 4
    ));
    let left = c
        .psql("SELECT count(*), count(*) FILTER (WHERE v LIKE '% bad'), min(n) FROM t WHERE id <= 600;")
        .unwrap();
    assert_eq!(
        left.trim(),
        format!("{ROWS}|0|-16.5"),
        "row 11 kept its later update; the's table after the undo"
    );
    assert_eq!(
        testkit::hash_tree(&ev).unwrap(),
        before,
        "evidence unchanged"
    );
}

/// Empties the WAL filter fields (typing then fills them through the UI).
fn clear_wal_filters(h: &mut Harness<'_, GuiState>) {
    let pg = h.state_mut().opened.as_mut().and_then(|o| o.pg.as_mut());
    pg.unwrap().wal.filter = datam_gui::pg::wal::WalFilter::default();
}

#[test]
fn wal_browser_counts_and_filters_match_pg_wal_jsonl() {
    let dir = testkit::workspace_root().join("corpora/pg15/datadir");
    let before = testkit::hash_tree(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let wal = |filter: &[&str]| {
        let mut a = vec!["pg", "wal", d, "--format", "jsonl"];
        a.extend_from_slice(filter);
        cli_jsonl(&a)
    };
    let all = wal(&[]);
    let mut h = harness();
    h.state_mut().open(&dir);
    run_until_idle(&mut h);
    h.get_by_label("WAL").click();
    h.run_steps(1);
    run_until_idle(&mut h);
    h.get_by_label(&format!("{} records", all.len()));

    // xid and resource manager.
    let by_xid = wal(&["--xid", "729", "--rmgr", "Heap"]);
    assert!(!by_xid.is_empty() && by_xid.len() < all.len());
    type_into(&mut h, "Filter xid", "729");
    type_into(&mut h, "Filter rmgr", "Heap");
    h.get_by_label("Apply filters").click();
    h.run_steps(1);
    run_until_idle(&mut h);
    h.get_by_label(&format!("{} records", by_xid.len()));

    // Relation and LSN range, starting at a record with a full-page image.
    let rel = wal(&["--relation", "public.people"]);
    let fpi = rel
        .iter()
        .find(|r| {
            r["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["fpi"] == true)
        })
        .expect("a record of people with a full-page image");
    let (from, to) = (
        fpi["lsn"].as_str().unwrap(),
        all.last().unwrap()["lsn"].as_str().unwrap(),
    );
    let ranged = wal(&["--relation", "public.people", "--start", from, "--end", to]);
    assert!(!ranged.is_empty() && ranged.len() < all.len());
    clear_wal_filters(&mut h);
    type_into(&mut h, "Filter relation", "public.people");
    type_into(&mut h, "From LSN", from);
    type_into(&mut h, "Before LSN", to);
    h.get_by_label("Apply filters").click();
    h.run_steps(1);
    run_until_idle(&mut h);
    h.get_by_label(&format!("{} records", ranged.len()));

    // The record's block references, with the image, as pg wal says.
    h.get_by_label(from).click();
    h.run_steps(2);
    for b in fpi["blocks"].as_array().unwrap() {
        let image = if b["fpi"] == true {
            format!(
                "FPI {} bytes ({})",
                b["fpi_len"],
                b["compression"].as_str().unwrap_or("none")
            )
        } else {
            "no FPI".into()
        };
        h.get_by_label(&format!(
            "blkref #{}: rel {}/{}/{} fork {} blk {}: {image}, {} data bytes",
            b["id"],
            b["spc"],
            b["db"],
            b["relfilenode"],
            b["fork"].as_str().unwrap(),
            b["block"],
            b["data_len"]
        ));
    }
    assert_eq!(
        testkit::hash_tree(&dir).unwrap(),
        before,
        "evidence unchanged"
    );
}

#[test]
fn wal_browser_on_a_bare_wal_directory_matches_pg_wal_jsonl() {
    // A pg_wal copied without its data directory.
    let src = testkit::workspace_root().join("corpora/pg15/datadir/pg_wal");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("wal-copy");
    std::fs::create_dir(&dir).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
        }
    }
    let before = testkit::hash_tree(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let all = cli_jsonl(&["pg", "wal", d, "--format", "jsonl"]);
    let by_xid = cli_jsonl(&["pg", "wal", d, "--format", "jsonl", "--xid", "729"]);
    assert!(!by_xid.is_empty() && by_xid.len() < all.len());
    let mut h = harness();
    h.state_mut().open(&dir);
    run_until_idle(&mut h);
    assert!(!h.state().is_pg(), "no data directory");
    assert!(h.state().has_wal(), "but a WAL directory");
    h.get_by_label("WAL").click();
    h.run_steps(1);
    run_until_idle(&mut h);
    h.get_by_label("WAL records (WAL directory)");
    h.get_by_label(&format!("{} records", all.len()));
    type_into(&mut h, "Filter xid", "729");
    h.get_by_label("Apply filters").click();
    h.run_steps(1);
    run_until_idle(&mut h);
    h.get_by_label(&format!("{} records", by_xid.len()));
    assert_eq!(
        testkit::hash_tree(&dir).unwrap(),
        before,
        "evidence unchanged"
    );
}

#[test]
fn pg_row_history_lists_the_versions_pg_history_finds_with_changed_columns_marked() {
    let dir = testkit::workspace_root().join("corpora/pg15/datadir");
    let before = testkit::hash_tree(&dir).unwrap();
    let d = dir.to_str().unwrap();
    // Row 2 of people had its score set to -1.5 (corpora/pg15/workload.sql).
    let versions = cli_jsonl(&[
        "pg",
        "history",
        d,
        "--table",
        "public.people",
        "--key",
        "id=2",
        "--format",
        "jsonl",
    ]);
    let update = versions
        .iter()
        .find(|v| v["op"] == "update")
        .expect("an update of row 2 in the WAL");
    assert!(
        update["changed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "score")
    );

    let mut h = harness();
    h.state_mut().open(&dir);
    run_until_idle(&mut h);
    h.get_by_label("Show tables").click();
    h.run_steps(2);
    h.get_by_label("postgres:public.people").click();
    h.run_steps(1);
    run_until_idle(&mut h);
    // Select the live row with id 2 (the grid's first column is id).
    {
        let g = h.state_mut().opened.as_mut().unwrap().pg.as_mut().unwrap();
        let g = g.grid.as_mut().unwrap();
        assert_eq!(g.columns[0], "id");
        let idx = g
            .rows
            .iter()
            .position(|r| r.status == "live" && r.values[0].as_deref() == Some("2"))
            .unwrap();
        g.selected = Some(u32::try_from(idx).unwrap());
    }
    h.get_by_label("History").click();
    h.run_steps(1);
    run_until_idle(&mut h);
    h.get_by_label_contains("where id = 2");
    h.get_by_label(&format!("{} versions", versions.len()));
    let i = versions.iter().position(|v| v["op"] == "update").unwrap();
    h.get_by_label_contains(&format!(
        "v{}: update, xid {}, commit {}",
        i + 1,
        update["xid"],
        update["commit_lsn"].as_str().unwrap()
    ));
    h.get_by_label(&format!(
        "● score: {} → {}",
        update["old"]["score"].as_str().unwrap(),
        update["new"]["score"].as_str().unwrap()
    ));
    assert_eq!(
        testkit::hash_tree(&dir).unwrap(),
        before,
        "evidence unchanged"
    );
}
