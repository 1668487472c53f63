"""OpenFace action units (issue 20): FaceAnalyser's static AU stages from the reference's landmarks
(stage isolation, `--start au`) on every face of every shared AU dump, bit for bit and under the
committed policy; each stage family on its own from the reference's inputs; the HOG port's properties;
the AU model readers' failures; a flipped presence named as a decision. The full FaceLandmarkImg run
(MTCNN + CLNF + AUs) on all 26 images is checked in tests/pipelines/openface/test_image.py with its shared runs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.diff import diff_traces
from pyparity.diff.policy import Policy, Tolerance, builtin_policy
from pyparity.errors import InputError, ModelError
from pyparity.imageio import read_image_bgr
from pyparity.pipelines.openface import run_image
from pyparity.pipelines.openface.au import load_au_models, predict_static_aus
from pyparity.pipelines.openface.au.hog import fhog_cells, fhog_descriptor
from pyparity.trace import Recorder, StageRef, Trace, read_trace
from tests.pipelines.openface.test_image import IMAGE_DUMPS, sample_for

AU_STAGES = ["input/landmarks_stacked", "calc_params/params_global", "calc_params/params_local",
             "align/source_landmarks_rigid", "align/scale_rot", "align/warp_matrix", "align/warped",
             "align/mask_landmarks", "align/pixel_mask", "align/face", "hog/descriptor", "hog/num_rows",
             "hog/num_cols", "view", "geom/descriptor", "reg/raw", "class/output", "reg/output"]
EXACT = Policy(default=Tolerance(exact=True), source="bit-exact")


@pytest.fixture(scope="module")
def au_models(openface_au_dir):
    return load_au_models(openface_au_dir)


@pytest.fixture(scope="module")
def isolated(models, samples_dir, au_dumps):
    """dump name -> (reference, trace of `--start au` from it), computed once per module."""
    cache = {}

    def get(name):
        if name not in cache:
            ref = read_trace(au_dumps / "images" / name)
            rec = Recorder(meta={"parameters": {"au_class_names": list(models.au.presence.names)}})
            run_image(read_image_bgr(sample_for(samples_dir, name)), models, rec=rec, start=StageRef(ref, "au"))
            cache[name] = (ref, rec.finish())
        return cache[name]
    return get


def _faces(ref) -> list[str]:
    return sorted({n.split("/")[0] for n in ref.names if n.endswith("/au/input/landmarks_stacked")})


def test_every_shared_au_dump_is_listed(au_dumps):
    assert sorted(IMAGE_DUMPS) == sorted(p.name for p in (au_dumps / "images").iterdir())
    faces = sum(len(_faces(read_trace(au_dumps / "images" / n))) for n in IMAGE_DUMPS)
    assert faces == 28


@pytest.mark.parametrize("name", IMAGE_DUMPS)
def test_au_stages_from_reference_landmarks_are_bit_exact(name, isolated):
    """Every faceNN/au stage of every face, identical bits and dtypes (what the policy's comment claims)."""
    ref, trace = isolated(name)
    faces = _faces(ref)
    assert faces and not any(n.startswith(("mtcnn/", "face00/clnf")) for n in trace.names)
    rep = diff_traces(trace, ref, policy=EXACT, stages=[f + "/au/**" for f in faces])
    assert rep.ok, rep.summary()
    compared = {s.name for s in rep.stages if s.status == "match"}
    assert compared == {f"{f}/au/{s}" for f in faces for s in AU_STAGES}


@pytest.mark.parametrize("name", IMAGE_DUMPS)
def test_au_stages_match_under_the_committed_policy(name, isolated):
    """What `pyparity run openface-image IMAGE --from-reference DUMP --start au --diff DUMP` decides."""
    ref, trace = isolated(name)
    rep = diff_traces(trace, ref, policy=builtin_policy("openface"), stages=["face*/au/**"])
    assert rep.ok, rep.summary()
    assert sum(s.status == "match" for s in rep.stages) == len(AU_STAGES) * len(_faces(ref))
    assert [s.name for s in rep.stages if s.status == "only-in-B"] == [f"{f}/au/class/margin" for f in _faces(ref)]


def test_presence_margins_are_recorded_and_decide_the_presences(isolated, au_models):
    """class/margin is the SVM score class/output thresholds at 0 (pos_class above, neg_class else); the
    smallest |margin| over the 28 faces is far above float noise."""
    smallest = np.inf
    for name in IMAGE_DUMPS:
        ref, trace = isolated(name)
        for f in _faces(ref):
            m = np.asarray(trace[f"{f}/au/class/margin"])
            want = np.where(m > 0, au_models.presence.pos_class, au_models.presence.neg_class)
            assert np.array_equal(want, ref[f"{f}/au/class/output"])
            smallest = min(smallest, float(np.abs(m).min()))
    assert 1e-6 < smallest < 1.0


def test_flipped_presence_is_named_as_a_decision(isolated):
    """A presence that flips is reported as a changed decision with the margin beside it, not as a
    numeric difference to hunt in the scores."""
    ref, trace = isolated("sample2.jpg")
    stage = "face01/au/class/output"
    names = list(trace.meta["parameters"]["au_class_names"])
    i = names.index("AU12")
    flipped = np.array(trace[stage], copy=True)
    flipped[i] = 1.0 - flipped[i]
    bad = Trace.from_arrays([(n, flipped if n == stage else trace[n]) for n in trace.names], meta=trace.meta)
    rep = diff_traces(bad, ref, policy=builtin_policy("openface"), stages=["face*/au/**"])
    assert rep.first_divergence == stage
    hyp = rep.first.diagnosis[0]
    assert hyp.id == "decision-flip" and "AU12" in hyp.title
    margin = float(trace["face01/au/class/margin"][i])
    assert f"{margin:+.3g}" in hyp.detail


# --- the stage families on their own, from the reference's inputs ----------------------------------

@pytest.mark.parametrize("name", ["sample1.jpg", "sample2.jpg", "gray_001.jpg"])
def test_hog_of_the_reference_face_is_dlibs(name, au_dumps):
    ref = read_trace(au_dumps / "images" / name)
    for f in _faces(ref):
        hog = fhog_cells(ref[f + "/au/align/face"])
        assert hog.shape == (int(ref[f + "/au/hog/num_rows"]), int(ref[f + "/au/hog/num_cols"]), 31)
        assert np.array_equal(fhog_descriptor(hog), ref[f + "/au/hog/descriptor"])


def test_paw_mask_of_the_reference_landmarks(au_dumps, au_models):
    from pyparity.pipelines.clnf.validator.paw import Paw

    ref = read_trace(au_dumps / "images" / "sample2.jpg")
    for f in _faces(ref):
        paw = Paw.from_shape(ref[f + "/au/align/mask_landmarks"], au_models.triangulation, (0, 0, 111, 111))
        assert np.array_equal(paw.pixel_mask, ref[f + "/au/align/pixel_mask"])


def _find_triangle_literal(dest, tris, min_x, min_y, h, w):
    """PAW::PAW's loop exactly as written (per pixel: the guess, then every triangle in order with its
    bounding-box test), in NumPy float32 scalars: the oracle for the compiled row-pruned loop."""
    f = np.float32
    n = dest.size // 2
    pts = [(f(dest[j]), f(dest[j + n]), f(dest[k]), f(dest[k + n]), f(dest[m]), f(dest[m + n])) for j, k, m in tris]

    def side(x0, y0, x1, y1, x2, y2, x3, y3):
        return f(f(f(x3 - x2) * f(y0 - y2)) - f(f(x0 - x2) * f(y3 - y2))) * \
            f(f(f(x3 - x2) * f(y1 - y2)) - f(f(x1 - x2) * f(y3 - y2))) >= 0

    def inside(t, x0, y0):
        x1, y1, x2, y2, x3, y3 = pts[t]
        return (side(x0, y0, x1, y1, x2, y2, x3, y3) and side(x0, y0, x2, y2, x1, y1, x3, y3)
                and side(x0, y0, x3, y3, x1, y1, x2, y2))

    out = np.full((h, w), -1, np.int32)
    cur = -1
    for y in range(h):
        for x in range(w):
            x0, y0 = f(f(x) + f(min_x)), f(f(y) + f(min_y))
            if cur != -1 and inside(cur, x0, y0):
                out[y, x] = cur
                continue
            cur = -1
            for t, (x1, y1, x2, y2, x3, y3) in enumerate(pts):
                if max(x1, x2, x3) < x0 or min(x1, x2, x3) > x0 or max(y1, y2, y3) < y0 or min(y1, y2, y3) > y0:
                    continue
                if inside(t, x0, y0):
                    cur = t
                    break
            out[y, x] = cur
    return out


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.15, 0.4))
def test_paw_mask_equals_the_literal_triangle_search(au_dumps, au_models, seed, scale):
    """Paw.from_shape's row-pruned search gives PAW::PAW's literal per-pixel search, triangle for
    triangle, on jittered (possibly degenerate, overlapping) face shapes in a small frame."""
    from pyparity.pipelines.clnf.validator.paw import Paw

    ref = read_trace(au_dumps / "images" / "sample1.jpg")
    ml = np.asarray(ref["face00/au/align/mask_landmarks"], np.float32).reshape(-1)
    rng = np.random.default_rng(seed)
    shape = (ml * np.float32(scale) + rng.normal(0, 1.5, ml.shape)).astype(np.float32)
    paw = Paw.from_shape(shape, au_models.triangulation, (2.0, 1.5, 37.0, 38.0))
    want = _find_triangle_literal(shape, au_models.triangulation, 2.0, 1.5, *paw.triangle_id.shape)
    assert np.array_equal(paw.triangle_id, want)
    assert np.array_equal(paw.pixel_mask, (want != -1).astype(np.uint8))


def test_predictions_from_the_reference_features(au_dumps, au_models):
    from pyparity.pipelines.openface.au.predict import intensities, presences

    ref = read_trace(au_dumps / "images" / "010.jpg")
    x = np.concatenate([ref["face00/au/hog/descriptor"], ref["face00/au/geom/descriptor"]], axis=1)
    raw, clipped = intensities(x, au_models.intensity)
    _, present = presences(x, au_models.presence)
    assert np.array_equal(raw, ref["face00/au/reg/raw"]) and np.array_equal(clipped, ref["face00/au/reg/output"])
    assert np.array_equal(present, ref["face00/au/class/output"])
    assert au_models.intensity.names == tuple(ref.meta["parameters"]["au_reg_names"])
    assert au_models.presence.names == tuple(ref.meta["parameters"]["au_class_names"])


def test_library_call_without_recorder(au_models, samples_dir, au_dumps):
    ref = read_trace(au_dumps / "images" / "sample1.jpg")
    res = predict_static_aus(read_image_bgr(samples_dir / "sample1.jpg"), ref["face00/au/input/landmarks_stacked"],
                             au_models)
    assert np.array_equal(res.intensity, ref["face00/au/reg/output"])
    assert np.array_equal(res.aligned.face, ref["face00/au/align/face"])
    name, margin = res.smallest_margin()
    assert name in res.presence_names and abs(margin) == np.abs(res.presence_margin).min()


# --- the HOG port's properties ----------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(17, 70), st.integers(17, 70))
def test_hog_of_a_gray_image_equals_its_three_channel_copy(seed, h, w):
    """dlib's colour gradient picks among equal channels: a gray image and its BGR replica agree."""
    img = np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)
    a = fhog_cells(img)
    b = fhog_cells(np.repeat(img[:, :, None], 3, axis=2))
    assert np.array_equal(a, b)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_hog_features_are_bounded(seed):
    """Each of the 4 block-normalised copies of a bin is truncated at 0.2 (×0.5 after n = 0.1/nn): a
    summed bin is at most 4 × 0.2 × 0.5; every value is finite and non-negative."""
    img = np.random.default_rng(seed).integers(0, 256, (112, 112, 3), dtype=np.uint8)
    hog = fhog_cells(img)
    assert hog.shape == (12, 12, 31) and hog.dtype == np.float32
    assert np.isfinite(hog).all() and (hog >= 0).all() and (hog[:, :, :27] <= 0.4 + 1e-6).all()


def test_hog_of_a_flat_image_is_zero_and_tiny_images_are_empty():
    assert not fhog_cells(np.full((112, 112, 3), 77, np.uint8)).any()
    assert fhog_cells(np.zeros((16, 16, 3), np.uint8)).shape == (0, 0, 31)
    with pytest.raises(InputError, match="uint8"):
        fhog_cells(np.zeros((32, 32, 3), np.float32))


# --- the readers' failures ---------------------------------------------------------------------------

def test_model_readers_fail_with_one_line_naming_the_file(tmp_path, openface_au_dir):
    from pyparity.pipelines.clnf.model.au_files import read_au_list, read_linear_model

    good = (openface_au_dir / "svm_combined" / "AU_1_static.dat").read_bytes()
    (tmp_path / "short.dat").write_bytes(good[:1000])
    with pytest.raises(ModelError, match=r"short\.dat: (truncated|bad matrix header)"):
        read_linear_model(tmp_path / "short.dat")
    (tmp_path / "type.dat").write_bytes((9).to_bytes(4, "little") + good[4:])
    with pytest.raises(ModelError, match=r"type\.dat.*unsupported AU regressor type 9"):
        read_linear_model(tmp_path / "type.dat")
    (tmp_path / "list.txt").write_text("svm/none.dat AU01\n")
    with pytest.raises(ModelError, match=r"list\.txt.*none\.dat"):
        read_au_list(tmp_path / "list.txt")
    with pytest.raises(ModelError, match="main_static_svms.txt"):
        load_au_models(tmp_path)


# --- the command line -------------------------------------------------------------------------------

def _run(argv, capsys):
    from pyparity.cli.app import main

    capsys.readouterr()
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_acceptance_sample2_every_au_stage_of_three_faces(tmp_path, samples_dir, au_dumps, openface_model_dir,
                                                              openface_au_dir, capsys):
    """`pyparity run openface-image sample2.jpg --diff <AU dump>`: exit 0, every faceNN/au stage of the
    three faces compared (the issue's acceptance command, with the model folders given explicitly),
    an HTML report with the AU section."""
    dump = au_dumps / "images" / "sample2.jpg"
    code, out, _ = _run(["run", "openface-image", str(samples_dir / "sample2.jpg"), "--diff", str(dump),
                         "--model-dir", str(openface_model_dir), "--au-dir", str(openface_au_dir), "--level", "1",
                         "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")], capsys)
    assert code == 0, out[-2000:]
    import json

    rep = json.loads((tmp_path / "r.json").read_text())
    matched = {s["name"] for s in rep["stages"] if s["status"] == "match"}
    assert {f"face{i:02d}/au/{s}" for i in range(3) for s in AU_STAGES} <= matched
    assert "smallest presence margin" in out and out.count("AUs present") == 3
    html = (tmp_path / "r.html").read_text()
    assert "<h2>Action units</h2>" in html and all(f"<h3>face{i:02d}</h3>" in html for i in range(3))
    assert html.count("aligned face") >= 6 and "HOG |B - A|" in html and "AU intensities" in html


def test_cli_start_au_and_no_aus(tmp_path, samples_dir, au_dumps, openface_model_dir, openface_au_dir, capsys):
    dump = str(au_dumps / "images" / "001.jpg")
    img = str(samples_dir / "image_sequence" / "001.jpg")
    common = ["--model-dir", str(openface_model_dir), "--au-dir", str(openface_au_dir)]
    code, out, _ = _run(["run", "openface-image", img, *common, "--from-reference", dump, "--start", "au",
                         "--diff", dump, "--out", str(tmp_path / "a")], capsys)
    assert code == 0 and "landmarks from the reference" in out
    t = read_trace(tmp_path / "a")
    assert {n.split("/", 1)[1] for n in t.names} == {"au/" + s for s in AU_STAGES} | {"au/class/margin"}
    assert t.meta["parameters"]["au_reg_names"][8] == "AU12" and "AU_predictors/AU_all_static.txt" in t.meta["models"]
    code, _, _ = _run(["run", "openface-image", img, *common, "--no-aus", "--level", "1", "--out", str(tmp_path / "b")],
                      capsys)
    assert code == 0 and not any("/au/" in n for n in read_trace(tmp_path / "b").names)


@pytest.mark.parametrize("extra, message", [
    (["--from-reference", "{pof}", "--start", "au"], "no faceNN/au/input/landmarks_stacked"),
    (["--from-reference", "{dump}", "--start", "au", "--no-aus"], "--start 'au': needs the AU models"),
    (["--au-dir", "{tmp}"], "main_static_svms.txt"),
])
def test_cli_bad_au_input_exits_2_with_one_line(extra, message, tmp_path, samples_dir, au_dumps, shared_dir,
                                                openface_model_dir, openface_au_dir, capsys):
    pof = next((shared_dir / "reference_dumps" / "pof-upstream").glob("*/*"))
    argv = ["run", "openface-image", str(samples_dir / "sample1.jpg"), "--model-dir", str(openface_model_dir)]
    argv += [a.format(tmp=tmp_path, dump=au_dumps / "images" / "sample1.jpg", pof=pof) for a in extra]
    if "--au-dir" not in argv:
        argv += ["--au-dir", str(openface_au_dir)]
    code, _, err = _run(argv, capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
