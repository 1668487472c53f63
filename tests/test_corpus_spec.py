"""`pyparity.corpus_spec`: the spec as any reader sees it (a corpus hunt), against the gate's reading of it
(`pyparity.gate.corpus.load_corpus`, tested with the format in tests/gate/test_corpus.py), which also
refuses cases the gate cannot run."""

from __future__ import annotations

import pytest

from pyparity.corpus_spec import read_corpus_spec
from pyparity.errors import InputError
from pyparity.gate.corpus import load_corpus


@pytest.mark.parametrize("case_lines, message", [
    ('pipeline = "nosuch"\n', "case 1 \\(a\\): unknown pipeline 'nosuch'"),
    ('pipeline = "mtcnn"\ngolden = "../escape"\n', "case 1 \\(a\\): golden name '../escape'"),
])
def test_the_gate_refuses_what_only_it_needs_and_a_hunt_reads_the_cases(tmp_path, case_lines, message):
    (tmp_path / "a.jpg").write_bytes(b"x")
    spec = tmp_path / "c.toml"
    spec.write_text(f'[[case]]\nname = "a"\ninput = "a.jpg"\n{case_lines}')
    with pytest.raises(InputError, match=message) as ei:
        load_corpus(spec)
    assert str(ei.value).startswith(f"{spec} case 1 (a): ")
    cases = read_corpus_spec(spec).cases
    assert [(c.name, c.input) for c in cases] == [("a", (tmp_path / "a.jpg").resolve())]


def test_a_reader_check_names_the_case(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "b.jpg").write_bytes(b"x")
    spec = tmp_path / "c.toml"
    spec.write_text('[corpus]\npipeline = "p"\n[[case]]\ninput = "a.jpg"\n[[case]]\ninput = "b.jpg"\n')
    seen = []

    def only_a(case, goldens):
        seen.append((case.name, case.golden, goldens))
        if case.name != "a":
            raise InputError("not a")

    with pytest.raises(InputError) as ei:
        read_corpus_spec(spec, check_case=only_a)
    assert str(ei.value) == f"{spec} case 2: not a"
    assert seen == [("a", "p/a", (tmp_path / "goldens").resolve()), ("b", "p/b", (tmp_path / "goldens").resolve())]
