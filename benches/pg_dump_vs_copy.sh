#!/usr/bin/env bash
# datam pg dump (offline, stopped cluster) vs the running server's
# COPY ... TO STDOUT (via psql to /dev/null) on the same table.
#
#   benches/pg_dump_vs_copy.sh [SIZE_MB]      (default 1100: a >= 1 GB table)
#
# Env: DATAM (default target/release/datam), PG_BIN (default system PG15).
# Prints both wall-clock times, rows/s, and the ratio copy_time / datam_time
# (> 1 means datam is faster). Both read a warm OS page cache: the server's
# COPY runs right after the load; datam runs after the files are read once
# with cat. Row counts of both outputs are compared.
set -euo pipefail
size_mb=${1:-1100}
here=$(cd "$(dirname "$0")/.." && pwd)
datam=${DATAM:-$here/target/release/datam}
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$datam" ] || { echo "build first: cargo build --release -p datam (or set DATAM)"; exit 1; }
work=$(mktemp -d /tmp/datam-bench.XXXXXX)
if [ "$(id -u)" = 0 ]; then chown postgres: "$work"; runas() { runuser -u postgres -- "$@"; }; else runas() { "$@"; }; fi
trap 'runas "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export TZ=UTC LC_ALL=C
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
shared_buffers = 128MB
CONF
runas "$bin/pg_ctl" -D "$work/data" -l "$work/log" -w start >/dev/null
psql() { "$bin/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$work" -p 5432 -U postgres -d postgres "$@"; }
gucs="SET DateStyle=ISO; SET TimeZone=UTC; SET extra_float_digits=1; SET bytea_output=hex; SET IntervalStyle=postgres;"

# ~130 bytes per row on disk: int, bigint, text, numeric, timestamptz, bool, float8, short text.
rows=$(( size_mb * 1024 * 1024 / 130 ))
echo "loading ~$size_mb MB ($rows rows) ..."
psql -c "CREATE UNLOGGED TABLE IF NOT EXISTS x (id int, big bigint, name text, amount numeric(12,2), at timestamptz, flag bool, score float8, tag text)" >/dev/null
psql -c "INSERT INTO x SELECT i, i::bigint * 7919, 'name number ' || i, (i % 100000) / 100.0, timestamptz '2020-01-01' + i * interval '1 second', i % 3 = 0, i / 7.0, md5(i::text) FROM generate_series(1, $rows) i" >/dev/null
psql -c "CHECKPOINT" >/dev/null
bytes=$(psql -c "SELECT pg_relation_size('x')")
nrows=$(psql -c "SELECT count(*) FROM x")
echo "table: $bytes bytes, $nrows rows"

# Server CPU = the postmaster's own + reaped children's (the COPY backend)
# clock ticks (fields 14-17 of /proc/PID/stat), read before and after.
pm=$(head -1 "$work/data/postmaster.pid")
ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat"; }
hz=$(getconf CLK_TCK)
c0=$(ticks)
t0=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$work/psql.cpu" "$bin/psql" -X -q -At -h "$work" -p 5432 -U postgres -d postgres -c "$gucs COPY x TO STDOUT" > /dev/null
t1=$(date +%s.%N)
copy_s=$(echo "$t1 - $t0" | bc -l)
sleep 1
server_cpu=$(echo "($(ticks) - $c0) / $hz" | bc -l)
read -r pu ps_ < "$work/psql.cpu"

runas "$bin/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null
cat "$work"/data/base/5/* > /dev/null 2>&1 || true
t0=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$work/datam.cpu" "$datam" pg dump "$work/data" --table public.x > /dev/null
t1=$(date +%s.%N)
datam_s=$(echo "$t1 - $t0" | bc -l)
read -r du ds < "$work/datam.cpu"
drows=$("$datam" pg dump "$work/data" --table public.x | wc -l)

printf 'server COPY TO STDOUT via psql: %8.2f s  (%.0f rows/s, %.0f MB/s of heap)\n' "$copy_s" "$(echo "$nrows / $copy_s" | bc -l)" "$(echo "$bytes / 1048576 / $copy_s" | bc -l)"
printf 'datam pg dump (offline)       : %8.2f s  (%.0f rows/s, %.0f MB/s of heap)\n' "$datam_s" "$(echo "$nrows / $datam_s" | bc -l)" "$(echo "$bytes / 1048576 / $datam_s" | bc -l)"
printf 'server CPU time (backend): %.2f s; psql client: user %s s, sys %s s\n' "$server_cpu" "$pu" "$ps_"
printf 'datam CPU time: user %s s, sys %s s (%s cores); load average: %s\n' "$du" "$ds" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'ratio copy/datam: %.2f  (rows: server %s, datam %s)\n' "$(echo "$copy_s / $datam_s" | bc -l)" "$nrows" "$drows"
[ "$nrows" = "$drows" ] || { echo "ROW COUNT MISMATCH"; exit 1; }
