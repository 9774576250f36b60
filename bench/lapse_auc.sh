#!/usr/bin/env bash
# Held-out check of the lapse score against recency: fit on the history up to a cut-off,
# score as of the cut-off, compare with who came back within 90 days after it.
#   bash bench/lapse_auc.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="target/bench"
mkdir -p "$out"
cargo build --release --quiet
for seed in 1 2 3; do
  target/release/winback sample --clients 20000 --seed "$seed" --as-of 2026-11-20 --out "$out/salon-$seed.csv" 2>/dev/null
  echo "salon sample, seed $seed:"
  target/release/winback backtest "$out/salon-$seed.csv" --cutoff 2026-06-01 --horizon 90
  python3 bench/irregular_buyers.py 20000 "$seed" > "$out/irregular-$seed.csv"
  echo "irregular buyers, seed $seed:"
  target/release/winback backtest "$out/irregular-$seed.csv" --cutoff 2025-12-31 --horizon 90
done
