"""Text files that users hand to pyparity (specs, policies, CSVs, model text files): read as UTF-8, and
every way that fails is one line that names the file and says what it should have been."""

from __future__ import annotations

from pathlib import Path

from pyparity.errors import PyparityError


def read_text(path: str | Path, what: str, error: type[PyparityError], missing: str | None = None,
              not_utf8: str = "") -> str:
    """``path``'s text, decoded as UTF-8. `error` for a file that is missing (``missing``: its message, else
    "cannot read WHAT (No such file or directory)"), unreadable ("cannot read WHAT (why)") or not UTF-8
    ("not UTF-8 text (byte N)" and ``not_utf8``, e.g. "; a probe file is TOML in UTF-8")."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{p}: not UTF-8 text (byte {exc.start}){not_utf8}") from None
    except FileNotFoundError:
        raise error(f"{p}: {missing}" if missing else f"{p}: cannot read {what} (No such file or directory)") from None
    except OSError as exc:
        raise error(f"{p}: cannot read {what} ({exc.strerror or exc})") from None
