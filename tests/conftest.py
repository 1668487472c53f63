"""Shared fixtures. Tests that need ../shared (OpenFace models, samples, reference dumps) use the
`shared_dir` fixture: they skip when it is absent, except under PYPARITY_REQUIRE_SHARED=1 (set by
.ci/run), where a missing ../shared is an error rather than a silent skip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_path() -> Path:
    return Path(os.environ.get("PYPARITY_SHARED", REPO.parent / "shared")).resolve()


def shared_available() -> bool:
    return (_shared_path() / "reference_dumps").is_dir()


# pyparity itself finds the shared folder only through $PYPARITY_SHARED (or an option): the tests' default,
# ../shared beside the checkout, is handed to it the same way (subprocesses inherit it).
if shared_available():
    os.environ.setdefault("PYPARITY_SHARED", str(_shared_path()))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    p = _shared_path()
    if not (p / "reference_dumps").is_dir():
        if os.environ.get("PYPARITY_REQUIRE_SHARED") == "1":
            pytest.fail(f"PYPARITY_REQUIRE_SHARED=1 but {p} has no reference_dumps/")
        pytest.skip(f"needs the shared data folder at {p}")
    return p


@pytest.fixture(scope="session")
def openface_dumps(shared_dir) -> Path:
    return shared_dir / "reference_dumps" / "openface-2.0.2"


@pytest.fixture(scope="session")
def openface_model_dir(shared_dir) -> Path:
    """The shared mirror laid out like OpenFace's lib/local/LandmarkDetector/model/ folder."""
    return shared_dir / "openface" / "model"


@pytest.fixture(scope="session")
def samples_dir(shared_dir) -> Path:
    return shared_dir / "openface" / "samples"


@pytest.fixture(scope="session")
def openface_au_dir(shared_dir) -> Path:
    """OpenFace's lib/local/FaceAnalyser/AU_predictors folder (FaceAnalyser's models) in ../shared."""
    return shared_dir / "openface" / "cpp-2.0.2" / "lib" / "local" / "FaceAnalyser" / "AU_predictors"


@pytest.fixture(scope="session")
def au_dumps(shared_dir) -> Path:
    """The AU reference dumps (C++ FaceAnalyser on every face of the 26 shared images)."""
    return shared_dir / "reference_dumps" / "openface-2.0.2-au"


@pytest.fixture
def ascii_locale():
    """This process's text encoding made ASCII (LC_CTYPE=C) for one test, then restored: a file read
    without ``encoding="utf-8"`` fails on a non-ASCII byte. In UTF-8 mode (PYTHONUTF8=1) the locale
    does not decide the encoding, so there is nothing to test."""
    import locale
    import sys

    if sys.flags.utf8_mode:
        pytest.skip("Python runs in UTF-8 mode: the locale does not choose the encoding")
    saved = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        assert locale.getpreferredencoding(False).lower() in ("ascii", "ansi_x3.4-1968")
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)
