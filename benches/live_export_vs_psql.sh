#!/usr/bin/env bash
# datam live export (binary COPY, N connections on one exported snapshot,
# ctid ranges) vs psql's \copy ... (FORMAT binary), same table, same run.
#
#   benches/live_export_vs_psql.sh [SCALE] [JOBS...]   (default 80: pgbench_accounts ~1 GB; jobs 2 4)
#
# Env: DATAM (default target/release/datam), PG_BIN (default system PG15).
# Starts a throw-away cluster on a Unix socket, loads pgbench -i -s SCALE,
# reads the table once (warm cache), then times psql \copy to a file and
# datam live export --jobs N to a file. Prints MB/s of output for each, the
# ratio psql_time / datam_time (> 1: datam faster), datam's peak RSS, and
# checks that both files hold the same number of bytes (same tuples).
set -euo pipefail
scale=${1:-80}
shift || true
jobs_list=${*:-2 4}
here=$(cd "$(dirname "$0")/.." && pwd)
datam=${DATAM:-$here/target/release/datam}
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$datam" ] || { echo "build first: cargo build --release -p datam (or set DATAM)"; exit 1; }
work=$(mktemp -d /tmp/datam-bench.XXXXXX)
if [ "$(id -u)" = 0 ]; then chown postgres: "$work"; runas() { runuser -u postgres -- "$@"; }; else runas() { "$@"; }; fi
trap 'runas "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export LC_ALL=C
runas "$bin/initdb" -D "$work/data" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync >/dev/null
cat >> "$work/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
port = 5432
autovacuum = off
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 8GB
shared_buffers = 256MB
CONF
runas "$bin/pg_ctl" -D "$work/data" -l "$work/log" -w start >/dev/null
psql() { "$bin/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$work" -p 5432 -U postgres -d postgres "$@"; }
echo "loading pgbench -i -s $scale ..."
"$(dirname "$bin")/bin/pgbench" -i -q -n -s "$scale" -h "$work" -p 5432 -U postgres postgres >/dev/null 2>&1 \
  || pgbench -i -q -n -s "$scale" -h "$work" -p 5432 -U postgres postgres >/dev/null
psql -c "VACUUM FREEZE pgbench_accounts" >/dev/null
psql -c "CHECKPOINT" >/dev/null
heap=$(psql -c "SELECT pg_relation_size('pgbench_accounts')")
nrows=$(psql -c "SELECT count(*) FROM pgbench_accounts")
echo "table pgbench_accounts: $heap bytes of heap, $nrows rows; $(nproc) cores"
url="host=$work port=5432 user=postgres dbname=postgres"

t0=$(date +%s.%N)
psql -c "\\copy pgbench_accounts TO '$work/psql.bin' (FORMAT binary)"
t1=$(date +%s.%N)
psql_s=$(echo "$t1 - $t0" | bc -l)
psql_bytes=$(stat -c %s "$work/psql.bin")
rm -f "$work/psql.bin"
printf 'psql \\copy (FORMAT binary)       : %7.2f s  %7.1f MB/s  (%s bytes)\n' "$psql_s" "$(echo "$psql_bytes / 1000000 / $psql_s" | bc -l)" "$psql_bytes"

for j in $jobs_list; do
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$datam" live export "$url" --table pgbench_accounts --out "$work/datam.bin" --jobs "$j" > "$work/datam.out"
  t1=$(date +%s.%N)
  d_s=$(echo "$t1 - $t0" | bc -l)
  d_bytes=$(stat -c %s "$work/datam.bin")
  rm -f "$work/datam.bin"
  printf 'datam live export --jobs %-2s     : %7.2f s  %7.1f MB/s  (%s bytes, peak RSS %s KiB)\n' "$j" "$d_s" "$(echo "$d_bytes / 1000000 / $d_s" | bc -l)" "$d_bytes" "$(cat "$work/rss")"
  printf '  ratio psql/datam: %.2f   (%s)\n' "$(echo "$psql_s / $d_s" | bc -l)" "$(cat "$work/datam.out")"
  grep -q "exported $nrows rows" "$work/datam.out" || { echo "ROW COUNT MISMATCH"; exit 1; }
  [ "$d_bytes" = "$psql_bytes" ] || { echo "BYTE COUNT MISMATCH"; exit 1; }
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
