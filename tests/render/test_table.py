"""The terminal table: which rows a long report shows."""

from __future__ import annotations

from pyparity.diff.compare import DIVERGED, EXPECTED, MATCH, ONLY_IN_B, StageResult
from pyparity.diff.report import DiffReport
from pyparity.render.table import _select_rows


def _report(statuses, first=None):
    stages = [StageResult(name=f"s{i:03d}", status=st) for i, st in enumerate(statuses)]
    return DiffReport("A", "B", stages, first_divergence=first)


def test_divergences_come_before_one_sided_stages_in_a_long_report():
    """A sparse reference (outputs only) leaves most of a run's stages on one side: the rows shown are
    the divergences, failing or expected, not the first one-sided stages."""
    statuses = [ONLY_IN_B] * 100 + [MATCH] * 10 + [EXPECTED] * 3 + [ONLY_IN_B] * 50 + [DIVERGED] + [ONLY_IN_B] * 9
    rows = [r for r in _select_rows(_report(statuses, first="s163"), max_rows=10) if not isinstance(r, int)]
    names = [r.name for r in rows]
    assert {"s110", "s111", "s112", "s163"} <= set(names) and len(rows) <= 10
    assert names == sorted(names)  # still in recording order
    ok = _report([ONLY_IN_B] * 100 + [EXPECTED] * 3 + [ONLY_IN_B] * 50)  # passing, with expected divergences
    shown = {r.name for r in _select_rows(ok, max_rows=10) if not isinstance(r, int)}
    assert {"s100", "s101", "s102"} <= shown


def test_a_short_report_shows_every_row():
    statuses = [ONLY_IN_B, MATCH, EXPECTED]
    assert [r.name for r in _select_rows(_report(statuses), max_rows=10)] == ["s000", "s001", "s002"]
