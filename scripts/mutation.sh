#!/usr/bin/env bash
# Mutation testing of the verdict machinery (issue 21): mutmut mutates each module of the core in its
# own run, and runs for each mutant only that module's fast unit tests that reach the mutated function
# (scripts/mutation_report.py's MODULES). Writes docs/mutation-report.md and docs/mutation-summary.json
# (what `python scripts/mutation_check.py`, run by CI, holds the repo to).
#
#   bash scripts/mutation.sh [--children N] [--work DIR] [--recheck] [--no-report] [MODULE ...]
#
#   --children N   parallel mutants (default 2); a full run takes about 2 h on 2 shared cores (nice 10)
#   --work DIR     keep mutmut's folders in DIR (one per module; default: a temporary folder). Run again
#                  with the same DIR, mutmut keeps its verdicts and runs only new or changed mutants.
#   --recheck      with --work: copy the checkout's current sources and tests into DIR, run the mutants
#                  of changed functions, then re-run every surviving mutant against the current tests
#   --no-report    leave docs/ as they are (a partial run)
#   MODULE         e.g. pyparity/diff/compare.py or diff.compare (default: every module)
#
# Equivalent mutants (no test can tell them apart) are listed with their reasons in
# scripts/mutation_equivalent.toml; every other survivor is a missing test.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
children=2 work="" recheck=0 report=1 wanted=()
while [ $# -gt 0 ]; do
  case "$1" in
    --children) children=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --recheck) recheck=1; shift ;;
    --no-report) report=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) wanted+=("$1"); shift ;;
  esac
done
if [ "$recheck" = 1 ] && [ -z "$work" ]; then echo "mutation.sh: --recheck needs --work DIR" >&2; exit 2; fi
[ -x .venv/bin/python ] || bash scripts/test.sh --co -q >/dev/null
.venv/bin/python -m pip install -q "mutmut==3.8.1"
# One BLAS thread: the workers are forked from a process that ran the tests (mutmut's default).
export OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 PYPARITY_SHARED="${PYPARITY_SHARED:-$(cd .. && pwd)/shared}" \
  NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-${TMPDIR:-/tmp}/pyparity-numba-cache-mutation}"
if [ -z "$work" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/pyparity-mutation.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
modules=$(.venv/bin/python scripts/mutation_report.py --modules "${wanted[@]}")

# the checkout's sources and the module's tests (fewer hypothesis examples per mutant than the suite,
# no example database: seconds per mutant, the same verdict on every run)
sync_tree() {  # module dir
  local dir=$1 tests=$2
  rm -rf "$dir/pyparity" "$dir/cli" "$dir/tests"
  cp -r pyparity "$dir"/
  cp -r cli "$dir"/pyparity/cli   # installed as pyparity.cli (pyproject package-dir)
  find "$dir" -name __pycache__ -prune -exec rm -rf {} +
  mkdir -p "$dir/tests"
  # the module's tests and what tests import beside them (conftest.py, probe_ports/, ...)
  cp --parents $tests "$dir/"   # where they sit in the test tree (the folders below come whole)
  find tests -mindepth 1 -maxdepth 1 ! -name 'test_*' ! -name __pycache__ -exec cp -r {} "$dir/tests/" \;
  find "$dir/tests" -name __pycache__ -prune -exec rm -rf {} +
  find "$dir/tests" -name 'test_*.py' -exec sed -i -E 's/max_examples=[0-9]+/max_examples=25/' {} +
  # no deadline or speed health check: a mutant runs on a busy machine, and a slow example is not a failure
  printf '\nfrom hypothesis import HealthCheck as _H, settings as _s\n_s.register_profile("mutation", database=None, deadline=None, suppress_health_check=list(_H))\n_s.load_profile("mutation")\n' \
    >> "$dir/tests/conftest.py"
}

start=$(date +%s)
for module in $modules; do
  key=$(.venv/bin/python scripts/mutation_report.py --key "$module")
  tests=$(.venv/bin/python scripts/mutation_report.py --tests "$module")
  dir="$work/$key"
  fresh=0
  [ -d "$dir/mutants" ] || fresh=1
  mkdir -p "$dir"
  if [ "$fresh" = 1 ] || [ "$recheck" = 1 ]; then sync_tree "$dir" "$tests"; fi
  # mutmut keeps its map of which tests reach which function: after a change it would run no test (or
  # stale ones) against a new function's mutants, so a recheck draws the map again
  if [ "$recheck" = 1 ]; then rm -f "$dir/mutants/mutmut-stats.json"; fi
  {
    echo '[tool.pytest.ini_options]'
    echo 'testpaths = ["tests"]'
    echo '[tool.mutmut]'
    echo 'source_paths = ["pyparity/"]'
    echo "only_mutate = [\"$module\"]"
    echo 'pytest_add_cli_args = ["-p", "no:cacheprovider", "--hypothesis-seed=0", "-q"]'
    # a busy shared machine slows tests down several times: only a mutant far slower than that is a timeout
    echo 'timeout_constant = 20.0'
    echo 'use_git_change_detection = false'
    echo "pytest_add_cli_args_test_selection = [$(for t in $tests; do printf '"%s", ' "$t"; done)]"
  } > "$dir/pyproject.toml"
  t0=$(date +%s)
  (cd "$dir" && nice -n 10 "$root/.venv/bin/mutmut" run --max-children "$children" >> run.log 2>&1) || {
    tail -c 3000 "$dir/run.log"; exit 1; }
  if [ "$recheck" = 1 ]; then
    survivors=$(cd "$dir" && "$root/.venv/bin/mutmut" results | sed -n 's/^ *\([^ ]*__mutmut_[0-9]*\): \(survived\|no tests\)$/\1/p')
    if [ -n "$survivors" ]; then
      (cd "$dir" && nice -n 10 "$root/.venv/bin/mutmut" run --max-children "$children" $survivors >> run.log 2>&1) || {
        tail -c 3000 "$dir/run.log"; exit 1; }
    fi
  fi
  echo "$module: mutmut ran in $(( $(date +%s) - t0 )) s"
done
echo "mutation.sh: $(( $(date +%s) - start )) s in all"
if [ "$report" = 1 ]; then
  .venv/bin/python scripts/mutation_report.py --work "$work" --out docs/mutation-report.md --summary docs/mutation-summary.json
fi
