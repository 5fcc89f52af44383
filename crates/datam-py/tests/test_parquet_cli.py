"""`datam ... --format parquet --out DIR` read back with pyarrow equals the
binding's readers (same schemas, same rows)."""

import pyarrow as pa
import pyarrow.parquet as pq

import datam
from conftest import CORPORA, cli

PG15 = CORPORA / "pg15" / "datadir"


def test_salvage_parquet_equals_binding(tmp_path):
    db = CORPORA / "sqlite-history" / "samples" / "wal" / "evidence.db"
    cli("sqlite", "salvage", db, "--format", "parquet", "--out", tmp_path)
    ours = {name: r.read_all() for name, r in datam.sqlite.salvage(str(db)).items()}
    files = {p.stem: pq.read_table(p) for p in tmp_path.glob("*.parquet")}
    assert set(files) == set(ours)
    assert any(t.num_rows for t in ours.values())
    for name, t in ours.items():
        assert files[name].schema.equals(t.schema), name
        assert files[name].equals(t), name


def test_wal_and_dump_parquet_equal_binding(tmp_path):
    cli("pg", "wal", PG15, "--format", "parquet", "--out", tmp_path)
    wal = datam.pg.wal(str(PG15)).read_all()
    got = pq.read_table(tmp_path / "wal.parquet")
    assert got.num_rows > 100
    assert got.schema.equals(wal.schema)
    assert got.equals(wal)
    cli("pg", "dump", PG15, "--table", "public.people", "--format", "parquet", "--out", tmp_path)
    rows = datam.pg.dump(str(PG15), "public.people").read_all()
    got = pq.read_table(tmp_path / "public.people.parquet")
    assert got.num_rows == 273
    assert got.schema.equals(rows.schema)
    assert pa.Table.from_batches(got.to_batches(), got.schema).equals(rows)
