#!/usr/bin/env bash
# Times `datam pg dump --as-of` against pg_waldump's full decode of the same
# WAL, in one run, on >= WAL_MB of pgbench WAL made by the system
# PostgreSQL 15 server: pgbench -i -s SCALE, a CHECKPOINT (the moment:
# its LSN), then pgbench runs with checkpoints (FPIs, as in production)
# until WAL_MB of WAL were written. `--as-of` that LSN undoes every later
# pgbench transaction on pgbench_accounts (newest first) on top of the
# current heap; pg_waldump decodes every record of pg_wal. Prints both
# wall and CPU (user+sys) times, the ratios (pg_waldump / datam; > 1: datam is
# faster; CPU seconds are the steadier figure on a shared machine) and
# both programs' peak RSS (/usr/bin/time -v), and checks the --as-of result
# against the accounts as they were (saved with COPY at the moment).
#
# Usage: benches/pg_asof_vs_waldump.sh [WAL_MB (default 1024)] [SCALE (default 10)] [KEEP_DIR]
# Run as root (the server runs as user postgres). Needs ~2x WAL_MB of disk;
# the cluster lives under /tmp/pghist-asof.* and is removed at the end
# unless KEEP_DIR is given.
set -euo pipefail
MB=${1:-1024}
SCALE=${2:-10}
KEEP=${3:-}
PGBIN=/usr/lib/postgresql/15/bin
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DATAM=${DATAM:-$TARGET/release/datam}
[ -x "$DATAM" ] || (cd "$ROOT" && cargo build --release -q -p datam)

WORK=${KEEP:-$(mktemp -d /tmp/pghist-asof.XXXXXX)}
DATA=$WORK/data
PSQL="$PGBIN/psql -X -q -At -h $WORK -U postgres -d postgres"
GUCS="SET DateStyle=ISO; SET TimeZone=UTC; SET extra_float_digits=1; SET bytea_output=hex; SET IntervalStyle=postgres;"
. "$ROOT/benches/pgbench_cluster.sh"
if [ ! -d "$DATA" ]; then
  pgbench_cluster_start "$WORK"
  su postgres -c "$PGBIN/pgbench -q -i -s $SCALE -h $WORK -U postgres postgres" >/dev/null 2>&1
  $PSQL -c "CHECKPOINT"
  $PSQL -c "$GUCS COPY pgbench_accounts TO STDOUT" | sort > "$WORK/then.txt"
  MOMENT=$($PSQL -c "SELECT pg_current_wal_lsn()")
  echo "$MOMENT" > "$WORK/moment"
  pgbench_until "$WORK" "$MOMENT" "$MB"
  su postgres -c "$PGBIN/pg_ctl -D $DATA -m fast -w stop" >/dev/null
fi
MOMENT=$(cat "$WORK/moment")
WAL=$DATA/pg_wal
FIRST=$(ls "$WAL" | grep -E '^[0-9A-F]{24}$' | sort | head -1)
LAST=$(ls "$WAL" | grep -E '^[0-9A-F]{24}$' | sort | tail -1)
echo "WAL: $(du -sm "$WAL" | cut -f1) MB in $(ls "$WAL" | grep -cE '^[0-9A-F]{24}$') segments; pgbench scale $SCALE; --as-of $MOMENT"
cat "$WAL"/[0-9A-F]* "$DATA"/base/*/* > /dev/null 2>&1 || true   # warm the page cache for both

run() { # label, output file, command...  -> prints seconds (stdout) and a report line (stderr)
  local t0 t1 rss
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$WORK/time" "${@:3}" > "$2" 2>"$WORK/err.txt" || tail -3 "$WORK/err.txt" >&2
  t1=$(date +%s.%N)
  rss=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$WORK/time")
  cpu=$(awk -F: '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$WORK/time")
  awk -v a="$t0" -v b="$t1" -v l="$1" -v r="$rss" -v c="$cpu" \
    'BEGIN { printf "%-34s %8.2f s wall %8.2f s CPU (user+sys)  peak RSS %8d KB\n", l, b - a, c, r }' >&2
  awk -v a="$t0" -v b="$t1" -v c="$cpu" 'BEGIN { printf "%.4f %s\n", b - a, c }'
}
T1=$(run "pg_waldump (full decode)" /dev/null "$PGBIN/pg_waldump" -p "$WAL" "$FIRST" "$LAST")
T2=$(run "datam pg dump --as-of" "$WORK/asof.txt" "$DATAM" pg dump "$DATA" --table pgbench_accounts --as-of "$MOMENT")
grep -E "undone|could not|incomplete" "$WORK/err.txt" | head -3 >&2 || true
if sort "$WORK/asof.txt" | cmp -s - "$WORK/then.txt"; then
  echo "--as-of $MOMENT equals COPY taken at that moment ($(wc -l < "$WORK/then.txt") rows)"
else
  echo "--as-of $MOMENT DIFFERS from COPY taken at that moment" \
    "($(wc -l < "$WORK/asof.txt") vs $(wc -l < "$WORK/then.txt") rows)"
fi
read -r W1 C1 <<< "$T1"
read -r W2 C2 <<< "$T2"
awk -v a="$W1" -v b="$W2" -v c="$C1" -v d="$C2" \
  'BEGIN { printf "ratio pg_waldump / datam --as-of = %.2f (wall), %.2f (CPU seconds)\n", a / b, c / d }'
[ -z "$KEEP" ] && rm -rf "$WORK"
exit 0
