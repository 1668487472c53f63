"""`run_hunt`: what ``pyparity hunt`` does, for any front-end: resolve the probe, the reference and the
policy, hunt one image, a sequence (an image folder or a video) or a corpus (a corpus spec or a folder
of independent images), and return the outcome as data (renderers present it)."""

from __future__ import annotations

from pathlib import Path

from pyparity.errors import InputError, UsageError
from pyparity.hunt.one import (HuntOptions, HuntOutcome, hunt_image, item_line, output_stages,
                               probe_policy)
from pyparity.hunt.references import Reference, parse_reference
from pyparity.hunt.summary import Summary, frame_items
from pyparity.imageio import VIDEO_SUFFIXES

__all__ = ["run_hunt", "input_kind"]


def input_kind(path: Path) -> str:
    p = Path(path)
    if p.is_dir():
        return "sequence"
    if p.suffix.lower() in VIDEO_SUFFIXES:
        return "sequence"
    return "image"


def run_hunt(probe_name: str, input_path: Path | None, reference: str | None, options: HuntOptions,
             corpus: Path | None = None, on_item=None, executor=None) -> HuntOutcome:
    """Hunt ``probe_name``'s port on ``input_path`` (an image, an image folder or a video) or on every
    input of ``corpus``, against ``reference`` (a dump or ``pyparity:PIPELINE``). ``on_item(line)``
    receives one line per frame or input as it finishes. ``executor``: where a corpus's inputs are hunted
    (`pyparity.executors`; default: one after another in this process)."""
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
    subject = FramesSubject(probe, source, frames, refs, policy=probe_policy(probe, options.policy),
                            stages=list(options.stages) if options.stages else None, model_dir=options.model_dir,
                            shared_dir=options.shared_dir, reference_label=ref.label)
    result = hunt(subject, isolate=options.isolate, isolate_all=options.isolate_all, max_runs=options.max_runs)
    summary = Summary(items=frame_items(subject.first_frames, result, output_stages(probe)), reference=ref.label,
                      subject=probe.name, unit="frames")
    if on_item is not None:
        for it in summary.items:
            on_item(item_line(it))
    return HuntOutcome("sequence", probe.name, ref.label, result=result, summary=summary)
