"""Shared helpers: the datam CLI (the reference every binding result is
compared with), throw-away PostgreSQL 15 clusters, and value converters
from Arrow to the CLI's JSONL text."""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
CORPORA = REPO / "corpora"
PGBIN = Path(os.environ.get("DATAM_PGBIN", "/usr/lib/postgresql/15/bin"))


def datam_bin():
    """target/debug/datam (built once with cargo if missing)."""
    exe = os.environ.get("DATAM_BIN")
    if exe:
        return exe
    exe = REPO / "target" / "debug" / "datam"
    if not exe.exists():
        subprocess.run(["cargo", "build", "-p", "datam"], cwd=REPO, check=True)
    return str(exe)


def cli(*args, check=True):
    """Runs the CLI; returns its stdout text."""
    r = subprocess.run([datam_bin(), *map(str, args)], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"datam {args} failed ({r.returncode}): {r.stderr}")
    return r.stdout


def cli_jsonl(*args, check=True):
    return [json.loads(line) for line in cli(*args, check=check).splitlines() if line.strip()]


def _as_postgres(cmd):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class Cluster:
    """A throw-away PG 15 cluster on a Unix socket in its own directory."""

    def __init__(self, initdb_args=(), conf=""):
        if not (PGBIN / "initdb").exists():
            pytest.skip(f"no PostgreSQL at {PGBIN}")
        self.work = Path(tempfile.mkdtemp(prefix="datam-py-pg-"))
        os.chmod(self.work, 0o777)
        self.data = self.work / "data"
        if os.geteuid() == 0:
            shutil.chown(self.work, "postgres", "postgres")
        subprocess.run(
            _as_postgres([str(PGBIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                          "--auth=trust", "-E", "UTF8", "--locale=C", *initdb_args]),
            check=True, capture_output=True,
        )
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(f"listen_addresses = ''\nunix_socket_directories = '{self.work}'\n"
                    "autovacuum = off\nport = 5499\n" + conf)
        self.start()

    def start(self):
        subprocess.run(
            _as_postgres([str(PGBIN / "pg_ctl"), "-D", str(self.data), "-l",
                          str(self.work / "log"), "-w", "start"]),
            check=True, capture_output=True,
        )

    def stop(self):
        subprocess.run(
            _as_postgres([str(PGBIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=False, capture_output=True,
        )

    def psql(self, sql):
        r = subprocess.run(
            [str(PGBIN / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", str(self.work),
             "-p", "5499", "-U", "postgres", "-d", "postgres"],
            input=sql, capture_output=True, text=True,
        )
        if r.returncode != 0:
            raise AssertionError(r.stderr)
        return r.stdout

    def pgbench(self, *args):
        subprocess.run(
            _as_postgres([str(PGBIN / "pgbench"), "-h", str(self.work), "-p", "5499", "-U",
                          "postgres", *map(str, args), "postgres"]),
            check=True, capture_output=True,
        )

    def remove(self):
        self.stop()
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture
def cluster_factory():
    made = []

    def make(**kw):
        c = Cluster(**kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.remove()


def lsn_text(v):
    return f"{v >> 32:X}/{v & 0xFFFFFFFF:08X}"


def wal_row_as_cli(r):
    """One row of datam.pg.wal in the shape of `datam pg wal --format jsonl`."""
    out = {k: r[k] for k in ("rmgr", "info", "xid", "len", "total_len", "fpi_len",
                             "main_data_len", "desc")}
    for k in ("lsn", "prev", "end"):
        out[k] = lsn_text(r[k])
    out["blocks"] = [dict(b) for b in r["blocks"]]
    if r["toplevel_xid"] is not None:
        out["toplevel_xid"] = r["toplevel_xid"]
    if r["origin"] is not None:
        out["origin"] = r["origin"]
    return out
