"""Convention bugs of head-pose ports, injected into a small port (tests/probe_ports/tiny_pose_port.py) and
hunted: each is diagnosed by name — rotations (degrees, Euler order, a sign, the inverse rotation, a
rotation vector for a matrix) and camera intrinsics after a crop and a resize (focal not scaled,
principal point not shifted, the half-pixel shift)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pyparity.cli.app import main
from pyparity.probe import load_probe, record_probe

from tests.hunt.hunt_reports import read_hunt_json  # tests/hunt/hunt_reports.py: the JSON checked against its schema
from tests.paths import PORTS



@pytest.fixture(autouse=True)
def _port_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(PORTS))


def pose_probe(folder: Path, bugs: str, name: str = "pose.toml") -> Path:
    p = folder / name
    p.write_text(f'''
[probe]
name = "tiny-pose"
requires = ["tiny_pose_port"]
[port]
setup = "tiny_pose_port:build"
setup_kwargs = {{ bugs = "{bugs}" }}
call = "estimate"
args = ["$image_bgr"]
[[capture]]
target = "tiny_pose_port:TinyPose.camera"
stage = "pose/camera"
[[capture]]
target = "tiny_pose_port:TinyPose.rotation"
stage = "pose/rotation"
[[capture]]
target = "tiny_pose_port:TinyPose.euler"
stage = "pose/euler"
''')
    return p


@pytest.fixture
def case(tmp_path):
    img = tmp_path / "face.png"
    rng = np.random.default_rng(3)
    cv2.imwrite(str(img), rng.integers(0, 256, size=(240, 320, 3), dtype=np.uint8))
    ref = tmp_path / "ref"
    record_probe(load_probe(pose_probe(tmp_path, "", "clean.toml")), img, out=ref)
    return img, ref


CASES = [
    ("degrees", "pose/euler", "degrees where the reference has radians"),
    ("euler_order", "pose/euler", "Euler order"),
    ("yaw_sign", "pose/euler", "the sign of yaw (ry) flipped"),
    ("world_frame", "pose/rotation", "the inverse rotation (camera vs world frame)"),
    ("rvec_for_matrix", "pose/rotation", "a rotation vector where the reference has a matrix"),
    ("focal_not_scaled", "pose/camera", "the focal length not scaled"),
    ("crop_not_shifted", "pose/camera", "the principal point not shifted by the crop"),
    ("half_pixel", "pose/camera", "the principal point scaled without the half-pixel shift"),
]


@pytest.mark.parametrize("bug,stage,words", CASES, ids=[c[0] for c in CASES])
def test_convention_bug_is_diagnosed_by_name(tmp_path, case, bug, stage, words):
    img, ref = case
    out = tmp_path / "h.json"
    code = main(["hunt", str(pose_probe(tmp_path, bug)), str(img), "--reference", str(ref), "--isolate",
                 "--json", str(out)])
    h = read_hunt_json(out)["hunt"]
    assert code == 1
    assert [i["stage"] for i in h["introducing"]] == [stage]
    titles = [d["title"] for d in h["introducing"][0]["comparison"]["diagnosis"]]
    assert titles and words in titles[0], titles


def test_two_convention_bugs_at_once(tmp_path, case):
    img, ref = case
    out = tmp_path / "h.json"
    main(["hunt", str(pose_probe(tmp_path, "crop_not_shifted,degrees")), str(img), "--reference", str(ref),
          "--isolate", "--json", str(out)])
    h = read_hunt_json(out)["hunt"]
    got = {i["stage"]: i["comparison"]["diagnosis"][0]["title"] for i in h["introducing"]}
    assert set(got) == {"pose/camera", "pose/euler"}
    assert "crop" in got["pose/camera"] and "degrees" in got["pose/euler"]
