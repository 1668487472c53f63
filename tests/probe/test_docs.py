"""docs/probes.md's key reference is generated from the schema load_probe validates against."""

from __future__ import annotations


import pytest

from pyparity.probe import ProbeError, load_probe
from pyparity.probe.schema import SECTIONS, keys
from pyparity.probe.schema_doc import markdown
from tests.paths import REPO

DOC = REPO / "docs" / "probes.md"


def test_the_key_reference_is_the_schemas():
    text = DOC.read_text(encoding="utf-8")
    section = text.split("<!-- keys:begin -->\n", 1)[1].split("<!-- keys:end -->", 1)[0]
    assert section == markdown(), "regenerate: python -m pyparity.probe.schema_doc"


@pytest.mark.parametrize("section,table", [("[probe]", "[probe]\nname = 'x'\n"), ("[port]", "[port]\ncall = 'm:f'\n")])
def test_a_key_outside_the_schema_is_refused(tmp_path, section, table):
    p = tmp_path / "p.toml"
    body = table + "bogus_key = 1\n" + ("[port]\ncall = 'm:f'\n" if section == "[probe]" else "")
    p.write_text(body + "[[capture]]\ntarget = 'm:f'\nstage = 's'\n")
    with pytest.raises(ProbeError, match="bogus_key"):
        load_probe(p)


def test_every_schema_key_is_accepted_somewhere():
    assert {"setup_args", "record_return", "when", "calls", "inject", "count", "inject_into"} <= {
        k for section in SECTIONS for k in keys(section)}


def test_a_key_of_the_wrong_type_is_one_line(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[port]\ncall = 'm:f'\n[[capture]]\ntarget = 'm:f'\nstage = 's'\ninject = 'yes'\n")
    with pytest.raises(ProbeError, match=r"capture 1: inject = true or false$"):
        load_probe(p)
