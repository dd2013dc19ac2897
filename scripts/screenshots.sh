#!/usr/bin/env bash
# Screenshots of the MLflow UI and kedro-viz for the README (docs/img/mlflow-ui.png,
# docs/img/kedro-viz.png), taken with headless Chromium from Debian's packages
# (apt-get install chromium). Run from anywhere after `kedro run --pipeline train` (and
# `compare`, for nested runs in the MLflow picture); both servers listen on 127.0.0.1 only and
# are stopped when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || { echo "no chromium: apt-get install chromium (or set CHROMIUM=/path/to/it)" >&2; exit 1; }
source .venv/bin/activate
export KEDRO_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1
MLFLOW_PORT=${MLFLOW_PORT:-5055} VIZ_PORT=${VIZ_PORT:-4155}
mkdir -p docs/img

setsid mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port "$MLFLOW_PORT" >/tmp/screenshots-mlflow.log 2>&1 &
MLFLOW_PID=$!
setsid kedro viz run --no-browser --host 127.0.0.1 --port "$VIZ_PORT" >/tmp/screenshots-viz.log 2>&1 &
VIZ_PID=$!
trap 'kill -- -$MLFLOW_PID -$VIZ_PID 2>/dev/null || true' EXIT

wait_for() {  # url, seconds
  for _ in $(seq "$2"); do curl -sf -o /dev/null "$1" && return 0; sleep 1; done
  echo "$1 did not answer in $2 s (logs: /tmp/screenshots-*.log)" >&2; return 1
}
wait_for "http://127.0.0.1:$MLFLOW_PORT/health" 120
wait_for "http://127.0.0.1:$VIZ_PORT/api/main" 300

EXPERIMENT=$(python -c "import mlflow; mlflow.set_tracking_uri('sqlite:///mlflow.db'); print(mlflow.get_experiment_by_name('siger_kedro').experiment_id)")
shoot() {  # url, file: the page after its scripts have had 20 s of (virtual) time to render
  "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1600,1000 \
    --virtual-time-budget=20000 --screenshot="$2" "$1" 2>/dev/null
  echo "$2"
}
shoot "http://127.0.0.1:$MLFLOW_PORT/#/experiments/$EXPERIMENT" docs/img/mlflow-ui.png
shoot "http://127.0.0.1:$VIZ_PORT/" docs/img/kedro-viz.png
