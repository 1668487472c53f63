"""Stage declarations: every stage name pattern a module records, declared once next to the code that
records it, with the reference's counterpart (a C++ function of OpenFace, an upstream Python function).

A recording module declares its stages at import::

    STAGES = declare(__name__,
        Stage("mtcnn/pnet/s*/prob", "run_scale", "FaceDetectorMTCNN.cpp: FaceDetectorMTCNN::DetectFaces",
              "face probability per PNet cell"),
    )

Patterns are stage-name globs (``*`` inside a component, ``**`` across). `pyparity.app.stages` loads
every declaration (``pyparity stages GLOB``, the report's link from the first divergence to its code).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import lru_cache

#: module name -> its declarations, filled as recording modules are imported
DECLARED: dict[str, tuple["Stage", ...]] = {}


@dataclass(frozen=True)
class Stage:
    """One recorded stage name pattern: who records it here and what computes it in the reference.

    pattern: a stage-name glob (``mtcnn/pnet/s*/prob``, ``fit/s*/*rigid/it*/jacobian``), under each of the
    module's ``prefixes`` (`declare`). function: the function of ``module`` that records it.
    reference: its counterpart in the reference (``FILE: FUNCTION``). about: what the stage holds.
    """

    pattern: str
    function: str
    reference: str = ""
    about: str = ""
    module: str = ""
    prefixes: tuple[str, ...] | None = None   # None: the module's (`declare`)

    @property
    def globs(self) -> tuple[str, ...]:
        """The full name patterns: the pattern under every prefix."""
        return tuple(p + self.pattern for p in (self.prefixes if self.prefixes is not None else ("",)))

    def matches(self, name: str) -> bool:
        from pyparity.trace.trace import glob_match

        name = base_name(name)
        return any(glob_match(name, g) for g in self.globs)

    def overlapping(self, glob: str) -> tuple[str, ...]:
        """The full patterns some stage name matching ``glob`` could also match."""
        return tuple(g for g in self.globs if globs_overlap(g, glob))


def declare(module: str, *stages: Stage, prefixes: tuple[str, ...] = ("",)) -> tuple[Stage, ...]:
    """Register ``stages`` as recorded by ``module`` (pass ``__name__``); returns them. ``prefixes``: the
    scopes the module's stages are recorded under (a CLNF fit runs under ``face*/clnf/h*/``, under
    ``face*/`` when tracking, under each part model, ...): each pattern holds under each of them."""
    out = tuple(Stage(s.pattern, s.function, s.reference, s.about, module,
                      tuple(s.prefixes if s.prefixes is not None else prefixes)) for s in stages)
    DECLARED[module] = out
    return out


def base_name(name: str) -> str:
    """A stage name without the ``__N`` a recorder adds to a name saved twice."""
    return re.sub(r"__\d+$", "", name)


# --- do two globs share a name? --------------------------------------------------------------------
_STAR, _GLOBSTAR, _ANY = "*", "**", "?"


def _tokens(pattern: str) -> tuple:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(_GLOBSTAR)
            i += 2
        elif pattern[i] in "*?":
            out.append(pattern[i])
            i += 1
        elif pattern[i] == "[" and pattern.find("]", i) > 0:
            j = pattern.find("]", i)
            out.append(("class", pattern[i:j + 1]))
            i = j + 1
        else:
            out.append(("lit", pattern[i]))
            i += 1
    return tuple(out)


def _expansions(pattern: str) -> list[str]:
    """``**/`` is "no component, or any components": both spellings, as plain patterns."""
    k = pattern.find("**/")
    if k < 0:
        return [pattern]
    rest = _expansions(pattern[k + 3:])
    return [pattern[:k] + r for r in rest] + [pattern[:k] + "**/" + r for r in rest]


def _char_ok(tok, c: str) -> bool:
    if tok == _ANY:
        return c != "/"
    if tok[0] == "lit":
        return tok[1] == c
    return c != "/" and fnmatch.fnmatchcase(c, tok[1])


def _single(a, b) -> bool:
    """Two one-character tokens can match the same character."""
    if isinstance(a, tuple) and a[0] == "lit":
        return _char_ok(b, a[1])
    if isinstance(b, tuple) and b[0] == "lit":
        return _char_ok(a, b[1])
    return True  # ?, [..] against ?, [..]: some non-slash character fits both (close enough for classes)


def _eats(star, tok) -> bool:
    """A star can produce what the one-character token ``tok`` matches."""
    if star == _GLOBSTAR:
        return True
    return not (isinstance(tok, tuple) and tok[0] == "lit" and tok[1] == "/")


@lru_cache(maxsize=4096)
def _overlap(p: tuple, q: tuple) -> bool:
    memo: dict = {}

    def f(i: int, j: int) -> bool:
        key = (i, j)
        if key in memo:
            return memo[key]
        memo[key] = False
        if i == len(p) and j == len(q):
            r = True
        elif i < len(p) and p[i] in (_STAR, _GLOBSTAR):
            r = f(i + 1, j) or (j < len(q) and (q[j] in (_STAR, _GLOBSTAR) or _eats(p[i], q[j])) and f(i, j + 1))
        elif j < len(q) and q[j] in (_STAR, _GLOBSTAR):
            r = f(i, j + 1) or (i < len(p) and _eats(q[j], p[i]) and f(i + 1, j))
        elif i < len(p) and j < len(q):
            r = _single(p[i], q[j]) and f(i + 1, j + 1)
        else:
            r = False
        memo[key] = r
        return r

    return f(0, 0)


def globs_overlap(a: str, b: str) -> bool:
    """True when some stage name matches both globs (``*`` stays in a component, ``**`` crosses)."""
    return any(_overlap(_tokens(x), _tokens(y)) for x in _expansions(a) for y in _expansions(b))
