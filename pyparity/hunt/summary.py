"""A hunt over many inputs (a corpus) or many frames (a sequence), summed up: how each item ended, how
often each stage is the first divergence, the worst items, and the introducing stages grouped by stage
(with the items where each one introduced a difference and what the diagnosis said)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from pyparity.diff.compare import FAILING

_FRAME = re.compile(r"^frame\d{4,}/")


def stage_key(name: str) -> str:
    """A stage's name without its frame number, so that the same stage of every frame counts once."""
    return _FRAME.sub("", name)


@dataclass
class Item:
    """One input (or frame) of the summary."""

    name: str
    input: str
    status: str                                # match | diverged | nothing-compared | no-reference | error
    first_divergence: str | None = None
    first_cause: str = ""                      # the first diagnosis of the first divergence
    output_stage: str | None = None            # the port's result stage (or the last compared stage)
    output_max_abs: float | None = None
    introduced: list[tuple[str, str]] = field(default_factory=list)   # (stage, first diagnosis)
    # stage -> the capture that records it ("capture 10: face00/clnf/h00/{ws}/rigid/it{it:02d}/..."): a cause
    # repeated per scale, iteration or frame groups by it
    groups: dict[str, str] = field(default_factory=dict)
    end: str = ""
    error: str = ""


@dataclass
class Chain:
    """Introducing stages of one capture over the summary's items (`Summary.chains`)."""

    pattern: str                                # the capture and its stage pattern, "" when unknown
    stages: list[str] = field(default_factory=list)      # without frame numbers, in the order found
    items: list[str] = field(default_factory=list)
    diagnoses: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.stages[0] + (f" (+{len(self.stages) - 1} more of {self.pattern})" if len(self.stages) > 1 else "")


@dataclass
class Summary:
    items: list[Item] = field(default_factory=list)
    reference: str = ""
    subject: str = ""
    unit: str = "inputs"                       # inputs | frames

    def count(self, status: str) -> int:
        return sum(1 for i in self.items if i.status == status)

    def first_divergences(self) -> list[tuple[str, int]]:
        """Stages by how often they are the first divergence, most frequent first."""
        c = Counter(stage_key(i.first_divergence) for i in self.items if i.first_divergence)
        return c.most_common()

    def worst(self, n: int = 5) -> list[Item]:
        """The items whose result is furthest from the reference (then the longest chains)."""
        bad = [i for i in self.items if i.status == "diverged"]
        return sorted(bad, key=lambda i: (-(i.output_max_abs or 0.0), -len(i.introduced), i.name))[:n]

    def chains(self) -> list[Chain]:
        """The introducing stages grouped by the capture that records them (a cause the port repeats at
        every scale, iteration or frame is one chain), with the items where they introduced a difference
        and the distinct diagnoses; most frequent first."""
        by: dict[str, Chain] = {}
        for i in self.items:
            for stage, cause in i.introduced:
                key = stage_key(stage)
                c = by.setdefault(i.groups.get(stage) or key, Chain(pattern=i.groups.get(stage, "")))
                if key not in c.stages:
                    c.stages.append(key)
                if i.name not in c.items:
                    c.items.append(i.name)
                if cause and cause not in c.diagnoses:
                    c.diagnoses.append(cause)
        return sorted(by.values(), key=lambda c: (-len(c.items), c.stages[0]))

    @property
    def ok(self) -> bool:
        compared = [i for i in self.items if i.status in ("match", "diverged")]
        return bool(compared) and all(i.status == "match" for i in compared) and not self.count("error")

    @property
    def nothing_compared(self) -> str:
        if not self.items:
            return "no input was run"
        if not any(i.status in ("match", "diverged") for i in self.items):
            return "no input shared a stage with its reference"
        return ""

    def line(self) -> str:
        parts = [f"{len(self.items)} {self.unit}", f"{self.count('match')} match", f"{self.count('diverged')} diverged"]
        for st in ("nothing-compared", "no-reference", "error"):
            if self.count(st):
                parts.append(f"{self.count(st)} {st}")
        return ", ".join(parts)


def _output_of(report, output_stages: list[str]):
    """(stage, max abs) of the port's result: the first of ``output_stages`` compared, else the last
    compared stage."""
    compared = [s for s in report.stages if s.max_abs is not None or s.status in FAILING]
    for name in output_stages:
        for s in compared:
            if stage_key(s.name) == name:
                return s.name, s.max_abs
    if compared:
        return compared[-1].name, compared[-1].max_abs
    return None, None


def item_of(name: str, input: str, result, output_stages: list[str]) -> Item:
    """An `Item` from a `HuntResult` (one input)."""
    rep = result.first.report
    status = ("nothing-compared" if rep.nothing_compared else "match" if rep.ok else "diverged")
    it = Item(name=name, input=input, status=status, first_divergence=rep.first_divergence, end=result.end)
    if rep.first is not None and rep.first.diagnosis:
        it.first_cause = rep.first.diagnosis[0].title
    it.output_stage, it.output_max_abs = _output_of(rep, output_stages)
    it.introduced = [(i.stage, i.result.diagnosis[0].title if i.result.diagnosis else "") for i in result.introduced]
    it.groups = {i.stage: i.group for i in result.introduced if i.group}
    return it


def frame_items(frames, result, output_stages: list[str]) -> list[Item]:
    """One `Item` per frame of a sequence hunt: its own first divergence and the introducing stages found
    in it (``frames``: the first run's `FrameOutcome` list)."""
    out = []
    for f in frames:
        if f.report is None:
            out.append(Item(name=f.label, input=f.input, status="no-reference"))
            continue
        rep = f.report
        status = "nothing-compared" if rep.nothing_compared else "match" if rep.ok else "diverged"
        it = Item(name=f.label, input=f.input, status=status, first_divergence=rep.first_divergence, end=result.end)
        if rep.first is not None and rep.first.diagnosis:
            it.first_cause = rep.first.diagnosis[0].title
        it.output_stage, it.output_max_abs = _output_of(rep, output_stages)
        if result.end == "first-divergence":
            # one run: each frame's first divergence introduces its difference (everything before it matched)
            it.introduced = [(f"{f.label}/{rep.first_divergence}", it.first_cause)] if rep.first_divergence else []
        else:
            mine = [i for i in result.introduced if i.stage.startswith(f.label + "/")]
            it.introduced = [(i.stage, i.result.diagnosis[0].title if i.result.diagnosis else "") for i in mine]
            it.groups = {i.stage: i.group for i in mine if i.group}
        out.append(it)
    return out
