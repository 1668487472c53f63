"""FeatureExtraction tracking parity (issue 4): the 30-frame image_sequence dump, run once per module;
the tracking/re-detection schedule of DetectLandmarksInVideo; video input. With the AU models on, as
`run openface-sequence` runs by default, the same run's AU stages of every frame and the end of the video
against FeatureExtraction's AU dumps recorded by the project's recorder (issue 20:
reference_dumps/openface-2.0.2-fe-au/, STAGES.md there)."""

from __future__ import annotations


import numpy as np
import pytest

from pyparity.diff import diff_traces
from pyparity.diff.compare import compare_arrays
from pyparity.diff.policy import builtin_policy
from pyparity.errors import InputError
from pyparity.pipelines.openface import load_openface_models
from pyparity.conventions.intrinsics import openface_camera
from pyparity.pipelines.openface.outputs import head_pose
from pyparity.pipelines.openface.sequence import VIDEO_DUMP, frames_of, run_sequence
from pyparity.trace import Recorder, read_trace
from tests.paths import REPO

N_FRAMES = 30
LANDMARKS_PX = 0.005
FE_AU_DUMPS = REPO / "reference_dumps" / "openface-2.0.2-fe-au" / "image_sequence"


@pytest.fixture(scope="module")
def models(openface_model_dir, openface_au_dir):
    """CLNF and FeatureExtraction's AU models (static and dynamic)."""
    return load_openface_models(openface_model_dir, aus=True, au_dir=openface_au_dir, au_dynamic=True)


@pytest.fixture(scope="module")
def tracked(models, samples_dir):
    """[(input name, FaceOutput, trace)] for the 30 frames (dump level 1), then (VIDEO_DUMP, VideoAus, trace)."""
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
    # the CSV's AU columns hold the end-of-video post-processing, not the frame's own predictions: they
    # are compared with the run's `video` item (test_au_csv_columns_are_the_end_of_video_values)
    ours = tracked[i][2]
    rep = diff_traces(ours.select([n for n in ours.names if "/au/" not in n]), csv, policy=builtin_policy("openface"))
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
    cam = openface_camera(ref.meta["input"]["width"], ref.meta["input"]["height"])
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
    assert got[-1][0] == VIDEO_DUMP and not got[-1][1].reg.any()   # no successful frame: AUs all 0
    got = got[:-1]
    detected = [i for i, (_, _, t) in enumerate(got) if any(n.startswith("face00/mtcnn/") for n in t.names)]
    assert detected == [0, 12]
    assert all(face is None for _, face, _ in got)
    assert all(int(t["face00/au/input/success"]) == 0 for _, _, t in got)


def test_video_input(models, samples_dir):
    got = list(run_sequence(frames_of(samples_dir / "multi_face.avi"), models, max_frames=2))
    assert [name for name, _, _ in got] == ["frame0000", "frame0001", VIDEO_DUMP]
    assert got[0][1] is not None and got[0][1].landmarks_stacked.shape == (136,)
    assert got[0][1].aus is not None and got[0][1].aus.success


def test_time_stamps_are_sequence_captures(samples_dir):
    """SequenceCapture: frame·(1/fps) for a video (its container's rate, 30 where it has none), 0 in a folder."""
    import cv2

    cap = cv2.VideoCapture(str(samples_dir / "multi_face.avi"))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    assert fps > 0
    video = frames_of(samples_dir / "multi_face.avi")
    assert video.timestamp(0) == 0.0 and video.timestamp(7) == 7 * (1.0 / fps)
    assert frames_of(samples_dir / "image_sequence").timestamp(7) == 0.0


def test_bad_sources(tmp_path):
    with pytest.raises(InputError, match="no images"):
        list(frames_of(tmp_path))
    bad = tmp_path / "v.avi"
    bad.write_bytes(b"not a video")
    with pytest.raises(InputError, match="v.avi"):
        list(frames_of(bad))
    with pytest.raises(InputError, match="no such"):
        list(frames_of(tmp_path / "missing.avi"))


# --- action units (FaceAnalyser::AddNextFrame per frame, PostprocessOutputFile at the end) ----------

def test_the_run_ends_with_the_video_item(tracked):
    assert len(tracked) == N_FRAMES + 1
    name, final, trace = tracked[-1]
    assert name == VIDEO_DUMP and final.reg.shape == (N_FRAMES, 17) and final.presence.shape == (N_FRAMES, 18)
    assert all(n.startswith("video/au/") for n in trace.names)


@pytest.mark.parametrize("i", range(N_FRAMES))
def test_frame_au_stages_bit_identical_through_the_pipeline(i, tracked):
    """Tracking then AUs, every AU stage FeatureExtraction recorded (images left out of the committed
    dumps): bit-identical, and a match under the committed policy."""
    ref = read_trace(FE_AU_DUMPS / f"frame{i:04d}")
    trace = tracked[i][2]
    au = [n for n in ref.names if "/au/" in n]
    assert len(au) == 19 + (6 if i % 2 == 0 else 0)          # the medians move on odd frames_tracking
    for n in au:
        assert np.array_equal(trace[n], ref[n]) and trace[n].dtype == ref[n].dtype, n
    rep = diff_traces(trace, ref, policy=builtin_policy("openface"), stages=["face00/au/**"])
    assert rep.ok and sum(s.status == "match" for s in rep.stages) == len(au), rep.summary()


def test_end_of_video_bit_identical_through_the_pipeline(tracked):
    ref = read_trace(FE_AU_DUMPS / VIDEO_DUMP)
    trace = tracked[-1][2]
    assert [n for n in trace.names if "/reinit/margin/" not in n] == ref.names   # the margins are ours
    assert len(ref.names) == 2 + 35 + 1 + 35 + 1 + 35
    name, frame, margin = tracked[-1][1].smallest_reinit_margin()
    assert trace[f"video/au/postprocess/reinit/margin/{name}"][frame] == margin
    assert abs(margin) == min(np.abs(trace[n]).min() for n in trace.names if "/reinit/margin/" in n)
    for n in ref.names:
        assert np.array_equal(trace[n], ref[n]) and trace[n].dtype == ref[n].dtype, n
    assert diff_traces(trace, ref, policy=builtin_policy("openface")).ok


def test_au_csv_columns_are_the_end_of_video_values(tracked, openface_dumps):
    """FeatureExtraction's CSV (2 decimals) holds the post-processed AUs of the run's `video` item."""
    from pyparity.adapters.openface_csv import read_openface_csv

    csv = read_openface_csv(openface_dumps / "csv" / "sequences" / "image_sequence.csv")
    final = tracked[-1][1]
    assert list(final.reg_names) == csv.meta["parameters"]["au_reg_names"]
    printed = np.stack([csv[f"frame{i:04d}/face00/au/reg/output"] for i in range(N_FRAMES)])
    assert np.array_equal(np.round(final.reg, 2), printed)
    assert np.array_equal(final.presence, np.stack([csv[f"frame{i:04d}/face00/au/class/output"] for i in range(N_FRAMES)]))


def test_end_of_video_time_stamps_compared_between_inputs_of_one_kind():
    """A video's frames saved as images are stamped 0 by FeatureExtraction: against the video's own dump
    the time stamps are left out, and the note says why; between inputs of one kind everything counts."""
    from pyparity.pipelines.openface.sequence import end_of_video_stages
    from pyparity.trace import Trace

    arrays = [("video/au/history/success", np.ones(3, np.int32)), ("video/au/history/timestamps", np.arange(3) / 30),
              ("video/au/postprocess/reg/AU01", np.zeros(3))]
    from_video = Trace.from_arrays(arrays, meta={"input": {"file": "clip.avi"}})
    from_folder = Trace.from_arrays(arrays, meta={"input": {"file": ""}})
    assert end_of_video_stages(from_video, from_folder=False) == (["video/**"], "")
    assert end_of_video_stages(from_folder, from_folder=True) == (["video/**"], "")
    stages, note = end_of_video_stages(from_video, from_folder=True)
    assert stages == ["video/au/history/success", "video/au/postprocess/reg/AU01"]
    assert note == "time stamps not compared: the reference read a video, this run an image folder"
    assert "reference read an image folder, this run a video" in end_of_video_stages(from_folder, False)[1]
