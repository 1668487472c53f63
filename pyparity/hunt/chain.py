"""What a hunt found, as plain data for the renderers: the runs, the stages where the port introduces a
difference, the stages whose difference was only inherited, and how the hunt ended.

A stage *introduces* a difference when it diverges although everything it was computed from matched
the reference (every earlier stage matches, or was replaced by the reference's value). A stage whose
difference went away once the reference was injected upstream only *inherited* it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyparity.diff.compare import StageResult

# How a hunt ends.
PARITY = "parity"                    # the port's first run matches: nothing to hunt
MATCHED = "output-matches"           # with the reference injected at the introducing stages, the rest matches
NOT_INJECTABLE = "not-injectable"    # the next introducing stage cannot take the reference's value
INJECTION_FAILED = "injection-failed"  # it can, in principle, but the value did not fit at run time
LIMIT = "run-limit"                  # --max-runs reached
NOTHING = "nothing-compared"         # the port and the reference share no stage
SINGLE = "first-divergence"          # no --isolate: one run, its first divergence

ENDINGS = {
    PARITY: "parity: every compared stage matches",
    MATCHED: "the output matches once the reference is injected at the introducing stages",
    NOT_INJECTABLE: "stopped: the next introducing stage cannot take the reference's value",
    INJECTION_FAILED: "stopped: the reference's value could not be injected",
    LIMIT: "stopped at the run limit (--max-runs)",
    NOTHING: "nothing compared",
    SINGLE: "first divergence (add --isolate to hunt past it)",
}


@dataclass
class HuntRun:
    """One run of the port: what was asked to be injected, what was, and its comparison."""

    number: int
    inject: list[str]                       # what this run injected (stage names, or "capture N: pattern")
    injected: list[str]                     # stages whose value was replaced
    report: object                          # DiffReport
    notes: list[str] = field(default_factory=list)
    failed: dict = field(default_factory=dict)


@dataclass
class Introduction:
    """A stage where the port introduces a difference (or, in --isolate-all, one that diverges when
    fed the reference's inputs), with its comparison and diagnosis in the run that found it."""

    stage: str
    run: int
    result: StageResult
    capture: str = ""                       # "probe.toml:40 (capture 9)"
    injected_after: bool = False            # the reference was injected there in later runs
    why_not_injected: str = ""
    group: str = ""                         # the capture's stage pattern: repeated introductions group by it


@dataclass
class HuntResult:
    subject: str                             # the probe (port) hunted
    input: str
    reference: str                           # what the reference is (a dump, or pyparity's port of ...)
    runs: list[HuntRun] = field(default_factory=list)
    introduced: list[Introduction] = field(default_factory=list)
    inherited: dict[str, str] = field(default_factory=dict)     # stage -> the introduction that cured it
    remaining: list[StageResult] = field(default_factory=list)  # still failing at the end
    isolated: list[Introduction] = field(default_factory=list)  # --isolate-all: each stage on its own
    isolated_run: HuntRun | None = None
    end: str = SINGLE
    end_detail: str = ""
    not_reached: list[str] = field(default_factory=list)        # declared stages the port never reached
    only_port: list[str] = field(default_factory=list)          # stages only the port recorded (last run)

    @property
    def first(self) -> HuntRun:
        return self.runs[0]

    @property
    def first_divergence(self) -> str | None:
        return self.first.report.first_divergence if self.runs else None

    @property
    def ok(self) -> bool:
        return self.end == PARITY

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def groups(self) -> list[tuple[str, list[Introduction]]]:
        """Introductions grouped by capture (a difference the port repeats at every call is one cause)."""
        out: dict[str, list[Introduction]] = {}
        for i in self.introduced:
            out.setdefault(i.group or i.stage, []).append(i)
        return list(out.items())

    def verdict(self) -> str:
        if self.end == PARITY:
            v = self.first.report.verdict()
            return v if v.startswith("PARITY") else f"PARITY: {v}"
        if self.end == NOTHING:
            return f"NOTHING COMPARED: {self.first.report.nothing_compared}"
        head = f"{len(self.introduced)} introducing stage(s) in {len(self.runs)} run(s)"
        if self.end == SINGLE:
            return f"FIRST DIVERGENCE {self.first_divergence}"
        tail = ENDINGS[self.end]
        if self.end_detail:
            tail += f" ({self.end_detail})"
        if self.remaining and self.end != MATCHED:
            r = self.remaining[0]
            tail += f"; remaining difference: {r.name} ({r.status}" + (
                f", max abs {r.max_abs:.3g})" if r.max_abs is not None else ")")
        return f"{head}; {tail}"
