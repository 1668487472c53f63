"""`run_hunt`: what ``pyparity hunt`` does, for any front-end: resolve the probe, the reference and the
policy, hunt one image, a sequence (an image folder or a video) or a corpus (a corpus spec or a folder
of independent images), and return the outcome as data (renderers present it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pyparity.errors import InputError, UsageError
from pyparity.hunt.chain import HuntResult
from pyparity.hunt.references import Reference, ReferenceOptions, parse_reference
from pyparity.hunt.summary import Summary, frame_items, item_of

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".wmv", ".mpg", ".mpeg")


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


def input_kind(path: Path) -> str:
    p = Path(path)
    if p.is_dir():
        return "sequence"
    if p.suffix.lower() in VIDEO_EXTENSIONS:
        return "sequence"
    return "image"


def _policy(probe, text: str | None):
    from pyparity.diff.policy_names import resolve_policy

    return resolve_policy(text if text is not None else probe.policy)  # the probe's: honest about its port


def output_stages(probe) -> list[str]:
    """The port's result stages (its ``$call`` captures): what the summary reports per input."""
    return [c.stage for c in probe.captures if c.target == "$call"]


def run_hunt(probe_name: str, input_path: Path | None, reference: str | None, options: HuntOptions,
             corpus: Path | None = None, on_item=None, executor=None) -> HuntOutcome:
    """Hunt ``probe_name``'s port on ``input_path`` (an image, an image folder or a video) or on every
    input of ``corpus``, against ``reference`` (a dump or ``pyparity:PIPELINE``). ``on_item(line)``
    receives one line per frame or input as it finishes. ``executor``: where a corpus's inputs are hunted
    (`pyparity.gate.executors`; default: one after another in this process)."""
    from pyparity.probe import load_probe

    probe = load_probe(probe_name)
    if options.max_runs < 1:
        raise UsageError("--max-runs must be at least 1")
    if corpus is not None:
        if input_path is not None:
            raise UsageError("give an INPUT or --corpus, not both")
        from pyparity.hunt.corpus import hunt_corpus

        return hunt_corpus(probe_name, Path(corpus), reference, options, on_item=on_item, executor=executor)
    if input_path is None:
        raise UsageError("give an INPUT (an image, an image folder or a video) or --corpus SPEC|DIR")
    if reference is None:
        raise UsageError("--reference is needed: a reference dump, or pyparity:PIPELINE "
                         "(mtcnn, openface-image, clnf, openface-sequence)")
    ref = parse_reference(reference, options.reference)
    input_path = Path(input_path)
    if not input_path.exists():
        raise InputError(f"{input_path}: no such image, folder or video")
    if input_kind(input_path) == "sequence":
        return _sequence(probe, input_path, ref, options, on_item)
    if options.max_frames is not None:
        raise UsageError("--max-frames is for a sequence (an image folder or a video)")
    result = hunt_image(probe, input_path, ref, options, out=options.out)
    return HuntOutcome("image", probe.name, ref.label, result=result)


def hunt_image(probe, input_path: Path, ref: Reference, options: HuntOptions,
               out: Path | None = None) -> HuntResult:
    """One image hunted (the first run's stage globs must all match)."""
    from pyparity.hunt.isolate import hunt
    from pyparity.hunt.probe_subject import ProbeSubject

    trace = ref.for_image(input_path)
    subject = ProbeSubject(probe, input_path, trace, policy=_policy(probe, options.policy),
                           stages=list(options.stages) if options.stages else None, model_dir=options.model_dir,
                           shared_dir=options.shared_dir, reference_label=ref.label, out=out)
    result = hunt(subject, isolate=options.isolate, isolate_all=options.isolate_all, max_runs=options.max_runs)
    result.first.report.require_every_stage_glob()
    return result


def _sequence(probe, source: Path, ref: Reference, options: HuntOptions, on_item) -> HuntOutcome:
    from pyparity.hunt.frames import FramesSubject, load_frames
    from pyparity.hunt.isolate import hunt

    if options.out is not None:
        raise UsageError("--out keeps one trace: not for a sequence")
    frames = load_frames(source, options.max_frames)
    refs = ref.for_frames(frames)
    if not any(r is not None for r in refs):
        raise InputError(f"{ref.text}: no reference frame for any of the {len(frames)} frame(s) of {source} "
                         "(expected frame0000/, ... or one dump per file name)")
    subject = FramesSubject(probe, source, frames, refs, policy=_policy(probe, options.policy),
                            stages=list(options.stages) if options.stages else None, model_dir=options.model_dir,
                            shared_dir=options.shared_dir, reference_label=ref.label)
    result = hunt(subject, isolate=options.isolate, isolate_all=options.isolate_all, max_runs=options.max_runs)
    summary = Summary(items=frame_items(subject.first_frames, result, output_stages(probe)), reference=ref.label,
                      subject=probe.name, unit="frames")
    if on_item is not None:
        for it in summary.items:
            on_item(item_line(it))
    return HuntOutcome("sequence", probe.name, ref.label, result=result, summary=summary)


def item_line(it) -> str:
    out = f"{it.name}" + (f" {it.input}" if it.input and it.input != it.name else "") + f": {it.status}"
    if it.first_divergence:
        out += f", first divergence {it.first_divergence}"
    if it.output_max_abs is not None and it.status == "diverged":
        out += f", {it.output_stage} max abs {it.output_max_abs:.3g}"
    if it.error:
        out += f" ({it.error})"
    return out


def corpus_inputs(corpus: Path, reference: str | None, options: HuntOptions) -> list[tuple[str, Path, Reference]]:
    """``(name, input, reference)`` per case: a corpus spec's cases (their own reference dumps unless
    ``--reference pyparity:...`` is given), or every image of a folder (``--reference``: a folder of
    per-image dumps named after the files, or ``pyparity:...``)."""
    from pyparity.pipelines.openface.sequence import IMAGE_EXTENSIONS

    forced = parse_reference(reference, options.reference) if reference is not None else None
    if corpus.is_dir():
        if forced is None:
            raise UsageError("--corpus DIR needs --reference: a folder of dumps named after the images, "
                             "or pyparity:PIPELINE")
        files = sorted(p for p in corpus.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise InputError(f"{corpus}: no images (.jpg, .jpeg, .png, .bmp) in this folder")
        out = []
        for f in files:
            if forced.path is not None:
                d = forced.path / f.name
                out.append((f.name, f, Reference(str(d), path=d) if (d / "index.tsv").is_file() else None))
            else:
                out.append((f.name, f, forced))
        return out
    if not corpus.is_file():
        raise InputError(f"{corpus}: no such corpus spec or folder")
    from pyparity.gate.corpus import load_corpus

    spec = load_corpus(corpus)
    out = []
    for case in spec.cases:
        if forced is not None and forced.pipeline is not None:
            out.append((case.name, case.input, forced))
        elif case.reference is not None:
            out.append((case.name, case.input, Reference(str(case.reference), path=case.reference)))
        else:
            out.append((case.name, case.input, forced))
    return out
