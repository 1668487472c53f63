"""Fitting a table to the terminal without cutting a number.

Numbers and counts are never shortened: a column either shows its widest cell in full or is dropped,
lowest priority first. The one flexible column (stage names) takes what is left; a name longer than
that is shortened from the middle, keeping its first and last path components
(``face00/…/it02/param_update``), so the row stays one line and the leaf stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len

ELLIPSIS = "…"


@dataclass(frozen=True)
class Col:
    key: str
    header: str
    justify: str = "left"  # left | right
    drop_rank: int = 0     # 0: always shown; otherwise dropped when the width runs out, highest rank first
    flexible: bool = False  # takes the width left over (one column: the stage name)


def shorten_middle(text: str, width: int, sep: str = "/") -> str:
    """``text`` in at most ``width`` cells, whole ``sep``-separated parts kept around an ellipsis: the first
    part (``face00``, ``mtcnn``: whose stage it is) and as many parts from the end as fit (the leaf and
    its loop indices), then more from the start; without the first part when that alone leaves no room
    for the leaf; the leaf's last characters when even the leaf does not fit."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    parts = text.split(sep)
    n = len(parts)

    def cand(h: int, t: int) -> str:
        return sep.join(parts[:h] + [ELLIPSIS] + parts[n - t:])

    for h in ((1, 0) if n > 2 else (0,)):
        fits = [t for t in range(1, n - h) if cell_len(cand(h, t)) <= width]
        if fits:
            t = max(fits)
            while h + 1 < n - t and cell_len(cand(h + 1, t)) <= width:
                h += 1
            return cand(h, t)
    # not even the leaf fits: its last characters
    return ELLIPSIS + text[len(text) - (width - 1):]


def column_widths(cols: list[Col], rows: list[dict[str, str]]) -> dict[str, int]:
    """Each column's full width: its widest cell or its header."""
    return {c.key: max([cell_len(c.header)] + [cell_len(r.get(c.key, "")) for r in rows]) for c in cols}


def plan_columns(cols: list[Col], natural: dict[str, int], width: int | None, overhead, min_flexible: int = 24
                 ) -> tuple[list[Col], int]:
    """The columns to show and the flexible column's width, for a table at most ``width`` cells wide
    (None: unbounded, every column in full). ``overhead(n)`` is what borders and padding of ``n``
    columns take. Columns are dropped (highest ``drop_rank`` first) while the flexible column would get
    less than ``min_flexible`` cells (or less than its full width, if that is smaller)."""
    flex = next(c for c in cols if c.flexible)
    if width is None:
        return list(cols), natural[flex.key]
    shown = list(cols)
    want = min(natural[flex.key], min_flexible)
    while True:
        fixed = sum(natural[c.key] for c in shown if not c.flexible)
        left = width - overhead(len(shown)) - fixed
        droppable = [c for c in shown if c.drop_rank]
        if left >= want or not droppable:
            return shown, max(min(left, natural[flex.key]), min(want, 8))
        shown.remove(max(droppable, key=lambda c: c.drop_rank))
