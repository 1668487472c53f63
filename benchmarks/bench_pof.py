"""reconstruct_3d per frame for each POF variant, 1 thread, vs upstream's STAGES.md figures.

Run: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/bench_pof.py
(the thread variables must be set before NumPy loads; this script sets them if absent).
Upstream (torch 2.13 CPU, 1 thread, 2-core Xeon VM; reconstruct_3d incl. LS solver, ms/frame):
semgcn-temporal 2.5-2.7, semgcn 0.53-0.58, gcn 0.40-0.41, transformer 0.61-0.64
(upstream batches the 8 frames through the non-temporal networks; the temporal one is sequential).

Columns: ``batched`` = reconstruct_3d on the 8-frame clip, recording off (the fast path: features
and network for all frames at once; what upstream measured); ``per-frame`` = reconstruct_3d called
once per frame (batch 1), for comparison. Ratio = batched / upstream midpoint (target <= 1.0x).

The STAGES.md figures come from another machine; on a shared or slower one compare like with like:
time upstream's ``CameraPOFInference.reconstruct_3d`` on the same 8-frame clip on the same machine
and pass the medians, e.g. ``--upstream-ms semgcn-temporal=4.4,semgcn=0.75,gcn=0.51,transformer=1.36``
(the figures measured beside ours on a loaded 2-core AMD EPYC VM; see docs/pof.md).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

UPSTREAM_MS = {"semgcn-temporal": (2.5, 2.7), "semgcn": (0.53, 0.58), "gcn": (0.40, 0.41), "transformer": (0.61, 0.64)}


def _parse_upstream(arg: str | None) -> dict:
    ref = dict(UPSTREAM_MS)
    for item in (arg or "").split(","):
        if item.strip():
            name, ms = item.split("=")
            ref[name.strip()] = (float(ms), float(ms))
    return ref


def main(repeats: int = 21, upstream: str | None = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from pyparity.pipelines.pof.checkpoint import synthetic_model
    from pyparity.pipelines.pof.reconstruct import Options, reconstruct_3d
    from pyparity.trace import read_trace

    dumps = Path(__file__).resolve().parents[1].parent / "shared" / "reference_dumps" / "pof-upstream"
    ref = read_trace(dumps / "gcn" / "walk")
    kp, vis = ref["clip/pose_2d"], ref["clip/visibility"]
    opts = Options(record_zsign_path=False)

    def timed(fn) -> float:
        fn()
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t) / len(kp) * 1e3)
        return statistics.median(ts)

    print(f"{'model':16s} {'batched ms/fr':>13s} {'per-frame':>10s} {'upstream':>12s} {'ratio':>7s}")
    for v, (lo, hi) in _parse_upstream(upstream).items():
        m = synthetic_model(v)
        med = timed(lambda: reconstruct_3d(m, kp, vis, 1.78, opts=opts))
        if m.temporal:
            per = float("nan")  # sequential by definition: the batched call is the per-frame loop
        else:
            per = timed(lambda: [reconstruct_3d(m, kp[f:f + 1], vis[f:f + 1], 1.78, opts=opts) for f in range(len(kp))])
        print(f"{v:16s} {med:13.3f} {per:10.3f} {lo:5.2f}-{hi:<5.2f} {med / ((lo + hi) / 2):7.2f}x")
    return 0


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--upstream-ms", help="variant=ms,... upstream medians measured on this machine")
    a = ap.parse_args()
    raise SystemExit(main(a.repeats, a.upstream_ms))
