"""The stage index as a table: each pattern, the code that records it, the reference's counterpart."""

from __future__ import annotations

from pyparity.render.escape import printable


def render_stages(wheres, console) -> None:
    """One row per declared pattern: the pattern (and what it holds), the file, line and function that record
    it here, and the reference's function."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(box=box.SIMPLE_HEAD if console.is_terminal else box.ASCII2, pad_edge=False, show_lines=False)
    t.add_column("stage", overflow="fold", ratio=3)
    t.add_column("recorded by", overflow="fold", ratio=2)
    t.add_column("reference", overflow="fold", ratio=2)
    for w in wheres:
        globs = w.globs or w.stage.globs
        stage = Text(printable(globs[0]), style="bold")
        if len(globs) > 1:
            stage.append(f" (+{len(globs) - 1} more scope{'s' if len(globs) > 2 else ''})", style="dim")
        if w.stage.about:
            stage.append("\n" + printable(w.stage.about), style="dim")
        t.add_row(stage, Text(printable(w.code) + "\n" + printable(w.stage.function) + "()"), Text(printable(w.stage.reference)))
    console.print(t)
