"""CEN patch-expert files (`cen_patches_*.dat`): reader, writer, and the early-termination file.

Round trips of random files built with the writer, the four synthetic CE-CLM files of ../shared
(layout in ../shared/openface/synthetic_cen/README.md, checked independently against the CCNF files
they were derived from), and bad input (one clear ModelError naming the file)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.errors import ModelError
from pyparity.pipelines.clnf.experts.cen import (CenExpert, CenLayer, CenPatchExperts, build_cen_scale,
                                         read_cen_patch_experts, write_cen_patch_experts)
from pyparity.pipelines.clnf.ceclm.early_termination import completion_order, read_early_termination

SCALES = ["0.25", "0.35", "0.50", "1.00"]
CCNF_OF = {"0.25": "ccnf_patches_0.25_general.txt", "0.35": "ccnf_patches_0.35_general.txt",
           "0.50": "ccnf_patches_0.5_general.txt", "1.00": "ccnf_patches_0.5_general.txt"}
SELF_MIRRORED = {8, 27, 28, 29, 30, 33, 51, 57, 62, 66}
# the frontal view's stored member of each mirror pair (README: "only the first is stored")
FRONTAL_PAIRS = ([(i, 16 - i) for i in range(8)] + [(17 + i, 26 - i) for i in range(5)]
                 + [(31, 35), (32, 34), (36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46), (48, 54),
                    (49, 53), (50, 52), (59, 55), (58, 56), (60, 64), (61, 63), (67, 65)])


@pytest.fixture(scope="module")
def cen_dir(shared_dir) -> Path:
    return shared_dir / "openface" / "synthetic_cen"


@pytest.fixture(scope="module")
def cen_scales(cen_dir):
    return {s: read_cen_patch_experts(cen_dir / f"cen_patches_{s}_of.dat") for s in SCALES}


# --- random files --------------------------------------------------------------------------------

@st.composite
def cen_files(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    nv = draw(st.integers(1, 3))
    n = draw(st.integers(1, 5))
    dt = draw(st.sampled_from([np.float32, np.float64]))
    experts = []
    for _ in range(nv):
        row = []
        for _ in range(n):
            h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
            nl = draw(st.integers(0, 3))
            k, layers = 1 + h * w, []
            for li in range(nl):
                u = 1 if li == nl - 1 else draw(st.integers(1, 6))
                act = draw(st.sampled_from([0, 1, 2, 3, -7, 2**31 - 1]))
                bshape = (1, u) if draw(st.booleans()) else (u, 1)
                layers.append(CenLayer(act, rng.standard_normal(bshape).astype(dt), rng.standard_normal((u, k)).astype(dt)))
                k = u
            row.append(CenExpert(w, h, tuple(layers), float(rng.standard_normal())))
        experts.append(row)
    return build_cen_scale(float(rng.uniform(0.1, 2)), rng.uniform(-90, 90, (nv, 3)),
                           rng.integers(0, 2, (nv, n)), rng.integers(0, n, n), rng.integers(0, nv, nv), experts)


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _assert_same_scale(a, b):
    assert struct.pack("<d", a.patch_scaling) == struct.pack("<d", b.patch_scaling)
    for x, y in zip(a.center_mats + a.visibility_mats + [a.mirror_inds_mat, a.mirror_views_mat],
                    b.center_mats + b.visibility_mats + [b.mirror_inds_mat, b.mirror_views_mat], strict=True):
        assert _same(x, y)
    for ra, rb in zip(a.experts, b.experts, strict=True):
        for ea, eb in zip(ra, rb, strict=True):
            assert (ea.width_support, ea.height_support, len(ea.layers)) == (eb.width_support, eb.height_support, len(eb.layers))
            assert struct.pack("<d", ea.confidence) == struct.pack("<d", eb.confidence)
            for la, lb in zip(ea.layers, eb.layers):
                assert la.activation == lb.activation and _same(la.bias, lb.bias) and _same(la.weight, lb.weight)
                assert _same(la.w32, lb.w32) and _same(la.b32, lb.b32)


@settings(max_examples=40, deadline=None)
@given(cen_files())
def test_random_file_round_trip(tmp_path_factory, sc):
    p = tmp_path_factory.mktemp("cen") / "x.dat"
    write_cen_patch_experts(p, sc)
    back = read_cen_patch_experts(p)
    _assert_same_scale(sc, back)
    q = p.with_name("y.dat")
    write_cen_patch_experts(q, back)
    assert p.read_bytes() == q.read_bytes()
    # the derived values C++ computes with
    assert np.array_equal(back.visibilities, sc.visibilities) and back.visibilities.dtype == np.int32
    assert np.array_equal(back.centers, sc.centers)
    for ra in back.experts:
        for e in ra:
            for lay in e.layers:
                assert lay.w32.dtype == np.float32 and lay.b32.shape == (lay.units,)


# --- the synthetic CE-CLM files ------------------------------------------------------------------

@pytest.mark.parametrize("s", SCALES)
def test_synthetic_file_layout(cen_scales, s):
    sc = cen_scales[s]
    assert sc.patch_scaling == float(s)
    assert sc.n_views == 7 and sc.n_landmarks == 68
    assert np.allclose(np.degrees(sc.centers[:, 1]), [0, -20, -45, -70, 70, 45, 20]) and not sc.centers[:, [0, 2]].any()
    assert list(sc.visibilities.sum(1)) == [68, 68, 68, 35, 35, 68, 68]
    assert list(sc.mirror_views) == [0, 6, 5, 4, 3, 2, 1]
    assert {i for i in range(68) if sc.mirror_inds[i] == i} == SELF_MIRRORED
    assert all(sc.mirror_inds[sc.mirror_inds[i]] == i for i in range(68))
    stored = [[not e.is_empty for e in row] for row in sc.experts]
    assert [sum(r) for r in stored] == [39, 68, 68, 35, 0, 0, 0]
    assert {i for i in range(68) if stored[0][i]} == {a for a, _ in FRONTAL_PAIRS} | SELF_MIRRORED
    assert all(sc.mirror_inds[a] == b for a, b in FRONTAL_PAIRS)
    assert all(stored[3][i] == bool(sc.visibilities[3][i]) for i in range(68))
    for row in sc.experts:
        for e in row:
            assert (e.width_support, e.height_support) == (11, 11)
            if not e.is_empty:
                assert [lay.activation for lay in e.layers] == [0, 0]
                assert [lay.weight.shape for lay in e.layers] == [(7, 122), (1, 7)]
                assert [lay.bias.shape for lay in e.layers] == [(1, 7), (1, 1)]
                assert e.layers[0].weight.dtype == np.float32


@pytest.mark.parametrize("s", SCALES)
def test_synthetic_file_byte_identical_rewrite(cen_dir, cen_scales, tmp_path, s):
    out = tmp_path / "w.dat"
    write_cen_patch_experts(out, cen_scales[s])
    assert out.read_bytes() == (cen_dir / f"cen_patches_{s}_of.dat").read_bytes()


@pytest.mark.parametrize("s", ["0.25", "1.00"])
def test_synthetic_networks_follow_the_ccnf_experts(openface_model_dir, cen_scales, s):
    """README's rule, rebuilt here from the CCNF file with plain numpy: layer 0 rows [0, vec(W)·norm_w]
    (column-major), biases the neuron biases, layer 1 the alphas, confidence the patch confidence."""
    from pyparity.pipelines.clnf.experts.ccnf import read_ccnf_patch_experts

    cc = read_ccnf_patch_experts(openface_model_dir / "patch_experts" / CCNF_OF[s])
    sc = cen_scales[s]
    checked = 0
    for v in range(7):
        for lm in range(68):
            e, c = sc.experts[v][lm], cc.experts[v][lm]
            assert e.confidence == c.patch_confidence
            if e.is_empty:
                continue
            assert len(c.neurons) == 7
            w0 = np.stack([np.concatenate([[0.0], nr.weights.astype(np.float64).T.reshape(-1) * nr.norm_weights])
                           for nr in c.neurons])
            assert np.allclose(e.layers[0].w32, w0, rtol=1e-6, atol=1e-12)
            assert np.array_equal(e.layers[0].b32, np.array([nr.bias for nr in c.neurons]).astype(np.float32))
            assert np.array_equal(e.layers[1].w32[0], np.array([nr.alpha for nr in c.neurons]).astype(np.float32))
            assert e.layers[1].b32[0] == 0
            checked += 1
    assert checked == 210


def test_shared_mirror_tables_are_the_last_files(cen_scales):
    pe = CenPatchExperts([cen_scales[s] for s in SCALES])
    assert pe.n_scales == 4 and pe.patch_scaling == [0.25, 0.35, 0.5, 1.0] and pe.n_views == 7
    assert pe.confidence(0, 0).shape == (68,)


# --- bad input -----------------------------------------------------------------------------------

def test_bad_files(cen_dir, tmp_path):
    data = (cen_dir / "cen_patches_0.25_of.dat").read_bytes()
    p = tmp_path / "cen_patches_bad.dat"
    for cut in (5, 100, len(data) // 2, len(data) - 3):
        p.write_bytes(data[:cut])
        with pytest.raises(ModelError, match=r"cen_patches_bad\.dat.*truncated"):
            read_cen_patch_experts(p)
    p.write_bytes(data + b"\0")
    with pytest.raises(ModelError, match="trailing"):
        read_cen_patch_experts(p)
    with pytest.raises(ModelError, match="nope.dat"):
        read_cen_patch_experts(tmp_path / "nope.dat")
    p.write_bytes(struct.pack("<di", 0.25, -3))
    with pytest.raises(ModelError, match="view count"):
        read_cen_patch_experts(p)


def _tiny(nl_last_units=1, act=0, k=10, t=6):
    lay = [CenLayer(act, np.zeros((1, 2), np.float32), np.ones((2, k), np.float32)),
           CenLayer(act, np.zeros((1, nl_last_units), np.float32), np.ones((nl_last_units, 2), np.float32))]
    e = CenExpert(3, 3, tuple(lay), 1.0)
    sc = build_cen_scale(1.0, np.zeros((1, 3)), np.ones((1, 1)), [0], [0], [[e]])
    return sc


def test_bad_records(tmp_path):
    p = tmp_path / "cen_patches_rec.dat"
    write_cen_patch_experts(p, _tiny())
    good = p.read_bytes()
    off = good.index(struct.pack("<iiii", 6, 3, 3, 2))
    p.write_bytes(good[:off] + struct.pack("<i", 5) + good[off + 4:])          # record type 5 (CCNF)
    with pytest.raises(ModelError, match=r"cen_patches_rec\.dat.*type 6"):
        read_cen_patch_experts(p)
    mat = off + 16 + 4                                                          # layer 0's bias header
    p.write_bytes(good[:mat + 8] + struct.pack("<i", 13) + good[mat + 12:])     # OpenCV type 13 (CV_32FC2)
    with pytest.raises(ModelError, match="matrix header"):
        read_cen_patch_experts(p)
    with pytest.raises(ModelError, match="inputs"):
        _tiny(k=9)                                                              # 3x3 support needs 10 inputs
    with pytest.raises(ModelError, match="outputs 1"):
        _tiny(nl_last_units=2)


def test_scale_view_count_mismatch(cen_scales):
    one_view = build_cen_scale(0.25, np.zeros((1, 3)), np.ones((1, 68)), np.arange(68), [0],
                               [cen_scales["0.25"].experts[0]], path="cen_patches_one_view.dat")
    with pytest.raises(ModelError, match="cen_patches_one_view.dat.*views"):
        CenPatchExperts([one_view, cen_scales["0.35"]])


# --- early termination ---------------------------------------------------------------------------

def test_early_termination_file(openface_model_dir, cen_dir, tmp_path):
    et = read_early_termination(openface_model_dir / "early_term_cen_of.txt", 7)
    assert list(et.weights) == [1.0, 1.005, 1.054, 0.976, 0.976, 1.054, 1.005]
    assert list(et.biases) == [0.0, 0.049, 0.121, -0.37, -0.37, 0.121, 0.049]
    assert list(et.cutoffs) == [-0.23, -0.2, -0.14, 0.26, 0.26, -0.14, -0.2]
    off = read_early_termination(cen_dir / "no_early_termination" / "early_term_cen_of.txt", 7)
    assert list(off.cutoffs) == [1000.0] * 7 and np.array_equal(off.weights, et.weights)
    bad = tmp_path / "early_term_bad.txt"
    bad.write_text("1 2 3\n")
    with pytest.raises(ModelError, match=r"early_term_bad\.txt.*3 numbers"):
        read_early_termination(bad, 7)
    bad.write_text(" ".join(["1"] * 10 + ["x"] + ["1"] * 10))
    with pytest.raises(ModelError, match="not a number"):
        read_early_termination(bad, 7)
    with pytest.raises(ModelError, match="missing.txt"):
        read_early_termination(tmp_path / "missing.txt", 7)


def test_completion_order_is_stable_descending():
    assert completion_order([0.5, 2.0, 1.0, 2.0, -1.0]) == [1, 3, 2]
    assert completion_order([1.0, 1.0]) == [0, 1]
    assert completion_order([]) == []
