"""Stage isolation inside the CE-CLM fit (ceclm_isolation.ceclm_fit_from_reference): from the reference's
own state at a hypothesis, inside the first-scale fit, at the completion's start, at a scale, inside an
iteration, at the parts and at the refit -- with the CEN experts on the image and with the reference's
own response maps. Every stage recorded from the start point on equals the reference's."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pyparity.errors import InputError
from pyparity.pipelines.clnf.ceclm.isolation import ceclm_fit_from_reference
from pyparity.pipelines.clnf.validator.cnn import read_validator
from pyparity.trace import Recorder, read_trace

COLLECTION = "openface-2.0.2-cen-synthetic"
CASES = [
    ("images/sample1.jpg", "box"),
    ("images/sample1.jpg", "h00/init"),
    ("images/sample1.jpg", "h00/first_scale/fit/s0/nonrigid/it02"),
    ("images/001.jpg", "h00/resume"),
    ("images/005.jpg", "h00/fit/s2"),
    ("images/005.jpg", "h00/fit/s3/rigid/it01"),
    ("images/010.jpg", "h00/parts"),
    ("images/010.jpg", "h00/refit"),
    ("images-multiview-full/001.jpg", "h03/init"),         # a completed hypothesis: the shallow-copy start
    ("images-multiview-full/001.jpg", "h05/init"),         # a stored one, not completed
    ("images-multiview-full/sample1.jpg", "h04/resume"),
    ("images-multiview-full/sample1.jpg", "h02/fit/s1/nonrigid/it03"),
]


def _gray(samples: Path, name: str) -> np.ndarray:
    p = samples / name if (samples / name).exists() else samples / "image_sequence" / name
    return cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2GRAY)


@pytest.mark.parametrize("with_image", [True, False], ids=["experts", "reference-responses"])
@pytest.mark.parametrize("dump, start", CASES)
def test_start_inside_the_fit(shared_dir, samples_dir, models, dump, start, with_image):
    ref = read_trace(shared_dir / "reference_dumps" / COLLECTION / dump)
    gray = _gray(samples_dir, Path(dump).name) if with_image else None
    model = models[dump.startswith("images-multiview")]
    validator = read_validator(model.validator_path) if with_image else None
    rec = Recorder()
    with rec.scope("face00/clnf"):
        res = ceclm_fit_from_reference(ref, "face00/clnf/", start, model, gray, rec,
                                       level=int(ref.meta["producer"]["dump_level"]), validator=validator)
    ours = rec.finish()
    assert len(ours.names) > 0
    for n in ours.names:
        assert n in ref.names, n
        assert ours[n].dtype == ref[n].dtype and np.array_equal(ours[n], ref[n]), n
    h = res.best_hypothesis
    final = f"face00/clnf/h{h:02d}/refit/landmarks_stacked"
    if final not in ref.names:                               # a hypothesis the reference did not complete
        final = f"face00/clnf/h{h:02d}/first_scale/fit/landmarks_stacked"
    assert np.abs(res.landmarks_stacked.astype(np.float64) - ref[final].ravel()).max() <= 0.005
    if validator is not None and f"face00/clnf/h{h:02d}/validation/certainty" in ref.names:
        assert f"face00/clnf/h{h:02d}/validation/certainty" in ours.names


@pytest.mark.parametrize("start", ["h00/fit/s0", "h00/first_scale", "h01/init", "h00/fit/s9", "nonsense"])
def test_bad_start_points(shared_dir, models, start):
    ref = read_trace(shared_dir / "reference_dumps" / COLLECTION / "images/005.jpg")
    with pytest.raises(InputError):
        ceclm_fit_from_reference(ref, "face00/clnf/", start, models[False])
