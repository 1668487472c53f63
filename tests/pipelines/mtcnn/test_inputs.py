"""MTCNN bad and unusual input; the OpenFace model file reader."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.errors import InputError, ModelError
from pyparity.imageio import read_image_bgr
from pyparity.pipelines.mtcnn import detect, read_cnn
from pyparity.pipelines.mtcnn.weights import Conv, FullyConnected
from pyparity.trace import Recorder, read_trace


def test_corrupt_and_missing_files_raise_input_error(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    with pytest.raises(InputError, match="broken.jpg"):
        read_image_bgr(bad)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_image_bgr(empty)
    with pytest.raises(InputError, match="no such"):
        read_image_bgr(tmp_path / "missing.png")


def test_16bit_images_read_as_openface_does(samples_dir, openface_dumps):
    """16-bit files become 8-bit (high byte): the dumps' first pyramid level shows the result."""
    for name in ("sample3_16bit_rgb.png", "sample3_16bit_gray.png"):
        img = read_image_bgr(samples_dir / name)
        assert img.dtype == np.uint8 and img.shape == (400, 640, 3)
        ref = read_trace(openface_dumps / "images" / name)
        from pyparity.pipelines.mtcnn.pyramid import level

        np.testing.assert_array_equal(level(img.astype(np.float32), float(ref["mtcnn/pnet/s00/scale"])),
                                      ref["mtcnn/pnet/s00/input"])


def test_gray_input_equals_replicated_channels(samples_dir, openface_model_dir):
    gray = read_image_bgr(samples_dir / "image_sequence_gray" / "001.jpg")[:, :, 0]
    a = detect(gray, model_dir=openface_model_dir)
    b = detect(np.repeat(gray[:, :, None], 3, axis=2), model_dir=openface_model_dir)
    assert len(a) == 1
    np.testing.assert_array_equal(a.boxes_xywh, b.boxes_xywh)


def test_tiny_and_faceless_images_give_no_detection(openface_model_dir):
    for img in (np.zeros((1, 1, 3), np.uint8), np.full((480, 640, 3), 128, np.uint8)):
        rec = Recorder()
        det = detect(img, model_dir=openface_model_dir, rec=rec)
        assert len(det) == 0
        assert det.boxes_xywh.shape == (0, 4) and det.landmarks.shape == (0, 5, 2)
        trace = rec.finish()
        assert trace["mtcnn/output/boxes"].shape == (0, 4)


def test_wrong_dtype_is_an_input_error(openface_model_dir):
    with pytest.raises(InputError, match="8-bit"):
        detect(np.zeros((100, 100, 3), np.float32), model_dir=openface_model_dir)


def test_model_reader(openface_model_dir, tmp_path):
    onet = read_cnn(openface_model_dir / "mtcnn_detector" / "ONet.dat")
    convs = [l for l in onet.layers if isinstance(l, Conv)]
    assert [(c.n_in, c.n_out, c.kh) for c in convs] == [(3, 32, 3), (32, 64, 3), (64, 64, 3), (64, 128, 2)]
    fcs = [l for l in onet.layers if isinstance(l, FullyConnected)]
    assert [f.weights.shape for f in fcs] == [(256, 1152), (16, 256)]
    data = (openface_model_dir / "mtcnn_detector" / "RNet.dat").read_bytes()
    cut = tmp_path / "RNet.dat"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="truncated"):
        read_cnn(cut)
    with pytest.raises(ModelError):
        detect(np.zeros((50, 50, 3), np.uint8), model_dir=tmp_path / "nowhere")
