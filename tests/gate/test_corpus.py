"""Corpus spec: variables, relative paths, validation with one clear line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyparity.errors import InputError
from pyparity.gate.corpus import load_corpus
from tests.paths import REPO


def _spec(tmp_path, body: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(body)
    return p


def test_shipped_spec_lists_all_26_shared_samples(shared_dir):
    c = load_corpus(REPO / "corpus" / "openface-samples.toml")
    assert len(c.cases) == 26
    assert c.goldens == (REPO / "goldens").resolve()
    s1 = next(x for x in c.cases if x.name == "sample1")
    assert s1.input.samefile(shared_dir / "openface" / "samples" / "sample1.jpg")
    assert s1.reference.samefile(shared_dir / "reference_dumps" / "openface-2.0.2" / "images" / "sample1.jpg")
    assert s1.golden == "mtcnn/sample1" and s1.pipeline == "mtcnn" and s1.policy == "mtcnn"
    dumps = {p.name for p in (shared_dir / "reference_dumps" / "openface-2.0.2" / "images").iterdir()}
    assert {x.reference.name for x in c.cases} == dumps


def test_vars_env_and_defaults(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.jpg").write_bytes(b"x")
    body = '[corpus]\npipeline = "mtcnn"\n[vars]\nroot = "${PP_TEST_ROOT:-data}"\n[[case]]\ninput = "${root}/a.jpg"\n'
    monkeypatch.delenv("PP_TEST_ROOT", raising=False)
    c = load_corpus(_spec(tmp_path, body))
    assert c.cases[0].input == (tmp_path / "data" / "a.jpg").resolve() and c.cases[0].name == "a"
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "a.jpg").write_bytes(b"y")
    monkeypatch.setenv("PP_TEST_ROOT", str(other))
    assert load_corpus(_spec(tmp_path, body)).cases[0].input == (other / "a.jpg").resolve()


@pytest.mark.parametrize("body, message", [
    ('[[case]]\ninput = "missing.jpg"\npipeline = "mtcnn"\n', "missing.jpg does not exist"),
    ('[corpus]\npipeline = "nope"\n[[case]]\ninput = "a.jpg"\n', "unknown pipeline 'nope'"),
    ('[corpus]\npipeline = "mtcnn"\n[[case]]\ninput = "a.jpg"\ncolour = 1\n', "unknown key"),
    ('[corpus]\npipeline = "mtcnn"\n', "no \\[\\[case\\]\\]"),
    ('[corpus]\npipeline = "mtcnn"\npolicy = "nosuch"\n[[case]]\ninput = "a.jpg"\n', "no built-in policy"),
    ('[corpus]\npipeline = "mtcnn"\n[[case]]\ninput = "a.jpg"\nreference = "nodump"\n', "not a trace"),
    ('[corpus]\npipeline = "mtcnn"\n[[case]]\ninput = "a.jpg"\n[[case]]\ninput = "a.jpg"\n', "duplicate case"),
    ('[corpus]\npipeline = "mtcnn"\n[[case]]\ninput = "${UNSET_PP_VAR}/a.jpg"\n', "UNSET_PP_VAR"),
    ('[corpus\n', "not valid TOML"),
])
def test_bad_specs(tmp_path, body, message):
    (tmp_path / "a.jpg").write_bytes(b"x")
    with pytest.raises(InputError, match=message) as ei:
        load_corpus(_spec(tmp_path, body))
    assert str(tmp_path / "c.toml") in str(ei.value) and "\n" not in str(ei.value)
