"""A probe over the frames of a sequence (an image folder or a video) as one hunt subject.

The port is built once per run and called frame after frame, so whatever state it carries between
frames (a tracker's last shape, a cache) is carried as in real use; each frame is recorded into its
own trace and compared with its own reference frame, and the stages are reported frame-numbered
(``frame0003/mtcnn/pnet/corrected_boxes``). Injection applies to every frame (a re-run replays the
whole sequence, so the state a frame starts from is the one the injected run produced).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from pyparity.diff import diff_traces
from pyparity.diff.report import DiffReport
from pyparity.hunt.isolate import Attempt, Plan
from pyparity.hunt.probe_subject import ProbeSubject, _diagnoser, mark_not_reached
from pyparity.probe.inject import Injector
from pyparity.probe.run import build_port, run_probe_once


def frame_label(i: int) -> str:
    return f"frame{i:04d}"


def load_frames(source: Path, max_frames: int | None = None) -> list[tuple[str, Path, object]]:
    """``(frame name, file, image)`` for every frame of an image folder (sorted by name) or a video."""
    from pyparity.pipelines.openface.sequence import frames_of

    source = Path(source)
    out = []
    for name, img in frames_of(source):
        if max_frames is not None and len(out) >= max_frames:
            break
        file = source / name if source.is_dir() else source
        out.append((name, file, img))
    return out


@dataclass
class FrameOutcome:
    """One frame of a run: its label, its input, and its comparison (None: no reference frame)."""

    label: str
    input: str
    report: DiffReport | None


@dataclass
class FramesSubject:
    probe: object
    source: Path
    frames: list                                   # (name, file, image)
    references: list                               # a Trace or None per frame
    policy: object = None
    stages: list[str] | None = None
    model_dir: Path | None = None
    shared_dir: Path | None = None
    reference_label: str = ""
    last_frames: list[FrameOutcome] = field(default_factory=list)
    first_frames: list[FrameOutcome] | None = None

    @property
    def name(self) -> str:
        return self.probe.name

    @property
    def input(self) -> str:
        return str(self.source)

    def capture(self, index: int):
        return next((c for c in self.probe.captures if c.index == index), None)

    def injectable_captures(self) -> set[int]:
        return {c.index for c in self.probe.captures if c.injectable is True}

    def run(self, plan: Plan | None) -> Attempt:
        first_ref = next((r for r in self.references if r is not None), None)
        port = build_port(self.probe, self.frames[0][1], reference=first_ref, model_dir=self.model_dir,
                          shared_dir=self.shared_dir)
        merged = Attempt(report=None)
        stages, outcomes, diagnosers = [], [], {}
        for i, ((name, file, img), ref) in enumerate(zip(self.frames, self.references)):
            label = frame_label(i)
            prefix = label + "/"
            inj = Injector(ref, stages=plan.stages, captures=plan.captures) if plan and ref is not None else None
            pr = run_probe_once(self.probe, file, reference=ref, model_dir=self.model_dir, shared_dir=self.shared_dir,
                                injector=inj, port=port, image=img)
            if ref is None:
                outcomes.append(FrameOutcome(label, name, None))
                continue
            sub = ProbeSubject(self.probe, file, ref).scope(pr.trace)
            rep = diff_traces(pr.trace, sub, policy=self.policy, stages=self.stages)
            mark_not_reached(rep, self.probe, pr.calls)
            diagnosers[prefix] = _diagnoser(ref, pr.trace, self.policy)
            if rep.first is not None:  # with the whole reference frame as context, not only the compared stages
                rep.first.diagnosis = diagnosers[prefix](rep.first)
            outcomes.append(FrameOutcome(label, name, rep))
            stages += [replace(s, name=prefix + s.name, name_b=(prefix + s.name_b) if s.name_b else None)
                       for s in rep.stages]
            merged.stages.update({prefix + k: v for k, v in pr.stages.items()})
            base = len(merged.order)
            merged.order.update({prefix + n: base + j for n, j in pr.port_order().items()})
            if inj is not None:
                merged.injected += [prefix + s for s in inj.injected]
                merged.failed.update({prefix + k: v for k, v in inj.failed.items()})
                merged.notes += [f"{label}: {n}" for n in inj.notes]
        reports = [o.report for o in outcomes if o.report is not None]
        first = next((f"{o.label}/{o.report.first_divergence}" for o in outcomes
                      if o.report is not None and o.report.first_divergence), None)
        nothing = "" if any(not r.nothing_compared for r in reports) else (
            reports[0].nothing_compared if reports else "no frame has a reference frame")
        merged.report = DiffReport(a_source=self.reference_label, b_source=f"probe:{self.probe.name} on {self.source}",
                                   stages=stages, first_divergence=first,
                                   policy_source=reports[0].policy_source if reports else "", nothing_compared=nothing)

        def diagnose(s):
            prefix = s.name.split("/", 1)[0] + "/"
            inner = replace(s, name=s.name[len(prefix):], name_b=None)
            return diagnosers[prefix](inner) if prefix in diagnosers else []

        merged.diagnose = diagnose
        self.last_frames = outcomes
        if self.first_frames is None:
            self.first_frames = outcomes
        return merged
