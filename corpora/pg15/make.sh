#!/usr/bin/env bash
# Regenerates corpora/pg15/: a stopped PostgreSQL 15 data directory with a
# known workload in its WAL, made by the real server, trimmed to the files a
# reader needs so the sample stays small.
#
#   corpora/pg15/make.sh            (as root the server runs as `postgres`)
#
# Output (all from the real server and its tools, never from DataM):
#   datadir/            trimmed copy of the stopped cluster (see TRIMMED below)
#   workload.sql        the SQL that was run
#   expected/*.copy     COPY ... TO STDOUT of each table, taken before shutdown
#                       (DateStyle ISO, TimeZone UTC, extra_float_digits 1,
#                       bytea_output hex, IntervalStyle postgres)
#   expected/pg_controldata.txt   pg_controldata of the stopped cluster
#   expected/xacts.txt  xid and outcome of each workload transaction
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${PG15_BIN:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d /tmp/datam-corpus-pg15.XXXXXX)
trap 'runas "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
if [ "$(id -u)" = 0 ]; then chown postgres: "$work"; runas() { runuser -u postgres -- "$@"; }; else runas() { "$@"; }; fi

export TZ=UTC LC_ALL=C
runas "$bin/initdb" -D "$work/data" -U postgres --auth=trust --encoding=UTF8 --locale=C \
  --data-checksums --wal-segsize=1 --no-sync >/dev/null
cat >> "$work/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
port = 5432
autovacuum = off
fsync = off
wal_level = replica
full_page_writes = on
wal_compression = off
timezone = 'UTC'
CONF
runas "$bin/pg_ctl" -D "$work/data" -l "$work/log" -w start >/dev/null
psql() { "$bin/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$work" -p 5432 -U postgres -d postgres "$@"; }
gucs="SET DateStyle=ISO; SET TimeZone=UTC; SET extra_float_digits=1; SET bytea_output=hex; SET IntervalStyle=postgres;"

start_seg=$(psql -c "SELECT pg_walfile_name(pg_current_wal_lsn())")
cat > "$here/workload.sql" <<'SQL'
-- The known workload of corpora/pg15 (run by make.sh on a fresh cluster).
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE people (
    id integer PRIMARY KEY,
    name text NOT NULL,
    email varchar(80),
    balance numeric(12,2),
    score double precision,
    born date,
    seen timestamptz,
    tags text[],
    doc jsonb,
    photo bytea,
    feel mood
);
INSERT INTO people
SELECT i,
       'person ' || i,
       CASE WHEN i % 7 = 0 THEN NULL ELSE 'p' || i || '@example.org' END,
       (i * 12.34)::numeric(12,2),
       CASE WHEN i % 11 = 0 THEN NULL ELSE i / 3.0 END,
       date '1970-01-01' + i * 97,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour 1 minute 1.5 second',
       ARRAY['t' || (i % 5), NULL, 'x"y'],
       jsonb_build_object('i', i, 'even', i % 2 = 0, 'list', jsonb_build_array(i, i * 2)),
       decode(lpad(to_hex(i), 8, '0'), 'hex'),
       (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::mood
FROM generate_series(1, 300) AS i;
-- One wide row whose text is TOASTed (compressible) and one that is not compressible.
INSERT INTO people (id, name, email) VALUES (1001, repeat('long text ', 4000), 'toast@example.org');
INSERT INTO people (id, name) SELECT 1002, string_agg(md5(g::text), '') FROM generate_series(1, 400) g;
CHECKPOINT;
-- The "mistake": a DELETE and an UPDATE, committed.
BEGIN;
DELETE FROM people WHERE id % 10 = 3;
UPDATE people SET balance = 0, name = name || ' (edited)' WHERE id BETWEEN 100 AND 120;
COMMIT;
-- Later legitimate work.
INSERT INTO people (id, name, email) VALUES (2001, 'late arrival', 'late@example.org');
UPDATE people SET score = -1.5 WHERE id = 2;
-- An aborted transaction.
BEGIN;
INSERT INTO people (id, name) VALUES (3001, 'never committed');
DELETE FROM people WHERE id = 1;
ROLLBACK;
-- A second table, dropped columns and a default added later.
CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text, gone int, at timestamp);
INSERT INTO notes (body, gone, at) SELECT 'note ' || g, g, timestamp '2020-02-29 12:00:00' + g * interval '1 day' FROM generate_series(1, 50) g;
ALTER TABLE notes DROP COLUMN gone;
ALTER TABLE notes ADD COLUMN flag boolean DEFAULT true;
INSERT INTO notes (body) VALUES ('after alter');
SQL
psql -f "$here/workload.sql"

mkdir -p "$here/expected"
for t in people notes; do
  psql -c "$gucs COPY $t TO STDOUT" > "$here/expected/$t.copy"
done
{
  echo "# relation  relfilenode  toast-relfilenode"
  psql -F ' ' -c "SELECT c.relname, c.relfilenode, coalesce(t.relfilenode, 0) FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.relname IN ('people', 'notes') ORDER BY 1"
  echo "# database oid"
  psql -c "SELECT oid FROM pg_database WHERE datname = 'postgres'"
} > "$here/expected/relations.txt"
rels=$(psql -c "SELECT string_agg(pg_relation_filenode(c.oid)::text, ' ') FROM pg_class c WHERE c.relname IN ('people', 'notes', 'pg_class', 'pg_attribute', 'pg_type', 'pg_namespace', 'pg_enum', 'pg_attrdef') OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relname IN ('people', 'notes'))")
dboid=$(psql -c "SELECT oid FROM pg_database WHERE datname = 'postgres'")
runas "$bin/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null
LC_ALL=C "$bin/pg_controldata" "$work/data" > "$here/expected/pg_controldata.txt"

# TRIMMED: keep the control file, the database list, the catalogs a reader
# bootstraps from, the two tables and their TOAST, the commit log, and the WAL
# segments of the workload (and one recycled segment after them).
rm -rf "$here/datadir"
mkdir -p "$here/datadir/global" "$here/datadir/base/$dboid" "$here/datadir/pg_wal" "$here/datadir/pg_xact"
cp "$work/data/PG_VERSION" "$here/datadir/"
cp "$work/data/global/pg_control" "$work/data/global/pg_filenode.map" "$work/data/global/1262" "$here/datadir/global/"
cp "$work/data/base/$dboid/PG_VERSION" "$work/data/base/$dboid/pg_filenode.map" "$here/datadir/base/$dboid/"
for r in $rels; do cp "$work/data/base/$dboid/$r" "$here/datadir/base/$dboid/"; done
cp "$work/data/pg_xact/"* "$here/datadir/pg_xact/"
# The segments from the workload's start to the shutdown checkpoint, plus the
# next one: a recycled segment (older xlp_pageaddr) left over from initdb.
ckpt=$(awk '/^Latest checkpoint location/ {print $4}' "$here/expected/pg_controldata.txt")
end_seg=$(printf '%08X%08X%08X' 1 $((16#${ckpt%/*})) $(( 16#${ckpt#*/} / 1048576 )))
n_keep=0
for s in "$work/data/pg_wal/"0*; do
  n=$(basename "$s")
  if [[ ! "$n" < "$start_seg" ]] && { [[ ! "$n" > "$end_seg" ]] || [ $n_keep -eq 0 ]; }; then
    cp "$s" "$here/datadir/pg_wal/"
    [[ "$n" > "$end_seg" ]] && n_keep=1
  fi
done
chmod -R u+rwX,go+rX "$here/datadir"
du -sh "$here/datadir"
