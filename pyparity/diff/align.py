"""Aligning two traces by stage name, with an optional mapping file.

A mapping file (TOML) renames B's stages into A's names or ignores stages::

    strip_prefix_a = "face00/"          # e.g. tracking dumps nest stages under face00/
    strip_prefix_b = ""
    ignore = ["**/crops"]               # stages left out of the comparison (either side)
    [rename]                            # B's name = A's name
    "port/pnet/prob_0" = "mtcnn/pnet/s00/prob"
    [[rename_regex]]                    # applied to B's names, in order, after [rename]
    pattern = "^port/(.*)$"
    replace = "mtcnn/\\1"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pyparity.errors import PolicyError
from pyparity.trace.trace import glob_match


@dataclass
class Mapping:
    rename: dict[str, str] = field(default_factory=dict)
    rename_regex: list[tuple[re.Pattern, str]] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    strip_prefix_a: str = ""
    strip_prefix_b: str = ""

    def b_to_a(self, name_b: str) -> str:
        n = name_b[len(self.strip_prefix_b):] if self.strip_prefix_b and name_b.startswith(self.strip_prefix_b) else name_b
        if n in self.rename:
            return self.rename[n]
        for rx, rep in self.rename_regex:
            if rx.search(n):
                try:  # the replacement is checked at load; this guards mappings built in code
                    return rx.sub(rep, n)
                except (re.error, IndexError) as exc:
                    raise PolicyError(f"rename_regex {rx.pattern!r} -> {rep!r}: {exc}") from None
        return n

    def a_name(self, name_a: str) -> str:
        if self.strip_prefix_a and name_a.startswith(self.strip_prefix_a):
            return name_a[len(self.strip_prefix_a):]
        return name_a

    def ignored(self, name: str) -> bool:
        return any(glob_match(name, p) for p in self.ignore)


def load_mapping(path: str | Path | None) -> Mapping:
    """The mapping file at ``path`` (None: names as they are); `PolicyError`, one line, if it is not one."""
    if path is None:
        return Mapping()
    from pyparity.diff.mapping_file import read_mapping_file  # pydantic: only when a mapping file is given

    f = read_mapping_file(Path(path))
    return Mapping(rename=dict(f.rename), rename_regex=[(re.compile(r.pattern), r.replace) for r in f.rename_regex],
                   ignore=list(f.ignore), strip_prefix_a=f.strip_prefix_a, strip_prefix_b=f.strip_prefix_b)


@dataclass
class AlignedStage:
    name: str                 # the stage's name in A's terms
    name_a: str | None        # the name in trace A (None: only in B)
    name_b: str | None        # the name in trace B (None: only in A)


def align(names_a: list[str], names_b: list[str], mapping: Mapping) -> list[AlignedStage]:
    """Pairs in A's recording order; B-only stages are placed after the B stage that precedes them."""
    a_by_name = {}
    for n in names_a:
        key = mapping.a_name(n)
        if not mapping.ignored(key):
            a_by_name[key] = n
    b_by_name = {}
    for n in names_b:
        key = mapping.b_to_a(n)
        if not mapping.ignored(key) and key not in b_by_name:
            b_by_name[key] = n
    out: list[AlignedStage] = [AlignedStage(k, na, b_by_name.get(k)) for k, na in a_by_name.items()]
    pos = {s.name: i for i, s in enumerate(out)}
    # Insert B-only stages after the closest preceding B stage that is aligned.
    inserts: dict[int, list[AlignedStage]] = {}
    last = -1
    for n in names_b:
        key = mapping.b_to_a(n)
        if mapping.ignored(key) or b_by_name.get(key) != n:
            continue
        if key in pos:
            last = pos[key]
        else:
            inserts.setdefault(last, []).append(AlignedStage(key, None, n))
    result: list[AlignedStage] = list(inserts.get(-1, []))
    for i, s in enumerate(out):
        result.append(s)
        result.extend(inserts.get(i, []))
    return result
