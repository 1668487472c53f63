"""HTML pages come from autoescaped Jinja2 templates: what a dump's index holds cannot become markup."""

from __future__ import annotations

import numpy as np
from markupsafe import Markup

from pyparity.diff import diff_traces
from pyparity.render.html import render_html
from pyparity.render.templating import environment
from pyparity.trace import Trace

HOSTILE = ["a/<script>alert(1)</script>", "b/' onmouseover='x", "c/\x1b[2Jclear", "d/&amp;"]


def test_names_from_traces_are_text_in_every_section():
    a = Trace.from_arrays([(n, np.zeros((3, 3))) for n in HOSTILE], source="<b>A</b>")
    b = Trace.from_arrays([(n, np.eye(3)) for n in HOSTILE], source="B")
    html = render_html(diff_traces(b, a), reference=a, candidate=b, title="t <i>x</i>",
                       extra={"golden <u>": "note <script>"})
    assert "<script" not in html and "<u>" not in html and "<i>x" not in html and "<b>A" not in html
    assert "onmouseover='x" not in html and "&#39; onmouseover=&#39;x" in html  # quotes escaped inside attributes
    assert "\x1b" not in html and "\\x1b[2Jclear" in html  # control characters shown as escapes
    assert "d/&amp;amp;" in html  # escaped once, exactly


def test_the_environment_escapes_by_default_and_trusts_only_markup():
    env = environment()
    t = env.from_string("{{ v }}|{{ m }}")
    assert t.render(v="<a>\x07", m=Markup("<br>")) == "&lt;a&gt;\\x07|<br>"
    assert env.autoescape is True
