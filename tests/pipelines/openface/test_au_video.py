"""OpenFace action units on video (issue 20, part 2): FaceAnalyser's AddNextFrame per frame and the
offline post-processing of FeatureExtraction, from C++'s tracked landmarks of image_sequence (stage
isolation: the AUs alone), stage by stage against FeatureExtraction's dumps recorded with the project's
recorder (reference_dumps/openface-2.0.2-fe-au/, committed: STAGES.md there) and against the AU columns
FeatureExtraction itself wrote; the webcam path (CorrectOnlineAUs) against C++ recorded through our
driver; the running median, online correction and offline smoothing against independent NumPy
formulations of their definitions. The whole pipeline (tracking, then AUs): tests/pipelines/openface/test_sequence.py."""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.adapters.openface_csv import read_openface_csv
from pyparity.diff import diff_traces
from pyparity.imageio import read_image_bgr
from pyparity.pipelines.openface.au import load_au_models
from pyparity.pipelines.openface.au.dynamic import (correct_online, offline_intensities, offline_presences,
                                                    running_median_update)
from pyparity.pipelines.openface.au.video import VideoAuState, add_next_frame, postprocess
from pyparity.diff.policy import builtin_policy
from pyparity.trace import Recorder, Trace, read_trace
from tests.paths import REPO

N_FRAMES = 30
FE_AU = REPO / "reference_dumps" / "openface-2.0.2-fe-au"


@pytest.fixture(scope="module")
def video_models(openface_au_dir):
    return load_au_models(openface_au_dir, dynamic=True)


@pytest.fixture(scope="module")
def sequence_aus(video_models, openface_dumps, samples_dir):
    """FeatureExtraction's AUs of image_sequence from C++'s own per-frame landmarks and success flags."""
    state = VideoAuState()
    for i in range(N_FRAMES):
        ref = read_trace(openface_dumps / "sequences" / "image_sequence" / f"frame{i:04d}")
        add_next_frame(state, read_image_bgr(samples_dir / "image_sequence" / f"{i + 1:03d}.jpg"),
                       ref["face00/output/landmarks_stacked"], bool(int(ref["face00/output/detection_success"])),
                       video_models)
    return state, postprocess(state, video_models)


def test_video_models_are_feature_extractions_default(video_models):
    assert video_models.dynamic and "AU12" in video_models.intensity.names
    assert "AU01" in video_models.intensity_dynamic.names and video_models.intensity_dynamic.cutoffs is not None
    assert "AU_predictors/AU_all_best.txt" in video_models.sha256


def test_postprocessed_aus_match_feature_extractions_csv(sequence_aus, openface_dumps):
    """Every AUxx_r and AUxx_c of the 30 frames equals FeatureExtraction's CSV within half a printed
    digit (the diff's printed-precision comparison), in the CSV's column order."""
    _, out = sequence_aus
    csv = read_openface_csv(openface_dumps / "csv" / "sequences" / "image_sequence.csv")
    assert list(out.reg_names) == csv.meta["parameters"]["au_reg_names"]
    assert list(out.class_names) == csv.meta["parameters"]["au_class_names"]
    ours = Trace.from_arrays([(f"frame{i:04d}/face00/au/{s}", v[i]) for i in range(N_FRAMES)
                              for s, v in (("reg/output", out.reg), ("class/output", out.presence))])
    rep = diff_traces(ours, csv, stages=["frame*/face00/au/**"])
    assert rep.ok, rep.summary()
    assert sum(s.status == "match" for s in rep.stages) == 2 * N_FRAMES
    # not a loose agreement: the presences are identical and the intensities round to the printed digits
    printed = np.stack([csv[f"frame{i:04d}/face00/au/reg/output"] for i in range(N_FRAMES)])
    assert np.array_equal(np.round(out.reg, 2), printed)
    assert np.array_equal(out.presence, np.stack([csv[f"frame{i:04d}/face00/au/class/output"] for i in range(N_FRAMES)]))


def test_medians_update_every_other_frame(sequence_aus):
    state, _ = sequence_aus
    assert state.frames == state.frames_ok == N_FRAMES and len(state.init_frames) == N_FRAMES
    assert state.geom_median.count == (N_FRAMES + 1) // 2 == state.hog_medians[0].count
    assert (state.hog_median >= 0).all()


def test_a_failed_frame_records_zeros(video_models, samples_dir, openface_dumps):
    """AddNextFrame with success = false: zero geometry, a black face's (zero) HOG, 0 for every AU, and no
    update of the medians' histograms."""
    state = VideoAuState()
    ref = read_trace(openface_dumps / "sequences" / "image_sequence" / "frame0000")
    img = read_image_bgr(samples_dir / "image_sequence" / "001.jpg")
    out = add_next_frame(state, img, ref["face00/output/landmarks_stacked"], False, video_models)
    assert not out.hog.any() and not out.geom.any() and not out.reg.any() and not out.presence.any()
    assert state.geom_median.count == 0 and state.frames_ok == 0 and state.init_frames == []
    final = postprocess(state, video_models)
    assert not final.reg.any() and not final.presence.any()


# --- the pure stage functions against NumPy formulations of their definitions ------------------------

@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-50, 1100), st.floats(0.1, 0.9)), min_size=2, max_size=25))
def test_running_median_is_the_upper_median_bin_centre(bins_and_offsets):
    """After k updates the median is the centre of the bin holding the ((k+1)//2)-th smallest value
    (values outside the range in the end bins). Values are drawn inside bins, away from their edges."""
    nb, lo, hi = 1000, -0.005, 1.0
    width = (hi - lo) / nb
    state = None
    for j, f in bins_and_offsets:
        state = running_median_update(state, np.array([[lo + (j + f) * width]]), True, nb, lo, hi)
    k = len(bins_and_offsets)
    j = np.sort(np.clip([j for j, _ in bins_and_offsets], 0, nb - 1))[(k + 1) // 2 - 1]
    assert state.count == k
    assert abs(state.median[0] - (lo + j * width + 0.5 * width)) < 1e-12


def test_running_median_without_updates_keeps_the_first_descriptor_then_bin_zero():
    s = running_median_update(None, np.array([0.3, 0.7]), False, 1000, -0.005, 1.0)
    assert s.count == 0 and s.histogram.sum() == 0
    # C++: hist_count 0 -> cutoff 0, reached at bin 0 before anything is counted
    assert np.allclose(s.median, -0.005 + 0.5 * 1.005 / 1000)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0]), min_size=1, max_size=30))
def test_offline_presences_are_a_7_frame_majority(values):
    v = np.array(values)
    out = offline_presences(v)
    n = len(v)
    for i in range(n):
        if 3 <= i < n - 3 and n > 3:
            assert out[i] == (1.0 if v[i - 3:i + 4].mean() >= 0.5 else 0.0)
        else:
            assert out[i] == v[i]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-2, 7, allow_nan=False), min_size=3, max_size=30), st.sampled_from([None, -1.0, 0.3, 0.65]))
def test_offline_intensities_shift_clip_and_smooth(values, cutoff):
    v = np.array(values)
    ok = np.arange(len(v)) % 5 != 2          # every fifth frame (from the third) failed
    out = offline_intensities(v, ok, cutoff)
    good = np.sort(v[ok])
    off = good[int(len(good) * cutoff)] if cutoff not in (None, -1.0) else 0.0
    clipped = np.where(ok, np.clip(v - off, 0, 5), 0.0)
    want = clipped.copy()
    want[1:-1] = (clipped[:-2] + clipped[1:-1] + clipped[2:]) / 3
    assert np.allclose(out, want, rtol=0, atol=1e-12)


def test_online_correction_starts_after_ten_frames():
    """CorrectOnlineAUs: no shift before 10 tracked frames, then the 10% point of each AU's history; a
    failed frame neither updates the track nor shifts."""
    track = None
    for k in range(9):
        track, out = correct_online(track, np.array([1.0 + 0.1 * k, -1.0]), True)
        assert np.allclose(out, np.clip([1.0 + 0.1 * k, -1.0], 0, 5))
    track, out = correct_online(track, np.array([2.0, -1.0]), True)
    assert track.count == 10
    # the correction: the lower edge of the bin (200 over [-3, 5]) where the count passes int(10% of 10)
    history = [1.0 + 0.1 * k for k in range(9)] + [2.0]
    j = sorted(int((x + 3.0) * 200 / 8) for x in history)[int(0.1 * 10)]
    assert np.isclose(out[0], 2.0 - (-3.0 + j * 8 / 200))
    same, out = correct_online(track, np.array([2.0, -1.0]), False)
    assert same is track and np.allclose(out, [2.0, 0.0])


# --- stage by stage against FeatureExtraction's recorded AU stages ---------------------------------

def _replay(frames, models, online: bool = False):
    """add_next_frame over [(image, landmarks, success, timestamp)] recording each frame, then postprocess:
    ([frame traces], video trace)."""
    state, traces = VideoAuState(), []
    for image, lm, ok, ts in frames:
        rec = Recorder()
        with rec.scope("face00/au"):
            add_next_frame(state, image, lm, ok, models, rec, online=online, timestamp=ts)
        traces.append(rec.finish())
    rec = Recorder()
    with rec.scope("video"):
        postprocess(state, models, rec)
    return traces, rec.finish()


@pytest.fixture(scope="module")
def replayed(video_models, samples_dir):
    """The AUs from the landmarks and success flags FeatureExtraction handed FaceAnalyser (its dumps')."""
    refs = [read_trace(FE_AU / "image_sequence" / f"frame{i:04d}") for i in range(N_FRAMES)]
    frames = [(read_image_bgr(samples_dir / "image_sequence" / r.meta["input"]["file"]),
               r["face00/au/input/landmarks_stacked"], bool(int(r["face00/au/input/success"])), 0.0) for r in refs]
    return refs, _replay(frames, video_models)


def test_committed_dumps_are_feature_extraction_on_image_sequence():
    frames = sorted(p.name for p in (FE_AU / "image_sequence").iterdir())
    assert frames == [f"frame{i:04d}" for i in range(N_FRAMES)] + ["video"]
    meta = read_trace(FE_AU / "image_sequence" / "frame0000").meta
    assert meta["producer"]["name"] == "openface-cpp" and meta["sequence"]["name"] == "image_sequence"
    assert "AU_predictors/AU_all_best.txt" in meta["models"]


@pytest.mark.parametrize("i", range(N_FRAMES))
def test_every_frame_au_stage_is_bit_identical(i, replayed):
    refs, (traces, _) = replayed
    ref, ours = refs[i], traces[i]
    au = [n for n in ref.names if "/au/" in n]
    assert au and [n for n in ours.names if n in au] == au         # same stages, same order
    for n in au:
        assert ours[n].dtype == ref[n].dtype and np.array_equal(ours[n], ref[n]), n
    rep = diff_traces(ours, ref, policy=builtin_policy("openface"), stages=["face00/au/**"])
    assert rep.ok and sum(s.status == "match" for s in rep.stages) == len(au), rep.summary()


def test_end_of_video_is_bit_identical(replayed):
    _, (_, video) = replayed
    ref = read_trace(FE_AU / "image_sequence" / "video")
    assert [n for n in video.names if "/reinit/margin/" not in n] == ref.names   # the margins are ours
    for n in ref.names:
        assert video[n].dtype == ref[n].dtype and np.array_equal(video[n], ref[n]), n
    # not vacuous: the re-prediction changed the first frames, and offsets moved the dynamic AUs
    assert int(ref["video/au/postprocess/reinit/frames"]) == N_FRAMES
    assert not np.array_equal(ref["video/au/history/reg/AU01"], ref["video/au/postprocess/reinit/reg/AU01"])
    assert np.count_nonzero(ref["video/au/postprocess/reg_offsets"]) >= 8


def test_presence_margins_decide_the_presences(replayed, video_models):
    """class/margin (ours) is the score each presence thresholds: pos_class where > 0 (half of OpenFace's
    video SVMs have pos_class 0)."""
    _, (traces, _) = replayed
    pos = np.concatenate([video_models.presence.pos_class, video_models.presence_dynamic.pos_class])
    neg = np.concatenate([video_models.presence.neg_class, video_models.presence_dynamic.neg_class])
    assert (pos == 0).any() and (pos == 1).any()
    for t in traces:
        m, raw = t["face00/au/class/margin"], t["face00/au/class/raw"]
        assert np.array_equal(raw, np.where(m > 0, pos, neg))


def test_reinit_margins_decide_the_re_predicted_presences(replayed, video_models):
    """The end of the video re-predicts the first frames' presences with the final medians: those, not
    AddNextFrame's, reach the CSV's vote, so their scores (reinit/margin/AUxx, ours) are recorded and the
    smallest is reported."""
    _, (_, video) = replayed
    names = sorted(n.rsplit("/", 1)[1] for n in video.names if n.startswith("video/au/postprocess/reinit/margin/"))
    assert len(names) == 18
    pos = dict(zip(video_models.presence.names + video_models.presence_dynamic.names,
                   np.concatenate([video_models.presence.pos_class, video_models.presence_dynamic.pos_class])))
    neg = dict(zip(video_models.presence.names + video_models.presence_dynamic.names,
                   np.concatenate([video_models.presence.neg_class, video_models.presence_dynamic.neg_class])))
    for n in names:
        m = video[f"video/au/postprocess/reinit/margin/{n}"]
        assert m.shape == (N_FRAMES,)
        assert np.array_equal(video[f"video/au/postprocess/reinit/class/{n}"], np.where(m > 0, pos[n], neg[n])), n
    smallest = min(abs(float(video[f"video/au/postprocess/reinit/margin/{n}"][k])) for n in names for k in range(N_FRAMES))
    assert smallest > 0


def test_a_flipped_running_median_bin_is_a_divergence(replayed):
    """The policy's 4-ULP bound on a median: one bin off (1.005e-3) fails it."""
    refs, (traces, _) = replayed
    name = "face00/au/median/hog/median"
    moved = traces[4][name].copy()
    moved[0, 100] += 1.005 / 1000
    rep = diff_traces(Trace.from_arrays([(name, moved)]), refs[4], policy=builtin_policy("openface"), stages=[name])
    assert not rep.ok and rep.first_divergence == name


# --- CorrectOnlineAUs: the webcam path, recorded from C++ through our driver ------------------------

@pytest.fixture(scope="module")
def online(video_models, samples_dir):
    d = FE_AU / "online" / "image_sequence"
    refs = [read_trace(d / f"frame{i:04d}") for i in range(N_FRAMES)]
    frames = [(read_image_bgr(samples_dir / "image_sequence" / r.meta["input"]["file"]),
               r["face00/au/input/landmarks_stacked"], bool(int(r["face00/au/input/success"])), i / 30)
              for i, r in enumerate(refs)]
    return refs, _replay(frames, video_models, online=True)[0]


def test_online_reference_covers_the_correction(online):
    """Not vacuous: failed frames (no track update, no shift), frames before the 10th update (no shift),
    and after it corrections that move most AUs."""
    refs, _ = online
    success = [int(r["face00/au/input/success"]) for r in refs]
    assert success.count(0) == 4 and success[:3] == [1, 1, 1]
    shifted = [int(np.count_nonzero(r["face00/au/online_correction/input"] != r["face00/au/reg/online_corrected"]))
               for r in refs]
    assert max(shifted) >= 15 and shifted[success.index(0)] == 0
    assert refs[0]["face00/au/online_correction/input"].shape == (17,)


@pytest.mark.parametrize("i", range(N_FRAMES))
def test_online_correction_is_bit_identical(i, online):
    refs, traces = online
    ref, ours = refs[i], traces[i]
    assert [n for n in ours.names if n in ref] == ref.names
    for n in ref.names:
        assert ours[n].dtype == ref[n].dtype and np.array_equal(ours[n], ref[n]), n
    assert diff_traces(ours, ref, policy=builtin_policy("openface")).ok
