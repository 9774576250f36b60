#!/usr/bin/env bash
# Times `winback audit --scores` against DuckDB on a 10-million-row export written by
# `winback sample`, alternating runs, and prints medians and ratios (time and peak memory).
#   bash bench/audit_vs_duckdb.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
out="target/bench"
mkdir -p "$out"

cargo build --release --quiet
if [ ! -x "$out/venv/bin/python" ]; then
  python3 -m venv "$out/venv"
  "$out/venv/bin/pip" install --quiet duckdb
fi
export_file="$out/bookings-10m.csv"
if [ ! -f "$export_file" ]; then
  # 1.3 million clients of a salon chain over three years: 10.1 million rows, 1.4 GB.
  target/release/winback sample --clients 1300000 --seed 42 --as-of 2026-11-20 --out "$export_file"
fi
wc -l "$export_file"
"$out/venv/bin/python" -c "import duckdb; print('duckdb', duckdb.__version__)"

"$out/venv/bin/python" bench/measure.py "$runs" \
  winback -- target/release/winback audit "$export_file" --as-of 2026-11-20 --scores "$out/scores.csv" \
  --- duckdb -- "$out/venv/bin/python" bench/duckdb_baseline.py "$export_file" "$out/duckdb.csv"
