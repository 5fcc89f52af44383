#!/bin/bash
# usage: run.sh DATAM_BINARY OUTDIR   (run from the worktree root)
# Runs sqlite salvage (sql, csv, jsonl, --out DIR) and sqlite history (text, jsonl)
# on every shipped sample, and salvage --format jsonl on the Forensic Corpus.
set -u
BIN=$1; OUT=$2
rm -rf "$OUT"; mkdir -p "$OUT"
samples=$(ls corpora/sqlite/samples/*.db corpora/sqlite-history/samples/*/evidence.db)
for db in $samples; do
  tag=$(echo "$db" | sed 's#corpora/##; s#/#_#g')
  for f in sql csv jsonl; do
    "$BIN" sqlite salvage "$db" --format $f > "$OUT/$tag.salvage.$f" 2> "$OUT/$tag.salvage.$f.err"; echo "rc=$?" >> "$OUT/$tag.salvage.$f.err"
  done
  "$BIN" sqlite salvage "$db" --out "$OUT/$tag.outdir" > /dev/null 2> "$OUT/$tag.outdir.err"; echo "rc=$?" >> "$OUT/$tag.outdir.err"
  # report.json's "seconds" is wall time: drop it so the files compare.
  if [ -f "$OUT/$tag.outdir/report.json" ]; then
    grep -v '"seconds"' "$OUT/$tag.outdir/report.json" > "$OUT/$tag.outdir/report.noseconds.json"; rm "$OUT/$tag.outdir/report.json"
  fi
  for f in text jsonl; do
    "$BIN" sqlite history "$db" --format $f > "$OUT/$tag.history.$f" 2> "$OUT/$tag.history.$f.err"; echo "rc=$?" >> "$OUT/$tag.history.$f.err"
  done
done
for db in $(find ../shared/corpora/sqlite-forensic-corpus-v1.0 -name '*.db' | sort); do
  tag=fc_$(basename "$db" .db)
  "$BIN" sqlite salvage "$db" --format jsonl > "$OUT/$tag.salvage.jsonl" 2> "$OUT/$tag.salvage.jsonl.err"; echo "rc=$?" >> "$OUT/$tag.salvage.jsonl.err"
done
