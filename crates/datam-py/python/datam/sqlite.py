"""SQLite jobs."""

import os as _os

from . import _native
from ._util import collect as _collect

UNATTRIBUTED = "datam_unattributed"


def salvage(path, tables=None, deleted=True, wal=True, journal=True, diagnostics=None):
    """Every recovered row of a SQLite database, one RecordBatchReader per
    table (dict name → reader; rows no schema matched under
    ``datam_unattributed``). Columns: provenance (``datam_status``,
    ``datam_page``, ``datam_offset``, ``datam_rowid``, ...) then one struct
    ``{int, real, text, blob}`` per table column, so each value keeps the
    storage class SQLite gave it."""
    readers, found = _native.sqlite_salvage(
        _os.fspath(path), tables, deleted, wal, journal
    )
    _collect(diagnostics, found)
    return readers


def history(path, table=None, rowid=None, key=None, wal=True, journal=True, diagnostics=None):
    """Every version of every row found in a SQLite database, its ``-wal``
    and its ``-journal`` (``wal=False`` / ``journal=False`` ignore them), as
    ``datam sqlite history --format jsonl`` lists them: one RecordBatchReader
    with columns ``table``, ``rowid``, ``key``, ``status``, ``change``,
    ``changed``, ``values`` (a list of ``{int, real, text, blob}`` structs,
    null for a deletion), ``stage``, ``page``, ``offset``, ``file`` and the
    WAL frame / journal provenance. ``table``, ``rowid``, ``key`` select as
    the CLI's options."""
    reader, found = _native.sqlite_history(
        _os.fspath(path), table, rowid, key, wal, journal
    )
    _collect(diagnostics, found)
    return reader
