"""pytest plugin (registered through the ``pytest11`` entry point ``pyparity``).

- ``assert_parity(trace, reference, policy=None, stages=None)``: importable function and fixture; on
  divergence it fails with the diff's summary (first divergence, diagnosis, worst stage).
- ``pyparity_goldens`` fixture: ``pyparity_goldens.check(trace, "name", stages=[...])`` compares a
  trace with golden ``name``; under ``--pyparity-update-goldens`` it (re)blesses the golden instead
  and prints what changed. The golden root is the ``pyparity_goldens_dir`` ini value (default
  ``goldens``, relative to the rootdir).

Importing this module imports nothing heavy: NumPy and the diff engine load when first used.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


class ParityError(AssertionError):
    """A trace diverged from its reference; the message is the diff report's summary."""

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report


def _as_trace(t):
    from pyparity.trace import Trace, read_trace

    if isinstance(t, Trace):
        return t
    if isinstance(t, (str, os.PathLike)):
        return read_trace(t)
    if hasattr(t, "finish"):  # a Recorder
        return t.finish()
    raise TypeError(f"expected a Trace, a Recorder or a trace path, got {type(t).__name__}")


def assert_parity(trace, reference, policy=None, stages=None, only_recorded: bool = True):
    """Assert that ``trace`` matches ``reference`` stage by stage; returns the `DiffReport`.

    ``policy``: a Policy, a built-in policy name, or a path (a ``Path``, or a string with a ``/`` or
    ending in ``.toml``), resolved as every front-end does (`pyparity.diff.policy_names`); None: the
    default policy of the pipeline that produced ``trace`` (its producer), as ``pyparity diff`` uses.
    ``stages``: globs to compare (each must match a stage, else `UsageError`); by default
    (``only_recorded``) the top-level groups ``trace`` records (a dump holds later stages too).
    """
    from pyparity.app import ReportOptions, compare, recorded_groups

    tr, ref = _as_trace(trace), _as_trace(reference)
    report = compare(ref, tr, ReportOptions(policy=policy, stages=tuple(stages or ())),
                     scope=recorded_groups(tr) if only_recorded else None)
    if not report.ok:
        raise ParityError(f"{tr.source} vs {ref.source}: " + report.summary(), report)
    return report


class Goldens:
    """Golden access for a test: ``check`` compares (or, when updating, blesses)."""

    def __init__(self, root: Path, update: bool):
        self.root = Path(root)
        self.update = update
        self.changes: list = []

    def path(self, name: str) -> Path:
        from pyparity.gate.goldens import golden_dir

        return golden_dir(self.root, name)

    def check(self, trace, name: str, stages=None, policy=None, force: bool = False):
        """Compare ``trace`` with golden ``name`` (only the golden's stages); bless it when updating."""
        from pyparity.gate.goldens import load_golden, save_golden

        tr = _as_trace(trace)
        if self.update:
            change = save_golden(tr, name, self.root, stages=stages, update=True, force=force)
            self.changes.append(change)
            print(change.describe())
            return change
        if not self.path(name).exists():
            pytest.fail(f"golden {name} does not exist under {self.root}; run pytest --pyparity-update-goldens "
                        "to bless it", pytrace=False)
        from pyparity.trace.trace import glob_escape

        gold = load_golden(self.root, name)
        return assert_parity(tr, gold, policy=policy, stages=[glob_escape(n) for n in gold.names],
                             only_recorded=False)


def pytest_addoption(parser):
    group = parser.getgroup("pyparity")
    group.addoption("--pyparity-update-goldens", action="store_true", default=False,
                    help="pyparity: re-bless goldens from this run instead of comparing with them")
    parser.addini("pyparity_goldens_dir", "pyparity: golden root folder (relative to rootdir)", default="goldens")


@pytest.fixture(name="assert_parity")
def assert_parity_fixture():
    """The `assert_parity` function, as a fixture."""
    return assert_parity


@pytest.fixture
def pyparity_goldens(request) -> Goldens:
    cfg = request.config
    root = Path(cfg.getini("pyparity_goldens_dir"))
    if not root.is_absolute():
        root = Path(cfg.rootpath) / root
    return Goldens(root, bool(cfg.getoption("pyparity_update_goldens")))
