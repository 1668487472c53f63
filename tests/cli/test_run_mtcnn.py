"""`pyparity run mtcnn`: trace, diff against the reference dump, stage isolation, bad input."""

from __future__ import annotations

from pyparity.cli.app import main
from pyparity.trace import read_trace


def test_run_and_diff_exit_0(tmp_path, openface_dumps, samples_dir, openface_model_dir):
    out = tmp_path / "trace"
    code = main(["run", "mtcnn", str(samples_dir / "sample1.jpg"), "--model-dir", str(openface_model_dir),
                 "--out", str(out), "--diff", str(openface_dumps / "images" / "sample1.jpg"),
                 "--json", str(tmp_path / "r.json")])
    assert code == 0
    trace = read_trace(out)
    assert trace["mtcnn/output/boxes"].shape == (1, 4)
    assert (tmp_path / "r.json").stat().st_size > 0


def test_run_from_reference_stage(openface_dumps, samples_dir, openface_model_dir):
    dump = str(openface_dumps / "images" / "003.jpg")
    code = main(["run", "mtcnn", str(samples_dir / "image_sequence" / "003.jpg"), "--model-dir",
                 str(openface_model_dir), "--diff", dump, "--from-reference", dump, "--start", "mtcnn/rnet/input_boxes"])
    assert code == 0


def test_bad_input_exits_2(tmp_path, openface_model_dir, capsys):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"not a png")
    assert main(["run", "mtcnn", str(bad), "--model-dir", str(openface_model_dir)]) == 2
    assert "x.png" in capsys.readouterr().err
    assert main(["run", "mtcnn", str(bad), "--start", "mtcnn/rnet/input_boxes"]) == 2
