"""`pyparity.textfile.read_text`: a user's text file as UTF-8, or one line that names the file."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.errors import InputError, PolicyError
from pyparity.textfile import read_text


def test_utf8_text_comes_back_as_written(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes("frame,joint\n0,é\n".encode())
    assert read_text(p, "CSV", InputError) == "frame,joint\n0,é\n"


@pytest.mark.parametrize("where, what, missing, expected", [
    ("nope.toml", "policy file", None, "cannot read policy file (No such file or directory)"),
    ("nope.toml", "corpus spec", "no such corpus spec", "no such corpus spec"),
    ("", "CSV", None, "cannot read CSV (Is a directory)"),
])
def test_a_file_that_cannot_be_read_is_named_with_what_it_should_have_been(tmp_path, where, what, missing, expected):
    path = tmp_path / where if where else tmp_path
    with pytest.raises(PolicyError) as ei:
        read_text(path, what, PolicyError, missing=missing)
    assert str(ei.value) == f"{path}: {expected}"


def test_bytes_that_are_not_utf8_name_the_first_bad_byte_and_the_hint(tmp_path):
    p = tmp_path / "m.txt"
    p.write_bytes(b"# PDM\n0.5 \xff 1\n")
    with pytest.raises(InputError) as ei:
        read_text(p, "PDM file", InputError, not_utf8=", not a PDM text file")
    assert str(ei.value) == f"{p}: not UTF-8 text (byte 10), not a PDM text file"


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=64))
def test_any_bytes_read_as_utf8_or_fail_at_the_decoders_byte(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("t") / "f.txt"
    p.write_bytes(data)
    try:
        expected = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        with pytest.raises(InputError) as ei:
            read_text(p, "file", InputError)
        assert str(ei.value) == f"{p}: not UTF-8 text (byte {exc.start})"
    else:
        # read_text reads in text mode: universal newlines, as every reader it serves did before
        assert read_text(p, "file", InputError) == expected.replace("\r\n", "\n").replace("\r", "\n")
