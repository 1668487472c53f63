#!/usr/bin/env bash
# The package as its users get it: builds the wheel from the checkout's tracked files, installs it into
# a fresh virtual environment in a temporary folder outside the checkout, and from there runs
# `pyparity --version`, `python -m pyparity --version`, `pyparity models fetch` from the shared mirror
# and the README's main parity run. Fails if anything is found relative to the checkout, or if the
# wheel holds a top-level package other than pyparity.
# Usage: bash scripts/wheel_check.sh        (needs ../shared beside the checkout, or PYPARITY_SHARED)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "${PYPARITY_SHARED:-$root/../shared}" && pwd)
PY=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/pyparity-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

# the tracked files only (what a clean clone holds), built in isolation
mkdir "$work/src"
git -C "$root" ls-files -z | (cd "$root" && tar --null -T - -cf -) | tar -xf - -C "$work/src"
"$PY" -m pip wheel -q --no-deps -w "$work/dist" "$work/src" >/dev/null
wheel=$(ls "$work"/dist/pyparity-*.whl)
echo "wheel-check: built $(basename "$wheel")"
tops=$("$PY" -c 'import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
print(" ".join(sorted({n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))})))' "$wheel")
if [ "$tops" != "pyparity" ]; then
  echo "wheel-check: the wheel installs top-level [$tops], expected only pyparity" >&2
  exit 1
fi

"$PY" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$wheel"

# Run where the README's commands run: a folder with the shared data folder beside it (a link, never a
# copy), far from the checkout; the model cache and numba's cache are this run's own.
mkdir "$work/run"
ln -s "$shared" "$work/shared"
cd "$work/run"
unset PYTHONPATH PYPARITY_SHARED PYPARITY_MODEL_DIR PYPARITY_AU_DIR PYPARITY_MANIFEST
export PYPARITY_CACHE_DIR="$work/cache" NUMBA_CACHE_DIR="$work/numba" PATH="$work/venv/bin:$PATH"
where=$(python -c 'import pyparity, pyparity.cli; print(pyparity.__file__, pyparity.cli.__file__)')
case "$where" in
  "$work/venv/"*" $work/venv/"*) ;;
  *) echo "wheel-check: pyparity imported from outside the fresh environment: $where" >&2; exit 1 ;;
esac
set -x
pyparity --version
python -m pyparity --version
pyparity models fetch --from ../shared/openface/model --accept-license
pyparity run openface-image ../shared/openface/samples/sample1.jpg --diff ../shared/reference_dumps/openface-2.0.2/images/sample1.jpg
{ set +x; } 2>/dev/null
echo "wheel-check: passed in $(( $(date +%s) - start )) s"
