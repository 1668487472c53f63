"""The CE-CLM fitting path (ceclm.fit_face_ceclm) against C++ OpenFace 2.0.2 run with the synthetic CEN
experts: ../shared/reference_dumps/openface-2.0.2-cen-synthetic, every face of every dump of both folders
(`images/`: one hypothesis, early termination; `images-multiview-full/`: 11 hypotheses, no early
termination, the 3 best completed). Each face is fitted once from the dump's own box (module cache),
recording at the dump's level; the tests compare that trace with the dump.

Policy (issue 7): final landmarks <= 0.005 px, responses <= 1e-6 abs, intermediate arrays <= 1e-4 rel,
hypothesis choice and completion order exact.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pyparity.pipelines.clnf.ceclm.fit import fit_face_ceclm
from pyparity.pipelines.clnf.validator.cnn import read_validator
from pyparity.trace import Recorder, read_trace

COLLECTION = "openface-2.0.2-cen-synthetic"
IMAGES = ["sample1.jpg", "sample2.jpg", "sample3.jpg", "001.jpg", "005.jpg", "010.jpg", "015.jpg", "020.jpg"]
MULTIVIEW = ["sample1.jpg", "sample3.jpg", "001.jpg", "020.jpg"]
DUMPS = [f"images/{n}" for n in IMAGES] + [f"images-multiview-full/{n}" for n in MULTIVIEW]

# stages of faceNN/clnf/ that are not the fit's: the pipeline's inputs
NOT_OURS = ("/clnf/input/",)

# Every stage of every dump is bit-identical. (Two first-scale fits once started 1 ULP off: PDM::CalcParams
# sums the rotated box shape in float, and cv::sum in AlignShapesWithScale adds its tail in float; both are
# reproduced now.) A dump may be listed here with the stage prefixes whose state is then compared within
# KNOWN_OFF_REL only, and a reason.
KNOWN_OFF: dict[str, tuple[str, ...]] = {}
# what is compared inside those fits (<= KNOWN_OFF_REL relative): their state, not maps and mean shifts
KNOWN_OFF_REL = 1e-3
STATE = ("params_global", "params_local", "landmarks_stacked", "loglikelihood", "model_likelihood", "likelihood")


def _samples_image(samples: Path, name: str) -> np.ndarray:
    p = samples / name if (samples / name).exists() else samples / "image_sequence" / name
    bgr = cv2.imread(str(p))
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)      # OpenFace's ConvertToGrayscale_8bit on a BGR read


def _faces(ref) -> list[str]:
    return sorted({n.split("/")[0] for n in ref.names if n.startswith("face") and "/clnf/" in n})


class _Runs:
    """Fits computed once per (dump, mode) for the whole module."""

    def __init__(self, cen_dumps, samples_dir, models):
        self.cen_dumps, self.samples, self.models = cen_dumps, samples_dir, models
        self.validator = read_validator(models[False].validator_path)     # validator_cnn_68.txt
        self.cache: dict = {}

    def get(self, dump: str, isolation: bool = False):
        key = (dump, isolation)
        if key not in self.cache:
            ref = read_trace(self.cen_dumps / dump)
            multi = dump.startswith("images-multiview-full")
            level = int(ref.meta["producer"]["dump_level"])
            gray = None if isolation else _samples_image(self.samples, Path(dump).name)
            if gray is not None and "face00/clnf/input/gray" in ref.names:
                assert np.array_equal(gray, ref["face00/clnf/input/gray"])
            rec = Recorder()
            results = {}
            for face in _faces(ref):
                with rec.scope(f"{face}/clnf"):
                    results[face] = fit_face_ceclm(gray, ref[f"{face}/clnf/input/bbox"], self.models[multi], rec,
                                                   multi_view=multi, responses_from=ref if isolation else None,
                                                   trace_prefix=f"{face}/clnf/", level=level,
                                                   validator=None if isolation else self.validator)
            self.cache[key] = (ref, rec.finish(), results)
        return self.cache[key]


@pytest.fixture(scope="module")
def runs(cen_dumps, samples_dir, models) -> _Runs:
    return _Runs(cen_dumps, samples_dir, models)


def test_every_dump_is_covered(cen_dumps):
    found = sorted(str(p.relative_to(cen_dumps)) for p in cen_dumps.glob("images*/*") if (p / "index.tsv").exists())
    assert found == sorted(DUMPS)


@pytest.mark.parametrize("dump", DUMPS)
def test_stage_names_and_order(runs, dump):
    """Every stage the reference records under faceNN/clnf/ (but the inputs), in
    the same order, with the same dtypes and shapes -- including the CEN internals of level-2 dumps."""
    ref, ours, _ = runs.get(dump)
    want = [n for n in ref.names if "/clnf/" in n and not any(k in n for k in NOT_OURS)]
    assert list(ours.names) == want
    for n in want:
        assert ours[n].dtype == ref[n].dtype and ours[n].shape == ref[n].shape, n


@pytest.mark.parametrize("dump", DUMPS)
def test_hypothesis_choice(runs, dump):
    """Early termination decision, completion order and the kept hypothesis: exact."""
    ref, ours, results = runs.get(dump)
    for face in _faces(ref):
        p = f"{face}/clnf/"
        for n in ("early_terminated", "best_hypothesis", "completion_order"):
            if p + n in ref.names:
                assert np.array_equal(ours[p + n], ref[p + n]), p + n
        hyps = sorted({n.split("/")[2] for n in ref.names if n.startswith(p + "h") and "/early_term/" in n})
        for h in hyps:
            for n in ("view_used", "continue"):
                assert ours[f"{p}{h}/early_term/{n}"] == ref[f"{p}{h}/early_term/{n}"], (face, h, n)
        assert results[face].best_hypothesis == int(ref[p + "best_hypothesis"])
        assert results[face].early_terminated == bool(ref[p + "early_terminated"])


@pytest.mark.parametrize("dump", DUMPS)
def test_resume_state(runs, dump):
    """What each completing DetectLandmarks starts from (`hNN/resume/*`): the first-scale parameters, and
    for stored hypotheses the local parameters the shallow cv::Mat copy leaves (zeros but for the last)."""
    ref, ours, _ = runs.get(dump)
    names = [n for n in ref.names if "/resume/" in n]
    assert names
    for n in names:
        if n.endswith("window_sizes"):
            assert np.array_equal(ours[n], ref[n]), n
        elif n.endswith("params_local") and dump.startswith("images-multiview-full"):
            assert np.array_equal(ours[n], ref[n]), n        # the aliasing quirk: zeros, exactly
        else:
            assert np.allclose(ours[n], ref[n], rtol=1e-4, atol=1e-4), n


@pytest.mark.parametrize("dump", DUMPS)
def test_every_stage_within_policy(runs, dump):
    """Every recorded stage (every iteration of every scale and hypothesis, the part models, the refit,
    the validator) is bit-identical to the reference, but inside the KNOWN_OFF fits, whose state stays
    within KNOWN_OFF_REL (and whose hypotheses' decisions are exact, test_hypothesis_choice)."""
    ref, ours, _ = runs.get(dump)
    off = KNOWN_OFF.get(dump, ())
    for n in ours.names:
        a, b = ours[n], ref[n]
        if not n.startswith(off) if off else True:
            assert np.array_equal(a, b), n
        elif n.endswith(STATE):
            d = np.abs(a.astype(np.float64) - b.astype(np.float64)).max()
            assert d <= KNOWN_OFF_REL * max(np.abs(b.astype(np.float64)).max(), 1e-30), n


@pytest.mark.parametrize("dump", DUMPS)
def test_first_responses(runs, dump):
    """The first-scale CEN responses of every hypothesis start from PDM::CalcParams of the box: where
    that start and the similarity transform equal the reference's, the maps are within 1e-6 (later
    scales' maps follow the fitted landmarks; tests/pipelines/clnf/experts/test_cen_parity.py checks them from the reference's own
    landmarks). The start itself is within 1e-4 relative."""
    ref, ours, _ = runs.get(dump)
    stages = [n[: -len("responses")] for n in ref.names if n.endswith("/first_scale/fit/s0/responses")]
    assert stages
    exact = 0
    for st in stages:
        init = st.replace("first_scale/fit/s0/", "init/params_global")
        assert np.allclose(ours[init], ref[init], rtol=1e-4, atol=0), init
        same_input = all(np.array_equal(ours[st + k], ref[st + k])
                         for k in ("base_shape_stacked", "sim_img_to_ref", "sim_ref_to_img", "view_id"))
        if same_input:
            assert np.abs(ours[st + "responses"].astype(np.float64) - ref[st + "responses"]).max() <= 1e-6, st
            for n in (n for n in ref.names if n.startswith(st + "cen/")):    # level 2: CEN internals
                assert np.array_equal(ours[n], ref[n]), n
            exact += 1
    assert exact >= 1

@pytest.mark.parametrize("dump", DUMPS)
def test_final_landmarks(runs, dump):
    """The kept hypothesis's landmarks (after the part refit) <= 0.005 px from C++'s output, and the
    model's state after DetectLandmarksInImage as the reference reports it: parameters, likelihood,
    detection certainty (the last completion's without early termination) and success."""
    ref, _, results = runs.get(dump)
    for face in _faces(ref):
        r, o = results[face], f"{face}/output/"
        err = np.abs(r.landmarks_stacked.astype(np.float64) - ref[o + "landmarks_stacked"].ravel()).max()
        assert err <= 0.005, (face, err)
        assert np.allclose(r.params_global, ref[o + "params_global"], rtol=1e-4, atol=0), face
        assert np.allclose(r.params_local, ref[o + "params_local"].ravel(), rtol=1e-4, atol=1e-4), face
        assert np.float32(r.model_likelihood) == ref[o + "model_likelihood"], face
        assert np.float32(r.detection_certainty) == ref[o + "detection_certainty"], face
        assert r.success == bool(ref[o + "detection_success"]), face


@pytest.mark.parametrize("dump", DUMPS)
def test_from_reference_responses(runs, dump):
    """Stage isolation: the reference's own response maps (main model and parts) in place of the experts.
    Everything CE-CLM decides (early termination, completion order, resume state, the kept hypothesis)
    is exact and the final landmarks are within 0.005 px."""
    ref, ours, results = runs.get(dump, isolation=True)
    for face in _faces(ref):
        p = f"{face}/clnf/"
        assert results[face].best_hypothesis == int(ref[p + "best_hypothesis"])
        if p + "completion_order" in ref.names:
            assert np.array_equal(ours[p + "completion_order"], ref[p + "completion_order"])
        lm = results[face].landmarks_stacked.astype(np.float64)
        err = np.abs(lm - ref[f"{face}/output/landmarks_stacked"].ravel()).max()
        assert err <= 0.005, (face, err)
