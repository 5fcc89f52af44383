"""DataM: forensic recovery for PostgreSQL and SQLite, as Arrow record batches.

Every reading function opens its evidence read-only and returns
``pyarrow.RecordBatchReader`` objects (DuckDB, Polars and pandas read them
directly). Damage that does not stop the job is reported as diagnostics:
pass ``diagnostics=[]`` to collect them (a list of dicts with ``severity``,
``code``, ``file``, ``position``, ``message``). Errors raise
:class:`datam.DatamError`. Jobs run with the GIL released; Ctrl-C cancels them.
"""

import json as _json
import os as _os

from . import pg, sqlite  # noqa: F401
from ._native import inspect_json as _inspect_json
from ._native import write_parquet as _write_parquet
from .errors import DatamError  # noqa: F401

__all__ = ["inspect", "write_parquet", "DatamError", "pg", "sqlite"]


def inspect(path):
    """What ``path`` is and its header facts, as ``datam inspect --format json``."""
    return _json.loads(_inspect_json(_os.fspath(path)))


def write_parquet(reader, path):
    """Writes a RecordBatchReader (or anything with ``__arrow_c_stream__``)
    to a Parquet file with DataM's Parquet writer; returns the row count."""
    import pyarrow as pa

    if not isinstance(reader, pa.RecordBatchReader):
        reader = pa.RecordBatchReader.from_stream(reader)
    return _write_parquet(reader, _os.fspath(path))
