# Sourced by the pgbench-based benches: a throw-away PG15 cluster that keeps
# all its WAL, and pgbench load with checkpoints (FPIs, as in production).
# Needs PGBIN; run as root (the server runs as user postgres).

# pgbench_cluster_start WORK: initdb WORK/data, start it on a socket in WORK.
pgbench_cluster_start() {
  local work=$1
  chown postgres "$work"
  su postgres -c "$PGBIN/initdb -D $work/data -U postgres --auth=trust --wal-segsize=16" >/dev/null
  cat >> "$work/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
max_wal_size = '100GB'
min_wal_size = '1GB'
wal_keep_size = '100GB'
checkpoint_timeout = '1h'
autovacuum = off
CONF
  su postgres -c "$PGBIN/pg_ctl -D $work/data -l $work/log -w start" >/dev/null
}

# pgbench_until WORK START_LSN MB: pgbench (2 clients, 10 s runs, a
# CHECKPOINT after each) until MB of WAL have been written since START_LSN.
pgbench_until() {
  local work=$1 start=$2 mb=$3 done
  while :; do
    done=$("$PGBIN/psql" -X -q -At -h "$work" -U postgres -d postgres \
      -c "SELECT (pg_current_wal_lsn() - '$start'::pg_lsn) / 1048576 >= $mb")
    [ "$done" = t ] && break
    su postgres -c "$PGBIN/pgbench -n -c 2 -T 10 -h $work -U postgres postgres" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -At -h "$work" -U postgres -d postgres -c "CHECKPOINT"
  done
}
