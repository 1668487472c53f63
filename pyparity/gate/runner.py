"""The gate's coordinator: run a corpus's cases (`case.run_case`) wherever the executor puts them
(`pyparity.executors`: this process, local worker processes, a Dask cluster), write the goldens an
``--update`` run blesses, and stream each outcome to the results journal (`journal`), holding none of
them, so that its memory stays flat however long the corpus is.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyparity.errors import InputError, PyparityError
from pyparity.gate.case import _settle, run_case
from pyparity.corpus_spec import Case, Corpus
from pyparity.gate.outcome import ERROR, FAILED, NEW, REFUSED, UNCHANGED, UPDATED, CaseOutcome, GateOptions


def bless(case: Case, opts: GateOptions, out: CaseOutcome) -> CaseOutcome:
    """On the coordinator: save the golden an ``--update`` case sent (`save_golden`: atomic, locked)."""
    from pyparity.gate.goldens import save_golden
    from pyparity.render.gate import error_suite
    from pyparity.trace import Trace

    payload, out.golden_payload = out.golden_payload, None
    if payload is None or out.status == ERROR:
        return out
    try:
        change = save_golden(Trace.from_arrays(payload.arrays, meta=payload.meta, source=payload.source),
                             case.golden, opts.goldens, stages=case.golden_stages, update=True, force=opts.force,
                             score=payload.score, source=payload.source)
    except PyparityError as exc:
        out.status, out.message, out.report = ERROR, str(exc), None
        out.junit = [error_suite(case.name, out.message, out.seconds)]
        return out
    out.golden_change = change.describe()
    out.status = {"created": NEW, "updated": UPDATED, "unchanged": UNCHANGED, "refused": REFUSED}[change.action]
    if change.action == "refused":
        out.message = change.message
    _settle(out, None)
    return out


def check_goldens(corpus: Corpus, opts: GateOptions) -> None:
    """Before anything runs: every golden exists, is complete and in a format this pyparity reads."""
    from pyparity.gate.goldens import check_format, golden_dir, read_golden_meta

    if opts.update:
        return
    for c in corpus.cases:
        p = golden_dir(opts.goldens, c.golden)
        if not p.exists():
            raise InputError(f"{corpus.path}: case {c.name}: golden {p} does not exist (an update run blesses it)",
                             param="update")
        check_format(p, read_golden_meta(p))


@dataclass
class GateRun:
    """What the coordinator keeps of a gate run: counts, the first failed case, and where the outcomes
    are (never the outcomes). Iterating it streams the outcomes from the journal in corpus order."""

    journal: "object"
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    resumed: int = 0
    not_run: int = 0                 # cases never started (--fail-fast stopped the gate)
    first_failed: CaseOutcome | None = None  # with its report, where it ran in this run
    seconds: float = 0.0             # wall time of the run
    case_seconds: float = 0.0        # the cases' own times, summed

    def count(self, o: CaseOutcome) -> None:
        self.counts[o.status] = self.counts.get(o.status, 0) + 1
        self.case_seconds += o.seconds
        if o.failed and self.first_failed is None:
            self.first_failed = o

    @property
    def failed(self) -> int:
        return sum(n for s, n in self.counts.items() if s in FAILED)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.not_run == 0

    def __len__(self) -> int:
        return sum(self.counts.values())

    def __iter__(self):
        return self.journal.outcomes()

    def outcomes(self):
        return self.journal.outcomes()


def _run_item(opts: GateOptions, item) -> CaseOutcome:
    case, entry = item
    return run_case(case, opts, entry)


def _worker_failed(item, exc: BaseException) -> CaseOutcome:
    """The outcome of a case whose worker died under it (killed, out of memory, lost with its node)."""
    from pyparity.render.gate import error_suite

    case, _ = item
    out = CaseOutcome(case.name, case.pipeline, case.golden, ERROR,
                      message=f"the worker running this case died ({type(exc).__name__}: {exc})")
    out.junit = [error_suite(case.name, out.message)]
    return out


def _map(executor, fn, items: list):
    """``executor.map``, passing `_worker_failed` where the executor takes an ``on_error`` (an executor of
    one's own may not)."""
    import inspect

    if not items:
        return iter(())
    try:
        takes = "on_error" in inspect.signature(executor.map).parameters
    except (TypeError, ValueError):
        takes = False
    return executor.map(fn, items, on_error=_worker_failed) if takes else executor.map(fn, items)


def stream_gate(corpus: Corpus, opts: GateOptions, executor=None, journal=None, resume: bool = False,
                fail_fast: bool = False, console=None, progress: bool = True, on_result=None,
                jobs: int | None = None) -> GateRun:
    """Run the corpus's cases on ``executor`` (default: `executors.local` with ``jobs``), streaming each
    outcome to ``journal`` (a `journal.Journal`; default: a temporary one) as it arrives. ``resume``: a case
    whose journaled result is current (`journal.case_key`) is not run again. ``fail_fast``: stop at the
    first failed case (cases not yet started are cancelled and counted as not run)."""
    import tempfile

    from pyparity.executors import local
    from pyparity.gate.journal import Journal, case_key
    from pyparity.gate.pipelines import entry

    if resume and opts.update:
        raise InputError("reuses verdicts; an update run blesses goldens: run it without --resume", param="resume")
    check_goldens(corpus, opts)
    t0 = time.perf_counter()
    if journal is None:
        journal = Journal(Path(tempfile.mkdtemp(prefix="pyparity-gate-")) / "results.jsonl")
    journal.decode = CaseOutcome.from_dict
    previous = journal.previous_keys(never_current=(ERROR,)) if resume else {}
    by_name = {c.name: c for c in corpus.cases}
    keys = {c.name: case_key(c, opts) for c in corpus.cases}
    run = GateRun(journal, len(corpus.cases))
    todo = [c for c in corpus.cases if previous.get(c.name) != keys[c.name]]
    run.resumed = len(corpus.cases) - len(todo)
    executor = executor or local(max(1, jobs or os.cpu_count() or 1), len(todo))
    prog = task = None
    if progress:
        from pyparity.render.gate import progress_bar

        prog = progress_bar(console)
    journal.open(resume)
    finished = 0
    try:
        if prog is not None:
            prog.start()
            task = prog.add_task("", total=len(todo))
        if run.resumed:
            for rec in journal.records():  # the reused results count, and are reported, as if just run
                if rec["case"] in by_name and previous.get(rec["case"]) == keys[rec["case"]] == rec.get("key"):
                    run.count(CaseOutcome.from_dict(rec["outcome"]))
        results = _map(executor, functools.partial(_run_item, opts), [(c, entry(c.pipeline)) for c in todo])
        try:
            for o in results:
                if o.golden_payload is not None:
                    o = bless(by_name[o.name], opts, o)
                journal.append(o, keys[o.name])
                finished += 1
                if not (o.failed and run.first_failed is None):
                    o.report = None  # only the first failed case's report is kept (the summary shows it)
                run.count(o)
                if prog is not None:
                    from pyparity.render.gate import show_progress

                    show_progress(prog, task, o)
                if on_result is not None:
                    on_result(o)
                if fail_fast and o.failed:
                    break
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
    finally:
        if prog is not None:
            prog.stop()
        journal.finish([c.name for c in corpus.cases])
    run.not_run = len(todo) - finished
    run.seconds = time.perf_counter() - t0
    return run


def run_gate(corpus: Corpus, opts: GateOptions, jobs: int | None = None, console=None, on_result=None,
             progress: bool = True, executor=None, **kwargs) -> list[CaseOutcome]:
    """`stream_gate`, with every outcome read back in corpus order (for small corpora and tests; the
    first failed case keeps its report)."""
    run = stream_gate(corpus, opts, executor=executor, console=console, progress=progress, on_result=on_result,
                      jobs=jobs, **kwargs)
    first = run.first_failed
    return [first if first is not None and o.name == first.name else o for o in run.outcomes()]
