"""The corpus spec: a small TOML file listing what the gate runs and what each run is compared with.

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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pyparity.errors import InputError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_CORPUS_KEYS = {"name", "pipeline", "policy", "goldens", "golden_stages", "golden_policy", "description"}
_CASE_KEYS = {"name", "input", "reference", "golden", "pipeline", "policy", "golden_stages", "golden_policy"}


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


def _globs(value, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InputError(f"{where}: golden_stages must be a list of globs")
    return list(value)


def load_corpus(path: str | os.PathLike, check_files: bool = True) -> Corpus:
    """Parse and validate a corpus spec; with ``check_files``, every input and reference must exist."""
    from pyparity.gate.pipelines import entry

    spec = Path(path)
    try:
        data = tomllib.loads(spec.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{spec}: not UTF-8 text (byte {exc.start}); a corpus spec is TOML in UTF-8") from None
    except OSError as exc:
        raise InputError(f"{spec}: cannot read corpus spec ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{spec}: not valid TOML ({exc})") from None
    base = spec.resolve().parent
    unknown = set(data) - {"corpus", "vars", "case"}
    if unknown:
        raise InputError(f"{spec}: unknown section(s) {', '.join(sorted(unknown))} (expected [corpus], [vars], [[case]])")
    top = data.get("corpus", {})
    if not isinstance(top, dict):
        raise InputError(f"{spec}: [corpus] must be a table")
    bad = set(top) - _CORPUS_KEYS
    if bad:
        raise InputError(f"{spec} [corpus]: unknown key(s) {', '.join(sorted(bad))}")
    raw_vars = data.get("vars", {})
    if not isinstance(raw_vars, dict) or not all(isinstance(v, str) for v in raw_vars.values()):
        raise InputError(f"{spec} [vars]: values must be strings")
    vars_: dict[str, str] = {}
    for k, v in raw_vars.items():
        val = _expand(v, vars_, f"{spec} [vars] {k}")
        # a relative root is relative to the spec file, like every other path in it
        if val and ("/" in val or val.startswith(".")) and not Path(val).is_absolute():
            val = str((base / val).resolve())
        vars_[k] = val
    where0 = f"{spec} [corpus]"
    d_pipeline = top.get("pipeline")
    d_policy = _policy_ref(top.get("policy"), vars_, base, where0)
    d_gpolicy = _policy_ref(top.get("golden_policy"), vars_, base, where0)
    d_stages = _globs(top.get("golden_stages"), where0)
    goldens = _path(top.get("goldens", "goldens"), vars_, base, where0)
    raw_cases = data.get("case", [])
    if not isinstance(raw_cases, list) or not raw_cases:
        raise InputError(f"{spec}: no [[case]] entries")
    cases: list[Case] = []
    seen: set[str] = set()
    for i, c in enumerate(raw_cases, start=1):
        if not isinstance(c, dict):
            raise InputError(f"{spec} case {i}: must be a table")
        name = c.get("name")
        where = f"{spec} case {i}" + (f" ({name})" if name else "")
        bad = set(c) - _CASE_KEYS
        if bad:
            raise InputError(f"{where}: unknown key(s) {', '.join(sorted(bad))}")
        if "input" not in c:
            raise InputError(f"{where}: needs input = \"path\"")
        inp = _path(c["input"], vars_, base, where)
        name = name or inp.stem
        if not isinstance(name, str):
            raise InputError(f"{where}: name must be a string")
        if name in seen:
            raise InputError(f"{where}: duplicate case name {name!r}")
        seen.add(name)
        pipeline = c.get("pipeline", d_pipeline)
        if not isinstance(pipeline, str) or not pipeline:
            raise InputError(f"{where}: no pipeline (set pipeline in [corpus] or in the case)")
        try:
            entry(pipeline)  # unknown names fail here, before anything runs
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        ref = _path(c["reference"], vars_, base, where) if c.get("reference") is not None else None
        if check_files:
            if not inp.is_file():
                raise InputError(f"{where}: input {inp} does not exist")
            if ref is not None and not (ref / "index.tsv").is_file():
                raise InputError(f"{where}: reference {ref} is not a trace / reference dump directory")
        golden = c.get("golden", f"{pipeline.replace(':', '.')}/{name}")
        from pyparity.gate.goldens import golden_dir

        golden_dir(goldens, golden)  # validates the name
        cases.append(Case(
            name=name, input=inp, pipeline=pipeline, golden=golden, reference=ref,
            policy=_policy_ref(c.get("policy"), vars_, base, where) or d_policy,
            golden_policy=_policy_ref(c.get("golden_policy"), vars_, base, where) or d_gpolicy,
            golden_stages=_globs(c.get("golden_stages"), where) or d_stages,
        ))
    return Corpus(spec, str(top.get("name", spec.stem)), goldens, cases)

