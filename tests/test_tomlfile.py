"""The schemas of the TOML files users write (pydantic models in pyparity/tomlfile.py and beside each
loader): strict types, unknown keys refused, one line naming the file for every problem."""

from __future__ import annotations

import pytest

from pyparity.diff.align import load_mapping
from pyparity.errors import InputError, ModelError, PolicyError
from pyparity.gate.corpus import load_corpus
from pyparity.models.manifest import load_manifest
from pyparity.probe.spec import ProbeError, load_probe

PROBE = '[probe]\nname = "x"\n{probe}\n[port]\ncall = "json:dumps"\n{port}\n[[capture]]\ntarget = "json:dumps"\n{capture}\n'


def _probe(tmp_path, probe="", port="", capture=""):
    p = tmp_path / "p.toml"
    p.write_text(PROBE.format(probe=probe, port=port, capture=capture + ("" if "stage" in capture else '\nstage = "a/b"')))
    return p


@pytest.mark.parametrize("where, line, message", [
    # each of these once got through: a TypeError traceback, or a string read as a list of letters
    ("probe", 'requires = "numpy"', "probe: requires: input should be a valid list"),
    ("port", "setup_kwargs = 3", "port: setup_kwargs: input should be a valid dictionary"),
    ("port", "env = 5", "port: env: input should be a valid dictionary"),
    ("capture", "calls = [true]", "capture 1: calls must be a list of call numbers"),
    ("capture", "fields = { ws = 3 }", "capture 1: fields are value paths"),
    ("capture", "lookup = 3", "capture 1: lookup tables map values"),
    ("capture", "colour = 1", "capture 1: unknown key(s) colour"),
    ("probe", "[extra]", "unknown section(s) extra (expected [probe], [port], [[capture]], [onnx])"),
])
def test_probe_types_are_checked(tmp_path, where, line, message):
    p = _probe(tmp_path, **{where: line})
    with pytest.raises(ProbeError) as ei:
        load_probe(p)
    assert str(ei.value) == f"{p}: {message}" or str(ei.value).startswith(f"{p}: {message}")
    assert "\n" not in str(ei.value)


def test_probe_values_that_are_fine(tmp_path):
    p = _probe(tmp_path, probe='requires = ["json"]', port='env = { OMP_NUM_THREADS = 1, MODE = "fast" }',
               capture='calls = [0, 2]\nfields = { ws = "args.window_size" }\nlookup = { ws = { 11 = "s0" } }\n'
                       'stage = "a/{ws}/b"')
    pr = load_probe(p)
    assert pr.requires == ["json"] and pr.env == {"OMP_NUM_THREADS": "1", "MODE": "fast"}
    assert pr.captures[0].calls == [0, 2] and pr.captures[0].lookup == {"ws": {"11": "s0"}}


def test_probe_in_the_cli_is_one_line_and_exit_2(tmp_path, capsys):
    from pyparity.cli.app import main

    p = _probe(tmp_path, port="setup_kwargs = 3")
    assert main(["record", str(p), str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "setup_kwargs" in err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("text, message", [
    ("rename_regex = 3\n", "rename_regex must be a list of [[rename_regex]] tables"),
    ("ignore = ['a', 2]\n", "ignore must be a list of globs"),
    ("[[rename_regex]]\npattern = '(a)'\nreplace = '\\2'\n", "rename_regex 1: bad replace"),
])
def test_mapping_schema(tmp_path, text, message):
    f = tmp_path / "m.toml"
    f.write_text(text)
    with pytest.raises(PolicyError, match=message.replace("[", r"\[")):
        load_mapping(f)


@pytest.mark.parametrize("body, message", [
    ('[corpus]\npipeline = "mtcnn"\n[[case]]\nname = 3\ninput = "a.jpg"\n', "case 1: name: input should be a valid string"),
    ('[corpus]\npipeline = ""\n[[case]]\ninput = "a.jpg"\n', "corpus: pipeline: string should have at least 1 character"),
    ('[corpus]\npipeline = "mtcnn"\ngolden_stages = [1]\n[[case]]\ninput = "a.jpg"\n', "[corpus]: golden_stages must be"),
    ('[corpus]\npipeline = "mtcnn"\n[[case]]\nreference = "x"\n', 'case 1: needs input = "path"'),
    ('[corpus]\npipeline = "mtcnn"\n[vars]\nx = 1\n[[case]]\ninput = "a.jpg"\n', "[vars]: values must be strings"),
    ('[corpus]\npipeline = "mtcnn"\n[[case]]\ninput = "a.jpg"\n[extra]\n', "unknown section(s) extra"),
])
def test_corpus_schema(tmp_path, body, message):
    spec = tmp_path / "c.toml"
    spec.write_text(body)
    with pytest.raises(InputError) as ei:
        load_corpus(spec, check_files=False)
    assert str(ei.value) == f"{spec}: {message}" or str(ei.value).startswith(f"{spec}: {message}")


MANIFEST = "format = 'pyparity-model-manifest'\nversion = 1\n"


@pytest.mark.parametrize("body, message", [
    ("format = 'x'\nversion = 1\n", "not a pyparity-model-manifest version 1 file"),
    (MANIFEST + "[[file]]\ngroup = 'g'\nname = 'a'\npath = 'p'\nsize = true\nsha256 = '" + "0" * 64 + "'\n",
     "file 1: size: input should be a valid integer"),
    (MANIFEST + "[[file]]\ngroup = 'g'\nname = 'a'\npath = 'p'\nsize = 1\nsha256 = 'abc'\n",
     "[[file]] #1: sha256 must be 64 hex digits"),
    (MANIFEST + "[groups.g]\ndescription = 'd'\nlicence = 'l'\ncache_dir = 'c'\ndefault = true\nmirror_layouts = []\n",
     "[groups.g]: unknown licence 'l'"),
    (MANIFEST + "[[file]]\ngroup = 'g'\n", "file 1: missing field 'name'"),
])
def test_manifest_schema(tmp_path, body, message):
    m = tmp_path / "m.toml"
    m.write_text(body)
    with pytest.raises(ModelError) as ei:
        load_manifest(m)
    assert str(ei.value) == f"{m}: {message}"


def test_unreadable_files_are_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"name = '\xff'\n")
    with pytest.raises(PolicyError, match=r"not UTF-8 text \(byte 8\); a mapping file is TOML in UTF-8"):
        load_mapping(bad)
    bad.write_text("a = [" * 2000 + "]" * 2000)
    with pytest.raises(InputError, match="cannot read the corpus spec: not valid TOML") as ei:
        load_corpus(bad)
    assert "\n" not in str(ei.value)


@pytest.mark.parametrize("body, message", [
    ('[[stage]]\nname = "a"\nfile = "f"\ntranspose = "no"\n', "stage 1: transpose: input should be a valid boolean"),
    ('[[stage]]\nname = "a"\nfile = "f"\nblock = "x"\n', "stage 1: block: input should be a valid integer"),
    ('[[stage]]\nname = "a"\nfile = "f"\nblock = 1\nlabel = "x"\n', "stage 1: give block or label, not both"),
    ('[[stage]]\nname = "a"\n', "stage 1: needs name and file"),
])
def test_text_dump_map_schema(tmp_path, body, message):
    """`transpose = "no"` once read as true, `block = "x"` failed later as a string index."""
    from pyparity.adapters.text_dump import read_map

    m = tmp_path / "m.toml"
    m.write_text(body)
    with pytest.raises(InputError) as ei:
        read_map(m)
    assert str(ei.value) == f"{m}: {message}"


# ------------------------------------------------------------------------------------------------
# the one-line formatter itself, on small models


from typing import Union  # noqa: E402

from pydantic import model_validator  # noqa: E402

from pyparity.tomlfile import OneOrMany, Strict, read_toml, validate  # noqa: E402


class _Inner(Strict):
    x: int


class _Model(Strict):
    MESSAGES = {"flag": "flag {i}must be true or false"}
    name: str
    inner: _Inner | None = None
    items: list[_Inner] = []
    either: Union[list[str], str] = ""
    scalar: Union[str, int] = ""
    flag: bool = False
    globs: OneOrMany = []

    @model_validator(mode="after")
    def _whole(self):
        if self.name == "bad":
            raise ValueError("the whole file is wrong")
        return self


@pytest.mark.parametrize("data, message", [
    ({"name": "n", "zz": 1, "aa": 2}, "unknown key(s) aa, zz"),
    ({"name": "n", "inner": {"x": 1, "b": 1, "a": 1}}, "inner: unknown key(s) a, b"),
    ({}, "missing field 'name'"),
    ({"name": "n", "inner": {}}, "inner: missing field 'x'"),
    ({"name": "n", "items": [{"x": 1}, {}]}, "items 2: missing field 'x'"),
    ({"name": "bad"}, "the whole file is wrong"),
    ([1], "input should be a valid dictionary or instance of _Model"),
    ({"name": "n", "flag": "yes"}, "flag must be true or false"),
    ({"name": "n", "either": 3}, "either: input should be a valid list"),   # union members are not locations
    ({"name": "n", "scalar": [1]}, "scalar: input should be a valid string"),
    ({"name": "n", "items": [{"x": "1"}]}, "items 1: x: input should be a valid integer"),
])
def test_one_line_messages(data, message):
    with pytest.raises(InputError) as ei:
        validate(_Model, data, "f.toml", InputError)
    assert str(ei.value) == f"f.toml: {message}"


def test_one_or_many_keeps_lists_and_wraps_a_string():
    assert validate(_Model, {"name": "n", "globs": "a/*"}, "f", InputError).globs == ["a/*"]
    assert validate(_Model, {"name": "n", "globs": ["a", "b"]}, "f", InputError).globs == ["a", "b"]


class _Sections(Strict):
    TOP_LEVEL = "[a], [b]"
    a: dict = {}


def test_unknown_sections_name_the_ones_expected():
    with pytest.raises(InputError) as ei:
        validate(_Sections, {"z": {}, "c": {}}, "f.toml", InputError)
    assert str(ei.value) == "f.toml: unknown section(s) c, z (expected [a], [b])"


def test_read_toml_messages(tmp_path):
    with pytest.raises(InputError) as ei:
        read_toml(tmp_path / "none.toml", "spec", InputError)
    assert str(ei.value) == f"{tmp_path / 'none.toml'}: cannot read spec (No such file or directory)"
    with pytest.raises(InputError) as ei:
        read_toml(tmp_path / "none.toml", "spec", InputError, missing="spec not found (set X)")
    assert str(ei.value) == f"{tmp_path / 'none.toml'}: spec not found (set X)"
    with pytest.raises(InputError) as ei:
        read_toml(tmp_path, "spec", InputError)
    assert str(ei.value) == f"{tmp_path}: cannot read spec (Is a directory)"
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 2000 + "]" * 2000)
    with pytest.raises(InputError) as ei:
        read_toml(deep, "spec", InputError)
    assert str(ei.value) == f"{deep}: cannot read the spec: not valid TOML (nested too deeply)"
    ok = tmp_path / "ok.toml"
    ok.write_text("a = 'é'\n", encoding="utf-8")
    assert read_toml(ok, "spec", InputError) == {"a": "é"}


def test_mapping_file_fields_reach_the_mapping(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text('strip_prefix_a = "face00/"\nstrip_prefix_b = "port/"\nignore = ["a/*", "b/*"]\n')
    m = load_mapping(f)
    assert (m.strip_prefix_a, m.strip_prefix_b, m.ignore) == ("face00/", "port/", ["a/*", "b/*"])
    assert m.b_to_a("port/x") == "x" and m.ignored("b/y") and not m.ignored("c/y")


class _Unions(Strict):
    count: Union[int, list[str]] = 0
    ratio: Union[float, list[str]] = 0.0
    on: Union[bool, list[str]] = False


@pytest.mark.parametrize("data, message", [
    ({"count": "3"}, "count: input should be a valid integer"),
    ({"ratio": "0.5"}, "ratio: input should be a valid number"),
    ({"on": "yes"}, "on: input should be a valid boolean"),
])
def test_union_members_int_float_bool_are_not_locations(data, message):
    with pytest.raises(InputError) as ei:
        validate(_Unions, data, "f.toml", InputError)
    assert str(ei.value) == f"f.toml: {message}"


def test_an_empty_message_from_a_validator_is_kept_empty():
    from pydantic import field_validator
    from pydantic_core import PydanticCustomError

    class _Quiet(Strict):
        x: int = 0

        @field_validator("x")
        @classmethod
        def _never(cls, v):
            raise PydanticCustomError("quiet", "")

    with pytest.raises(InputError) as ei:
        validate(_Quiet, {"x": 1}, "f.toml", InputError)
    assert str(ei.value) == "f.toml: x: "


def test_read_toml_reads_utf8_whatever_the_locale(tmp_path, ascii_locale):
    ok = tmp_path / "ok.toml"
    ok.write_bytes("a = 'é'\n".encode("utf-8"))
    assert read_toml(ok, "spec", InputError) == {"a": "é"}
