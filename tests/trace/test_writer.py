"""Writing traces (trace/dumpio.py, the writer side): what write_trace stores, its metadata, and that an
abandoned or failed write leaves nothing behind."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pyparity.errors import TraceError
from pyparity.trace import Trace, read_trace, write_trace
from pyparity.trace.dumpio import TraceWriter


def test_write_trace_stores_or_deflates_and_keeps_meta(tmp_path):
    t = Trace.from_arrays({"a": np.arange(3.0), "b/c": np.array([1, 2], np.int8)}, meta={"producer": {"name": "x"}})
    for compress, method in ((False, zipfile.ZIP_STORED), (True, zipfile.ZIP_DEFLATED)):
        out = write_trace(t, tmp_path / f"t{compress}", compress=compress)
        assert out == tmp_path / f"t{compress}"
        with zipfile.ZipFile(out / "arrays.npz") as z:
            assert [i.filename for i in z.infolist()] == ["a.npy", "b/c.npy"]
            assert {i.compress_type for i in z.infolist()} == {method}
        back = read_trace(out)
        assert back.names == ["a", "b/c"] and np.array_equal(back["b/c"], [1, 2])
        meta = json.loads((out / "meta.json").read_text())
        assert meta == {"format": "reference-dump", "version": 1, "producer": {"name": "x"}}
        assert (out / "index.tsv").read_text() == "seq\tname\tdtype\tshape\n0\ta\tfloat64\t3\n1\tb/c\tint8\t2\n"
    with zipfile.ZipFile(write_trace(t, tmp_path / "default") / "arrays.npz") as z:   # stored unless asked
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
    out = write_trace(t, tmp_path / "other", meta={"producer": {"name": "y"}, "format": "bogus", "version": 7})
    assert read_trace(out).meta == {"format": "reference-dump", "version": 1, "producer": {"name": "y"}}


def test_meta_holds_numpy_values_and_paths(tmp_path):
    meta = {"n": np.int32(3), "x": np.float32(0.5), "v": np.arange(2), "p": Path("/a/b")}
    out = write_trace(Trace.from_arrays({"a": np.ones(1)}), tmp_path / "t", meta=meta)
    back = read_trace(out).meta
    assert back["n"] == 3 and back["x"] == 0.5 and back["v"] == [0, 1] and back["p"] == "/a/b"
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        write_trace(Trace.from_arrays({"a": np.ones(1)}), tmp_path / "u", meta={"bad": object()})
    assert not (tmp_path / "u").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".u")] == []


def test_a_write_that_fails_leaves_nothing(tmp_path):
    class Exploding(Trace):
        def __getitem__(self, name):
            raise RuntimeError("boom")

    t = Trace.from_arrays({"a": np.ones(1)})
    bad = Exploding(t.stages, lambda n: None, {}, "x")
    with pytest.raises(RuntimeError):
        write_trace(bad, tmp_path / "t")
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_twice_and_after_commit(tmp_path):
    w = TraceWriter(tmp_path / "t")
    w.write("a", np.ones(2))
    with pytest.raises(TraceError, match="written twice"):
        w.write("a", np.ones(2))
    with pytest.raises(TraceError, match="object arrays"):
        w.write("o", np.array([None], dtype=object))
    assert w.commit() == tmp_path / "t" and w.commit() == tmp_path / "t"
    with pytest.raises(TraceError, match="already committed"):
        w.write("b", np.ones(2))
    w.abort()  # after a commit: nothing to undo
    assert read_trace(tmp_path / "t").names == ["a"]


def test_abort_and_abandon_leave_no_partial_folder(tmp_path):
    w = TraceWriter(tmp_path / "t")
    w.write("a", np.ones(2))
    w.abort()
    w.abort()
    with pytest.raises(TraceError, match="already committed"):   # an aborted writer writes nothing more
        w.write("b", np.ones(2))
    assert list(tmp_path.iterdir()) == [] or all(p.name.endswith(".lock") for p in tmp_path.iterdir())
    w = TraceWriter(tmp_path / "u")
    w.write("a", np.ones(2))
    del w
    import gc

    gc.collect()
    assert not any(p.is_dir() for p in tmp_path.iterdir())


def test_rewriting_a_trace_replaces_it_and_a_non_trace_is_refused(tmp_path):
    write_trace(Trace.from_arrays({"a": np.ones(1)}), tmp_path / "t")
    write_trace(Trace.from_arrays({"b": np.ones(1)}), tmp_path / "t")
    assert read_trace(tmp_path / "t").names == ["b"]
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "index.tsv").write_text("x")
    with pytest.raises(TraceError, match="refusing to overwrite"):
        TraceWriter(tmp_path / "half")
    (tmp_path / "half" / "arrays.npz").mkdir()
    with pytest.raises(TraceError, match="refusing to overwrite"):
        TraceWriter(tmp_path / "half")


@pytest.mark.parametrize("where", ["open", "write", "commit"])
def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, where):
    import errno
    import zipfile as zf

    from pyparity.errors import OutputError
    from pyparity.trace import dumpio

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    target = {"open": (zf, "ZipFile"), "write": (np.lib.format, "write_array"), "commit": (dumpio, "_write_text")}[where]
    monkeypatch.setattr(*target, full)
    with pytest.raises(OutputError) as err:
        write_trace(Trace.from_arrays({"a": np.ones(2)}), tmp_path / "t")
    assert str(err.value) == f"{tmp_path / 't'}: cannot write trace (no space left on the device)"
    assert not any(p.is_dir() for p in tmp_path.iterdir())


def test_the_writer_stores_members_unless_asked_to_compress(tmp_path):
    for kw, method in (({}, zipfile.ZIP_STORED), ({"compress": True}, zipfile.ZIP_DEFLATED)):
        w = TraceWriter(tmp_path / f"t{len(kw)}", **kw)
        w.write("a", np.arange(100.0))
        with zipfile.ZipFile(w.commit() / "arrays.npz") as z:
            assert [i.compress_type for i in z.infolist()] == [method]


def test_a_second_writer_of_the_same_trace_is_refused(tmp_path):
    from pyparity.errors import OutputError

    first = TraceWriter(tmp_path / "t")
    with pytest.raises(OutputError) as err:
        TraceWriter(tmp_path / "t")
    assert str(err.value) == (f"{tmp_path / 't'}: another process is writing this trace now; wait for it to finish "
                              "(or write to another path)")
    first.write("a", np.ones(1))
    assert read_trace(first.commit()).names == ["a"]


def test_non_ascii_stage_names_and_meta_round_trip_under_an_ascii_locale(tmp_path, ascii_locale):
    """index.tsv and meta.json are UTF-8 whatever the locale: written so, read so (meta.json by another
    tool may hold raw UTF-8 rather than \\u escapes)."""
    t = Trace.from_arrays({"visage/é": np.arange(2.0)}, meta={"note": "écart"})
    out = write_trace(t, tmp_path / "t")
    assert (out / "index.tsv").read_bytes().decode("utf-8").splitlines()[1] == "0\tvisage/é\tfloat64\t2"
    back = read_trace(out)
    assert back.names == ["visage/é"] and back.meta["note"] == "écart"
    (out / "meta.json").write_bytes('{"format": "reference-dump", "version": 1, "note": "déjà"}'.encode("utf-8"))
    assert read_trace(out).meta["note"] == "déjà"


def test_meta_json_is_indented_by_one_in_insertion_order(tmp_path):
    out = write_trace(Trace.from_arrays({"a": np.ones(1)}), tmp_path / "t", meta={"b": 1, "a": [2, 3]})
    assert (out / "meta.json").read_text() == (
        '{\n "format": "reference-dump",\n "version": 1,\n "b": 1,\n "a": [\n  2,\n  3\n ]\n}\n')


@pytest.mark.parametrize("name", ["a\tb", "a\nb", "", "a\x00"])
def test_a_stage_name_the_index_cannot_hold_is_refused(tmp_path, name):
    w = TraceWriter(tmp_path / "t")
    with pytest.raises(TraceError) as err:
        w.write(name, np.ones(1))
    assert str(err.value) == f"{tmp_path / 't'}: stage name {name!r} is empty or holds a tab, line break or NUL"
    w.write("X", np.ones(1))
    assert read_trace(w.commit()).names == ["X"]
