"""`pyparity models synth img2pose`: the crc32-normal-v1 weights reproduce the dumps' weights_sha256."""

from __future__ import annotations

import json

import numpy as np

from pyparity.cli.app import main
from pyparity.models.synthetic_weights import state_dict_sha256


def test_synth_img2pose_matches_the_dump_hash(shared_dir, tmp_path):
    dump = next((shared_dir / "reference_dumps" / "img2pose-upstream" / "images").iterdir())
    expected = json.loads((dump / "meta.json").read_text())
    want = json.dumps(expected)
    out = tmp_path / "w.npz"
    assert main(["models", "synth", "img2pose", "--depth", "18", "--out", str(out), "--check", str(dump)]) == 0
    with np.load(out) as z:
        sd = {k: z[k] for k in z.files}
    assert state_dict_sha256(sd) in want


def test_synth_rejects_unknown_family_and_depth(tmp_path, capsys):
    assert main(["models", "synth", "resnet", "--out", str(tmp_path / "w.npz")]) == 2
    assert main(["models", "synth", "img2pose", "--depth", "34", "--out", str(tmp_path / "w.npz")]) == 2
    assert "--depth 34: must be 18 or 50" in capsys.readouterr().err
    assert not (tmp_path / "w.npz").exists()
