"""CLNF end to end from the image: fit_landmarks on the gray image with our own CCNF responses (main
model and parts), from each face's C++ box, against every face of every OpenFace 2.0.2 image dump.

State when written: 25 of the 28 faces bit-identical in every recorded stage; the other three
(006.jpg, 009.jpg, sample1.jpg) differ by at most 3.1e-5 px, from one eye part's similarity transform
(patch_experts.align_shapes_with_scale) that is one ulp off: its shape scale `(float)sqrt(sum/n)` lies
0.0018, 0.0033 and 0.0081 ulp from a float rounding tie there, and the reference's cv::sum (AVX-512
lanes plus a float-summed tail, pdm_kernels.cv_sum_f32) rounds the other way. With that sum in
align_shapes_with_scale all 28 faces are bit-identical (tests/pipelines/clnf/model/test_pdm.py checks the transforms).
With the reference's responses every stage is bit-identical (tests/pipelines/clnf/fitting/test_nu_rlms.py)."""

from __future__ import annotations

import cv2
import numpy as np

from pyparity.pipelines.clnf.fitting.landmarks import fit_landmarks
from pyparity.trace import Recorder, read_trace

LANDMARK_ATOL = 0.005   # "0.00 px"
REL = 1e-4              # parameters (the committed policy)


def _sample_path(samples, name: str):
    if name.startswith("gray_"):
        return samples / "image_sequence_gray" / name[5:]
    if (samples / name).exists():
        return samples / name
    return samples / "image_sequence" / name


def _gray(t, samples, name: str) -> np.ndarray:
    """The level-2 dump's own gray image, else the sample read as OpenFace does (8-bit BGR, then
    cv::cvtColor BGR2GRAY; test_clnf_experts_responses checks the two agree)."""
    if "face00/clnf/input/gray" in t:
        return t["face00/clnf/input/gray"]
    return cv2.cvtColor(cv2.imread(str(_sample_path(samples, name))), cv2.COLOR_BGR2GRAY)


def _rel(a, b) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-6))


def _dumps(openface_dumps):
    return sorted(d.name for d in (openface_dumps / "images").iterdir())


def test_fit_landmarks_from_image_all_dumps(model, openface_dumps, samples_dir):
    """Every face: the same stages (names, order, dtype, shape) as the reference, iteration counts
    and views exact, every landmarks_stacked (fit, parts, merge, refit) within 0.005 px, fit and refit
    parameters within 1e-4 relative. One fit per face."""
    n_faces = 0
    worst = 0.0
    for name in _dumps(openface_dumps):
        t = read_trace(openface_dumps / "images" / name)
        gray = _gray(t, samples_dir, name)
        for f in range(4):
            pre = f"face{f:02d}/clnf/"
            if pre + "input/bbox" not in t:
                continue
            rec = Recorder()
            with rec.scope(pre[:-1]):
                res = fit_landmarks(gray, t[pre + "input/bbox"], model, rec=rec)
            ours = rec.finish()
            h = pre + "h00/"
            ref_names = [n for n in t.names if n.startswith(h) and not n.startswith(h + "validation")]
            assert [n for n in ours.names if n in set(ref_names)] == ref_names, name
            for n in ref_names:
                assert ours.info(n).dtype == t.info(n).dtype and ours.info(n).shape == t.info(n).shape, (name, n)
                if n.endswith(("iterations", "view_id", "success", "window_size")):
                    assert int(ours[n]) == int(t[n]), (name, n)
                if n.endswith("landmarks_stacked"):
                    err = float(np.max(np.abs(ours[n].astype(np.float64) - t[n])))
                    worst = max(worst, err)
                    assert err <= LANDMARK_ATOL, (name, n, err)
            for stage in ("fit", "refit"):
                if h + stage + "/params_global" in t:
                    assert _rel(ours[h + stage + "/params_global"], t[h + stage + "/params_global"]) <= REL, name
                    assert _rel(ours[h + stage + "/params_local"], t[h + stage + "/params_local"]) <= REL, name
            final = h + ("refit/landmarks_stacked" if h + "refit/landmarks_stacked" in t else "fit/landmarks_stacked")
            assert np.max(np.abs(res.landmarks_stacked - t[final].ravel())) <= LANDMARK_ATOL, name
            n_faces += 1
    assert n_faces >= 28
    print(f"max landmark error over {n_faces} faces: {worst:.3g} px")
