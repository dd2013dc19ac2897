#!/usr/bin/env bash
# Prepares the device check for a GPU machine that has Python, torch, numpy, scipy, pandas and
# pyarrow but nothing else and no network: the MovieLens-100k stage outputs in .device/bundle
# and the pure-Python tqdm in .device/site (both git-ignored, together well under 64 MiB).
# Then, on that machine, from the repository root (with .device carried along):
#   PYTHONPATH=src:.device/site python -m siger_kedro.bench.device run --out device.json
set -euo pipefail
cd "$(dirname "$0")/.."
DATASET=${1:-ml-100k}
[ -d "data/05_model_input/$DATASET" ] || .venv/bin/kedro run --pipeline graphs --params "dataset=$DATASET"
rm -rf .device && mkdir -p .device
.venv/bin/python -m siger_kedro.bench.device bundle --dataset "$DATASET" --out .device/bundle
.venv/bin/python -m pip install -q --no-deps --target .device/site "tqdm==$(.venv/bin/python -c 'import tqdm; print(tqdm.__version__)')"
du -sh .device
