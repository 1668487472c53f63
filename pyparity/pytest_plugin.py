"""pytest plugin (registered through the ``pytest11`` entry point ``pyparity``).

Every function here takes ``(actual, expected)``, like ``numpy.testing``: the run under test first,
then what it must match (a reference dump, a golden). Traces are given as a `Trace`, a `Recorder`, a
trace folder, or a dict of stage name -> array.

- ``assert_parity(actual, expected, policy=None, stages=None)``: importable function and fixture; on
  divergence it raises `ParityError`, whose first line names the first divergent stage, the likely
  cause, both values at the worst point and the tolerance.
- ``pyparity_goldens`` fixture: ``pyparity_goldens.check(actual)`` compares a trace with the test's
  golden, named from the test id (``<test file>/<test name>``; a second check in the same test adds
  ``.2``), or ``check(actual, "name")`` with a golden of that name. A missing golden fails the test;
  ``pytest --pyparity-update`` creates or re-blesses goldens from this run instead of comparing.
  Goldens are checked by format version, never by producer or pyparity version. The golden root is
  the ``pyparity_goldens_dir`` ini value (default ``goldens``, relative to the rootdir).
- At the end of a session: what ``--pyparity-update`` did, and the unused goldens of the test files
  whose every test ran and passed.

Importing this module imports nothing heavy: NumPy and the diff engine load when first used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import pytest


class ParityError(AssertionError):
    """A trace diverged from what it must match. ``report`` is the `DiffReport` (A = expected, B =
    actual); the message's first line is the first divergence, its likely cause, the values at the worst
    point and the tolerance."""

    # pytest's own trick (_pytest.outcomes.Failed): shown as "ParityError: ..." in -ra lines and
    # tracebacks, without a module path that would push the stage out of a short summary line;
    # `__reduce__` pickles instances through this module, where pickle would look in builtins
    __module__ = "builtins"

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report

    def __reduce__(self):
        return _parity_error, (str(self), self.report)


def _parity_error(message: str, report) -> ParityError:
    return ParityError(message, report)


def _as_trace(t, role: str):
    from pyparity.trace import Trace, read_trace

    if isinstance(t, Trace):
        return t
    if isinstance(t, (str, os.PathLike)):
        return read_trace(t)
    if isinstance(t, Mapping):
        bad = [k for k in t if not isinstance(k, str)]
        if bad:
            raise TypeError(f"{role}: a dict of arrays needs stage names (str) as keys, got {bad[0]!r}")
        return Trace.from_arrays(t, source=f"<dict {role}>")
    if callable(getattr(t, "finish", None)):  # a Recorder
        return t.finish()
    raise TypeError(f"{role} must be a Trace, a Recorder, a trace folder (str or Path) or a dict of stage "
                    f"name -> array, not {type(t).__name__}")


def _value(trace, name: str | None, index) -> str | None:
    """The element at ``index`` of stage ``name``, printed in full (shortest repr that round-trips)."""
    import numpy as np

    if name is None or index is None:
        return None
    try:
        v = np.asarray(trace[name])[tuple(index)]
    except Exception:  # an index into another layout (set-matched rows): no value to show
        return None
    if isinstance(v, np.floating):
        return np.format_float_positional(v, unique=True, trim="-")
    return str(v.item() if hasattr(v, "item") else v)


def describe_failure(report, actual, expected) -> str:
    """The message of a failed parity assertion: the first divergence on the first line (stage, cause,
    values at the worst point, tolerance), then the diagnosis, the worst stage and what was compared."""
    from pyparity.render.numbers import fmt_number

    c = report.counts()
    scope = (f"{c.get('match', 0)}/{report.n_aligned} aligned stages match"
             + (f", {c['only-in-A']} only in expected" if c.get("only-in-A") else "")
             + (f", {c['only-in-B']} only in actual" if c.get("only-in-B") else ""))
    sides = f"actual (B): {actual.source}; expected (A): {expected.source}"
    if report.nothing_compared:
        return f"nothing compared: {report.nothing_compared}\n  {scope}\n  {sides}"
    f = report.first
    cause = f" (likely cause: {f.diagnosis[0].title})" if f.diagnosis else ""
    if f.status == "shape-mismatch":
        what = f"shape {f.shape_b} vs expected {f.shape_a}"
    elif f.status == "dtype-mismatch":
        what = f"dtype {f.dtype_b} vs expected {f.dtype_a}"
    else:
        at = f" at {list(f.argmax)}" if f.argmax else ""  # a scalar stage has no index to show
        va, vb = _value(actual, f.name_b or f.name, f.argmax), _value(expected, f.name, f.argmax)
        what = f"actual {va} vs expected {vb}{at}" if va is not None and vb is not None else at.strip()
        err = f"|diff| {fmt_number(f.max_abs)}" if f.max_abs is not None else ""
        over = f"{f.n_over} of {f.n_total} over" if f.n_total else ""
        detail = ", ".join(x for x in (err, f"tolerance {f.tolerance}" if f.tolerance else "", over) if x)
        what = f"{what} ({detail})" if what and detail else what or detail
    lines = [f"{f.name} {f.status}{cause}: {what}".rstrip(": ")]
    if f.note:
        lines.append(f"  note: {f.note}")
    for h in f.diagnosis:
        lines.append(f"  likely cause: {h.title} — {h.detail}")
    w = report.worst
    if w is not None and w.name != f.name:
        lines.append(f"  worst stage: {w.name} ({w.status}, max abs {fmt_number(w.max_abs)}, tolerance {w.tolerance})")
    lines += [f"  {scope}", f"  {sides}"]
    return "\n".join(lines)


def assert_parity(actual, expected, policy=None, stages=None, only_recorded: bool = True):
    """Assert that ``actual`` matches ``expected`` stage by stage; returns the `DiffReport`.

    ``policy``: a Policy, a built-in policy name, or a path (a ``Path``, or a string with a ``/`` or
    ending in ``.toml``), resolved as every front-end does (`pyparity.diff.policy_names`); None: the
    default policy of the pipeline that produced ``actual`` (its producer), as ``pyparity diff`` uses.
    ``stages``: globs to compare, each of which must match a stage (else `UsageError`); by default
    (``only_recorded``) the top-level groups ``actual`` records (a reference dump holds later stages too).
    Raises `ParityError` on divergence, `TypeError` for what is not a trace.
    """
    __tracebackhide__ = True
    from pyparity.app import ReportOptions, compare, recorded_groups

    act, exp = _as_trace(actual, "actual"), _as_trace(expected, "expected")
    if isinstance(stages, str):
        stages = [stages]
    # the engine's order is the command line's (`pyparity diff REFERENCE CANDIDATE`): expected first
    report = compare(act, exp, ReportOptions(policy=policy, stages=tuple(stages or ())),
                     scope=recorded_groups(act) if only_recorded else None)
    if not report.ok:
        raise ParityError(describe_failure(report, act, exp), report)
    return report


_NAME_PART = re.compile(r"[^A-Za-z0-9_.+-]+")


def _safe_part(text: str) -> str:
    part = _NAME_PART.sub("-", text).strip("-.") or "_"
    return part if re.match(r"[A-Za-z0-9_]", part) else "_" + part


def auto_golden_name(nodeid: str) -> str:
    """``tests/test_port.py::TestX::test_y[a/b]`` -> ``tests/test_port/TestX.test_y-a-b``."""
    path, _, rest = nodeid.partition("::")
    module = "/".join(_safe_part(p) for p in Path(path).with_suffix("").as_posix().split("/") if p not in ("", "."))
    test = _safe_part(rest.replace("::", ".").replace("[", "-").replace("]", ""))
    return f"{module}/{test}"


class Goldens:
    """The goldens of one test: ``check`` compares (or, under ``--pyparity-update``, blesses)."""

    def __init__(self, root: Path, update: bool, nodeid: str = "", log: "_Session | None" = None):
        self.root = Path(root)
        self.update = update
        self.nodeid = nodeid
        self.changes: list = []
        self._log = log
        self._auto = 0

    def path(self, name: str) -> Path:
        from pyparity.gate.goldens import golden_dir

        return golden_dir(self.root, name)

    def _next_name(self) -> str:
        if not self.nodeid:
            raise TypeError("check(actual, name): give the golden a name (no test id to name it from)")
        self._auto += 1
        base = auto_golden_name(self.nodeid)
        return base if self._auto == 1 else f"{base}.{self._auto}"

    def check(self, actual, name: str | None = None, stages=None, policy=None, force: bool = False):
        """Compare ``actual`` with golden ``name`` (default: named from the test id), on the golden's
        stages; under ``--pyparity-update`` bless it (only ``stages`` globs, if given) instead."""
        __tracebackhide__ = True
        from pyparity.gate.goldens import load_golden, save_golden
        from pyparity.trace.trace import glob_escape

        name = name if name is not None else self._next_name()
        if not isinstance(name, str):
            raise TypeError(f"check(actual, name): name must be a str, not {type(name).__name__}")
        act = _as_trace(actual, "actual")
        if self._log is not None:
            self._log.used.add(name)
        if self.update:
            change = save_golden(act, name, self.root, stages=stages, update=True, force=force)
            self.changes.append(change)
            if self._log is not None:
                self._log.changes.append(change)
            if change.action == "refused":
                pytest.fail(change.describe(), pytrace=False)
            return change
        path = self.path(name)
        if not path.exists():
            pytest.fail(f"golden {name} does not exist; run pytest --pyparity-update to create it from this run "
                        f"({path})", pytrace=False)
        gold = load_golden(self.root, name)
        return assert_parity(act, gold, policy=policy, stages=[glob_escape(n) for n in gold.names],
                             only_recorded=False)


def _module_key(nodeid: str) -> str:
    """The golden folder of a test's file (where its auto-named goldens are)."""
    return auto_golden_name(nodeid.partition("::")[0] + "::x").rsplit("/", 1)[0]


class _Session:
    """What this session did with goldens, reported at its end (a plugin object: its methods are hooks)."""

    def __init__(self, root: Path):
        self.root = root
        self.used: set[str] = set()
        self.changes: list = []
        self.modules: set[str] = set()  # golden folders of the test files collected
        self.incomplete: set[str] = set()  # ... of those with a test deselected, skipped or failed

    def pytest_deselected(self, items):
        self.incomplete.update(_module_key(item.nodeid) for item in items)

    def pytest_collection_finish(self, session):
        self.modules.update(_module_key(item.nodeid) for item in session.items)

    def pytest_runtest_logreport(self, report):
        if report.failed or report.skipped:
            self.incomplete.add(_module_key(report.nodeid))

    def pytest_terminal_summary(self, terminalreporter):
        tr = terminalreporter
        if self.changes:
            counts: dict[str, int] = {}
            for ch in self.changes:
                counts[ch.action] = counts.get(ch.action, 0) + 1
            tr.write_sep("-", "pyparity goldens")
            for ch in self.changes:
                if ch.action != "unchanged":
                    tr.write_line(ch.describe())
            tr.write_line(", ".join(f"{n} {a}" for a, n in sorted(counts.items())))
        unused = self.unused()
        if unused:
            tr.write_sep("-", "pyparity: unused goldens")
            tr.write_line(f"{len(unused)} golden(s) under {self.root} that no test of their file checked (all of "
                          "its tests ran and passed); delete them if they are obsolete:")
            for name in unused:
                tr.write_line(f"  {name}")

    def unused(self) -> list[str]:
        """Auto-named goldens of test files run in full and passed that no check used."""
        from pyparity.gate.goldens import list_goldens

        out = []
        for key in sorted(self.modules - self.incomplete):
            out += [f"{key}/{n}" for n, _ in list_goldens(self.root / key) if f"{key}/{n}" not in self.used]
        return out


_SESSION = pytest.StashKey[_Session]()


def pytest_addoption(parser):
    group = parser.getgroup("pyparity")
    group.addoption("--pyparity-update", "--pyparity-update-goldens", action="store_true", default=False,
                    dest="pyparity_update",
                    help="pyparity: create missing goldens and re-bless changed ones from this run instead of "
                         "comparing with them")
    parser.addini("pyparity_goldens_dir", "pyparity: golden root folder (relative to rootdir)", default="goldens")


def _root(config) -> Path:
    root = Path(config.getini("pyparity_goldens_dir"))
    return root if root.is_absolute() else Path(config.rootpath) / root


def pytest_configure(config):
    session = _Session(_root(config))
    config.stash[_SESSION] = session
    config.pluginmanager.register(session, "pyparity-goldens-session")


@pytest.fixture(name="assert_parity")
def assert_parity_fixture():
    """The `assert_parity` function, as a fixture."""
    return assert_parity


@pytest.fixture
def pyparity_goldens(request) -> Goldens:
    """Goldens for this test: ``pyparity_goldens.check(actual)`` (named from the test id) or
    ``check(actual, "name")``."""
    cfg = request.config
    return Goldens(_root(cfg), bool(cfg.getoption("pyparity_update")), request.node.nodeid,
                   cfg.stash.get(_SESSION, None))
