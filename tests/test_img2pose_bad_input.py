"""img2pose bad input: 16-bit and grayscale images, a 1x1 image, no detections above threshold."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.errors import InputError
from pyparity.pipelines.img2pose import transform


@pytest.fixture(scope="module")
def model(shared_dir):
    from pyparity.pipelines.img2pose import Img2Pose, Img2PoseConfig, load_reference_points, synthetic_weights

    d = shared_dir / "reference_dumps/img2pose-upstream/images/sample1.jpg"
    cfg = Img2PoseConfig.from_file(d)
    return Img2Pose(synthetic_weights(18), cfg, *load_reference_points(shared_dir / "img2pose"))


@pytest.mark.parametrize("name", ["sample3_16bit_rgb.png", "sample3_16bit_gray.png"])
def test_16bit_images_are_refused_with_one_line(samples_dir, name):
    with pytest.raises(InputError, match="uint16 image") as e:
        transform.load_image(samples_dir / name)
    assert "\n" not in str(e.value)


def test_non_uint8_arrays_refused():
    with pytest.raises(InputError, match="8-bit"):
        transform.check_image(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(InputError, match="H x W x 3"):
        transform.check_image(np.zeros((4, 4), np.uint8))


def test_grayscale_is_replicated_like_pil_convert_rgb(samples_dir, model):
    import cv2

    p = samples_dir / "image_sequence_gray" / "001.jpg"
    img = transform.load_image(p)
    g = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    assert g.ndim == 2 and img.shape == g.shape + (3,)
    assert all(np.array_equal(img[..., c], g) for c in range(3))
    det = model.predict(img)
    assert det.boxes.shape[1:] == (4,) and det.dofs.shape[1:] == (6,)


def test_rgb_loader_matches_the_dump_pixels(samples_dir, shared_dir):
    from pyparity.trace import read_trace

    ref = read_trace(shared_dir / "reference_dumps/img2pose-upstream/images/sample1.jpg")
    assert np.array_equal(transform.load_image(samples_dir / "sample1.jpg"), ref["input/image"])


def test_one_pixel_image_runs(model):
    img = np.full((1, 1, 3), 128, np.uint8)
    det = model.predict(img)
    assert det.boxes.dtype == np.float32 and det.boxes.shape == (len(det), 4)
    assert det.labels.dtype == np.int64
    assert np.all(np.isfinite(det.dofs))


def test_no_detection_above_threshold_is_an_empty_result(model, shared_dir):
    from pyparity.trace import Recorder, read_trace

    ref = read_trace(shared_dir / "reference_dumps/img2pose-upstream/images/sample1.jpg")
    strict = type(model)(model.p, model.cfg.with_(box_score_thresh=0.99), model.points68, model.points5)
    rec = Recorder()
    det = strict.predict(ref["input/image"], rec=rec)
    t = rec.finish()
    assert len(det) == 0
    assert det.boxes.shape == (0, 4) and det.dofs.shape == (0, 6) and det.scores.shape == (0,)
    assert det.landmarks68.shape == (0, 68, 2)
    assert t["roi/postprocess/score_thresh/keep"].shape == (0,)
    assert "roi/pose/in_boxes" not in t  # upstream returns before the pose stages when empty
    assert t["output/boxes"].shape == (0, 4)


def test_missing_pose_stats_is_an_input_error(shared_dir):
    from pyparity.pipelines.img2pose import Img2Pose, Img2PoseConfig

    with pytest.raises(InputError, match="pose_mean"):
        Img2Pose({}, Img2PoseConfig(), np.zeros((68, 3)))


def test_unknown_start_stage(model):
    with pytest.raises(InputError, match="unknown start"):
        model.predict(np.zeros((8, 8, 3), np.uint8), start="nowhere")
    with pytest.raises(InputError, match="needs a reference"):
        model.predict(np.zeros((8, 8, 3), np.uint8), start="roi")


def test_config_from_toml_and_from_dump_agree(tmp_path, shared_dir):
    from pyparity.pipelines.img2pose import DUMP_SETTINGS, Img2PoseConfig

    d = shared_dir / "reference_dumps/img2pose-upstream/images/sample1.jpg"
    from_dump = Img2PoseConfig.from_file(d)
    toml = "\n".join(f"{k} = {list(v) if isinstance(v, tuple) else v}" for k, v in DUMP_SETTINGS.items())
    (tmp_path / "c.toml").write_text("[img2pose]\n" + toml + "\n")
    assert Img2PoseConfig.from_file(tmp_path / "c.toml") == from_dump
    assert from_dump.frozen_bn_eps == 1e-5 and from_dump.anchor_sizes[-1] == (512,)
    (tmp_path / "bad.toml").write_text("min_size = [")
    with pytest.raises(InputError, match="cannot read img2pose config"):
        Img2PoseConfig.from_file(tmp_path / "bad.toml")
