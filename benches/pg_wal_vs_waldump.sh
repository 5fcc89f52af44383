#!/usr/bin/env bash
# Generates >= WAL_MB of pgbench WAL with the system PostgreSQL 15 server, then
# times `datam pg wal` against pg_waldump on the same (page-cached) segments:
#   --stats       vs  pg_waldump --stats
#   --format jsonl vs pg_waldump (text)
# and prints the ratios (pg_waldump time / datam time; > 1 means datam is
# faster) and both programs' peak RSS.
#
# Usage: benches/pg_wal_vs_waldump.sh [WAL_MB (default 1024)] [KEEP_DIR]
# Run as root (the server runs as user postgres). Needs ~2x WAL_MB of disk.
set -euo pipefail
MB=${1:-1024}
KEEP=${2:-}
PGBIN=/usr/lib/postgresql/15/bin
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
(cd "$ROOT" && cargo build --release -q -p datam)
DATAM=$TARGET/release/datam

WORK=${KEEP:-$(mktemp -d /tmp/datam-walbench.XXXXXX)}
DATA=$WORK/data
. "$ROOT/benches/pgbench_cluster.sh"
if [ ! -d "$DATA" ]; then
  pgbench_cluster_start "$WORK"
  PSQL="$PGBIN/psql -X -q -At -h $WORK -U postgres -d postgres"
  START=$($PSQL -c "SELECT pg_current_wal_lsn()")
  su postgres -c "$PGBIN/pgbench -q -i -s 20 -h $WORK -U postgres postgres" >/dev/null 2>&1
  pgbench_until "$WORK" "$START" "$MB"
  su postgres -c "$PGBIN/pg_ctl -D $DATA -m fast -w stop" >/dev/null
fi
WAL=$DATA/pg_wal
FIRST=$(ls "$WAL" | grep -E '^[0-9A-F]{24}$' | sort | head -1)
LAST=$(ls "$WAL" | grep -E '^[0-9A-F]{24}$' | sort | tail -1)
echo "WAL: $(du -sm "$WAL" | cut -f1) MB in $(ls "$WAL" | grep -cE '^[0-9A-F]{24}$') segments ($WAL)"
cat "$WAL"/[0-9A-F]* > /dev/null || true   # warm the page cache for both

run() { # label, command...  -> prints seconds (stdout) and a report line (stderr)
  local t0 t1 rss="?"
  t0=$(date +%s.%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$WORK/rss" "${@:2}" > /dev/null 2>/dev/null || true
    rss=$(tail -1 "$WORK/rss")
  else
    "${@:2}" > /dev/null 2>&1 || true
  fi
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v l="$1" -v r="$rss" 'BEGIN { printf "%-28s %8.2f s  peak RSS %s KB\n", l, b - a, r }' >&2
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}
echo "records: pg_waldump $($PGBIN/pg_waldump -p "$WAL" "$FIRST" "$LAST" 2>/dev/null | wc -l), datam $("$DATAM" pg wal "$DATA" 2>/dev/null | wc -l)"
T1=$(run "pg_waldump --stats" "$PGBIN/pg_waldump" --stats -p "$WAL" "$FIRST" "$LAST")
T2=$(run "datam pg wal --stats" "$DATAM" pg wal --stats "$DATA")
T3=$(run "pg_waldump (text)" "$PGBIN/pg_waldump" -p "$WAL" "$FIRST" "$LAST")
T4=$(run "datam pg wal --format jsonl" "$DATAM" pg wal --format jsonl "$DATA")
T5=$(run "datam pg wal (text)" "$DATAM" pg wal "$DATA")
awk -v a="$T1" -v b="$T2" 'BEGIN { printf "ratio --stats       pg_waldump/datam = %.2f\n", a / b }'
awk -v a="$T3" -v b="$T4" 'BEGIN { printf "ratio full decode   pg_waldump text / datam jsonl = %.2f\n", a / b }'
awk -v a="$T3" -v b="$T5" 'BEGIN { printf "ratio text          pg_waldump text / datam text  = %.2f\n", a / b }'
[ -z "$KEEP" ] && rm -rf "$WORK"
exit 0
