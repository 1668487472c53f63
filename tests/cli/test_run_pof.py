"""`pyparity run pof`: the acceptance command on every dump, --fix and its expected divergences,
stage isolation, bad arguments exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pyparity.cli.app import main
from pyparity.trace import read_trace


MODEL_DUMPS = ["semgcn-temporal/walk", "semgcn-temporal/arms", "semgcn-temporal/occluded", "semgcn/walk", "gcn/walk",
               "transformer/walk"]


def test_every_model_dump_is_covered(shared_dir):
    root = shared_dir / "reference_dumps" / "pof-upstream"
    found = sorted(f"{d.parent.name}/{d.name}" for d in root.glob("*/*") if d.is_dir() and d.parent.name != "solver-gt")
    assert found == sorted(MODEL_DUMPS)


@pytest.mark.parametrize("dump", MODEL_DUMPS)
def test_acceptance_command_on_every_dump(shared_dir, tmp_path, dump):
    """The issue's acceptance line, verbatim: exit 0 under the committed policy (pof.toml)."""
    d = shared_dir / "reference_dumps" / "pof-upstream" / dump
    js = tmp_path / "report.json"
    code = main(["run", "pof", str(d), "--model", dump.split("/")[0], "--synthetic", "--height", "1.78",
                 "--diff", str(d), "--json", str(js)])
    rep = json.loads(js.read_text())
    assert code == 0 and rep["ok"] and not rep["expected_divergences"], rep["first_divergence"]
    # every stage of the dump is recorded by the run and matches, but for the clip/* summary (the run
    # records the inputs per frame)
    ref = read_trace(d)
    assert rep["policy"].endswith("pof.toml")
    assert rep["counts"] == {"match": sum(not n.startswith("clip/") for n in ref.names)}, rep["counts"]


FIX_CASES = [  # (--fix NAME, dump, first stage the fix changes)
    ("signed", "semgcn-temporal/walk", "/ls/solve/s01_limb10/fallback_scale"),
    ("zsign", "semgcn-temporal/walk", "/metric/pof"),
]
# isotropic / bone_table change ~3 000 stages each, which the diff engine diagnoses one by one (~20 s a
# run): their --diff under pof / pof-fix-NAME is in tests/pipelines/pof/test_fixes.py; here the CLI flag's first
# changed stage (test_fix_flags_change_their_stage_first).


@pytest.mark.parametrize("fix,dump,first", FIX_CASES)
def test_fix_option_first_divergence_is_expected(shared_dir, tmp_path, fix, dump, first):
    """--fix NAME with its policy pof-fix-NAME: exit 0, the fixed stage is the first divergence and is
    reported as expected; under the plain policy the same run fails at that stage."""
    d = shared_dir / "reference_dumps" / "pof-upstream" / dump
    base = ["run", "pof", str(d), "--model", dump.split("/")[0], "--synthetic", "--height", "1.78", "--fix", fix,
            "--diff", str(d)]
    js = tmp_path / "fixed.json"
    assert main(base + ["--policy", f"pof-fix-{fix}", "--json", str(js)]) == 0
    rep = json.loads(js.read_text())
    assert rep["ok"] and rep["first_divergence"] is None
    assert rep["expected_divergences"][0]["name"].endswith(first)
    assert FIX_OPTION[fix] in rep["expected_divergences"][0]["reason"]
    js2 = tmp_path / "plain.json"
    assert main(base + ["--policy", "pof", "--json", str(js2)]) == 1
    assert json.loads(js2.read_text())["first_divergence"] == rep["expected_divergences"][0]["name"]


@pytest.mark.parametrize("fix,first", [("isotropic", "frame0000/features/normalize/pose_2d_in"),
                                       ("bone_table", "frame0000/metric/metric_torso_scale")])
def test_fix_flags_change_their_stage_first(shared_dir, tmp_path, fix, first):
    from pyparity.trace import read_trace

    d = shared_dir / "reference_dumps" / "pof-upstream" / "gcn" / "walk"
    base = ["run", "pof", str(d), "--model", "gcn", "--synthetic", "--height", "1.78"]
    assert main(base + ["--out", str(tmp_path / "up")]) == 0
    assert main(base + ["--fix", fix, "--out", str(tmp_path / "fx")]) == 0
    a, b = read_trace(tmp_path / "up"), read_trace(tmp_path / "fx")
    assert list(a.names) == list(b.names)
    changed = [n for n in a.names if not np.array_equal(a[n], b[n])]
    assert changed[0] == first and any(n.endswith("/output/pose_3d_m") for n in changed)


FIX_OPTION = {"signed": "fallback=signed", "zsign": "zsign=always", "isotropic": "aspect=isotropic",
              "bone_table": "torso=bone_table"}


def test_fix_and_image_size_errors(shared_dir):
    d = shared_dir / "reference_dumps" / "pof-upstream" / "gcn" / "walk"
    base = ["run", "pof", str(d), "--model", "gcn", "--synthetic"]
    assert main(base + ["--fix", "bogus"]) == 2
    assert main(base + ["--fix", "isotropic", "--image-size", "1920by1080"]) == 2
    assert main(base + ["--fix", "isotropic", "--image-size", "0x1080"]) == 2


def test_run_pof_bad_arguments(shared_dir, tmp_path):
    dump = shared_dir / "reference_dumps" / "pof-upstream" / "gcn" / "walk"
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
    assert set(ours.names) <= set(ref.names)  # the dump's own stage names, each once
    for f in range(8):
        np.testing.assert_allclose(ours[f"frame{f:04d}/output/pose_3d_m"], ref[f"frame{f:04d}/output/pose_3d_m"],
                                   rtol=0, atol=1e-6)
    # the network on the reference's model inputs (its prev_pof: no feedback accumulation)
    out = tmp_path / "model"
    assert main(["run", "pof", str(dump), "--model", "semgcn-temporal", "--synthetic", "--from-reference", str(dump),
                 "--start", "model", "--out", str(out), "--diff", str(dump)]) == 0
    ours = read_trace(out)
    assert set(ours.names) <= set(ref.names) and any(n.startswith("const/gcn_joint/") for n in ours.names)
    assert max(float(np.abs(ours[f"frame{f:04d}/model/out/pof"] - ref[f"frame{f:04d}/model/out/pof"]).max())
               for f in range(8)) <= 5e-6
    assert main(["run", "pof", str(dump), "--start", "solver"]) == 2
    assert main(["run", "pof", str(dump), "--from-reference", str(dump), "--start", "bogus", "--synthetic"]) == 2
    gcn = shared_dir / "reference_dumps" / "pof-upstream" / "gcn" / "walk"
    assert main(["run", "pof", str(gcn), "--model", "semgcn-temporal", "--synthetic", "--from-reference", str(gcn),
                 "--start", "model"]) == 2
