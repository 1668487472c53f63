"""A hunt over a corpus on any executor (`pyparity.executors`: this process, local worker
processes, Dask): each input is hunted where the executor puts it and comes back as a `CaseHunt` (its
summary `Item` and its `HuntResult`: reports, never traces); the coordinator puts them back in corpus order
and sums them up, so the summary and the reports are the same whichever executor ran the cases."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

from pyparity.errors import InputError, PyparityError, UsageError
from pyparity.hunt.chain import HuntResult
from pyparity.hunt.references import Reference, parse_reference
from pyparity.hunt.summary import Item, Summary, item_of


@dataclass(frozen=True)
class CorpusCase:
    """One input of the corpus, numbered in corpus order; ``reference`` None: the case has none."""

    index: int
    name: str
    input: Path
    reference: Reference | None


@dataclass
class CaseHunt:
    """What a worker sends back for one case: small and picklable."""

    index: int
    item: Item
    result: HuntResult | None = None


# A probe records (and injects) by patching the port's functions in its process: two cases hunted at once
# on one worker's threads (a Dask worker with several threads) would record each other's calls.
_one_probe_at_a_time = threading.Lock()


@functools.lru_cache(maxsize=8)
def _probe(probe_name: str):
    from pyparity.probe import load_probe

    return load_probe(probe_name)  # once per worker process, not per case


def hunt_case(probe_name: str, options, case: CorpusCase) -> CaseHunt:
    """Hunt one case (on a worker): a hunt's `PyparityError` is the case's error, not the corpus's."""
    from pyparity.hunt.one import hunt_image, output_stages

    name, path = case.name, str(case.input)
    if case.reference is None:
        return CaseHunt(case.index, Item(name=name, input=path, status="no-reference"))
    try:
        with _one_probe_at_a_time:
            probe = _probe(probe_name)
            result = hunt_image(probe, case.input, case.reference, options)
    except PyparityError as exc:
        return CaseHunt(case.index, Item(name=name, input=path, status="error", error=str(exc)))
    return CaseHunt(case.index, item_of(name, path, result, output_stages(probe)), result)


def _worker_failed(case: CorpusCase, exc: BaseException) -> CaseHunt:
    why = str(exc).strip() or type(exc).__name__
    return CaseHunt(case.index, Item(name=case.name, input=str(case.input), status="error",
                                     error=f"the worker running it failed: {why}"))


def _portable(probe_name: str) -> str:
    """A probe file as an absolute path (workers may run elsewhere); a shipped probe's name as it is."""
    p = Path(probe_name)
    return str(p.resolve()) if p.suffix == ".toml" and p.is_file() else probe_name


def hunt_corpus(probe_name: str, corpus: Path, reference: str | None, options, on_item=None, executor=None):
    """`HuntOutcome` of every input of ``corpus`` (a spec or an image folder) run on ``executor`` (an
    executor, or a function of the number of cases that makes one; default: here, one after another);
    ``on_item(line)`` as each input finishes (completion order); the summary
    and the per-input results in corpus order."""
    from pyparity.executors import InProcess
    from pyparity.hunt.one import HuntOutcome, item_line
    from pyparity.probe import load_probe

    if options.out is not None:
        raise UsageError("--out keeps one trace: not for a corpus")
    probe = load_probe(probe_name)
    cases = [CorpusCase(i, name, Path(path), ref)
             for i, (name, path, ref) in enumerate(corpus_inputs(corpus, reference, options))]
    first = cases[0].reference if cases else None
    label = first.label if first is not None and first.pipeline else (
        reference or f"the reference dumps of {corpus}")
    fn = functools.partial(hunt_case, _portable(probe_name), options)
    if executor is None:
        executor = InProcess()
    elif not hasattr(executor, "map"):
        executor = executor(len(cases))
    done: dict[int, CaseHunt] = {}
    for got in executor.map(fn, cases, on_error=_worker_failed):
        done[got.index] = got
        if on_item is not None:
            on_item(item_line(got.item))
    ordered = [done[c.index] for c in cases]
    return HuntOutcome("corpus", probe.name, label, summary=Summary(items=[h.item for h in ordered], reference=label,
                                                                   subject=probe.name),
                       results=[(h.item.name, h.result) for h in ordered if h.result is not None])


def corpus_inputs(corpus: Path, reference: str | None, options) -> list[tuple[str, Path, Reference]]:
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
    from pyparity.corpus_spec import read_corpus_spec

    spec = read_corpus_spec(corpus)  # a hunt runs the probe, not the spec's pipelines or goldens
    out = []
    for case in spec.cases:
        if forced is not None and forced.pipeline is not None:
            out.append((case.name, case.input, forced))
        elif case.reference is not None:
            out.append((case.name, case.input, Reference(str(case.reference), path=case.reference)))
        else:
            out.append((case.name, case.input, forced))
    return out
