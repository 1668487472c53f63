"""The stage table fits the terminal and never cuts a number (issue 17, part 3).

Two real C++ dumps of different images diverge in ~900 stages, CLNF names up to 60 characters among
them. At 80, 100 and 120 columns, on a terminal and piped with $COLUMNS, and piped with no width at
all, every row shown must carry each of its numbers as the full formatted number, the `#` column must
be there, and no line may be wider than the width.
"""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from pyparity.diff import diff_traces
from pyparity.diff.compare import FAILING
from pyparity.render.table import render_diff
from pyparity.trace import read_trace

HEADERS = ["#", "stage", "status", "max abs", "mean abs", "argmax", "over", "tolerance"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def report(openface_dumps):
    a, b = openface_dumps / "images" / "001.jpg", openface_dumps / "images" / "002.jpg"
    return diff_traces(read_trace(b), read_trace(a))


def _num(x) -> str:
    if x is None:
        return ""
    return "0" if x == 0 else f"{x:.3g}"


def _shape(shape) -> str:
    return "scalar" if len(shape) == 0 else "×".join(str(d) for d in shape)


def _expected(s, first: bool) -> dict[str, str]:
    over = f"{s.n_over}/{s.n_total}" if s.n_over is not None else ""
    if not over and s.status == "shape-mismatch":
        over = f"{_shape(s.shape_a)} vs {_shape(s.shape_b)}"
    return {"status": ("▶ " if first else "") + s.status + (" (order)" if s.order_only else ""), "max abs": _num(s.max_abs), "mean abs": _num(s.mean_abs),
            "argmax": str(list(s.argmax)) if s.argmax else "", "over": over, "tolerance": s.tolerance}


def _render(report, width: int | None, terminal: bool, max_rows: int) -> str:
    buf = io.StringIO()
    # what make_console builds: the terminal's width; piped, $COLUMNS or unbounded
    console = Console(file=buf, width=width or (1 << 16), force_terminal=terminal, color_system=None,
                      highlight=False, soft_wrap=False)
    render_diff(report, console, max_rows=max_rows, table=True)
    return ANSI.sub("", buf.getvalue())


def _check_table(text: str, report, width: int | None) -> tuple[list[str], int]:
    """Checks every row shown; returns the headers shown and the number of rows checked."""
    lines = text.splitlines()
    header_line = next(ln for ln in lines if re.search(r"\bstage\b", ln) and "status" in ln)
    shown = [h for h in HEADERS if re.search(r"(^|[\s|])" + re.escape(h) + r"($|[\s|])", header_line)]
    assert shown[:4] == ["#", "stage", "status", "max abs"], shown
    rows = 0
    for ln in lines:
        if re.match(r"^\d+ [a-z]", ln):  # the counts line after the table
            break
        if width is not None:
            assert len(ln.rstrip()) <= width, ln
        m = re.match(r"^[\s|]*(\d+)[\s|]", ln)
        if not m or ln is header_line:
            continue
        s = report.stages[int(m.group(1))]
        want = _expected(s, s.name == report.first_divergence)
        cells = [r"(?P<stage>\S+)" if h == "stage" else re.escape(m.group(1)) if h == "#" else re.escape(want[h])
                 for h in shown if h in ("#", "stage") or want[h]]
        row = re.fullmatch(r"[\s|]*" + r"[\s|]+".join(cells) + r"[\s|]*", ln)
        assert row, f"row of {s.name} does not show its full values {want}:\n{ln}"
        name = row.group("stage")
        if name != s.name:  # shortened from the middle: a head and a tail of the real name
            head, _, tail = name.partition("…")
            assert "…" in name and s.name.startswith(head) and s.name.endswith(tail), (name, s.name)
        rows += 1
    return shown, rows


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "piped"])
@pytest.mark.parametrize("width", [80, 100, 120])
def test_every_number_in_full_at_each_width(report, width, terminal):
    text = _render(report, width, terminal, max_rows=400)
    shown, rows = _check_table(text, report, width)
    assert rows >= 300
    failing_shown = sum(1 for ln in text.splitlines() if re.search(r"diverged|shape-mismatch", ln))
    assert failing_shown >= 250
    if width >= 100:
        assert "mean abs" in shown or "over" in shown
    if width == 120 and not terminal:
        assert len(shown) >= 6


def test_piped_without_a_width_shows_whole_names_and_every_column(report):
    text = _render(report, None, False, max_rows=2000)
    shown, rows = _check_table(text, report, None)
    assert shown == HEADERS and rows == len(report.stages)
    longest = max((s.name for s in report.stages), key=len)
    assert len(longest) > 50 and re.search(r"\|\s*" + re.escape(longest) + r"\s*\|", text)
    assert "…" not in "".join(s.name for s in report.stages) and "…" not in text.replace("… ", "")


def test_the_acceptance_command_at_80_columns(openface_dumps, monkeypatch, capsys):
    """`COLUMNS=80 pyparity diff 001.jpg 002.jpg`, piped and on a (forced) terminal."""
    from pyparity.cli.app import main

    a, b = openface_dumps / "images" / "001.jpg", openface_dumps / "images" / "002.jpg"
    rep = diff_traces(read_trace(b), read_trace(a))
    monkeypatch.setenv("COLUMNS", "80")
    for force in ("", "1"):
        monkeypatch.setenv("FORCE_COLOR", force) if force else monkeypatch.delenv("FORCE_COLOR", raising=False)
        assert main(["diff", str(a), str(b)]) == 1
        out = ANSI.sub("", capsys.readouterr().out)
        _, rows = _check_table(out, rep, 80)
        assert rows >= 30
        first = rep.first
        assert f"max abs {_num(first.max_abs)} at {list(first.argmax)}" in out.replace("\n", " ")
