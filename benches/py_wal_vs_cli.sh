#!/usr/bin/env bash
# Python `datam.pg.wal` over >= WAL_MB of pgbench WAL (system PostgreSQL 15)
# into one pyarrow Table, against the CLI's `datam pg wal --format jsonl`
# decode of the same WAL, in the same run; then the Dask example
# (examples/dask_wal_archive.py: scan_segment per segment -> Parquet) on a
# local cluster of 2 workers against 1 worker (the scaling factor).
#
# Usage: benches/py_wal_vs_cli.sh [WAL_MB (default 1024)] [KEEP_DIR]
# Run as root (the server runs as user postgres), with the `datam` package
# installed (pip install ./crates/datam-py) and dask[distributed].
set -euo pipefail
MB=${1:-1024}
KEEP=${2:-}
PGBIN=/usr/lib/postgresql/15/bin
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DATAM=${DATAM:-$TARGET/release/datam}
[ -x "$DATAM" ] || (cd "$ROOT" && cargo build --release -q -p datam)
python3 -c "import datam, dask.distributed" || { echo "pip install ./crates/datam-py 'dask[distributed]' first" >&2; exit 1; }

WORK=${KEEP:-$(mktemp -d /tmp/datam-pybench.XXXXXX)}
DATA=$WORK/data
PSQL="$PGBIN/psql -X -q -At -h $WORK -U postgres -d postgres"
. "$ROOT/benches/pgbench_cluster.sh"
if [ ! -d "$DATA" ]; then
  pgbench_cluster_start "$WORK"
  START=$($PSQL -c "SELECT pg_current_wal_lsn()")
  su postgres -c "$PGBIN/pgbench -q -i -s 20 -h $WORK -U postgres postgres" >/dev/null 2>&1
  pgbench_until "$WORK" "$START" "$MB"
  su postgres -c "$PGBIN/pg_ctl -D $DATA -m fast -w stop" >/dev/null
fi
WAL=$DATA/pg_wal
echo "WAL: $(du -sm "$WAL" | cut -f1) MB in $(ls "$WAL" | grep -cE '^[0-9A-F]{24}$') segments"
cat "$WAL"/[0-9A-F]* > /dev/null   # warm the page cache

secs() { # command... -> prints elapsed seconds
  local t0 t1
  t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}
cli=$(secs sh -c "'$DATAM' pg wal '$WAL' --format jsonl > '$WORK/cli.jsonl' 2>/dev/null")
echo "CLI  datam pg wal --format jsonl : ${cli} s, $(wc -l < "$WORK/cli.jsonl") records"
rm -f "$WORK/cli.jsonl"
py=$(secs python3 -c "
import datam
t = datam.pg.wal('$WAL').read_all()
open('$WORK/py.n', 'w').write(str(t.num_rows))")
echo "Python datam.pg.wal -> pyarrow  : ${py} s, $(cat "$WORK/py.n") records"
awk -v a="$cli" -v b="$py" 'BEGIN { printf "ratio Python / CLI: %.2f (goal <= 1)\n", b / a }'

dask_run() { # workers
  rm -rf "$WORK/pq"
  python3 "$ROOT/examples/dask_wal_archive.py" "$WAL" "$WORK/pq" --workers "$1" > "$WORK/dask.txt" 2>&1
}
d1=$(secs dask_run 1)
echo "Dask, 1 worker                   : ${d1} s ($(grep -m1 segments "$WORK/dask.txt"))"
d2=$(secs dask_run 2)
echo "Dask, 2 workers                  : ${d2} s ($(grep -m1 segments "$WORK/dask.txt"))"
awk -v a="$d1" -v b="$d2" 'BEGIN { printf "scaling factor 1 -> 2 workers: %.2fx\n", a / b }'
[ -z "$KEEP" ] && rm -rf "$WORK"
exit 0
