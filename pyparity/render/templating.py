"""Jinja2 for every HTML page pyparity writes: autoescaped, with control characters shown as escapes.

Every ``{{ value }}`` goes through `pyparity.render.escape.printable_lines` and then HTML escaping
(autoescape), so a stage name, a path or a note from a dump can never inject markup or hide control
characters; only values marked `Markup` (none come from traces) pass unescaped. Undefined variables
are errors, not empty strings.
"""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup

from pyparity.render.escape import printable_lines


def _finalize(value):
    if value is None:
        return ""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return printable_lines(value)


@lru_cache(maxsize=1)
def environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(loader=PackageLoader("pyparity.render", "templates"), autoescape=True, finalize=_finalize,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render(template: str, **context) -> str:
    """The page ``templates/<template>`` rendered with ``context``."""
    return environment().get_template(template).render(**context)
