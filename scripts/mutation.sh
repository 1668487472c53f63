#!/usr/bin/env bash
# Mutation testing of the verdict machinery (issue 21): mutmut mutates the core modules and runs, for
# each mutant, the fast unit tests that reach the mutated function. Writes docs/mutation-report.md and
# docs/mutation-summary.json (what `python scripts/mutation_check.py`, run by CI, holds the repo to).
#
#   bash scripts/mutation.sh [--children N]     # N parallel mutants (default 2); about 2 h on 2 shared cores
#
# Equivalent mutants (no test can tell them apart) are listed with their reasons in
# scripts/mutation_equivalent.toml; every other survivor is a missing test.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
children=2
if [ "${1:-}" = "--children" ]; then children=$2; fi
[ -x .venv/bin/python ] || bash scripts/test.sh --co -q >/dev/null
.venv/bin/python -m pip install -q "mutmut==3.8.1"
export OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 PYPARITY_SHARED="${PYPARITY_SHARED:-$(cd .. && pwd)/shared}" \
  NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-${TMPDIR:-/tmp}/pyparity-numba-cache-mutation}"

modules=$(.venv/bin/python scripts/mutation_report.py --modules)
tests=$(.venv/bin/python scripts/mutation_report.py --tests)
work=$(mktemp -d "${TMPDIR:-/tmp}/pyparity-mutation.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r pyparity cli "$work"/
mkdir "$work/tests"
cp tests/conftest.py $tests "$work/tests/"
cp -r tests/probe_ports "$work/tests/"
# fewer hypothesis examples per mutant (the suite runs the full counts): seconds per mutant, not minutes
sed -i -E 's/max_examples=[0-9]+/max_examples=25/' "$work"/tests/*.py
{
  echo '[tool.pytest.ini_options]'
  echo 'testpaths = ["tests"]'
  echo '[tool.mutmut]'
  echo 'source_paths = ["pyparity/"]'
  echo "only_mutate = [$(for m in $modules; do printf '"%s", ' "$m"; done)]"
  echo 'also_copy = ["cli/"]'
  # a fixed hypothesis seed: a mutant is killed or not, the same on every run
  echo 'pytest_add_cli_args = ["-p", "no:cacheprovider", "--hypothesis-seed=0", "-q"]'
  # a busy shared machine slows tests down several times: only a mutant far slower than that is a timeout
  echo 'timeout_constant = 20.0'
  # torch and BLAS thread pools are not fork-safe: fork workers from a server that never ran a test
  echo 'process_isolation = "forkserver"'
  echo "pytest_add_cli_args_test_selection = [$(for t in $tests; do printf '"%s", ' "$t"; done)]"
} > "$work/pyproject.toml"
start=$(date +%s)
(cd "$work" && nice -n 10 "$root/.venv/bin/mutmut" run --max-children "$children" > run.log 2>&1) || {
  tail -c 3000 "$work/run.log"; exit 1; }
echo "mutmut ran in $(( $(date +%s) - start )) s"
.venv/bin/python scripts/mutation_report.py --work "$work" --out docs/mutation-report.md --summary docs/mutation-summary.json
