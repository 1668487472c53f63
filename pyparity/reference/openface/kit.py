"""The OpenFace recording kit: pyparity's header, its insertion points, and the tool that applies them.

The kit never holds OpenFace's source: `insertions.toml` names each insertion point by a chain of short
identifying fragments, and `apply_kit` adds pyparity's own lines there in a *copy* of a user's tree.
Nothing of the original is removed or changed, so with recording off the original code runs unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pyparity.atomic import write_bytes_atomic
from pyparity.errors import InputError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

KIT_DIR = Path(__file__).with_name("kit")
HEADER = "pyparity_recorder.hpp"
INCLUDE_LINE = f'#include "{HEADER}"  // pyparity recording kit\n'
MARK = "// pyparity-kit\n"


@dataclass(frozen=True)
class Insertion:
    file: str
    anchor: tuple[str, ...]
    where: str  # "before" | "after"
    code: str


def load_insertions(path: Path | None = None) -> list[Insertion]:
    """The insertion points of the kit (`kit/insertions.toml`), in file order."""
    spec = tomllib.loads((path or KIT_DIR / "insertions.toml").read_text(encoding="utf-8"))
    out = []
    for i, item in enumerate(spec.get("insert", [])):
        where = item.get("where", "after")
        if where not in ("before", "after") or not item.get("anchor") or not item.get("file"):
            raise InputError(f"insertions.toml: entry {i} needs file, anchor and where = before|after")
        out.append(Insertion(item["file"], tuple(item["anchor"]), where, item["code"]))
    return out


BUILD_FILES = (HEADER, "insertions.toml", "CMakeLists.txt")


def kit_files() -> list[Path]:
    """The kit's files that shape a build (the stage list only documents it)."""
    return [KIT_DIR / n for n in BUILD_FILES]


def kit_hash() -> str:
    """sha256 over the kit's files (header, insertions, CMake file): part of the build cache key."""
    h = hashlib.sha256()
    for p in kit_files():
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def locate(lines: list[str], anchor: tuple[str, ...], file: str) -> int:
    """Index of the line an anchor chain names: the first fragment must occur on exactly one line;
    each later fragment is the first line containing it after the previous match."""
    first = [i for i, line in enumerate(lines) if anchor[0] in line]
    if len(first) != 1:
        raise InputError(
            f"{file}: anchor {anchor[0]!r} found on {len(first)} lines (expected 1): "
            "not the OpenFace version this kit was written for"
        )
    pos = first[0]
    for frag in anchor[1:]:
        nxt = next((i for i in range(pos + 1, len(lines)) if frag in lines[i]), None)
        if nxt is None:
            raise InputError(f"{file}: anchor fragment {frag!r} not found after {anchor[0]!r}")
        pos = nxt
    return pos


def patch_text(text: str, insertions: list[Insertion], file: str) -> str:
    """`text` with the insertions for `file` added (all located on the original lines first)."""
    lines = text.splitlines(keepends=True)
    placed: list[tuple[int, int, str]] = []
    for order, ins in enumerate(insertions):
        idx = locate(lines, ins.anchor, file)
        slot = idx if ins.where == "before" else idx + 1
        code = "".join(f"{ln}\n" for ln in ins.code.strip("\n").splitlines())
        placed.append((slot, order, MARK + code))
    for slot, _, code in sorted(placed, key=lambda t: (t[0], t[1]), reverse=True):
        lines[slot:slot] = [code]
    return INCLUDE_LINE + "".join(lines)


def apply_kit(source: Path, dest: Path) -> list[str]:
    """Copy the OpenFace tree `source` to `dest` and add the recording calls; returns the patched files.

    Files of `dest` whose content would not change are left alone (an incremental rebuild then only
    compiles what the kit or the source changed)."""
    source, dest = Path(source), Path(dest)
    by_file: dict[str, list[Insertion]] = {}
    for ins in load_insertions():
        by_file.setdefault(ins.file, []).append(ins)
    wanted: dict[str, bytes] = {}
    for p in sorted(source.rglob("*")):
        if p.is_file() and ".git" not in p.parts:
            wanted[str(p.relative_to(source))] = p.read_bytes()
    for rel, items in by_file.items():
        if rel not in wanted:
            raise InputError(f"{source / rel}: not found (is {source} an OpenFace source tree?)")
        text = wanted[rel].decode("utf-8", errors="surrogateescape")
        wanted[rel] = patch_text(text, items, rel).encode("utf-8", errors="surrogateescape")
    wanted[HEADER] = (KIT_DIR / HEADER).read_bytes()
    if dest.exists():
        for p in sorted(dest.rglob("*"), reverse=True):
            rel = str(p.relative_to(dest))
            if p.is_file() and rel not in wanted:
                p.unlink()
    for rel, data in wanted.items():
        target = dest / rel
        if target.is_file() and target.read_bytes() == data:
            continue
        write_bytes_atomic(target, data)
    return sorted(by_file)


def source_hash(source: Path) -> str:
    """sha256 over the C++ sources and CMake files of an OpenFace tree (the build cache key's other half)."""
    h = hashlib.sha256()
    root = Path(source)
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in (".cpp", ".h", ".hpp", ".txt", ".cmake", ".in") and "AU_predictors" not in p.parts:
            h.update(str(p.relative_to(root)).encode() + b"\0")
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()
