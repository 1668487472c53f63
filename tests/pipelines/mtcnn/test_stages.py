"""MTCNN: stage isolation, landmarks, pieces checked against reference values (sample1, sample3, 001)."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.diff import diff_traces, load_policy
from pyparity.errors import TraceError
from pyparity.imageio import read_image_bgr
from pyparity.pipelines.mtcnn import START_STAGES, detect
from pyparity.pipelines.mtcnn.boxes import crop_patch
from pyparity.pipelines.mtcnn.layers import forward
from pyparity.pipelines.mtcnn.pnet import face_probability
from pyparity.pipelines.mtcnn.weights import load_mtcnn
from pyparity.trace import Recorder, StageRef, read_trace
from tests.pipelines.mtcnn.test_parity import POLICY, sample_path

LEVEL2 = ["sample1.jpg", "sample3.jpg", "001.jpg"]


@pytest.mark.parametrize("stage", START_STAGES)
@pytest.mark.parametrize("name", ["sample3.jpg", "001.jpg"])
def test_start_from_reference_stage(name, stage, openface_dumps, samples_dir, openface_model_dir):
    ref = read_trace(openface_dumps / "images" / name)
    img = read_image_bgr(sample_path(samples_dir, name))
    rec = Recorder()
    det = detect(img, model_dir=openface_model_dir, rec=rec, start=StageRef(ref, stage))
    ours = rec.finish()
    # the stages before the start are the reference's own values, recorded as such
    before = [n for n in ref.names if n.startswith("mtcnn/") and not n.startswith("mtcnn/config")]
    before = before[:next(i for i, n in enumerate(before) if n.startswith(stage))]
    for n in before:
        np.testing.assert_array_equal(ours[n], ref[n], err_msg=n)
    report = diff_traces(ours, ref, policy=load_policy(POLICY), stages=["mtcnn/**"])
    assert report.first_divergence is None
    assert np.abs(det.boxes_xywh - ref["mtcnn/output/boxes"]).max() <= 0.0005


def test_start_from_unknown_stage_is_a_clear_error(openface_dumps, samples_dir, openface_model_dir):
    ref = read_trace(openface_dumps / "images" / "sample1.jpg")
    img = read_image_bgr(samples_dir / "sample1.jpg")
    with pytest.raises(TraceError, match="start .mtcnn/pnet/s03/prob.: choose one of"):
        detect(img, model_dir=openface_model_dir, start=StageRef(ref, "mtcnn/pnet/s03/prob"))


@pytest.mark.parametrize("name", LEVEL2)
def test_networks_on_reference_crops(name, openface_dumps, openface_model_dir):
    """RNet/ONet on the reference's own crops (isolates the networks from cropping)."""
    ref = read_trace(openface_dumps / "images" / name)
    models = load_mtcnn(openface_model_dir)
    for net, stage, n_out in ((models.rnet, "rnet", 6), (models.onet, "onet", 16)):
        crops = ref[f"mtcnn/{stage}/crops"]
        out = np.stack([forward(net, c)[:n_out] for c in crops])
        np.testing.assert_allclose(out, ref[f"mtcnn/{stage}/out"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", LEVEL2)
def test_crops_bit_identical(name, openface_dumps, samples_dir):
    ref = read_trace(openface_dumps / "images" / name)
    img = read_image_bgr(sample_path(samples_dir, name)).astype(np.float32)
    for stage, size in (("rnet", 24), ("onet", 48)):
        boxes = ref[f"mtcnn/{stage}/input_boxes"]
        crops = np.stack([crop_patch(img, b, size) for b in boxes])
        np.testing.assert_array_equal(crops, ref[f"mtcnn/{stage}/crops"])


def test_pnet_probability_bit_identical(openface_dumps):
    ref = read_trace(openface_dumps / "images" / "sample1.jpg")
    for s in range(int(ref["mtcnn/config/num_scales"])):
        out = ref[f"mtcnn/pnet/s{s:02d}/out"]
        np.testing.assert_array_equal(face_probability(out[0], out[1]), ref[f"mtcnn/pnet/s{s:02d}/prob"])


@pytest.mark.parametrize("name", ["sample1.jpg", "001.jpg", "sample2.jpg"])
def test_onet_landmarks(name, openface_dumps, samples_dir, openface_model_dir):
    """Landmarks = ONet outputs 6..15 of the surviving boxes, mapped through the ONet crop region
    (x - 1, y - 1, w + 1, h + 1) of the reference's ONet input boxes."""
    ref = read_trace(openface_dumps / "images" / name)
    det = detect(read_image_bgr(sample_path(samples_dir, name)), model_dir=openface_model_dir)
    src = ref["mtcnn/onet/thresh_keep"][ref["mtcnn/onet/nms_keep"]]
    out = ref["mtcnn/onet/out"][src].astype(np.float64)
    b = ref["mtcnn/onet/input_boxes"][src].astype(np.float64)
    exp_x = b[:, :1] - 1 + (b[:, 2:3] + 1) * out[:, 6:11]
    exp_y = b[:, 1:2] - 1 + (b[:, 3:4] + 1) * out[:, 11:16]
    assert det.landmarks.shape == (len(src), 5, 2)
    assert np.abs(det.landmarks[:, :, 0] - exp_x).max() <= 0.0005
    assert np.abs(det.landmarks[:, :, 1] - exp_y).max() <= 0.0005
    raw = det.raw_boxes_xywh
    for k in range(len(det)):
        lm = det.landmarks[k]
        assert np.all(lm[:, 0] > raw[k, 0]) and np.all(lm[:, 0] < raw[k, 0] + raw[k, 2])
        assert lm[0, 1] < lm[3, 1] and lm[1, 1] < lm[4, 1]   # eyes above the mouth corners
