"""A probe on one input as a hunt subject: run the port (with injections), compare what it recorded with
the reference, and say which declared stages it never reached."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from pyparity.diff import diff_traces
from pyparity.diff.compare import ONLY_IN_A
from pyparity.hunt.isolate import Attempt, Plan
from pyparity.probe.inject import Injector
from pyparity.probe.run import run_probe_once
from pyparity.trace.trace import glob_match


def declared_stages(probe) -> list[tuple[int, str]]:
    """(capture index, glob) for every stage a probe can record: fields with a ``lookup`` expand to
    their values (which may hold ``/``), other fields and ``{n}`` become ``*``."""
    out = []
    for c in probe.captures:
        names = list(c.lookup)
        for combo in itertools.product(*(sorted(set(c.lookup[k].values())) for k in names)):
            g = c.stage
            for k, v in zip(names, combo):
                g = re.sub(r"\{" + re.escape(k) + r"(?::[^{}]*)?\}", v.replace("\\", "\\\\"), g)
            g = re.sub(r"\{[^{}]*\}", "*", g)
            out.append((c.index, f"{g.rstrip('/')}/*" if c.tensor == "*" else g))
    return out


def mark_not_reached(report, probe, calls: dict, prefix: str = "") -> None:
    """Note on each stage the reference holds and the probe declares but the port never recorded why:
    the capture never fired, or fired fewer times (``calls``: capture index -> calls seen)."""
    globs = declared_stages(probe)
    for s in report.stages:
        if s.status != ONLY_IN_A:
            continue
        name = s.name[len(prefix):] if prefix and s.name.startswith(prefix) else s.name
        hit = next((i for i, g in globs if glob_match(name, g)), None)
        if hit is None:
            continue
        cap = next(c for c in probe.captures if c.index == hit)
        n = calls.get(hit, 0)
        why = "never fired" if n == 0 else f"fired {n} time(s), not for this stage"
        s.note = f"not reached (reference only): {cap.where} {why}"


@dataclass
class ProbeSubject:
    """``probe`` run on ``input_path`` and compared with ``reference`` (a Trace) under ``policy``."""

    probe: object
    input_path: Path
    reference: object
    policy: object = None
    stages: list[str] | None = None          # --stage globs
    model_dir: Path | None = None
    shared_dir: Path | None = None           # --shared: what the probe's ``$shared`` names
    reference_label: str = ""
    out: Path | None = None                  # where the first (plain) run's trace is kept
    image: object = None                     # a frame already read (sequences)
    port: object = None                      # a port object built once (sequences)
    _runs: int = field(default=0, repr=False)

    @property
    def name(self) -> str:
        return self.probe.name

    @property
    def input(self) -> str:
        return str(self.input_path)

    def capture(self, index: int):
        return next((c for c in self.probe.captures if c.index == index), None)

    def injectable_captures(self) -> set[int]:
        return {c.index for c in self.probe.captures if c.injectable is True}

    def scope(self, trace) -> object:
        """The reference's stages this comparison covers: those recorded, and those the probe declares."""
        return self.reference.select(sorted(set(trace.names)) + [g for _, g in declared_stages(self.probe)])

    def run(self, plan: Plan | None) -> Attempt:
        inj = Injector(self.reference, stages=plan.stages, captures=plan.captures) if plan else None
        out = self.out if self._runs == 0 else None
        self._runs += 1
        pr = run_probe_once(self.probe, self.input_path, out=out, reference=self.reference,
                            model_dir=self.model_dir, shared_dir=self.shared_dir, injector=inj, port=self.port,
                            image=self.image)
        ref = self.scope(pr.trace)
        report = diff_traces(pr.trace, ref, policy=self.policy, stages=self.stages)
        mark_not_reached(report, self.probe, pr.calls)
        return Attempt(report=report, injected=list(inj.injected) if inj else [],
                       failed=dict(inj.failed) if inj else {}, notes=list(inj.notes) if inj else [],
                       stages=dict(pr.stages), diagnose=_diagnoser(self.reference, pr.trace, self.policy),
                       trace=pr.trace, order=pr.port_order())


def _diagnoser(ref, trace, policy):
    from pyparity.diff.diagnose import Context, diagnose
    from pyparity.diff.policy import default_policy

    pol = policy or default_policy()

    def run(s):
        name_b = s.name_b or s.name
        if s.name not in ref or name_b not in trace:
            return []
        earlier = tuple(ref.names[: ref.names.index(s.name)])
        ctx = Context(stage=s.name, reference=ref, candidate=trace, earlier=earlier)
        return diagnose(ref[s.name], trace[name_b], pol.tolerance_for(s.name), ctx)

    return run
