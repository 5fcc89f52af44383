#!/bin/bash
# Evidence snapshots of a SIZE_MB SQLite file (built here with the sqlite3 CLI,
# ~3 KB rows, one per 4 KiB page), in one run:
#   1. first snapshot:  `datam snapshot add` vs `cp` + `sha256sum` vs `restic backup`
#   2. after 1% of the pages changed (UPDATE of every 100th row): the same three
#   3. `datam snapshot diff` of the pair vs `sqldiff` (sqlite3-tools) on two copies
# printing wall time, bytes added to each store and the ratios.
# Usage: benches/snapshot_vs_restic.sh [DATAM_BIN] [SIZE_MB] [WORKDIR]
#   DATAM_BIN defaults to target/release/datam; SIZE_MB to 1024.
# Needs: sqlite3, restic (Debian `restic`), sqldiff (Debian `sqlite3-tools`), bc.
set -euo pipefail
DATAM=${1:-target/release/datam}
SIZE_MB=${2:-1024}
WORK=${3:-$(mktemp -d)}
ROWS=$((SIZE_MB * 1024 * 1024 / 4096))
DB="$WORK/evidence.db"
mkdir -p "$WORK"
if [ ! -f "$DB" ]; then
  echo "building $DB: $ROWS rows..." >&2
  sqlite3 -batch -bail "$DB" <<SQL
PRAGMA page_size=4096; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
CREATE TABLE b(id INTEGER PRIMARY KEY, note TEXT, x BLOB);
INSERT INTO b SELECT value, 'row ' || value, randomblob(3000) FROM generate_series(1, $ROWS);
SQL
fi
SIZE=$(stat -c %s "$DB")
echo "file: $DB  $((SIZE / 1048576)) MiB  $ROWS rows"
rm -rf "$WORK/store" "$WORK/restic" "$WORK/copies"
mkdir -p "$WORK/copies"
export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR="$WORK/restic-cache"
restic init --repo "$WORK/restic" -q
t() { # label, command... ; prints wall seconds
  local label=$1; shift
  local s e
  s=$(date +%s.%N)
  "$@" > "$WORK/$label.out" 2> "$WORK/$label.err"
  e=$(date +%s.%N)
  echo "$e - $s" | bc
}
du_b() { du -sb "$1" | cut -f1; }
round() { # n: datam, copy, restic for the current file
  local n=$1 before_s before_r before_c
  before_s=$( [ -d "$WORK/store" ] && du_b "$WORK/store" || echo 0)
  before_r=$(du_b "$WORK/restic")
  before_c=$(du_b "$WORK/copies")
  sync
  T_D=$(t "datam$n" "$DATAM" snapshot add "$WORK/store" "$DB" --note "round $n")
  sync
  T_C=$(t "cp$n" bash -c "cp '$DB' '$WORK/copies/v$n.db' && sha256sum '$WORK/copies/v$n.db'")
  sync
  T_R=$(t "restic$n" restic backup --repo "$WORK/restic" -q "$DB")
  sync
  A_D=$(( $(du_b "$WORK/store") - before_s ))
  A_C=$(( $(du_b "$WORK/copies") - before_c ))
  A_R=$(( $(du_b "$WORK/restic") - before_r ))
  printf '%-28s %8.2fs  +%6d MiB (%5.2f%% of the file)\n' "datam snapshot add #$n" "$T_D" $((A_D / 1048576)) "$(echo "scale=4; 100 * $A_D / $SIZE" | bc)"
  printf '%-28s %8.2fs  +%6d MiB (%5.2f%%)\n' "cp + sha256sum #$n" "$T_C" $((A_C / 1048576)) "$(echo "scale=4; 100 * $A_C / $SIZE" | bc)"
  printf '%-28s %8.2fs  +%6d MiB (%5.2f%%)\n' "restic backup #$n" "$T_R" $((A_R / 1048576)) "$(echo "scale=4; 100 * $A_R / $SIZE" | bc)"
  echo "ratio datam/cp+sha256 (wall): $(echo "scale=3; $T_D / $T_C" | bc)   datam/restic: $(echo "scale=3; $T_D / $T_R" | bc)"
}
round 1
sqlite3 -batch -bail "$DB" "UPDATE b SET x = randomblob(3000) WHERE id % 100 = 0;"
round 2
T_DIFF=$(t diff "$DATAM" snapshot diff "$WORK/store" 1 2 --format sql)
T_SQLDIFF=$(t sqldiff sqldiff "$WORK/copies/v1.db" "$WORK/copies/v2.db")
printf '%-28s %8.2fs  %d statements\n' "datam snapshot diff (sql)" "$T_DIFF" "$(grep -c '^UPDATE' "$WORK/diff.out" || true)"
printf '%-28s %8.2fs  %d statements\n' "sqldiff" "$T_SQLDIFF" "$(grep -c '^UPDATE' "$WORK/sqldiff.out" || true)"
echo "ratio datam diff/sqldiff (wall): $(echo "scale=3; $T_DIFF / $T_SQLDIFF" | bc)"
echo "verify: $("$DATAM" snapshot verify "$WORK/store" | tail -1)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
