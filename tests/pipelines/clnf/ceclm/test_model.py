"""Loading the CE-CLM model (ceclm.load_ceclm_model) and the CE-CLM path's bad input: the settings it
derives are those the reference dumps' meta.json report; a missing, truncated or inconsistent CEN file,
an early-termination file for another view count, a bad image or box: one clear error naming the file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from pyparity.errors import InputError, ModelError, PyparityError
from pyparity.pipelines.clnf.experts.cen import build_cen_scale, read_cen_patch_experts, write_cen_patch_experts
from pyparity.pipelines.clnf.ceclm.fit import fit_face_ceclm, load_ceclm_model

SCALES = ["0.25", "0.35", "0.50", "1.00"]


@pytest.fixture(scope="module")
def synth(shared_dir) -> Path:
    return shared_dir / "openface" / "synthetic_cen"


@pytest.fixture(scope="module")
def meta(shared_dir) -> dict:
    p = shared_dir / "reference_dumps/openface-2.0.2-cen-synthetic/images/sample1.jpg/meta.json"
    return json.loads(p.read_text())


@pytest.fixture(scope="module")
def model(openface_model_dir, synth):
    return load_ceclm_model(openface_model_dir, synth)


def _cen_dir(tmp_path: Path, synth: Path, skip=(), replace=None) -> Path:
    """A CEN folder of symlinks to the synthetic files, less `skip`, with `replace` {name: bytes}."""
    d = tmp_path / "cen"
    d.mkdir()
    for s in SCALES:
        name = f"cen_patches_{s}_of.dat"
        if s in skip:
            continue
        if replace and name in replace:
            (d / name).write_bytes(replace[name])
        else:
            os.symlink(synth / name, d / name)
    return d


def test_model_matches_the_reference_settings(model, meta):
    p = meta["parameters"]
    assert model.experts.patch_scaling == [float(s) for s in SCALES]
    assert list(model.clnf.window_sizes) == p["clnf_window_sizes_init"]
    assert np.float32(model.clnf.settings.sigma) == np.float32(p["sigma"])
    assert np.float32(model.clnf.settings.reg_factor) == np.float32(p["reg_factor"])
    assert model.clnf.settings.weight_factor == p["weight_factor"]
    et = p["early_termination"]
    assert model.early_term.weights.tolist() == et["weights"]
    assert model.early_term.biases.tolist() == et["biases"]
    assert model.early_term.cutoffs.tolist() == et["cutoffs"]
    assert [part.name for part, _ in model.parts] == ["left_eye_28", "right_eye_28"]   # no inner-face part
    # the CE-CLM validator is not CCNF's validator_cnn.txt
    validators = [k for k in meta["models"] if "detection_validation" in k]
    assert validators == [f"model/detection_validation/{model.validator_path.name}"]
    assert model.main.validator == model.validator_path


def test_no_early_termination_file(openface_model_dir, synth, shared_dir):
    m = load_ceclm_model(openface_model_dir, synth, synth / "no_early_termination" / "early_term_cen_of.txt")
    meta = json.loads((shared_dir / "reference_dumps/openface-2.0.2-cen-synthetic/images-multiview-full/"
                       "sample1.jpg/meta.json").read_text())
    assert meta["parameters"]["multi_view"] is True
    assert (m.early_term.cutoffs == 1000).all()


def test_missing_cen_file(tmp_path, openface_model_dir, synth):
    d = _cen_dir(tmp_path, synth, skip=("1.00",))
    with pytest.raises(InputError, match="cen_patches_1.00_of.dat"):
        load_ceclm_model(openface_model_dir, d)


def test_default_cen_folder_without_trained_files(openface_model_dir):
    """The shared model mirror, like OpenFace's git tree, lacks the trained CEN files."""
    assert not (openface_model_dir / "patch_experts" / "cen_patches_0.25_of.dat").exists()
    with pytest.raises(InputError, match="cen_patches_0.25_of.dat"):
        load_ceclm_model(openface_model_dir)


def test_truncated_cen_file(tmp_path, openface_model_dir, synth):
    data = (synth / "cen_patches_0.35_of.dat").read_bytes()
    d = _cen_dir(tmp_path, synth, replace={"cen_patches_0.35_of.dat": data[: len(data) // 3]})
    with pytest.raises(ModelError, match="cen_patches_0.35_of.dat"):
        load_ceclm_model(openface_model_dir, d)


def test_view_count_disagrees(tmp_path, openface_model_dir, synth):
    """A scale with 1 view among 7-view scales: C++ would apply the last file's mirror_views to all."""
    sc = read_cen_patch_experts(synth / "cen_patches_1.00_of.dat")
    one = build_cen_scale(sc.patch_scaling, [sc.center_mats[0].reshape(3)], [sc.visibility_mats[0].reshape(-1)],
                          sc.mirror_inds, [0], [sc.experts[0]])
    p = tmp_path / "one_view.dat"
    write_cen_patch_experts(p, one)
    d = _cen_dir(tmp_path, synth, replace={"cen_patches_1.00_of.dat": p.read_bytes()})
    with pytest.raises(ModelError, match="views"):
        load_ceclm_model(openface_model_dir, d)


def test_early_termination_for_other_view_count(tmp_path, openface_model_dir, synth):
    et = tmp_path / "early_term.txt"
    et.write_text(" ".join(["1.0"] * 8 + ["0.0"] * 8 + ["-0.2"] * 8))       # 8 views for 7-view CEN files
    with pytest.raises(ModelError, match="cen_patches_0.25_of.dat: 7 views.*early_term.txt"):
        load_ceclm_model(openface_model_dir, synth, et)
    et.write_text(" ".join(["1.0"] * 6 + ["0.0"] * 6 + ["-0.2"] * 6))       # 6 views
    with pytest.raises(ModelError, match="early_term.txt.*7 views"):
        load_ceclm_model(openface_model_dir, synth, et)
    with pytest.raises(InputError, match="nope.txt"):
        load_ceclm_model(openface_model_dir, synth, tmp_path / "nope.txt")


def test_missing_model_description(tmp_path, synth):
    with pytest.raises(InputError, match="main_ceclm_general.txt"):
        load_ceclm_model(tmp_path, synth)


@pytest.mark.parametrize("gray, box", [
    (np.zeros((40, 40, 3), np.uint8), [5, 5, 20, 20]),          # not grayscale
    (np.zeros((40, 40), np.float32), [5, 5, 20, 20]),           # not 8-bit
    (np.zeros((40, 40), np.uint8), [5, 5, 0, 20]),              # empty box
    (np.zeros((40, 40), np.uint8), [50, 50, 20, 20]),           # box outside the image
    (np.zeros((40, 40), np.uint8), [5, 5, float("nan"), 20]),   # not finite
    (None, [5, 5, 20, 20]),                                     # no image and no reference
])
def test_bad_image_or_box(model, gray, box):
    with pytest.raises(InputError):
        fit_face_ceclm(gray, box, model)


def test_errors_are_one_line(tmp_path, openface_model_dir, synth):
    d = _cen_dir(tmp_path, synth, skip=("0.50",))
    with pytest.raises(PyparityError) as e:
        load_ceclm_model(openface_model_dir, d)
    assert "\n" not in str(e.value)
