"""Trust (issue 14), class 8: fuzzing the CSV adapters (OpenFace's CSV, POF keypoint CSVs) with
random bytes, truncations and mutations of valid files the test writes: the adapter returns
well-formed arrays or raises a one-line `PyparityError`, never anything else; a truncated file is
refused or read as exactly the rows it still holds; the CLI on such a file exits 0 or 2, never with a
traceback, and never leaves a half-written output."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyparity.cli.app import main
from pyparity.adapters.openface_csv import N_LANDMARKS, read_openface_csv
from pyparity.errors import PyparityError
from pyparity.pipelines.pof.io import from_csv
from pyparity.pipelines.pof.reconstruct import validate_inputs

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def _openface_csv(faces: int = 2) -> bytes:
    """A FaceLandmarkImg-style CSV (", "-separated, newline-terminated rows), values as OpenFace prints them."""
    rng = np.random.default_rng(7)
    cols = (["face", "confidence"] + [f"x_{i}" for i in range(N_LANDMARKS)] + [f"y_{i}" for i in range(N_LANDMARKS)]
            + ["pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"])
    rows = [", ".join(cols)]
    for f in range(faces):
        vals = ([str(f), f"{rng.uniform(0.5, 1):.3f}"] + [f"{v:.1f}" for v in rng.uniform(0, 400, 2 * N_LANDMARKS)]
                + [f"{v:.3f}" for v in rng.uniform(-1, 1, 6)])
        rows.append(", ".join(vals))
    return ("\n".join(rows) + "\n").encode()


def _pof_long_csv(frames: int = 2) -> bytes:
    rng = np.random.default_rng(3)
    rows = ["# keypoints", "frame,joint,x,y,visibility"]
    for f in range(frames):
        rows += [f"{f},{j},{rng.uniform(0.2, 0.8):.4f},{rng.uniform(0.2, 0.8):.4f},1" for j in range(17)]
    return ("\n".join(rows) + "\n").encode()


def _pof_wide_csv(frames: int = 2) -> bytes:
    rng = np.random.default_rng(4)
    rows = [",".join(f"x{j},y{j},v{j}" for j in range(17))]
    rows += [",".join(f"{rng.uniform(0.2, 0.8):.4f},{rng.uniform(0.2, 0.8):.4f},1" for _ in range(17))
             for _ in range(frames)]
    return ("\n".join(rows) + "\n").encode()


VALID = {"openface": _openface_csv(), "pof-long": _pof_long_csv(), "pof-wide": _pof_wide_csv()}


def _read(kind: str, data: bytes):
    """The adapter on ``data``: its result, or None when it refused with a PyparityError (anything else
    propagates and fails the test)."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "in.csv"
        p.write_bytes(data)
        try:
            return read_openface_csv(p) if kind == "openface" else from_csv(p)
        except PyparityError as exc:
            assert str(exc) and "\n" not in str(exc).strip()
            return None


def _well_formed(kind: str, result) -> None:
    if kind == "openface":
        for name in result.names:
            a = result[name]
            assert name.startswith("face") and a.dtype in (np.float32, np.float64, np.int32)
        return
    kp, vis, h = result
    assert kp.dtype == np.float32 and vis.dtype == np.float32 and h is None
    assert kp.ndim == 3 and kp.shape[1:] == (17, 2) and vis.shape == kp.shape[:2] and kp.shape[0] >= 1
    try:
        validate_inputs(kp, vis, 1.78)  # the next step of a run: refuses NaN/inf, dead frames, zero torsos
    except PyparityError:
        pass


def _cli(kind: str, data: bytes) -> None:
    """The command on the same bytes: exit 0 or 2, never an exception; on 2 no output is left."""
    with tempfile.TemporaryDirectory() as d:
        p, out = Path(d) / "in.csv", Path(d) / "out"
        p.write_bytes(data)
        argv = (["ingest", "openface-csv", str(p), "--out", str(out)] if kind == "openface"
                else ["run", "pof", str(p), "--model", "gcn", "--synthetic", "--out", str(out)])
        code = main(argv)
        assert code in (0, 2)
        assert out.exists() == (code == 0)


@pytest.mark.parametrize("kind", list(VALID))
def test_valid_files_read(kind):
    assert _read(kind, VALID[kind]) is not None


@pytest.mark.parametrize("kind", list(VALID))
@FUZZ
@given(data=st.binary(max_size=4000))
def test_random_bytes(kind, data):
    r = _read(kind, data)
    if r is not None:
        _well_formed(kind, r)


@pytest.mark.parametrize("kind", list(VALID))
@FUZZ
@given(cut=st.floats(0, 1, exclude_max=True))
def test_truncation_is_refused_or_a_prefix(kind, cut):
    full = VALID[kind]
    data = full[: int(len(full) * cut)]
    r = _read(kind, data)
    if r is None:
        return
    _well_formed(kind, r)
    whole = _read(kind, full)
    if kind == "openface":
        # rows end with a newline: a cut file holds whole rows only, each read exactly as before
        assert set(r.names) <= set(whole.names)
        for n in r.names:
            assert np.array_equal(r[n], whole[n])
        return
    kp, vis, _ = r
    kp0, vis0, _ = whole
    t = kp.shape[0]
    assert t <= kp0.shape[0]
    # a keypoint CSV need not end with a newline, so its very last value may be cut short (0.5312 ->
    # 0.53); every other value is read as in the whole file
    same = kp.reshape(-1) == kp0[:t].reshape(-1)
    assert same[:-2].all() and np.array_equal(vis[:, :-1], vis0[:t, :-1])


MUTATIONS = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from(["replace", "insert", "delete"]),
                               st.binary(min_size=1, max_size=3)), min_size=1, max_size=6)


@pytest.mark.parametrize("kind", list(VALID))
@FUZZ
@given(edits=MUTATIONS)
def test_mutations(kind, edits):
    data = bytearray(VALID[kind])
    for pos, op, b in edits:
        i = int(pos * len(data))
        if op == "replace":
            data[i:i + len(b)] = b
        elif op == "insert":
            data[i:i] = b
        else:
            del data[i:i + len(b)]
    r = _read(kind, bytes(data))
    if r is not None:
        _well_formed(kind, r)


def _oracle_long(text: str):
    """What a long keypoint CSV means, read independently: {(frame, joint): (x, y)} if every index is a
    non-negative integer and every (frame, joint) of frames 0..T-1 appears exactly once, else None."""
    rows = [ln.split(",") for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")][1:]
    seen = {}
    for r in rows:
        try:
            f, j = float(r[0]), float(r[1])
        except (ValueError, IndexError):
            return None
        if not (f.is_integer() and j.is_integer() and 0 <= f < 10**6 and 0 <= j < 17) or (int(f), int(j)) in seen:
            return None
        seen[int(f), int(j)] = (float(r[2]), float(r[3]))
    frames = 1 + max(f for f, _ in seen) if seen else 0
    return seen if frames and len(seen) == 17 * frames else None


INDEX_VALUES = st.one_of(st.integers(-3, 40), st.just(10**8), st.floats(allow_nan=True, allow_infinity=True),
                         st.sampled_from(["", "x", "1e3", "0x1", "٣"]))


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 33), st.integers(0, 1), INDEX_VALUES), min_size=1, max_size=3))
def test_pof_index_mutations_never_misread(edits):
    """Frame / joint cells replaced by negative, fractional, repeated, huge or non-numeric values: the
    reader refuses, or reads exactly what an independent reading of the file says."""
    lines = VALID["pof-long"].decode().splitlines()
    for row, col, value in edits:
        cells = lines[2 + row].split(",")
        cells[col] = str(value)
        lines[2 + row] = ",".join(cells)
    text = "\n".join(lines) + "\n"
    r = _read("pof-long", text.encode())
    want = _oracle_long(text)
    if r is None:
        assert want is None, "refused a file with valid indices"
        return
    assert want is not None, "accepted a file whose indices are not each (frame, joint) once"
    kp, _, _ = r
    assert kp.shape[0] == 1 + max(f for f, _ in want)
    for (f, j), xy in want.items():
        assert np.array_equal(kp[f, j], np.float32(xy))


CLI_CASES = {
    "random": lambda full: bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8)),
    "half": lambda full: full[: len(full) // 2],
    "one byte": lambda full: full[:1],
    "empty": lambda full: b"",
    "header only": lambda full: full.split(b"\n")[0] + b"\n" if not full.startswith(b"#") else full.split(b"\n")[1] + b"\n",
    "nul": lambda full: full.replace(b",", b"\x00", 3),
    "latin-1": lambda full: full.replace(b"1", b"\xe9", 2),
    "crlf": lambda full: full.replace(b"\n", b"\r\n"),
}


@pytest.mark.parametrize("kind", list(VALID))
@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_on_broken_files(kind, case):
    _cli(kind, CLI_CASES[case](VALID[kind]))
