"""Terminal rendering (rich) of a hunt: the introducing stages with their diagnoses, grouped by the
capture that recorded them, what was only inherited, how it ended; for a sequence or a corpus, the
summary tables."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pyparity.hunt.chain import MATCHED, PARITY, SINGLE
from pyparity.render.escape import printable
from pyparity.render.table import _fmt, render_diff


def _table(console: Console, *cols: str) -> Table:
    t = Table(box=box.SIMPLE_HEAD if console.is_terminal else box.ASCII2, pad_edge=False)
    for c in cols:
        t.add_column(c, overflow="fold")
    return t


def _say(console: Console, text: str, style: str = "") -> None:
    console.print(Text(printable(text), style=style))


def _size(s) -> str:
    if s.max_abs is not None:
        return _fmt(s.max_abs)
    if s.shape_a is not None and s.shape_b is not None and s.shape_a != s.shape_b:
        return f"{list(s.shape_a)} vs {list(s.shape_b)}"
    return s.note or ""


def _hyp_lines(console: Console, hyps, indent: str = "    ") -> None:
    if not hyps:
        _say(console, f"{indent}no simple explanation found")
        return
    for h in hyps:
        console.print(Text.assemble((f"{indent}likely cause: ", "bold yellow"), printable(h.title)))
        _say(console, f"{indent}  {h.detail}")
        fix = getattr(h, "fix_kind", "")
        if h.transform.startswith("#"):
            _say(console, f"{indent}  next: {h.transform.lstrip('# ')}", "cyan")
        else:
            label = {"convention": "align with (a convention fix)", "mask": "align with (a mask: hides a difference)"}
            _say(console, f"{indent}  {label.get(fix, 'align with')}: {h.transform}", "cyan")


def render_chain(res, console: Console) -> None:
    """The chain of one hunt (image or sequence): runs, introducing stages, inherited ones, the end."""
    for r in res.runs:
        rep = r.report
        c = rep.counts()
        what = "the port as it is" if not r.inject else "injected " + "; ".join(r.inject)
        head = f"run {r.number}: {what}: " + ", ".join(f"{v} {k}" for k, v in c.items())
        if r.number == 0 and rep.first_divergence:
            head += f"; first divergence {rep.first_divergence}"
        _say(console, head, "dim")
        for n in r.notes[:3]:
            _say(console, f"  note: {n}", "dim")
        if len(r.notes) > 3:
            _say(console, f"  note: ... {len(r.notes) - 3} more", "dim")
    if res.not_reached:
        _say(console, f"not reached (reference only): {len(res.not_reached)} declared stage(s), e.g. "
             f"{res.not_reached[0]}", "yellow")
    if res.introduced and res.end != SINGLE:
        t = _table(console, "#", "introducing stage", "status", "max abs / shapes", "likely cause", "stages")
        for n, (group, intros) in enumerate(res.groups(), start=1):
            first = intros[0]
            worst = max(intros, key=lambda i: i.result.max_abs if i.result.max_abs is not None else -1.0)
            cause = first.result.diagnosis[0].title if first.result.diagnosis else "no simple explanation"
            more = "" if len(intros) == 1 else f"{len(intros)} (worst: {worst.stage})"
            t.add_row(str(n), Text(printable(first.stage), style="bold red" if n == 1 else ""), first.result.status,
                      _size(worst.result), Text(printable(cause)), Text(printable(more)))
        console.print(t)
        for n, (group, intros) in enumerate(res.groups(), start=1):
            first = intros[0]
            extra = f" (+{len(intros) - 1} more of {group})" if len(intros) > 1 else ""
            console.print(Text.assemble((f"{n}. ", "bold"), (printable(first.stage), "bold"),
                                        printable(f"  {first.result.status}{extra}")))
            if first.capture:
                _say(console, f"    recorded by {first.capture}"
                     + ("; the reference was injected there from then on" if first.injected_after else ""), "dim")
            if first.why_not_injected:
                _say(console, f"    not injected: {first.why_not_injected}", "yellow")
            _hyp_lines(console, first.result.diagnosis)
    if res.inherited:
        by: dict[str, list[str]] = {}
        for stage, cause in res.inherited.items():
            by.setdefault(cause, []).append(stage)
        for cause, stages in by.items():
            shown = ", ".join(stages[:4]) + (f", ... (+{len(stages) - 4})" if len(stages) > 4 else "")
            _say(console, f"inherited from {cause}: {len(stages)} stage(s) match once the reference is injected "
                 f"there: {shown}", "dim")
    if res.only_port and res.end != SINGLE:
        shown = ", ".join(res.only_port[:4]) + (f", ... (+{len(res.only_port) - 4})" if len(res.only_port) > 4 else "")
        _say(console, f"only the port recorded (the reference did not compute or did not record them): {shown}", "dim")
    if res.isolated_run is not None:
        _say(console, f"isolate-all: every injectable stage fed the reference's inputs in one run: "
             f"{len(res.isolated)} stage(s) introduce a difference on their own", "bold")
        for i in res.isolated[:20]:
            cause = i.result.diagnosis[0].title if i.result.diagnosis else "no simple explanation"
            _say(console, f"  {i.stage}: {i.result.status}, {_size(i.result)}; {cause}")
        if len(res.isolated) > 20:
            _say(console, f"  ... {len(res.isolated) - 20} more")
    style = "bold green" if res.end in (PARITY, MATCHED) else "bold red"
    _say(console, ("HUNT " if res.end != SINGLE else "") + res.verdict(), style)


def render_hunt(outcome, console: Console, max_rows: int = 40) -> None:
    _say(console, f"probe {outcome.probe}", "bold")
    _say(console, f"reference {outcome.reference}", "dim")
    if outcome.kind == "corpus":
        render_summary(outcome.summary, console)
        return
    res = outcome.result
    if outcome.kind == "image" and res.end in (SINGLE, PARITY):
        render_diff(res.first.report, console, max_rows=max_rows)
        if res.end == SINGLE:
            _say(console, "(add --isolate to re-run the port with the reference injected there, and find what "
                 "else differs)", "dim")
        return
    if outcome.summary is not None:
        render_summary(outcome.summary, console, chains=False)
    render_chain(res, console)


def render_summary(summary, console: Console, chains: bool = True) -> None:
    t = _table(console, "item", "input", "status", "first divergence", "likely cause", "result max abs")
    for i in summary.items:
        t.add_row(printable(i.name), printable(i.input if i.input != i.name else ""), i.status,
                  Text(printable(i.first_divergence or i.error or "")), Text(printable(i.first_cause)),
                  _fmt(i.output_max_abs) if i.status == "diverged" else "")
    console.print(t)
    firsts = summary.first_divergences()
    if firsts:
        t = _table(console, "first divergence at", "items")
        for stage, n in firsts:
            t.add_row(Text(printable(stage)), str(n))
        console.print(t)
    worst = summary.worst()
    if worst:
        _say(console, "worst: " + ", ".join(f"{i.name} ({_fmt(i.output_max_abs)} at {i.output_stage})" for i in worst))
    if chains:
        ch = summary.chains()
        if ch:
            t = _table(console, "introducing stage", "items", "diagnoses")
            for c in ch:
                shown = ", ".join(c.items[:6]) + (f", ... (+{len(c.items) - 6})" if len(c.items) > 6 else "")
                t.add_row(Text(printable(c.label)), Text(printable(f"{len(c.items)}: {shown}")),
                          Text(printable("; ".join(c.diagnoses[:3]))))
            console.print(t)
    ok = summary.ok
    line = summary.line() + (f"; NOTHING COMPARED: {summary.nothing_compared}" if summary.nothing_compared else "")
    _say(console, ("PARITY: " if ok else "") + line, "bold green" if ok else "bold red")
