"""The small path syntax that picks a value out of a call: ``return[0]``, ``args.boxes``, ``self.cache['x']``.

Grammar: ROOT ( '.' NAME | '[' INDEX ']' )*

- ROOT is ``return`` (the call's return value), ``args`` (the call's arguments bound by name, so
  ``args.boxes``; ``args[1]`` is the second positional parameter) or ``self`` (the bound object).
- ``.NAME`` takes an attribute (or a mapping key when the value is a dict).
- ``[INDEX]`` is a quoted key (``['scores']``), an integer, or a NumPy index of integers, slices and
  ``...`` separated by commas (``[:, 0:4]``, ``[..., ::-1]``). A value path is parsed, never evaluated
  as Python (the probe file around it does name code that runs: see docs/probes.md, "Probe files are code").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from pyparity.errors import PyparityError

ROOTS = ("return", "args", "self")
_TOKEN = re.compile(r"\.([A-Za-z_][A-Za-z_0-9]*)|\[([^\]]*)\]")


class ValuePathError(PyparityError):
    pass


@dataclass(frozen=True)
class ValuePath:
    text: str
    root: str
    steps: tuple  # ("attr", name) | ("index", object)

    def get(self, value, empty_ok: bool = False):
        """The value at this path. ``empty_ok``: indexing an empty array gives an empty array of its dtype
        (a port that found nothing returns ``np.array([])``, where ``return[:, 4]`` has no column 4)."""
        for kind, key in self.steps:
            if empty_ok and kind == "index" and hasattr(value, "size") and hasattr(value, "dtype") \
                    and getattr(value, "size", 1) == 0 and not isinstance(key, str):
                try:
                    value = value[key]
                except (IndexError, TypeError, ValueError):
                    value = np.empty((0,), dtype=np.asarray(value).dtype)
                continue
            try:
                if kind == "attr":
                    value = value[key] if isinstance(value, dict) else getattr(value, key)
                else:
                    value = value[key]
            except (AttributeError, KeyError, IndexError, TypeError) as exc:
                raise ValuePathError(f"value path {self.text!r}: cannot take {_show(kind, key)} "
                                     f"of a {type(value).__name__} ({exc})") from None
        return value


def _show(kind, key) -> str:
    return f".{key}" if kind == "attr" else f"[{key!r}]"


def _parse_index(text: str, whole: str):
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    parts = []
    for p in t.split(","):
        p = p.strip()
        if p == "...":
            parts.append(Ellipsis)
        elif ":" in p:
            bits = p.split(":")
            if len(bits) > 3:
                raise ValuePathError(f"value path {whole!r}: bad slice {p!r}")
            try:
                parts.append(slice(*[int(b) if b.strip() else None for b in bits]))
            except ValueError:
                raise ValuePathError(f"value path {whole!r}: bad slice {p!r}") from None
        else:
            try:
                parts.append(int(p))
            except ValueError:
                raise ValuePathError(f"value path {whole!r}: index {p!r} is not an integer, slice or 'key'") from None
    return parts[0] if len(parts) == 1 else tuple(parts)


def parse_value_path(text: str) -> ValuePath:
    m = re.match(r"[A-Za-z_]+", text)
    if not m or m.group(0) not in ROOTS:
        raise ValuePathError(f"value path {text!r} must start with one of {', '.join(ROOTS)}")
    pos = m.end()
    steps = []
    while pos < len(text):
        t = _TOKEN.match(text, pos)
        if not t:
            raise ValuePathError(f"value path {text!r}: cannot parse from {text[pos:]!r}")
        if t.group(1) is not None:
            steps.append(("attr", t.group(1)))
        else:
            steps.append(("index", _parse_index(t.group(2), text)))
        pos = t.end()
    return ValuePath(text, m.group(0), tuple(steps))
