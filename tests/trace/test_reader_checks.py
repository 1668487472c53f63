"""Every check of the trace / dump reader (trace/dumpio.py), each triggered on a file made here: one
line naming the file and the problem, exit 2 from the CLI, never a traceback, never a verdict.
Then hypothesis: random bytes, truncation and mutation of valid traces (stored and compressed) either
read as exactly the original arrays or are refused with a TraceError."""

from __future__ import annotations

import functools
import io
import json
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyparity.cli.app import main
from pyparity.diff import diff_traces
from pyparity.errors import TraceError
from pyparity.trace import Recorder, Trace, read_trace
from pyparity.trace import dumpio

A = np.arange(4.0)
B = np.ones((2, 2), np.float32)


def _trace(path: Path, compress: bool = False, **arrays) -> Path:
    with Recorder(path, compress=compress) as rec:
        for k, v in (arrays or {"a": A, "b": B}).items():
            rec.save(k, v)
    return path


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=True)
    return buf.getvalue()


def _craft_zip(entries: list[dict]) -> bytes:
    """A zip written field by field, so that any field can lie: each entry has name, data (as stored
    in the archive) and optionally method (0 stored, 8 deflated), crc, size (the uncompressed size
    declared in both headers), local_sig."""
    out, central = bytearray(), bytearray()
    for e in entries:
        name = e["name"].encode()
        data = e["data"]
        method = e.get("method", 0)
        crc = e.get("crc", zlib.crc32(data) if method == 0 else 0)
        size = e.get("size", len(data))
        offset = len(out)
        out += struct.pack("<4sHHHHHIIIHH", e.get("local_sig", b"PK\x03\x04"), 20, 0, method, 0, 0, crc, len(data), size,
                           len(name), 0) + name + data
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc, len(data), size,
                               len(name), 0, 0, 0, 0, 0, offset) + name
    cd_offset = len(out)
    out += central
    out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), cd_offset, 0)
    return bytes(out)


def _write_index(p: Path, rows: list[tuple]) -> None:
    lines = ["seq\tname\tdtype\tshape"] + [f"{i}\t{n}\t{d}\t{s}" for i, (n, d, s) in enumerate(rows)]
    (p / "index.tsv").write_text("\n".join(lines) + "\n")


def _crafted(p: Path, entries: list[dict], rows: list[tuple]) -> None:
    p.mkdir(exist_ok=True)
    (p / "meta.json").write_text("{}")
    _write_index(p, rows)
    (p / "arrays.npz").write_bytes(_craft_zip(entries))


# breakers: each takes a copy of a good stored trace (a = arange(4.0), b = ones((2, 2), float32)) ------

def _index_row(old: str, new: str):
    """A breaker that rewrites ``old`` (which must be there) in index.tsv as ``new``."""
    return functools.partial(_replace_index_line, old=old, new=new)


def _replace_index_line(p, old, new):
    text = (p / "index.tsv").read_text()
    assert old in text
    (p / "index.tsv").write_text(text.replace(old, new))


def _stored_member_offset(p, name):
    with zipfile.ZipFile(p / "arrays.npz") as z:
        zi = z.getinfo(name + ".npy")
    raw = (p / "arrays.npz").read_bytes()
    name_len, extra_len = struct.unpack("<HH", raw[zi.header_offset + 26: zi.header_offset + 30])
    return zi.header_offset, zi.header_offset + 30 + name_len + extra_len, zi.file_size


def _flip_data_byte(p):
    _, start, size = _stored_member_offset(p, "a")
    raw = bytearray((p / "arrays.npz").read_bytes())
    raw[start + size - 1] ^= 0x40          # the last byte of a's data: a[3] = 3.0 becomes another float
    (p / "arrays.npz").write_bytes(bytes(raw))


def _bad_local_header(p):
    off, _, _ = _stored_member_offset(p, "b")
    raw = bytearray((p / "arrays.npz").read_bytes())
    raw[off: off + 4] = b"PK\x09\x09"
    (p / "arrays.npz").write_bytes(bytes(raw))


def _truncated_member(p):
    """a's header says 8 float64 values, the member holds 4 (and the index, the 4 it holds)."""
    header = _npy(np.zeros(8))[: -64]
    _crafted(p, [{"name": "a.npy", "data": header + A.tobytes()}, {"name": "b.npy", "data": _npy(B)}],
             [("a", "float64", "4"), ("b", "float32", "2,2")])


def _bytes_after_the_array(p):
    header = _npy(np.zeros(2))[:-16]
    _crafted(p, [{"name": "a.npy", "data": header + A.tobytes()}, {"name": "b.npy", "data": _npy(B)}],
             [("a", "float64", "2"), ("b", "float32", "2,2")])


def _compressed_truncated_member(p):
    header = _npy(np.zeros(8))[: -64]
    data = header + A.tobytes()
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    _crafted(p, [{"name": "a.npy", "data": c.compress(data) + c.flush(), "method": 8, "crc": zlib.crc32(data),
                  "size": len(data)}, {"name": "b.npy", "data": _npy(B)}],
             [("a", "float64", "4"), ("b", "float32", "2,2")])


def _duplicate_member(p):
    _crafted(p, [{"name": "a.npy", "data": _npy(A)}, {"name": "b.npy", "data": _npy(B)},
                 {"name": "a.npy", "data": _npy(A + 1)}], [("a", "float64", "4"), ("b", "float32", "2,2")])


def _duplicate_member_without_suffix(p):
    _crafted(p, [{"name": "a.npy", "data": _npy(A)}, {"name": "b.npy", "data": _npy(B)}, {"name": "a", "data": _npy(A)}],
             [("a", "float64", "4"), ("b", "float32", "2,2")])


def _object_member(p):
    obj = np.array([{"x": 1}, None], dtype=object)       # a pickle inside (of plain data)
    _crafted(p, [{"name": "a.npy", "data": _npy(obj)}, {"name": "b.npy", "data": _npy(B)}],
             [("a", "float64", "1"), ("b", "float32", "2,2")])



def _stored_size_past_the_end(p):
    _crafted(p, [{"name": "a.npy", "data": _npy(A), "size": len(_npy(A)) + 10 ** 6}, {"name": "b.npy", "data": _npy(B)}],
             [("a", "float64", "4"), ("b", "float32", "2,2")])


def _unsupported_npy_version(p):
    data = bytearray(_npy(A))
    data[6] = 9
    _crafted(p, [{"name": "a.npy", "data": bytes(data)}, {"name": "b.npy", "data": _npy(B)}],
             [("a", "float64", "4"), ("b", "float32", "2,2")])


def _central_crc_wrong(p):
    _crafted(p, [{"name": "a.npy", "data": _npy(A), "crc": zlib.crc32(_npy(A)) ^ 1}, {"name": "b.npy", "data": _npy(B)}],
             [("a", "float64", "4"), ("b", "float32", "2,2")])











def _index_not_utf8(p):
    (p / "index.tsv").write_bytes(b"seq\tname\tdtype\tshape\n0\t\xff\xfe\tfloat64\t4\n")


def _index_missing_array(p):
    lines = (p / "index.tsv").read_text().splitlines()
    lines.append(f"{len(lines) - 1}\tghost\tfloat32\t3")
    (p / "index.tsv").write_text("\n".join(lines) + "\n")


def _array_missing_from_index(p):
    lines = (p / "index.tsv").read_text().splitlines()
    (p / "index.tsv").write_text("\n".join(lines[:-1]) + "\n")


def _meta_format(p):
    (p / "meta.json").write_text(json.dumps({"format": "something-else", "version": 1}))


def _meta_version(p):
    (p / "meta.json").write_text(json.dumps({"format": "reference-dump", "version": 2}))


def _meta_not_object(p):
    (p / "meta.json").write_text("[1, 2]")


def _meta_deep(p):
    (p / "meta.json").write_text("[" * 200_000 + "]" * 200_000)


def _meta_not_utf8(p):
    (p / "meta.json").write_bytes(b'{"producer": "\xff"}')


def _meta_huge_int(p):
    (p / "meta.json").write_text('{"n": ' + "9" * 5000 + "}")


def _not_a_zip(p):
    (p / "arrays.npz").write_bytes(b"this is not a zip archive at all" * 10)


def _missing_index(p):
    (p / "index.tsv").unlink()


def _a_file_not_a_dir(p):
    shutil.rmtree(p)
    p.write_text("hello")


CASES = [
    ("CRC mismatch in a stored member", _flip_data_byte, "CRC-32 mismatch"),
    ("CRC field wrong", _central_crc_wrong, "CRC-32 mismatch"),
    ("bad local header", _bad_local_header, "bad local header"),
    ("truncated member", _truncated_member, "is truncated"),
    ("truncated compressed member", _compressed_truncated_member, "is truncated"),
    ("bytes after the array", _bytes_after_the_array, "bytes after its array"),
    ("duplicate member", _duplicate_member, "more than once"),
    ("duplicate member without .npy", _duplicate_member_without_suffix, "more than once"),
    ("object array member", _object_member, "Python objects"),
    ("object dtype in the index", _index_row("0\ta\tfloat64\t4", "0\ta\tobject\t4"), "Python objects"),
    ("stored size past the end", _stored_size_past_the_end, "truncated"),
    ("unsupported .npy version", _unsupported_npy_version, "corrupt"),
    ("index says another dtype", _index_row("0\ta\tfloat64\t4", "0\ta\tint64\t4"), "index says"),
    ("index says another shape", _index_row("1\tb\tfloat32\t2,2", "1\tb\tfloat32\t4"), "index says"),
    ("index size disagrees with the archive", _index_row("0\ta\tfloat64\t4", "0\ta\tfloat64\t400"), "the index says"),
    ("negative dimension", _index_row("1\tb\tfloat32\t2,2", "1\tb\tfloat32\t-2,-2"), "negative dimension"),
    ("seq out of order", _index_row("1\tb\t", "5\tb\t"), "out of order"),
    ("wrong column count", _index_row("1\tb\tfloat32\t2,2", "1\tb\tfloat32\t2,2\textra"), "expected 4 tab-separated columns"),
    ("malformed shape", _index_row("1\tb\tfloat32\t2,2", "1\tb\tfloat32\t2,x"), "malformed row"),
    ("unknown dtype", _index_row("0\ta\tfloat64", "0\ta\tfloat65"), "malformed row"),
    ("empty stage name", _index_row("0\ta\t", "0\t\t"), "empty stage name"),
    ("index not UTF-8", _index_not_utf8, "cannot be read"),
    ("stage not in the archive", _index_missing_array, "not in the archive"),
    ("array not in the index", _array_missing_from_index, "not in the index"),
    ("meta format", _meta_format, "is not 'reference-dump'"),
    ("meta version", _meta_version, "version 2 is not supported"),
    ("meta not an object", _meta_not_object, "expected a JSON object"),
    ("meta nested 200,000 deep", _meta_deep, "nested too deeply"),
    ("meta not UTF-8", _meta_not_utf8, "not valid JSON"),
    ("meta with a 5000-digit number", _meta_huge_int, "not valid JSON"),
    ("archive not a zip", _not_a_zip, "not a readable .npz"),
    ("index missing", _missing_index, "missing index.tsv"),
    ("a file, not a directory", _a_file_not_a_dir, "not a trace"),
]


@pytest.mark.parametrize("label,breaker,message", CASES, ids=[c[0] for c in CASES])
def test_reader_check_gives_one_line_and_exit_2(tmp_path, capsys, label, breaker, message):
    good = _trace(tmp_path / "good")
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    breaker(bad)
    code = main(["diff", str(good), str(bad)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert message in err and "bad" in err, err
    with pytest.raises(TraceError, match="bad"):  # the library raises the same, before or at reading
        read_trace(bad).validate()


def test_crafted_good_archive_reads():
    """The hand-made zip that the cases above bend is itself a valid trace (the cases test one lie each)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "t"
        _crafted(p, [{"name": "a.npy", "data": _npy(A)}, {"name": "b.npy", "data": _npy(B)}],
                 [("a", "float64", "4"), ("b", "float32", "2,2")])
        t = read_trace(p)
        assert np.array_equal(t["a"], A) and np.array_equal(t["b"], B)


def test_corrupt_member_of_a_stage_only_one_side_has(tmp_path, capsys):
    good = _trace(tmp_path / "good", a=A)
    bad = _trace(tmp_path / "bad", a=A, b=np.arange(100.0))
    raw = bytearray((bad / "arrays.npz").read_bytes())
    _, start, size = _stored_member_offset(bad, "b")
    raw[start + size - 5] ^= 1
    (bad / "arrays.npz").write_bytes(bytes(raw))
    for args in (["diff", str(good), str(bad)], ["diff", str(bad), str(good)]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "'b.npy' is corrupt" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(TraceError, match="CRC-32"):
        diff_traces(read_trace(bad), read_trace(good))


def test_compressed_member_corruption_is_detected(tmp_path):
    bad = _trace(tmp_path / "t", compress=True, a=np.arange(1000.0))
    with zipfile.ZipFile(bad / "arrays.npz") as z:
        zi = z.getinfo("a.npy")
    raw = bytearray((bad / "arrays.npz").read_bytes())
    raw[zi.header_offset + 30 + len("a.npy") + zi.compress_size // 2] ^= 0x10
    (bad / "arrays.npz").write_bytes(bytes(raw))
    with pytest.raises(TraceError, match="'a' is corrupt"):
        read_trace(bad)["a"]


def test_crc_of_a_memory_mapped_member_is_checked_once(tmp_path, monkeypatch):
    t = read_trace(_trace(tmp_path / "t", a=np.arange(10_000.0)))
    calls = []

    class CountingZlib:
        @staticmethod
        def crc32(data, value=0):
            calls.append(len(data))
            return zlib.crc32(data, value)

    monkeypatch.setattr(dumpio, "zlib", CountingZlib)
    first = t["a"]
    with zipfile.ZipFile(tmp_path / "t" / "arrays.npz") as z:
        assert calls and sum(calls) == z.getinfo("a.npy").file_size
    n = len(calls)
    second = t["a"]
    assert len(calls) == n and np.array_equal(first, second)
    assert isinstance(first.base, np.memmap) or not first.flags.owndata


# bounded resources ---------------------------------------------------------------------------

def _bomb(p: Path, gigabytes: float) -> Path:
    """A small archive whose one deflated member decompresses to ``gigabytes`` of zeros: repeated
    full-flush deflate blocks (each is independent of what precedes it)."""
    n = int(gigabytes * 1e9) // 8
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
    header = buf.getvalue()  # magic, length and the header dict
    block = 1 << 22
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(header + b"\0" * (block - len(header))) + c.flush(zlib.Z_FULL_FLUSH)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = c.compress(b"\0" * block) + c.flush(zlib.Z_FULL_FLUSH)
    total = len(header) + n * 8
    reps = (total - block) // block
    tail_len = total - block - reps * block
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = c.compress(b"\0" * tail_len) + c.flush()
    stream = first + zeros * reps + tail
    _crafted(p, [{"name": "a.npy", "data": stream, "method": 8, "crc": 0, "size": total}], [("a", "float64", str(n))])
    return p


def test_a_small_dump_that_decompresses_to_3_gb_is_refused_before_decompressing(tmp_path, capsys):
    bomb = _bomb(tmp_path / "bomb", 3.0)
    size = (bomb / "arrays.npz").stat().st_size
    assert size < 4e6
    # it really is what it says: the stream inflates to the declared size (checked on a prefix)
    with zipfile.ZipFile(bomb / "arrays.npz") as z, z.open("a.npy") as f:
        assert len(f.read(50_000_000)) == 50_000_000
    good = _trace(tmp_path / "good")
    assert main(["diff", str(good), str(bomb)]) == 2
    err = capsys.readouterr().err
    assert "over the limit" in err and "PYPARITY_MAX_DECOMPRESSED_BYTES" in err and len(err.strip().splitlines()) == 1


def test_the_decompression_limit_is_configurable(tmp_path, monkeypatch):
    t = _trace(tmp_path / "t", compress=True, a=np.zeros(1000))
    stored = _trace(tmp_path / "s", a=np.zeros(1000))
    assert read_trace(t)["a"].sum() == 0
    monkeypatch.setenv("PYPARITY_MAX_DECOMPRESSED_BYTES", "8000")
    with pytest.raises(TraceError, match="over the limit of 8000"):
        read_trace(t)
    monkeypatch.setenv("PYPARITY_MAX_DECOMPRESSED_BYTES", "9000")
    assert read_trace(t)["a"].shape == (1000,)
    monkeypatch.setenv("PYPARITY_MAX_DECOMPRESSED_BYTES", "lots")
    with pytest.raises(TraceError, match="positive number of bytes"):
        read_trace(t)
    monkeypatch.setenv("PYPARITY_MAX_DECOMPRESSED_BYTES", "10")
    assert read_trace(stored)["a"].shape == (1000,)   # stored members are mapped, not decompressed


def test_declared_size_lie_is_refused_before_decompressing(tmp_path):
    """A member whose header declares far more than the archive says it holds."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10 ** 9,)})
    data = header.getvalue() + b"\0" * 64
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    p = tmp_path / "lie"
    _crafted(p, [{"name": "a.npy", "data": c.compress(data) + c.flush(), "method": 8, "crc": zlib.crc32(data),
                  "size": len(data)}], [("a", "float64", "8")])
    with pytest.raises(TraceError, match="truncated"):
        read_trace(p)["a"]


# byte order ----------------------------------------------------------------------------------

def test_big_endian_member_is_compared_by_value_with_a_message(tmp_path, capsys):
    le = _trace(tmp_path / "le", x=np.array([1.0, 2.5], "<f8"))
    be = _trace(tmp_path / "be", x=np.array([1.0, 2.5], ">f8"))
    rep = diff_traces(read_trace(be), read_trace(le))
    assert rep.ok and "byte order <f8 vs >f8" in rep.stage("x").note
    other = _trace(tmp_path / "other", x=np.array([1.0, 2.0], ">f8"))
    rep = diff_traces(read_trace(other), read_trace(le))
    assert not rep.ok and "float64 vs float64" not in rep.stage("x").note and rep.stage("x").n_over == 1
    assert main(["diff", str(le), str(be), "-q"]) == 0


# fuzzing -------------------------------------------------------------------------------------

FILES = ["meta.json", "index.tsv", "arrays.npz"]
ARRAYS = {"s/a": np.arange(6.0).reshape(2, 3), "s/b": np.array([1, -2, 3], np.int16), "s/c": np.array(True),
          "s/d": np.array(["ab", "c"]), "s/e": np.zeros((0, 2), np.float32)}


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    return {c: _trace(root / f"t{int(c)}", compress=c, **ARRAYS) for c in (False, True)}


def _outcome(path: Path) -> str:
    """'refused' (a TraceError), or 'same' (it reads, and every array is bit-identical to the original);
    anything else fails the test."""
    try:
        t = read_trace(path)
        t.validate()
        arrays = {n: t[n] for n in t.names}
        rep = diff_traces(t, Trace.from_arrays(ARRAYS))
    except TraceError as exc:
        assert "\n" not in str(exc)
        return "refused"
    assert list(arrays) == list(ARRAYS)
    for n, v in ARRAYS.items():
        assert arrays[n].dtype == v.dtype and arrays[n].shape == v.shape
        assert arrays[n].tobytes() == v.tobytes(), n
    assert rep.ok
    return "same"


def _fuzz_copy(originals, tmp_path_factory, compress: bool) -> Path:
    dst = tmp_path_factory.mktemp("case") / "t"
    shutil.copytree(originals[compress], dst)
    return dst


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(compress=st.booleans(), which=st.sampled_from(FILES), data=st.data())
def test_fuzz_truncation(originals, tmp_path_factory, compress, which, data):
    p = _fuzz_copy(originals, tmp_path_factory, compress)
    raw = (p / which).read_bytes()
    cut = data.draw(st.integers(0, len(raw) - 1))
    (p / which).write_bytes(raw[:cut])
    assert _outcome(p) in ("refused", "same")


@FUZZ
@given(compress=st.booleans(), which=st.sampled_from(FILES), data=st.data())
def test_fuzz_byte_mutation(originals, tmp_path_factory, compress, which, data):
    p = _fuzz_copy(originals, tmp_path_factory, compress)
    raw = bytearray((p / which).read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255).filter(lambda v, old=raw[i]: v != old))
    (p / which).write_bytes(bytes(raw))
    assert _outcome(p) in ("refused", "same")


@FUZZ
@given(compress=st.booleans(), which=st.sampled_from(FILES), data=st.data())
def test_fuzz_insertion_and_deletion(originals, tmp_path_factory, compress, which, data):
    p = _fuzz_copy(originals, tmp_path_factory, compress)
    raw = (p / which).read_bytes()
    i = data.draw(st.integers(0, len(raw)))
    if data.draw(st.booleans()):
        raw = raw[:i] + data.draw(st.binary(min_size=1, max_size=16)) + raw[i:]
    else:
        raw = raw[:i] + raw[i + data.draw(st.integers(1, 16)):]
    (p / which).write_bytes(raw)
    assert _outcome(p) in ("refused", "same")


@FUZZ
@given(compress=st.booleans(), which=st.sampled_from(FILES), blob=st.binary(max_size=600))
def test_fuzz_random_bytes(originals, tmp_path_factory, compress, which, blob):
    p = _fuzz_copy(originals, tmp_path_factory, compress)
    (p / which).write_bytes(blob)
    assert _outcome(p) in ("refused", "same")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(st.characters(blacklist_categories=["Cs"]), max_size=8),
                          st.sampled_from(["float64", "int8", "<U3", "bool", "object", "float", "x", ""]),
                          st.text("0123456789,- ", max_size=6)), max_size=5),
       st.text(max_size=20))
def test_fuzz_index_rows(tmp_path_factory, rows, junk):
    """Arbitrary index rows over a valid archive: read exactly, or refused."""
    p = _fuzz_copy({False: _trace(tmp_path_factory.mktemp("g") / "t", **ARRAYS)}, tmp_path_factory, False)
    lines = ["seq\tname\tdtype\tshape"] + [f"{i}\t{n}\t{d}\t{s}" for i, (n, d, s) in enumerate(rows)] + [junk]
    (p / "index.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        t = read_trace(p)
        t.validate()
    except TraceError as exc:
        assert "\n" not in str(exc)
    else:
        assert sorted(t.names) == sorted(ARRAYS)


# .npy versions, messages word for word, the header checked before the data -----------------------

def _archive(p: Path, members: dict, compress: bool, rows: list[tuple]) -> Path:
    """A trace whose archive holds ``members`` (name -> .npy bytes), stored or deflated by zipfile."""
    p.mkdir()
    (p / "meta.json").write_text("{}")
    _write_index(p, rows)
    with zipfile.ZipFile(p / "arrays.npz", "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name + ".npy", data)
    return p


def _npy_version(array: np.ndarray, version: tuple) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, version=version)
    return buf.getvalue()


@pytest.mark.parametrize("compress", [False, True])
def test_npy_format_versions_1_2_and_3_read_alike(tmp_path, compress):
    arrays = {"v1": np.arange(4.0), "v2": np.arange(6, dtype=np.int16).reshape(2, 3), "v3": np.array(["ab", "c"])}
    members = {n: _npy_version(a, (int(n[1]), 0)) for n, a in arrays.items()}
    assert [m[6] for m in members.values()] == [1, 2, 3]              # the .npy major version byte
    rows = [("v1", "float64", "4"), ("v2", "int16", "2,3"), ("v3", "<U2", "2")]
    t = read_trace(_archive(tmp_path / "t", members, compress, rows))
    for n, a in arrays.items():
        assert t[n].dtype == a.dtype and np.array_equal(t[n], a)


@pytest.mark.parametrize("compress", [False, True])
def test_an_unsupported_npy_version_is_named(tmp_path, compress):
    data = bytearray(_npy(A))
    data[6] = 9
    t = read_trace(_archive(tmp_path / "t", {"a": bytes(data)}, compress, [("a", "float64", "4")]))
    with pytest.raises(TraceError) as err:
        t["a"]
    assert str(err.value) == (f"{tmp_path / 't' / 'arrays.npz'}: member 'a' is corrupt "
                              "(ValueError: .npy format version (9, 0) is not supported)")


MISMATCHES = [  # (the member's array, the index row, what the member's header says): same byte count, another meaning
    (np.arange(4), ("a", "float64", "4"), "int64 (4,) but the index says float64 (4,)"),
    (np.ones((2, 2), np.float32), ("a", "float32", "4"), "float32 (2, 2) but the index says float32 (4,)"),
]


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("case", range(len(MISMATCHES)), ids=["dtype", "shape"])
def test_the_npy_header_is_checked_against_the_index_before_the_data(tmp_path, compress, case):
    """The archive's own check names the member's header before reading the data (a corrupt data byte would
    otherwise be reported first, as a CRC mismatch)."""
    array, row, says = MISMATCHES[case]
    data = bytearray(_npy(array))
    if not compress:
        data[-1] ^= 0x40                                           # the data is corrupt as well
    t = read_trace(_archive(tmp_path / "t", {"a": bytes(data)}, compress, [row]))
    with pytest.raises(TraceError) as err:
        t["a"]
    assert str(err.value) == f"{tmp_path / 't' / 'arrays.npz'}: stage 'a' holds {says}"


def test_bytes_after_the_array_are_counted(tmp_path):
    p = tmp_path / "t"
    _bytes_after_the_array(p)                                      # a header for 2 float64, 4 of them stored
    with pytest.raises(TraceError) as err:
        read_trace(p)["a"]
    assert str(err.value) == f"{p / 'arrays.npz'}: member 'a.npy' is corrupt (16 bytes after its array)"


def test_a_crc_mismatch_says_what_it_means(tmp_path):
    bad = _trace(tmp_path / "t")
    _flip_data_byte(bad)
    with pytest.raises(TraceError) as err:
        read_trace(bad)["a"]
    assert str(err.value) == (f"{bad / 'arrays.npz'}: member 'a.npy' is corrupt (CRC-32 mismatch: the bytes changed "
                              "after it was written)")


# the local header ------------------------------------------------------------------------------------

def _with_local_extra_len(raw: bytes, header_offset: int, extra_len: int) -> bytes:
    """The archive with one member's local header declaring ``extra_len`` bytes of extra field (a lie: none
    are added; the central directory is unchanged)."""
    out = bytearray(raw)
    out[header_offset + 28: header_offset + 30] = struct.pack("<H", extra_len)
    return bytes(out)


@pytest.mark.parametrize("past", [1, 60_000])
def test_a_local_header_that_runs_past_the_end_is_truncated(tmp_path, past):
    """The local header's extra length puts the member's data ``past`` bytes beyond the end of the file."""
    p = tmp_path / "t"
    _crafted(p, [{"name": "a.npy", "data": _npy(A)}], [("a", "float64", "4")])
    raw = (p / "arrays.npz").read_bytes()
    extra = len(raw) - len(_npy(A)) - 30 - len("a.npy") + past       # data_start + size == len(raw) + past
    (p / "arrays.npz").write_bytes(_with_local_extra_len(raw, 0, extra))
    with pytest.raises(TraceError) as err:
        read_trace(p)["a"]
    assert str(err.value) == f"{p / 'arrays.npz'}: member 'a.npy' is truncated (runs past the end of the file)"


def test_member_data_may_end_exactly_at_the_end_of_the_file(tmp_path):
    """Data that reaches the last byte of the file does not run past it: not 'truncated' (here the bytes there
    are the central directory, so the member is corrupt)."""
    p = tmp_path / "t"
    _crafted(p, [{"name": "a.npy", "data": _npy(A)}], [("a", "float64", "4")])
    raw = (p / "arrays.npz").read_bytes()
    extra = len(raw) - len(_npy(A)) - 30 - len("a.npy")               # data_start + size == len(raw)
    (p / "arrays.npz").write_bytes(_with_local_extra_len(raw, 0, extra))
    with pytest.raises(TraceError) as err:
        read_trace(p)["a"]
    assert "is corrupt" in str(err.value) and "truncated" not in str(err.value)


def test_a_large_local_extra_field_is_read_past(tmp_path):
    """Extra-field lengths are unsigned 16-bit: 40,000 bytes of extra field (over 2**15) before a stored member."""
    p = tmp_path / "t"
    p.mkdir()
    (p / "meta.json").write_text("{}")
    _write_index(p, [("a", "float64", "4")])
    zi = zipfile.ZipInfo("a.npy")
    zi.extra = struct.pack("<HH", 0xCAFE, 40_000 - 4) + bytes(40_000 - 4)
    with zipfile.ZipFile(p / "arrays.npz", "w") as z:
        z.writestr(zi, _npy(A))
    raw = (p / "arrays.npz").read_bytes()
    assert struct.unpack("<H", raw[28:30])[0] == 40_000
    assert np.array_equal(read_trace(p)["a"], A)


def test_a_trace_truncated_after_it_was_opened(tmp_path):
    """The file shrinks between opening the trace and reading a member (another process rewrote it)."""
    p = _trace(tmp_path / "t", a=np.arange(1000.0))
    t = read_trace(p)
    _, start, _ = _stored_member_offset(p, "a")
    raw = (p / "arrays.npz").read_bytes()
    (p / "arrays.npz").write_bytes(raw[: start + 400])               # the header and part of the data
    with pytest.raises(TraceError) as err:
        t["a"]
    assert str(err.value) == f"{p / 'arrays.npz'}: member 'a.npy' is truncated"


# reading in blocks, mapping read-only -------------------------------------------------------------------

@pytest.mark.parametrize("compress", [False, True])
def test_members_are_read_and_crc_checked_block_by_block(tmp_path, monkeypatch, compress):
    """Blocks of 7 bytes (the default is 16 MiB): the CRC-32 runs over all of them, the data lands in order."""
    monkeypatch.setattr(dumpio, "_CRC_BLOCK", 7)
    a = np.arange(50.0)
    p = _trace(tmp_path / "t", compress=compress, a=a, f=np.asfortranarray(np.arange(12.0).reshape(3, 4)))
    t = read_trace(p)
    assert np.array_equal(t["a"], a) and np.array_equal(t["f"], np.arange(12.0).reshape(3, 4))
    if not compress:
        _flip_data_byte(p)                                           # the last byte: the last block
        with pytest.raises(TraceError, match="CRC-32 mismatch"):
            read_trace(p)["a"]


def test_loading_a_stored_member_reads_that_member_only(tmp_path, monkeypatch):
    """Lazy member access: loading the small first member reads its bytes, not the 8 MB member after it."""
    p = _trace(tmp_path / "t", a=A, big=np.zeros(1_000_000))
    t = read_trace(p)
    read = []
    real_open = open

    class Counting:
        def __init__(self, f):
            self._f = f

        def read(self, n=-1):
            data = self._f.read(n)
            read.append(len(data))
            return data

        def __getattr__(self, name):
            return getattr(self._f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self._f.__exit__(*exc)

    monkeypatch.setattr(dumpio, "open", lambda *args, **kw: Counting(real_open(*args, **kw)), raising=False)
    assert np.array_equal(t["a"], A)
    assert 0 < sum(read) < 1000


def test_reading_a_compressed_member_holds_one_block_besides_the_array(tmp_path, monkeypatch):
    """The data is inflated block by block into the array: the peak is the array and one block, not twice the array."""
    import tracemalloc

    monkeypatch.setattr(dumpio, "_CRC_BLOCK", 1 << 18)
    p = _trace(tmp_path / "t", compress=True, a=np.arange(2_000_000.0))        # 16 MB
    t = read_trace(p)
    tracemalloc.start()
    try:
        a = t["a"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert a[-1] == 1_999_999.0
    assert peak < 1.5 * 16_000_000


def test_memory_mapped_arrays_are_read_only(tmp_path):
    """Changing an array loaded from a trace must never change the trace on disk."""
    p = _trace(tmp_path / "t", a=np.arange(4.0))
    a = read_trace(p)["a"]
    assert not a.flags.writeable
    with pytest.raises(ValueError):
        a[0] = 7.0
    assert read_trace(p)["a"][0] == 0.0


def test_a_compressed_stream_that_ends_before_its_declared_size(tmp_path):
    """The deflate stream holds 4 of the 8 float64 its header and the zip directory declare (its CRC-32 is that of
    what it holds, so zipfile does not notice): the reader counts what arrived."""
    header = _npy(np.zeros(8))[: -64]
    data = header + A.tobytes()
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    p = tmp_path / "t"
    _crafted(p, [{"name": "a.npy", "data": c.compress(data) + c.flush(), "method": 8, "crc": zlib.crc32(data),
                  "size": len(data) + 32}], [("a", "float64", "8")])
    with pytest.raises(TraceError) as err:
        read_trace(p)["a"]
    assert str(err.value) == f"{p / 'arrays.npz'}: member 'a' is corrupt (ValueError: the member ends after 32 of 64 bytes)"


def test_the_decompression_limit_is_a_positive_number_of_bytes(monkeypatch):
    from pyparity.trace.dumpio import max_decompressed_bytes

    for raw in ("0", "-5", "lots"):
        monkeypatch.setenv("PYPARITY_MAX_DECOMPRESSED_BYTES", raw)
        with pytest.raises(TraceError) as err:
            max_decompressed_bytes()
        assert str(err.value) == f"PYPARITY_MAX_DECOMPRESSED_BYTES={raw!r}: expected a positive number of bytes"
    monkeypatch.setenv("PYPARITY_MAX_DECOMPRESSED_BYTES", " 1 ")
    assert max_decompressed_bytes() == 1


def test_reader_messages_word_for_word(tmp_path):
    def message(path) -> str:
        with pytest.raises(TraceError) as err:
            read_trace(path)
        return str(err.value)

    assert message(tmp_path / "nope") == f"{tmp_path / 'nope'}: no such file or directory"
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "meta.json").write_text("{}")
    assert message(tmp_path / "half") == f"{tmp_path / 'half'}: not a trace (missing index.tsv, arrays.npz)"
    t = _trace(tmp_path / "t", a=np.zeros(2), b=np.ones(3))
    assert read_trace(t).source == str(t)
    index = t / "index.tsv"
    good = index.read_text()
    index.write_text(good + "2\tc\tfloat64\t1\n")
    assert message(t) == f"{t / 'arrays.npz'}: 1 stage(s) of index.tsv are not in the archive (first: 'c')"
    index.write_text(good.replace("1\tb\tfloat64\t3\n", ""))
    assert message(t) == f"{t / 'index.tsv'}: 1 array(s) in arrays.npz are not in the index (first: 'b')"


@pytest.mark.parametrize("text, where, what", [
    ("", "", "header must be seq / name / dtype / shape (tab-separated)"),
    ("seq name dtype shape\n", "", "header must be seq / name / dtype / shape (tab-separated)"),
    ("seq\tname\tdtype\tshape\nx\ta\tfloat64\t2\n", ":2",
     "malformed row (ValueError: invalid literal for int() with base 10: 'x')"),
    ("seq\tname\tdtype\tshape\n0\ta\tfloat64\t2\n1\ta\tfloat64\t3\n", ":3", "duplicate stage name 'a'"),
    ("seq\tname\tdtype\tshape\n\n0\ta\tfloat64\t2\n1\t\tfloat64\t3\n", ":4", "empty stage name ''"),
])
def test_index_messages_word_for_word(tmp_path, text, where, what):
    t = _trace(tmp_path / "t", a=np.zeros(2), b=np.ones(3))
    (t / "index.tsv").write_text(text)
    with pytest.raises(TraceError) as err:
        read_trace(t)
    assert str(err.value) == f"{t / 'index.tsv'}{where}: {what}"


def test_blank_lines_of_the_index_are_skipped_not_the_end(tmp_path):
    t = _trace(tmp_path / "t", a=np.zeros(2), b=np.ones(3))
    (t / "index.tsv").write_text("seq\tname\tdtype\tshape\n0\ta\tfloat64\t2\n\n1\tb\tfloat64\t3\n")
    assert read_trace(t).names == ["a", "b"]
