"""How every report prints a metric and a duration (terminal, GitHub summary, HTML)."""

from __future__ import annotations

import math


def fmt_number(x: float | None) -> str:
    """A metric: three significant digits, ``0``, ``inf``, ``nan``, or blank for None."""
    if x is None:
        return ""
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.3g}"


def format_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"
