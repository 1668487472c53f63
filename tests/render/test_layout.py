"""Fitting tables to a width: middle-shortened names and the order in which columns give way."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pyparity.render.layout import Col, plan_columns, shorten_middle

NAME = "face00/clnf/h00/fit/s1/rigid/it02/param_update"


def test_names_keep_their_first_part_and_as_much_of_the_end_as_fits():
    assert shorten_middle(NAME, 80) == NAME
    assert shorten_middle(NAME, 26) == "face00/…/it02/param_update"
    assert shorten_middle(NAME, 20) == "…/it02/param_update"        # face00/ would leave no room for it02
    assert shorten_middle(NAME, 14) == "…/param_update"
    assert shorten_middle(NAME, 9) == "…m_update"                   # not even the leaf: its end
    assert shorten_middle("mtcnn/pnet/s00/corrections", 20) == "mtcnn/…/corrections"


@given(st.lists(st.text(alphabet="abcxyz_0123", min_size=1, max_size=12), min_size=1, max_size=10),
       st.integers(min_value=1, max_value=80))
def test_shortened_names_fit_and_come_from_the_name(parts, width):
    name = "/".join(parts)
    short = shorten_middle(name, width)
    assert len(short) <= width
    if short != name:
        head, sep, tail = short.partition("…")
        assert sep and name.startswith(head) and name.endswith(tail)
        assert len(head) + len(tail) < len(name)


COLS = [Col("#", "#"), Col("stage", "stage", flexible=True), Col("max", "max abs"),
        Col("mean", "mean abs", drop_rank=2), Col("argmax", "argmax", drop_rank=4),
        Col("over", "over", drop_rank=1), Col("tol", "tolerance", drop_rank=3)]
NATURAL = {"#": 4, "stage": 40, "max": 7, "mean": 8, "argmax": 12, "over": 11, "tol": 18}


def _overhead(n: int) -> int:
    return 3 * n - 1


def test_columns_give_way_lowest_priority_first_and_numbers_never_shrink():
    seen = []
    for width in (200, 120, 100, 90, 80, 70, 60, 40):
        shown, stage = plan_columns(COLS, NATURAL, width, _overhead)
        keys = [c.key for c in shown]
        seen.append(keys)
        assert {"#", "stage", "max"} <= set(keys)
        fixed = sum(NATURAL[k] for k in keys if k != "stage")
        if len(keys) > 3:  # the stage column gets at least 24 cells while anything can still be dropped
            assert stage >= 24 and fixed + stage + _overhead(len(keys)) <= width
    assert seen[0] == [c.key for c in COLS]
    dropped = [next(k for k in prev if k not in cur) for prev, cur in zip(seen, seen[1:]) if prev != cur]
    assert dropped == ["argmax", "tol", "mean", "over"]


def test_unbounded_shows_everything_in_full():
    shown, stage = plan_columns(COLS, NATURAL, None, _overhead)
    assert shown == COLS and stage == 40
