"""Bad input to the CLNF fitting: boxes, faces too small to fit, images, corrupt model files."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.errors import InputError, ModelError
from pyparity.pipelines.clnf.fitting.landmarks import fit_landmarks, load_clnf_model
from pyparity.pipelines.clnf.model.pdm import read_pdm
from pyparity.trace import Recorder, read_trace


@pytest.fixture(scope="module")
def gray(openface_dumps):
    return read_trace(openface_dumps / "images" / "sample1.jpg")["face00/clnf/input/gray"]


@pytest.mark.parametrize("box", [[0, 0, 0, 10], [10, 10, 50, -5], [700, 10, 50, 50], [10, 500, 50, 50],
                                 [-80, 10, 50, 50], [10, -60, 50, 50], [np.nan, 0, 10, 10], [1, 2, 3]])
def test_unusable_boxes_are_input_errors(model, gray, box):
    with pytest.raises(InputError, match="face box"):
        fit_landmarks(gray, box, model)


def test_images_that_cannot_be_fitted(model, gray):
    with pytest.raises(InputError, match="single-channel"):
        fit_landmarks(np.dstack([gray, gray, gray]), [300, 150, 60, 60], model)
    with pytest.raises(InputError, match="needs an image"):
        fit_landmarks(None, [300, 150, 60, 60], model)
    with pytest.raises(InputError, match="8-bit"):
        fit_landmarks(gray.astype(np.float32), [300, 150, 60, 60], model)


@settings(max_examples=6, deadline=None)
@given(side=st.floats(1.0, 30.0), x=st.floats(0.0, 600.0), y=st.floats(0.0, 350.0))
def test_face_too_small_reports_failure(model, gray, side, x, y):
    """CLNF::Fit returns false once the scale drops below 0.25 after a scale ("Face too small for
    landmark detection"): a box of at most 30 px gives a scale < 0.25 at the first scale; the result
    is success False with finite landmarks, not an exception, and `fit/success` records 0."""
    rec = Recorder()
    res = fit_landmarks(gray, [x, y, side, side], model, rec=rec)
    ours = rec.finish()
    assert res.success is False
    assert int(ours["h00/fit/success"]) == 0
    assert "h00/fit/s1/window_size" not in ours.names    # stopped after the first scale
    assert np.all(np.isfinite(res.landmarks_stacked))


def test_scale_threshold_matches_the_reference(model, openface_dumps):
    """Every reference face with a final fit scale >= 0.25 reports success (the same rule)."""
    n = 0
    for d in sorted((openface_dumps / "images").iterdir()):
        t = read_trace(d)
        for f in range(4):
            p = f"face{f:02d}/clnf/h00/fit/"
            if p + "success" in t:
                assert bool(int(t[p + "success"])) == bool(float(t[p + "params_global"][0]) >= 0.25), d.name
                n += 1
    assert n >= 28


def _pdm_text(mean, pc, ev) -> str:
    def mat(a):
        a = np.atleast_2d(a)
        return f"{a.shape[0]}\n{a.shape[1]}\n5\n" + "\n".join(" ".join(repr(float(v)) for v in row) for row in a) + "\n"
    return "# mean\n" + mat(mean) + "# pc\n" + mat(pc) + "# ev\n" + mat(ev)


def test_corrupt_pdm_files(tmp_path):
    mean = np.arange(6, dtype=np.float64).reshape(6, 1)
    pc = np.ones((6, 2))
    ok = tmp_path / "ok.txt"
    ok.write_text(_pdm_text(mean, pc, np.array([[1.0, 2.0]])))
    assert read_pdm(ok).n_modes == 2
    bad = tmp_path / "nan_pdm.txt"
    bad.write_text(_pdm_text(mean, pc, np.array([[1.0, 2.0]])).replace("1.0", "nan", 1))
    with pytest.raises(ModelError, match="nan_pdm.txt.*non-finite"):
        read_pdm(bad)
    neg = tmp_path / "neg_pdm.txt"
    neg.write_text(_pdm_text(mean, pc, np.array([[1.0, -2.0]])))
    with pytest.raises(ModelError, match="neg_pdm.txt.*eigenvalues"):
        read_pdm(neg)
    sizes = tmp_path / "sizes_pdm.txt"
    sizes.write_text(_pdm_text(mean, np.ones((5, 2)), np.array([[1.0, 2.0]])))
    with pytest.raises(ModelError, match="sizes_pdm.txt"):
        read_pdm(sizes)


def test_corrupt_patch_experts_named_when_loading(tmp_path, openface_model_dir):
    """A model whose patch expert file is truncated: load_experts() raises ModelError naming it."""
    src = openface_model_dir / "patch_experts" / "ccnf_patches_0.25_general.txt"
    cut = tmp_path / "patch_experts" / "ccnf_patches_0.25_general.txt"
    cut.parent.mkdir()
    cut.write_bytes(src.read_bytes()[:100_000])
    text = (openface_model_dir / "clnf_general.txt").read_text()
    desc = tmp_path / "clnf_general.txt"
    lines = []
    for line in text.splitlines():
        key, _, rest = line.partition(" ")
        if key == "PatchesCCNF" and "0.25" in rest:
            lines.append(f"PatchesCCNF {cut}")
        elif key in ("PDM", "Triangulations", "PatchesCCNF", "PatchesIntensity", "PatchesCEN") and rest.strip():
            lines.append(f"{key} {(openface_model_dir / rest.strip()).resolve()}")
        else:
            lines.append(line)
    desc.write_text("\n".join(lines) + "\n")
    main = tmp_path / "main.txt"
    main.write_text(f"LandmarkDetector {desc}\n")
    model = load_clnf_model(main)
    with pytest.raises(ModelError, match="ccnf_patches_0.25_general.txt"):
        model.load_experts()
