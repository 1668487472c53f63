#!/usr/bin/env bash
# The shipped probes' root-cause chains on the shared data (pyparity/probe/shipped/README.md quotes them):
# every probe hunted with --isolate on every input it has a reference for, plus the acceptance hunts of
# issue 16. Takes about 15 minutes on 2 cores; writes JSON and HTML to OUT (default: hunt-chains/).
#
#   bash scripts/hunt-shipped-chains.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-hunt-chains}
mkdir -p "$out"
shared=${PYPARITY_SHARED:-$(cd .. && pwd)/shared}
export OPENBLAS_CORETYPE=Haswell PYPARITY_SHARED="$shared"
py=.venv/bin/pyparity
s=$shared/openface/samples
d=$shared/reference_dumps
set +e
# pymtcnn 1.2: the 26 images of the C++ MTCNN dumps, then 018 alone, then the 30 frames against pyparity's MTCNN
$py hunt pymtcnn-1.2 --corpus corpus/openface-samples.toml --isolate --json "$out/pymtcnn-corpus.json" \
    --html "$out/pymtcnn-corpus.html"
$py hunt pymtcnn-1.2 "$s/image_sequence/018.jpg" --reference "$d/openface-2.0.2/images/018.jpg" --isolate \
    --json "$out/pymtcnn-018.json"
$py hunt pymtcnn-1.2 "$s/image_sequence" --reference pyparity:mtcnn --json "$out/pymtcnn-sequence.json"
# pyclnf 0.4.1: the 8 images of the C++ CE-CLM dumps (synthetic CEN experts), then sample1 against pyparity's CE-CLM
spec=$(mktemp --suffix=.toml)
trap 'rm -f "$spec"' EXIT
{
  printf '[corpus]\nname = "ceclm-synthetic"\npipeline = "clnf"\ngoldens = "%s"\n' "$out/no-goldens"
  for f in sample1.jpg sample2.jpg sample3.jpg 001.jpg 005.jpg 010.jpg 015.jpg 020.jpg; do
    case $f in sample*) inp=$s/$f ;; *) inp=$s/image_sequence/$f ;; esac
    printf '[[case]]\nname = "%s"\ninput = "%s"\nreference = "%s"\n' "$f" "$inp" "$d/openface-2.0.2-cen-synthetic/images/$f"
  done
} > "$spec"
$py hunt pyclnf-0.4.1 --corpus "$spec" --isolate --json "$out/pyclnf-corpus.json" --html "$out/pyclnf-corpus.html"
$py hunt pyclnf-0.4.1 "$s/sample1.jpg" --reference pyparity:openface-image --model ceclm \
    --cen-dir "$shared/openface/synthetic_cen" --isolate --json "$out/pyclnf-sample1.json"
echo "chains: $out/"
