#!/usr/bin/env bash
# Times `datam pg rescue --dry-run` (planning: two parallel passes over the
# WAL, heap lookups, later-work checks) over >= WAL_MB of WAL made by the
# system PostgreSQL 15 server: pgbench -i, a mistaken transaction on
# pgbench_accounts (deletes every 500th row, updates the next one), then
# pgbench runs with checkpoints (FPIs, as in production) until the WAL is
# large enough; some later pgbench updates touch rows the mistake updated.
# Also times `datam pg xacts` and `--out` (which hashes the evidence), and
# prints peak RSS.
#
# Usage: benches/pg_rescue_plan.sh [WAL_MB (default 1024)] [KEEP_DIR]
# Run as root (the server runs as user postgres). Needs ~2x WAL_MB of disk.
set -euo pipefail
MB=${1:-1024}
KEEP=${2:-}
PGBIN=/usr/lib/postgresql/15/bin
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DATAM=${DATAM:-$TARGET/release/datam}
[ -x "$DATAM" ] || (cd "$ROOT" && cargo build --release -q -p datam)

WORK=${KEEP:-$(mktemp -d /tmp/datam-rescuebench.XXXXXX)}
DATA=$WORK/data
PSQL="$PGBIN/psql -X -q -At -h $WORK -U postgres -d postgres"
. "$ROOT/benches/pgbench_cluster.sh"
if [ ! -d "$DATA" ]; then
  pgbench_cluster_start "$WORK"
  START=$($PSQL -c "SELECT pg_current_wal_lsn()")
  su postgres -c "$PGBIN/pgbench -q -i -s 20 -h $WORK -U postgres postgres" >/dev/null 2>&1
  $PSQL -c "CHECKPOINT"
  XID=$($PSQL <<'SQL'
BEGIN;
DELETE FROM pgbench_accounts WHERE aid % 500 = 0;
UPDATE pgbench_accounts SET abalance = abalance - 1000, filler = 'mistake' WHERE aid % 500 = 1;
SELECT txid_current();
COMMIT;
SQL
)
  echo "$XID" > "$WORK/xid"
  pgbench_until "$WORK" "$START" "$MB"
  su postgres -c "$PGBIN/pg_ctl -D $DATA -m fast -w stop" >/dev/null
fi
XID=$(cat "$WORK/xid")
WAL=$DATA/pg_wal
echo "WAL: $(du -sm "$WAL" | cut -f1) MB in $(ls "$WAL" | grep -cE '^[0-9A-F]{24}$') segments; mistaken xid $XID"
cat "$WAL"/[0-9A-F]* "$DATA"/base/*/* > /dev/null 2>&1 || true   # warm the page cache

run() { # label, command...
  local t0 t1 rss="?"
  t0=$(date +%s.%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$WORK/rss" "${@:2}" > "$WORK/out.txt" 2>"$WORK/err.txt" || { cat "$WORK/err.txt" >&2; }
    rss=$(tail -1 "$WORK/rss")
  else
    "${@:2}" > "$WORK/out.txt" 2>"$WORK/err.txt" || cat "$WORK/err.txt" >&2
  fi
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v l="$1" -v r="$rss" 'BEGIN { printf "%-36s %8.2f s  peak RSS %s KB\n", l, b - a, r }'
}
run "datam pg xacts" "$DATAM" pg xacts "$DATA"
echo "  $(($(wc -l < "$WORK/out.txt") - 1)) transaction/table lines"
run "datam pg rescue --dry-run" "$DATAM" pg rescue "$DATA" --table pgbench_accounts --xid "$XID" --dry-run
sed -n 2p "$WORK/out.txt"
run "datam pg rescue --out (+ hashes)" "$DATAM" pg rescue "$DATA" --table pgbench_accounts --xid "$XID" --out "$WORK/undo.sql"
[ -z "$KEEP" ] && rm -rf "$WORK"
exit 0
