#!/usr/bin/env python3
"""Scan a PostgreSQL WAL archive with Dask, one task per segment, into
Parquet, then query the result with DuckDB.

    python examples/dask_wal_archive.py ARCHIVE_DIR OUT_DIR [--workers 2]
    python examples/dask_wal_archive.py s3://bucket/wal/ s3://bucket/wal-parquet/ \
        --scheduler tcp://scheduler:8786

Each task reads one segment and the one after it (records that start near
the end of a segment continue in the next; `datam.pg.scan_segment` returns
only the records that *start* in its segment, so the union over all tasks is
one sequential scan, with no record lost or repeated). Tasks read the bytes
through fsspec, so the same script runs against local paths, `s3://`,
`gs://` or `abfs://` (install `s3fs`/`gcsfs`/`adlfs` on the workers); each
task writes `OUT_DIR/<segment>.parquet`. On a real cluster, start a Dask
scheduler and workers (`dask scheduler`, `dask worker tcp://...`, or
dask-kubernetes / dask-jobqueue), `pip install datam` on every worker, and
pass `--scheduler ADDRESS`: nothing else changes. Damage inside a segment is
reported by that segment's task (its diagnostics are collected below) and
reading resumes after it, as `datam pg wal` does.

Why Dask and not Ray: `dask.distributed` is a pure-Python pip install
(a few MB) that starts a local cluster in-process for tests, and its
`client.map` over (segment, next segment) pairs is exactly the unit of work;
Ray brings a much larger binary wheel and its own object store, which this
job (bytes in, Parquet out, nothing shared between tasks) does not need.
"""

import argparse
import re

import fsspec

SEGMENT_NAME = re.compile(r"^[0-9A-F]{24}$")


def list_segments(url):
    """Segment files under `url` (24 hex digits), in WAL order."""
    fs, root = fsspec.core.url_to_fs(url)
    names = [p for p in fs.ls(root, detail=False) if SEGMENT_NAME.match(p.rstrip("/").split("/")[-1])]
    proto = url.split("://", 1)[0] + "://" if "://" in url else ""
    return [proto + p for p in sorted(names, key=lambda p: p.split("/")[-1])]


def scan_one(seg_url, next_url, out_url):
    """One task: the records starting in `seg_url` → OUT/<name>.parquet."""
    import pyarrow.parquet as pq

    import datam

    with fsspec.open(seg_url, "rb") as f:
        seg = f.read()
    nxt = None
    if next_url is not None:
        with fsspec.open(next_url, "rb") as f:
            nxt = f.read()
    diags = []
    name = seg_url.rstrip("/").split("/")[-1]
    next_name = next_url.rstrip("/").split("/")[-1] if next_url else None
    table = datam.pg.scan_segment(seg, nxt, name=name, next_name=next_name,
                                  diagnostics=diags).read_all()
    with fsspec.open(f"{out_url.rstrip('/')}/{name}.parquet", "wb") as f:
        pq.write_table(table, f)
    return name, table.num_rows, diags


def scan_archive(archive_url, out_url, client):
    """Maps `scan_one` over the archive; returns [(segment, rows, diagnostics)]."""
    segs = list_segments(archive_url)
    fs, out_root = fsspec.core.url_to_fs(out_url)
    fs.makedirs(out_root, exist_ok=True)
    # Tail continuations come from the next file; a gap in the names is fine:
    # scan_segment ignores (and reports) a "next" that does not follow.
    nexts = segs[1:] + [None]
    futures = client.map(scan_one, segs, nexts, [out_url] * len(segs), pure=False)
    return client.gather(futures)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("archive")
    ap.add_argument("out")
    ap.add_argument("--workers", type=int, default=2, help="local cluster size")
    ap.add_argument("--scheduler", help="address of an existing Dask scheduler")
    args = ap.parse_args()
    from dask.distributed import Client, LocalCluster

    if args.scheduler:
        client = Client(args.scheduler)
    else:
        client = Client(LocalCluster(n_workers=args.workers, threads_per_worker=1))
    with client:
        done = scan_archive(args.archive, args.out, client)
    rows = sum(n for _, n, _ in done)
    for name, _, diags in done:
        for d in diags:
            print(f"{name}: {d['severity']}: {d['message']}")
    print(f"{len(done)} segments, {rows} records")

    import duckdb

    q = f"""SELECT rmgr, count(*) AS records, sum(total_len) AS bytes
            FROM read_parquet('{args.out.rstrip('/')}/*.parquet')
            GROUP BY rmgr ORDER BY records DESC"""
    print(duckdb.sql(q))


if __name__ == "__main__":
    main()
