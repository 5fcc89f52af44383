"""Scale-out: examples/dask_wal_archive.py on a local Dask cluster with 2
workers over >= 64 segments of real pgbench WAL (1 MB segments) equals
`datam pg wal --format jsonl` of the whole directory — count, LSNs and
per-rmgr counts (as `--stats` prints them) — with records straddling
segment boundaries and with a segment damaged in the middle."""

import importlib.util
import re
import shutil

import duckdb
import pytest

from conftest import REPO, cli, cli_jsonl, lsn_text

spec = importlib.util.spec_from_file_location("dask_wal_archive", REPO / "examples" / "dask_wal_archive.py")
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)


def stats_counts(text):
    """rmgr → N from `datam pg wal --stats`."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(\S+)\s+(\d+) \(", line)
        if m and m.group(1) not in ("Type", "Total"):
            out[m.group(1)] = int(m.group(2))
    return out


@pytest.fixture(scope="module")
def archive():
    from conftest import Cluster

    import os
    import tempfile
    from pathlib import Path

    # Outside pytest's 0700 base directory: the server (user postgres) writes here.
    arch = Path(tempfile.mkdtemp(prefix="datam-py-archive-"))
    os.chmod(arch, 0o777)
    c = Cluster(initdb_args=("--wal-segsize=1",),
                conf=f"archive_mode = on\narchive_command = 'cp %p {arch}/%f'\n"
                     "max_wal_size = '1GB'\ncheckpoint_timeout = '1h'\n")
    try:
        c.pgbench("-i", "-s", "3")
        while len(list(arch.glob("0000000*"))) < 70:
            c.pgbench("-n", "-c", "2", "-t", "2000")
            c.psql("CHECKPOINT; SELECT pg_switch_wal();")
        c.stop()
    finally:
        c.remove()
    segs = sorted(p for p in arch.iterdir() if re.fullmatch(r"[0-9A-F]{24}", p.name))
    assert len(segs) >= 64
    yield arch
    shutil.rmtree(arch, ignore_errors=True)


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as lc, Client(lc) as cl:
        yield cl


def check_equal(arch, out, client):
    done = example.scan_archive(str(arch), str(out), client)
    assert len(done) >= 64
    got = duckdb.sql(f"SELECT lsn, rmgr FROM read_parquet('{out}/*.parquet') ORDER BY lsn").fetchall()
    theirs = cli_jsonl("pg", "wal", arch, "--format", "jsonl")
    assert len(got) == len(theirs)
    assert [lsn_text(lsn) for lsn, _ in got] == [r["lsn"] for r in theirs]
    per_rmgr = {}
    for _, rmgr in got:
        per_rmgr[rmgr] = per_rmgr.get(rmgr, 0) + 1
    assert per_rmgr == stats_counts(cli("pg", "wal", arch, "--stats", check=False))
    return done, theirs


def test_dask_scan_of_pgbench_archive_equals_cli(archive, client, tmp_path):
    done, theirs = check_equal(archive, tmp_path / "out", client)
    seg_bytes = 1 << 20
    straddling = [r for r in theirs
                  if int(r["lsn"].split("/")[1], 16) // seg_bytes != (int(r["end"].split("/")[1], 16) - 1) // seg_bytes]
    assert len(straddling) > 10, "records crossing segment boundaries are part of the test"


def test_dask_scan_with_a_damaged_segment_equals_cli(archive, client, tmp_path):
    damaged = tmp_path / "damaged"
    shutil.copytree(archive, damaged)
    segs = sorted(p for p in damaged.iterdir() if re.fullmatch(r"[0-9A-F]{24}", p.name))
    victim = segs[len(segs) // 2]
    with open(victim, "r+b") as f:
        f.seek(500_000)
        f.write(b"\x5a" * 3000)
    done, _ = check_equal(damaged, tmp_path / "out", client)
    diags = [d for name, _, ds in done if name == victim.name for d in ds]
    assert any(d["code"] == "wal-damage" for d in diags), diags
    # The original archive was not touched.
    assert (archive / victim.name).read_bytes() != victim.read_bytes()
