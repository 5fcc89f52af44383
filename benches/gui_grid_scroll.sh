#!/bin/bash
# The grid with a 1,000,000-row salvage: `datam gui FILE --bench-scroll` in a
# real window under Xvfb with Mesa's software OpenGL (llvmpipe: the CPU
# renderer). It opens the file (rows stream in while the salvage runs), shows
# the biggest table's grid, waits for the scan, scrolls 400 pages one per
# frame, then jumps end/start 40 times, and prints one JSON line: time from
# open to the first rows drawn, per-frame CPU time (eframe's, update +
# paint) p95/max while paging and while jumping, wall time between frames,
# resident and peak memory and what the row store holds, then the same
# figures as four summary lines. Targets: p95 frame < 16 ms, first rows < 1 s.
# The file is the salvage bench's (benches/sqlite_salvage_vs_dump.sh builds it
# with the sqlite3 CLI: every 7th row deleted with secure_delete OFF, so
# carved rows stream too; that script also prints the CLI's salvage time on it).
# Usage: [PAD=N] benches/gui_grid_scroll.sh [DATAM_BIN] [ROWS] [WORKDIR]
# (PAD: wider rows, see sqlite_salvage_vs_dump.sh; PAD=600 with 1000000 rows
# gives the ~720 MiB file of the issue.)
set -euo pipefail
DATAM=${1:-target/release/datam}
ROWS=${2:-1000000}
WORK=${3:-$(mktemp -d)}
DB="$WORK/bench.db"
# Built (and the CLI's salvage timed on it) once per WORKDIR.
[ -f "$DB" ] || "$(dirname "$0")/sqlite_salvage_vs_dump.sh" "$DATAM" "$ROWS" "$WORK"
echo "file: $DB  size: $(( $(stat -c %s "$DB") / 1048576 )) MiB  rows: $ROWS (every 7th deleted)"
export LIBGL_ALWAYS_SOFTWARE=1
xvfb-run -a -s "-screen 0 1400x1000x24" "$DATAM" gui "$DB" --bench-scroll --size 1280x960 | tee "$WORK/gui-bench.json"
python3 - "$WORK/gui-bench.json" "$(stat -c %s "$DB")" <<'PY'
import json, sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
mib = lambda kib: kib / 1024
print(f"open -> first rows drawn: {j['first_rows_drawn_ms']:.0f} ms (target < 1000); all {j['grid_rows']} rows in after {j['scan_done_ms'] / 1000:.1f} s")
print(f"frame CPU paging: p95 {j['page_cpu_p95_ms']:.1f} ms, max {j['page_cpu_max_ms']:.1f} ms; jumping end/start: p95 {j['jump_cpu_p95_ms']:.1f} ms, max {j['jump_cpu_max_ms']:.1f} ms (target p95 < 16)")
print(f"UI thread on-CPU per frame: p95 {j['ui_thread_cpu_p95_ms']:.1f} ms, max {j['ui_thread_cpu_max_ms']:.1f} ms; run-queue wait mean {j['runq_wait_mean_ms']:.1f} ms; wall between frames p95 {j['wall_p95_ms']:.1f} ms, max {j['wall_max_ms']:.1f} ms")
print(f"resident {mib(j['rss_kib']):.0f} MiB (peak {mib(j['peak_rss_kib']):.0f} MiB; anonymous {mib(j['rss_anon_kib']):.0f} MiB, file-backed {mib(j['rss_file_kib']):.0f} MiB), row store {mib(j['store_heap_kib']):.0f} MiB, file {int(sys.argv[2]) / 1048576:.0f} MiB")
PY
echo "glxinfo renderer: $(xvfb-run -a sh -c 'command -v glxinfo >/dev/null && glxinfo -B | grep -i "renderer string"' || echo 'glxinfo not installed (Mesa llvmpipe under LIBGL_ALWAYS_SOFTWARE)')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
