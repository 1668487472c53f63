"""The pytest plugin, loaded through its pytest11 entry point, exercised in a child pytest (pytester).

Child runs are subprocesses: in-process runs forget modules imported inside them and NumPy/SciPy
cannot be imported twice in one process."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from pyparity.pytest_plugin import ParityError, assert_parity, auto_golden_name
from pyparity.trace import Trace

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parents[1] / "README.md"


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


def readme_example() -> str:
    """The README's complete pytest example (the python block that starts with ``# test_pyramid.py``)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    found = [b for b in blocks if b.startswith("# test_pyramid.py")]
    assert len(found) == 1, "README.md must hold exactly one pytest example starting with '# test_pyramid.py'"
    return found[0]


def test_plugin_is_registered_by_entry_point(pytester):
    res = pytester.runpytest_subprocess("--help")
    res.stdout.fnmatch_lines(["*--pyparity-update, --pyparity-update-goldens*"])


def test_readme_example_records_blesses_and_rechecks_a_golden(pytester, openface_dumps, monkeypatch):
    """The README's example as a user project: the golden (producer "myport") is missing, created with
    --pyparity-update, accepted on the next runs; a bug fails both tests with stage, cause, tolerance and
    both values; a golden nothing checks any more is reported."""
    monkeypatch.setenv("COLUMNS", "400")  # -ra lines whole
    shared = openface_dumps.parent.parent
    src = readme_example()
    assert '"../shared/reference_dumps/openface-2.0.2/images/sample1.jpg"' in src
    pytester.makepyfile(test_pyramid=src.replace('"../shared/', f'"{shared}/'))

    res = pytester.runpytest_subprocess("-ra")
    res.assert_outcomes(passed=1, failed=1)
    res.stdout.fnmatch_lines(["FAILED test_pyramid.py::test_golden - Failed: golden test_pyramid/test_golden does not "
                              "exist*--pyparity-update*"])
    assert not (pytester.path / "goldens").exists()

    res = pytester.runpytest_subprocess("--pyparity-update")
    res.assert_outcomes(passed=2)
    res.stdout.fnmatch_lines(["*- pyparity goldens -*", "golden test_pyramid/test_golden: created (7 stages)", "1 created"])
    meta = (pytester.path / "goldens" / "test_pyramid" / "test_golden" / "meta.json").read_text()
    assert '"myport"' in meta and '"format": 1' in meta
    res = pytester.runpytest_subprocess("--pyparity-update")  # re-blessing the same values changes nothing
    res.assert_outcomes(passed=2)
    res.stdout.fnmatch_lines(["1 unchanged"])
    pytester.runpytest_subprocess().assert_outcomes(passed=2)

    bug = pytester.path / "test_pyramid.py"
    bug.write_text(bug.read_text().replace("factor=0.709", "factor=0.71"))
    res = pytester.runpytest_subprocess("-ra", "-p", "no:cacheprovider")
    res.assert_outcomes(failed=2)
    out = res.stdout.str()
    first = re.compile(r"ParityError: mtcnn/pnet/s01/scale diverged \(likely cause: [^\n]+\): actual 0\.142 vs expected "
                       r"0\.1418 \(\|diff\| 0\.0002, tolerance rel≤1e-05 or 4 ulp, 1 of 1 over\)")
    assert len(first.findall(out)) == 2 * 2, out  # against the reference and the golden; each in its -ra line too
    res.stdout.fnmatch_lines(["*expected (A): */images/sample1.jpg", "*expected (A): *goldens/test_pyramid/test_golden",
                              "FAILED test_pyramid.py::test_matches_openface - ParityError: mtcnn/pnet/s01/scale diverged*"])
    # the plugin's frames are hidden: the traceback is the user's line only
    assert "pytest_plugin.py" not in out and "__tracebackhide__" not in out and "describe_failure" not in out

    bug.write_text(bug.read_text().replace("factor=0.71", "factor=0.709").replace("def test_golden(", "def test_renamed("))
    res = pytester.runpytest_subprocess("--pyparity-update")
    res.assert_outcomes(passed=2)
    res.stdout.fnmatch_lines(["*- pyparity: unused goldens -*", "1 golden(s) under * that no test of their file checked*",
                              "  test_pyramid/test_golden"])
    # a run of part of the file cannot tell what is unused: no report
    res = pytester.runpytest_subprocess("-k", "renamed")
    res.assert_outcomes(passed=1)
    assert "unused" not in res.stdout.str()


def test_assert_parity_passes_and_fails_with_the_first_divergence(dumps_env):
    dumps_env.makepyfile("""
import numpy as np
from pyparity.pytest_plugin import assert_parity
from pyparity.trace import Trace

def test_same(run, ref):
    rep = assert_parity(run, ref, policy="mtcnn")
    assert rep.ok

def test_fixture_form(run, ref, assert_parity):
    assert_parity(run, ref)

def test_dict_of_arrays(run, ref):
    assert_parity({n: run[n] for n in run.names}, ref, policy="mtcnn")

def test_shifted(run, ref):
    arrs = [(n, run[n] + np.float32(0.01) if n == "mtcnn/output/boxes" else run[n]) for n in run.names]
    assert_parity(Trace.from_arrays(arrs), ref, policy="mtcnn")
""")
    res = dumps_env.runpytest_subprocess("-q")
    res.assert_outcomes(passed=3, failed=1)
    res.stdout.fnmatch_lines(["E       ParityError: mtcnn/output/boxes diverged (likely cause: *): actual * vs "
                              "expected * at [[]0, *[]] (|diff| 0.01, tolerance abs≤0.0005, 4 of 4 over)"])


def test_goldens_fixture_named_golden_update_then_compare(dumps_env, monkeypatch):
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
    res.stdout.fnmatch_lines(["*golden mtcnn/sample1 does not exist*--pyparity-update*"])
    res = dumps_env.runpytest_subprocess("-q", "--pyparity-update-goldens")  # the former spelling still works
    res.assert_outcomes(passed=1)
    res.stdout.fnmatch_lines(["golden mtcnn/sample1: created (3 stages)"])
    assert (dumps_env.path / "gold" / "mtcnn" / "sample1" / "arrays.npz").is_file()
    dumps_env.runpytest_subprocess("-q").assert_outcomes(passed=1)
    monkeypatch.setenv("SHIFT", "1")
    res = dumps_env.runpytest_subprocess("-q")
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(["E       ParityError: mtcnn/output/scores diverged*"])
    res = dumps_env.runpytest_subprocess("-q", "--pyparity-update")
    res.assert_outcomes(passed=1)
    res.stdout.fnmatch_lines(["golden mtcnn/sample1: updated: 1 changed (mtcnn/output/scores)", "1 updated"])


def _tiny(**over) -> Trace:
    arrays = {"p/a": np.arange(6, dtype=np.float32).reshape(2, 3), "p/b": np.float64(0.5)}
    arrays.update(over)
    return Trace.from_arrays(arrays)


def test_wrong_types_are_refused_with_a_clear_message():
    with pytest.raises(TypeError, match="expected must be a Trace, a Recorder, a trace folder .* not list"):
        assert_parity(_tiny(), [1, 2, 3])
    with pytest.raises(TypeError, match="actual must be a Trace.* not int"):
        assert_parity(3, _tiny())
    with pytest.raises(TypeError, match="dict of arrays needs stage names .str. as keys, got 0"):
        assert_parity({0: np.zeros(2)}, _tiny())


def test_message_leads_with_stage_values_and_tolerance():
    actual = _tiny(**{"p/a": np.array([[0, 1, 2], [3, 4.25, 5]], dtype=np.float32)})
    with pytest.raises(ParityError) as exc:
        assert_parity(actual, _tiny())
    first = str(exc.value).splitlines()[0]
    assert re.fullmatch(r"p/a diverged \(likely cause: .+\): actual 4\.25 vs expected 4 at \[1, 1\] "
                        r"\(\|diff\| 0\.25, tolerance rel≤1e-05 or 4 ulp, 1 of 6 over\)", first), first
    assert exc.value.report.first_divergence == "p/a"
    with pytest.raises(ParityError, match=r"^p/a shape-mismatch: shape \(3,\) vs expected \(2, 3\)"):
        assert_parity(_tiny(**{"p/a": np.zeros(3, np.float32)}), _tiny())
    # the order is (actual, expected): a stage only the actual run has is "only in actual"
    with pytest.raises(ParityError, match="only in actual"):
        assert_parity(_tiny(**{"p/a": np.zeros((2, 3), np.float32), "p/c": np.zeros(1)}), _tiny())


def test_a_parity_error_pickles_with_its_report():
    """It poses as a builtin for pytest's short lines, yet crosses process boundaries (pytest-xdist,
    multiprocessing) whole."""
    import pickle

    with pytest.raises(ParityError) as exc:
        assert_parity(_tiny(**{"p/a": np.zeros((2, 3), np.float32)}), _tiny())
    back = pickle.loads(pickle.dumps(exc.value))
    assert type(back) is ParityError and str(back) == str(exc.value)
    assert back.report.first_divergence == "p/a" == exc.value.report.first_divergence


@pytest.mark.parametrize("nodeid, name", [
    ("tests/test_port.py::test_x", "tests/test_port/test_x"),
    ("test_port.py::TestA::test_x[sample1.jpg-0.5]", "test_port/TestA.test_x-sample1.jpg-0.5"),
    ("t.py::test_x[a/b c]", "t/test_x-a-b-c"),
    ("t.py::test_x[-]", "t/test_x"),
])
def test_auto_golden_names_are_valid_golden_names(nodeid, name, tmp_path):
    from pyparity.gate.goldens import golden_dir

    assert auto_golden_name(nodeid) == name
    golden_dir(tmp_path, name)  # accepted by the golden store
