"""The gate's throughput and the coordinator's memory, on the local and Dask executors (issue 19).

    .venv/bin/python benchmarks/bench_gate.py [--n 312] [--rounds 3] [--rss-n 100 1000] [--no-dask] [--workers 1 2]

A corpus of N cases is built from the shared inputs: the 26 images of corpus/openface-samples.toml,
cycled (case ``001-k`` runs image 001 and is compared with its C++ dump and its committed golden), so
every case does a gate's real work: pyparity's MTCNN, a diff of every stage against the reference, a
diff against the golden.

Throughput: cases/s of a whole gate (workers started, models loaded, every case) and in steady state
(from the first result of every worker to the last result), for 1 and 2 workers on the local executor
(processes) and on Dask (a LocalCluster of single-threaded worker processes). Each gate runs in a fresh
coordinator process; the configurations are interleaved, round by round, and the ratios (2 workers /
1 worker, Dask / local at 2 workers) are taken within each round, then their median; the machine is
shared and noisy, so only those ratios mean anything. The load average is printed beside them.

CPU: the CPU seconds per case in steady state, of the whole gate (the coordinator, the scheduler, every
worker: user + system time of this process and all its descendants, read from /proc at the result that
ends the warm-up and at the last result). Unlike wall time this hardly depends on what
else the machine runs, so where other jobs hold the cores the CPU ratios (1 worker / 2 workers; Dask /
local) say what the wall-time ratios would be on idle cores, as far as the cases do not contend for
memory bandwidth or caches: 2 workers reach 2x on two idle cores when a case costs the same CPU time on
either, and Dask's overhead is its extra CPU time per case.

Memory: the coordinator's peak RSS (its own, not its workers') over gates of N = 100 and N = 1,000 cases
(``--rss-n``) on both executors at 2 workers. These cases replay the reference dump's MTCNN stages instead
of running the detector (``--rss-pipeline replay``; the coordinator's work and the outcomes it receives
are the same as for the real detector, in a fraction of the time); ``--rss-pipeline mtcnn`` runs the
detector there too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def default_model_dir() -> str:
    """``$PYPARITY_MODEL_DIR``, else the shared folder's OpenFace models (``$PYPARITY_SHARED``, else ../shared)."""
    return os.environ.get("PYPARITY_MODEL_DIR") or str(
        Path(os.environ.get("PYPARITY_SHARED", REPO.parent / "shared")) / "openface" / "model")


def replay(input_path: Path, rec, model_dir) -> None:
    """The case's input is a reference dump's meta.json: record every MTCNN stage of that dump."""
    from pyparity.trace import read_trace

    ref = read_trace(Path(input_path).parent)
    with rec.scope("mtcnn"):
        for n in ref.names:
            if n.startswith("mtcnn/"):
                rec.save(n[len("mtcnn/"):], ref[n])


def build_corpus(folder: Path, n: int, pipeline: str) -> Path:
    """A spec of ``n`` cases cycling the shipped openface-samples corpus (absolute paths)."""
    from pyparity.gate.corpus import load_corpus

    base = load_corpus(REPO / "corpus" / "openface-samples.toml")
    lines = ["[corpus]", f'name = "bench-{n}"', 'policy = "mtcnn"', f'goldens = "{base.goldens}"', ""]
    for i in range(n):
        c = base.cases[i % len(base.cases)]
        inp = c.input if pipeline == "mtcnn" else c.reference / "meta.json"
        pipe = "mtcnn" if pipeline == "mtcnn" else "bench_gate:replay"
        lines += ["[[case]]", f'name = "{c.name}-{i // len(base.cases)}"', f'pipeline = "{pipe}"',
                  f'input = "{inp}"', f'reference = "{c.reference}"', f'golden = "{c.golden}"', ""]
    spec = folder / f"bench-{pipeline}-{n}.toml"
    spec.write_text("\n".join(lines))
    return spec


def tree_cpu() -> float:
    """User + system CPU seconds of this process and every live descendant (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(d)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)  # ppid, utime + stime
    mine, todo = set(), [os.getpid()]
    while todo:
        p = todo.pop()
        mine.add(p)
        todo += [c for c, (pp, _) in stats.items() if pp == p and c not in mine]
    return sum(stats[p][1] for p in mine if p in stats)


def child(spec: Path, executor: str, workers: int, model_dir: str | None) -> dict:
    """One gate, in this (fresh) process: timings and this process's peak RSS."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from pyparity.gate.corpus import load_corpus
    from pyparity.executors import LocalProcesses, make_executor
    from pyparity.gate.journal import Journal
    from pyparity.gate.outcome import GateOptions
    from pyparity.gate.runner import stream_gate

    corpus = load_corpus(spec)
    opts = GateOptions(goldens=corpus.goldens, model_dir=Path(model_dir) if model_dir else None)
    # one local worker is still a worker process (not the coordinator itself), like the Dask worker
    ex = LocalProcesses(workers) if executor == "local" else make_executor("dask", workers, len(corpus.cases))
    stamps: list[float] = []
    n = len(corpus.cases)
    warm = min(2 * workers, n - 1)  # results before this one include the workers' start-up
    cpu: dict[int, float] = {}

    def on_result(o) -> None:
        stamps.append(time.perf_counter())
        if len(stamps) in (warm, n):
            cpu[len(stamps)] = tree_cpu()

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run = stream_gate(corpus, opts, executor=ex, journal=Journal(Path(tmp) / "j.jsonl"), progress=False,
                          on_result=on_result)
        wall = time.perf_counter() - t0
    k = min(workers, len(stamps) - 1)
    steady = (len(stamps) - 1 - k) / (stamps[-1] - stamps[k]) if len(stamps) - 1 > k and stamps[-1] > stamps[k] else None
    return {"n": len(corpus.cases), "counts": run.counts, "wall": wall, "rate": len(stamps) / wall,
            "steady": steady, "cpu_per_case": (cpu[n] - cpu[warm]) / (n - warm) if warm in cpu and n > warm else None,
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def spawn(spec: Path, executor: str, workers: int, model_dir: str | None) -> dict:
    cmd = [sys.executable, __file__, "--child", str(spec), executor, str(workers), model_dir or ""]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"bench child failed ({executor}, {workers}):\n{p.stderr[-3000:]}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    if set(res["counts"]) != {"pass"}:
        raise SystemExit(f"bench gate did not pass ({executor}, {workers}): {res['counts']}")
    return res


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=312, help="cases in the throughput corpus (default 312 = 12 x 26)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rss-n", type=int, nargs="*", default=[100, 1000], help="corpus sizes for the RSS runs")
    ap.add_argument("--rss-pipeline", choices=("replay", "mtcnn"), default="replay")
    ap.add_argument("--no-dask", action="store_true", help="the local executor only")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], choices=(1, 2),
                    help="worker counts to run (default 1 2; --workers 2: only the Dask / local comparison)")
    ap.add_argument("--model-dir", default=default_model_dir())
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        spec, executor, workers, model_dir = a.child
        print(json.dumps(child(Path(spec), executor, int(workers), model_dir or None)))
        return

    executors = ["local"] + ([] if a.no_dask else ["dask"])
    configs = [(e, w) for e in executors for w in a.workers]
    print(f"cpus {os.cpu_count()}, load average before {load()}")
    with tempfile.TemporaryDirectory() as tmp:
        spec = build_corpus(Path(tmp), a.n, "mtcnn")
        spawn(spec, "local", 2, a.model_dir)  # warm-up: numba's cache and the page cache
        runs: dict = {c: [] for c in configs}
        for r in range(a.rounds):
            order = configs if r % 2 == 0 else configs[::-1]
            for c in order:
                runs[c].append(spawn(spec, c[0], c[1], a.model_dir))
            line = ", ".join(f"{e} x{w} {runs[(e, w)][-1]['rate']:.2f}" for e, w in configs)
            print(f"round {r + 1}: cases/s (whole gate) {line}; load {load()}", flush=True)
        print(f"\nthroughput: N = {a.n} cases (MTCNN + diffs vs reference and golden), median of {a.rounds} rounds")
        for e, w in configs:
            rs = runs[(e, w)]
            steady = [x["steady"] for x in rs if x["steady"]]
            print(f"  {e:5s} {w} worker(s): {statistics.median(x['rate'] for x in rs):6.2f} cases/s whole gate, "
                  f"{statistics.median(steady) if steady else float('nan'):6.2f} steady; "
                  f"{statistics.median(x['cpu_per_case'] for x in rs):.3f} CPU s/case; "
                  f"coordinator RSS {max(x['rss_mib'] for x in rs):.0f} MiB")

        def ratio(num, den, key):
            vals = [x[key] / y[key] for x, y in zip(runs[num], runs[den]) if x[key] and y[key]]
            return statistics.median(vals), vals

        def cpu_ratio(num, den):
            vals = [y["cpu_per_case"] / x["cpu_per_case"] for x, y in zip(runs[num], runs[den])]
            return statistics.median(vals), vals

        for e in executors if 1 in a.workers and 2 in a.workers else ():
            m, vals = cpu_ratio((e, 2), (e, 1))
            print(f"  {e}: CPU s/case 1 worker / 2 workers: {m:.2f}  (rounds: {', '.join(f'{v:.2f}' for v in vals)}; "
                  f"x2 = {2 * m:.2f}x: 2 workers / 1 worker on two idle cores, if nothing else limits)")
            for key in ("rate", "steady"):
                m, vals = ratio((e, 2), (e, 1), key)
                print(f"  {e}: 2 workers / 1 worker ({key}): {m:.2f}x  (rounds: {', '.join(f'{v:.2f}' for v in vals)};"
                      f" target >= 1.8)")
        if "dask" in executors and 2 in a.workers:
            m, vals = cpu_ratio(("local", 2), ("dask", 2))
            print(f"  Dask's CPU overhead at 2 workers: {100 * (m - 1):+.1f} % CPU s/case vs local (rounds: "
                  f"{', '.join(f'{100 * (v - 1):+.1f}' for v in vals)} %)")
            for key in ("rate", "steady"):
                m, vals = ratio(("local", 2), ("dask", 2), key)
                print(f"  Dask overhead at 2 workers ({key}): {100 * (m - 1):+.1f} %  (local/dask per round: "
                      f"{', '.join(f'{v:.2f}' for v in vals)}; target <= 10 %)")
        print(f"load average after {load()}")

        print(f"\ncoordinator peak RSS ({a.rss_pipeline} pipeline, 2 workers; the workers' memory not included)")
        for n in a.rss_n:
            s = build_corpus(Path(tmp), n, a.rss_pipeline)
            for e in executors:
                res = spawn(s, e, 2, a.model_dir)
                print(f"  N = {n:5d} {e:5s}: {res['rss_mib']:6.0f} MiB peak RSS, {res['rate']:.2f} cases/s, "
                      f"{res['wall']:.0f} s; load {load()}", flush=True)


if __name__ == "__main__":
    main()
