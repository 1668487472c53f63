"""Hunting past the first divergence: re-run the port with the reference injected where it first
diverged, and repeat.

`hunt(subject)` runs the port once (its first divergence is what `pyparity diff` would name). With
``isolate``, it walks each run's comparison in the reference's order: a diverged stage whose every
earlier difference was replaced by the reference's value *introduces* a difference (its inputs were
the reference's); the first diverged stage that was not replaced is the next one, and the next run
injects the reference at that stage's capture — at every call of it, since a port usually repeats
its difference at each call (a stage of that capture that still diverges in a later run, with all
its inputs replaced, is an introducing stage of its own). The hunt ends when nothing diverges but
replaced stages (the output matches), at a stage that cannot take the reference's value (what
remains is reported), or at ``max_runs``.

With ``isolate_all``, one more run injects every injectable capture at once: each stage is computed
from the reference's inputs, so every stage that diverges there introduces a difference on its own
(for ports whose stages are independent, this is every stage tested alone, in one run).

A subject is anything with ``run(plan) -> Attempt`` and ``capture(index)``: a probe on one input
(probe_subject.py), a probe over the frames of a sequence (frames.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from pyparity.hunt.chain import (
    INJECTION_FAILED, LIMIT, MATCHED, NOT_INJECTABLE, NOTHING, PARITY, SINGLE, HuntResult, HuntRun, Introduction,
)


@dataclass
class Plan:
    """What a run injects: every stage of these captures (by index), and these stage names."""

    captures: frozenset = frozenset()
    stages: tuple = ()

    def describe(self, subject) -> list[str]:
        out = []
        for i in sorted(self.captures):
            c = subject.capture(i)
            out.append(f"capture {i}: {c.stage}" if c is not None else f"capture {i}")
        return out + list(self.stages)


@dataclass
class Attempt:
    """One run of a subject: its comparison, what it injected, and which capture recorded each stage."""

    report: object                                   # DiffReport
    injected: list[str] = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    stages: dict = field(default_factory=dict)       # stage -> capture index
    diagnose: Callable | None = None                 # StageResult -> list[Hypothesis]
    trace: object = None
    order: dict = field(default_factory=dict)        # stage -> position in the port's recording order

    def in_port_order(self) -> list:
        """The comparison's stages in the order the port computed them (a stage that the port computes
        from another is recorded after it, whatever order the reference recorded them in)."""
        far = len(self.order) + 1
        stages = list(self.report.stages)
        return [s for _, s in sorted(enumerate(stages), key=lambda t: (self.order.get(t[1].name_b or t[1].name,
                                                                                     far), t[0]))]


class Subject(Protocol):
    name: str
    input: str
    reference_label: str

    def run(self, plan: Plan | None) -> Attempt: ...

    def capture(self, index: int): ...

    def injectable_captures(self) -> set[int]: ...


def hunt(subject: Subject, isolate: bool = False, isolate_all: bool = False, max_runs: int = 20) -> HuntResult:
    res = HuntResult(subject=subject.name, input=subject.input, reference=subject.reference_label)
    first = subject.run(None)
    res.runs.append(HuntRun(0, [], [], first.report, list(first.notes), dict(first.failed)))
    rep = first.report
    res.not_reached = [s.name for s in rep.stages if s.note.startswith("not reached")]
    if rep.nothing_compared:
        res.end = NOTHING
        return res
    if rep.ok:
        res.end = PARITY
        return res
    if not (isolate or isolate_all):
        f = rep.first
        res.introduced.append(_introduction(subject, first, f, 0))
        res.remaining = [s for s in rep.stages if s.failing and s.name != f.name]
        res.end = SINGLE
        return res
    if isolate:
        _isolate(subject, res, first, max_runs)
    else:
        res.end = SINGLE
    if isolate_all:
        _isolate_all(subject, res)
    return res


def _introduction(subject, attempt: Attempt, s, run: int) -> Introduction:
    if attempt.diagnose is not None:  # with the whole reference as context, not only the compared stages
        s.diagnosis = attempt.diagnose(s)
    idx = attempt.stages.get(s.name)
    cap = subject.capture(idx) if idx is not None else None
    return Introduction(stage=s.name, run=run, result=s, capture=cap.where if cap is not None else "",
                        group=f"capture {idx}: {cap.stage}" if cap is not None else "")


def _isolate(subject, res: HuntResult, attempt: Attempt, max_runs: int) -> None:
    known: dict[str, Introduction] = {}
    captures: set[int] = set()
    cause_of_run: dict[int, str] = {}
    run = 0
    while True:
        candidate = None
        injected = set(attempt.injected)
        for s in attempt.in_port_order():
            if not s.failing:
                continue
            if s.name not in known:
                known[s.name] = _introduction(subject, attempt, s, run)
                res.introduced.append(known[s.name])
            if s.name not in injected:
                candidate = known[s.name]
                break
        if candidate is None:
            res.end = MATCHED
            break
        idx = attempt.stages.get(candidate.stage)
        cap = subject.capture(idx) if idx is not None else None
        ref = getattr(subject, "reference", None)
        if cap is None:
            why = "no capture of the probe records it"
        elif cap.injectable is not True:
            why = cap.injectable
        elif ref is not None and candidate.stage not in ref:
            why = "the reference has no value for it"
        elif idx in captures:  # its capture is injected, yet this stage was not replaced
            why = attempt.failed.get(candidate.stage, "the injection did not take")
        else:
            why = ""
        if why:
            candidate.why_not_injected = why
            res.end = INJECTION_FAILED if cap is not None and idx in captures else NOT_INJECTABLE
            res.end_detail = f"{candidate.stage}: {why}"
            break
        if len(res.runs) >= max_runs:
            res.end = LIMIT
            res.end_detail = f"{len(res.runs)} runs"
            break
        captures.add(idx)
        run += 1
        cause_of_run[run] = candidate.stage
        plan = Plan(captures=frozenset(captures))
        attempt = subject.run(plan)
        res.runs.append(HuntRun(run, plan.describe(subject), list(attempt.injected), attempt.report,
                                list(attempt.notes), dict(attempt.failed)))
        if candidate.stage not in attempt.injected:
            candidate.why_not_injected = attempt.failed.get(candidate.stage, "the port did not reach it again")
            res.end = INJECTION_FAILED
            res.end_detail = f"{candidate.stage}: {candidate.why_not_injected}"
            break
    for intro in res.introduced:
        intro.injected_after = any(intro.stage in r.injected for r in res.runs[1:])
    last = res.runs[-1].report
    res.only_port = [s.name for s in last.stages if s.status == "only-in-B"]
    introduced = {i.stage for i in res.introduced}
    res.remaining = [s for s in last.stages if s.failing and s.name not in introduced]
    still = {s.name for s in res.remaining}
    for s in res.runs[0].report.stages:
        if not s.failing or s.name in introduced or s.name in still:
            continue
        for r in res.runs[1:]:
            try:
                ok = not r.report.stage(s.name).failing
            except KeyError:
                ok = True  # not reached once the reference was injected upstream
            if ok:
                res.inherited[s.name] = cause_of_run.get(r.number, "")
                break


def _isolate_all(subject, res: HuntResult) -> None:
    caps = subject.injectable_captures()
    plan = Plan(captures=frozenset(caps))
    attempt = subject.run(plan)
    run = HuntRun(len(res.runs), plan.describe(subject), list(attempt.injected), attempt.report,
                  list(attempt.notes), dict(attempt.failed))
    res.isolated_run = run
    for s in attempt.report.stages:
        if s.failing:
            res.isolated.append(_introduction(subject, attempt, s, run.number))
