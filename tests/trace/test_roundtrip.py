"""Traces: bit-exact round trips for every dtype and shape, atomic writes, lazy reads."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pyparity.diff import diff_traces
from pyparity.errors import TraceError
from pyparity.trace import Recorder, Trace, read_trace, write_trace

DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128", ">f4", ">i8", "<U5", "S3",
]


@st.composite
def arrays_any(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    a = draw(hnp.arrays(dtype, shape))
    view = draw(st.sampled_from(["plain", "transpose", "stride", "fortran"]))
    if view == "transpose" and a.ndim >= 2:
        a = a.T
    elif view == "stride" and a.ndim >= 1:
        a = a[::-1] if a.shape[0] < 2 else a[::2]
    elif view == "fortran":
        a = np.asfortranarray(a)
    return a


def _bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


@settings(max_examples=60, deadline=None)
@given(st.lists(arrays_any(), min_size=1, max_size=6), st.booleans())
def test_disk_roundtrip_is_bit_exact(tmp_path_factory, arrays, compress):
    path = tmp_path_factory.mktemp("t") / "trace"
    with Recorder(path, meta={"producer": {"name": "test"}}, compress=compress) as rec:
        with rec.scope("x/y"):
            for i, a in enumerate(arrays):
                rec.save(f"a{i:02d}", a)
    t = read_trace(path)
    assert t.names == [f"x/y/a{i:02d}" for i in range(len(arrays))]
    for i, a in enumerate(arrays):
        assert _bits_equal(t[f"x/y/a{i:02d}"], np.asarray(a))
    assert t.meta["producer"]["name"] == "test"


@settings(max_examples=40, deadline=None)
@given(st.lists(arrays_any(), min_size=1, max_size=4))
def test_trace_diffed_with_itself_matches(tmp_path_factory, arrays):
    numeric = [a for a in arrays if a.dtype.kind in "biufc"]
    t = Trace.from_arrays({f"s{i}": a for i, a in enumerate(numeric)})
    path = tmp_path_factory.mktemp("t") / "trace"
    write_trace(t, path)
    report = diff_traces(read_trace(path), t)
    if not numeric:  # two empty traces: a comparison of nothing, never parity
        assert not report.ok and report.nothing_compared == "both traces are empty"
        return
    assert report.ok, report.summary()


def test_memory_recorder_copies_and_numbers_duplicates():
    rec = Recorder()
    a = np.zeros(3)
    rec.save("s", a)
    a[0] = 1  # the pipeline mutating its buffer after recording must not change the record
    rec.save("s", a)
    t = rec.finish()
    assert t.names == ["s", "s__1"]
    assert t["s"][0] == 0 and t["s__1"][0] == 1


def test_interrupted_run_leaves_no_trace(tmp_path):
    path = tmp_path / "trace"
    with pytest.raises(RuntimeError):
        with Recorder(path) as rec:
            rec.save("a", np.ones(4))
            raise RuntimeError("pipeline crashed")
    assert not path.exists()
    assert os.listdir(tmp_path) == []


def test_partial_directory_is_not_a_trace(tmp_path):
    path = tmp_path / "trace"
    rec = Recorder(path)
    rec.save("a", np.ones(4))
    partial = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(partial) == 1 and partial[0].name.startswith(".trace.partial-")
    assert (tmp_path / ".trace.writer.lock").is_file()  # held while writing, removed on commit
    with pytest.raises(TraceError, match="not a trace"):
        read_trace(partial[0])
    rec.finish()
    assert read_trace(path).names == ["a"]


def test_rewrite_replaces_trace_atomically(tmp_path):
    path = tmp_path / "trace"
    with Recorder(path) as rec:
        rec.save("old", np.ones(2))
    with Recorder(path) as rec:
        rec.save("new", np.ones(2))
    assert read_trace(path).names == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["trace"]


def test_refuses_to_overwrite_a_non_trace(tmp_path):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "file.txt").write_text("keep me")
    with pytest.raises(TraceError, match="refusing"):
        Recorder(tmp_path / "precious")


def test_reading_is_lazy_and_memory_mapped(tmp_path):
    big = np.arange(2_000_000, dtype=np.float32)
    with Recorder(tmp_path / "t") as rec:
        rec.save("big", big)
        rec.save("small", np.ones(3))
    t = read_trace(tmp_path / "t")
    arr = t["big"]
    assert isinstance(arr.base, np.memmap) or isinstance(arr, np.memmap) or not arr.flags.owndata
    assert np.array_equal(arr, big)


def test_reference_dump_reads_with_numpy_alone(openface_dumps, tmp_path):
    dump = openface_dumps / "images" / "sample2.jpg"
    t = read_trace(dump)
    with np.load(dump / "arrays.npz") as z:
        for name in t.names[:50]:
            assert _bits_equal(t[name], z[name])
    out = write_trace(t, tmp_path / "copy")
    # our own traces are readable the same way: numpy + json
    with np.load(out / "arrays.npz") as z:
        assert _bits_equal(z[t.names[10]], t[t.names[10]])


def test_nonrecording_recorder_is_free():
    from pyparity.trace import NULL_RECORDER

    assert NULL_RECORDER.enabled is False
    with NULL_RECORDER.scope("a"):
        assert NULL_RECORDER.save("x", np.ones(3)) is None
