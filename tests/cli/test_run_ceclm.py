"""`pyparity run openface-image IMAGE --model ceclm`: the whole FaceLandmarkImg pipeline with the CE-CLM
fit, diffed against the openface-2.0.2-cen-synthetic dumps under the committed policy (a couple of dumps
of each folder; tests/pipelines/clnf/ceclm/test_fit.py covers every dump stage by stage), and its bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pyparity.cli.app import main
from pyparity.trace import read_trace

COLLECTION = "openface-2.0.2-cen-synthetic"


def _image(samples: Path, name: str) -> Path:
    return samples / name if (samples / name).exists() else samples / "image_sequence" / name


@pytest.mark.parametrize("dump", ["images/sample2.jpg", "images/001.jpg", "images-multiview-full/sample1.jpg",
                                  "images-multiview-full/001.jpg",
                                  "images-multiview-full/020.jpg", "images-multiview-full/sample3.jpg"])
def test_run_and_diff_exit_0(tmp_path, shared_dir, samples_dir, openface_model_dir, dump):
    ref_dir = shared_dir / "reference_dumps" / COLLECTION / dump
    synth = shared_dir / "openface" / "synthetic_cen"
    ref = read_trace(ref_dir)
    out = tmp_path / "trace"
    args = ["run", "openface-image", str(_image(samples_dir, Path(dump).name)), "--model", "ceclm",
            "--model-dir", str(openface_model_dir), "--no-aus", "--cen-dir", str(synth), "--out", str(out),
            "--diff", str(ref_dir), "--level", str(ref.meta["producer"]["dump_level"])]
    if dump.startswith("images-multiview-full"):
        args += ["--multi-view", "--early-term", str(synth / "no_early_termination" / "early_term_cen_of.txt")]
    assert main(args) == 0
    ours = read_trace(out)
    faces = sorted({n.split("/")[0] for n in ref.names
                    if n.startswith("face") and n.endswith("/output/landmarks_stacked")})
    assert faces
    for f in faces:
        n = f"{f}/output/landmarks_stacked"
        assert np.abs(ours[n].astype(np.float64) - ref[n]).max() <= 0.005, n
        for k in ("best_hypothesis", "early_terminated"):
            assert ours[f"{f}/clnf/{k}"] == ref[f"{f}/clnf/{k}"], (f, k)


def test_missing_cen_file_exits_2(tmp_path, shared_dir, samples_dir, openface_model_dir, capsys):
    empty = tmp_path / "cen"
    empty.mkdir()
    code = main(["run", "openface-image", str(samples_dir / "sample1.jpg"), "--model", "ceclm",
                 "--model-dir", str(openface_model_dir), "--no-aus", "--cen-dir", str(empty)])
    assert code == 2
    err = capsys.readouterr().err
    assert "cen_patches_0.25_of.dat" in err and len(err.strip().splitlines()) == 1
