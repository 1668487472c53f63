"""CLNF CCNF patch-expert responses per face (Patch_experts::Response): the main model's three scales
plus the three part models (inner, both eyes), on the inputs of a few OpenFace 2.0.2 image dumps
(their own `base_shape_stacked`, `params_global`, window sizes and gray image). Median ms over the
repeats, against a baseline measured in the same run: the same code with the one-k-per-pass neuron
product (f32kernels.sgemm_row_rowwise, the pre-blocking form; identical bits, checked here too).

    .venv/bin/python benchmarks/bench_clnf_responses.py [--repeat 30] [--dumps sample1.jpg 001.jpg]

The reference shape passed is the base shape itself (the similarity is then the identity): it moves
the sampling grid, not the amount of work.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import pyparity  # noqa: E402,F401
from pyparity.pipelines.clnf.experts import ccnf
from pyparity.pipelines.clnf.experts import patch_experts  # noqa: E402
from pyparity.pipelines.clnf.model.files import read_main_model  # noqa: E402
from pyparity.pipelines.clnf.experts.patch_experts import gray_to_float, load_patch_experts  # noqa: E402
from pyparity.trace import read_trace  # noqa: E402

FACE = "face00/clnf/h00/"
PARTS = ("inner", "left_eye_28", "right_eye_28")


def _jobs(ref, experts, parts):
    """(label, experts, base_shape, params_global, window_size, scale) of every response the dump made."""
    jobs = []
    for label, pe, pre in [("", experts, FACE)] + [(p, parts[p], FACE + f"parts/{p}/") for p in PARTS]:
        for k in range(pe.n_scales):
            st = pre + f"fit/s{k}/"
            if st + "responses" in ref.names:
                pg = ref[pre + "init/params_global"] if k == 0 else ref[pre + f"fit/s{k - 1}/params_global"]
                jobs.append((f"{label or 'main'}/s{k}", pe, ref[st + "base_shape_stacked"], pg,
                             int(ref[st + "window_size"]), k))
    return jobs


def _face(gray, jobs):
    out = {}
    for label, pe, shape, pg, ws, k in jobs:
        t = time.perf_counter()
        res = pe.response(gray, shape, shape, pg, ws, k)
        out[label] = (time.perf_counter() - t, res.responses)
    return out


def _rowwise_batch(*args):
    return ccnf.ccnf_responses_batch(*args, True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--dumps", nargs="+", default=["sample1.jpg", "001.jpg", "sample2.jpg"])
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    model = read_main_model(args.shared / "openface/model/main_clnf_general.txt")
    experts = load_patch_experts(model)
    parts = {p.name: load_patch_experts(p.model) for p in model.parts}
    faces = []
    for name in args.dumps:
        ref = read_trace(args.shared / "reference_dumps/openface-2.0.2/images" / name)
        if "face00/clnf/input/gray" in ref.names:
            gray = ref["face00/clnf/input/gray"]
        else:      # level-1 dumps: the sample image, converted as OpenFace does
            gray = cv2.cvtColor(cv2.imread(str(args.shared / "openface/samples" / name)), cv2.COLOR_BGR2GRAY)
        faces.append((name, gray_to_float(gray), _jobs(ref, experts, parts)))
    blocked = ccnf.ccnf_responses_batch
    times: dict[str, dict[str, list[float]]] = {"blocked": {}, "rowwise": {}}
    for variant in ("rowwise", "blocked", "rowwise", "blocked"):      # interleaved against drift
        # the baseline: PatchExperts.response with the one-k-per-pass neuron product
        patch_experts.ccnf_responses_batch = _rowwise_batch if variant == "rowwise" else blocked
        try:
            for name, gray, jobs in faces:
                first = _face(gray, jobs)                              # warm-up (compilation, caches)
                for _ in range(args.repeat // 2):
                    r = _face(gray, jobs)
                    tot = 0.0
                    for label, (dt, resp) in r.items():
                        assert np.array_equal(resp, first[label][1])
                        times[variant].setdefault(label, []).append(dt)
                        tot += dt
                    times[variant].setdefault("face", []).append(tot)
                times[variant].setdefault("_maps", {})[name] = first
        finally:
            patch_experts.ccnf_responses_batch = blocked
    for name in args.dumps:
        a, b = times["blocked"]["_maps"][name], times["rowwise"]["_maps"][name]
        if not all(np.array_equal(a[k][1], b[k][1]) for k in a):
            print(f"{name}: the blocked and row-wise responses differ")
            return 1
    labels = [k for k in times["blocked"] if k not in ("_maps", "face")] + ["face"]
    print(f"CCNF responses, {len(args.dumps)} dumps x {args.repeat} repeats; median ms "
          f"(blocked neuron product vs the row-wise baseline; bit-identical maps)")
    for label in labels:
        m, r = statistics.median(times["blocked"][label]), statistics.median(times["rowwise"][label])
        print(f"  {label:<18} {m * 1e3:7.2f} ms   baseline {r * 1e3:7.2f} ms   ratio {m / r:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
