"""Trust (issue 14), class 2: one policy resolver for every front-end. A bare name is a built-in
policy (never a file that happens to be in the working directory), a path is a path; shipped-probe
names resolve only inside the shipped folder."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.cli.app import main
from pyparity.diff.policy import builtin_policy
from pyparity.diff.policy_names import builtin_policy_names, policy_reference, resolve_policy
from pyparity.errors import PolicyError, PyparityError
from pyparity.pytest_plugin import ParityError, assert_parity
from pyparity.trace import Recorder

IGNORE_ALL = "[default]\nignore = true\n"


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """A working directory holding a file named like a built-in policy that would make anything pass."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mtcnn").write_text(IGNORE_ALL)
    return tmp_path


@pytest.fixture
def diverging(tmp_path):
    """Two traces that diverge under the built-in mtcnn policy (exact keep-lists differ)."""
    for name, v in (("a", 0.0), ("b", 1.0)):
        with Recorder(tmp_path / name) as rec:
            rec.save("mtcnn/output/boxes", np.full((2, 4), v, np.float32))
    return tmp_path / "a", tmp_path / "b"


def test_resolver_rules(planted):
    assert resolve_policy(None) is None
    pol = builtin_policy("openface")
    assert resolve_policy(pol) is pol
    assert resolve_policy("mtcnn").source == builtin_policy("mtcnn").source       # not ./mtcnn
    assert resolve_policy("./mtcnn").default.ignore                                # the file, asked for as a path
    assert resolve_policy(planted / "mtcnn").default.ignore                        # a Path is a path
    assert policy_reference("mtcnn") == "mtcnn"
    assert policy_reference("./mtcnn") == str(planted / "mtcnn")
    (planted / "sub").mkdir()
    (planted / "sub" / "p.toml").write_text(IGNORE_ALL)
    assert resolve_policy("p.toml", base=planted / "sub").default.ignore           # .toml: a path, from base
    assert set(builtin_policy_names()) >= {"default", "mtcnn", "openface", "img2pose", "pof"}


@pytest.mark.parametrize("ref, message", [
    ("nosuch", "no built-in policy named 'nosuch' (have: default"),
    ("", "empty name"),
    ("./nosuch", "nosuch"),
    ("../../etc/passwd.toml", "passwd.toml"),
    (3, "expected a Policy"),
])
def test_bad_references(planted, ref, message):
    with pytest.raises(PolicyError, match=message.replace("(", r"\(")):
        resolve_policy(ref)


def test_cli_diff_uses_the_builtin_not_the_planted_file(planted, diverging, capsys):
    a, b = diverging
    assert main(["diff", str(a), str(b), "--policy", "mtcnn", "-q"]) == 1    # built-in: diverged
    assert main(["diff", str(a), str(b), "--policy", "./mtcnn", "-q"]) == 1  # the file ignores all: nothing compared
    assert main(["diff", str(a), str(b), "--policy", "nosuch"]) == 2
    assert "no built-in policy named 'nosuch'" in capsys.readouterr().err


def test_run_front_end_uses_the_builtin(planted, diverging):
    from pyparity.app import ReportOptions, compare, recorded_groups
    from pyparity.trace import read_trace

    a, b = diverging
    tb = read_trace(b)
    assert not compare(tb, read_trace(a), ReportOptions(policy="mtcnn"), scope=recorded_groups(tb)).ok


def test_pytest_plugin_uses_the_builtin(planted, diverging):
    a, b = diverging
    with pytest.raises(ParityError, match="^mtcnn/output/boxes diverged"):
        assert_parity(b, a, policy="mtcnn")
    with pytest.raises(ParityError, match="nothing compared"):
        assert_parity(b, a, policy="./mtcnn")


def test_gate_corpus_uses_the_builtin(planted):
    from pyparity.gate.corpus import load_corpus

    (planted / "in.jpg").write_bytes(b"x")
    spec = planted / "c.toml"
    spec.write_text('[corpus]\npipeline = "mtcnn"\npolicy = "mtcnn"\n[[case]]\ninput = "in.jpg"\n'
                    '[[case]]\nname = "f"\ninput = "in.jpg"\npolicy = "./mtcnn"\n')
    c = load_corpus(spec)
    assert c.cases[0].policy == "mtcnn" and c.cases[1].policy == str(planted / "mtcnn")
    spec.write_text('[corpus]\npipeline = "mtcnn"\npolicy = "nosuch"\n[[case]]\ninput = "in.jpg"\n')
    with pytest.raises(PyparityError, match="no built-in policy named 'nosuch'"):
        load_corpus(spec)


def test_probe_policy_uses_the_resolver(tmp_path):
    from pyparity.probe import load_probe

    body = '[probe]\nname = "p"\npolicy = "{}"\n[port]\ncall = "m:f"\n[[capture]]\ntarget = "m:f"\nstage = "s"\n'
    p = tmp_path / "p.toml"
    p.write_text(body.format("mtcnn"))
    assert load_probe(p).policy == "mtcnn"
    (tmp_path / "mine.toml").write_text(IGNORE_ALL)
    p.write_text(body.format("mine.toml"))
    assert load_probe(p).policy == str(tmp_path / "mine.toml")
    p.write_text(body.format("nosuch"))
    with pytest.raises(PyparityError, match="no built-in policy named 'nosuch'"):
        load_probe(p)


@pytest.mark.parametrize("name", ["../../pyproject", "../shipped/pymtcnn-1.2", "a/b", "pymtcnn-1.2.policy", "nosuch",
                                  "..", "./nosuch"])
def test_shipped_probe_names_stay_in_the_shipped_folder(tmp_path, monkeypatch, capsys, name):
    from pyparity.probe.spec import resolve_probe_path

    monkeypatch.chdir(tmp_path)
    with pytest.raises(PyparityError):
        resolve_probe_path(name)
    img = tmp_path / "x.jpg"
    img.write_bytes(b"x")
    assert main(["record", name, str(img), "--out", str(tmp_path / "t")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "t").exists()


def test_a_file_named_like_a_shipped_probe_is_not_picked_up(tmp_path, monkeypatch):
    from pyparity.probe.spec import SHIPPED_DIR, resolve_probe_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pymtcnn-1.2").write_text("[probe]\n")
    assert resolve_probe_path("pymtcnn-1.2") == SHIPPED_DIR / "pymtcnn-1.2.toml"
    assert resolve_probe_path("./pymtcnn-1.2") == tmp_path / "pymtcnn-1.2" or \
        resolve_probe_path("./pymtcnn-1.2").resolve() == (tmp_path / "pymtcnn-1.2").resolve()

