"""Text from files (stage names, notes, paths, metadata) made safe for every report format.

A stage name is whatever a dump's index says: control characters in it would reach a terminal raw
(escape sequences), make JUnit XML invalid (XML 1.0 forbids most of them, even as references) and
hide in HTML. They are shown as Python-style escapes (``\\x1b``, ``\\u202e``), visible and unambiguous.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the bidirectional overrides/isolates that reorder what a terminal shows;
# U+FFFE/U+FFFF and lone surrogates are not XML characters either
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffe\uffff\ud800-\udfff]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffe\uffff\ud800-\udfff]")


def _esc(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def printable(text) -> str:
    """``text`` on one line with every control character escaped (for names and one-line fields)."""
    return _UNSAFE.sub(_esc, str(text))


def printable_lines(text) -> str:
    """Like `printable`, but line breaks stay (for multi-line text such as a report summary)."""
    return _UNSAFE_KEEP_LINES.sub(_esc, str(text))


def html_text(text, quote: bool = True) -> str:
    """HTML-escaped, with control characters shown as escapes (every HTML page pyparity writes)."""
    import html

    return html.escape(printable_lines(text), quote)
