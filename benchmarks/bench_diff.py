"""Diff throughput on >= 1 GB of float32 stages (memory-bound work).

Writes two traces of N float32 stages (candidate = reference + last-bit noise on some elements) to a
temporary folder, then times `diff_traces` end to end (memory-mapped reads, chunked compare).
Throughput is reported as GB of reference data compared per second; timings are relative to a
baseline measured beside it (a plain numpy pass, `np.abs(a - b).max()`, over the same data).

    python benchmarks/bench_diff.py [--gb 1.0] [--stages 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from pyparity.diff import diff_traces
from pyparity.trace import Recorder, read_trace


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--stages", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n_per = int(args.gb * 1e9 / 4 / args.stages)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        pa, pb = Path(tmp) / "a", Path(tmp) / "b"
        with Recorder(pa) as ra, Recorder(pb) as rb:
            for i in range(args.stages):
                x = rng.standard_normal(n_per, dtype=np.float32)
                ra.save(f"bench/s{i:03d}/values", x)
                x[:: 1000] = np.nextafter(x[:: 1000], np.float32(np.inf))  # last-bit differences
                rb.save(f"bench/s{i:03d}/values", x)
        total = n_per * args.stages * 4
        a, b = read_trace(pa), read_trace(pb)
        times, base = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            rep = diff_traces(b, a)
            times.append(time.perf_counter() - t0)
            assert rep.ok, rep.summary()
            t0 = time.perf_counter()
            for n in a.names:
                float(np.abs(a[n] - b[n]).max())
            base.append(time.perf_counter() - t0)
        t, tb = min(times), min(base)
        print(f"data: {total / 1e9:.2f} GB float32 per side in {args.stages} stages")
        print(f"diff_traces: {t:.2f} s = {total / t / 1e9:.2f} GB/s (best of {args.repeat})")
        print(f"baseline np.abs(a-b).max(): {tb:.2f} s = {total / tb / 1e9:.2f} GB/s; ratio diff/baseline {t / tb:.2f}")


if __name__ == "__main__":
    main()
