#!/usr/bin/env bash
# Sets up the project's virtual environment (if absent) and runs the test suite.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
.venv/bin/python -m pip install -q -e ".[test]"
# The published ports that the shipped probes hunt (test-only, installed without their dependencies).
if ! .venv/bin/python -c "import pymtcnn, pyclnf" 2>/dev/null; then
  bash .ci/install-probe-ports.sh .venv
fi
# torch is an optional backend, used by the cross-check tests: installed only where a CPU build is
# available locally (pip's configured find-links); a registry-only machine would pull GBs of CUDA.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  if ls /opt/wheels/torch-*+cpu-*.whl >/dev/null 2>&1; then
    .venv/bin/python -m pip install -q torch==2.13.0 || echo "note: torch not installed (optional)"
  else
    echo "note: no local CPU build of torch; torch cross-check tests will skip"
  fi
fi
# Where torch is installed, the torch cross-check tests must run: a missing torch then fails them.
if .venv/bin/python -c "import torch" 2>/dev/null; then
  export PYPARITY_REQUIRE_TORCH=1
fi
exec .venv/bin/python -m pytest "$@"
