"""The gate's cases on a process's main thread and on a second thread of the same process, interleaved:
CPU seconds of each and their ratio (issue 19). A Dask worker runs its cases on a thread of its own, a
local worker on its main thread; the ratio is that difference with everything else equal (same process,
same warm caches, alternating order).

    python benchmarks/bench_worker_thread.py [--rounds 8]
    MALLOC_ARENA_MAX=1 python benchmarks/bench_worker_thread.py     # one glibc arena for every thread

Each round runs the 26 cases of corpus/openface-samples.toml (pyparity's MTCNN, diffs against the C++
dump and the golden) once on each thread and times them with `time.thread_time`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_gate import REPO, default_model_dir  # this folder is on sys.path when the script runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--model-dir", default=default_model_dir())
    a = ap.parse_args()
    os.environ.setdefault("PYPARITY_THREADS", "1")  # as in a gate's workers
    from pyparity.gate.corpus import load_corpus
    from pyparity.gate.outcome import GateOptions
    from pyparity.gate.pipelines import entry
    from pyparity.gate.runner import _run_item

    corpus = load_corpus(REPO / "corpus" / "openface-samples.toml")
    opts = GateOptions(goldens=corpus.goldens, model_dir=Path(a.model_dir))
    items = [(c, entry(c.pipeline)) for c in corpus.cases]

    def all_cases() -> float:
        t0 = time.thread_time()
        for item in items:
            outcome = _run_item(opts, item)
            if outcome.status != "pass":
                raise SystemExit(f"{outcome.name}: {outcome.status} ({outcome.message})")
        return time.thread_time() - t0

    with ThreadPoolExecutor(1) as second:
        all_cases(), second.submit(all_cases).result()  # warm-up: models, numba's cache, both arenas
        ratios = []
        for r in range(a.rounds):
            if r % 2 == 0:
                main_s = all_cases()
                thread_s = second.submit(all_cases).result()
            else:
                thread_s = second.submit(all_cases).result()
                main_s = all_cases()
            ratios.append(thread_s / main_s)
            print(f"round {r + 1}: main thread {main_s:.3f} CPU s, second thread {thread_s:.3f} CPU s, "
                  f"ratio {ratios[-1]:.3f}; load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"second thread / main thread CPU, median of {a.rounds} rounds: {statistics.median(ratios):.3f} "
          f"(MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', 'unset')})")


if __name__ == "__main__":
    main()
