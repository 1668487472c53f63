"""The corpus spec: a small TOML file listing what the gate runs and what each run is compared with. The
gate reads it (`pyparity.gate.corpus.load_corpus`, which also checks that every pipeline is registered and
every golden name is valid), and so does a corpus hunt, which needs only the inputs and their references.

```toml
[corpus]
name = "openface-samples"
pipeline = "mtcnn"                   # registered name or module:function
policy = "mtcnn"                     # built-in policy name, or a TOML path (with a / or .toml; relative to this file)
goldens = "../goldens"               # golden root, relative to this file
golden_stages = ["mtcnn/output/*"]   # stages kept in goldens (globs); default: all
[vars]
shared = "${PYPARITY_SHARED:-../../shared}"   # ${ENV} / ${ENV:-default}; relative paths are from this file
[[case]]
name = "sample1"                     # unique; default golden name is "<pipeline>/<name>"
input = "${shared}/openface/samples/sample1.jpg"
reference = "${shared}/reference_dumps/openface-2.0.2/images/sample1.jpg"   # optional
# golden, pipeline, policy, golden_stages may be set per case too
```
Every problem is reported as one line naming the spec file and the case.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Callable

from pydantic import BeforeValidator, StringConstraints

from pyparity.errors import InputError
from pyparity.tomlfile import Strict, read_toml, validate

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class Case:
    name: str
    input: Path
    pipeline: str
    golden: str
    reference: Path | None = None
    policy: str | None = None           # built-in name or absolute path
    golden_policy: str | None = None
    golden_stages: list[str] = field(default_factory=list)


@dataclass
class Corpus:
    path: Path
    name: str
    goldens: Path
    cases: list[Case]


def _expand(value: str, vars_: dict[str, str], where: str) -> str:
    def sub(m: re.Match) -> str:
        key, default = m.group(1), m.group(2)
        if key in os.environ and os.environ[key]:
            return os.environ[key]
        if key in vars_:
            return vars_[key]
        if default is not None:
            return default
        raise InputError(f"{where}: ${{{key}}} is not set (no environment variable, no [vars] entry, no default)")

    for _ in range(5):  # vars may refer to vars
        new = _VAR.sub(sub, value)
        if new == value:
            break
        value = new
    return value


def _path(value, vars_: dict[str, str], base: Path, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: expected a path string, got {value!r}")
    p = Path(os.path.expanduser(_expand(value, vars_, where)))
    return (p if p.is_absolute() else base / p).resolve()


def _policy_ref(value, vars_, base: Path, where: str) -> str | None:
    """A built-in name, or an absolute path (relative paths are from the spec file), checked now."""
    from pyparity.diff.policy_names import policy_reference
    from pyparity.errors import PolicyError

    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: policy must be a built-in name or a path")
    try:
        return policy_reference(_expand(value, vars_, where), base)
    except PolicyError as exc:
        raise InputError(f"{where}: {exc}") from None


NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class _CorpusTable(Strict):
    name: str | None = None
    description: str = ""
    pipeline: NonEmpty | None = None
    policy: NonEmpty | None = None
    golden_policy: NonEmpty | None = None
    goldens: NonEmpty = "goldens"
    golden_stages: Annotated[list[NonEmpty], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)] = []


class _CaseTable(Strict):
    name: NonEmpty | None = None
    input: NonEmpty
    reference: NonEmpty | None = None
    golden: NonEmpty | None = None
    pipeline: NonEmpty | None = None
    policy: NonEmpty | None = None
    golden_policy: NonEmpty | None = None
    golden_stages: Annotated[list[NonEmpty], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)] = []


class CorpusFile(Strict):
    """The corpus spec's schema (module docstring); paths and ${VARS} are resolved by `read_corpus_spec`."""

    MESSAGES = {"corpus": "[corpus] must be a table", "vars.**": "[vars]: values must be strings",
                "case": "no [[case]] entries", "case.*": "case {i}: must be a table",
                "case.*.input": 'needs input = "path"',
                "case.*.golden_stages.**": "case {i}: golden_stages must be a list of globs",
                "corpus.golden_stages.**": "[corpus]: golden_stages must be a list of globs"}
    TOP_LEVEL = "[corpus], [vars], [[case]]"
    corpus: _CorpusTable = _CorpusTable()
    vars: dict[str, str] = {}
    case: list[_CaseTable] = []


def read_corpus_spec(path: str | os.PathLike, check_files: bool = True,
                     check_case: Callable[[Case, Path], None] | None = None) -> Corpus:
    """Parse and validate a corpus spec; with ``check_files``, every input and reference must exist.
    ``check_case(case, goldens)`` runs on each case as it is read, and raises `InputError` for a case its
    reader cannot run (the message is prefixed with the case)."""
    spec = Path(path)
    f = validate(CorpusFile, read_toml(spec, "corpus spec", InputError), str(spec), InputError)
    base = spec.resolve().parent
    if not f.case:
        raise InputError(f"{spec}: no [[case]] entries")
    vars_: dict[str, str] = {}
    for k, v in f.vars.items():
        val = _expand(v, vars_, f"{spec} [vars] {k}")
        # a relative root is relative to the spec file, like every other path in it
        if val and ("/" in val or val.startswith(".")) and not Path(val).is_absolute():
            val = str((base / val).resolve())
        vars_[k] = val
    top = f.corpus
    where0 = f"{spec} [corpus]"
    d_policy = _policy_ref(top.policy, vars_, base, where0)
    d_gpolicy = _policy_ref(top.golden_policy, vars_, base, where0)
    goldens = _path(top.goldens, vars_, base, where0)
    cases: list[Case] = []
    seen: set[str] = set()
    for i, c in enumerate(f.case, start=1):
        where = f"{spec} case {i}" + (f" ({c.name})" if c.name else "")
        inp = _path(c.input, vars_, base, where)
        name = c.name or inp.stem
        if name in seen:
            raise InputError(f"{where}: duplicate case name {name!r}")
        seen.add(name)
        pipeline = c.pipeline or top.pipeline
        if not pipeline:
            raise InputError(f"{where}: no pipeline (set pipeline in [corpus] or in the case)")
        ref = _path(c.reference, vars_, base, where) if c.reference is not None else None
        if check_files:
            if not inp.is_file():
                raise InputError(f"{where}: input {inp} does not exist")
            if ref is not None and not (ref / "index.tsv").is_file():
                raise InputError(f"{where}: reference {ref} is not a trace / reference dump directory")
        case = Case(
            name=name, input=inp, pipeline=pipeline, golden=c.golden or f"{pipeline.replace(':', '.')}/{name}",
            reference=ref, policy=_policy_ref(c.policy, vars_, base, where) or d_policy,
            golden_policy=_policy_ref(c.golden_policy, vars_, base, where) or d_gpolicy,
            golden_stages=list(c.golden_stages) or list(top.golden_stages),
        )
        if check_case is not None:
            try:
                check_case(case, goldens)
            except InputError as exc:
                raise InputError(f"{where}: {exc}") from None
        cases.append(case)
    return Corpus(spec, top.name or spec.stem, goldens, cases)
