"""datam.sqlite.salvage equals `datam sqlite salvage --format jsonl`, value
for value, and keeps SQLite's storage classes."""

import math
import subprocess

import duckdb
import pyarrow.parquet as pq
import pytest

import datam
from conftest import CORPORA, cli_jsonl

SAMPLES = sorted((CORPORA / "sqlite" / "samples").glob("*.db"))
PROV = ("datam_table", "datam_status", "datam_file", "datam_page", "datam_offset",
        "datam_rowid", "datam_rowid_inferred", "datam_confidence", "datam_frame",
        "datam_journal_record", "datam_raw")


def value_as_cli(v):
    if v is None:
        return None
    if v["int"] is not None:
        return v["int"]
    if v["real"] is not None:
        return v["real"] if math.isfinite(v["real"]) else None
    if v["text"] is not None:
        return v["text"]
    return {"blob_hex": v["blob"].hex()}


def rows_as_cli(readers):
    out = []
    for name, reader in readers.items():
        t = reader.read_all()
        cols = [c for c in t.column_names if c not in PROV and c != "datam_extra_values"]
        for r in t.to_pylist():
            o = {
                "confidence": r["datam_confidence"],
                "file": r["datam_file"],
                "offset": r["datam_offset"],
                "page": r["datam_page"],
                "rowid": r["datam_rowid"],
                "status": r["datam_status"],
                "table": r["datam_table"],
                "values": [value_as_cli(r[c]) for c in cols]
                + [value_as_cli(v) for v in (r["datam_extra_values"] or [])],
            }
            if r["datam_raw"] is not None:
                o["raw_hex"] = r["datam_raw"].hex()
            if r["datam_rowid_inferred"]:
                o["rowid_inferred"] = True
            assert (r["datam_table"] or datam.sqlite.UNATTRIBUTED) == name
            out.append(o)
    return out


def padded(rows, width_by_table):
    """The CLI lists a record's own values; the binding has one column per
    table column (missing trailing values NULL)."""
    for r in rows:
        w = width_by_table.get(r["table"], 0)
        r["values"] = r["values"] + [None] * (w - len(r["values"]))
    return rows


def key(r):
    return (r["page"], r["offset"], r["status"], str(r["table"]), repr(r["values"]))


@pytest.mark.parametrize("db", SAMPLES, ids=[p.name for p in SAMPLES])
def test_salvage_equals_cli(db):
    readers = datam.sqlite.salvage(str(db), wal=False, journal=False)
    widths = {}
    for name, r in readers.items():
        n = len([c for c in r.schema.names if c not in PROV and c != "datam_extra_values"])
        widths[None if name == datam.sqlite.UNATTRIBUTED else name] = n
    readers = datam.sqlite.salvage(str(db), wal=False, journal=False)
    ours = rows_as_cli(readers)
    theirs = padded(cli_jsonl("sqlite", "salvage", db, "--format", "jsonl", "--no-wal",
                              "--no-journal"), widths)
    assert len(theirs) > 0
    assert sorted(ours, key=key) == sorted(theirs, key=key)


def test_live_only_and_table_filter_equal_cli():
    db = CORPORA / "sqlite" / "samples" / "deleted.db"
    ours = rows_as_cli(datam.sqlite.salvage(str(db), deleted=False, wal=False, journal=False))
    theirs = cli_jsonl("sqlite", "salvage", db, "--format", "jsonl", "--no-deleted",
                       "--no-wal", "--no-journal")
    assert {r["status"] for r in ours} == {"live"}
    assert sorted(ours, key=key) == sorted(theirs, key=key)


def test_dynamic_typing_kept_and_duckdb_parquet(tmp_path):
    db = tmp_path / "typed.db"
    subprocess.run(["sqlite3", str(db)], input=(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER);"
        "INSERT INTO t VALUES (1, 'abc', 'not a number');"
        "INSERT INTO t VALUES (2, 42, 7);"
        "INSERT INTO t VALUES (3, x'beef', 2.5);"
        "INSERT INTO t VALUES (4, NULL, NULL);"), text=True, check=True)
    t = datam.sqlite.salvage(db)["t"].read_all()
    rows = {r["datam_rowid"]: r for r in t.to_pylist()}
    # SQLite keeps 42 as TEXT in a TEXT column (affinity), 'not a number' as TEXT in an INTEGER one.
    assert rows[1]["n"]["text"] == "not a number" and rows[1]["n"]["int"] is None
    assert rows[2]["v"]["text"] == "42" and rows[2]["n"]["int"] == 7
    assert rows[3]["v"]["blob"] == b"\xbe\xef" and rows[3]["n"]["real"] == 2.5
    assert rows[4]["v"] is None
    # ... and an integer stored without affinity stays an integer.
    subprocess.run(["sqlite3", str(db)], input="CREATE TABLE u(x); INSERT INTO u VALUES (5), ('5');",
                   text=True, check=True)
    u = datam.sqlite.salvage(db)["u"].read_all().to_pylist()
    assert sorted(((r["x"]["int"], r["x"]["text"]) for r in u), key=repr) == [(5, None), (None, "5")]
    path = tmp_path / "t.parquet"
    datam.write_parquet(datam.sqlite.salvage(db)["t"], path)
    assert pq.read_table(path).equals(t)
    reader = datam.sqlite.salvage(db)["t"]  # noqa: F841
    got = duckdb.sql("SELECT datam_rowid, v.text, v.blob FROM reader ORDER BY 1").fetchall()
    assert got == [(1, "abc", None), (2, "42", None), (3, None, b"\xbe\xef"), (4, None, None)]


def test_inspect_equals_cli():
    import json

    from conftest import cli

    db = CORPORA / "sqlite" / "samples" / "deleted.db"
    assert datam.inspect(str(db)) == json.loads(cli("inspect", "--format", "json", db))
    pg = CORPORA / "pg15" / "datadir"
    assert datam.inspect(str(pg)) == json.loads(cli("inspect", "--format", "json", pg))


def test_diagnostics_and_errors(tmp_path):
    with pytest.raises(datam.DatamError) as e:
        datam.sqlite.salvage(tmp_path / "missing.db")
    assert e.value.code == "open"
    # A database with a damaged -wal beside it: the salvage goes on without
    # the side file's rows and says so (as `datam sqlite salvage`).
    db = tmp_path / "w.db"
    subprocess.run(["sqlite3", str(db)], input="PRAGMA journal_mode=WAL; CREATE TABLE a(x);",
                   text=True, check=True, capture_output=True)
    (tmp_path / "w.db-wal").write_bytes(b"\0" * 32)
    diags = []
    datam.sqlite.salvage(db, diagnostics=diags)
    assert [d["code"] for d in diags] == ["side-files-unused"]
    assert diags[0]["severity"] == "warning"
    # Without the side files nothing is said.
    diags = []
    datam.sqlite.salvage(db, wal=False, diagnostics=diags)
    assert diags == []
