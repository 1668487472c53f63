"""CNN detection validator (LandmarkDetectionValidator.cpp + PAW.cpp) against the OpenFace 2.0.2 dumps:
the certainty from the reference's own final landmarks and pose (`faceNN/output/...`)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pyparity.errors import InputError, ModelError
from pyparity.pipelines.clnf.validator.cnn import read_validator
from pyparity.trace import read_trace


@pytest.fixture(scope="module")
def validator(openface_model_dir):
    return read_validator(openface_model_dir / "detection_validation" / "validator_cnn.txt")


def _gray(ref, samples_dir, name):
    if "face00/clnf/input/gray" in ref.names:
        return ref["face00/clnf/input/gray"]
    p = samples_dir / name
    if not p.exists():
        p = samples_dir / "image_sequence" / name
    return cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2GRAY)


# sample2 has three faces with certainties 0.883, 0.183 and 0.017: the argmax is exercised, not only the top bin
@pytest.mark.parametrize("name", ["sample2.jpg", "sample1.jpg", "003.jpg"])
def test_certainty_matches_reference(openface_dumps, samples_dir, validator, name):
    ref = read_trace(openface_dumps / "images" / name)
    gray = _gray(ref, samples_dir, name)
    n = 0
    for f in range(20):
        pre = f"face{f:02d}/"
        if pre + "output/detection_certainty" not in ref.names:
            continue
        pg = ref[pre + "output/params_global"]
        c = validator.check(pg[1:4].astype(np.float64), gray, ref[pre + "output/landmarks_stacked"])
        assert np.float32(c) == ref[pre + "output/detection_certainty"], (name, f)
        assert np.float32(c) == ref[pre + "clnf/h00/validation/certainty"]
        n += 1
    assert n >= 1


def test_validator_views_and_bad_input(validator, tmp_path):
    assert len(validator.views) == 7
    assert validator.view_index((0.0, np.radians(-44.0), 0.0)) == 2
    assert validator.view_index((0.0, np.radians(80.0), 0.0)) == 6
    with pytest.raises(InputError):
        validator.check((0, 0, 0), np.zeros((10, 10, 3), np.uint8), np.zeros(136, np.float32))
    # landmarks all outside the image: the ROI is empty and C++ returns 0
    lm = np.full(136, -100.0, dtype=np.float32)
    assert validator.check((0, 0, 0), np.zeros((50, 50), np.uint8), lm) == 0.0
    bad = tmp_path / "v.txt"
    bad.write_bytes(b"\x01\x00\x00\x00" + b"\x00" * 8)
    with pytest.raises(ModelError):
        read_validator(bad)
