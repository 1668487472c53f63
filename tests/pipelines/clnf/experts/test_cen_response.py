"""CEN responses (CEN_patch_expert::Response / ResponseSparse, the CEN branch of Patch_experts::Response)
against a direct evaluation written here with plain loops (the contrast normalisation in float32 as
the C++ specifies it, the network in float64, the interpolation as neighbour means), and the
mirroring rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.errors import InputError, ModelError
from pyparity.pipelines.clnf.experts.cen import (CenExpert, CenLayer, build_cen_scale, cen_response, cen_response_sparse,
                                         cen_scale_responses, interpolation_matrix, read_cen_patch_experts,
                                         landmark_response, landmarks_needing_aoi, write_cen_patch_experts)

ACTS = [0, 2, 1, 3, -5]      # C++: 0 sigmoid, 2 ReLU, every other code the identity


# --- the direct evaluation -----------------------------------------------------------------------

def _normalised_f32(win: np.ndarray, sparse: bool) -> np.ndarray:
    """The contrast normalisation as the C++ specifies it, in float32 (a window of few or nearly equal
    pixels is ill-conditioned: only the reference's own float arithmetic reproduces it).
    Sparse (im2colBiasSparseContrastNorm): float sum in row order, `/ n`, centred values, float square
    sum in column order, times (float)(1.0 / sqrtf(.)). Dense (contrastNorm): cv::mean (double sum
    times 1/n), float square sum, divided by sqrtf(.)."""
    f32 = np.float32
    col = win.T.reshape(-1).astype(f32)                  # column-major: xx·h + yy
    if sparse:
        s = f32(0)
        for v in win.reshape(-1):                        # row-major: yy outer, xx inner
            s = f32(s + v)
        mean = f32(s / f32(col.size))
    else:
        d = 0.0
        for v in col:
            d += float(v)
        mean = f32(d * (1.0 / col.size))
    c = [f32(v - mean) for v in col]
    ss = f32(0)
    for v in c:
        ss = f32(ss + f32(v * v))
    nrm = f32(np.sqrt(ss))
    nrm = f32(1) if nrm == 0 else nrm
    if sparse:
        inv = f32(1.0 / float(nrm))
        return np.array([f32(v * inv) for v in c], dtype=f32)
    return np.array([f32(v / nrm) for v in c], dtype=f32)


def _direct(expert: CenExpert, aoi: np.ndarray, sparse: bool, flip: bool = False) -> np.ndarray:
    """The network on every (or every odd x-major) window of aoi, in float64 after the float32 contrast
    normalisation, mapped back to the (ws, ws) grid; skipped positions take the mean of their existing
    4-neighbours."""
    a = np.asarray(aoi, dtype=np.float32)
    if flip:
        a = a[:, ::-1]
    h, w = expert.height_support, expert.width_support
    ws = a.shape[0] - h + 1
    grid = np.full((ws, ws), np.nan)
    k = -1
    for x in range(ws):
        for y in range(ws):
            k += 1
            if sparse and k % 2 == 0:
                continue
            z = np.concatenate([[1.0], _normalised_f32(a[y:y + h, x:x + w], sparse).astype(np.float64)])
            for lay in expert.layers:
                z = lay.w32.astype(np.float64) @ z + lay.b32.astype(np.float64)
                if lay.activation == 0:
                    z = 1.0 / (1.0 + np.exp(-z))
                elif lay.activation == 2:
                    z = np.maximum(z, 0.0)
            grid[y, x] = z[0]
    if sparse:
        full = grid.copy()
        for y in range(ws):
            for x in range(ws):
                if np.isnan(grid[y, x]):
                    nb = [grid[yy, xx] for yy, xx in ((y, x - 1), (y - 1, x), (y, x + 1), (y + 1, x))
                          if 0 <= yy < ws and 0 <= xx < ws]
                    full[y, x] = np.mean(nb)
        grid = full
    return grid[:, ::-1] if flip else grid


@st.composite
def experts_and_patches(draw, max_support=5):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    h, w = draw(st.integers(1, max_support)), draw(st.integers(1, max_support))
    nl = draw(st.integers(1, 3))
    k, layers = 1 + h * w, []
    for li in range(nl):
        u = 1 if li == nl - 1 else draw(st.integers(1, 9))
        act = draw(st.sampled_from(ACTS))
        wgt = (rng.standard_normal((u, k)) / np.sqrt(k)).astype(np.float32)
        layers.append(CenLayer(act, rng.standard_normal((1, u)).astype(np.float32) * np.float32(0.5), wgt))
        k = u
    e = CenExpert(w, h, tuple(layers), 0.5)
    ws = draw(st.sampled_from([3, 5, 7]))
    shape = (ws + h - 1, ws + w - 1)
    if draw(st.booleans()):
        aois = [rng.uniform(0, 255, shape).astype(np.float32) for _ in range(2)]
    else:   # few grey levels: constant windows (norm 0) and exact ties happen
        aois = [rng.integers(0, 3, shape).astype(np.float32) for _ in range(2)]
    return e, aois


def _close(ours, ref):
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    assert np.all(np.abs(ours.astype(np.float64) - ref) <= 1e-5 * (1.0 + np.abs(ref))), np.abs(ours - ref).max()


@settings(max_examples=60, deadline=None)
@given(experts_and_patches())
def test_sparse_response_equals_direct_evaluation(case):
    e, (a, b) = case
    left, right = cen_response_sparse(e, a, b)
    _close(left, _direct(e, a, True))
    _close(right, _direct(e, b, True, flip=True))
    only_left, none = cen_response_sparse(e, a)
    assert none is None
    _close(only_left, _direct(e, a, True))
    # the right input is the mirror partner's patch: the expert sees its flip, the map is flipped back
    none, only_right = cen_response_sparse(e, None, b)
    assert none is None
    assert np.array_equal(only_right, cen_response_sparse(e, np.ascontiguousarray(b[:, ::-1]))[0][:, ::-1])


@settings(max_examples=30, deadline=None)
@given(experts_and_patches(), st.sampled_from([np.float32, np.float64]))
def test_written_and_read_network_is_identical_and_evaluates_directly(tmp_path_factory, case, dtype):
    """A random network written in OpenFace's format and read back: the same matrices, and its response
    (from the file's copy) equals the direct evaluation."""
    e, (a, b) = case
    # stored as float64, the network C++ computes with is its float32 conversion
    stored = CenExpert(e.width_support, e.height_support,
                       tuple(CenLayer(lay.activation, lay.bias.astype(dtype), lay.weight.astype(dtype)) for lay in e.layers),
                       e.confidence)
    empty = CenExpert(e.width_support, e.height_support, (), 0.25)
    sc = build_cen_scale(0.5, np.zeros((2, 3)), np.ones((2, 2)), [1, 0], [0, 1], [[stored, empty], [empty, empty]])
    p = tmp_path_factory.mktemp("cen") / "net.dat"
    write_cen_patch_experts(p, sc)
    back = read_cen_patch_experts(p).experts[0][0]
    assert len(back.layers) == len(stored.layers) and back.confidence == stored.confidence
    for x, y in zip(back.layers, stored.layers):
        assert x.activation == y.activation
        for u, v in ((x.bias, y.bias), (x.weight, y.weight), (x.w32, y.w32), (x.b32, y.b32)):
            assert u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes()
    left, right = cen_response_sparse(back, a, b)
    _close(left, _direct(back, a, True))
    _close(right, _direct(back, b, True, flip=True))
    # the scale-level path (frontal view: landmark 0 computes its partner 1 in the same call)
    out = cen_scale_responses(read_cen_patch_experts(p), np.stack([a, b]), 0, a.shape[0] - e.height_support + 1)
    assert np.array_equal(out[0], left) and np.array_equal(out[1], right)


@settings(max_examples=40, deadline=None)
@given(experts_and_patches())
def test_dense_response_equals_direct_evaluation(case):
    e, (a, _) = case
    _close(cen_response(e, a), _direct(e, a, False))


def test_interpolation_matrix_rule():
    m = interpolation_matrix(5)
    assert m.shape == (12, 25) and m.dtype == np.float32
    # a kept position (odd x-major index) copies one sparse value; its sparse row is index // 2
    assert m[:, 1].tolist() == [1.0] + [0.0] * 11 and m[3, 7] == 1.0
    # position 0 (x=0, y=0) averages (y=1, x=0) -> k=1 and (y=0, x=1) -> k=5
    assert np.nonzero(m[:, 0])[0].tolist() == [0, 2] and m[0, 0] == np.float32(0.5)
    # position 12 (x=2, y=2), inner: four neighbours k = 7, 11, 13, 17
    assert np.nonzero(m[:, 12])[0].tolist() == [3, 5, 6, 8] and set(m[:, 12][m[:, 12] != 0]) == {0.25}
    assert m[:, 2][m[:, 2] != 0].tolist() == [np.float32(1 / 3)] * 3
    for bad in (4, 1):
        with pytest.raises(InputError):
            interpolation_matrix(bad)


# --- one scale: which expert computes which landmark -------------------------------------------

@pytest.fixture(scope="module")
def cen025(shared_dir):
    return read_cen_patch_experts(shared_dir / "openface" / "synthetic_cen" / "cen_patches_0.25_of.dat")


def _per_call(sc, aois, view, ws):
    """Patch_experts::Response's loop written out with the one-expert function."""
    n = sc.n_landmarks
    out = np.zeros((n, ws, ws), np.float32)
    for lm in range(n):
        if not sc.visibilities[view][lm]:
            continue
        e = sc.experts[view][lm]
        if view == 0:
            if e.is_empty:
                continue
            mid = sc.mirror_inds[lm]
            if mid == lm:
                out[lm] = cen_response_sparse(e, aois[lm])[0]
            else:
                out[lm], out[mid] = cen_response_sparse(e, aois[lm], aois[mid])
        elif not e.is_empty:
            out[lm] = cen_response_sparse(e, aois[lm])[0]
        else:
            me = sc.experts[sc.mirror_views[view]][sc.mirror_inds[lm]]
            out[lm] = cen_response_sparse(me, None, aois[lm])[1]
    return out


@pytest.mark.parametrize("ws", [11, 5])
def test_scale_kernel_equals_per_landmark_calls(cen025, ws):
    rng = np.random.default_rng(ws)
    aois = rng.uniform(0, 255, (68, ws + 10, ws + 10)).astype(np.float32)
    for view in range(7):
        out = cen_scale_responses(cen025, aois, view, ws)
        assert np.array_equal(out, _per_call(cen025, aois, view, ws)), view
        vis = cen025.visibilities[view] != 0
        assert not out[~vis].any() and all(out[i].any() for i in np.nonzero(vis)[0])
        # only the landmarks the calls read need a patch
        need = landmarks_needing_aoi(cen025, view)
        assert np.array_equal(cen_scale_responses(cen025, aois[need], view, ws), out)


def test_landmark_response_equals_scale_responses(cen025):
    rng = np.random.default_rng(5)
    aois = rng.uniform(0, 255, (68, 19, 19)).astype(np.float32)
    for view in (0, 2, 4):
        out = cen_scale_responses(cen025, aois, view, 9)
        for lm in range(68):
            one = landmark_response(cen025, view, lm, aois[lm], aois[cen025.mirror_inds[lm]])
            assert one.shape == (9, 9) and np.array_equal(one, out[lm]), (view, lm)
    with pytest.raises(InputError, match="partner"):
        landmark_response(cen025, 0, 16, aois[16])
    assert landmark_response(cen025, 0, 30, aois[30]).any()     # self-symmetric: no partner needed


def test_mirroring_rules(cen025):
    rng = np.random.default_rng(1)
    ws = 7
    aois = rng.uniform(0, 255, (68, ws + 10, ws + 10)).astype(np.float32)
    sc = cen025
    # frontal: landmark 16 (empty) is computed by landmark 0's expert on its flipped patch
    f = cen_scale_responses(sc, aois, 0, ws)
    e0 = sc.experts[0][0]
    assert sc.experts[0][16].is_empty
    assert np.array_equal(f[16], cen_response_sparse(e0, aois[0], aois[16])[1])
    _close(f[16], _direct(e0, aois[16], True, flip=True))
    # view 4 (yaw +70, all empty): landmark l uses view 3's expert of mirror_inds[l] on the flipped patch
    r4 = cen_scale_responses(sc, aois, 4, ws)
    for lm in np.nonzero(sc.visibilities[4])[0][:5]:
        me = sc.experts[3][sc.mirror_inds[lm]]
        _close(r4[lm], _direct(me, aois[lm], True, flip=True))


def _two_landmark_scale(both_stored: bool):
    rng = np.random.default_rng(7)

    def net():
        return CenExpert(3, 3, (CenLayer(2, rng.standard_normal((1, 4)).astype(np.float32),
                                         rng.standard_normal((4, 10)).astype(np.float32)),
                                CenLayer(0, np.zeros((1, 1), np.float32), rng.standard_normal((1, 4)).astype(np.float32))), 1.0)
    empty = CenExpert(3, 3, (), 0.0)
    v0 = [net(), net() if both_stored else empty]
    v1 = [net(), empty]           # landmark 1 of view 1: mirrored from view 2, landmark 0
    v2 = [net(), empty]
    return build_cen_scale(1.0, np.zeros((3, 3)), np.ones((3, 2)), [1, 0], [0, 2, 1], [v0, v1, v2])


def test_frontal_pair_with_both_stored_runs_in_landmark_order():
    """Both members of a frontal pair stored: landmark 1's call comes last and overwrites both maps."""
    sc = _two_landmark_scale(True)
    aois = np.random.default_rng(3).uniform(0, 9, (2, 7, 7)).astype(np.float32)
    out = cen_scale_responses(sc, aois, 0, 5)
    r1, r0 = cen_response_sparse(sc.experts[0][1], aois[1], aois[0])
    assert np.array_equal(out[1], r1) and np.array_equal(out[0], r0)
    # view 1: landmark 1 is empty there -> view 2's expert of landmark 0 on its flipped patch
    out1 = cen_scale_responses(sc, aois, 1, 5)
    assert np.array_equal(out1[1], cen_response_sparse(sc.experts[2][0], None, aois[1])[1])


def test_mixed_architectures_take_the_per_call_path(tmp_path):
    sc = _two_landmark_scale(False)
    e = sc.experts[2][0]
    big = CenExpert(3, 3, (CenLayer(0, np.ones((1, 6), np.float32), np.ones((6, 10), np.float32) * np.float32(0.01)),
                           CenLayer(3, np.zeros((1, 1), np.float32), np.ones((1, 6), np.float32))), 1.0)
    p = tmp_path / "mixed.dat"
    sc.experts[1][0] = big
    write_cen_patch_experts(p, sc)
    sc = read_cen_patch_experts(p)
    aois = np.random.default_rng(4).uniform(0, 9, (2, 7, 7)).astype(np.float32)
    out = cen_scale_responses(sc, aois, 1, 5)
    assert np.array_equal(out[0], cen_response_sparse(sc.experts[1][0], aois[0])[0])
    assert np.array_equal(out[1], cen_response_sparse(e, None, aois[1])[1])


def test_bad_scale_inputs(cen025):
    aois = np.zeros((68, 21, 21), np.float32)
    with pytest.raises(InputError, match="areas of interest"):
        cen_scale_responses(cen025, aois, 0, 9)
    with pytest.raises(InputError, match="float32"):
        cen_scale_responses(cen025, aois.astype(np.float64), 0, 11)
    with pytest.raises(InputError, match="odd"):
        cen_scale_responses(cen025, np.zeros((68, 20, 20), np.float32), 0, 10)
    # a visible landmark that neither has an expert nor a mirror expert
    sc = _two_landmark_scale(False)
    sc.experts[2][0] = CenExpert(3, 3, (), 0.0)
    sc._plans.clear()
    with pytest.raises(ModelError, match="neither it nor its mirror"):
        cen_scale_responses(sc, np.zeros((2, 7, 7), np.float32), 1, 5)
    with pytest.raises(ModelError, match="empty expert"):
        cen_response(CenExpert(11, 11, (), 0.0), np.zeros((21, 21), np.float32))
