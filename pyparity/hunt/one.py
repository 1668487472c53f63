"""What every hunt shares: its options, its outcome, and one image hunted (`hunt_image`), which a corpus
hunt runs on whichever worker its executor picks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pyparity.hunt.chain import HuntResult
from pyparity.hunt.references import Reference, ReferenceOptions
from pyparity.hunt.summary import Summary


@dataclass(frozen=True)
class HuntOptions:
    """``isolate``: hunt past the first divergence; ``isolate_all``: also feed every stage the
    reference's inputs at once; ``max_runs``: runs of the port per input, at most."""

    isolate: bool = False
    isolate_all: bool = False
    max_runs: int = 20
    policy: str | None = None
    stages: tuple[str, ...] | None = None
    model_dir: Path | None = None
    out: Path | None = None
    max_frames: int | None = None
    shared_dir: Path | None = None              # --shared: the probe's ``$shared`` (else $PYPARITY_SHARED)
    reference: ReferenceOptions = field(default_factory=ReferenceOptions)


@dataclass
class HuntOutcome:
    """One image: ``result``. A sequence: ``result`` (frame-numbered stages) and ``summary`` (per frame).
    A corpus: ``results`` per input and ``summary``."""

    kind: str                                        # image | sequence | corpus
    probe: str
    reference: str
    result: HuntResult | None = None
    summary: Summary | None = None
    results: list[tuple[str, HuntResult]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.summary is not None and self.kind == "corpus":
            return 0 if self.summary.ok else 1
        return self.result.exit_code if self.result is not None else 1

    @property
    def nothing_compared(self) -> str:
        if self.kind == "corpus":
            return self.summary.nothing_compared
        rep = self.result.first.report
        return rep.nothing_compared


def probe_policy(probe, text: str | None):
    from pyparity.diff.policy_names import resolve_policy

    return resolve_policy(text if text is not None else probe.policy)  # the probe's: honest about its port


def output_stages(probe) -> list[str]:
    """The port's result stages (its ``$call`` captures): what the summary reports per input."""
    return [c.stage for c in probe.captures if c.target == "$call"]


def hunt_image(probe, input_path: Path, ref: Reference, options: HuntOptions,
               out: Path | None = None) -> HuntResult:
    """One image hunted (the first run's stage globs must all match)."""
    from pyparity.hunt.isolate import hunt
    from pyparity.hunt.probe_subject import ProbeSubject

    trace = ref.for_image(input_path)
    subject = ProbeSubject(probe, input_path, trace, policy=probe_policy(probe, options.policy),
                           stages=list(options.stages) if options.stages else None, model_dir=options.model_dir,
                           shared_dir=options.shared_dir, reference_label=ref.label, out=out)
    result = hunt(subject, isolate=options.isolate, isolate_all=options.isolate_all, max_runs=options.max_runs)
    result.first.report.require_every_stage_glob()
    return result


def item_line(it) -> str:
    out = f"{it.name}" + (f" {it.input}" if it.input and it.input != it.name else "") + f": {it.status}"
    if it.first_divergence:
        out += f", first divergence {it.first_divergence}"
    if it.output_max_abs is not None and it.status == "diverged":
        out += f", {it.output_stage} max abs {it.output_max_abs:.3g}"
    if it.error:
        out += f" ({it.error})"
    return out
