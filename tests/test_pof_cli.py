"""`pyparity run pof`: parity exit 0 on a dump, TRC written, fixes diverge, bad input exits 2."""

from __future__ import annotations

import numpy as np

from cli.app import main


def test_run_pof_on_dump_with_trc(shared_dir, tmp_path):
    dump = shared_dir / "reference_dumps" / "pof-upstream" / "gcn" / "walk"
    trc = tmp_path / "out.trc"
    code = main(["run", "pof", str(dump), "--model", "gcn", "--synthetic", "--height", "1.78",
                 "--diff", str(dump), "--trc", str(trc)])
    assert code == 0
    lines = trc.read_text().splitlines()
    assert lines[2].split("\t")[4] == "m" and lines[2].split("\t")[2] == "8"
    assert len(lines) == 6 + 8


def test_run_pof_fix_diverges_and_bad_input(shared_dir, tmp_path):
    dump = shared_dir / "reference_dumps" / "pof-upstream" / "gcn" / "walk"
    assert main(["run", "pof", str(dump), "--model", "gcn", "--synthetic", "--torso", "bone_table", "--diff", str(dump)]) == 1
    bad = tmp_path / "bad.npz"
    np.savez(bad, pose_2d=np.zeros((2, 16, 2), np.float32))
    assert main(["run", "pof", str(bad), "--model", "gcn", "--synthetic"]) == 2
    assert main(["run", "pof", str(dump), "--model", "gcn"]) == 2  # neither --weights nor --synthetic
