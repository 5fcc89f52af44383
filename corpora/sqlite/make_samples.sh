#!/bin/bash
# Deterministic small SQLite samples made by the real sqlite3 CLI.
# Usage: corpora/sqlite/make_samples.sh [OUT_DIR]   (default: corpora/sqlite/samples)
# Each sample X.db comes with X.expected.txt: what sqlite3 itself prints for every
# table (each column through quote(), one row per line) right after creation.
set -euo pipefail
SQLITE3=${SQLITE3:-sqlite3}
OUT=${1:-$(dirname "$0")/samples}
mkdir -p "$OUT"
mk() { # name, sql
  local db="$OUT/$1.db"; rm -f "$db"
  printf '%s\n' "$2" | "$SQLITE3" -batch -bail "$db"
  : > "$OUT/$1.expected.txt"
  for t in $("$SQLITE3" "$db" "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"); do
    echo "-- $t" >> "$OUT/$1.expected.txt"
    local sel
    sel=$("$SQLITE3" "$db" "SELECT group_concat('quote(\"' || name || '\")', ' || '','' || ') FROM pragma_table_info('$t')")
    "$SQLITE3" -batch "$db" "SELECT $sel FROM \"$t\"" >> "$OUT/$1.expected.txt"
  done
}
ROWS="WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<60)"
mk deleted "PRAGMA page_size=1024; PRAGMA secure_delete=OFF;
CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, age INT, w REAL, b BLOB);
$ROWS INSERT INTO people SELECT i, 'person'||i, 20+i%50, i*0.5, x'00ff' FROM c;
DELETE FROM people WHERE id % 5 = 0;"
mk dropped "PRAGMA page_size=1024; PRAGMA secure_delete=OFF;
CREATE TABLE keep(a TEXT, b INT); INSERT INTO keep VALUES('stays', 1);
CREATE TABLE gone(x TEXT, y INT, z TEXT);
$ROWS INSERT INTO gone SELECT 'dropped'||i, i, 'zz'||i FROM c;
DROP TABLE gone;"
mk utf16le "PRAGMA encoding='UTF-16le'; PRAGMA page_size=1024;
CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT); INSERT INTO t(s) VALUES('héllo'), ('wörld'), ('日本語');"
mk utf16be "PRAGMA encoding='UTF-16be'; PRAGMA page_size=1024;
CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT); INSERT INTO t(s) VALUES('héllo'), ('wörld'), ('日本語');"
mk autovacuum "PRAGMA auto_vacuum=FULL; PRAGMA page_size=1024; PRAGMA secure_delete=OFF;
CREATE TABLE a(x INT, y TEXT); $ROWS INSERT INTO a SELECT i, printf('%050d', i) FROM c;
DELETE FROM a WHERE x % 3 = 0;"
mk without_rowid "PRAGMA page_size=1024;
CREATE TABLE kv(v TEXT, k INT, note, PRIMARY KEY(k, v)) WITHOUT ROWID;
$ROWS INSERT INTO kv SELECT 'v'||i, i % 7, i FROM c;"
mk overflow "PRAGMA page_size=1024; PRAGMA secure_delete=OFF;
CREATE TABLE big(id INTEGER PRIMARY KEY, body TEXT, blob BLOB);
INSERT INTO big VALUES(1, printf('%.*c', 3000, 'x'), x'00010203040506070809');
INSERT INTO big VALUES(2, 'short', NULL);
INSERT INTO big VALUES(3, printf('%.*c', 5000, 'y'), NULL);"
mk reserved "PRAGMA page_size=1024;
.filectrl reserve_bytes 8
CREATE TABLE t(a, b); INSERT INTO t VALUES(1, 'one'), (2.5, x'00'), (NULL, 'three');"
echo "samples in $OUT"; du -sh "$OUT"
