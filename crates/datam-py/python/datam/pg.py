"""PostgreSQL jobs."""

import os as _os

from . import _native
from ._util import collect as _collect


def parse_lsn(text):
    """``"0/16B3D28"`` → int."""
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def format_lsn(lsn):
    """int → ``"0/016B3D28"`` (as ``datam pg wal`` prints it)."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:08X}"


def _lsn(v):
    return parse_lsn(v) if isinstance(v, str) else v


def wal(paths, start=None, end=None, relation=None, xid=None, rmgr=None, timeline=None,
        database=None, diagnostics=None):
    """Every WAL record of ``paths`` (a data directory, a WAL directory or
    segment files, and timeline history files) in LSN order, as ``datam pg
    wal --format jsonl``. ``start``/``end``: LSN (int or ``"X/Y"``);
    ``relation``: a relfilenode (int) or ``"schema.table"`` (resolved in the
    first path, a data directory; ``database`` when several hold it);
    ``xid``: a transaction id; ``rmgr``: a resource manager name as
    pg_waldump prints it; ``timeline``: the timeline to read (default: the
    highest present, following its history file)."""
    if isinstance(paths, (str, _os.PathLike)):
        paths = [paths]
    paths = [_os.fspath(p) for p in paths]
    relfilenode = relation if isinstance(relation, int) else None
    rel_name = relation if isinstance(relation, str) else None
    reader, found = _native.pg_wal(paths, _lsn(start), _lsn(end), relfilenode, rel_name,
                                   database, xid, rmgr, timeline)
    _collect(diagnostics, found)
    return reader


def scan_segment(segment, next_segment=None, name=None, next_name=None, diagnostics=None):
    """The records that *start* in one WAL segment (a path or its bytes),
    reading the tail of the last one from ``next_segment``. Over an archive,
    the union over all segments equals one sequential scan: this is the unit
    of work to map over a cluster. With bytes, pass the segment's file
    ``name`` (and ``next_name``) so a recycled segment (older pages under a
    newer name) is recognised as the CLI does; without it the first page's
    address says which segment the bytes are."""
    seg = segment if isinstance(segment, (bytes, bytearray)) else _os.fspath(segment)
    nxt = next_segment
    if nxt is not None and not isinstance(nxt, (bytes, bytearray)):
        nxt = _os.fspath(nxt)
    if isinstance(seg, bytearray):
        seg = bytes(seg)
    if isinstance(nxt, bytearray):
        nxt = bytes(nxt)
    reader, found = _native.scan_segment(seg, nxt, name, next_name)
    _collect(diagnostics, found)
    return reader


def tables(pgdata, db=None, diagnostics=None):
    """The tables of a data directory (as ``datam pg tables``)."""
    reader, found = _native.pg_tables(_os.fspath(pgdata), db)
    _collect(diagnostics, found)
    return reader


def dump(pgdata, table, dead=False, db=None, diagnostics=None):
    """The rows of ``schema.table`` (``dead=True``: every row version a
    committed transaction deleted or replaced, as ``datam pg dump --dead``
    finds them: dead tuples on the heap, tuples carved from the pages, old
    images rebuilt from the WAL), with Arrow types from the PostgreSQL
    column types and provenance columns ``datam_file``, ``datam_block``,
    ``datam_lp``, ``datam_xmin``, ``datam_xmax``, ``datam_status`` (and with
    ``dead=True`` ``datam_source``: ``heap``, ``carve`` or ``wal``)."""
    reader, found = _native.pg_dump(_os.fspath(pgdata), table, dead, db)
    _collect(diagnostics, found)
    return reader


_PG_EPOCH = None


def _pg_us(t):
    """A time (datetime, naive = UTC, or int µs since 2000-01-01 UTC) → µs
    since 2000-01-01 UTC."""
    global _PG_EPOCH
    if t is None or isinstance(t, int):
        return t
    import datetime as _dt

    if _PG_EPOCH is None:
        _PG_EPOCH = _dt.datetime(2000, 1, 1, tzinfo=_dt.timezone.utc)
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    d = t - _PG_EPOCH
    return (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds


def xacts(pgdata, tables=None, db=None, since=None, until=None, diagnostics=None):
    """The committed transactions in a data directory's WAL, in commit
    order, with the rows each changed per table (as ``datam pg xacts
    --format jsonl``). ``tables``: only transactions that changed these
    (``"schema.table"``); ``since``/``until``: commit time bounds (datetime,
    naive = UTC)."""
    if isinstance(tables, str):
        tables = [tables]
    reader, found = _native.pg_xacts(_os.fspath(pgdata), tables, db, _pg_us(since), _pg_us(until))
    _collect(diagnostics, found)
    return reader
