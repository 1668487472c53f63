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
    fix = ["run", "pof", str(dump), "--model", "gcn", "--synthetic", "--torso", "bone_table", "--diff", str(dump)]
    assert main(fix + ["--policy", "pof"]) == 1  # the fix diverges from upstream ...
    assert main(fix) == 0  # ... where pof-fix-bone_table.toml (chosen by default) expects it
    bad = tmp_path / "bad.npz"
    np.savez(bad, pose_2d=np.zeros((2, 16, 2), np.float32))
    assert main(["run", "pof", str(bad), "--model", "gcn", "--synthetic"]) == 2
    assert main(["run", "pof", str(dump), "--model", "gcn"]) == 2  # neither --weights nor --synthetic


def test_run_pof_stage_isolation(shared_dir, tmp_path):
    from pyparity.trace import read_trace

    dump = shared_dir / "reference_dumps" / "pof-upstream" / "semgcn-temporal" / "occluded"
    ref = read_trace(dump)
    out = tmp_path / "solver"
    # the solver alone on the reference's POF: no model, no weights
    assert main(["run", "pof", str(dump), "--from-reference", str(dump), "--start", "solver",
                 "--out", str(out), "--diff", str(dump)]) == 0
    ours = read_trace(out)
    assert not any("/model/" in n or "/features/" in n for n in ours.names)
    for f in range(8):
        np.testing.assert_allclose(ours[f"frame{f:04d}/output/pose_3d_m"], ref[f"frame{f:04d}/output/pose_3d_m"],
                                   rtol=0, atol=1e-6)
    # the network on the reference's model inputs (its prev_pof: no feedback accumulation)
    out = tmp_path / "model"
    assert main(["run", "pof", str(dump), "--model", "semgcn-temporal", "--synthetic", "--from-reference", str(dump),
                 "--start", "model", "--out", str(out), "--diff", str(dump)]) == 0
    ours = read_trace(out)
    assert max(float(np.abs(ours[f"frame{f:04d}/model/out/pof"] - ref[f"frame{f:04d}/model/out/pof"]).max())
               for f in range(8)) <= 5e-6
    assert main(["run", "pof", str(dump), "--start", "solver"]) == 2
    assert main(["run", "pof", str(dump), "--from-reference", str(dump), "--start", "bogus", "--synthetic"]) == 2
    gcn = shared_dir / "reference_dumps" / "pof-upstream" / "gcn" / "walk"
    assert main(["run", "pof", str(gcn), "--model", "semgcn-temporal", "--synthetic", "--from-reference", str(gcn),
                 "--start", "model"]) == 2
