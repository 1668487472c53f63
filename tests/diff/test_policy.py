"""The policy reader (diff/policy.py): every value range-checked, booleans are booleans, unknown keys
refused, UTF-8 only, no recursion error; fuzzed with random bytes, truncation and mutation of the
shipped policies: a PolicyError (one line) or a policy whose every tolerance is valid."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyparity.cli.app import main
from pyparity.diff.policy import BUILTIN_POLICY_DIR, MAX_ULPS, Policy, Tolerance, load_policy, parse_policy
from pyparity.errors import PolicyError
from pyparity.trace import Recorder

BAD_VALUES = [
    ("atol = nan", "atol must be a finite non-negative number"),
    ("atol = inf", "atol must be a finite non-negative number"),
    ("atol = -inf", "atol must be a finite non-negative number"),
    ("atol = -1e-9", "atol must be a finite non-negative number"),
    ("atol = true", "atol must be a finite non-negative number"),
    ("atol = '0.1'", "atol must be a finite non-negative number"),
    ("atol = [0.1]", "atol must be a finite non-negative number"),
    ("rtol = nan", "rtol must be a finite non-negative number"),
    ("rtol = -0.5", "rtol must be a finite non-negative number"),
    ("rtol = +inf", "rtol must be a finite non-negative number"),
    ("rtol_max = nan", "rtol_max must be a finite non-negative number"),
    ("rtol_max = -1", "rtol_max must be a finite non-negative number"),
    ("ulps = -1", "ulps must be an integer from 0"),
    ("ulps = 1.5", "ulps must be an integer from 0"),
    ("ulps = 4.0", "ulps must be an integer from 0"),
    ("ulps = true", "ulps must be an integer from 0"),
    ("ulps = nan", "ulps must be an integer from 0"),
    (f"ulps = {MAX_ULPS + 1}", "ulps must be an integer from 0"),
    ("exact = 1", "exact must be true or false"),
    ("exact = 'yes'", "exact must be true or false"),
    ("ignore = 0", "ignore must be true or false"),
    ("check_dtype = 'false'", "check_dtype must be true or false"),
    ("nan_equal = 1", "nan_equal must be true or false"),
    ("order = 'random'", "order must be"),
    ("order = 1", "order must be"),
    ("expected = ''", "expected must be the reason"),
    ("expected = true", "expected must be the reason"),
    ("tolerance = 1", "unknown key(s) tolerance"),
    ("Atol = 1", "unknown key(s) Atol"),
]


@pytest.mark.parametrize("line,message", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
@pytest.mark.parametrize("where", ["default", "rule"])
def test_bad_value_is_refused(tmp_path, line, message, where):
    p = tmp_path / "p.toml"
    p.write_text(f"[default]\n{line}\n" if where == "default" else f"[[rule]]\nstages = ['x']\n{line}\n")
    with pytest.raises(PolicyError) as err:
        load_policy(p)
    text = str(err.value)
    assert message in text and "p.toml" in text and "\n" not in text


GOOD_VALUES = [("atol = 0", "atol", 0.0), ("atol = 0.0", "atol", 0.0), ("atol = 1e308", "atol", 1e308),
               ("rtol = 5", "rtol", 5.0), ("rtol_max = 0.5", "rtol_max", 0.5), ("ulps = 0", "ulps", 0),
               (f"ulps = {MAX_ULPS}", "ulps", MAX_ULPS), ("exact = false", "exact", False),
               ("nan_equal = false", "nan_equal", False), ("order = 'set'", "order", "set")]


@pytest.mark.parametrize("line,key,value", GOOD_VALUES, ids=[g[0] for g in GOOD_VALUES])
def test_limit_values_are_accepted(tmp_path, line, key, value):
    p = tmp_path / "p.toml"
    p.write_text(f"[default]\n{line}\n")
    got = getattr(load_policy(p).default, key)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text,message", [
    ("[default]\nstages = ['x']\n", "stages belongs in a [[rule]]"),
    ("description = 3\n", "description must be a string"),
    ("[tolerances]\natol = 1\n", "unknown section(s) tolerances"),
    ("default = 1\n", "[default] must be a table"),
    ("rule = 1\n", "[[rule]] tables"),
    ("rule = [1]\n", "rule 1: must be a table"),
    ("[[rule]]\nstages = []\n", "needs stages"),
    ("[[rule]]\nstages = ['']\n", "needs stages"),
    ("[[rule]]\nstages = [1]\n", "needs stages"),
    ("a = [" * 100_000 + "]" * 100_000, "not valid TOML"),
    ("x = {" * 100_000, "not valid TOML"),
])
def test_bad_structure_is_refused(tmp_path, text, message):
    p = tmp_path / "p.toml"
    p.write_text(text)
    with pytest.raises(PolicyError) as err:
        load_policy(p)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("raw", [b"[default]\natol = 0.1 # \xff\xfe\n", b"\xef\xbb\xbf\x80", "[default]\n# é\n".encode("latin-1")])
def test_policy_not_utf8_is_one_line_exit_2(tmp_path, capsys, raw):
    p = tmp_path / "p.toml"
    p.write_bytes(raw)
    with Recorder(tmp_path / "t") as rec:
        rec.save("x", np.ones(3))
    assert main(["diff", str(tmp_path / "t"), str(tmp_path / "t"), "--policy", str(p)]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8" in err and "p.toml" in err and len(err.strip().splitlines()) == 1


def test_policy_that_is_a_directory(tmp_path):
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path)


def test_nan_atol_through_the_cli(tmp_path, capsys):
    with Recorder(tmp_path / "t") as rec:
        rec.save("x", np.ones(3))
    p = tmp_path / "p.toml"
    p.write_text("[default]\natol = nan\n")
    assert main(["diff", str(tmp_path / "t"), str(tmp_path / "t"), "--policy", str(p)]) == 2
    assert "atol must be a finite non-negative number, got nan" in capsys.readouterr().err


def test_rule_without_tolerance_keys_inherits_the_default():
    pol = parse_policy({"default": {"atol": 0.5, "ulps": 2}, "rule": [{"stages": ["x"], "order": "set"}]}, "p")
    assert pol.tolerance_for("x") == Tolerance(atol=0.5, ulps=2, order="set")
    pol = parse_policy({"default": {"atol": 0.5, "ulps": 2}, "rule": [{"stages": ["x"], "rtol": 0.1}]}, "p")
    assert pol.tolerance_for("x") == Tolerance(rtol=0.1)


# fuzzing ---------------------------------------------------------------------------------

SHIPPED = sorted(BUILTIN_POLICY_DIR.glob("*.toml"))


def _valid(pol: Policy) -> None:
    for tol in [pol.default] + [r.tolerance for r in pol.rules]:
        for v in (tol.atol, tol.rtol, tol.rtol_max):
            assert type(v) is float and math.isfinite(v) and v >= 0
        assert tol.ulps is None or (type(tol.ulps) is int and 0 <= tol.ulps <= MAX_ULPS)
        for b in (tol.exact, tol.ignore, tol.check_dtype, tol.nan_equal):
            assert type(b) is bool
        assert tol.order in ("sequence", "set") and isinstance(tol.expected, str)
    for r in pol.rules:
        assert r.patterns and all(isinstance(p, str) and p for p in r.patterns)


def _outcome(p: Path) -> str:
    try:
        pol = load_policy(p)
    except PolicyError as exc:
        assert "\n" not in str(exc)
        return "refused"
    _valid(pol)
    return "read"


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(blob=st.binary(max_size=400))
def test_fuzz_random_bytes(tmp_path_factory, blob):
    p = tmp_path_factory.mktemp("p") / "p.toml"
    p.write_bytes(blob)
    assert _outcome(p) in ("refused", "read")


@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list("[]{}=\"'.,-+_ \n#atolrsuxcpdefginq0123456789")), max_size=200))
def test_fuzz_toml_like_text(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("p") / "p.toml"
    p.write_text(text)
    assert _outcome(p) in ("refused", "read")


@FUZZ
@given(source=st.sampled_from(SHIPPED), data=st.data())
def test_fuzz_mutated_shipped_policies(tmp_path_factory, source, data):
    raw = bytearray(source.read_bytes())
    op = data.draw(st.sampled_from(["truncate", "mutate", "insert"]))
    i = data.draw(st.integers(0, len(raw) - 1))
    if op == "truncate":
        raw = raw[:i]
    elif op == "mutate":
        raw[i] = data.draw(st.integers(0, 255))
    else:
        raw[i:i] = data.draw(st.sampled_from([b"nan", b"-", b"inf", b"true", b"[", b"\"", b"1e999", b"\xff", b"\n"]))
    p = tmp_path_factory.mktemp("p") / "p.toml"
    p.write_bytes(bytes(raw))
    assert _outcome(p) in ("refused", "read")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["atol", "rtol", "rtol_max", "ulps", "exact", "order", "ignore", "check_dtype",
                                        "nan_equal", "expected", "stages", "bogus"]),
                       st.one_of(st.floats(), st.integers(-2 ** 70, 2 ** 70), st.booleans(), st.text(max_size=5),
                                 st.lists(st.text(max_size=3), max_size=2), st.none()), max_size=6),
       st.booleans())
def test_fuzz_tolerance_tables(table, as_rule):
    data = {"rule": [dict(table, stages=table.get("stages", ["x"]))]} if as_rule else {"default": table}
    try:
        pol = parse_policy(data, "fuzz")
    except PolicyError as exc:
        assert "\n" not in str(exc)
    else:
        _valid(pol)


# what a rule takes from the default -----------------------------------------------------------

@pytest.mark.parametrize("key,value", [("atol", 0.25), ("rtol", 0.1), ("rtol_max", 1e-3), ("ulps", 7), ("exact", True)])
def test_a_rule_with_any_tolerance_key_starts_from_nothing(key, value):
    """A rule that sets atol, rtol, rtol_max, ulps or exact is its own tolerance: it inherits none of these."""
    pol = parse_policy({"default": {"atol": 0.5, "rtol": 0.2, "ulps": 2}, "rule": [{"stages": ["x"], key: value}]}, "p")
    assert pol.tolerance_for("x") == Tolerance(**{key: value})


@pytest.mark.parametrize("key,value", [("order", "set"), ("order", "sequence"), ("ignore", True), ("check_dtype", False),
                                       ("nan_equal", False), ("expected", "a fix")])
def test_a_rule_with_only_other_keys_keeps_the_default_tolerance(key, value):
    pol = parse_policy({"default": {"atol": 0.5, "ulps": 2}, "rule": [{"stages": ["x"], key: value}]}, "p")
    assert pol.tolerance_for("x") == Tolerance(atol=0.5, ulps=2, **{key: value})


# messages, word for word ----------------------------------------------------------------------

def test_unknown_keys_are_named_with_the_known_ones(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[default]\ntolerance = 1\nAtol = 2\n")
    with pytest.raises(PolicyError) as err:
        load_policy(p)
    assert str(err.value) == (f"{p} [default]: unknown key(s) Atol, tolerance (known: atol, check_dtype, exact, "
                              "expected, ignore, nan_equal, order, rtol, rtol_max, ulps)")
    with pytest.raises(PolicyError) as err:
        parse_policy({"rules": [], "defaults": {}}, "q.toml")
    assert str(err.value) == "q.toml: unknown section(s) defaults, rules (expected [default], [[rule]])"


def test_a_missing_policy_file_says_so_in_one_line(tmp_path):
    with pytest.raises(PolicyError) as err:
        load_policy(tmp_path / "nope.toml")
    assert str(err.value) == f"{tmp_path / 'nope.toml'}: cannot read policy file (No such file or directory)"


def test_policies_are_read_as_utf8_whatever_the_locale(tmp_path):
    """A policy in UTF-8 (a comment and a reason in French) read by a Python whose locale encoding is ASCII."""
    import os
    import subprocess
    import sys

    import pyparity

    p = tmp_path / "p.toml"
    p.write_text('[default]\natol = 0.5  # écart ≤ ½\n[[rule]]\nstages = ["x"]\nexpected = "corrigé"\n', encoding="utf-8")
    env = dict(os.environ, LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0",
               PYTHONPATH=str(Path(pyparity.__file__).parents[1]))
    code = ("import locale, sys; from pyparity.diff.policy import load_policy; "
            "assert locale.getpreferredencoding(False).lower() in ('ascii', 'ansi_x3.4-1968'), locale.getpreferredencoding(False); "
            f"pol = load_policy({str(p)!r}); sys.stdout.buffer.write(pol.tolerance_for('x').expected.encode('utf-8'))")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
    assert run.returncode == 0, run.stderr.decode()
    assert run.stdout.decode("utf-8") == "corrigé"


def test_policies_are_read_as_utf8_under_an_ascii_locale_in_this_process(tmp_path, ascii_locale):
    p = tmp_path / "p.toml"
    p.write_bytes('[default]\natol = 0.5  # écart ≤ ½\n[[rule]]\nstages = ["x"]\nexpected = "corrigé"\n'.encode("utf-8"))
    assert load_policy(p).tolerance_for("x").expected == "corrigé"


def test_a_rule_may_name_one_glob_as_a_string():
    pol = parse_policy({"rule": [{"stages": "mtcnn/*", "atol": 0.5}]}, "p")
    assert pol.rules[0].patterns == ("mtcnn/*",)
    assert pol.tolerance_for("mtcnn/boxes").atol == 0.5 and pol.tolerance_for("clnf/x").atol != 0.5
