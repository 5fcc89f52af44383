#!/bin/bash
# Times `datam sqlite salvage --format sql` against `sqlite3 FILE .dump` on the same
# intact file (built here with the sqlite3 CLI: ROWS rows, every 7th deleted with
# secure_delete OFF), in one run, and prints both times, the ratio and peak RSS.
# Usage: benches/sqlite_salvage_vs_dump.sh [DATAM_BIN] [ROWS] [WORKDIR]
#   DATAM_BIN defaults to target/release/datam; ROWS to 2000000 (257 MiB).
#   PAD=N (environment) adds N random hex characters to every payload, for
#   wider rows (PAD=600 with 1000000 rows: a file of about 720 MiB).
set -euo pipefail
DATAM=${1:-target/release/datam}
ROWS=${2:-2000000}
WORK=${3:-$(mktemp -d)}
SQLITE3=${SQLITE3:-sqlite3}
PAD=${PAD:-0}
DB="$WORK/bench.db"
if [ ! -f "$DB" ]; then
  echo "building $DB with $ROWS rows..." >&2
  "$SQLITE3" -batch -bail "$DB" <<SQL
PRAGMA page_size=4096; PRAGMA secure_delete=OFF; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
CREATE TABLE events(id INTEGER PRIMARY KEY, ts INTEGER, kind TEXT, score REAL, payload TEXT, tag BLOB);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < $ROWS)
INSERT INTO events SELECT i, 1700000000 + i * 37, 'kind' || (i % 13), i * 0.25,
  printf('payload %08d %s', i, substr('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', 1 + i % 40, 60 + i % 50))
    || CASE WHEN $PAD > 0 THEN ' ' || substr(hex(randomblob($PAD / 2 + 1)), 1, $PAD) ELSE '' END,
  x'deadbeef' FROM c;
DELETE FROM events WHERE id % 7 = 0;
SQL
fi
SIZE=$(stat -c %s "$DB")
DELETED=$((ROWS / 7))
echo "file: $DB  size: $((SIZE / 1048576)) MiB  rows: $ROWS  deleted: $DELETED"
t() { # label, command...
  local label=$1; shift
  local s e
  s=$(date +%s.%N)
  if command -v /usr/bin/time >/dev/null; then
    /usr/bin/time -f "%M %U %S" -o "$WORK/$label.rss" "$@" > "$WORK/$label.out"
  else
    "$@" > "$WORK/$label.out"; echo "?" > "$WORK/$label.rss"
  fi
  e=$(date +%s.%N)
  echo "$e - $s" | bc
}
T_DUMP=$(t dump "$SQLITE3" "$DB" .dump)
T_DATAM=$(t datam "$DATAM" sqlite salvage "$DB" --format sql)
rss() { cut -d' ' -f1 "$WORK/$1.rss"; }
cpu() { awk '{print $2 + $3}' "$WORK/$1.rss"; }
echo "sqlite3 .dump:               wall ${T_DUMP}s  cpu $(cpu dump)s  peak RSS $(rss dump) KiB  output $(( $(stat -c %s "$WORK/dump.out") / 1048576 )) MiB"
echo "datam salvage --format sql:  wall ${T_DATAM}s  cpu $(cpu datam)s  peak RSS $(rss datam) KiB  output $(( $(stat -c %s "$WORK/datam.out") / 1048576 )) MiB"
echo "(peak RSS counts mapped evidence pages while they are resident; datam releases pages behind its scan)"
echo "carved rows in datam output: $(grep -c '__recovered' "$WORK/datam.out" || true)"
echo "ratio datam/dump (wall): $(echo "scale=3; $T_DATAM / $T_DUMP" | bc)"
echo "ratio datam/dump (cpu):  $(echo "scale=3; $(cpu datam) / $(cpu dump)" | bc)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
