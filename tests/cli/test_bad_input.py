"""Bad input: one clear line naming the file and the problem, exit code 2, never a traceback."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest

from pyparity.cli.app import main
from pyparity.trace import Recorder


def _trace(path, **arrays):
    with Recorder(path) as rec:
        for k, v in arrays.items():
            rec.save(k, v)
    return path


def _truncate_npz(p):
    data = (p / "arrays.npz").read_bytes()
    (p / "arrays.npz").write_bytes(data[: len(data) // 2])


def _corrupt_member(p):
    src = p / "arrays.npz"
    tmp = p / "x.npz"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for zi in zin.infolist():
            zout.writestr(zi.filename, b"\x93NUMPY garbage")
    tmp.replace(src)


def _index_missing_array(p):
    lines = (p / "index.tsv").read_text().splitlines()
    lines.append(f"{len(lines) - 1}\tghost\tfloat32\t3")
    (p / "index.tsv").write_text("\n".join(lines) + "\n")


def _index_wrong_shape(p):
    text = (p / "index.tsv").read_text().replace("float64\t4", "float64\t5")
    (p / "index.tsv").write_text(text)


def _index_duplicate(p):
    lines = (p / "index.tsv").read_text().splitlines()
    lines.append(lines[1].replace("0\t", f"{len(lines) - 1}\t", 1))
    (p / "index.tsv").write_text("\n".join(lines) + "\n")


def _index_bad_header(p):
    (p / "index.tsv").write_text("name\tshape\nfoo\t3\n")


def _meta_not_json(p):
    (p / "meta.json").write_text("{not json")


def _not_a_trace(p):
    shutil.rmtree(p)
    p.mkdir()
    (p / "hello.txt").write_text("hi")


CASES = [
    ("truncated npz", _truncate_npz, "truncated or corrupt"),
    ("corrupt member", _corrupt_member, "corrupt"),
    ("index names a missing array", _index_missing_array, "not in the archive"),
    ("index disagrees on shape", _index_wrong_shape, "index says"),
    ("duplicate name in index", _index_duplicate, "duplicate"),
    ("malformed index header", _index_bad_header, "header"),
    ("meta.json not JSON", _meta_not_json, "not valid JSON"),
    ("directory that is not a trace", _not_a_trace, "not a trace"),
]


@pytest.mark.parametrize("label,breaker,message", CASES, ids=[c[0] for c in CASES])
def test_broken_trace_gives_one_line_and_exit_2(tmp_path, capsys, label, breaker, message):
    good = _trace(tmp_path / "good", a=np.arange(4.0), b=np.ones((2, 2), np.float32))
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    breaker(bad)
    code = main(["diff", str(good), str(bad)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert message in err and "bad" in err
    assert len(err.strip().splitlines()) == 1


def test_nonexistent_path(tmp_path, capsys):
    code = main(["diff", str(tmp_path / "nope"), str(tmp_path / "nope2")])
    assert code == 2
    assert "no such file or directory" in capsys.readouterr().err


@pytest.mark.parametrize("text,message", [
    ("[default\nrtol=1", "not valid TOML"),
    ("[[rule]]\nstages=['*']\natol=-1", "non-negative"),
    ("[[rule]]\natol=1", "needs stages"),
    ("[default]\nbogus=1", "unknown key"),
    ("[[rule]]\nstages=['*']\norder='random'", "order must be"),
])
def test_malformed_policy(tmp_path, capsys, text, message):
    t = _trace(tmp_path / "t", a=np.ones(3))
    pol = tmp_path / "policy.toml"
    pol.write_text(text)
    code = main(["diff", str(t), str(t), "--policy", str(pol)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "policy.toml" in err


def test_nan_on_one_side_only_diverges(tmp_path):
    a = _trace(tmp_path / "a", x=np.array([1.0, 2.0, np.nan]), y=np.array([np.nan, 1.0]))
    b = _trace(tmp_path / "b", x=np.array([1.0, np.nan, np.nan]), y=np.array([np.nan, 1.0]))
    out = tmp_path / "r.json"
    assert main(["diff", str(a), str(b), "--json", str(out), "-q"]) == 1
    import json

    rep = json.loads(out.read_text())
    x, y = rep["stages"]
    assert x["status"] == "diverged" and x["nan"] == [1, 2] and x["n_over"] == 1
    assert y["status"] == "match"  # NaN at the same place on both sides is equal


def test_shape_and_dtype_mismatch_are_statuses(tmp_path):
    a = _trace(tmp_path / "a", x=np.ones((2, 3), np.float32), y=np.ones(3, np.float32))
    b = _trace(tmp_path / "b", x=np.ones((3, 2), np.float32), y=np.ones(3, np.float64))
    out = tmp_path / "r.json"
    assert main(["diff", str(a), str(b), "--json", str(out), "-q"]) == 1
    import json

    st = {s["name"]: s["status"] for s in json.loads(out.read_text())["stages"]}
    assert st == {"x": "shape-mismatch", "y": "dtype-mismatch"}


def test_rtol_max_scales_with_the_stage_peak(tmp_path):
    from pyparity.diff import diff_traces, load_policy
    from pyparity.trace import Trace

    a = Trace.from_arrays({"maps": np.array([1000.0, 1e-3, -2.0], np.float32)})
    b = Trace.from_arrays({"maps": np.array([1000.05, 2e-3, -2.05], np.float32)})
    pol = tmp_path / "p.toml"
    pol.write_text('[[rule]]\nstages = ["maps"]\nrtol_max = 1e-4\n')
    assert diff_traces(b, a, load_policy(pol)).ok          # 0.05 <= 1e-4 * 1000
    pol.write_text('[[rule]]\nstages = ["maps"]\nrtol_max = 1e-5\n')
    assert not diff_traces(b, a, load_policy(pol)).ok      # 0.05 > 1e-5 * 1000


def test_expected_divergence_is_listed_and_fails_nothing(tmp_path):
    from pyparity.diff import diff_traces, load_policy
    from pyparity.trace import Trace

    a = Trace.from_arrays({"solver/scale": np.array([1.0, 2.0]), "solver/out": np.array([3.0])})
    b = Trace.from_arrays({"solver/scale": np.array([1.0, 2.5]), "solver/out": np.array([3.5])})
    pol = tmp_path / "p.toml"
    pol.write_text('[[rule]]\nstages = ["solver/**"]\nexpected = "the signed fallback fixes upstream"\n')
    rep = diff_traces(b, a, load_policy(pol))
    assert rep.ok and [s.name for s in rep.expected] == ["solver/scale", "solver/out"]
    assert "expected divergence" in rep.summary()
    assert rep.to_dict()["expected_divergences"][0]["reason"].startswith("expected: the signed")
    pol.write_text('[[rule]]\nstages = ["solver/out"]\nexpected = "later stage"\n')
    rep = diff_traces(b, a, load_policy(pol))
    assert rep.first_divergence == "solver/scale"
