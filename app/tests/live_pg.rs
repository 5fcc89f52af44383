//! `datam live` against real PostgreSQL 15 and 17 servers (Unix socket of
//! a testkit cluster): a plan of updates, inserts and deletes on a table of
//! many types must leave it equal, as `COPY` prints it, to a twin table the
//! server changed with the equivalent plain SQL; committing again changes
//! nothing; undo restores the before state. A concurrent change to a
//! planned row, a concurrent lock, `--read-only` and bad change files must
//! each leave the table as it was and say why.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use datam_live::{ChangeSet, CommitOptions, Error, Journal, PlanOptions, Session, Target};
use testkit::pg::{Cluster, ClusterOptions, PgInstall, major_trials};

const SETUP: &str = r#"
CREATE TABLE t (id int PRIMARY KEY, name varchar(10) NOT NULL, price numeric(10,2), qty int2,
  ratio float8, ok bool, day date, at timestamptz, doc jsonb, raw bytea, uid uuid, tags int[],
  span interval, addr inet, j json);
INSERT INTO t SELECT i, 'n' || i, i * 1.25, (i % 7)::int2, i / 3.0, i % 2 = 0,
  date '2024-01-01' + i, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour',
  jsonb_build_object('i', i, 'l', jsonb_build_array(i, 'x')), decode(lpad(to_hex(i), 4, '0'), 'hex'),
  md5(i::text)::uuid, ARRAY[i, i + 1], i * interval '1 minute', ('10.0.0.' || i)::inet, ('{"k": ' || i || '}')::json
  FROM generate_series(1, 60) i;
UPDATE t SET price = NULL, ok = NULL WHERE id = 5;
CREATE TABLE e (LIKE t INCLUDING ALL);
INSERT INTO e SELECT * FROM t;
CREATE TABLE nokey (a int, b text);
INSERT INTO nokey VALUES (1, 'x'), (1, 'x'), (2, 'y');
CREATE SEQUENCE s;
"#;

const CHANGES: &str = r#"{
  "updates": [
    {"key": {"id": 1}, "set": {"price": "9.90", "name": "uno", "doc": {"b": true}}},
    {"key": {"id": 2}, "set": {"tags": "{7,8}", "ok": null, "at": "2020-02-02 02:02:02+00"}},
    {"key": {"id": 5}, "set": {"price": 1234.5, "ratio": 1e-7}}
  ],
  "inserts": [
    {"id": 1000, "name": "new", "ratio": 2.5, "raw": {"blob_hex": "0102ff"}, "span": "1 day"},
    {"id": 1001, "name": "json", "j": [1, {"a": null}], "qty": "32767"}
  ],
  "deletes": [ {"key": {"id": 3}}, {"key": {"id": 4}} ]
}"#;

/// The same changes as plain SQL, applied by the server to the twin.
const EQUIVALENT_SQL: &str = r#"
UPDATE e SET price = 9.90, name = 'uno', doc = '{"b": true}' WHERE id = 1;
UPDATE e SET tags = '{7,8}', ok = NULL, at = '2020-02-02 02:02:02+00' WHERE id = 2;
UPDATE e SET price = 1234.5, ratio = 1e-7 WHERE id = 5;
INSERT INTO e (id, name, ratio, raw, span) VALUES (1000, 'new', 2.5, '\x0102ff', '1 day');
INSERT INTO e (id, name, j, qty) VALUES (1001, 'json', '[1, {"a": null}]', 32767);
DELETE FROM e WHERE id IN (3, 4);
"#;

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

fn start(install: &PgInstall) -> Result<Cluster, String> {
    let c = Cluster::start(install, ClusterOptions::default()).map_err(e)?;
    c.psql(SETUP).map_err(e)?;
    Ok(c)
}

fn copy(c: &Cluster, table: &str) -> String {
    c.psql(&format!(
        "SET TimeZone = 'UTC'; COPY (SELECT * FROM {table} ORDER BY 1, 2) TO STDOUT"
    ))
    .unwrap()
}

/// Runs the datam binary with its own DATAM_HOME; (ok, stdout, stderr).
fn datam(home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_datam"))
        .args(args)
        .env("DATAM_HOME", home)
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `datam live edit URL --table T --changes FILE FLAGS…`.
fn edit(home: &Path, url: &str, table: &str, file: &str, flags: &[&str]) -> (bool, String, String) {
    let mut args = vec!["live", "edit", url, "--table", table, "--changes", file];
    args.extend_from_slice(flags);
    datam(home, &args)
}

fn write_changes(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn edit_commit_again_undo(install: &PgInstall) -> Result<(), String> {
    let c = start(install)?;
    let url = c.conn_string("postgres");
    let home = tempfile::tempdir().map_err(e)?;
    let changes = write_changes(home.path(), "c.json", CHANGES);
    let before = copy(&c, "t");
    c.psql(EQUIVALENT_SQL).map_err(e)?;
    let expected = copy(&c, "e");
    assert_ne!(before, expected);

    let (ok, out, err) = edit(home.path(), &url, "t", &changes, &["--dry-run"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("price: 12.50 -> 9.90") || out.contains("price: 1.25 -> 9.90"),
        "{out}"
    );
    assert!(out.contains("AND xmin = '"), "{out}");
    assert_eq!(copy(&c, "t"), before, "--dry-run wrote");

    let (ok, out, err) = edit(home.path(), &url, "t", &changes, &["--commit"]);
    assert!(ok, "{err}");
    assert!(out.contains("committed plan "), "{out}");
    let id = out
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_end_matches(':')
        .to_owned();
    assert_eq!(copy(&c, "t"), expected);

    let (ok, out, err) = edit(home.path(), &url, "t", &changes, &["--commit"]);
    assert!(ok, "{err}");
    assert!(out.contains("already committed"), "{out}");
    assert_eq!(copy(&c, "t"), expected);

    let (ok, out, err) = datam(home.path(), &["live", "undo", &url, &id]);
    assert!(ok, "{err}\n{out}");
    assert_eq!(
        copy(&c, "t"),
        before,
        "undo did not restore the before state"
    );
    let (ok, out, _) = datam(home.path(), &["live", "undo", &url, &id]);
    assert!(ok && out.contains("already committed"), "{out}");
    assert_eq!(copy(&c, "t"), before);
    Ok(())
}

fn open(c: &Cluster, read_only: bool) -> Session {
    Session::open(
        &Target::parse(&c.conn_string("postgres")).unwrap(),
        read_only,
    )
    .unwrap()
}

fn conflict_lock_read_only(install: &PgInstall) -> Result<(), String> {
    let c = start(install)?;
    let dir = tempfile::tempdir().map_err(e)?;
    let journal = Journal::at(dir.path()).map_err(e)?;
    let changes = ChangeSet::from_json(CHANGES.as_bytes()).map_err(e)?;

    // Another session changes a planned row (a column the plan does not
    // touch) between read and commit.
    let mut s = open(&c, false);
    let plan = s.plan("t", &changes, PlanOptions::default()).map_err(e)?;
    c.psql("UPDATE t SET qty = 99 WHERE id = 2").map_err(e)?;
    let theirs = copy(&c, "t");
    match s.commit(&plan, &journal, &CommitOptions::default()) {
        Err(Error::Conflict { conflicts }) => {
            assert_eq!(conflicts.len(), 1, "{conflicts:?}");
            assert_eq!(conflicts[0].place, "updates[1]");
            let now = conflicts[0].current.as_ref().unwrap();
            assert!(
                now.contains(&datam_live::Value::Text("99".into())),
                "{now:?}"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        copy(&c, "t"),
        theirs,
        "the table must stay as the other session left it"
    );

    // A concurrent lock: the commit gives up with a lock timeout.
    let plan = s.plan("t", &changes, PlanOptions::default()).map_err(e)?;
    let mut locker = Command::new(c.bin("psql"))
        .args(["-X", "-q", "-h"])
        .arg(c.socket_dir())
        .args(["-U", "postgres", "-d", "postgres"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(e)?;
    let mut stdin = locker.stdin.take().unwrap();
    stdin
        .write_all(b"BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;\n")
        .map_err(e)?;
    stdin.flush().map_err(e)?;
    let held = "SELECT count(*) FROM pg_locks WHERE relation = 't'::regclass AND mode = 'AccessExclusiveLock' AND granted";
    while c.psql(held).map_err(e)?.trim() != "1" {
        std::thread::sleep(Duration::from_millis(50));
    }
    let opts = CommitOptions {
        lock_timeout: Duration::from_millis(300),
        ..CommitOptions::default()
    };
    let r = s.commit(&plan, &journal, &opts);
    drop(stdin);
    locker.wait().map_err(e)?;
    assert!(matches!(r, Err(Error::LockTimeout { .. })), "{r:?}");
    assert_eq!(copy(&c, "t"), theirs);

    // --read-only refuses, in the library and the CLI.
    let mut ro = open(&c, true);
    let plan = ro.plan("t", &changes, PlanOptions::default()).map_err(e)?;
    let r = ro.commit(&plan, &journal, &CommitOptions::default());
    assert!(matches!(r, Err(Error::ReadOnly)), "{r:?}");
    let changes_file = write_changes(dir.path(), "c.json", CHANGES);
    let url = c.conn_string("postgres");
    let (ok, _, err) = edit(
        dir.path(),
        &url,
        "t",
        &changes_file,
        &["--read-only", "--commit"],
    );
    assert!(!ok && err.contains("read-only"), "{err}");
    assert_eq!(copy(&c, "t"), theirs);
    Ok(())
}

fn bad_input(install: &PgInstall) -> Result<(), String> {
    let c = start(install)?;
    let url = c.conn_string("postgres");
    let home = tempfile::tempdir().map_err(e)?;
    let before = copy(&c, "t");
    let cases: &[(&str, &str, &str)] = &[
        (
            "malformed",
            r#"{"updates": [ {"key": {"id": 1}, "set": }"#,
            "line 1 column",
        ),
        (
            "unknown field",
            r#"{"upserts": []}"#,
            "unknown field `upserts`",
        ),
        (
            "wrong column",
            r#"{"updates": [{"key": {"id": 1}, "set": {"nme": "x"}}]}"#,
            "updates[0].set.nme: no column \"nme\"",
        ),
        (
            "wrong key",
            r#"{"deletes": [{"key": {"name": "n1"}}]}"#,
            "deletes[0].key: the key must give exactly the key columns",
        ),
        (
            "wrong type",
            r#"{"updates": [{"key": {"id": 1}, "set": {"qty": "many"}}]}"#,
            "updates[0].set.qty: value \"many\" does not fit column \"qty\" of type smallint",
        ),
        (
            "out of range",
            r#"{"inserts": [{"id": 77, "name": "x", "qty": 99999}]}"#,
            "inserts[0].qty: value 99999 does not fit",
        ),
        (
            "too long",
            r#"{"updates": [{"key": {"id": 1}, "set": {"name": "abcdefghijk"}}]}"#,
            "too long for type character varying(10)",
        ),
        (
            "not null",
            r#"{"updates": [{"key": {"id": 1}, "set": {"name": null}}]}"#,
            "updates[0].set.name: column \"name\" is NOT NULL",
        ),
        (
            "no such row",
            r#"{"deletes": [{"key": {"id": 4242}}]}"#,
            "deletes[0].key: no row with this key",
        ),
    ];
    for (what, text, want) in cases {
        let f = write_changes(home.path(), "bad.json", text);
        let (ok, _, err) = edit(home.path(), &url, "t", &f, &["--commit"]);
        assert!(!ok, "{what}: accepted");
        assert!(err.contains(want), "{what}: {err}");
    }
    assert_eq!(copy(&c, "t"), before, "a bad change file wrote");
    assert!(
        std::fs::read_dir(home.path().join("live-journal"))
            .map(|d| d.count())
            .unwrap_or(0)
            == 0,
        "journal written"
    );

    // A table without a key: refused, then addressed by all columns.
    let upd = |a: i32, b: &str| {
        format!(r#"{{"updates": [{{"key": {{"a": {a}, "b": "{b}"}}, "set": {{"b": "z"}}}}]}}"#)
    };
    let f = write_changes(home.path(), "nk.json", &upd(2, "y"));
    let (ok, _, err) = edit(home.path(), &url, "nokey", &f, &["--commit"]);
    assert!(!ok && err.contains("has no primary key"), "{err}");
    let (ok, _, err) = edit(
        home.path(),
        &url,
        "nokey",
        &f,
        &["--commit", "--all-columns-key"],
    );
    assert!(ok, "{err}");
    let f = write_changes(home.path(), "nk2.json", &upd(1, "x"));
    let (ok, _, err) = edit(
        home.path(),
        &url,
        "nokey",
        &f,
        &["--commit", "--all-columns-key"],
    );
    assert!(!ok && err.contains("match 2 rows"), "{err}");
    assert_eq!(copy(&c, "nokey"), "1\tx\n1\tx\n2\tz\n");
    Ok(())
}

fn rows_match_copy(install: &PgInstall) -> Result<(), String> {
    let c = start(install)?;
    let url = c.conn_string("postgres");
    let home = tempfile::tempdir().map_err(e)?;
    // COPY text escapes backslashes; un-escape the way COPY's reader does
    // for the columns used here (bytea's \\x, NULL's \N).
    let want: String = copy(&c, "t").replace("\\\\", "\\").replace("\\N", "NULL");
    let (ok, out, err) = datam(
        home.path(),
        &[
            "live",
            "rows",
            &url,
            "--read-only",
            "--table",
            "t",
            "--order-by",
            "id",
        ],
    );
    assert!(ok, "{err}");
    let got: String = out.lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert_eq!(got, want);
    let (ok, out, err) = datam(
        home.path(),
        &[
            "live",
            "rows",
            &url,
            "--table",
            "t",
            "--where",
            "id % 10 = 0",
            "--format",
            "jsonl",
            "--limit",
            "3",
            "--order-by",
            "id",
        ],
    );
    assert!(ok, "{err}");
    let ids: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["10", "20", "30"]);
    let (ok, _, err) = datam(
        home.path(),
        &[
            "live",
            "rows",
            &url,
            "--table",
            "t",
            "--where",
            "nextval('s') > 0",
        ],
    );
    assert!(
        !ok && err.contains("read-only transaction"),
        "a writing --where ran: {err}"
    );
    let (ok, out, err) = datam(home.path(), &["live", "tables", &url]);
    assert!(
        ok && out.contains("public\tt\ttable") && out.contains("nokey\ttable\t-\t(none)"),
        "{out}{err}"
    );
    Ok(())
}

/// Many rows over many pages, with NULLs and TOASTed (compressed and
/// external) values.
const EXPORT_SETUP: &str = r#"
CREATE TABLE big (LIKE t INCLUDING ALL);
ALTER TABLE big ADD COLUMN long text;
INSERT INTO big SELECT i, 'n' || (i % 1000), i * 0.01, (i % 300)::int2, i / 7.0, i % 3 = 0,
  date '2000-01-01' + (i % 9000), NULL, jsonb_build_object('i', i), decode(md5(i::text), 'hex'),
  md5(i::text)::uuid, ARRAY[i], NULL, NULL, NULL,
  CASE WHEN i % 500 = 0 THEN repeat(md5(i::text), 200) WHEN i % 777 = 0
    THEN (SELECT string_agg(md5((i * 1000 + k)::text), '') FROM generate_series(1, 100) k) END
  FROM generate_series(1, 30000) i;
DELETE FROM big WHERE id % 11 = 0;
CREATE TABLE load1 (LIKE big);
CREATE TABLE load4 (LIKE big);
"#;

fn export_binary_loads_back(install: &PgInstall) -> Result<(), String> {
    let c = start(install)?;
    c.psql(EXPORT_SETUP).map_err(e)?;
    let url = c.conn_string("postgres");
    let dir = tempfile::tempdir().map_err(e)?;
    let original = copy(&c, "big");
    for (jobs, table) in [("1", "load1"), ("4", "load4")] {
        let out = dir.path().join(format!("big{jobs}.bin"));
        let out_s = out.display().to_string();
        let (ok, stdout, err) = datam(
            dir.path(),
            &[
                "live", "export", &url, "--table", "big", "--out", &out_s, "--jobs", jobs,
            ],
        );
        assert!(ok, "{err}");
        assert!(stdout.contains("exported 27273 rows"), "{stdout}");
        if jobs == "4" && c.major() >= 14 {
            assert!(stdout.contains("with 4 connection(s)"), "{stdout}");
        }
        // psql reads the file (the server user may not see the test's
        // temporary directory).
        c.psql(&format!("\\copy {table} FROM '{out_s}' (FORMAT binary)"))
            .map_err(e)?;
        assert_eq!(copy(&c, table), original, "--jobs {jobs}");
    }
    let csv = dir.path().join("big.csv");
    let csv_s = csv.display().to_string();
    let (ok, _, err) = datam(
        dir.path(),
        &[
            "live", "export", &url, "--table", "big", "--out", &csv_s, "--format", "csv", "--jobs",
            "3",
        ],
    );
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&csv).map_err(e)?;
    assert!(
        text.starts_with("id,name,price,qty,ratio,ok,day,at,doc,raw,uid,tags,span,addr,j,long\n")
    );
    c.psql("TRUNCATE load1").map_err(e)?;
    c.psql(&format!("\\copy load1 FROM '{csv_s}' (FORMAT csv, HEADER)"))
        .map_err(e)?;
    assert_eq!(copy(&c, "load1"), original, "csv");
    Ok(())
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = Vec::new();
    trials.extend(major_trials(
        "live_edit_commit_again_undo",
        &[15, 17],
        edit_commit_again_undo,
    ));
    trials.extend(major_trials(
        "live_conflict_lock_read_only",
        &[15, 17],
        conflict_lock_read_only,
    ));
    trials.extend(major_trials("live_bad_input", &[15, 17], bad_input));
    trials.extend(major_trials("live_rows_match_copy", &[15, 17], |i| {
        rows_match_copy(i)
    }));
    trials.extend(major_trials(
        "live_export_binary_loads_back",
        &[13, 15, 17],
        export_binary_loads_back,
    ));
    libtest_mimic::run(&args, trials).exit();
}
