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
# kedro-viz as a static build served from build/, so that a page of the same origin can switch
# off its first-visit hints in the browser profile before the picture is taken
kedro viz build >/tmp/screenshots-viz.log 2>&1
cat > build/screenshot-setup.html <<'HTML'
<script>
localStorage.setItem("KedroViz", JSON.stringify({showFeatureHints: false}));
localStorage.setItem("KedroViz-workflow-last-run-end-time", "2999-01-01T00:00:00");
</script>
HTML
setsid python -m http.server "$VIZ_PORT" --bind 127.0.0.1 --directory build >>/tmp/screenshots-viz.log 2>&1 &
VIZ_PID=$!
trap 'kill -- -$MLFLOW_PID -$VIZ_PID 2>/dev/null || true' EXIT

wait_for() {  # url, seconds
  for _ in $(seq "$2"); do curl -sf -o /dev/null "$1" && return 0; sleep 1; done
  echo "$1 did not answer in $2 s (logs: /tmp/screenshots-*.log)" >&2; return 1
}
wait_for "http://127.0.0.1:$MLFLOW_PORT/health" 120
wait_for "http://127.0.0.1:$VIZ_PORT/api/main" 60

EXPERIMENT=$(python -c "import mlflow; mlflow.set_tracking_uri('sqlite:///mlflow.db'); print(mlflow.get_experiment_by_name('siger_kedro').experiment_id)")
PROFILE=$(mktemp -d)
trap 'kill -- -$MLFLOW_PID -$VIZ_PID 2>/dev/null || true; rm -rf "$PROFILE" build/screenshot-setup.html' EXIT
shoot() {  # url, file: the page after its scripts have had 20 s of (virtual) time to render
  "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1600,1000 \
    --user-data-dir="$PROFILE" --virtual-time-budget=20000 --screenshot="$2" "$1" 2>/dev/null
  echo "$2"
}
shoot "http://127.0.0.1:$MLFLOW_PORT/#/experiments/$EXPERIMENT/runs" docs/img/mlflow-ui.png
shoot "http://127.0.0.1:$VIZ_PORT/screenshot-setup.html" "$PROFILE/setup.png" >/dev/null
shoot "http://127.0.0.1:$VIZ_PORT/" docs/img/kedro-viz.png
