"""CEN responses and early termination against C++ OpenFace 2.0.2 run with the synthetic CEN experts
(../shared/reference_dumps/openface-2.0.2-cen-synthetic, both folders, every dump).

Each response stage `fit/sK` of the main model is recomputed from the reference's own inputs to
Patch_experts::Response: its landmarks `base_shape_stacked`, its `sim_ref_to_img` (for the warp), its
`view_id`, and the gray image (recorded at level 2, else the sample converted as OpenFace does).
Invisible landmarks' maps are zeros in both. Everything here is bit-identical to the reference."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pyparity.pipelines.clnf.experts.cen import (CenPatchExperts, cen_areas_of_interest, cen_scale_responses, landmarks_needing_aoi,
                                         read_cen_patch_experts)
from pyparity.pipelines.clnf.ceclm.early_termination import completion_order, read_early_termination
from pyparity.trace import Recorder, read_trace

COLLECTION = "openface-2.0.2-cen-synthetic"
SCALES = ["0.25", "0.35", "0.50", "1.00"]
IMAGES = ["sample1.jpg", "sample2.jpg", "sample3.jpg", "001.jpg", "005.jpg", "010.jpg", "015.jpg", "020.jpg"]
MULTIVIEW = ["sample1.jpg", "sample3.jpg", "001.jpg", "020.jpg"]
DUMPS = [f"images/{n}" for n in IMAGES] + [f"images-multiview-full/{n}" for n in MULTIVIEW]
LEVEL2 = ["images/sample1.jpg", "images/001.jpg"]


@pytest.fixture(scope="module")
def experts(shared_dir) -> CenPatchExperts:
    d = shared_dir / "openface" / "synthetic_cen"
    return CenPatchExperts([read_cen_patch_experts(d / f"cen_patches_{s}_of.dat") for s in SCALES])


def test_every_dump_is_covered(cen_dumps):
    found = sorted(str(p.relative_to(cen_dumps)) for p in cen_dumps.glob("images*/*") if (p / "index.tsv").exists())
    assert found == sorted(DUMPS)


def _gray(ref, samples: Path, name: str) -> np.ndarray:
    p = samples / name if (samples / name).exists() else samples / "image_sequence" / name
    g = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2GRAY)      # 8-bit BGR read, OpenFace's conversion
    if "face00/clnf/input/gray" in ref.names:
        assert np.array_equal(g, ref["face00/clnf/input/gray"])
    return g.astype(np.float32)


def _response_stages(ref) -> list[str]:
    """`.../fit/sK/` prefixes of the main model (not the eye part models, which are CCNF)."""
    return [n[: -len("responses")] for n in ref.names if n.endswith("/responses") and "/parts/" not in n]


@pytest.mark.parametrize("dump", DUMPS)
def test_responses_bit_identical(cen_dumps, samples_dir, experts, dump):
    ref = read_trace(cen_dumps / dump)
    gray = _gray(ref, samples_dir, Path(dump).name)
    stages = _response_stages(ref)
    assert stages
    views = set()
    for st in stages:
        k = int(st.rstrip("/").rsplit("/s", 1)[1])
        ws, view = int(ref[st + "window_size"]), int(ref[st + "view_id"])
        sc = experts.scales[k]
        assert sc.patch_scaling == float(ref[st + "patch_scaling"])
        need = landmarks_needing_aoi(sc, view)
        aois = cen_areas_of_interest(gray, ref[st + "base_shape_stacked"], ref[st + "sim_ref_to_img"], need, ws + 10)
        if st == stages[0]:      # the compiled warp is OpenCV's, bit for bit
            assert np.array_equal(aois, cen_areas_of_interest(gray, ref[st + "base_shape_stacked"],
                                                              ref[st + "sim_ref_to_img"], need, ws + 10, use_cv2=True))
        ours = cen_scale_responses(sc, aois, view, ws)
        theirs = ref[st + "responses"]
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert np.array_equal(ours, theirs), (st, float(np.abs(ours - theirs).max()))
        views.add(view)
    if dump.startswith("images-multiview-full"):
        assert views == set(range(7))      # every view, incl. the mirrored ones 4-6
    else:
        assert len(stages) == 4 * len({s.split("/")[0] for s in stages})


def _read_pdm(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Mean shape (3n,) and principal components (3n, m), float32 of the text file's doubles."""
    nums: list[str] = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            nums += line.split()
    mats, pos = [], 0
    for _ in range(2):
        r, c = int(nums[pos]), int(nums[pos + 1])
        pos += 3
        mats.append(np.array(nums[pos:pos + r * c], dtype=np.float64).reshape(r, c).astype(np.float32))
        pos += r * c
    return mats[0].reshape(-1), mats[1]


def _reference_shape(mean, pc, params_local, scaling) -> np.ndarray:
    """PDM::CalcShape2D(params_local, [scaling, 0, 0, 0, 0, 0]): mean + the sgemm's FMA chain (m = 1)."""
    p = np.asarray(params_local, np.float32).reshape(-1)
    acc = np.zeros(pc.shape[0], np.float32)
    for k in range(pc.shape[1]):
        acc = (pc[:, k].astype(np.float64) * np.float64(p[k]) + acc).astype(np.float32)
    s3 = mean + acc
    n = s3.shape[0] // 3
    return (np.float32(scaling) * np.concatenate([s3[:n], s3[n:2 * n]])).astype(np.float32)


def _scale_inputs(ref, st: str) -> str:
    """Where the parameters that a `fit/sK` stage started from were recorded."""
    head, k = st.rstrip("/").rsplit("/s", 1)
    hyp = head.split("/fit")[0].replace("/first_scale", "")
    if "/first_scale/" in st:
        return hyp + "/init/"
    if int(k) == 1:
        return hyp + "/resume/"
    return f"{head}/s{int(k) - 1}/"


# Stages where patch_experts.similarity_transforms may be 1 ULP off the reference (none now: the
# 020.jpg h01 first scale was, until cv::sum's float tail was reproduced). A 1-ULP transform moves the
# warp's 1/32-pixel sample grid, and the maps then differ by up to 1.2e-3.
KNOWN_SIM_MISMATCHES: dict[str, int] = {}   # none since cv::sum is reproduced (pdm_kernels.cv_sum_f32)


@pytest.mark.parametrize("dump", DUMPS)
def test_patch_experts_response_end_to_end(cen_dumps, samples_dir, openface_model_dir, experts, dump):
    """CenPatchExperts.response (the PatchExperts drop-in): view, similarity transforms, warps, maps --
    bit-identical (all 120 stages)."""
    ref = read_trace(cen_dumps / dump)
    gray = _gray(ref, samples_dir, Path(dump).name)
    mean, pc = _read_pdm(openface_model_dir / "pdms" / "In-the-wild_aligned_PDM_68.txt")
    inexact = []
    for st in _response_stages(ref):
        k = int(st.rstrip("/").rsplit("/s", 1)[1])
        prev = _scale_inputs(ref, st)
        rs = _reference_shape(mean, pc, ref[prev + "params_local"], experts.patch_scaling[k])
        res = experts.response(gray, ref[st + "base_shape_stacked"], rs, ref[prev + "params_global"],
                               int(ref[st + "window_size"]), k)
        assert res.view_id == int(ref[st + "view_id"]), st
        s_ri, s_ir = ref[st + "sim_ref_to_img"], ref[st + "sim_img_to_ref"]
        if np.array_equal(res.sim_ref_to_img, s_ri) and np.array_equal(res.sim_img_to_ref, s_ir):
            assert np.array_equal(res.responses, ref[st + "responses"]), st
        else:
            for ours, theirs in ((res.sim_ref_to_img, s_ri), (res.sim_img_to_ref, s_ir)):
                assert np.abs(ours - theirs).max() <= 4 * np.spacing(np.abs(theirs).max()), st
            inexact.append(st)
    assert len(inexact) <= KNOWN_SIM_MISMATCHES.get(dump, 0), inexact


@pytest.mark.parametrize("dump", LEVEL2)
def test_level2_internals_recorded_as_reference(cen_dumps, experts, dump):
    """`cen/interp_matrix` and `cen/lmNN/*` (landmarks 0, 30, 36 of the first-scale call): same names, same
    order, same dtypes, same values."""
    ref = read_trace(cen_dumps / dump)
    st = "face00/clnf/h00/first_scale/fit/s0/"
    gray = ref["face00/clnf/input/gray"].astype(np.float32)
    ws, view = int(ref[st + "window_size"]), int(ref[st + "view_id"])
    sc = experts.scales[0]
    aois = cen_areas_of_interest(gray, ref[st + "base_shape_stacked"], ref[st + "sim_ref_to_img"], range(68), ws + 10)
    rec = Recorder()
    with rec.scope(st):
        ours = cen_scale_responses(sc, aois, view, ws, rec, internals=(0, 30, 36))
    trace = rec.finish()
    want = [n for n in ref.names if n.startswith(st + "cen/")]
    assert list(trace.names) == want
    for n in want:
        a, b = trace[n], ref[n]
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), n
    assert np.array_equal(ours, ref[st + "responses"])


@pytest.mark.parametrize("dump", DUMPS)
def test_early_termination_decisions(cen_dumps, openface_model_dir, shared_dir, dump):
    ref = read_trace(cen_dumps / dump)
    multiview = dump.startswith("images-multiview-full")
    path = (shared_dir / "openface/synthetic_cen/no_early_termination/early_term_cen_of.txt" if multiview
            else openface_model_dir / "early_term_cen_of.txt")
    et = read_early_termination(path, 7)
    faces = sorted({n.split("/")[0] for n in ref.names if n.startswith("face")})
    for f in faces:
        hyps = sorted({n.split("/")[2] for n in ref.names if n.startswith(f"{f}/clnf/h") and "/early_term/" in n})
        assert len(hyps) == (11 if multiview else 1)
        lhoods = []
        for h in hyps:
            p = f"{f}/clnf/{h}/early_term/"
            d = et.decide(ref[p + "model_likelihood"], int(ref[p + "view_used"]))
            rec = Recorder()
            with rec.scope(p):
                d.record(rec)
            got = rec.finish()
            assert list(got.names) == [n for n in ref.names if n.startswith(p)]
            for n in got.names:
                assert got[n].dtype == ref[n].dtype and np.array_equal(got[n], ref[n]), n
            lhoods.append(d.likelihood)
        if multiview:
            assert int(ref[f"{f}/clnf/early_terminated"]) == 0
            assert completion_order(lhoods) == list(ref[f"{f}/clnf/completion_order"])
        else:
            assert int(ref[f"{f}/clnf/early_terminated"]) == 1


def test_without_hardware_fma(cen_dumps, experts, monkeypatch):
    """On a CPU without FMA the sgemm's fused multiply-adds are emulated in float64: same maps."""
    import pyparity.pipelines.clnf.experts.cen as cen_mod

    ref = read_trace(cen_dumps / "images/001.jpg")
    gray = ref["face00/clnf/input/gray"].astype(np.float32)
    monkeypatch.setattr(cen_mod, "FMA_FUSED", False)
    for st in _response_stages(ref):
        k = int(st.rstrip("/").rsplit("/s", 1)[1])
        ws, view = int(ref[st + "window_size"]), int(ref[st + "view_id"])
        aois = cen_areas_of_interest(gray, ref[st + "base_shape_stacked"], ref[st + "sim_ref_to_img"], range(68), ws + 10)
        assert np.array_equal(cen_scale_responses(experts.scales[k], aois, view, ws), ref[st + "responses"]), st
