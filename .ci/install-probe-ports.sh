#!/usr/bin/env bash
# Installs the two published Python ports of OpenFace that the shipped probes hunt
# (pyparity/probe/shipped/{pymtcnn-1.2,pyclnf-0.4.1}.toml) into the virtual environment given as $1.
# Test-only extras, installed WITHOUT their dependencies: pymtcnn asks for opencv-python, which would
# shadow the project's opencv-python-headless<5 (same cv2 module); everything they import at run
# time (numpy, scipy, numba, opencv, onnxruntime) is already a dependency of pyparity[test].
# Wheels in $PYPARITY_PORT_WHEELS (a folder) are used when present, else the package index.
set -euo pipefail
venv=${1:?usage: install-probe-ports.sh VENV}
py="$venv/bin/python"
[ -x "$py" ] || { echo "install-probe-ports: $py not found" >&2; exit 2; }
pkgs=(pymtcnn==1.2.0 pyclnf==0.4.1)
args=(-q install --no-deps)
if [ -n "${PYPARITY_PORT_WHEELS:-}" ] && [ -d "$PYPARITY_PORT_WHEELS" ]; then
  args+=(--find-links "$PYPARITY_PORT_WHEELS")
fi
"$py" -m pip "${args[@]}" "${pkgs[@]}"
"$py" -c "import pymtcnn, pyclnf, onnxruntime; print('probe ports:', 'pymtcnn', pymtcnn.__version__, 'pyclnf', pyclnf.__version__)"
