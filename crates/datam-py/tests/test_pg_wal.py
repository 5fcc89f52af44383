"""datam.pg.wal / scan_segment equal `datam pg wal --format jsonl`."""

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

import datam
from conftest import CORPORA, cli_jsonl, wal_row_as_cli

PG15 = CORPORA / "pg15" / "datadir"


def test_wal_of_shipped_sample_equals_cli():
    diags = []
    table = datam.pg.wal(str(PG15), diagnostics=diags).read_all()
    ours = [wal_row_as_cli(r) for r in table.to_pylist()]
    theirs = cli_jsonl("pg", "wal", PG15, "--format", "jsonl")
    assert len(theirs) > 100
    assert ours == theirs


def test_wal_filters_equal_cli():
    xid_rows = cli_jsonl("pg", "wal", PG15, "--format", "jsonl")
    some_xid = next(r["xid"] for r in xid_rows if r["rmgr"] == "Heap" and r["xid"] != 0)
    ours = datam.pg.wal(PG15, xid=some_xid).read_all().to_pylist()
    theirs = cli_jsonl("pg", "wal", PG15, "--format", "jsonl", "--xid", some_xid)
    assert [wal_row_as_cli(r) for r in ours] == theirs
    ours = datam.pg.wal(PG15, relation="public.people").read_all().to_pylist()
    theirs = cli_jsonl("pg", "wal", PG15, "--format", "jsonl", "--relation", "public.people")
    assert len(theirs) > 0
    assert [wal_row_as_cli(r) for r in ours] == theirs
    mid = theirs[len(theirs) // 2]["lsn"]
    ours = datam.pg.wal(PG15, start=mid).read_all().to_pylist()
    theirs = cli_jsonl("pg", "wal", PG15, "--format", "jsonl", "--start", mid)
    assert [wal_row_as_cli(r) for r in ours] == theirs


def test_heap_records_carry_tuples():
    t = datam.pg.wal(PG15).read_all()
    rows = [r for r in t.to_pylist() if r["heap_op"] == "insert" and r["tuples"]]
    assert rows, "the sample's inserts carry their tuples"
    tup = rows[0]["tuples"][0]
    assert tup["role"] == "new" and tup["t_hoff"] >= 24 and len(tup["data"]) > 0


def test_scan_segment_union_equals_sequential_scan():
    segs = sorted((PG15 / "pg_wal").glob("0000000*"))
    assert len(segs) >= 2
    parts = []
    for i, s in enumerate(segs):
        nxt = segs[i + 1] if i + 1 < len(segs) else None
        parts.append(datam.pg.scan_segment(s, nxt).read_all())
    # Bytes work as well as paths.
    from_bytes = datam.pg.scan_segment(segs[0].read_bytes(), segs[1].read_bytes(),
                                       name=segs[0].name, next_name=segs[1].name).read_all()
    assert from_bytes.equals(parts[0])
    union = pa.concat_tables(parts)
    whole = datam.pg.wal(PG15).read_all()
    assert union.equals(whole)


def test_parquet_and_duckdb_read_the_same_records(tmp_path):
    path = tmp_path / "wal.parquet"
    n = datam.write_parquet(datam.pg.wal(PG15), path)
    back = pq.read_table(path)
    whole = datam.pg.wal(PG15).read_all()
    assert n == whole.num_rows
    assert back.equals(whole)
    theirs = cli_jsonl("pg", "wal", PG15, "--format", "jsonl")
    assert [wal_row_as_cli(r) for r in back.to_pylist()] == theirs
    reader = datam.pg.wal(PG15)  # noqa: F841 (DuckDB finds it by name)
    got = duckdb.sql("SELECT rmgr, count(*) AS n FROM reader GROUP BY rmgr ORDER BY rmgr").fetchall()
    want = {}
    for r in theirs:
        want[r["rmgr"]] = want.get(r["rmgr"], 0) + 1
    assert got == sorted(want.items())


def test_errors_are_typed():
    import pytest

    with pytest.raises(datam.DatamError) as e:
        datam.pg.wal("/nonexistent/wal/dir/000000010000000000000001")
    assert e.value.code == "open"
    assert e.value.file.endswith("000000010000000000000001")
