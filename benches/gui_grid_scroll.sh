#!/bin/bash
# The grid with a 1,000,000-row salvage: `datam gui FILE --bench-scroll` in a
# real window under Xvfb with Mesa's software OpenGL (llvmpipe: the CPU
# renderer). It opens the file (rows stream in while the salvage runs), shows
# the biggest table's grid, waits for the scan, scrolls 400 pages one per
# frame, then jumps end/start 40 times, and prints one JSON line: time from
# open to the first rows drawn, per-frame CPU time (eframe's, update +
# paint) p95/max while paging and while jumping, wall time between frames,
# resident and peak memory. Targets: p95 frame < 16 ms, first rows < 1 s.
# The file is the salvage bench's (benches/sqlite_salvage_vs_dump.sh builds it
# with the sqlite3 CLI: every 7th row deleted with secure_delete OFF, so
# carved rows stream too; that script also prints the CLI's salvage time on it).
# Usage: benches/gui_grid_scroll.sh [DATAM_BIN] [ROWS] [WORKDIR]
set -euo pipefail
DATAM=${1:-target/release/datam}
ROWS=${2:-1000000}
WORK=${3:-$(mktemp -d)}
DB="$WORK/bench.db"
"$(dirname "$0")/sqlite_salvage_vs_dump.sh" "$DATAM" "$ROWS" "$WORK"
echo "file: $DB  size: $(( $(stat -c %s "$DB") / 1048576 )) MiB  rows: $ROWS (every 7th deleted)"
export LIBGL_ALWAYS_SOFTWARE=1
xvfb-run -a -s "-screen 0 1400x1000x24" "$DATAM" gui "$DB" --bench-scroll --size 1280x960 | tee "$WORK/gui-bench.json"
echo "glxinfo renderer: $(xvfb-run -a sh -c 'command -v glxinfo >/dev/null && glxinfo -B | grep -i "renderer string"' || echo 'glxinfo not installed (Mesa llvmpipe under LIBGL_ALWAYS_SOFTWARE)')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
