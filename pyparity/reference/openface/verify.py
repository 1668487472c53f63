"""Bit-for-bit comparison of two dumps: the same stages in the same order, with identical bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pyparity.trace.dumpio import read_trace


@dataclass
class BitCompare:
    stages: int = 0
    order_equal: bool = True
    differences: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.order_equal and not self.differences


def compare_bitwise(recorded: Path, reference: Path, keep: Callable[[str], bool] = lambda n: True) -> BitCompare:
    """Compare the stages of `recorded` that `keep` selects with all of `reference`'s (same selection)."""
    a, b = read_trace(recorded), read_trace(reference)
    sa = [s for s in a.stages if keep(s.name)]
    sb = [s for s in b.stages if keep(s.name)]
    out = BitCompare(stages=len(sb))
    ia = [(s.name, s.dtype, tuple(s.shape)) for s in sa]
    ib = [(s.name, s.dtype, tuple(s.shape)) for s in sb]
    if ia != ib:
        out.order_equal = False
        for k, (x, y) in enumerate(zip(ia, ib)):
            if x != y:
                out.differences.append(f"index row {k}: recorded {x} vs reference {y}")
                break
        if len(ia) != len(ib):
            out.differences.append(f"{len(ia)} stages recorded vs {len(ib)} in the reference")
        return out
    for s in sb:
        x, y = np.ascontiguousarray(a[s.name]), np.ascontiguousarray(b[s.name])
        if x.tobytes() != y.tobytes():
            out.differences.append(f"{s.name}: values differ (max abs {np.max(np.abs(x.astype(np.float64) - y.astype(np.float64))):.3g})")
    return out
