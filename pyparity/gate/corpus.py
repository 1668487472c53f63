"""The gate's reading of a corpus spec (`pyparity.corpus_spec`): every case's pipeline must be registered
(or importable as ``module:function``) and its golden name valid, checked as the spec is read, before
anything runs."""

from __future__ import annotations

import os
from pathlib import Path

from pyparity.corpus_spec import Case, Corpus, read_corpus_spec


def _gate_can_run(case: Case, goldens: Path) -> None:
    from pyparity.gate.goldens import golden_dir
    from pyparity.gate.pipelines import entry

    entry(case.pipeline)  # unknown names fail here
    golden_dir(goldens, case.golden)  # validates the name


def load_corpus(path: str | os.PathLike, check_files: bool = True) -> Corpus:
    """The corpus spec at ``path`` (`read_corpus_spec`), each case checked for the gate."""
    return read_corpus_spec(path, check_files=check_files, check_case=_gate_can_run)
