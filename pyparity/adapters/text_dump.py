"""Ad-hoc text dumps (what people print from a patched C++ build) as a trace, by a map file.

A text file holds one or more *blocks*: runs of numeric rows (values separated by whitespace, commas
or semicolons; brackets ignored). A line that is not numeric (a header, `--- iteration 0 ---`) ends a
block and labels the next one; a line `label: numbers` is a one-row block of its own with that label.
The map (TOML) names the stages:

    [[stage]]
    name = "mtcnn/output/boxes"        # the stage name in the trace
    file = "cpp_mtcnn_final_bbox.txt"  # relative to the dump folder
    block = 0                          # which block (default 0); or label = "text the header contains"
    dtype = "float32"                  # default float64
    shape = [1, 4]                     # default: the block's (rows, cols); one row -> (cols,)
    transpose = false                  # transpose the block before reshaping
    columns = [0, 1, 2, 3]             # keep only these columns

Every value's printed precision is kept (``printed_decimals`` in the trace's metadata, as for the
OpenFace CSV adapter), so `diff` compares these stages within half a unit of the last printed digit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from pyparity.errors import InputError
from pyparity.tomlfile import Strict, read_toml, validate
from pyparity.trace import Trace

_SPLIT = re.compile(r"[\s,;]+")
_STRIP = str.maketrans({c: " " for c in "[](){}"})
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$", re.IGNORECASE)
_DTYPES = {"float32", "float64", "int32", "int64", "uint8", "int16", "uint16", "bool"}


@dataclass
class Block:
    label: str
    rows: list[list[str]]
    line: int  # 1-based line of its first row


def printed_decimals(text: str) -> int:
    """Decimal places a printed number resolves: '1.25' -> 2, '3' -> 0, '1.5e-3' -> 4, '2e5' -> -5."""
    t = text.strip().lower().lstrip("+-")
    if t in ("nan", "inf", "infinity"):
        return 0
    mant, _, exp = t.partition("e")
    frac = mant.split(".", 1)[1] if "." in mant else ""
    return len(frac) - (int(exp) if exp else 0)


def _tokens(line: str) -> list[str]:
    return [t for t in _SPLIT.split(line.translate(_STRIP).strip()) if t]


def parse_blocks(path: Path) -> list[Block]:
    """The numeric blocks of a text file, in order, each labelled by the text line before it."""
    try:
        lines = path.read_text(encoding="utf-8", errors="strict").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    blocks: list[Block] = []
    current: Block | None = None
    label = ""
    for i, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            current = None
            if line.startswith("#"):
                label = line.lstrip("#").strip()
            continue
        head, sep, tail = line.partition(":")
        if sep and not _NUMBER.match(head.strip()) and tail.strip() and all(_NUMBER.match(t) for t in _tokens(tail)):
            blocks.append(Block(head.strip(), [_tokens(tail)], i))
            current = None
            continue
        toks = _tokens(line)
        if toks and all(_NUMBER.match(t) for t in toks):
            if current is None:
                current = Block(label, [], i)
                blocks.append(current)
                label = ""
            current.rows.append(toks)
        else:
            current = None
            label = line
    return blocks


@dataclass(frozen=True)
class StageSpec:
    name: str
    file: str
    block: int | None = None
    label: str | None = None
    dtype: str = "float64"
    shape: tuple[int, ...] | None = None
    transpose: bool = False
    columns: tuple[int, ...] | None = None


class _StageTable(Strict):
    name: str
    file: str
    block: int | None = None
    label: str | None = None
    dtype: str = "float64"
    shape: list[Annotated[int, Field(ge=0)]] | None = None
    transpose: bool = False
    columns: list[int] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "_StageTable":
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype {self.dtype!r} (use one of {', '.join(sorted(_DTYPES))})")
        if self.block is not None and self.label is not None:
            raise ValueError("give block or label, not both")
        return self


class TextDumpMap(Strict):
    """The map file's schema (module docstring)."""

    MESSAGES = {"stage": "no [[stage]] entries", "stage.*.name": "needs name and file",
                "stage.*.file": "needs name and file",
                "stage.*.shape.**": "[[stage]] #{i}: shape must be a list of non-negative integers",
                "stage.*.columns.**": "[[stage]] #{i}: columns must be a list of integers"}
    stage: list[_StageTable] = []


def read_map(path: Path) -> list[StageSpec]:
    m = validate(TextDumpMap, read_toml(path, "text-dump map", InputError), str(path), InputError)
    if not m.stage:
        raise InputError(f"{path}: no [[stage]] entries")
    out = [StageSpec(t.name, t.file, t.block, t.label, t.dtype, tuple(t.shape) if t.shape is not None else None,
                     t.transpose, tuple(t.columns) if t.columns is not None else None) for t in m.stage]
    names = [s.name for s in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise InputError(f"{path}: stage {dup!r} is mapped twice")
    return out


def _select(blocks: list[Block], spec: StageSpec, file: Path) -> Block:
    if spec.label is not None:
        hits = [b for b in blocks if spec.label in b.label]
        if len(hits) != 1:
            raise InputError(f"{file}: {len(hits)} blocks labelled with {spec.label!r} (expected 1) for {spec.name}")
        return hits[0]
    k = spec.block or 0
    if not -len(blocks) <= k < len(blocks):
        raise InputError(f"{file}: block {k} asked for {spec.name}, the file has {len(blocks)} numeric block(s)")
    return blocks[k]


def read_text_dump(folder: str | Path, map_path: str | Path) -> Trace:
    """Read the text files of `folder` into a trace, as `map_path` says (see the module docstring)."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    specs = read_map(Path(map_path))
    cache: dict[Path, list[Block]] = {}
    arrays: list[tuple[str, np.ndarray]] = []
    printed: dict[str, list[int]] = {}
    for spec in specs:
        f = root / spec.file
        if not f.is_file():
            raise InputError(f"{f}: no such file (mapped to {spec.name})")
        blocks = cache.setdefault(f, parse_blocks(f))
        if not blocks:
            raise InputError(f"{f}: no numeric rows")
        b = _select(blocks, spec, f)
        widths = {len(r) for r in b.rows}
        if len(widths) != 1:
            raise InputError(f"{f}:{b.line}: rows of different lengths ({', '.join(map(str, sorted(widths)))}) in one block")
        texts = np.array(b.rows, dtype=object)
        if spec.columns is not None:
            if any(not -texts.shape[1] <= c < texts.shape[1] for c in spec.columns):
                raise InputError(f"{f}:{b.line}: columns {list(spec.columns)} outside the block's {texts.shape[1]}")
            texts = texts[:, list(spec.columns)]
        if spec.transpose:
            texts = texts.T
        values = np.array([[float(t) for t in row] for row in texts], dtype=np.float64)
        shape = spec.shape if spec.shape is not None else (values.shape if values.shape[0] > 1 else (values.shape[1],))
        if int(np.prod(shape)) != values.size:
            raise InputError(f"{f}:{b.line}: {values.size} values cannot take shape {list(shape)} for {spec.name}")
        if spec.dtype not in ("float32", "float64") and not np.all(np.isfinite(values) & (values == np.round(values))):
            raise InputError(f"{f}:{b.line}: non-integer values for the {spec.dtype} stage {spec.name}")
        arrays.append((spec.name, values.astype(spec.dtype).reshape(shape)))
        printed[spec.name] = [printed_decimals(t) for t in texts.reshape(-1)]
    meta = {
        "producer": {"name": "text-dump", "folder": str(root), "map": str(map_path)},
        "printed_decimals": printed,
    }
    return Trace.from_arrays(arrays, meta=meta, source=str(root))
