"""The diff / show / ingest commands on real reference dumps (issue 2's acceptance)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np

from pyparity.cli.app import main
from pyparity.trace import read_trace


def test_dump_against_itself_exits_0(openface_dumps, capsys):
    d = openface_dumps / "images" / "sample1.jpg"
    assert main(["diff", str(d), str(d)]) == 0
    assert "PARITY" in capsys.readouterr().out


def _first_differing(a, b):
    for name in a.names:
        if name not in b:
            continue
        x, y = a[name], b[name]
        if x.shape != y.shape or x.dtype != y.dtype or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            return name
    return None


def test_two_images_diverge_at_first_differing_stage(openface_dumps, tmp_path, capsys):
    a, b = openface_dumps / "images" / "001.jpg", openface_dumps / "images" / "002.jpg"
    out, junit = tmp_path / "r.json", tmp_path / "r.xml"
    assert main(["diff", str(a), str(b), "--json", str(out), "--junit", str(junit)]) == 1
    expected = _first_differing(read_trace(a), read_trace(b))
    printed = capsys.readouterr().out
    assert f"FIRST DIVERGENCE {expected}" in printed
    rep = json.loads(out.read_text())
    assert rep["first_divergence"] == expected
    for s in rep["stages"]:
        assert {"name", "status", "max_abs", "mean_abs", "argmax", "n_over", "diagnosis"} <= set(s)
    suite = ET.parse(junit).getroot().find("testsuite")
    assert int(suite.get("failures")) >= 1
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert "/".join(expected.split("/")[:2]) in failed


def test_stage_glob_and_mapping(openface_dumps, tmp_path):
    a = openface_dumps / "images" / "001.jpg"
    b = openface_dumps / "images" / "002.jpg"
    # the config stages are the same on both images
    assert main(["diff", str(a), str(b), "--stage", "mtcnn/config/*", "-q"]) == 0
    mapping = tmp_path / "map.toml"
    mapping.write_text('ignore = ["mtcnn/pnet/**", "mtcnn/rnet/**", "mtcnn/onet/**", "mtcnn/output/**", "face*/**"]\n')
    assert main(["diff", str(a), str(b), "--map", str(mapping), "-q"]) == 0


def test_tracking_dump_aligns_with_prefix_stripped(openface_dumps, tmp_path):
    frame = openface_dumps / "sequences" / "image_sequence" / "frame0000"
    t = read_trace(frame)
    assert any(n.startswith("face00/mtcnn/") for n in t.names)
    mapping = tmp_path / "map.toml"
    mapping.write_text('strip_prefix_a = "face00/"\nignore = ["clnf/**", "output/**", "face*/**"]\n')
    image = openface_dumps / "images" / "001.jpg"
    out = tmp_path / "r.json"
    code = main(["diff", str(frame), str(image), "--map", str(mapping), "--stage", "mtcnn/**", "-q", "--json", str(out)])
    rep = json.loads(out.read_text())
    aligned = [s["name"] for s in rep["stages"] if s["status"] not in ("only-in-A", "only-in-B")]
    # frame 0 of the sequence is 001.jpg itself: MTCNN ran on the same pixels, so every aligned stage
    # holds the same bits on both sides, and the diff must say parity
    ta, tb = read_trace(frame), read_trace(image)
    assert ta.meta["input"]["sha256"] == tb.meta["input"]["sha256"]
    assert len(aligned) == len([n for n in tb.names if n.startswith("mtcnn/") and "face00/" + n in ta])
    assert _first_differing(ta.with_prefix_removed("face00"), tb.select(aligned)) is None
    assert code == 0, rep["stages"]
    assert rep["stages"][0]["name"] == "mtcnn/config/min_face_size"


def test_show_lists_stages_and_values(openface_dumps, capsys):
    d = openface_dumps / "images" / "sample2.jpg"
    assert main(["show", str(d), "--max-rows", "20"]) == 0
    out = capsys.readouterr().out
    assert "min_face_size" in out and "int32" in out
    assert main(["show", str(d), "mtcnn/output/boxes"]) == 0
    box = read_trace(d)["mtcnn/output/boxes"]
    assert f"{box[0, 0]:.3f}"[:5] in capsys.readouterr().out
    assert main(["show", str(d), "no/such/stage"]) == 2


def test_ingest_validates_and_writes_trace(openface_dumps, tmp_path):
    d = openface_dumps / "images" / "sample2.jpg"
    out = tmp_path / "trace"
    assert main(["ingest", "openface-dump", str(d), "--out", str(out)]) == 0
    assert main(["diff", str(d), str(out), "-q"]) == 0
    assert read_trace(out).names == read_trace(d).names
