"""FaceLandmarkImg parity (issue 4): pyparity's MTCNN -> CLNF -> validator -> outputs on every shared
image dump, under the committed `openface` policy; the output stages on their own (from the
reference's fitted state); grayscale and 16-bit inputs; stage isolation from the reference's box; bad
input. The same runs compute the action units (issue 20), checked against the AU dumps. Each image is
run once per session (module-scoped cache)."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.diff import diff_traces
from pyparity.diff.policy import builtin_policy
from pyparity.errors import InputError, ModelError, PyparityError
from pyparity.imageio import read_image_bgr
from pyparity.pipelines.openface import load_openface_models, run_image
from pyparity.conventions.intrinsics import openface_camera
from pyparity.pipelines.openface.outputs import (eye_gaze, gaze_angle, head_pose,
                                                 shape_3d_camera)
from pyparity.trace import Recorder, StageRef, read_trace

IMAGE_DUMPS = [f"{i:03d}.jpg" for i in range(1, 21)] + [
    "gray_001.jpg", "sample1.jpg", "sample2.jpg", "sample3.jpg", "sample3_16bit_gray.png", "sample3_16bit_rgb.png"]
LANDMARKS_PX = 0.005


def sample_for(samples_dir, dump_name: str):
    """The input image behind a dump: NNN.jpg -> image_sequence/, gray_NNN.jpg -> image_sequence_gray/."""
    if dump_name[:3].isdigit():
        return samples_dir / "image_sequence" / dump_name
    if dump_name.startswith("gray_"):
        return samples_dir / "image_sequence_gray" / dump_name[len("gray_"):]
    return samples_dir / dump_name


@pytest.fixture(scope="module")
def runs(models, samples_dir):
    """dump name -> (faces, trace) of pyparity's run (level 1), computed on first use."""
    cache = {}

    def get(name):
        if name not in cache:
            rec = Recorder()
            faces = run_image(read_image_bgr(sample_for(samples_dir, name)), models, rec=rec, level=1)
            cache[name] = (faces, rec.finish())
        return cache[name]
    return get


@pytest.fixture(scope="module")
def box_runs(models, samples_dir, openface_dumps):
    """dump name -> trace of the run started from the reference's own face boxes (--start box)."""
    cache = {}

    def get(name):
        if name not in cache:
            ref = read_trace(openface_dumps / "images" / name)
            rec = Recorder()
            run_image(read_image_bgr(sample_for(samples_dir, name)), models, rec=rec, start=StageRef(ref, "box"), level=1)
            cache[name] = rec.finish()
        return cache[name]
    return get


def _faces(ref) -> list[str]:
    return sorted({n.split("/")[0] for n in ref.names if n.startswith("face") and n.endswith("/output/landmarks_stacked")})


def test_every_shared_image_dump_is_listed(openface_dumps):
    assert sorted(IMAGE_DUMPS) == sorted(p.name for p in (openface_dumps / "images").iterdir())


@pytest.mark.parametrize("name", IMAGE_DUMPS)
def test_final_landmarks_within_0005_px(name, runs, openface_dumps):
    ref = read_trace(openface_dumps / "images" / name)
    faces, trace = runs(name)
    want = _faces(ref)
    assert [f"face{i:02d}" for i in range(len(faces))] == want
    worst = {f: float(np.abs(np.asarray(trace[f + "/output/landmarks_stacked"], np.float64)
                             - np.asarray(ref[f + "/output/landmarks_stacked"], np.float64)).max()) for f in want}
    assert max(worst.values()) <= LANDMARKS_PX, worst


@pytest.mark.parametrize("name", IMAGE_DUMPS)
def test_final_landmarks_from_reference_box_within_0005_px(name, box_runs, openface_dumps):
    """Stage isolation: from C++'s own face boxes (no MTCNN), the fit alone reaches C++'s landmarks."""
    ref = read_trace(openface_dumps / "images" / name)
    trace = box_runs(name)
    assert not any(n.startswith("mtcnn/") for n in trace.names)
    worst = {f: float(np.abs(np.asarray(trace[f + "/output/landmarks_stacked"], np.float64)
                             - np.asarray(ref[f + "/output/landmarks_stacked"], np.float64)).max()) for f in _faces(ref)}
    assert max(worst.values()) <= LANDMARKS_PX, worst


@pytest.mark.parametrize("name", IMAGE_DUMPS)
def test_whole_trace_matches_under_committed_policy(name, runs, openface_dumps):
    """What `pyparity run openface-image IMAGE --diff DUMP` decides (every common stage)."""
    ref = read_trace(openface_dumps / "images" / name)
    _, trace = runs(name)
    prefixes = sorted({n.split("/")[0] for n in trace.names})
    rep = diff_traces(trace, ref, policy=builtin_policy("openface"), stages=[p + "/**" for p in prefixes])
    assert rep.ok, f"first divergence {rep.first_divergence}; {rep.summary()}"
    # every stage the run records is compared and matches, but for what C++ does not dump (the MTCNN
    # crops, ignored by the policy anyway, and the eye landmarks the CSV holds) and the AUs (their
    # own dumps: test_au_stages_match_the_au_dumps)
    extra = [s.name for s in rep.stages if s.status == "only-in-B"]
    assert all(n.endswith(("/output/eye_landmarks_stacked", "/crops")) or "/au/" in n for n in extra), extra
    assert sum(s.status == "match" for s in rep.stages) == len(trace.names) - len(extra), rep.counts()


@pytest.mark.parametrize("name", IMAGE_DUMPS)
def test_au_stages_match_the_au_dumps(name, runs, au_dumps):
    """The acceptance of issue 20 on every image: the whole run (MTCNN, CLNF, AUs) against the AU dump,
    every faceNN/au stage of every face compared and matching under the committed policy (they are
    bit-identical: the landmarks are, and tests/pipelines/openface/test_au.py shows the AU stages are from them)."""
    ref = read_trace(au_dumps / "images" / name)
    _, trace = runs(name)
    rep = diff_traces(trace, ref, policy=builtin_policy("openface"), stages=["face*/**"])
    assert rep.ok, f"first divergence {rep.first_divergence}; {rep.summary()}"
    want = {n for n in ref.names if "/au/" in n}
    assert want and want <= {s.name for s in rep.stages if s.status == "match"}


@pytest.mark.parametrize("name", IMAGE_DUMPS)
def test_outputs_match_openface_csv(name, runs, openface_dumps):
    """The same run against the CSV FaceLandmarkImg wrote (compared to the printed digits): confidence,
    gaze, eye landmarks (CalculateAllEyeLandmarks), pose, 2D and 3D landmarks, parameters, AU
    intensities and presences."""
    from pyparity.adapters.openface_csv import read_openface_csv

    csv = read_openface_csv(openface_dumps / "csv" / "images" / (name.rsplit(".", 1)[0] + ".csv"))
    _, trace = runs(name)
    rep = diff_traces(trace, csv, policy=builtin_policy("openface"))
    assert all(s.status != "only-in-A" for s in rep.stages), [s.name for s in rep.stages if s.status == "only-in-A"]
    assert rep.ok, f"first divergence {rep.first_divergence}; {rep.summary()}"


@pytest.mark.parametrize("name", IMAGE_DUMPS)
def test_discrete_stages_and_stage_names_agree(name, runs, openface_dumps):
    """Same faces, boxes, scales run, iteration counts, views, validator decision; every stage the
    reference recorded at dump level 1 is recorded under the same name."""
    ref = read_trace(openface_dumps / "images" / name)
    _, trace = runs(name)
    level2_only = ("/input/gray", "/jacobian", "/jacobian_w_t", "/hessian", "/crops")
    missing = [n for n in ref.names if n not in trace and not n.endswith(level2_only)]
    assert not missing, missing[:5]
    for n in ref.names:
        if n.endswith(("/iterations", "/view_id", "/window_size", "/detection_success", "/fit/success")):
            assert np.array_equal(trace[n], ref[n]), n
    for f in _faces(ref):
        np.testing.assert_allclose(trace[f + "/clnf/input/bbox"], ref[f + "/clnf/input/bbox"], atol=5e-4, rtol=0)


@pytest.mark.parametrize("name", IMAGE_DUMPS)
def test_outputs_from_the_reference_fit(name, models, openface_dumps):
    """outputs.py alone: GetPose, GetShape, EstimateGaze and the camera defaults from the reference's
    own fitted parameters and landmarks reproduce the reference's output stages."""
    ref = read_trace(openface_dumps / "images" / name)
    cam = openface_camera(ref.meta["input"]["width"], ref.meta["input"]["height"])
    pol = builtin_policy("openface")
    for f in _faces(ref):
        o = f + "/output/"
        assert np.array_equal(cam.as_array(), ref[o + "camera"])
        g, loc, lm = ref[o + "params_global"], ref[o + "params_local"], ref[o + "landmarks_stacked"]
        pose = head_pose(models.pdm, g, loc, lm, cam)
        s3 = shape_3d_camera(models.pdm, g, loc, lm, cam)
        eyes = []
        for part, ppdm in models.parts:
            if part.name not in ("left_eye_28", "right_eye_28"):
                continue
            p = f"{f}/clnf/h00/parts/{part.name}/"
            if p + "fit/params_global" in ref:
                pg, pl = ref[p + "fit/params_global"], ref[p + "fit/params_local"]
            else:   # the part was not fitted (face too small): CalcParams of its input landmarks
                pg, pl = ppdm.calc_params_from_landmarks(ref[p + "input/landmarks_stacked"].reshape(-1))
            es = shape_3d_camera(ppdm, pg, pl, ref[p + "output/landmarks_stacked"], cam)
            eyes.append(eye_gaze(s3, es, pose, part.name.startswith("left")))
        gaze = np.concatenate(eyes + [gaze_angle(*eyes)])
        for stage, mine in (("pose", pose.astype(np.float64)), ("landmarks_3d", s3), ("gaze", gaze.astype(np.float64))):
            from pyparity.diff.compare import compare_arrays

            r = compare_arrays(o + stage, np.asarray(ref[o + stage]), np.asarray(mine).astype(ref[o + stage].dtype),
                               pol.tolerance_for(o + stage))
            assert r.status == "match", (stage, r.max_abs)


def test_pose_and_3d_landmarks_are_bit_exact_on_001(models, openface_dumps):
    ref = read_trace(openface_dumps / "images" / "001.jpg")
    cam = openface_camera(640, 480)
    o = "face00/output/"
    args = (models.pdm, ref[o + "params_global"], ref[o + "params_local"], ref[o + "landmarks_stacked"], cam)
    assert np.array_equal(head_pose(*args).astype(np.float64), ref[o + "pose"])
    assert np.array_equal(shape_3d_camera(*args), ref[o + "landmarks_3d"])


@pytest.mark.parametrize("name", ["001.jpg", "sample1.jpg", "sample3.jpg"])
def test_grayscale_image_is_opencv_bgr2gray(name, models, samples_dir, openface_dumps):
    """Level-2 dumps hold the 8-bit gray image the fit ran on."""
    from pyparity.pipelines.openface.image import to_gray_u8

    ref = read_trace(openface_dumps / "images" / name)
    gray = to_gray_u8(read_image_bgr(sample_for(samples_dir, name)))
    assert np.array_equal(gray, ref["face00/clnf/input/gray"])


def test_16bit_and_gray_files_read_as_cpp(runs, openface_dumps):
    """cv::imread(IMREAD_COLOR): 16-bit PNGs drop to their high byte, gray files get 3 equal channels;
    the boxes handed to CLNF agree with C++'s."""
    for name in ("sample3_16bit_gray.png", "sample3_16bit_rgb.png", "gray_001.jpg"):
        ref = read_trace(openface_dumps / "images" / name)
        _, trace = runs(name)
        np.testing.assert_allclose(trace["face00/clnf/input/bbox"], ref["face00/clnf/input/bbox"], atol=5e-4, rtol=0)


def test_start_from_reference_box(models, samples_dir, openface_dumps):
    """--start box: no MTCNN stages, every face fitted from the reference's own box."""
    ref = read_trace(openface_dumps / "images" / "sample2.jpg")
    rec = Recorder()
    faces = run_image(read_image_bgr(samples_dir / "sample2.jpg"), models, rec=rec, start=StageRef(ref, "box"), level=1)
    trace = rec.finish()
    assert len(faces) == 3 and not any(n.startswith("mtcnn/") for n in trace.names)
    for i in range(3):
        assert np.array_equal(trace[f"face{i:02d}/clnf/input/bbox"], ref[f"face{i:02d}/clnf/input/bbox"])


def test_library_run_without_recorder_matches_recorded_run(models, samples_dir, runs):
    faces, trace = runs("001.jpg")
    plain = run_image(read_image_bgr(samples_dir / "image_sequence" / "001.jpg"), models)
    assert np.array_equal(plain[0].landmarks_stacked, faces[0].landmarks_stacked)
    assert np.array_equal(plain[0].gaze, trace["face00/output/gaze"].astype(np.float32))


def test_face_too_small_is_reported_as_failure(models, samples_dir):
    """Below a scale of 0.25 CLNF::Fit stops ("face too small"): no validation, certainty 0, success 0,
    and the outputs are still reported (as FaceLandmarkImg writes them)."""
    rec = Recorder()
    faces = run_image(read_image_bgr(samples_dir / "image_sequence" / "001.jpg"), models, rec=rec,
                      boxes_xywh=[[300, 200, 12, 12]], level=1)
    t = rec.finish()
    assert int(t["face00/clnf/h00/fit/success"]) == 0 and t["face00/clnf/h00/fit/params_global"][0] < 0.25
    assert not any(n.endswith("validation/certainty") for n in t.names)
    assert faces[0].detection_success is False and float(faces[0].detection_certainty) == 0.0
    assert int(t["face00/output/detection_success"]) == 0 and "face00/output/pose" in t


def test_no_face_is_an_empty_result(models):
    rec = Recorder()
    faces = run_image(np.full((120, 160, 3), 128, np.uint8), models, rec=rec)
    assert faces == [] and not any(n.startswith("face") for n in rec.finish().names)


def test_corrupt_validator_file_is_a_model_error(tmp_path, openface_model_dir):
    """A main model file naming a corrupt validator: one ModelError naming the file (the other
    locations point at the real models by absolute path; nothing is copied)."""
    lines = []
    for line in (openface_model_dir / "main_clnf_general.txt").read_text().splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "DetectionValidator":
            f[1] = str(tmp_path / "validator_cnn.txt")
        else:
            f[1] = str(openface_model_dir / f[1])
        lines.append(" ".join(f))
    (tmp_path / "main_clnf_general.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "validator_cnn.txt").write_bytes(b"\x00\x01 not a validator")
    with pytest.raises(ModelError, match="validator_cnn.txt"):
        load_openface_models(tmp_path)


def test_bad_input(models, tmp_path, openface_model_dir):
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(InputError, match="x.jpg"):
        read_image_bgr(bad)
    img = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(InputError, match="outside"):
        run_image(img, models, boxes_xywh=[[500, 500, 50, 50]])
    with pytest.raises(InputError, match="size"):
        run_image(img, models, boxes_xywh=[[10, 10, 0, 50]])
    with pytest.raises(InputError, match="8-bit"):
        run_image(np.zeros((100, 100, 3), np.uint16), models)
    with pytest.raises(ModelError, match="main_clnf_general"):
        load_openface_models(tmp_path)
    with pytest.raises(InputError, match="unknown landmark model"):
        load_openface_models(openface_model_dir, backend="nope")
    with pytest.raises(PyparityError, match="cannot start"):
        run_image(img, models, start=StageRef(None, "nowhere"))


@pytest.mark.parametrize("collection, name, multi_view", [("images", "sample2.jpg", False),
                                                          ("images-multiview-full", "001.jpg", True)])
def test_ceclm_backend_whole_trace(collection, name, multi_view, openface_model_dir, samples_dir, shared_dir):
    """--model ceclm: the CE-CLM fit (pipelines/clnf/ceclm/fit.py) inside the same FaceLandmarkImg flow,
    against the synthetic-CEN dumps. Multi-view without early termination also checks the reported
    certainty: C++ keeps the best hypothesis but the last completed hypothesis's certainty."""
    cen = shared_dir / "openface" / "synthetic_cen"
    et = cen / "no_early_termination" / "early_term_cen_of.txt" if multi_view else None
    models = load_openface_models(openface_model_dir, backend="ceclm", cen_dir=cen, early_term=et)
    ref = read_trace(shared_dir / "reference_dumps" / "openface-2.0.2-cen-synthetic" / collection / name)
    rec = Recorder()
    run_image(read_image_bgr(sample_for(samples_dir, name)), models, rec=rec, multi_view=multi_view, level=1)
    trace = rec.finish()
    prefixes = sorted({n.split("/")[0] for n in trace.names})
    rep = diff_traces(trace, ref, policy=builtin_policy("openface"), stages=[p + "/**" for p in prefixes])
    assert all(f"{f}output/gaze" in trace for f in [p + "/" for p in prefixes if p.startswith("face")])
    assert rep.ok, f"first divergence {rep.first_divergence}; {rep.summary()}"
