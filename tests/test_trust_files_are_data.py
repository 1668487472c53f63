"""Trust (issue 14), class 3: files are data. A weight file, checkpoint, keypoint archive or dump
whose pickle would run a command is refused (exit 2) and the command never runs."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from pyparity.cli.app import main

REPO = Path(__file__).resolve().parents[1]


class _Payload:
    """Unpickling this runs ``touch MARKER`` (the classic __reduce__ attack)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _torch():
    try:
        import torch
    except ImportError:
        if os.environ.get("PYPARITY_REQUIRE_TORCH") == "1":
            pytest.fail("PYPARITY_REQUIRE_TORCH=1 but torch does not import")
        pytest.skip("torch not installed (optional)")
    return torch


def _sample_image(tmp_path: Path) -> Path:
    import cv2

    p = tmp_path / "img.png"
    cv2.imwrite(str(p), np.full((32, 32, 3), 128, np.uint8))
    return p


def test_pof_pth_payload_never_runs(tmp_path, capsys):
    torch = _torch()
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"config": {"model_type": "gcn"}, "model_state_dict": {"w": _Payload(marker)}}, evil)
    kp = tmp_path / "k.npz"
    np.savez(kp, pose_2d=np.full((2, 17, 2), 0.5, np.float32))
    assert main(["run", "pof", str(kp), "--model", "gcn", "--weights", str(evil)]) == 2
    err = capsys.readouterr().err
    assert "evil.pth" in err and len(err.strip().splitlines()) == 1
    assert not marker.exists()


def test_img2pose_pth_payload_never_runs(tmp_path, capsys):
    torch = _torch()
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"fpn_model": {"w": _Payload(marker)}}, evil)
    assert main(["run", "img2pose", str(_sample_image(tmp_path)), "--weights", str(evil)]) == 2
    assert "evil.pth" in capsys.readouterr().err
    assert not marker.exists()


def _npz_with_pickle(path: Path, marker: Path, **plain) -> Path:
    obj = np.empty(1, dtype=object)
    obj[0] = _Payload(marker)
    np.savez(path, **plain, payload=obj)  # np.savez pickles object arrays
    return path


@pytest.mark.parametrize("command", ["pof-weights", "pof-keypoints", "img2pose-weights"])
def test_npz_object_array_payload_never_runs(tmp_path, capsys, command):
    marker = tmp_path / "pwned"
    if command == "pof-weights":
        p = _npz_with_pickle(tmp_path / "w.npz", marker, __config__=np.array('{"model_type": "gcn"}'))
        kp = tmp_path / "k.npz"
        np.savez(kp, pose_2d=np.full((2, 17, 2), 0.5, np.float32))
        argv = ["run", "pof", str(kp), "--model", "gcn", "--weights", str(p)]
    elif command == "pof-keypoints":
        p = tmp_path / "k.npz"
        obj = np.empty((1, 17, 2), dtype=object)
        obj[0, 0, 0] = _Payload(marker)
        np.savez(p, pose_2d=obj)
        argv = ["run", "pof", str(p), "--model", "gcn", "--synthetic"]
    else:
        p = _npz_with_pickle(tmp_path / "w.npz", marker)
        argv = ["run", "img2pose", str(_sample_image(tmp_path)), "--weights", str(p)]
    assert main(argv) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not marker.exists()


def test_trace_with_a_pickled_member_never_runs(tmp_path, capsys):
    from pyparity.trace import Recorder

    marker = tmp_path / "pwned"
    with Recorder(tmp_path / "t") as rec:
        rec.save("stage", np.zeros(3))
    # replace the member with an object array holding the payload (index says object, stored pickled)
    import zipfile

    arr = np.empty(1, dtype=object)
    arr[0] = _Payload(marker)
    with zipfile.ZipFile(tmp_path / "t" / "arrays.npz", "w") as z, z.open("stage.npy", "w") as f:
        np.lib.format.write_array(f, arr, allow_pickle=True)
    idx = tmp_path / "t" / "index.tsv"
    idx.write_text(idx.read_text().replace("float64\t3", "|O\t1"))
    for argv in (["show", str(tmp_path / "t"), "stage"], ["diff", str(tmp_path / "t"), str(tmp_path / "t")],
                 ["ingest", "openface-dump", str(tmp_path / "t"), "--out", str(tmp_path / "o")]):
        assert main(argv) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not marker.exists() and not (tmp_path / "o").exists()


def test_no_loader_in_the_package_accepts_pickles():
    """Source audit: no weight, checkpoint or dump loader opts into unpickling."""
    bad = re.compile(r"weights_only\s*=\s*False|allow_pickle\s*=\s*True|pickle\.loads?\(")
    offenders = []
    for root in ("pyparity", "cli", "scripts"):
        for p in (REPO / root).rglob("*.py"):
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
                if bad.search(line):
                    offenders.append(f"{p.relative_to(REPO)}:{i}: {line.strip()}")
    assert not offenders, offenders
    # and every torch.load call names weights_only=True
    call = re.compile(r"=\s*torch\.load\(")
    loads = [line for root in ("pyparity", "cli", "scripts") for p in (REPO / root).rglob("*.py")
             for line in p.read_text(encoding="utf-8").splitlines() if call.search(line)]
    assert len(loads) >= 3 and all("weights_only=True" in line for line in loads), loads
