"""datam.sqlite.history, the side-file rows of datam.sqlite.salvage and
datam.pg.xacts equal the CLI's jsonl, value for value."""

import hashlib

import pytest

import datam
from conftest import CORPORA, cli_jsonl, lsn_text
from test_sqlite import PROV, value_as_cli

HISTORY = CORPORA / "sqlite-history" / "samples"
CASES = sorted(p for p in HISTORY.iterdir() if p.is_dir())

# Statuses of the older versions salvage adds from the side files (never a
# status of a row of the database file itself).
SIDE_STATUSES = {"db-old", "wal-old", "wal-uncommitted", "journal", "db-uncommitted",
                 "wal-deleted", "journal-deleted"}



def history_row_as_cli(r):
    o = {k: r[k] for k in ("table", "rowid", "key", "status", "change", "changed", "stage",
                           "page", "offset", "file")}
    o["values"] = None if r["values"] is None else [value_as_cli(v) for v in r["values"]]
    # The CLI writes a -wal version's frame keys (commit may be null), a
    # -journal version's journal keys, a carved version's carved_from.
    groups = (("frame", "frame_offset", "frame_status", "commit", "salt1", "salt2"),
              ("journal_page", "journal_offset"), ("carved_from",))
    for keys in groups:
        if r[keys[0]] is not None:
            o.update({k: r[k] for k in keys})
    return o


def sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_history_equals_cli(case):
    db = case / "evidence.db"
    before = {p.name: sha(p) for p in case.iterdir()}
    ours = [history_row_as_cli(r) for r in datam.sqlite.history(db).read_all().to_pylist()]
    theirs = cli_jsonl("sqlite", "history", db, "--format", "jsonl")
    assert len(theirs) > 0
    assert ours == theirs
    # Evidence untouched (no checkpoint, no rollback).
    assert {p.name: sha(p) for p in case.iterdir()} == before


def test_history_selection_equals_cli():
    db = HISTORY / "wal" / "evidence.db"
    ours = datam.sqlite.history(db, table="people", rowid=5).read_all().to_pylist()
    theirs = cli_jsonl("sqlite", "history", db, "--format", "jsonl", "--table", "people",
                       "--rowid", "5")
    assert len(theirs) > 1, "row 5 has several versions in the -wal"
    assert [history_row_as_cli(r) for r in ours] == theirs
    no_side = datam.sqlite.history(db, wal=False, journal=False).read_all().to_pylist()
    theirs = cli_jsonl("sqlite", "history", db, "--format", "jsonl", "--no-wal", "--no-journal")
    assert [history_row_as_cli(r) for r in no_side] == theirs
    assert not {r["status"] for r in no_side} & SIDE_STATUSES - {"db-old"}


def salvage_row_as_cli(r, cols):
    """A side-file row of datam.sqlite.salvage in the fields the CLI's line
    shares with it (the CLI adds key/change/stage/frame details)."""
    o = {
        "table": r["datam_table"],
        "status": r["datam_status"],
        "file": r["datam_file"],
        "rowid": r["datam_rowid"],
        "confidence": r["datam_confidence"],
        "values": [value_as_cli(r[c]) for c in cols]
        + [value_as_cli(v) for v in (r["datam_extra_values"] or [])],
    }
    if r["datam_frame"] is not None:
        o["frame"] = r["datam_frame"]
    if r["datam_journal_record"] is not None:
        o["journal_page"] = r["datam_journal_record"]
    return o


def cli_side_row(j, width):
    o = {k: j[k] for k in ("table", "status", "file", "rowid")}
    # The CLI prints a carved side row's confidence unrounded; batches keep 2 decimals.
    o["confidence"] = round(j["confidence"], 2)
    o["values"] = j["values"] + [None] * (width - len(j["values"]))
    for k in ("frame", "journal_page"):
        if k in j:
            o[k] = j[k]
    return o


def main_key(r):
    return (r["page"], r["offset"], r["status"], str(r["table"]), repr(r["values"]))


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_salvage_with_side_files_equals_cli(case):
    db = case / "evidence.db"
    readers = datam.sqlite.salvage(db)  # wal=True, journal=True
    theirs = cli_jsonl("sqlite", "salvage", db, "--format", "jsonl")
    # Side rows are the CLI's lines with a `stage` (history versions).
    their_side = [j for j in theirs if "stage" in j]
    their_main = [j for j in theirs if "stage" not in j]
    ours_side, ours_main = [], []
    widths = {}
    for name, reader in readers.items():
        t = reader.read_all()
        cols = [c for c in t.column_names if c not in PROV and c != "datam_extra_values"]
        widths[name] = len(cols)
        for r in t.to_pylist():
            vals = [value_as_cli(r[c]) for c in cols] + [
                value_as_cli(v) for v in (r["datam_extra_values"] or [])]
            if r["datam_status"] in SIDE_STATUSES:
                ours_side.append(salvage_row_as_cli(r, cols))
            else:
                ours_main.append({"page": r["datam_page"], "offset": r["datam_offset"],
                                  "status": r["datam_status"], "table": r["datam_table"],
                                  "values": vals})
    assert their_side, "each case has older versions in its side file"
    want_side = [cli_side_row(j, widths.get(j["table"], len(j["values"]))) for j in their_side]
    key = lambda r: (str(r["table"]), r["status"], r["file"], repr(r["values"]),
                     r.get("frame"), r.get("journal_page"))  # noqa: E731
    assert sorted(ours_side, key=key) == sorted(want_side, key=key)
    want_main = [{"page": j["page"], "offset": j["offset"], "status": j["status"],
                  "table": j["table"],
                  "values": j["values"] + [None] * (widths.get(
                      j["table"] or datam.sqlite.UNATTRIBUTED, 0) - len(j["values"]))}
                 for j in their_main]
    assert sorted(ours_main, key=main_key) == sorted(want_main, key=main_key)


def xact_as_cli(r):
    return {
        "commit_end": lsn_text(r["commit_end"]),
        "commit_lsn": lsn_text(r["commit_lsn"]),
        "commit_time": r["commit_time"],
        "first_lsn": r["first_lsn"],
        "prepared": r["prepared"],
        "subxacts": r["subxacts"],
        "tables": [{k: t[k] for k in ("db_oid", "deleted", "inserted", "relfilenode", "table",
                                      "updated")} for t in r["tables"]],
        "xid": r["xid"],
    }


def test_xacts_equal_cli(cluster_factory):
    c = cluster_factory(conf="wal_level = replica\n")
    c.psql("CREATE TABLE t(id int primary key, v text); CREATE TABLE u(x int);"
           "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 50) g;"
           "BEGIN; UPDATE t SET v = 'w' WHERE id <= 10; SAVEPOINT s; DELETE FROM t WHERE id > 40;"
           "INSERT INTO u VALUES (1); COMMIT;"
           "INSERT INTO u SELECT generate_series(1, 5);")
    c.stop()
    ours = [xact_as_cli(r) for r in datam.pg.xacts(c.data).read_all().to_pylist()]
    theirs = cli_jsonl("pg", "xacts", c.data, "--format", "jsonl")
    assert len(theirs) >= 3
    assert ours == theirs
    only_u = [xact_as_cli(r) for r in datam.pg.xacts(c.data, tables="public.u").read_all().to_pylist()]
    assert only_u == cli_jsonl("pg", "xacts", c.data, "--format", "jsonl", "--table", "public.u")
    assert len(only_u) == 2
