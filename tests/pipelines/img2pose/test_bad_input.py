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
    from pyparity.trace import StageRef, Trace

    empty = Trace.from_arrays([])
    with pytest.raises(InputError, match="unknown start"):
        model.predict(np.zeros((8, 8, 3), np.uint8), start=StageRef(empty, "nowhere"))
    with pytest.raises(InputError, match="needs the reference's"):
        model.predict(np.zeros((8, 8, 3), np.uint8), start=StageRef(empty, "roi"))


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


# -- the same refusals through the CLI: one line on stderr, exit 2 -------------------------------------
def _cli(shared_dir, image, tmp_path, config=None, weights=None, synthetic=True):
    from pyparity.cli.app import main

    args = ["run", "img2pose", str(image), "--points", str(shared_dir / "img2pose"), "--threads", "1"]
    args += (["--synthetic"] if synthetic else []) + (["--weights", str(weights)] if weights is not None else [])
    return main(args + (["--config", str(config)] if config is not None else []))


def test_cli_16bit_image_exits_2_with_one_line(shared_dir, samples_dir, tmp_path, capsys):
    code = _cli(shared_dir, samples_dir / "sample3_16bit_rgb.png", tmp_path,
                config=shared_dir / "reference_dumps/img2pose-upstream/images/sample3.jpg")
    err = capsys.readouterr().err.strip()
    assert code == 2 and "uint16" in err and "\n" not in err


def test_cli_weights_hash_not_matching_the_dump_exits_2(shared_dir, samples_dir, tmp_path, capsys):
    import json
    import shutil

    d = tmp_path / "dump"
    shutil.copytree(shared_dir / "reference_dumps/img2pose-upstream/images/sample1.jpg", d)
    meta = json.loads((d / "meta.json").read_text())
    meta["weights"]["weights_sha256"] = "0" * 64
    (d / "meta.json").write_text(json.dumps(meta))
    code = _cli(shared_dir, samples_dir / "sample1.jpg", tmp_path, config=d)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "sha256" in err and "\n" not in err


def test_cli_checkpoint_with_bad_keys_exits_2_listing_them(shared_dir, samples_dir, tmp_path, capsys):
    from pyparity.pipelines.img2pose import synth
    from pyparity.pipelines.img2pose import weights as W

    sd = synth.synthetic_state_dict(18)
    del sd["module.rpn.head.conv.bias"]
    sd["module.extra.thing"] = np.zeros(1, np.float32)
    sd["module.rpn.head.cls_logits.bias"] = np.zeros(4, np.float32)
    ck = W.save_npz(sd, tmp_path / "bad.npz")
    code = _cli(shared_dir, samples_dir / "sample1.jpg", tmp_path,
                config=shared_dir / "reference_dumps/img2pose-upstream/images/sample1.jpg", weights=ck, synthetic=False)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "1 missing: rpn.head.conv.bias" in err and "1 unexpected: extra.thing" in err
    assert "rpn.head.cls_logits.bias (4,) != (3,)" in err


def test_cli_no_detection_exits_0_with_empty_output(shared_dir, samples_dir, tmp_path):
    """An image with nothing above the threshold is an empty result, not an error."""
    from pyparity.cli.app import main
    from pyparity.pipelines.img2pose import DUMP_SETTINGS
    from pyparity.trace import read_trace

    toml = "\n".join(f"{k} = {list(v) if isinstance(v, tuple) else v}" for k, v in
                     {**DUMP_SETTINGS, "box_score_thresh": 0.99}.items())
    (tmp_path / "c.toml").write_text("[img2pose]\n" + toml + "\n")
    code = main(["run", "img2pose", str(samples_dir / "sample1.jpg"), "--synthetic", "--config", str(tmp_path / "c.toml"),
                 "--points", str(shared_dir / "img2pose"), "--out", str(tmp_path / "t"), "--threads", "1"])
    assert code == 0
    t = read_trace(tmp_path / "t")
    assert t["output/boxes"].shape == (0, 4) and t["output/dofs"].shape == (0, 6)


def test_cli_margins_line_matches_the_recorded_trace(shared_dir, samples_dir, tmp_path, capsys):
    """--margins prints the decision margins of the run; they are those of the written trace."""
    from pyparity.cli.app import main
    from pyparity.pipelines.img2pose import Img2PoseConfig
    from pyparity.pipelines.img2pose.margins import NAMES, decision_margins
    from pyparity.trace import read_trace

    d = shared_dir / "reference_dumps/img2pose-upstream/images/001.jpg"
    code = main(["run", "img2pose", str(samples_dir / "image_sequence" / "001.jpg"), "--synthetic", "--config", str(d),
                 "--points", str(shared_dir / "img2pose"), "--out", str(tmp_path / "t"), "--threads", "1", "--margins"])
    assert code == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("decision margins:"))
    printed = dict(zip(line.split()[2::2], map(float, line.split()[3::2])))
    assert tuple(printed) == NAMES
    m = decision_margins(read_trace(tmp_path / "t"), Img2PoseConfig.from_file(d))
    assert all(abs(printed[k] - m[k]) <= 0.006 * m[k] for k in NAMES)  # printed to 3 digits
    assert all(v > 0 for v in m.values())
