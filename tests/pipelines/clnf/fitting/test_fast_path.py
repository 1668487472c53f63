"""The unrecorded fast path of the CLNF optimiser (nu_rlms._nu_rlms_fast, pdm._calc_params_loop_fast, the
fused kernels of pdm_fused.py and rlms_kernels.py, the tabled KDE mean-shift) is bit-identical to the recording path, which
the parity tests hold to the reference dumps stage by stage.

End to end: every face of every OpenFace 2.0.2 image dump (CCNF: fit, parts, refit) and of every
synthetic-CEN dump (CE-CLM, both folders: early termination and the 11-hypothesis path), fitted once
with recording off and once with a recorder on (which takes the step-by-step path), must give identical
landmarks, parameters and likelihoods (np.array_equal, not a tolerance). Property tests pin the pieces
that replace numpy/njit calls with a different evaluation: the KDE table, numpy's pairwise sum, the
Hessian's two-rows-per-pass sgemm, and CalcParams' fused loop.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.pipelines.clnf.ceclm.fit import fit_face_ceclm, load_ceclm_model
from pyparity.pipelines.clnf.fitting.landmarks import fit_landmarks, load_clnf_model
from pyparity.pipelines.clnf.fitting.mean_shift import _mean_shift_kernel, kde_table, mean_shift_tabled
from pyparity.pipelines.clnf.numerics.f32kernels import FMA_FUSED
from pyparity.pipelines.clnf.model.pdm_fused import sgemm_jtwj_pairs
from pyparity.pipelines.clnf.model.pdm_kernels import sgemm_jtwj_kernel, split_mask_t
from pyparity.pipelines.clnf.fitting.rlms_kernels import pairwise_sum
from pyparity.pipelines.clnf.validator.cnn import read_validator
from pyparity.trace import Recorder, read_trace

CEN_COLLECTION = "openface-2.0.2-cen-synthetic"


def _image(samples: Path, name: str) -> np.ndarray | None:
    if name.startswith("gray_"):
        p = samples / "image_sequence_gray" / name[5:]
    else:
        p = samples / name if (samples / name).exists() else samples / "image_sequence" / name
    if not p.exists():
        return None
    return cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2GRAY)


def _recording() -> Recorder:
    # enabled (so every function takes its recording path) but keeping nothing: the comparison is of
    # the returned state
    return Recorder(select=["no-stage-has-this-name"])


def _same(a, b, fields) -> list[str]:
    return [f for f in fields if not np.array_equal(np.asarray(getattr(a, f)), np.asarray(getattr(b, f)))]


FIELDS = ("success", "landmarks_stacked", "params_global", "params_local", "model_likelihood")


@pytest.fixture(scope="module")
def clnf_model(openface_model_dir):
    return load_clnf_model(openface_model_dir / "main_clnf_general.txt").load_experts()


def test_clnf_fast_path_equals_recording_path(clnf_model, openface_dumps, samples_dir):
    n_faces, bad = 0, []
    for d in sorted((openface_dumps / "images").iterdir()):
        gray = _image(samples_dir, d.name)
        ref = read_trace(d)
        if gray is None:
            gray = ref["face00/clnf/input/gray"]
        for f in range(16):
            key = f"face{f:02d}/clnf/input/bbox"
            if key not in ref:
                continue
            box = np.asarray(ref[key], dtype=np.float64)
            fast = fit_landmarks(gray, box, clnf_model)
            with _recording() as rec:
                slow = fit_landmarks(gray, box, clnf_model, rec)
            diff = _same(fast, slow, FIELDS + ("landmark_likelihoods",))
            if diff:
                bad.append((d.name, f, diff))
            n_faces += 1
    assert n_faces >= 20
    assert not bad, bad


@pytest.mark.parametrize("folder", ["images", "images-multiview-full"])
def test_ceclm_fast_path_equals_recording_path(folder, shared_dir, openface_model_dir, samples_dir):
    cen = shared_dir / "openface" / "synthetic_cen"
    multi = folder == "images-multiview-full"
    model = load_ceclm_model(openface_model_dir, cen,
                             cen / "no_early_termination" / "early_term_cen_of.txt" if multi else None)
    validator = read_validator(model.validator_path)
    n_faces, bad = 0, []
    for d in sorted((shared_dir / "reference_dumps" / CEN_COLLECTION / folder).iterdir()):
        ref = read_trace(d)
        gray = _image(samples_dir, d.name)
        faces = sorted({n.split("/")[0] for n in ref.names if n.startswith("face") and "/clnf/" in n})
        for face in faces:
            box = ref[f"{face}/clnf/input/bbox"]
            fast = fit_face_ceclm(gray, box, model, multi_view=multi, validator=validator)
            with _recording() as rec:
                slow = fit_face_ceclm(gray, box, model, rec, multi_view=multi, validator=validator)
            diff = _same(fast, slow, FIELDS + ("best_hypothesis", "view_id", "detection_certainty"))
            if diff:
                bad.append((d.name, face, diff))
            n_faces += 1
    assert n_faces >= 4
    assert not bad, bad


def test_calc_params_fast_loop_equals_step_by_step(clnf_model):
    """PDM::CalcParams from landmarks (the part initialisations and the refit): random plausible shapes,
    some landmarks missing, every PDM of the model (main, inner, eyes: both gemm paths of M + V·p)."""
    rng = np.random.default_rng(7)
    pdms = [clnf_model.pdm] + [pdm for _, pdm in clnf_model.parts]
    assert len(pdms) == 4
    for pdm in pdms:
        for _ in range(6):
            loc = (rng.standard_normal(pdm.n_modes) * np.sqrt(pdm.eigen_values) * 0.7).astype(np.float32)
            g = np.array([rng.uniform(0.5, 4), rng.uniform(-0.4, 0.4), rng.uniform(-0.6, 0.6), rng.uniform(-0.3, 0.3),
                          rng.uniform(100, 500), rng.uniform(100, 400)], dtype=np.float32)
            lm = pdm.calc_shape_2d(loc, g) + rng.normal(0, 1.5, 2 * pdm.n_points).astype(np.float32)
            n = pdm.n_points
            drop = rng.random(n) < 0.1
            lm[:n][drop] = 0
            a = pdm.calc_params_from_landmarks(lm, fast=True)
            b = pdm.calc_params_from_landmarks(lm, fast=False)
            assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@settings(max_examples=60, deadline=None)
@given(ws=st.sampled_from([5, 7, 9, 11, 15, 17]), sigma=st.floats(1.0, 3.0), seed=st.integers(0, 2**31 - 1),
       spread=st.floats(-3.0, 3.0))
def test_tabled_mean_shift_equals_direct(ws, sigma, seed, spread):
    rng = np.random.default_rng(seed)
    n = 30
    resp = rng.random((n, ws, ws)).astype(np.float32) + np.float32(1e-4)
    # positions inside, on the edges of and outside the window (clamped), a few invisible landmarks
    dxs = (rng.random(n) * (ws + 2 * abs(spread)) - abs(spread)).astype(np.float32)
    dys = (rng.random(n) * (ws + 2 * abs(spread)) - abs(spread)).astype(np.float32)
    vis = (rng.random(n) > 0.1).astype(np.int32)
    a = np.float32(-0.5 / float(np.float32(np.float32(sigma) * np.float32(sigma))))
    direct = np.zeros(2 * n, dtype=np.float32)
    tabled = np.zeros(2 * n, dtype=np.float32)
    _mean_shift_kernel(resp, dxs, dys, vis, a, direct)
    table, filled = kde_table(ws, a)
    mean_shift_tabled(resp, dxs, dys, vis, a, table, filled, tabled)
    assert np.array_equal(direct, tabled)
    # a second pass reads the table it filled
    mean_shift_tabled(resp, dxs, dys, vis, a, table, filled, tabled)
    assert np.array_equal(direct, tabled)


def test_tabled_mean_shift_nan_offset_falls_back():
    ws, n = 7, 3
    resp = np.ones((n, ws, ws), dtype=np.float32)
    dxs = np.array([np.nan, 2.0, 3.0], dtype=np.float32)
    dys = np.array([1.0, np.nan, 3.0], dtype=np.float32)
    vis = np.ones(n, dtype=np.int32)
    a = np.float32(-0.5 / 2.25)
    direct = np.zeros(2 * n, dtype=np.float32)
    tabled = np.zeros(2 * n, dtype=np.float32)
    outcomes = []
    for run in (lambda: _mean_shift_kernel(resp, dxs, dys, vis, a, direct),
                lambda: mean_shift_tabled(resp, dxs, dys, vis, a, *kde_table(ws, a), tabled)):
        try:
            run()
            outcomes.append("ok")
        except ZeroDivisionError:      # numba's float division by a zero KDE sum (the weights underflow)
            outcomes.append("zero division")
    assert outcomes[0] == outcomes[1]
    if outcomes[0] == "ok":
        assert np.array_equal(direct, tabled, equal_nan=True)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 600), seed=st.integers(0, 2**31 - 1), mag=st.integers(-8, 4))
def test_pairwise_sum_is_numpys(n, seed, mag):
    a = (np.random.default_rng(seed).standard_normal(n) * 10.0 ** mag) ** 2
    assert pairwise_sum(a, 0, n) == np.sum(a)


@settings(max_examples=150, deadline=None)
@given(k=st.integers(1, 48), rows=st.integers(1, 160), seed=st.integers(0, 2**31 - 1))
def test_hessian_two_rows_per_pass_is_the_haswell_sgemm(k, rows, seed):
    """pdm_fused.sgemm_jtwj_pairs against pdm_kernels.sgemm_jtwj_kernel (the kernel the level-2 dumps' Hessians
    hold bit for bit), for every size the masks distinguish."""
    rng = np.random.default_rng(seed)
    jwt = rng.standard_normal((k, rows)).astype(np.float32)
    j = rng.standard_normal((rows, k)).astype(np.float32)
    want = np.empty((k, k), dtype=np.float32)
    got = np.empty((k, k), dtype=np.float32)
    sgemm_jtwj_kernel(jwt, j, split_mask_t(k), want, FMA_FUSED)
    sgemm_jtwj_pairs(jwt, j, split_mask_t(k), got, FMA_FUSED)
    assert np.array_equal(want, got)


@pytest.mark.parametrize("stage", [1, 2])
def test_opencv_fallback_gives_the_ports_bits(clnf_model, openface_dumps, samples_dir, monkeypatch, stage):
    """Where the numba ports decline (1: the Cholesky failed, 2: a zero singular value) the fast paths
    hand the step to OpenCV itself (pdm.rotation_update_opencv, pdm.cholesky_solve). Forcing that on
    every iteration of NU-RLMS and CalcParams must leave the fit bit-identical: the ports are exact."""
    import pyparity.pipelines.clnf.fitting.nu_rlms as nu_rlms
    import pyparity.pipelines.clnf.model.pdm as pdm
    import pyparity.pipelines.clnf.model.pdm_fused as kernels

    def declining(port):
        def run(H, jwtm, g):
            if stage == 1:   # declined before the solve: nothing computed, the parameters untouched
                nothing = np.zeros((3, 3), np.float32)
                return np.zeros_like(jwtm), nothing, nothing, nothing, 1
            upd, r1, small, rot, st = port(H, jwtm, g)
            return upd, r1, small, rot, max(st, 2)
        return run

    name = "sample1.jpg"
    ref = read_trace(openface_dumps / "images" / name)
    gray = _image(samples_dir, name)
    box = np.asarray(ref["face00/clnf/input/bbox"], dtype=np.float64)
    want = fit_landmarks(gray, box, clnf_model)
    monkeypatch.setattr(nu_rlms, "solve_and_rotate", declining(kernels.solve_and_rotate))
    monkeypatch.setattr(kernels, "calc_params_solve_and_rotate", declining(kernels.calc_params_solve_and_rotate))
    taken = []
    opencv = pdm.rotation_update_opencv
    monkeypatch.setattr(nu_rlms, "rotation_update_opencv", lambda *a: taken.append("nu_rlms") or opencv(*a))
    monkeypatch.setattr(pdm, "rotation_update_opencv", lambda *a: taken.append("calc_params") or opencv(*a))
    got = fit_landmarks(gray, box, clnf_model)
    assert {"nu_rlms", "calc_params"} <= set(taken)
    assert not _same(want, got, FIELDS + ("landmark_likelihoods",))
