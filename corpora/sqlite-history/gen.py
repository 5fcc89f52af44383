#!/usr/bin/env python3
"""Make SQLite history evidence with the real SQLite library (Python's sqlite3
module links the system libsqlite3, the same one /usr/bin/sqlite3 uses).

usage: gen.py CASE OUTDIR

Cases:
  wal              WAL mode, secure_delete=ON: baseline checkpointed into the db,
                   then committed UPDATEs/DELETEs/INSERTs in the -wal, then a large
                   uncommitted UPDATE spilled into the -wal (cache_size tiny).
                   Also a WITHOUT ROWID table kv(v, k PRIMARY KEY) and a
                   table docs(id, body) whose body overflows, both updated
                   in the last commit.
                   Files are copied while the writer still holds the database
                   open (closing would checkpoint and delete the -wal).
  wal-reset        WAL restarted after a checkpoint: new frames at the start of
                   the -wal, frames of the earlier generation still behind them.
  hot-journal      DELETE journal mode, copy taken mid-transaction with
                   uncommitted pages spilled into the database file.
  persist-journal  PERSIST journal mode: after a commit the journal header is
                   zeroed but the pre-images of the last transaction remain.

OUTDIR receives evidence.db plus evidence.db-wal or evidence.db-journal, for
the journal cases before.db (the database file as it was before the last
transaction began: what a rollback must restore), and
truth.json: {"case", "table", "columns", "states": [...], "uncommitted": ...}
where each state is {"label", "rows": {rowid: [values...]}} after a commit, in
commit order. The last state is the committed state SQLite shows.
"""

import json
import os
import shutil
import sqlite3
import sys

COLUMNS = ["id", "name", "age", "note"]


def snapshot(con, label):
    rows = con.execute("SELECT id, name, age, note FROM people ORDER BY id").fetchall()
    return {"label": label, "rows": {str(r[0]): list(r) for r in rows}}


def create_people(con, n, note_len):
    con.execute("CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, age INT, note TEXT)")
    con.execute("BEGIN")
    for i in range(1, n + 1):
        con.execute(
            "INSERT INTO people VALUES(?,?,?,?)",
            (i, f"person-{i}", 20 + i % 50, f"note-{i}-" + "n" * note_len),
        )
    con.execute("COMMIT")


def copy_evidence(src_db, out, suffix):
    shutil.copyfile(src_db, os.path.join(out, "evidence.db"))
    side = src_db + suffix
    if os.path.exists(side):
        shutil.copyfile(side, os.path.join(out, "evidence.db" + suffix))


def case_wal(work, out):
    db = os.path.join(work, "w.db")
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA page_size=1024")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("PRAGMA secure_delete=ON")
    create_people(con, 300, 60)
    # A WITHOUT ROWID table (history --key) and a row with an overflow chain.
    con.execute("CREATE TABLE kv(v TEXT, k TEXT, PRIMARY KEY(k)) WITHOUT ROWID")
    con.execute("INSERT INTO kv VALUES('one','a'),('two','b'),('three','c')")
    con.execute("CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT)")
    con.execute("INSERT INTO docs VALUES(1, ?)", ("first draft " * 300,))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    states = [snapshot(con, "baseline (in the database file)")]
    steps = [
        ("update name of 5", ["UPDATE people SET name='renamed-5' WHERE id=5"]),
        ("delete 9", ["DELETE FROM people WHERE id=9"]),
        ("update age of 5 and 100", ["UPDATE people SET age=age+1 WHERE id IN (5, 100)"]),
        ("insert 1000", ["INSERT INTO people VALUES(1000,'newcomer',1,'fresh')"]),
        ("update 5 again, delete 1000, kv b, docs 1", [
            "UPDATE people SET name='renamed-5-again' WHERE id=5",
            "DELETE FROM people WHERE id=1000",
            "UPDATE kv SET v='TWO' WHERE k='b'",
            "UPDATE docs SET body=replace(body, 'first', 'second') WHERE id=1",
        ]),
    ]
    for label, sqls in steps:
        con.execute("BEGIN")
        for s in sqls:
            con.execute(s)
        con.execute("COMMIT")
        states.append(snapshot(con, label))
    con.execute("PRAGMA cache_size=1")
    con.execute("PRAGMA cache_spill=1")
    con.execute("BEGIN")
    con.execute("UPDATE people SET note=note||'-UNCOMMITTED-'||id, age=-1")
    uncommitted = snapshot(con, "open transaction")
    copy_evidence(db, out, "-wal")
    con.execute("ROLLBACK")
    con.close()
    return states, uncommitted


def case_wal_reset(work, out):
    db = os.path.join(work, "r.db")
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("PRAGMA secure_delete=ON")
    create_people(con, 120, 60)
    con.execute("UPDATE people SET name='gen1-'||id WHERE id % 10 = 0")
    states = [snapshot(con, "before restart")]
    # Full checkpoint with no readers: the next writer restarts the WAL.
    con.execute("PRAGMA wal_checkpoint(PASSIVE)")
    con.execute("UPDATE people SET name='gen2-70' WHERE id=70")
    states.append(snapshot(con, "after restart"))
    copy_evidence(db, out, "-wal")
    con.close()
    return states, None


def case_hot_journal(work, out):
    db = os.path.join(work, "j.db")
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA page_size=1024")
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("PRAGMA secure_delete=ON")
    create_people(con, 400, 40)
    con.execute("UPDATE people SET name='committed-7' WHERE id=7")
    states = [snapshot(con, "last commit")]
    shutil.copyfile(db, os.path.join(out, "before.db"))
    con.execute("PRAGMA cache_size=2")
    con.execute("BEGIN")
    con.execute("UPDATE people SET name='UNCOMMITTED-'||id||'-'||name WHERE id % 3 = 0")
    con.execute("DELETE FROM people WHERE id BETWEEN 200 AND 210")
    uncommitted = snapshot(con, "open transaction")
    copy_evidence(db, out, "-journal")
    con.execute("ROLLBACK")
    con.close()
    return states, uncommitted


def case_persist_journal(work, out):
    db = os.path.join(work, "p.db")
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA page_size=1024")
    con.execute("PRAGMA journal_mode=PERSIST")
    con.execute("PRAGMA secure_delete=ON")
    create_people(con, 200, 40)
    states = [snapshot(con, "before last transaction")]
    shutil.copyfile(db, os.path.join(out, "before.db"))
    con.execute("BEGIN")
    con.execute("UPDATE people SET name='after-'||id WHERE id IN (3, 150)")
    con.execute("DELETE FROM people WHERE id=77")
    con.execute("COMMIT")
    states.append(snapshot(con, "last transaction"))
    con.close()
    copy_evidence(db, out, "-journal")
    return states, None


CASES = {
    "wal": case_wal,
    "wal-reset": case_wal_reset,
    "hot-journal": case_hot_journal,
    "persist-journal": case_persist_journal,
}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in CASES:
        sys.exit(__doc__)
    case, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    work = os.path.join(out, "work")
    os.makedirs(work, exist_ok=True)
    states, uncommitted = CASES[case](work, out)
    shutil.rmtree(work)
    truth = {
        "case": case,
        "sqlite_version": sqlite3.sqlite_version,
        "table": "people",
        "columns": COLUMNS,
        "states": states,
        "uncommitted": uncommitted,
    }
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)


if __name__ == "__main__":
    main()
