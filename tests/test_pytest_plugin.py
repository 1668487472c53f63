"""The pytest plugin, loaded through its pytest11 entry point, exercised in a child pytest (pytester).

Child runs are subprocesses: in-process runs forget modules imported inside them and NumPy/SciPy
cannot be imported twice in one process."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture
def dumps_env(pytester, openface_dumps):
    pytester.makeini("[pytest]\npyparity_goldens_dir = gold\n")
    pytester.makeconftest(f"""
import pytest
from pyparity.trace import read_trace, Trace
DUMPS = {str(openface_dumps / 'images')!r}

@pytest.fixture
def ref():
    return read_trace(DUMPS + "/sample1.jpg")

@pytest.fixture
def run(ref):
    sel = ref.select(["mtcnn/onet/**", "mtcnn/output/**"])
    return Trace.from_arrays([(n, sel[n]) for n in sel.names], meta={{"producer": {{"name": "pyparity", "version": __import__("pyparity").__version__}}}})
""")
    return pytester


def test_plugin_is_registered_by_entry_point(pytester):
    res = pytester.runpytest_subprocess("--help")
    res.stdout.fnmatch_lines(["*--pyparity-update-goldens*"])


def test_assert_parity_passes_and_fails_with_the_summary(dumps_env):
    dumps_env.makepyfile("""
import numpy as np
from pyparity.pytest_plugin import assert_parity
from pyparity.trace import Trace

def test_same(run, ref):
    rep = assert_parity(run, ref, policy="mtcnn")
    assert rep.ok

def test_fixture_form(run, ref, assert_parity):
    assert_parity(run, ref)

def test_shifted(run, ref):
    arrs = [(n, run[n] + np.float32(0.01) if n == "mtcnn/output/boxes" else run[n]) for n in run.names]
    assert_parity(Trace.from_arrays(arrs), ref, policy="mtcnn")
""")
    res = dumps_env.runpytest_subprocess("-q")
    res.assert_outcomes(passed=2, failed=1)
    res.stdout.fnmatch_lines(["*ParityError*first divergence: mtcnn/output/boxes (diverged, max abs 0.01*"])


def test_goldens_fixture_update_then_compare(dumps_env, monkeypatch):
    dumps_env.makepyfile("""
import os
import numpy as np
from pyparity.trace import Trace

def test_golden(run, pyparity_goldens):
    if os.environ.get("SHIFT"):
        run = Trace.from_arrays([(n, run[n] + np.float32(1) if n == "mtcnn/output/scores" else run[n]) for n in run.names], meta=run.meta)
    pyparity_goldens.check(run, "mtcnn/sample1", stages=["mtcnn/output/*"])
""")
    res = dumps_env.runpytest_subprocess("-q")
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(["*golden mtcnn/sample1 does not exist*--pyparity-update-goldens*"])
    res = dumps_env.runpytest_subprocess("-q", "-s", "--pyparity-update-goldens")
    res.assert_outcomes(passed=1)
    res.stdout.fnmatch_lines(["*golden mtcnn/sample1: created (3 stages)*"])
    assert (dumps_env.path / "gold" / "mtcnn" / "sample1" / "arrays.npz").is_file()
    dumps_env.runpytest_subprocess("-q").assert_outcomes(passed=1)
    monkeypatch.setenv("SHIFT", "1")
    res = dumps_env.runpytest_subprocess("-q")
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(["*first divergence: mtcnn/output/scores*"])
