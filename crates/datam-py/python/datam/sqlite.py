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
