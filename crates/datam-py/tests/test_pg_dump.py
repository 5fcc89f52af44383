"""datam.pg.tables / datam.pg.dump equal `datam pg tables|dump --format
jsonl`: every typed Arrow value printed the way the server prints it is the
CLI's text (which the CLI tests compare with COPY)."""

import datetime as dt
import decimal
import uuid

import pyarrow as pa
import pyarrow.parquet as pq

import datam
from conftest import CORPORA, cli_jsonl

PG15 = CORPORA / "pg15" / "datadir"
PROV = {"datam_file": "file", "datam_block": "block", "datam_lp": "lp",
        "datam_xmin": "xmin", "datam_xmax": "xmax", "datam_status": "status"}
# `dead=True` batches also say where each row version was found.
DEAD_PROV = dict(PROV, datam_source="source")


def float_text(f):
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "Infinity" if f > 0 else "-Infinity"
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    return repr(f)


def array_elem(s):
    if s is None:
        return "NULL"
    if s == "" or s.upper() == "NULL" or any(c in s for c in '{}," \\\t\n'):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return s


def pg_text(v, t):
    """An Arrow value of type t as PostgreSQL's output function prints it."""
    if v is None:
        return None
    if pa.types.is_boolean(t):
        return "t" if v else "f"
    if pa.types.is_integer(t):
        return str(v)
    if pa.types.is_float32(t):
        import numpy as np

        return float_text(float(v)) if float(v).is_integer() else str(np.float32(v))
    if pa.types.is_floating(t):
        return float_text(v)
    if pa.types.is_decimal(t):
        return str(decimal.Decimal(v))
    if pa.types.is_date(t):
        return v.isoformat()
    if pa.types.is_timestamp(t):
        s = v.strftime("%Y-%m-%d %H:%M:%S")
        if v.microsecond:
            s += (".%06d" % v.microsecond).rstrip("0")
        return s + ("+00" if t.tz else "")
    if pa.types.is_fixed_size_binary(t):
        return str(uuid.UUID(bytes=v))
    if pa.types.is_binary(t):
        return "\\x" + v.hex()
    if pa.types.is_list(t):
        return "{" + ",".join(array_elem(pg_text(e, t.value_type)) for e in v) + "}"
    return v


def dump_as_cli(table, prov=PROV):
    out = []
    fields = {f.name: f.type for f in table.schema}
    for r in table.to_pylist():
        o = {v: r[k] for k, v in prov.items()}
        o["values"] = {c: pg_text(r[c], fields[c]) for c in r if c not in prov}
        out.append(o)
    return out


def whole_versions(rows):
    """The CLI's `--dead` rows that `datam.pg.dump(dead=True)` returns too:
    every whole row version (heap, carved, WAL; partial carved rows are
    JSON-only), without the keys only the JSON lines carry."""
    extra = ("lsn", "offset", "wal_source")
    return [{k: v for k, v in r.items() if k not in extra} for r in rows
            if r["status"] != "carved-partial"]


def test_tables_equal_cli():
    ours = datam.pg.tables(PG15).read_all().to_pylist()
    theirs = cli_jsonl("pg", "tables", PG15, "--format", "jsonl")
    assert len(theirs) >= 2
    assert ours == theirs


def test_dump_of_shipped_sample_equals_cli(tmp_path):
    for table in ("public.people", "public.notes"):
        for dead in (False, True):
            diags = []
            t = datam.pg.dump(PG15, table, dead=dead, diagnostics=diags).read_all()
            args = ["pg", "dump", PG15, "--table", table, "--format", "jsonl"]
            theirs = cli_jsonl(*args, *(["--dead"] if dead else []))
            if dead:
                theirs = whole_versions(theirs)
            assert dump_as_cli(t, DEAD_PROV if dead else PROV) == theirs, (table, dead)
    people = datam.pg.dump(PG15, "public.people").read_all()
    s = people.schema
    assert s.field("id").type == pa.int32()
    assert s.field("balance").type == pa.decimal128(12, 2)
    assert s.field("seen").type == pa.timestamp("us", tz="UTC")
    assert s.field("tags").type == pa.list_(pa.string())
    assert s.field("photo").type == pa.binary()
    assert s.field("doc").type == pa.string()
    path = tmp_path / "people.parquet"
    datam.write_parquet(datam.pg.dump(PG15, "public.people"), path)
    back = pq.read_table(path)
    assert back.equals(people)
    assert dump_as_cli(back) == cli_jsonl("pg", "dump", PG15, "--table", "public.people",
                                          "--format", "jsonl")


def test_dump_of_generated_cluster_equals_cli(cluster_factory):
    c = cluster_factory()
    c.psql("""
        CREATE TABLE typed (
            a int2, b int8, c bool, d float4, e float8, f numeric(10,2), g numeric,
            h date, i timestamp, j timestamptz, k uuid, l int4[], m jsonb, n bytea,
            o text, p oid, q varchar(5)[]
        );
        INSERT INTO typed VALUES
          (1, 9000000000, true, 1.5, 0.1, 12.34, 123456789012345678901234567890.123,
           '2024-02-29', '2024-02-29 12:34:56.789', '1999-12-31 23:59:59+00',
           'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', '{"k": [1, 2]}',
           '\\x00ff', 'héllo', 42, '{ab,"c d",NULL}'),
          (-1, -1, false, -2, -1e-300, -0.5, 'NaN', '1900-01-01', '1970-01-01 00:00:00',
           '2030-06-01 00:00:00.000001+00', NULL, '{}', 'null', '\\x', '', 0, NULL),
          (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL);
        DELETE FROM typed WHERE a = -1;
        CHECKPOINT;""")
    c.stop()
    t = datam.pg.dump(c.data, "public.typed").read_all()
    assert t.num_rows == 2
    theirs = cli_jsonl("pg", "dump", c.data, "--table", "public.typed", "--format", "jsonl")
    assert dump_as_cli(t) == theirs
    dead = datam.pg.dump(c.data, "public.typed", dead=True).read_all()
    theirs = whole_versions(cli_jsonl("pg", "dump", c.data, "--table", "typed", "--dead",
                                      "--format", "jsonl"))
    assert len(theirs) == 1
    assert dump_as_cli(dead, DEAD_PROV) == theirs
    s = t.schema
    assert s.field("f").type == pa.decimal128(10, 2)
    assert s.field("g").type == pa.string()  # unconstrained numeric keeps its text
    assert s.field("k").type == pa.binary(16)
    assert s.field("l").type == pa.list_(pa.int32())
    assert s.field("i").type == pa.timestamp("us")
    first = t.to_pylist()[0]
    assert first["j"] == dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)
    assert first["l"] == [1, None, 3]
