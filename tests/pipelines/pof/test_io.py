"""POF adapters (NumPy .npz, CSV long and wide, reference dump in; TRC out), .pth checkpoints, and
bad input through the CLI: one clear line, exit 2."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pyparity.cli.app import main
from pyparity.errors import InputError, ModelError
from pyparity.pipelines.pof.checkpoint import load_checkpoint, synthetic_model
from pyparity.pipelines.pof.io import COCO17_NAMES, from_csv, from_dump, from_npz, read_keypoints
from pyparity.pipelines.pof.reconstruct import reconstruct_3d
from pyparity.trace import read_trace


@pytest.fixture(scope="module")
def walk(shared_dir):
    return shared_dir / "reference_dumps" / "pof-upstream" / "gcn" / "walk"


@pytest.fixture(scope="module")
def clip(walk):
    ref = read_trace(walk)
    return ref["clip/pose_2d"], ref["clip/visibility"], ref


def _num(x) -> str:
    return repr(float(x))  # float32 -> float64 is exact; repr round-trips


def test_dump_and_npz_inputs(walk, clip, tmp_path):
    kp, vis, ref = clip
    k2, v2, h = from_dump(walk)
    assert np.array_equal(k2, kp) and np.array_equal(v2, vis) and h == float(ref["clip/height_m"])
    p = tmp_path / "kp.npz"
    np.savez(p, pose_2d=kp, visibility=vis)
    k3, v3, h3 = read_keypoints(p)
    assert np.array_equal(k3, kp) and np.array_equal(v3, vis) and h3 is None
    np.savez(tmp_path / "novis.npz", pose_2d=kp)
    assert np.array_equal(from_npz(tmp_path / "novis.npz")[1], np.ones_like(vis))
    # the CLI on the .npz reproduces the dump (same inputs -> same stages)
    assert main(["run", "pof", str(p), "--model", "gcn", "--synthetic", "--height", "1.78", "--diff", str(walk)]) == 0


def test_csv_long_and_wide(walk, clip, tmp_path):
    kp, vis, _ = clip
    T = kp.shape[0]
    long = tmp_path / "long.csv"
    rows = ["# one row per frame and joint", "frame,joint,x,y,visibility"]
    rows += [f"{f},{j},{_num(kp[f, j, 0])},{_num(kp[f, j, 1])},{_num(vis[f, j])}" for f in range(T) for j in range(17)][::-1]
    long.write_text("\n".join(rows) + "\n")
    k, v, _ = from_csv(long)
    assert np.array_equal(k, kp) and np.array_equal(v, vis)
    wide = tmp_path / "wide.csv"
    head = ",".join(f"x{j},y{j},v{j}" for j in range(17))
    body = [",".join(f"{_num(kp[f, j, 0])},{_num(kp[f, j, 1])},{_num(vis[f, j])}" for j in range(17)) for f in range(T)]
    wide.write_text(head + "\n" + "\n".join(body) + "\n")
    k, v, _ = read_keypoints(wide)
    assert np.array_equal(k, kp) and np.array_equal(v, vis)
    wide34 = tmp_path / "wide34.csv"
    wide34.write_text(",".join(f"x{j},y{j}" for j in range(17)) + "\n"
                      + "\n".join(",".join(f"{_num(kp[f, j, 0])},{_num(kp[f, j, 1])}" for j in range(17)) for f in range(T)))
    k, v, _ = from_csv(wide34)
    assert np.array_equal(k, kp) and np.all(v == 1)
    assert main(["run", "pof", str(long), "--model", "gcn", "--synthetic", "--diff", str(walk)]) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("frame,joint,x,y\n0,0,0.5,0.5\n")
    with pytest.raises(InputError, match="no row for frame 0, joint 1"):
        from_csv(bad)
    bad.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match="long .* or wide"):
        from_csv(bad)


def _read_trc_as_opensim(path):
    """The checks OpenSim's TRCFileAdapter::extendRead makes (tab/CR delimiters, empty cells erased in
    the header lines, blank lines skipped before the data, each row 2 + 3 x NumMarkers cells)."""
    lines = path.read_text().split("\n")
    assert lines[0].split("\t")[:3] == ["PathFileType", "4", "(X/Y/Z)"]
    keys = [k for k in lines[1].split("\t") if k]
    assert keys == ["DataRate", "CameraRate", "NumFrames", "NumMarkers", "Units", "OrigDataRate",
                    "OrigDataStartFrame", "OrigNumFrames"]
    vals = [v for v in lines[2].split("\t") if v]
    meta = dict(zip(keys, vals))
    assert len(vals) == len(keys)
    n = int(meta["NumMarkers"])
    labels = [c for c in lines[3].split("\t") if c]
    assert len(labels) == n + 2 and labels[:2] == ["Frame#", "Time"]
    xyz = [c for c in lines[4].split("\t") if c]
    assert xyz == [f"{a}{i}" for i in range(1, n + 1) for a in "XYZ"]
    i = 5
    while not lines[i]:
        i += 1
    rows = []
    while i < len(lines) and lines[i]:
        cells = lines[i].split("\t")
        assert len(cells) == 3 * n + 2
        rows.append([float(c) for c in cells])
        i += 1
    return meta, labels[2:], np.array(rows)


def test_trc_output(walk, clip, tmp_path):
    kp, vis, ref = clip
    trc = tmp_path / "out.trc"
    assert main(["run", "pof", str(walk), "--model", "gcn", "--synthetic", "--trc", str(trc), "--fps", "50"]) == 0
    meta, markers, data = _read_trc_as_opensim(trc)
    T, J = kp.shape[0], len(COCO17_NAMES)  # the walk dump's clip: its frames, COCO-17 joints
    assert meta["DataRate"] == "50" and meta["CameraRate"] == "50" and meta["Units"] == "m"
    assert meta["NumFrames"] == str(T) and meta["NumMarkers"] == str(J) and meta["OrigNumFrames"] == str(T)
    assert markers == list(COCO17_NAMES)
    assert data.shape == (T, 2 + J * 3)
    assert np.array_equal(data[:, 0], np.arange(1, T + 1)) and np.allclose(data[:, 1], np.arange(T) / 50, rtol=0, atol=1e-12)
    ours = reconstruct_3d(synthetic_model("gcn"), kp, vis, 1.78).pose_3d_m
    # 9 significant digits: the float32 joints read back bit for bit
    assert np.array_equal(data[:, 2:].astype(np.float32), ours.reshape(T, -1))
    want = np.stack([ref[f"frame{f:04d}/output/pose_3d_m"] for f in range(T)]).reshape(T, -1)
    np.testing.assert_allclose(data[:, 2:], want, rtol=0, atol=1e-5)  # parity with upstream, metres
    assert not list(tmp_path.glob(".*partial"))  # atomic write left no temp file
    assert main(["run", "pof", str(walk), "--model", "gcn", "--synthetic", "--trc", str(trc), "--fps", "0"]) == 2


def test_pth_checkpoint(walk, clip, tmp_path):
    torch = pytest.importorskip("torch")
    kp, vis, ref = clip
    m = synthetic_model("gcn")
    good = tmp_path / "gcn.pth"
    torch.save({"config": m.config, "model_state_dict": {k: torch.from_numpy(v) for k, v in m.params.items()}}, good)
    m2 = load_checkpoint(good)
    assert m2.variant == "gcn" and all(np.array_equal(m.params[k], m2.params[k]) for k in m.params)
    np.testing.assert_array_equal(reconstruct_3d(m2, kp, vis).pose_3d_m, reconstruct_3d(m, kp, vis).pose_3d_m)
    assert main(["run", "pof", str(walk), "--model", "gcn", "--weights", str(good), "--diff", str(walk)]) == 0
    # config without model_type -> transformer (upstream's rule), so the gcn state_dict does not fit
    tr = tmp_path / "as_transformer.pth"
    torch.save({"config": {"d_model": 128}, "model_state_dict": {k: torch.from_numpy(v) for k, v in m.params.items()}}, tr)
    with pytest.raises(ModelError, match="transformer"):
        load_checkpoint(tr)
    shapes = tmp_path / "shapes.pth"
    sd = {k: torch.from_numpy(v) for k, v in m.params.items()}
    sd["input_proj.weight"] = torch.zeros(128, 8)
    torch.save({"config": m.config, "model_state_dict": sd}, shapes)
    with pytest.raises(ModelError, match=r"input_proj.weight has shape \(128, 8\)"):
        load_checkpoint(shapes)
    unknown = tmp_path / "unknown.pth"
    torch.save({"config": {"model_type": "gat-lstm"}, "model_state_dict": sd}, unknown)
    with pytest.raises(ModelError, match="unknown POF model_type 'gat-lstm'"):
        load_checkpoint(unknown)
    for p in (shapes, unknown):
        assert main(["run", "pof", str(walk), "--model", "gcn", "--weights", str(p)]) == 2


def _npz(tmp_path, name, kp, vis):
    p = tmp_path / name
    np.savez(p, pose_2d=kp, visibility=vis)
    return str(p)


def test_bad_input_exits_2(clip, tmp_path, capsys):
    kp, vis, _ = clip
    nan = kp.copy(); nan[3, 9, 1] = np.nan
    cases = {
        "count": (_npz(tmp_path, "c.npz", kp[:, :16], vis[:, :16]), [], "(T,17,2)"),
        "shape": (_npz(tmp_path, "s.npz", np.concatenate([kp, kp[..., :1]], -1), vis), [], "(T,17,2)"),
        "nan": (_npz(tmp_path, "n.npz", nan, vis), [], "frame 3, joint 9"),
        "vis": (_npz(tmp_path, "v.npz", kp, np.where(np.arange(8)[:, None] == 2, 0, vis)), [], "all-zero visibility at frame 2"),
        "torso": (_npz(tmp_path, "t.npz", np.full_like(kp, 0.5), vis), [], "zero 2D torso"),
        "height": (_npz(tmp_path, "h.npz", kp, vis), ["--height", "0"], "--height 0.0: must be > 0 m"),
        "height_neg": (_npz(tmp_path, "h2.npz", kp, vis), ["--height", "-1.7"], "--height -1.7: must be > 0 m"),
    }
    for name, (path, extra, msg) in cases.items():
        capsys.readouterr()
        assert main(["run", "pof", path, "--model", "gcn", "--synthetic", *extra]) == 2, name
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err, (name, err)
    good = _npz(tmp_path, "g.npz", kp, vis)
    assert main(["run", "pof", good, "--model", "lstm", "--synthetic"]) == 2
    assert "'lstm' is not one of 'semgcn-temporal', 'semgcn', 'gcn', 'transformer'" in capsys.readouterr().err


def test_nan_in_output_is_warned_with_frame_and_joint(clip):
    kp, vis, _ = clip
    m = synthetic_model("gcn")
    m.params["pof_head.limb_heads.1.bias"] = np.full(3, np.inf, np.float32)  # limb 1 (7 -> 9): NaN POF
    with pytest.warns(RuntimeWarning, match=r"NaN at frame 0, joint 9"):
        res = reconstruct_3d(m, kp, vis)
    assert np.all(np.isfinite(res.pose_3d_m))  # upstream's guard zeroes it; we warned
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reconstruct_3d(synthetic_model("gcn"), kp, vis)
