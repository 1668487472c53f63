"""docs/cpp-reference.md's stage tables, generated from the kit's stage list (kit/stages.toml).

`python -m pyparity.reference.openface.docs [DOC]` rewrites the generated part of the document (between
its BEGIN/END markers); `tests/reference/test_kit.py` fails when the document is not current.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pyparity.reference.openface.kit import KIT_DIR, tomllib

BEGIN = "<!-- BEGIN GENERATED STAGES (python -m pyparity.reference.openface.docs) -->"
END = "<!-- END GENERATED STAGES -->"
DOC = Path(__file__).resolve().parents[3] / "docs" / "cpp-reference.md"


def stage_groups() -> list[dict]:
    return tomllib.loads((KIT_DIR / "stages.toml").read_text(encoding="utf-8"))["group"]


def stage_count() -> int:
    return sum(len(g["stages"]) for g in stage_groups())


def render_stages() -> str:
    out = [BEGIN, ""]
    for g in stage_groups():
        out += [f"### {g['title']}", "", f"C++: `{g['cpp']}`", "", "| stage | dtype, shape | what |", "|---|---|---|"]
        for name, dtype, what in g["stages"]:
            out.append(f"| `{name}` | {dtype} | {what} |")
        out.append("")
    out.append(END)
    return "\n".join(out)


def regenerate(text: str) -> str:
    if BEGIN not in text or END not in text:
        raise ValueError("the document has no generated-stages markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + render_stages() + tail


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    doc = Path(args[0]) if args else DOC
    from pyparity.atomic import write_text_atomic

    write_text_atomic(doc, regenerate(doc.read_text(encoding="utf-8")))
    print(f"{doc}: {stage_count()} stage rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
