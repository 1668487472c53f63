"""TOML files that users write (mapping files, probe files, corpus specs, the model manifest): read as
UTF-8, checked against a pydantic model, every problem one line that names the file.

A schema is a `Strict` model: unknown keys are refused, types are checked strictly (``true`` is not
an integer, ``"abc"`` is not a list), values that need more than a type (a regex, a glob, a sha256)
are checked by validators. `validate` turns pydantic's multi-line report into one line: unknown keys
are listed together ("unknown key(s) a, b"), a model may give its own message per field
(``MESSAGES``), anything else reads ``where: location: what is wrong``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from pyparity.errors import PyparityError
from pyparity.textfile import read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Strict", "OneOrMany", "read_toml", "validate", "one_line"]

M = TypeVar("M", bound="Strict")


class Strict(BaseModel):
    """A TOML table's schema: no unknown keys, no type coercion, immutable once read.

    ``MESSAGES`` maps a key path (``"case.*.input"``: ``*`` for each entry of a list; ``"rename.**"``:
    the key and everything in it) to the message its problems are reported with, the most specific first;
    ``{i}`` is the 1-based entry number; a message starting "needs " is prefixed with the entry
    ("case 2: needs input = ...")."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    MESSAGES: ClassVar[dict[str, str]] = {}
    TOP_LEVEL: ClassVar[str] = ""  # the tables a file may hold, named when it holds another one


def _listify(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


OneOrMany = Annotated[list[str], BeforeValidator(_listify)]
"""A list of strings that may be written as one string (``ignore = "**/crops"``)."""


def read_toml(path: str | Path, what: str, error: type[PyparityError], missing: str | None = None) -> dict:
    """The TOML table in ``path`` (``what``: "mapping file", "probe file", ...); `error` for a file
    that is missing (``missing``: its message), unreadable, not UTF-8 or not TOML."""
    p = Path(path)
    text = read_text(p, what, error, missing=missing, not_utf8=f"; a {what} is TOML in UTF-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{p}: cannot read the {what}: not valid TOML ({exc})") from None
    except RecursionError:
        raise error(f"{p}: cannot read the {what}: not valid TOML (nested too deeply)") from None


def _loc(loc: tuple) -> str:
    """``("case", 2, "input")`` -> ``case 3: input`` (entries numbered from 1, as people count)."""
    out = ""
    for part in loc:
        out += f" {part + 1}" if isinstance(part, int) else (f": {part}" if out else str(part))
    return out


def _union_tag(part) -> bool:
    """pydantic names the member of a union that failed (``list[str]``, ``int``) in an error's location."""
    return isinstance(part, str) and ("[" in part or part in ("str", "int", "float", "bool"))


def one_line(exc: ValidationError, model: type[Strict]) -> str:
    """pydantic's report of ``exc`` as one line (see the module docstring)."""
    errors = exc.errors(include_url=False)
    unknown: dict[tuple, list[str]] = {}
    for e in errors:
        if e["type"] == "extra_forbidden":
            unknown.setdefault(tuple(e["loc"][:-1]), []).append(str(e["loc"][-1]))
    if unknown:
        parent, keys = next(iter(unknown.items()))
        if not parent and model.TOP_LEVEL:
            return f"unknown section(s) {', '.join(sorted(keys))} (expected {model.TOP_LEVEL})"
        return (f"{_loc(parent)}: " if parent else "") + f"unknown key(s) {', '.join(sorted(keys))}"
    e = errors[0]
    loc = tuple(p for p in e["loc"] if not _union_tag(p))
    msg = str(e["msg"])
    if e["type"] == "value_error":  # a validator's own message says what is wrong; say where
        msg = msg.removeprefix("Value error, ")
        return f"{_loc(loc)}: {msg}" if loc else msg
    starred = [("*" if isinstance(p, int) else str(p)) for p in loc]
    paths = [".".join(starred)] + [".".join(starred[:n]) + ".**" for n in range(len(starred), 0, -1)]
    template = next((model.MESSAGES[k] for k in paths if k in model.MESSAGES), None)
    if template is not None:
        i = next((p + 1 for p in loc if isinstance(p, int)), "")
        return (f"{_loc(loc[:2])}: " if template.startswith("needs ") else "") + template.format(i=i)
    if e["type"] == "missing" and loc:
        return (f"{_loc(loc[:-1])}: " if len(loc) > 1 else "") + f"missing field {str(loc[-1])!r}"
    msg = msg[0].lower() + msg[1:] if msg else msg
    return f"{_loc(loc)}: {msg}" if loc else msg


def validate(model: type[M], data: Any, where: str, error: type[PyparityError]) -> M:
    """``data`` checked against ``model``; `error` ``"where: <one line>"`` when it does not fit."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{where}: {one_line(exc, model)}") from None
