"""Cost of recording when it is off: a stage-sized loop with and without NULL_RECORDER calls.

    python benchmarks/bench_recorder.py

Prints the per-call cost of `NULL_RECORDER.save` / `.scope` and the overhead on a loop shaped like a
pipeline stage (a small float32 matrix product per step), as a ratio against the same loop without
recording calls.
"""

from __future__ import annotations

import time

import numpy as np

from pyparity.trace import NULL_RECORDER, Recorder


def step(x, w):
    return np.tanh(x @ w)


def run(rec, x, w, n):
    for i in range(n):
        with rec.scope("stage"):
            y = step(x, w)
            rec.save("it/y", y)
    return y


def run_plain(x, w, n):
    for i in range(n):
        y = step(x, w)
    return y


def best(fn, *args, repeat=7):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((68, 36), dtype=np.float32)
    w = rng.standard_normal((36, 36), dtype=np.float32)
    n = 20000
    t_plain = best(run_plain, x, w, n)
    t_off = best(run, NULL_RECORDER, x, w, n)
    t_on = best(lambda *a: run(Recorder(), *a), x, w, n, repeat=3)
    calls = best(lambda: [NULL_RECORDER.save("a", x) for _ in range(n)])
    print(f"loop of {n} stage steps: plain {t_plain * 1e3:.1f} ms, recording off {t_off * 1e3:.1f} ms "
          f"(ratio {t_off / t_plain:.3f}), recording on (memory) {t_on * 1e3:.1f} ms (ratio {t_on / t_plain:.2f})")
    print(f"NULL_RECORDER.save: {calls / n * 1e9:.0f} ns per call")


if __name__ == "__main__":
    main()
