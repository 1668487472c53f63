"""Aligning two traces by name (diff/align.py): renames, regexes, prefixes, ignores, B-only placement,
and every mapping-file check."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pyparity.diff import diff_traces
from pyparity.diff.align import AlignedStage, Mapping, align, load_mapping
from pyparity.errors import PolicyError
from pyparity.trace import Trace


def _pairs(a, b, m=None):
    return [(s.name, s.name_a, s.name_b) for s in align(a, b, m or Mapping())]


def test_same_names_pair_in_a_order():
    assert _pairs(["x", "y", "z"], ["z", "y", "x"]) == [("x", "x", "x"), ("y", "y", "y"), ("z", "z", "z")]


def test_one_sided_stages_keep_their_place():
    assert _pairs(["a", "b", "c"], ["a", "b2", "b", "c2"]) == [
        ("a", "a", "a"), ("b2", None, "b2"), ("b", "b", "b"), ("c2", None, "c2"), ("c", "c", None)]
    assert _pairs(["a"], ["first", "a"]) == [("first", None, "first"), ("a", "a", "a")]
    assert _pairs([], ["q"]) == [("q", None, "q")]


def test_rename_then_regex_then_prefixes():
    m = Mapping(rename={"port/p0": "mtcnn/prob"}, rename_regex=[(re.compile(r"^port/(.*)$"), r"mtcnn/\1")],
                strip_prefix_a="face00/", strip_prefix_b="run/")
    assert m.b_to_a("run/port/p0") == "mtcnn/prob"
    assert m.b_to_a("run/port/boxes") == "mtcnn/boxes"
    assert m.b_to_a("other") == "other" and m.b_to_a("runx/port/a") == "runx/port/a"
    assert m.a_name("face00/mtcnn/prob") == "mtcnn/prob" and m.a_name("face01/x") == "face01/x"
    assert _pairs(["face00/mtcnn/prob", "face00/mtcnn/boxes"], ["run/port/boxes", "run/port/p0"], m) == [
        ("mtcnn/prob", "face00/mtcnn/prob", "run/port/p0"), ("mtcnn/boxes", "face00/mtcnn/boxes", "run/port/boxes")]


def test_only_the_first_matching_regex_applies():
    m = Mapping(rename_regex=[(re.compile("a"), "b"), (re.compile("b"), "c")])
    assert m.b_to_a("a") == "b" and m.b_to_a("b") == "c"


def test_ignore_leaves_stages_out_on_both_sides():
    m = Mapping(ignore=["**/crops"])
    assert _pairs(["s/crops", "s/x"], ["s/x", "t/crops"], m) == [("s/x", "s/x", "s/x")]
    assert m.ignored("a/b/crops") and not m.ignored("a/crops2")


def test_a_b_name_mapped_twice_keeps_the_first():
    m = Mapping(rename={"p1": "x", "p2": "x"})
    assert _pairs(["x"], ["p1", "p2"], m) == [("x", "x", "p1")]


def test_mapping_through_diff(tmp_path):
    a = Trace.from_arrays({"face00/m/x": np.ones(2), "face00/m/y": np.zeros(2)})
    b = Trace.from_arrays({"port/x": np.ones(2), "port/y": np.ones(2)})
    f = tmp_path / "map.toml"
    f.write_text('strip_prefix_a = "face00/"\n[[rename_regex]]\npattern = "^port/(.*)$"\nreplace = "m/\\\\1"\n')
    rep = diff_traces(b, a, mapping=load_mapping(f))
    assert [s.name for s in rep.stages] == ["m/x", "m/y"] and rep.first_divergence == "m/y"
    f.write_text('strip_prefix_a = "face00/"\nignore = "m/y"\n[rename]\n"port/x" = "m/x"\n')
    rep = diff_traces(b, a, mapping=load_mapping(f))
    assert rep.ok and [s.name for s in rep.stages] == ["m/x", "port/y"]


def test_no_mapping_file_is_the_identity():
    m = load_mapping(None)
    assert m == Mapping() and isinstance(align(["a"], ["a"], m)[0], AlignedStage)


@pytest.mark.parametrize("text,message", [
    ("bogus = 1\n", "unknown key(s) bogus"),
    ("rename = 3\n", "[rename] must map"),
    ("[rename]\n'a' = 3\n", "[rename] must map"),
    ("[[rename_regex]]\npattern = 'a'\n", "rename_regex 1 needs pattern"),
    ("rename_regex = [1]\n", "rename_regex 1 needs pattern"),
    ("[[rename_regex]]\npattern = '('\nreplace = 'x'\n", "rename_regex 1: bad pattern"),
    ("ignore = 3\n", "ignore must be a list of globs"),
    ("ignore = [3]\n", "ignore must be a list of globs"),
    ("strip_prefix_a = 1\n", "strip_prefix_a must be a string"),
    ("strip_prefix_b = []\n", "strip_prefix_b must be a string"),
    ("[rename\n", "not valid TOML"),
])
def test_bad_mapping_file(tmp_path, text, message):
    f = tmp_path / "map.toml"
    f.write_text(text)
    with pytest.raises(PolicyError) as err:
        load_mapping(f)
    assert message in str(err.value) and "map.toml" in str(err.value)


def test_missing_mapping_file(tmp_path):
    with pytest.raises(PolicyError, match="cannot read mapping file"):
        load_mapping(tmp_path / "nope.toml")


def test_mapping_file_messages_word_for_word(tmp_path):
    with pytest.raises(PolicyError) as err:
        load_mapping(tmp_path / "nope.toml")
    assert str(err.value) == f"{tmp_path / 'nope.toml'}: cannot read mapping file (No such file or directory)"
    f = tmp_path / "map.toml"
    f.write_text("zeta = 1\nalpha = 2\n")
    with pytest.raises(PolicyError) as err:
        load_mapping(f)
    assert str(err.value) == f"{f}: unknown key(s) alpha, zeta"


def test_a_mapping_file_without_prefixes_strips_nothing(tmp_path):
    f = tmp_path / "map.toml"
    f.write_text('[rename]\n"p" = "q"\n')
    m = load_mapping(f)
    assert (m.strip_prefix_a, m.strip_prefix_b, m.ignore, m.rename_regex) == ("", "", [], [])
    assert m.a_name("XXXXa") == "XXXXa" and m.b_to_a("XXXXp") == "XXXXp" and m.b_to_a("p") == "q"


def test_mapping_files_are_read_as_utf8_whatever_the_locale(tmp_path):
    """A mapping in UTF-8 (accented stage names) read by a Python whose locale encoding is ASCII."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import pyparity

    f = tmp_path / "map.toml"
    f.write_text('[rename]\n"port/é" = "ref/è"\n', encoding="utf-8")
    env = dict(os.environ, LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0",
               PYTHONPATH=str(Path(pyparity.__file__).parents[1]))
    code = ("import locale, sys; from pyparity.diff.align import load_mapping; "
            "assert locale.getpreferredencoding(False).lower() in ('ascii', 'ansi_x3.4-1968'); "
            f"m = load_mapping({str(f)!r}); sys.stdout.buffer.write(m.b_to_a('port/\\u00e9').encode('utf-8'))")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
    assert run.returncode == 0, run.stderr.decode()
    assert run.stdout.decode("utf-8") == "ref/è"


def test_a_b_name_mapped_twice_that_a_lacks_is_one_b_only_stage():
    m = Mapping(rename={"p1": "x", "p2": "x"})
    assert _pairs(["y"], ["p1", "p2"], m) == [("x", None, "p1"), ("y", "y", None)]


def test_b_only_stages_after_an_ignored_or_repeated_b_stage_are_kept():
    m = Mapping(rename={"p1": "x", "p2": "x"}, ignore=["skip"])
    assert _pairs(["a"], ["skip", "late"], m) == [("late", None, "late"), ("a", "a", None)]
    assert _pairs(["a"], ["p1", "p2", "late"], m) == [("x", None, "p1"), ("late", None, "late"), ("a", "a", None)]


def test_a_mapping_file_with_both_prefixes_strips_each_side(tmp_path):
    f = tmp_path / "map.toml"
    f.write_text('strip_prefix_a = "face00/"\nstrip_prefix_b = "run/"\n')
    m = load_mapping(f)
    assert (m.strip_prefix_a, m.strip_prefix_b) == ("face00/", "run/")
    assert _pairs(["face00/s"], ["run/s"], m) == [("s", "face00/s", "run/s")]


def test_a_regex_built_in_code_whose_replacement_fails_names_both():
    m = Mapping(rename_regex=[(re.compile("^(a)$"), r"\2")])
    with pytest.raises(PolicyError) as err:
        m.b_to_a("a")
    assert str(err.value) == "rename_regex '^(a)$' -> '\\\\2': invalid group reference 2 at position 1"
