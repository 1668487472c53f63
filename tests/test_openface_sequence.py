"""FeatureExtraction tracking parity (issue 4): the 30-frame image_sequence dump, run once per module;
the tracking/re-detection schedule of DetectLandmarksInVideo; video input."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.diff import diff_traces
from pyparity.diff.compare import compare_arrays
from pyparity.diff.policy import builtin_policy
from pyparity.errors import InputError
from pyparity.pipelines.openface import load_openface_models
from pyparity.pipelines.openface.outputs import default_camera, head_pose
from pyparity.pipelines.openface.sequence import frames_of, run_sequence
from pyparity.trace import Recorder, read_trace

N_FRAMES = 30
LANDMARKS_PX = 0.005


@pytest.fixture(scope="module")
def models(openface_model_dir):
    return load_openface_models(openface_model_dir)


@pytest.fixture(scope="module")
def tracked(models, samples_dir):
    """[(input name, FaceOutput, trace)] for the 30 frames (dump level 1)."""
    return list(run_sequence(frames_of(samples_dir / "image_sequence"), models,
                             recorder_for=lambda i, name: Recorder(), level=1, max_frames=N_FRAMES))


@pytest.fixture(scope="module")
def isolated(models, samples_dir, openface_dumps):
    """The same 30 frames, each tracked frame started from the reference frame's own init parameters."""
    return list(run_sequence(frames_of(samples_dir / "image_sequence"), models, level=1, max_frames=N_FRAMES,
                             reference_for=lambda i: _ref(openface_dumps, i)))


def _ref(openface_dumps, i):
    return read_trace(openface_dumps / "sequences" / "image_sequence" / f"frame{i:04d}")


def test_reference_has_30_frames(openface_dumps):
    assert len(list((openface_dumps / "sequences" / "image_sequence").iterdir())) == N_FRAMES


@pytest.mark.parametrize("i", range(N_FRAMES))
def test_frame_landmarks_within_0005_px(i, tracked, openface_dumps):
    ref = _ref(openface_dumps, i)
    name, face, trace = tracked[i]
    assert name == ref.meta["input"]["file"]
    d = np.abs(np.asarray(trace["face00/output/landmarks_stacked"], np.float64)
               - np.asarray(ref["face00/output/landmarks_stacked"], np.float64)).max()
    assert d <= LANDMARKS_PX, f"frame {i}: max abs {d:.6f} px"


@pytest.mark.parametrize("i", range(N_FRAMES))
def test_frame_outputs_match_openface_csv(i, tracked, openface_dumps):
    """Each frame against FeatureExtraction's CSV row (to the printed digits), including what the dumps
    do not hold: 3D landmarks, gaze (after a successful frame), eye landmarks."""
    from pyparity.adapters.openface_csv import read_openface_csv

    csv = read_openface_csv(openface_dumps / "csv" / "sequences" / "image_sequence.csv", frame=i)
    rep = diff_traces(csv, tracked[i][2], policy=builtin_policy("openface"))
    # the AU columns: `run openface-sequence` has no AU stages yet; test_openface_au_video.py checks them
    missing = [s.name for s in rep.stages if s.status == "only-in-A" and "/au/" not in s.name]
    assert not missing, missing
    assert rep.ok, f"frame {i}: first divergence {rep.first_divergence}; {rep.summary()}"


@pytest.mark.parametrize("i", range(N_FRAMES))
def test_frame_from_reference_init_within_0005_px(i, isolated, openface_dumps):
    """Stage isolation per frame: from C++'s own starting parameters, each frame's fit lands on C++'s
    landmarks (separates a frame's own error from one carried over from the previous frames)."""
    ref = _ref(openface_dumps, i)
    d = np.abs(isolated[i][1].landmarks_stacked.astype(np.float64)
               - np.asarray(ref["face00/output/landmarks_stacked"], np.float64).reshape(-1)).max()
    assert d <= LANDMARKS_PX, f"frame {i}: max abs {d:.6f} px"


@pytest.mark.parametrize("i", range(N_FRAMES))
def test_frame_flow_and_stage_names_agree(i, tracked, openface_dumps):
    """Frame 0 detects and tries 11 hypotheses; later frames track with the small windows; every stage
    the reference recorded is recorded under the same name; window sizes, iteration counts, views and
    the validator's decision agree."""
    ref = _ref(openface_dumps, i)
    _, _, trace = tracked[i]
    missing = [n for n in ref.names if n not in trace and not n.endswith("/crops")]
    assert not missing, missing[:5]
    for n in ref.names:
        if n.endswith(("/window_sizes", "/iterations", "/view_id", "/detection_success", "/success")):
            assert np.array_equal(trace[n], ref[n]), n
    hyps = {n.split("/")[2] for n in trace.names if n.startswith("face00/clnf/h")}
    assert len(hyps) == (11 if i == 0 else 0)


@pytest.mark.parametrize("i", [0, 1, 15, 29])
def test_pose_from_the_reference_state(i, models, openface_dumps):
    ref = _ref(openface_dumps, i)
    o = "face00/output/"
    cam = default_camera(ref.meta["input"]["width"], ref.meta["input"]["height"])
    assert np.array_equal(cam.as_array(), ref[o + "camera"])
    pose = head_pose(models.pdm, ref[o + "params_global"], ref[o + "params_local"], ref[o + "landmarks_stacked"], cam)
    r = compare_arrays(o + "pose", ref[o + "pose"], pose.astype(np.float64),
                       builtin_policy("openface").tolerance_for(o + "pose"))
    assert r.status == "match", r.max_abs


def test_redetection_schedule_without_a_face(models):
    """No face: DetectLandmarksInVideo runs the detector on frame 0, then every 12th frame
    ((failures_in_a_row + 1) % (reinit_video_every * 6) == 0); nothing is reported."""
    blank = [(f"b{i:02d}", np.full((90, 120, 3), 100, np.uint8)) for i in range(14)]
    got = list(run_sequence(iter(blank), models, recorder_for=lambda i, n: Recorder()))
    detected = [i for i, (_, _, t) in enumerate(got) if any(n.startswith("face00/mtcnn/") for n in t.names)]
    assert detected == [0, 12]
    assert all(face is None for _, face, _ in got)


def test_video_input(models, samples_dir):
    got = list(run_sequence(frames_of(samples_dir / "multi_face.avi"), models, max_frames=2))
    assert [name for name, _, _ in got] == ["frame0000", "frame0001"]
    assert got[0][1] is not None and got[0][1].landmarks_stacked.shape == (136,)


def test_bad_sources(tmp_path):
    with pytest.raises(InputError, match="no images"):
        list(frames_of(tmp_path))
    bad = tmp_path / "v.avi"
    bad.write_bytes(b"not a video")
    with pytest.raises(InputError, match="v.avi"):
        list(frames_of(bad))
    with pytest.raises(InputError, match="no such"):
        list(frames_of(tmp_path / "missing.avi"))
